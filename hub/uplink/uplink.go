package uplink

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"vakt/hub"
	"vakt/hub/uplink/sia"
)

// Outbox is the persistent queue of reports for the receiving centre. The hub
// commits every report to it in the same transaction as its event; the uplink reads
// and deletes.
type Outbox interface {
	// Outbox returns up to limit queued reports, oldest first. An error means the
	// queue could not be read; the uplink retries a few seconds later.
	Outbox(limit int) ([]hub.Report, error)
	// AckReport deletes the report with outbox sequence seq. The uplink calls it
	// only after the centre acknowledged the report (or after every path refused it
	// with DUH). An error leaves the report queued; the uplink tries again.
	AckReport(seq uint64) error
	// OutboxLen is the number of queued reports, for Status.
	OutboxLen() (int, error)
}

// Hub receives what the uplink has to tell the alarm system: hub.Fault to raise and
// clear the faults "uplink:<path>" (path lost) and "uplink:<path>:clock" (the
// receiver keeps refusing the timestamp or key), and hub.TestReport when the
// periodic test is due. Input is called from the uplink's own goroutine, never from
// the sender, in order. An error is logged.
type Hub interface {
	Input(ctx context.Context, in hub.Input) error
}

// Path states, as Status shows them.
const (
	StateUnknown = "unknown" // nothing exchanged yet since start
	StateOK      = "ok"      // the last message was answered
	StateFailing = "failing" // the last messages went unanswered, fewer than MissedPolls
	StateLost    = "lost"    // MissedPolls messages in a row unanswered: fault raised
)

// PathStatus is the state of one path.
type PathStatus struct {
	Name  string `json:"name"`
	Addr  string `json:"addr"`
	State string `json:"state"` // StateUnknown, StateOK, StateFailing or StateLost
	// LastAck is when the receiver last acknowledged anything (report or poll).
	LastAck time.Time `json:"last_ack,omitzero"`
	// LastError is the last failure on this path (no answer, connection refused,
	// NAK, DUH), and LastErrorTime when it happened; they stay after recovery.
	LastError     string    `json:"last_error,omitempty"`
	LastErrorTime time.Time `json:"last_error_time,omitzero"`
	// Failures is the number of failed sends or polls in a row.
	Failures int `json:"failures"`
	// Queue is the number of reports in the outbox still to be delivered over this
	// path: the whole outbox, less (with report_both) those this path has already
	// delivered.
	Queue int `json:"queue"`
	// ClockOffset is the receiver's clock minus this hub's, learnt from its NAK and
	// added to every timestamp sent on this path; ClockOffsetSeconds is the same
	// in seconds, as JSON shows it.
	ClockOffset        time.Duration `json:"-"`
	ClockOffsetSeconds float64       `json:"clock_offset_s"`
	// LastNAK and LastDUH are the last NAK and DUH from this path's receiver
	// since start (when, and why), nil for none.
	LastNAK *Refusal `json:"last_nak,omitempty"`
	LastDUH *Refusal `json:"last_duh,omitempty"`
	// Active marks the path that carries reports now (both paths with report_both).
	Active bool `json:"active"`
}

// TestResult is the answer to a manual test report on one path.
type TestResult struct {
	Path string `json:"path"`
	Addr string `json:"addr"`
	// Result is "ACK", "NAK", "DUH", "timeout" or "error".
	Result string `json:"result"`
	// RTT is the time from sending the frame to the answer.
	RTT time.Duration `json:"rtt"`
	// Seq is the DC-09 sequence number of the test message.
	Seq int `json:"seq,omitempty"`
	// Detail says why for anything but ACK, and for an ACK after a NAK the clock
	// correction that made it.
	Detail string `json:"detail,omitempty"`
}

// Option changes how New builds an Uplink.
type Option func(*options)

type options struct {
	clk  clock
	rand io.Reader
	seqs SeqStore
	// verify gives a new alarm's verification URL (WithVerifyURL).
	verify func(hub.Report) string
}

// WithClock replaces the clock: now for timestamps and schedules, after for every
// wait (ACK timeout, connect timeout, retry back-off, polls, periodic tests). Both
// must be safe for concurrent use. The location of the times now returns is the
// local time zone of Config.TestTime. Tests use it to run hours in milliseconds.
func WithClock(now func() time.Time, after func(time.Duration) <-chan time.Time) Option {
	return func(o *options) { o.clk = clock{now: now, after: after} }
}

// WithRand replaces crypto/rand as the source of the AES pad. It is read from
// several goroutines, one at a time.
func WithRand(r io.Reader) Option {
	return func(o *options) { o.rand = &lockedReader{r: r} }
}

type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

// Uplink is the transmitter: it delivers the outbox's reports to the receiving
// centre over one or two paths, supervises the paths and raises their faults. Make
// one with New, run its sender with Run; every other method may be called from any
// goroutine, before, during and after Run.
type Uplink struct {
	cfg   Config
	out   Outbox
	notes *notifier
	log   *slog.Logger
	clk   clock
	paths []*pathState
	wake  chan struct{}

	// idle, for tests, is called by the sender before it waits with nothing in
	// flight (idle true, next = when it wakes up by itself, zero for never), and
	// after it woke (idle false).
	idle func(idle bool, next time.Time)

	runMu   sync.Mutex
	ran     bool
	running bool

	lost LostStore // nil: lost states are not kept

	verify func(hub.Report) string // nil: no [V] extended data

	mu     sync.Mutex
	status []PathStatus
}

// saveLost records whether p is lost, when a LostStore is configured.
func (u *Uplink) saveLost(p *pathState, lost bool) {
	if u.lost == nil {
		return
	}
	if err := u.lost.SaveLost(p.cfg.Name, lost); err != nil {
		u.log.Error("uplink: cannot save whether the path is lost", "path", p.cfg.Name, "lost", lost, "err", err)
	}
}

// New checks cfg (see Config.Validate) and makes an Uplink. out may be nil for an
// Uplink used only for Test; h may be nil, and then faults and periodic tests are
// only logged. log nil discards.
func New(cfg Config, out Outbox, h Hub, log *slog.Logger, opts ...Option) (*Uplink, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o := options{clk: clock{now: time.Now, after: time.After}}
	for _, f := range opts {
		f(&o)
	}
	u := &Uplink{cfg: cfg, out: out, notes: newNotifier(h, log), log: log, clk: o.clk, wake: make(chan struct{}, 1)}
	u.verify = o.verify
	for i, p := range cfg.Paths {
		key, _ := p.check() // checked by normalize
		u.paths = append(u.paths, newPathState(i, p, newLink(p, key, o.clk, o.rand, o.seqs, log)))
	}
	if ls, ok := o.seqs.(LostStore); ok {
		u.lost = ls
		for _, p := range u.paths {
			lost, err := ls.LoadLost(p.cfg.Name)
			if err != nil {
				log.Error("uplink: cannot read whether the path was lost; assuming not", "path", p.cfg.Name, "err", err)
				continue
			}
			if lost {
				// Lost before the restart: lost now, until the receiver answers.
				p.state, p.failures, p.lostFault, p.lostAtStart = StateLost, p.cfg.MissedPolls, true, true
			}
		}
	}
	queued := 0
	if out != nil {
		if n, err := out.OutboxLen(); err == nil {
			queued = n
		}
	}
	u.status = make([]PathStatus, len(u.paths))
	for i, p := range u.paths {
		u.status[i] = PathStatus{Name: p.cfg.Name, Addr: p.cfg.Addr, State: p.state, Failures: p.failures, Queue: queued,
			Active: i == 0 || cfg.ReportBoth}
	}
	return u, nil
}

// Wake tells the sender that new reports were committed to the outbox. It never
// blocks; it implements hub.Waker.
func (u *Uplink) Wake() {
	select {
	case u.wake <- struct{}{}:
	default:
	}
}

var _ hub.Waker = (*Uplink)(nil)

// Status returns the state of every path, in configuration order. It is current to
// the last message exchanged and the last Wake.
func (u *Uplink) Status() []PathStatus {
	u.mu.Lock()
	st := append([]PathStatus(nil), u.status...)
	u.mu.Unlock()
	for i := range st {
		st[i].ClockOffset = u.paths[i].link.Offset()
		st[i].ClockOffsetSeconds = st[i].ClockOffset.Seconds()
		st[i].LastNAK, st[i].LastDUH = u.paths[i].link.refusals()
	}
	return st
}

func (u *Uplink) publish(st []PathStatus) {
	u.mu.Lock()
	u.status = st
	u.mu.Unlock()
}

// Test sends a manual test report (Contact ID 601, SIA RX) directly on every path at
// once, not through the outbox, and returns each path's answer. A NAK is handled as
// for any report: the clock is corrected and the report sent once more. Test does
// not change the path states of Status. It may run while Run does (it then waits for
// the message in flight on each path) or without Run, for a command-line test.
func (u *Uplink) Test(ctx context.Context) []TestResult {
	res := make([]TestResult, len(u.paths))
	var wg sync.WaitGroup
	for i, p := range u.paths {
		wg.Go(func() { res[i] = u.testPath(ctx, p) })
	}
	wg.Wait()
	u.runMu.Lock()
	if !u.running {
		for _, p := range u.paths {
			p.link.close()
		}
	}
	u.runMu.Unlock()
	return res
}

func (u *Uplink) testPath(ctx context.Context, p *pathState) TestResult {
	tr := TestResult{Path: p.cfg.Name, Addr: p.cfg.Addr}
	m, err := p.reportMessage(hub.Report{Code: 601, Qualifier: hub.QualNew})
	if err != nil {
		tr.Result, tr.Detail = outError.String(), err.Error()
		return tr
	}
	r := p.link.exchange(ctx, m, 0)
	tr.Result, tr.RTT, tr.Seq = r.out.String(), r.rtt, r.seq
	switch {
	case r.out == outStopped:
		tr.Result = outError.String()
		tr.Detail = r.err.Error()
	case r.err != nil:
		tr.Detail = r.err.Error()
	case r.naks > 0:
		tr.Detail = "accepted after a NAK; timestamps corrected by " + p.link.Offset().String()
	}
	u.log.Info("uplink: manual test", "path", tr.Path, "result", tr.Result, "rtt", tr.RTT, "detail", tr.Detail)
	return tr
}

// Run is the sender. It delivers the outbox, polls the paths, fails over and back,
// raises and clears faults and asks for the periodic test, until ctx is cancelled;
// then it returns nil after every goroutine it started has ended and every
// connection is closed. It may be called once.
//
// Goroutines: Run itself is the scheduler, which owns all state. Per message it
// starts one goroutine that performs the exchange on the path's link (at most one
// per path); each open connection has one reader goroutine, ended by closing the
// connection; one goroutine passes faults and test requests to the hub. Cancelling
// ctx stops them all and Run waits for them.
func (u *Uplink) Run(ctx context.Context) error {
	u.runMu.Lock()
	switch {
	case u.ran:
		u.runMu.Unlock()
		return errors.New("uplink: Run called twice")
	case u.out == nil:
		u.runMu.Unlock()
		return errors.New("uplink: Run needs an outbox")
	}
	u.ran, u.running = true, true
	u.runMu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	s := newScheduler(u, ctx)
	var notes sync.WaitGroup
	notes.Go(func() { u.notes.run(ctx) })
	defer func() {
		cancel()
		s.jobs.Wait()
		u.runMu.Lock()
		u.running = false
		for _, p := range u.paths {
			p.link.close()
		}
		u.runMu.Unlock()
		notes.Wait()
		u.log.Info("uplink: stopped")
	}()

	for _, p := range u.paths {
		u.log.Info("uplink: path", "path", p.cfg, "poll", p.cfg.Poll.D().String(), "encrypted", p.link.key != nil)
	}
	for {
		now := u.clk.now()
		next := s.step(now)
		u.publish(s.statuses())
		if s.again {
			s.again = false
			if ctx.Err() != nil {
				return nil
			}
			continue
		}
		var timer <-chan time.Time
		if !next.IsZero() {
			timer = u.clk.after(max(next.Sub(now), 0))
		}
		if u.idle != nil && s.inflight == 0 {
			u.idle(true, next)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-u.wake:
			s.dirty = true
		case j := <-s.results:
			s.finish(j, u.clk.now())
		case <-timer:
		}
		if u.idle != nil {
			u.idle(false, time.Time{})
		}
	}
}

// reportMessage is the message for r on this path: ADM-CID with Contact ID, or
// SIA-DCS with the SIA letters of the built-in table. A qualifier of 0 is taken as
// a new event. The error says why r cannot be sent in this path's protocol.
func (p *pathState) reportMessage(r hub.Report) (sia.Message, error) {
	q := r.Qualifier
	if q == 0 {
		q = sia.QualNew
	}
	c := sia.ContactID{Account: p.cfg.Account, Qualifier: q, Code: int(r.Code), Partition: r.Partition, Zone: r.Zone}
	if p.cfg.Protocol == sia.IDSIADCS {
		d, err := c.DCS()
		if err != nil {
			return sia.Message{}, err
		}
		d.Text = siaText(r.Text)
		if !r.Time.IsZero() {
			// When it happened, so that a report delayed by an outage shows it.
			d.Time = r.Time.UTC().Format("15:04")
		}
		data, err := d.Format()
		return sia.Message{ID: sia.IDSIADCS, Data: data}, err
	}
	data, err := c.Format()
	return sia.Message{ID: sia.IDADMCID, Data: data}, err
}

// siaText keeps what SIA caret text may hold: printable ASCII without ^ [ ] |,
// at most 32 characters.
func siaText(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s) && len(b) < 32; i++ {
		c := s[i]
		if c >= 0x20 && c < 0x7F && c != '^' && c != '[' && c != ']' && c != '|' {
			b = append(b, c)
		}
	}
	return string(b)
}
