package receiver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"vakt/hub/uplink/sia"
)

const (
	writeTimeout = 10 * time.Second
	// maxUnknown bounds the per-account state kept for unknown accounts (with
	// AllowUnknown), so a flood of made-up accounts cannot grow memory without end.
	maxUnknown = 1024
)

// Receiver is a DC-09 receiving centre. Make one with New, start it with Start, stop
// it with Close.
type Receiver struct {
	cfg    Config
	log    *slog.Logger
	events chan Event

	// emitMu guards sends on events against Close closing the channel: senders
	// hold it for reading and give up when done closes; Close takes it for writing.
	emitMu   sync.RWMutex
	done     chan struct{}   // closed by stop
	ctx      context.Context // cancelled by stop, for Output
	cancel   context.CancelFunc
	stopOnce sync.Once
	wg       sync.WaitGroup // every goroutine Start and the accept loop started

	mu       sync.Mutex
	accounts map[string]*account // by upper-case ID
	order    []*account          // configured accounts in config order
	unknown  int                 // entries in accounts that came from AllowUnknown
	conns    map[net.Conn]struct{}
	tcp      net.Listener
	udp      net.PacketConn
	junk     map[string]*junkCount // bad frames not yet logged, by source IP
	started  bool
	closed   bool // Close ran: events is closed (guarded by emitMu)
}

// junkCount is the bad frames from one source since its last log line.
type junkCount struct {
	since time.Time // the last log line
	n     int       // frames dropped since, not yet logged
	err   error     // the last one's error
	frame string    // the start of the last one
}

// JunkLogInterval is how often at most the receiver logs bad frames per source:
// the first bad frame is logged at once, later ones are counted and summed up in
// one line when the next arrives after the interval, or at Close.
const JunkLogInterval = time.Minute

// account is the live state of one account.
type account struct {
	Account
	configured bool
	lastSeen   time.Time // last accepted frame (or Start)
	lost       bool
	last       struct { // last accepted non-NULL message, for duplicates
		ok   bool
		id   string
		seq  int
		data string
	}
}

// New checks cfg and makes a receiver. log receives one line per refused frame,
// answer other than ACK, connection problem and supervision change; nil discards
// them. Keys are never logged.
func New(cfg Config, log *slog.Logger) (*Receiver, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Receiver{
		cfg:      cfg,
		log:      log,
		events:   make(chan Event, cfg.EventBuffer),
		done:     make(chan struct{}),
		accounts: map[string]*account{},
		conns:    map[net.Conn]struct{}{},
		junk:     map[string]*junkCount{},
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	for _, a := range cfg.Accounts {
		acct := &account{Account: a, configured: true}
		r.accounts[strings.ToUpper(a.ID)] = acct
		r.order = append(r.order, acct)
	}
	return r, nil
}

// Start binds the configured addresses and starts serving. It returns once the
// receiver listens, or with an error naming the address that could not be bound
// (nothing is left running then). Cancelling ctx stops the receiver as Close does,
// except that only Close waits for the goroutines and closes Events.
//
// Start begins supervision: an account that never sends is lost LostAfter ×
// Supervision after Start.
func (r *Receiver) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.closed:
		return errors.New("receiver: start after close")
	case r.started:
		return errors.New("receiver: already started")
	}
	var lc net.ListenConfig
	var tcp net.Listener
	var udp net.PacketConn
	var err error
	if r.cfg.TCPAddr != "" {
		if tcp, err = lc.Listen(ctx, "tcp", r.cfg.TCPAddr); err != nil {
			return fmt.Errorf("receiver: listen on TCP %s: %w", r.cfg.TCPAddr, err)
		}
	}
	if r.cfg.UDPAddr != "" {
		if udp, err = lc.ListenPacket(ctx, "udp", r.cfg.UDPAddr); err != nil {
			if tcp != nil {
				tcp.Close()
			}
			return fmt.Errorf("receiver: listen on UDP %s: %w", r.cfg.UDPAddr, err)
		}
	}
	r.started, r.tcp, r.udp = true, tcp, udp
	now := r.cfg.Now()
	for _, a := range r.order {
		a.lastSeen = now
	}
	if tcp != nil {
		r.log.Info("receiver: listening", "tcp", tcp.Addr().String())
		r.wg.Add(1)
		go r.acceptLoop(tcp)
	}
	if udp != nil {
		r.log.Info("receiver: listening", "udp", udp.LocalAddr().String())
		r.wg.Add(1)
		go r.udpLoop(udp)
	}
	if r.cfg.SupervisionTick > 0 {
		r.wg.Add(1)
		go r.superviseLoop(r.cfg.SupervisionTick)
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		select {
		case <-ctx.Done():
			r.stop()
		case <-r.done:
		}
	}()
	return nil
}

// TCPAddr is the bound TCP address, nil before Start or when TCP is off.
func (r *Receiver) TCPAddr() net.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tcp == nil {
		return nil
	}
	return r.tcp.Addr()
}

// UDPAddr is the bound UDP address, nil before Start or when UDP is off.
func (r *Receiver) UDPAddr() net.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.udp == nil {
		return nil
	}
	return r.udp.LocalAddr()
}

// Events delivers accepted messages and supervision changes, in order per
// connection, unless Config.Output takes them. It is buffered (Config.EventBuffer).
// A message is ACKed only once its event is in the channel: while the buffer is
// full, the receiver stops reading from that sender and does not answer, so the
// sender keeps the message and sends it again. No event is ever dropped. Close
// closes the channel after the last event.
func (r *Receiver) Events() <-chan Event { return r.events }

// Close stops the listeners, closes every connection, waits for all goroutines the
// receiver started and closes Events. It may be called more than once, and before
// Start.
func (r *Receiver) Close() error {
	r.stop()
	r.wg.Wait()
	r.flushJunk()
	r.emitMu.Lock()
	defer r.emitMu.Unlock()
	if !r.closed {
		r.closed = true
		close(r.events)
	}
	return nil
}

// stop closes the listeners and connections, which ends every goroutine.
func (r *Receiver) stop() {
	r.stopOnce.Do(func() {
		close(r.done)
		r.cancel()
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.tcp != nil {
			r.tcp.Close()
		}
		if r.udp != nil {
			r.udp.Close()
		}
		for c := range r.conns {
			c.Close()
		}
	})
}

func (r *Receiver) stopping() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

func (r *Receiver) acceptLoop(ln net.Listener) {
	defer r.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			if r.stopping() || errors.Is(err, net.ErrClosed) {
				return
			}
			// E.g. too many open files: log, breathe, go on.
			r.log.Warn("receiver: accept", "err", err)
			t := time.NewTimer(100 * time.Millisecond)
			select {
			case <-t.C:
			case <-r.done:
				t.Stop()
				return
			}
			continue
		}
		r.mu.Lock()
		if r.stopping() {
			r.mu.Unlock()
			c.Close()
			return
		}
		r.conns[c] = struct{}{}
		r.wg.Add(1)
		r.mu.Unlock()
		go r.serveConn(c)
	}
}

// serveConn answers the frames of one TCP connection in order until the peer
// closes it, it is idle for IdleTimeout, or the receiver stops.
func (r *Receiver) serveConn(c net.Conn) {
	defer r.wg.Done()
	defer func() {
		r.mu.Lock()
		delete(r.conns, c)
		r.mu.Unlock()
		c.Close()
	}()
	remote := c.RemoteAddr().String()
	log := r.log.With("path", "tcp", "remote", remote)
	log.Debug("receiver: connection opened")
	sc := bufio.NewScanner(idleReader{c, r.cfg.IdleTimeout})
	sc.Buffer(make([]byte, 0, 4096), 2*sia.MaxFrame)
	sc.Split(sia.SplitFrames)
	for sc.Scan() {
		reply := r.handle(sc.Bytes(), "tcp", remote, log)
		if reply == nil {
			continue
		}
		c.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := c.Write(reply); err != nil {
			log.Warn("receiver: cannot answer", "err", err)
			return
		}
	}
	switch err := sc.Err(); {
	case err == nil, r.stopping(), errors.Is(err, net.ErrClosed):
		log.Debug("receiver: connection closed")
	case errors.Is(err, os.ErrDeadlineExceeded):
		log.Info("receiver: closing idle connection", "idle", r.cfg.IdleTimeout)
	default:
		log.Warn("receiver: connection failed", "err", err)
	}
}

// idleReader sets the idle deadline before every read.
type idleReader struct {
	c    net.Conn
	idle time.Duration
}

func (r idleReader) Read(p []byte) (int, error) {
	r.c.SetReadDeadline(time.Now().Add(r.idle))
	return r.c.Read(p)
}

// udpLoop answers one frame per datagram, to the datagram's sender.
func (r *Receiver) udpLoop(pc net.PacketConn) {
	defer r.wg.Done()
	buf := make([]byte, 64<<10)
	for {
		n, addr, err := pc.ReadFrom(buf)
		if err != nil {
			if r.stopping() || errors.Is(err, net.ErrClosed) {
				return
			}
			r.log.Warn("receiver: UDP read", "err", err)
			continue
		}
		remote := addr.String()
		log := r.log.With("path", "udp", "remote", remote)
		reply := r.handle(buf[:n], "udp", remote, log)
		if reply == nil {
			continue
		}
		pc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := pc.WriteTo(reply, addr); err != nil {
			log.Warn("receiver: cannot answer", "err", err)
		}
	}
}

func (r *Receiver) superviseLoop(every time.Duration) {
	defer r.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			r.CheckSupervision(r.cfg.Now())
		case <-r.done:
			return
		}
	}
}

// keyFor returns the key of a configured account, or nil.
func (r *Receiver) keyFor(id string) *sia.Key {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a := r.accounts[strings.ToUpper(id)]; a != nil {
		return a.Key
	}
	return nil
}

// lookup returns a copy of a configured account's settings.
func (r *Receiver) lookup(id string) (Account, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a := r.accounts[strings.ToUpper(id)]; a != nil && a.configured {
		return a.Account, true
	}
	return Account{}, false
}

// handle answers one frame: the encoded reply, or nil for none.
func (r *Receiver) handle(frame []byte, path, remote string, log *slog.Logger) []byte {
	now := r.cfg.Now()
	m, err := sia.Decode(frame, r.keyFor)
	if err != nil {
		if !errors.Is(err, sia.ErrNoKey) && !errors.Is(err, sia.ErrDecrypt) {
			r.junkFrame(now, remote, frame, err)
			return nil
		}
		// The clear header was read, the rest could not be.
		if _, known := r.lookup(m.Account); !known && !r.cfg.AllowUnknown {
			log.Warn("receiver: DUH: unknown account", "account", m.Account, "id", m.ID, "seq", m.Seq)
			return r.encode(log, sia.Duh(m), nil)
		}
		log.Warn("receiver: NAK: cannot decrypt", "account", m.Account, "id", m.ID, "seq", m.Seq, "err", err)
		return r.encode(log, sia.Nak(now), nil)
	}
	reply, why := r.decide(m, now)
	if r.cfg.Respond != nil {
		if forced := r.cfg.Respond(m); forced != ReplyDefault {
			reply, why = forced, "forced by Respond"
		}
	}
	attrs := []any{"account", m.Account, "id", m.ID, "seq", m.Seq, "why", why}
	switch reply {
	case ReplyACK:
		var key *sia.Key
		if m.Encrypted {
			key = r.keyFor(m.Account)
		}
		b := r.encode(log, sia.Ack(m, now), key)
		if b == nil || !r.accept(m, now, path, remote, log) {
			return nil
		}
		return b
	case ReplyNAK:
		log.Warn("receiver: NAK", attrs...)
		return r.encode(log, sia.Nak(now), nil)
	case ReplyDUH:
		log.Warn("receiver: DUH", attrs...)
		return r.encode(log, sia.Duh(m), nil)
	default:
		log.Warn("receiver: no answer", attrs...)
		return nil
	}
}

// decide chooses the answer to a decoded message, and says why when it is not ACK.
func (r *Receiver) decide(m sia.Message, now time.Time) (Reply, string) {
	acct, known := r.lookup(m.Account)
	switch {
	case !known && !r.cfg.AllowUnknown:
		return ReplyDUH, "unknown account"
	case known && acct.Key != nil && !m.Encrypted:
		return ReplyNAK, "plaintext message for an account with a key"
	}
	if !m.Time.IsZero() {
		if err := sia.CheckTimeWindow(m.Time, now, r.cfg.Window.Past, r.cfg.Window.Future); err != nil {
			return ReplyNAK, err.Error()
		}
	}
	switch m.ID {
	case sia.IDNull:
	case sia.IDADMCID:
		if _, err := sia.ParseContactID(m.Data); err != nil {
			return ReplyDUH, err.Error()
		}
	case sia.IDSIADCS:
		if _, err := sia.ParseDCS(m.Data); err != nil {
			return ReplyDUH, err.Error()
		}
	default:
		return ReplyDUH, "message type " + m.ID + " not handled"
	}
	return ReplyACK, ""
}

func (r *Receiver) encode(log *slog.Logger, m sia.Message, key *sia.Key) []byte {
	b, err := sia.Encode(m, key, r.cfg.Rand)
	if err != nil {
		log.Error("receiver: cannot build reply", "id", m.ID, "err", err)
		return nil
	}
	return b
}

// accept records a message about to be ACKed: supervision, duplicates, and its
// event, handed to the output. It reports whether the output took the event; if
// not (the receiver is stopping, or Output failed), the message must not be ACKed
// and is not remembered, so its retransmission counts as new.
func (r *Receiver) accept(m sia.Message, now time.Time, path, remote string, log *slog.Logger) bool {
	ev := messageEvent(m, now, path, remote)
	id := strings.ToUpper(m.Account)
	var restored bool
	r.mu.Lock()
	a := r.accounts[id]
	if a == nil && r.unknown < maxUnknown {
		a = &account{Account: Account{ID: m.Account}}
		r.accounts[id] = a
		r.unknown++
	}
	if a != nil {
		restored = a.lost
		if m.ID != sia.IDNull {
			l := a.last
			ev.Duplicate = l.ok && l.id == m.ID && l.seq == m.Seq && l.data == m.Data
		}
	}
	r.mu.Unlock()
	if restored {
		if !r.emit(Event{Time: now, Kind: KindRestored, Account: m.Account}) {
			return false
		}
		r.log.Info("account "+m.Account+" restored", "account", m.Account)
	}
	if !r.emit(ev) {
		log.Warn("receiver: not acknowledged: the output did not take the event", "account", m.Account, "id", m.ID, "seq", m.Seq)
		return false
	}
	r.mu.Lock()
	if a != nil {
		a.lost = false
		a.lastSeen = now
		if m.ID != sia.IDNull {
			l := &a.last
			l.ok, l.id, l.seq, l.data = true, m.ID, m.Seq, m.Data
		}
	}
	r.mu.Unlock()
	log.Debug("receiver: ACK", "event", ev.String())
	return true
}

// junkFrame counts a frame that could not be decoded and logs at most one line per
// source (IP address) per JunkLogInterval: the first at once, later ones summed up.
func (r *Receiver) junkFrame(now time.Time, remote string, frame []byte, err error) {
	src := remote
	if host, _, e := net.SplitHostPort(remote); e == nil {
		src = host
	}
	r.mu.Lock()
	j := r.junk[src]
	if j == nil {
		if len(r.junk) >= maxUnknown {
			r.mu.Unlock()
			r.flushJunk()
			r.mu.Lock()
		}
		j = &junkCount{since: now.Add(-JunkLogInterval)}
		r.junk[src] = j
	}
	j.n++
	j.err, j.frame = err, sia.Preview(frame)
	var logIt junkCount
	if now.Sub(j.since) >= JunkLogInterval {
		logIt = *j
		j.since, j.n = now, 0
	}
	r.mu.Unlock()
	if logIt.n > 0 {
		r.logJunk(src, logIt)
	}
}

func (r *Receiver) logJunk(src string, j junkCount) {
	r.log.Warn("receiver: dropped bad frames", "source", src, "frames", j.n, "last_err", j.err, "last_frame", j.frame)
}

// flushJunk logs the bad frames counted but not yet logged, and forgets all sources.
func (r *Receiver) flushJunk() {
	r.mu.Lock()
	junk := r.junk
	r.junk = map[string]*junkCount{}
	r.mu.Unlock()
	srcs := make([]string, 0, len(junk))
	for src, j := range junk {
		if j.n > 0 {
			srcs = append(srcs, src)
		}
	}
	slices.Sort(srcs)
	for _, src := range srcs {
		r.logJunk(src, *junk[src])
	}
}

// CheckSupervision reports every supervised account from which nothing was accepted
// for LostAfter × its Supervision interval up to now, once per loss: it logs
// "account X lost", sends a KindLost event and returns the events. The account is
// restored (logged and reported) when its next frame is accepted. Call it
// periodically, or set Config.SupervisionTick. Like every event, a lost event
// waits while Events is full: do not call it from the goroutine that reads Events.
func (r *Receiver) CheckSupervision(now time.Time) []Event {
	var lost []Event
	r.mu.Lock()
	if r.started {
		for _, a := range r.order {
			if a.Supervision <= 0 || a.lost {
				continue
			}
			if silent := now.Sub(a.lastSeen); silent > LostAfter*a.Supervision {
				a.lost = true
				lost = append(lost, Event{Time: now, Kind: KindLost, Account: a.ID,
					Text: fmt.Sprintf("no frame for %s, polls expected every %s", silent.Round(time.Second), a.Supervision)})
			}
		}
	}
	r.mu.Unlock()
	for _, e := range lost {
		r.log.Warn("account "+e.Account+" lost", "account", e.Account, "why", e.Text)
		r.emit(e)
	}
	return lost
}

// emit hands e to the output: Config.Output, or the Events channel, waiting while
// it is full. It returns false when the receiver stops first or Output fails.
func (r *Receiver) emit(e Event) bool {
	if r.cfg.Output != nil {
		if err := r.cfg.Output(r.ctx, e); err != nil {
			r.log.Error("receiver: output failed", "err", err, "event", e.String())
			return false
		}
		return true
	}
	r.emitMu.RLock()
	defer r.emitMu.RUnlock()
	if r.closed {
		return false
	}
	select {
	case r.events <- e:
		return true
	case <-r.done:
		return false
	}
}
