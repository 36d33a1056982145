package uplink

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"vakt/hub"
	"vakt/hub/uplink/receiver"
	"vakt/hub/uplink/sia"
	"vakt/storage"
)

// t0 is the test clock at the start of every test: a weekday afternoon, UTC.
var t0 = time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)

// realTimeout bounds every wait of a test in real time.
const realTimeout = 20 * time.Second

// fakeClock is the injected clock. Timers fire only when the test advances it.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []fakeTimer
}

type fakeTimer struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{now: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.timers = append(c.timers, fakeTimer{at: c.now.Add(d), ch: ch})
	return ch
}

// AdvanceTo moves the clock to t (never back) and fires every timer due by then.
func (c *fakeClock) AdvanceTo(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
	kept := c.timers[:0]
	for _, tm := range c.timers {
		if tm.at.After(c.now) {
			kept = append(kept, tm)
			continue
		}
		tm.ch <- c.now
	}
	clear(c.timers[len(kept):])
	c.timers = kept
}

func (c *fakeClock) Advance(d time.Duration) { c.AdvanceTo(c.Now().Add(d)) }

// logBuf collects log output; a failed test prints it.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *logBuf) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *logBuf) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// fakeHub records the hub inputs and, like the real hub, queues a 354 report when an
// uplink fault changes and a 602 report for a periodic test.
type fakeHub struct {
	e      *env
	mu     sync.Mutex
	inputs []hub.Input
	faults map[string]bool
}

func (h *fakeHub) Input(_ context.Context, in hub.Input) error {
	h.mu.Lock()
	var rep *hub.Report
	switch in := in.(type) {
	case hub.Fault:
		if h.faults[in.ID.String()] != in.Active {
			h.faults[in.ID.String()] = in.Active
			q := hub.QualNew
			if !in.Active {
				q = hub.QualRestore
			}
			rep = &hub.Report{Code: 354, Qualifier: q, Zone: in.Point}
		}
	case hub.TestReport:
		rep = &hub.Report{Code: 602, Qualifier: hub.QualNew}
	}
	h.mu.Unlock()
	if rep != nil {
		h.e.commit(*rep)
	}
	// Recorded once its report is queued, so a test that sees the input sees the
	// report too.
	h.mu.Lock()
	h.inputs = append(h.inputs, in)
	h.mu.Unlock()
	h.e.poke()
	return nil
}

// faultLog lists the fault inputs as "name=true/false", in order.
func (h *fakeHub) faultLog() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, in := range h.inputs {
		if f, ok := in.(hub.Fault); ok {
			out = append(out, fmt.Sprintf("%s=%v", f.ID.String(), f.Active))
		}
	}
	return out
}

func (h *fakeHub) inputsCopy() []hub.Input {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hub.Input(nil), h.inputs...)
}

func (h *fakeHub) tests() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, in := range h.inputs {
		if _, ok := in.(hub.TestReport); ok {
			n++
		}
	}
	return n
}

// transitions drops the clears that change nothing (the uplink clears each fault
// once after start) and returns what remains for name.
func transitions(log []string, name string) []string {
	var out []string
	state := false
	for _, l := range log {
		n, v, _ := strings.Cut(l, "=")
		if n != name {
			continue
		}
		on := v == "true"
		if on != state {
			out = append(out, l)
			state = on
		}
	}
	return out
}

// recorder collects what receivers accepted. It reads their Events channels
// whenever it is asked, so that what a receiver accepted before it sent its ACK is
// seen by the time the uplink has the ACK.
type recorder struct {
	mu     sync.Mutex
	chans  []<-chan receiver.Event
	events []receiver.Event
	frames []sia.Message // every decoded message, answered or not
}

// collect takes in the events waiting; r.mu is held.
func (r *recorder) collect() {
	kept := r.chans[:0]
	for _, ch := range r.chans {
		open := true
	drain:
		for {
			select {
			case ev, ok := <-ch:
				if !ok {
					open = false
					break drain
				}
				r.events = append(r.events, ev)
			default:
				break drain
			}
		}
		if open {
			kept = append(kept, ch)
		}
	}
	r.chans = kept
}

func (r *recorder) all() []receiver.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.collect()
	return append([]receiver.Event(nil), r.events...)
}

// reports returns the accepted event messages (not NULL), in order, duplicates
// included.
func (r *recorder) reports() []receiver.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.collect()
	var out []receiver.Event
	for _, e := range r.events {
		if e.Kind == receiver.KindMessage && e.Protocol != sia.IDNull {
			out = append(out, e)
		}
	}
	return out
}

func (r *recorder) nulls() []receiver.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.collect()
	var out []receiver.Event
	for _, e := range r.events {
		if e.Kind == receiver.KindMessage && e.Protocol == sia.IDNull {
			out = append(out, e)
		}
	}
	return out
}

func (r *recorder) allFrames() []sia.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sia.Message(nil), r.frames...)
}

// zones lists the zone (Contact ID) of every event.
func zones(evs []receiver.Event) []int {
	var out []int
	for _, e := range evs {
		switch {
		case e.ContactID != nil:
			out = append(out, e.ContactID.Zone)
		case e.SIA != nil:
			out = append(out, e.SIA.Zone)
		default:
			out = append(out, -1)
		}
	}
	return out
}

func codes(evs []receiver.Event) []int {
	var out []int
	for _, e := range evs {
		if e.ContactID != nil {
			out = append(out, e.ContactID.Code)
		}
	}
	return out
}

// env is one test's world: a clock, a store, a hub, receivers and an uplink.
type env struct {
	t     *testing.T
	clk   *fakeClock // nil: real time
	store *storage.Store
	dir   string
	hub   *fakeHub
	// outbox, when set, is what the uplink reads instead of store.
	outbox Outbox
	logs   *logBuf
	log    *slog.Logger

	kick chan struct{} // something happened: check the condition again

	mu      sync.Mutex
	uplink  *Uplink
	idle    bool
	next    time.Time
	silence int // answers the receiver withheld, for the clock to time out
}

func newEnv(t *testing.T, fake bool) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), logs: &logBuf{}, kick: make(chan struct{}, 1)}
	if fake {
		e.clk = newFakeClock(t0)
	}
	e.log = slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.hub = &fakeHub{e: e, faults: map[string]bool{}}
	e.openStore()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", e.logs.String())
		}
	})
	return e
}

func (e *env) openStore() {
	e.t.Helper()
	st, err := storage.Open(filepath.Join(e.dir, "vakt.db"), storage.Options{NoSync: true})
	if err != nil {
		e.t.Fatal(err)
	}
	e.store = st
	e.t.Cleanup(func() { st.Close() })
}

func (e *env) now() time.Time {
	if e.clk != nil {
		return e.clk.Now()
	}
	return time.Now()
}

func (e *env) poke() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// commit queues reports in the outbox as the hub does, one event each, and wakes
// the uplink.
func (e *env) commit(reps ...hub.Report) {
	e.t.Helper()
	var b hub.Batch
	for _, r := range reps {
		r.Event = uint64(len(b.Events))
		if r.Time.IsZero() {
			r.Time = e.now()
		}
		b.Events = append(b.Events, hub.Event{Time: e.now(), Type: "test", Class: hub.ClassRoutine,
			Who: hub.Actor{Via: hub.ViaSystem}})
		b.Reports = append(b.Reports, r)
	}
	if _, _, err := e.store.Commit(b); err != nil {
		e.t.Error(err)
		return
	}
	e.mu.Lock()
	u := e.uplink
	// The uplink has work now: the clock must not move until it is idle again.
	e.idle = false
	e.mu.Unlock()
	if u != nil {
		u.Wake()
	}
}

// burglaries returns reports of burglary in zones from..to, routine unless alarm.
func burglaries(from, to int, alarm bool) []hub.Report {
	var out []hub.Report
	for z := from; z <= to; z++ {
		out = append(out, hub.Report{Code: 130, Qualifier: hub.QualNew, Partition: 1, Zone: z, Alarm: alarm})
	}
	return out
}

func (e *env) queued() int {
	n, err := e.store.OutboxLen()
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// recv starts a receiver for accounts (key nil: plaintext) on tcp and udp
// ("127.0.0.1:0" for a free port; "" for none), collecting into rec. respond may
// be nil.
func (e *env) recv(rec *recorder, tcp, udp string, key *sia.Key, respond func(sia.Message) receiver.Reply,
	edit ...func(*receiver.Config)) *receiver.Receiver {
	e.t.Helper()
	cfg := receiver.Config{
		TCPAddr: tcp, UDPAddr: udp,
		Accounts:    []receiver.Account{{ID: "1234", Key: key}},
		Now:         e.now,
		EventBuffer: 4096,
		Respond: func(m sia.Message) receiver.Reply {
			rec.mu.Lock()
			rec.frames = append(rec.frames, m)
			rec.mu.Unlock()
			r := receiver.ReplyDefault
			if respond != nil {
				r = respond(m)
			}
			if r == receiver.ReplyNone {
				e.mu.Lock()
				e.silence++
				e.mu.Unlock()
			}
			e.poke()
			return r
		},
	}
	for _, f := range edit {
		f(&cfg)
	}
	r, err := receiver.New(cfg, e.log.With("side", "receiver"))
	if err != nil {
		e.t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	rec.mu.Lock()
	rec.chans = append(rec.chans, r.Events())
	rec.mu.Unlock()
	e.t.Cleanup(func() { r.Close() })
	return r
}

// path is a plain TCP path to addr with account 1234.
func path(name, addr string) Path {
	return Path{Name: name, Addr: addr, Account: "1234"}
}

// run starts an uplink on the env's store and hub; the returned stop cancels it and
// waits for Run to return.
func (e *env) run(cfg Config, opts ...Option) (*Uplink, func()) {
	e.t.Helper()
	if e.clk != nil {
		opts = append([]Option{WithClock(e.clk.Now, e.clk.After)}, opts...)
	}
	var out Outbox = e.store
	if e.outbox != nil {
		out = e.outbox
	}
	u, err := New(cfg, out, e.hub, e.log.With("side", "uplink"), opts...)
	if err != nil {
		e.t.Fatal(err)
	}
	u.idle = func(idle bool, next time.Time) {
		e.mu.Lock()
		e.idle, e.next = idle, next
		e.mu.Unlock()
		if idle {
			e.poke()
		}
	}
	e.mu.Lock()
	e.uplink, e.idle = u, false
	e.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					e.t.Errorf("Run: %v", err)
				}
			case <-time.After(realTimeout):
				e.t.Errorf("Run did not return after cancel")
			}
			e.mu.Lock()
			if e.uplink == u {
				e.uplink = nil
			}
			e.mu.Unlock()
		})
	}
	e.t.Cleanup(stop)
	return u, stop
}

// until waits for cond. With the fake clock it moves time forward whenever the
// uplink waits with nothing in flight (to its next deadline) or the receiver
// withheld an answer (by the ACK timeout), but fails beyond limit of simulated time.
func (e *env) until(what string, limit time.Duration, cond func() bool) {
	e.t.Helper()
	var end time.Time
	if e.clk != nil {
		end = e.clk.Now().Add(limit)
	}
	deadline := time.After(realTimeout)
	beyond := false
	for !cond() {
		if e.clk != nil && !beyond {
			beyond = e.drive(end, false)
		}
		select {
		case <-e.kick:
		case <-deadline:
			if beyond {
				e.t.Fatalf("waiting for %s: not done within %s of simulated time", what, limit)
			}
			e.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// runFor moves simulated time forward by d while the uplink does what it does.
func (e *env) runFor(d time.Duration) {
	e.t.Helper()
	end := e.clk.Now().Add(d)
	deadline := time.After(realTimeout)
	for !e.drive(end, true) {
		select {
		case <-e.kick:
		case <-deadline:
			e.t.Fatalf("uplink never idle while running for %s", d)
		}
	}
}

// drive moves the clock if the uplink waits: by the ACK timeout when the receiver
// withheld an answer, else to the uplink's next deadline. It reports whether that
// deadline is beyond end; then, with toEnd, the clock moves to end instead.
func (e *env) drive(end time.Time, toEnd bool) (beyond bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.silence > 0:
		e.silence--
		e.clk.Advance(DefaultAckTimeout)
	case e.idle:
		if e.next.IsZero() || e.next.After(end) {
			if toEnd {
				e.clk.AdvanceTo(end)
			}
			return true
		}
		e.clk.AdvanceTo(e.next)
		e.idle = false
	}
	return false
}

func mustKey(t testing.TB, s, format string) *sia.Key {
	t.Helper()
	k, err := sia.ParseKey(s, format)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func seq(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}
