package uplink

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"vakt/hub/uplink/sia"
)

// outcome is how one exchange with a receiver ended.
type outcome int

const (
	outACK     outcome = iota // accepted
	outNAK                    // rejected twice, the second time after a clock correction
	outDUH                    // understood but not handled
	outTimeout                // no answer within the ACK timeout
	outError                  // could not connect, send or read
	outStopped                // the context was cancelled
)

func (o outcome) String() string {
	switch o {
	case outACK:
		return "ACK"
	case outNAK:
		return "NAK"
	case outDUH:
		return "DUH"
	case outTimeout:
		return "timeout"
	case outStopped:
		return "stopped"
	}
	return "error"
}

// result is the end of one exchange.
type result struct {
	out  outcome
	seq  int           // the sequence number used
	rtt  time.Duration // from the last send to the answer
	naks int           // NAKs received (1 with outACK: accepted after a clock correction)
	err  error         // why, for anything but outACK
}

// ackSkew bounds how far the timestamp of an encrypted ACK may be from the
// receiver's time as this side knows it. Outside it the ACK is taken for a replay
// and ignored.
const ackSkew = 5 * time.Minute

// clock is the time source: real, or a test's.
type clock struct {
	now   func() time.Time
	after func(time.Duration) <-chan time.Time
}

// link is the connection to one receiver. exchange sends one message and waits for
// its answer; a semaphore keeps one message in flight, so the sender and Test can
// share the link. A TCP connection is kept open between messages and reopened when
// it breaks; UDP uses one connected socket, one datagram per frame.
type link struct {
	name       string
	network    string
	addr       string
	key        *sia.Key
	account    string
	receiver   string
	line       string
	ackTimeout time.Duration
	dialer     net.Dialer
	clk        clock
	rand       io.Reader
	log        *slog.Logger

	sem  chan struct{} // held during an exchange
	conn *conn         // guarded by sem
	seq  int           // last sequence number used; guarded by sem
	seqs SeqStore      // nil: numbers start at 1 on every start
	// seqLoaded: seq was read from seqs; guarded by sem
	seqLoaded bool
	// seqLeft: numbers after seq already reserved in seqs; guarded by sem
	seqLeft int
	// seqTop: the last number of the block this link saved; guarded by sem
	seqTop int

	readers sync.WaitGroup // one reader per open connection

	mu      sync.Mutex
	offset  time.Duration // the receiver's clock minus ours, learnt from NAK
	lastNAK *Refusal      // the last NAK and DUH received, nil for none
	lastDUH *Refusal
}

// Refusal is a NAK or DUH the receiver sent: when, and why.
type Refusal struct {
	Time   time.Time `json:"time"`
	Reason string    `json:"reason"`
}

// refusals returns the last NAK and DUH.
func (l *link) refusals() (nak, duh *Refusal) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastNAK, l.lastDUH
}

// conn is one open connection and the goroutine reading its replies.
type conn struct {
	c       net.Conn
	replies chan sia.Message // closed by the reader when the connection ends
	err     error            // why the reader stopped; read it after replies is closed
}

func newLink(p Path, key *sia.Key, clk clock, rnd io.Reader, seqs SeqStore, log *slog.Logger) *link {
	l := &link{seqs: seqs,
		name: p.Name, network: p.Network, addr: p.Addr, key: key,
		account: p.Account, receiver: p.Receiver, line: p.Line,
		ackTimeout: p.AckTimeout.D(), clk: clk, rand: rnd,
		log: log.With("path", p.Name), sem: make(chan struct{}, 1),
	}
	if p.SourceAddr != "" {
		ip := net.ParseIP(p.SourceAddr)
		if p.Network == NetUDP {
			l.dialer.LocalAddr = &net.UDPAddr{IP: ip}
		} else {
			l.dialer.LocalAddr = &net.TCPAddr{IP: ip}
		}
	}
	if p.Interface != "" {
		l.dialer.Control = bindToDevice(p.Interface)
	}
	return l
}

// Offset is the receiver's clock minus this one, as learnt from its last NAK.
func (l *link) Offset() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.offset
}

func (l *link) setOffset(d time.Duration) {
	l.mu.Lock()
	old := l.offset
	l.offset = d
	l.mu.Unlock()
	if old != d {
		l.log.Warn("uplink: receiver clock differs, timestamps corrected", "offset", d.String(), "was", old.String())
	}
}

// seqBlock is how many sequence numbers the link reserves in its SeqStore at a
// time: one synced write per seqBlock messages, not one per message (a sync costs
// more than the whole exchange). A restart skips the rest of a block, at most
// seqBlock-1 numbers of the 9,999.
const seqBlock = 100

// nextSeq takes the next sequence number, continuing from the SeqStore. A store
// that cannot be read or written is logged and does not stop the message: a
// repeated number is better than no report. Call it holding sem.
func (l *link) nextSeq() int {
	if l.seqs != nil && !l.seqLoaded {
		n, err := l.seqs.LoadSeq(l.name)
		if err != nil {
			l.log.Error("uplink: cannot read the last sequence number; continuing from the one in memory", "err", err)
		} else {
			l.seqLoaded = true
			if n > 0 {
				l.seq = n
			}
		}
	}
	if l.seqs == nil {
		l.seq = sia.NextSeq(l.seq)
		return l.seq
	}
	if l.seqLeft == 0 {
		l.reserve()
	} else {
		l.seq = sia.NextSeq(l.seq)
	}
	if l.seqLeft > 0 {
		l.seqLeft--
	}
	return l.seq
}

// reserve takes the next block of numbers and sets seq to its first. Another
// process (`vakt uplink test` while the hub runs) may have reserved numbers since
// this link's last block: the store is read again, under its lock where it has
// one, and the block starts after whatever it says was taken.
func (l *link) reserve() {
	if lk, ok := l.seqs.(seqLocker); ok {
		unlock, err := lk.LockSeq(l.name)
		if err != nil {
			l.log.Error("uplink: cannot lock the sequence number file; reserving without the lock", "err", err)
		} else {
			defer unlock()
		}
	}
	if n, err := l.seqs.LoadSeq(l.name); err == nil && n > 0 && n != l.seqTop {
		if n != l.seq {
			l.log.Info("uplink: sequence numbers were taken by another process; going on after them", "path", l.name, "taken_up_to", n)
		}
		l.seq = n
	}
	l.seq = sia.NextSeq(l.seq)
	top := l.seq
	for range seqBlock - 1 {
		top = sia.NextSeq(top)
	}
	if err := l.seqs.SaveSeq(l.name, top); err != nil {
		l.log.Error("uplink: cannot save the sequence number; it may be used again after a restart", "seq", l.seq, "err", err)
		return
	}
	l.seqTop, l.seqLeft = top, seqBlock
}

// seqLocker is a SeqStore that can lock a path's numbers across processes while a
// block is reserved (SeqDir does, with flock).
type seqLocker interface {
	LockSeq(path string) (unlock func(), err error)
}

// exchange sends m (ID and Data set) with sequence number seq, or the next one when
// seq is 0, and waits for the answer. It fills in receiver, line, account and a
// fresh timestamp on every send. A NAK sets the clock offset from the receiver's
// timestamp and the message goes again at once with a corrected timestamp and the
// same sequence number; a second NAK ends the exchange. A held TCP connection that
// turns out to be broken is reopened once.
func (l *link) exchange(ctx context.Context, m sia.Message, seq int) result {
	select {
	case l.sem <- struct{}{}:
	case <-ctx.Done():
		return result{out: outStopped, err: ctx.Err()}
	}
	defer func() { <-l.sem }()
	if seq == 0 {
		seq = l.nextSeq()
	}
	m.Seq, m.Encrypted = seq, l.key != nil
	m.Receiver, m.Line, m.Account = l.receiver, l.line, l.account
	res := result{seq: seq}
	reopened := false
	for {
		m.Time = l.clk.now().Add(l.Offset()).UTC().Truncate(time.Second)
		frame, err := sia.Encode(m, l.key, l.rand)
		if err != nil {
			res.out, res.err = outError, err
			return res
		}
		cn, fresh, err := l.connect(ctx)
		if err != nil {
			res.out, res.err = outError, err
			if ctx.Err() != nil {
				res.out = outStopped
			}
			return res
		}
		start := l.clk.now()
		timeout := l.clk.after(l.ackTimeout)
		if _, err := cn.c.Write(frame); err != nil {
			l.drop()
			if !fresh && !reopened {
				reopened = true
				continue
			}
			res.out, res.err = outError, fmt.Errorf("send to %s: %w", l.addr, err)
			return res
		}
		reply, out, err := l.await(ctx, cn, m, timeout)
		res.rtt = l.clk.now().Sub(start)
		switch out {
		case outError:
			l.drop()
			if !fresh && !reopened {
				reopened = true
				continue
			}
		case outTimeout:
			if l.network == NetTCP {
				// The receiver may be stuck; a late answer on this connection would
				// only confuse the next exchange.
				l.drop()
			}
		case outNAK:
			res.naks++
			why := fmt.Sprintf("timestamp or key refused for %s (receiver time %s)", describe(m), fmtTime(reply.Time))
			l.mu.Lock()
			l.lastNAK = &Refusal{Time: l.clk.now(), Reason: why}
			l.mu.Unlock()
			if !reply.Time.IsZero() {
				l.setOffset(reply.Time.Sub(l.clk.now()))
			}
			if res.naks == 1 {
				continue
			}
			err = fmt.Errorf("NAK twice from %s: clock or key mismatch (receiver time %s)", l.addr, fmtTime(reply.Time))
		case outDUH:
			l.mu.Lock()
			l.lastDUH = &Refusal{Time: l.clk.now(), Reason: err.Error()}
			l.mu.Unlock()
		case outStopped:
			l.drop()
		}
		res.out, res.err = out, err
		return res
	}
}

// await waits for the answer to sent on cn until timeout.
func (l *link) await(ctx context.Context, cn *conn, sent sia.Message, timeout <-chan time.Time) (sia.Message, outcome, error) {
	for {
		select {
		case m, ok := <-cn.replies:
			if !ok {
				return m, outError, fmt.Errorf("connection to %s: %w", l.addr, cn.err)
			}
			switch m.ID {
			case sia.IDNak:
				return m, outNAK, nil
			case sia.IDAck:
				if m.Seq != sent.Seq || m.Account != "" && !strings.EqualFold(m.Account, sent.Account) {
					l.log.Debug("uplink: ACK for another message ignored", "seq", m.Seq, "want", sent.Seq, "account", m.Account)
					continue
				}
				if sent.Encrypted && !m.Encrypted {
					l.log.Warn("uplink: plaintext ACK to an encrypted message ignored", "seq", m.Seq)
					continue
				}
				if m.Encrypted {
					want := l.clk.now().Add(l.Offset())
					if err := sia.CheckTimeWindow(m.Time, want, ackSkew, ackSkew); err != nil {
						l.log.Warn("uplink: encrypted ACK with a timestamp far from the receiver's time ignored (replay?)",
							"seq", m.Seq, "err", err)
						continue
					}
				}
				return m, outACK, nil
			case sia.IDDuh:
				if m.Seq != sent.Seq && m.Seq != 0 {
					l.log.Debug("uplink: DUH for another message ignored", "seq", m.Seq, "want", sent.Seq)
					continue
				}
				return m, outDUH, fmt.Errorf("DUH from %s: the receiver does not handle %s", l.addr, describe(sent))
			default:
				l.log.Debug("uplink: unexpected message from receiver ignored", "id", m.ID, "seq", m.Seq)
			}
		case <-timeout:
			return sia.Message{}, outTimeout, fmt.Errorf("no answer from %s within %s", l.addr, l.ackTimeout)
		case <-ctx.Done():
			return sia.Message{}, outStopped, ctx.Err()
		}
	}
}

// connect returns the open connection, or opens one (fresh). Replies left over
// from earlier messages are discarded.
func (l *link) connect(ctx context.Context) (cn *conn, fresh bool, err error) {
	if cn := l.conn; cn != nil {
		if drain(cn) {
			return cn, false, nil
		}
		l.log.Debug("uplink: connection ended", "err", cn.err)
		l.drop()
	}
	dctx, cancel := context.WithCancel(ctx)
	timeout := l.clk.after(l.ackTimeout)
	go func() {
		select {
		case <-timeout:
			cancel()
		case <-dctx.Done():
		}
	}()
	c, err := l.dialer.DialContext(dctx, l.network, l.addr)
	timedOut := dctx.Err() != nil && ctx.Err() == nil
	cancel()
	if err != nil {
		if timedOut {
			return nil, false, fmt.Errorf("connect to %s: no connection within %s", l.addr, l.ackTimeout)
		}
		return nil, false, fmt.Errorf("connect to %s: %w", l.addr, unwrapOp(err))
	}
	cn = &conn{c: c, replies: make(chan sia.Message, 16)}
	l.conn = cn
	l.readers.Add(1)
	go l.read(cn)
	l.log.Debug("uplink: connected", "network", l.network, "local", c.LocalAddr().String(), "remote", c.RemoteAddr().String())
	return cn, true, nil
}

// drain discards the replies waiting on cn and reports whether it is still open.
func drain(cn *conn) bool {
	for {
		select {
		case _, ok := <-cn.replies:
			if !ok {
				return false
			}
		default:
			return true
		}
	}
}

// drop closes the open connection; its reader then ends.
func (l *link) drop() {
	if l.conn != nil {
		l.conn.c.Close()
		l.conn = nil
	}
}

// close closes the connection and waits for its reader. It waits for an exchange
// in progress to end.
func (l *link) close() {
	l.sem <- struct{}{}
	l.drop()
	<-l.sem
	l.readers.Wait()
}

// read decodes the replies arriving on cn until it is closed or fails. It is
// liberal: whatever sia.Decode accepts, several frames per read or datagram, and
// garbage between frames, which it skips.
func (l *link) read(cn *conn) {
	defer l.readers.Done()
	defer close(cn.replies)
	keys := func(string) *sia.Key { return l.key }
	deliver := func(frame []byte) {
		m, err := sia.Decode(frame, keys)
		if err != nil {
			l.log.Debug("uplink: unreadable reply ignored", "err", err)
			return
		}
		select {
		case cn.replies <- m:
		default:
			l.log.Debug("uplink: reply ignored, nobody waiting", "id", m.ID, "seq", m.Seq)
		}
	}
	if l.network == NetUDP {
		buf := make([]byte, 64<<10)
		for {
			n, err := cn.c.Read(buf)
			if err != nil {
				cn.err = unwrapOp(err)
				return
			}
			for d := buf[:n]; len(d) > 0; {
				adv, tok, _ := sia.SplitFrames(d, true)
				if adv <= 0 {
					break
				}
				d = d[adv:]
				if tok != nil {
					deliver(tok)
				}
			}
		}
	}
	sc := bufio.NewScanner(cn.c)
	sc.Buffer(make([]byte, 0, 512), 2*sia.MaxFrame)
	sc.Split(sia.SplitFrames)
	for sc.Scan() {
		deliver(sc.Bytes())
	}
	cn.err = sc.Err()
	if cn.err == nil {
		cn.err = errors.New("closed by the receiver")
	}
	cn.err = unwrapOp(cn.err)
}

// unwrapOp shortens "read tcp 127.0.0.1:5->127.0.0.1:6: connection refused" to its
// cause; the address is in the message around it anyway.
func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "not given"
	}
	return t.UTC().Format(time.RFC3339)
}

// describe names a message for logs: "NULL", or its ID and data.
func describe(m sia.Message) string {
	if m.ID == sia.IDNull {
		return "NULL"
	}
	return m.ID + " " + m.Data
}
