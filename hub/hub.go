package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Outputs drives sirens, sounders, strobes and chimes. Set is called with the hub's
// state held, on whichever goroutine brought the input that decided it (an MQTT
// client's, a timer's), before anything is written to disk. It must drive the
// outputs now and must not block: no waiting for devices, disks or locks held long.
// An output that cannot be driven is the implementation's to report, as a
// FaultOutput through Post from a goroutine of its own, never from inside Set.
type Outputs interface {
	Set(kind OutputKind, on, pulse bool)
}

// Metrics is told what the alarm path takes (optional). Its methods are called on
// the alarm path and on the journal writer's goroutine: they must not block.
type Metrics interface {
	// Switched: an input switched outputs d after it reached the hub (Post,
	// Input or Do), waiting for the actor's lock included.
	Switched(d time.Duration)
	// Committed: one journal transaction with n events took d; err is its error.
	Committed(d time.Duration, n int, err error)
}

// Waker is told that reports were queued for the monitoring centre (the uplink):
// after a commit, or held in memory after a failed one. Wake must not block.
type Waker interface{ Wake() }

// Snapshot is a consistent view of the hub after an input.
type Snapshot struct {
	State  State
	Ready  map[Mode][]Reason
	Config Config
	// StorageError is the last commit error, empty when the store is healthy.
	StorageError string
}

// Update is what subscribers receive after inputs that changed something were
// committed (or, when the disk fails, held in memory): the new snapshot and the
// events, in order. Events marked Silent (duress, silent panic) are included: a
// subscriber that shows events to people must drop them.
type Update struct {
	Snapshot *Snapshot
	Events   []Event
}

// Options configure a Hub.
type Options struct {
	Config  Config
	State   *State // as loaded from the store; nil for a new system
	Journal Journal
	Outputs Outputs
	// Reports is the outbox the uplink reads; reports of failed commits are held
	// there. Optional: without it they are logged and only in the journal's retry.
	Reports *ReportQueue
	Waker   Waker // optional
	Log     *slog.Logger
	Now     func() time.Time // default time.Now
	// Location is the local time zone for guest schedules; default time.Local.
	Location *time.Location
	// StorageRetry is how often a failed commit is retried; default 2s.
	StorageRetry time.Duration
	// CommitDelay is how long the journal writer waits, once woken, before it takes
	// what is queued: inputs that come meanwhile share the transaction, and the
	// goroutines that carry an alarm's output commands to the devices get the
	// processors first (a commit's CPU work started at once delays a siren's
	// command by a few hundred microseconds on a 2-core machine; a report to the
	// centre can wait this long). Default 0; the binary uses 200µs, which becomes
	// about 1 ms with the runtime's own timers when the process is otherwise idle
	// (its idle wait is in milliseconds), so a delay under 1 ms sleeps in the
	// kernel instead (Linux); a spinning wait of exactly 200µs was tried and cost
	// a GPIO edge's p99.
	CommitDelay time.Duration
	// Verifier checks codes; default a new one.
	Verifier *Verifier
	// Metrics, when set, is told the path's timings.
	Metrics Metrics
	// CheckConfig, when set, checks a configuration that ChangeConfig is about to
	// put in force against what the hub does not know: the adapters' bindings,
	// which name zones and outputs and must still fit the stored configuration at
	// the next start. An error refuses the change. It runs with the actor's lock
	// held, so it must be quick.
	CheckConfig func(Config) error
}

// Hub owns the live state. Every input is applied on the goroutine that brings it
// (an MQTT client's, a keypad's, the hub's timer), one at a time: the core decides,
// the outputs are switched at once, and the records go to the journal writer, which
// commits them in order and then answers the caller and fans the update out. The
// actor is a lock with an inbox: an input that finds the lock free is applied at
// once by its own goroutine; one that finds it taken is left in the inbox, and the
// goroutine holding the lock applies it before letting go (flat combining), so a
// flood of inputs costs no hand-over between goroutines. No input ever waits for
// the disk.
//
// Run starts the hub's two goroutines (the timer and the journal writer) and stops
// them when its context is cancelled; every other method may be called from any
// goroutine. Inputs that arrive before Run has resumed the stored state wait for it.
type Hub struct {
	opt     Options
	started chan struct{} // closed when Run has resumed the stored state
	done    chan struct{} // closed when Run returns

	mu         sync.Mutex // the actor: held while inputs are applied
	core       *Core
	st         State
	w          *writer
	nextEvent  uint64
	nextReport uint64
	spare      []request
	step       step // the step every input is applied in, with mu held (applyIn)
	// The lamps' levels as last driven (setLamps).
	lampsKnown, lampReady, lampFault bool

	inMu   sync.Mutex
	inbox  []request // waiting for the holder of mu
	closed bool      // no more inputs

	next atomic.Int64  // deadline as Unix nanoseconds, 0 for none: the timer's
	poke chan struct{} // the deadline changed
	snap atomic.Pointer[Snapshot]

	subMu sync.Mutex
	subs  map[chan Update]struct{}
}

// New returns a hub; call Run to start it.
func New(opt Options) *Hub {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Location == nil {
		opt.Location = time.Local
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Verifier == nil {
		opt.Verifier = &Verifier{}
	}
	h := &Hub{opt: opt, started: make(chan struct{}), done: make(chan struct{}), poke: make(chan struct{}, 1),
		subs: map[chan Update]struct{}{}}
	h.core = NewCore(opt.Config)
	h.st = h.core.InitialState()
	if opt.State != nil {
		h.st = h.core.normalize(*opt.State)
	}
	// The actor changes h.st.Zones in place (ApplyInPlace): the snapshot gets a copy,
	// as every committed one does (take).
	first := h.st
	first.Zones = maps.Clone(first.Zones)
	h.snap.Store(snapshot(h.core, first, ""))
	return h
}

func snapshot(c *Core, st State, storageErr string) *Snapshot {
	ready := make(map[Mode][]Reason, len(Modes))
	for _, m := range Modes {
		ready[m] = c.Ready(st, m)
	}
	return &Snapshot{State: st, Ready: ready, Config: c.Config(), StorageError: storageErr}
}

// Snapshot returns the state as last committed (or held after a failed commit);
// it never blocks.
func (h *Hub) Snapshot() *Snapshot { return h.snap.Load() }

// Subscribe returns a channel of updates and a function to cancel. A subscriber that
// falls behind by more than buf updates is dropped: its channel is closed.
// Subscribers made before Run see the updates of the restart itself.
func (h *Hub) Subscribe(buf int) (<-chan Update, func()) {
	ch := make(chan Update, buf)
	h.subMu.Lock()
	h.subs[ch] = struct{}{}
	h.subMu.Unlock()
	return ch, func() {
		h.subMu.Lock()
		defer h.subMu.Unlock()
		if _, ok := h.subs[ch]; ok {
			delete(h.subs, ch)
			close(ch)
		}
	}
}

func (h *Hub) fanout(u Update) {
	h.subMu.Lock()
	defer h.subMu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- u:
		default:
			delete(h.subs, ch)
			close(ch)
			h.opt.Log.Warn("hub: subscriber too slow, dropped")
		}
	}
}

// Run resumes the stored state by the restart rules, then serves the timers until
// ctx is cancelled. Then it stops taking inputs, writes what is queued (bounded by
// ctx's cause: it waits at most 5 s for a hanging disk) and returns. The outputs
// keep the level they had: switching them off at shutdown is the owner's choice.
func (h *Hub) Run(ctx context.Context) error {
	defer close(h.done)
	evs, reps, err := h.opt.Journal.Sequences()
	if err != nil {
		h.inMu.Lock()
		h.closed = true
		h.inMu.Unlock()
		close(h.started)
		return fmt.Errorf("hub: journal sequences: %w", err)
	}
	h.w = newWriter(h.opt.Journal, h.opt.Reports, h.opt.Log, h.opt.StorageRetry)
	h.w.metrics = h.opt.Metrics
	h.w.gather = h.opt.CommitDelay
	h.w.deliver = h.deliver
	h.w.take = h.take
	h.w.storage = func(failing bool, detail string) {
		_ = h.post(Fault{ID: FaultID{Kind: FaultStorage}, Active: failing, Detail: detail}, nil)
	}
	go h.w.run()

	h.mu.Lock()
	h.nextEvent, h.nextReport = evs, reps
	next, fx := h.core.Resume(h.opt.Now(), h.st)
	_ = h.queue(h.exec(next, fx, false), nil)
	next, fx = h.core.Apply(h.opt.Now(), h.st, Tick{})
	_ = h.queue(h.exec(next, fx, false), nil)
	h.mu.Unlock()
	close(h.started)

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		var timerC <-chan time.Time
		if next := h.next.Load(); next != 0 {
			timer.Reset(max(time.Unix(0, next).Sub(h.opt.Now()), 0))
			timerC = timer.C
		}
		select {
		case <-ctx.Done():
			timer.Stop()
			h.inMu.Lock()
			h.closed = true
			h.inMu.Unlock()
			// Inputs accepted before that are applied and journalled, whoever
			// holds the actor now.
			h.mu.Lock()
			for {
				h.inMu.Lock()
				batch := h.inbox
				h.inbox = nil
				h.inMu.Unlock()
				if len(batch) == 0 {
					break
				}
				for _, r := range batch {
					h.apply(r)
				}
			}
			h.mu.Unlock()
			flush, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return h.w.close(flush)
		case <-h.poke:
		case <-timerC:
			_ = h.post(Tick{}, nil)
		}
		timer.Stop() // since Go 1.23 a stopped timer delivers no stale tick
	}
}

// exec carries out the core's effects with h.mu held: outputs at once, records
// numbered and queued for the journal writer.
func (h *Hub) exec(next State, fx []Effect, zonesChanged bool) *item {
	it := &item{}
	for _, e := range fx {
		switch e := e.(type) {
		case SetOutput:
			h.opt.Outputs.Set(e.Kind, e.On, e.Pulse)
			it.switched = true
		case Record:
			h.nextEvent++
			e.Event.Seq = h.nextEvent
			it.events = append(it.events, e.Event)
			for _, r := range e.Reports {
				h.nextReport++
				r.Seq = h.nextReport
				r.Event = e.Event.Seq
				it.reports = append(it.reports, r)
			}
		case Result:
			it.result = e.Err
		}
	}
	it.changed = zonesChanged || !h.st.equal(next)
	h.st = next
	if (it.changed || !h.lampsKnown) && h.core.HasLamps() {
		h.setLamps()
	}
	var d int64
	if t := h.core.NextDeadline(next); !t.IsZero() {
		d = t.UnixNano()
	}
	if d != h.next.Load() {
		h.next.Store(d)
		select {
		case h.poke <- struct{}{}:
		default:
		}
	}
	return it
}

// setLamps drives the ready and fault lamps: both at the hub's first input after a
// start, then each when its level changes. h.mu is held.
func (h *Hub) setLamps() {
	ready, fault := h.core.Lamps(h.st)
	if !h.lampsKnown || ready != h.lampReady {
		h.opt.Outputs.Set(OutputReady, ready, false)
	}
	if !h.lampsKnown || fault != h.lampFault {
		h.opt.Outputs.Set(OutputFault, fault, false)
	}
	h.lampsKnown, h.lampReady, h.lampFault = true, ready, fault
}

// request is an input, or a configuration change, waiting to be applied.
type request struct {
	in     Input
	change *configChange // instead of in: ChangeConfig
	reply  chan error    // answered after the commit; nil: nobody waits
	at     time.Time     // when it came, with Metrics set
}

// post applies in now, or has the goroutine applying inputs now apply it next,
// and queues its records; with reply set, the writer answers on it after the
// commit.
func (h *Hub) post(in Input, reply chan error) error {
	return h.submit(request{in: in, reply: reply})
}

// submit hands r to the actor (post), stamped with when it came.
func (h *Hub) submit(r request) error {
	if h.opt.Metrics != nil {
		r.at = time.Now()
	}
	h.inMu.Lock()
	if h.closed {
		h.inMu.Unlock()
		return ErrStopped
	}
	h.inbox = append(h.inbox, r)
	h.inMu.Unlock()
	h.drain()
	return nil
}

// drain applies the inbox if no other goroutine does: whoever holds mu applies
// every waiting request, its own and others', in the order they came, and looks
// again after letting go, so none is left behind.
func (h *Hub) drain() {
	for {
		h.inMu.Lock()
		empty := len(h.inbox) == 0
		h.inMu.Unlock()
		if empty || !h.mu.TryLock() {
			return // nothing left, or the holder will apply what we left
		}
		// Swap the inbox for the spare buffer; they are never the same. Another
		// holder may have taken the inbox between our look and our lock: then
		// there is nothing to swap, and the spare must stay as it is.
		h.inMu.Lock()
		batch := h.inbox
		if len(batch) > 0 {
			h.inbox = h.spare[:0]
		}
		h.inMu.Unlock()
		if len(batch) == 0 {
			h.mu.Unlock()
			continue
		}
		for _, r := range batch {
			h.apply(r)
		}
		clear(batch)
		h.spare = batch[:0]
		h.mu.Unlock() // between batches, so the journal writer can take the state
	}
}

// take gives the journal writer the queued items and the state after them: with
// the actor's lock held, so that they agree. The zones map is copied here, once
// per commit, not once per input. Inputs that came meanwhile are then applied.
func (h *Hub) take() ([]*item, State, *Core) {
	h.mu.Lock()
	items := h.w.takeQueue()
	st := h.st
	st.Zones = maps.Clone(st.Zones)
	core := h.core
	h.mu.Unlock()
	h.drain()
	return items, st, core
}

// apply applies one request. h.mu is held.
func (h *Hub) apply(r request) {
	var it *item
	if r.change != nil {
		it = h.applyChange(r.change)
	} else {
		it = h.exec(h.core.applyIn(&h.step, h.opt.Now(), h.st, r.in))
	}
	if it.switched && h.opt.Metrics != nil && !r.at.IsZero() {
		h.opt.Metrics.Switched(time.Since(r.at))
	}
	if err := h.queue(it, r.reply); err != nil && r.reply != nil {
		r.reply <- err
	}
}

// queue hands it to the writer unless there is nothing to write or answer. h.mu is held.
func (h *Hub) queue(it *item, reply chan error) error {
	it.reply = reply
	if len(it.events) == 0 && !it.changed && reply == nil {
		return nil
	}
	if !h.w.enqueue(it) {
		return ErrStopped
	}
	return nil
}

// deliver runs on the writer's goroutine after items were committed (or held in
// memory after a failed commit): log, snapshot, fan-out, uplink, replies, in order.
func (h *Hub) deliver(items []*item, events []Event, st State, core *Core, storageErr string) {
	if events == nil {
		n := 0
		for _, it := range items {
			n += len(it.events)
		}
		events = make([]Event, 0, n)
		for _, it := range items {
			events = append(events, it.events...)
		}
	}
	reports := false
	for _, it := range items {
		reports = reports || len(it.reports) > 0
	}
	// The uplink first: a report is durable now and the centre is waiting for it.
	if reports && h.opt.Waker != nil {
		h.opt.Waker.Wake()
	}
	for _, e := range events {
		h.logEvent(e)
	}
	if len(items) > 0 {
		changed := len(events) > 0 || storageErr != h.Snapshot().StorageError
		for _, it := range items {
			changed = changed || it.changed
		}
		if changed {
			snap := snapshot(core, st, storageErr)
			h.snap.Store(snap)
			h.fanout(Update{Snapshot: snap, Events: events})
		}
	}
	for _, it := range items {
		if it.reply != nil {
			it.reply <- it.result
		}
	}
}

// logEvent logs an event. Silent events (duress, silent panic) are logged at debug
// level only, and info-level lines carry no journal number, whose gap would show
// them: the log is as readable as the state topics. Zone activity is debug too.
func (h *Hub) logEvent(e Event) {
	ctx := context.Background()
	if e.Silent || e.Type == EvZoneOpen || e.Type == EvZoneClosed {
		if h.opt.Log.Enabled(ctx, slog.LevelDebug) {
			h.opt.Log.Debug("event", eventAttrs(e, true)...)
		}
		return
	}
	h.opt.Log.Info("event", eventAttrs(e, false)...)
}

// eventAttrs are an event's log attributes: the reasons and zones of a refused or
// forced arming too.
func eventAttrs(e Event, seq bool) []any {
	as := []any{"type", e.Type}
	if seq {
		as = append(as, "seq", e.Seq)
	}
	as = append(as, "zone", e.Zone, "state", e.State, "who", e.Who.String(), "detail", e.Detail)
	if len(e.Reasons) > 0 {
		rs := make([]string, len(e.Reasons))
		for i, r := range e.Reasons {
			rs[i] = r.String()
		}
		as = append(as, "reasons", strings.Join(rs, ", "))
	}
	if len(e.Zones) > 0 {
		as = append(as, "zones", strings.Join(e.Zones, ","))
	}
	return as
}

// wait waits for the hub to have resumed.
func (h *Hub) wait(ctx context.Context) error {
	select {
	case <-h.started:
		return nil
	case <-h.done:
		return ErrStopped
	case <-ctx.Done():
		return fmt.Errorf("hub: %w", ctx.Err())
	}
}

// Post applies a sensor signal (or any input) at once, on the caller's goroutine
// (or, when another goroutine is applying inputs at that moment, by that goroutine
// right after the inputs before it), and returns without waiting for the journal. Sensor adapters call it from the goroutine that received the message.
// It waits for the hub to have started, and, after applying in, while the journal
// is more than highWater events behind (back-pressure on a flooding device; a
// healthy disk never gets there).
func (h *Hub) Post(ctx context.Context, in Input) error {
	if err := h.wait(ctx); err != nil {
		return err
	}
	if err := h.post(in, nil); err != nil {
		return err
	}
	for {
		h.inMu.Lock()
		waiting := len(h.inbox)
		h.inMu.Unlock()
		room := h.w.room(waiting)
		if room == nil {
			return nil
		}
		select {
		case <-room:
		case <-h.done:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

// Input applies in like Post and waits until its records are committed (or held in
// memory after a failed commit); it returns the command's result.
func (h *Hub) Input(ctx context.Context, in Input) error {
	return h.call(ctx, request{in: in})
}

// call submits r and waits until its records are committed (or held in memory
// after a failed commit); it returns the result.
func (h *Hub) call(ctx context.Context, r request) error {
	if err := h.wait(ctx); err != nil {
		return err
	}
	reply := make(chan error, 1)
	r.reply = reply
	if err := h.submit(r); err != nil {
		return err
	}
	select {
	case err := <-reply:
		return err
	case <-h.done:
		select {
		case err := <-reply:
			return err
		default:
			return ErrStopped
		}
	case <-ctx.Done():
		return fmt.Errorf("hub: %w", ctx.Err())
	}
}

// Request is a command as an interface receives it: what to do, the credential
// presented, and where it came from.
type Request struct {
	Kind  CommandKind
	Mode  Mode
	Force bool
	Zone  string
	Cred  Credential
	Via   Via
	// Device names the source: keypad id, MQTT client id, remote address.
	Device string
	// Source is what wrong codes are counted against (an MQTT account, whatever
	// client id it uses); empty means SourceOf(Via, Device).
	Source string
	// Account is the authenticated account that sent the request (an MQTT user):
	// one named in the setting arm_without_code may arm without a credential.
	Account string
	// Trusted, when set, skips the credential: the command comes from an already
	// authenticated session (a web login) or the local CLI, and acts as this user.
	Trusted *User
}

// Do authenticates a request and applies it. The credential check (argon2id) runs on
// the caller's goroutine, one at a time (Verifier); the wrong-code lockout is shared
// by every interface, each source (Request.Source) counted on its own.
func (h *Hub) Do(ctx context.Context, r Request) error {
	source := r.Source
	if source == "" {
		source = SourceOf(r.Via, r.Device)
	}
	if r.Trusted == nil && r.Cred.Empty() && r.Kind == CmdArm && !r.Force && r.Account != "" &&
		slices.Contains(h.Snapshot().Config.Settings.ArmWithoutCode, r.Account) {
		// Arming without a code by a named account: the event names it.
		return h.Input(ctx, Command{Kind: r.Kind, Mode: r.Mode, Who: Actor{Device: r.Device, Via: r.Via}, Source: source, NoCode: true})
	}
	u, duress, err := h.authenticate(ctx, r, source)
	if err != nil {
		return err
	}
	who := Actor{UserID: u.ID, UserName: u.Name, UserNum: u.Number, Device: r.Device, Via: r.Via}
	byCode := r.Trusted == nil && (r.Cred.Code != "" || r.Cred.Password != "")
	err = h.Input(ctx, Command{Kind: r.Kind, Mode: r.Mode, Force: r.Force, Zone: r.Zone,
		Who: who, Role: u.Role, Duress: duress, ByCode: byCode, Source: source})
	if err == nil && u.OneTime && r.Cred.Code != "" {
		h.spendOneTime(ctx, u.ID)
	}
	return err
}

// spendOneTime removes the PIN of a one-time user after it was used: the change is
// the hub's own, recorded as every change is.
func (h *Hub) spendOneTime(ctx context.Context, id string) {
	_, err := h.ChangeConfig(ctx, Actor{Device: "hub", Via: ViaSystem}, func(c *Config) error {
		for i := range c.Users {
			if c.Users[i].ID == id && c.Users[i].OneTime {
				c.Users[i].PINHash, c.Users[i].DuressHash = "", ""
			}
		}
		return nil
	})
	if err != nil {
		h.opt.Log.Error("hub: one-time code used but not removed", "user", id, "err", err)
	}
}

// Authenticate checks the request's credential the way Do does (the same lockout,
// the same refusal events, the user's schedule) without applying a command: a web
// login. It returns the user, or an *Error of kind ErrBadCode, ErrLocked or
// ErrDenied. A duress code is not accepted here: it is for commands, where the
// hub can act on it silently.
func (h *Hub) Authenticate(ctx context.Context, r Request) (User, error) {
	if err := h.wait(ctx); err != nil {
		return User{}, err
	}
	source := r.Source
	if source == "" {
		source = SourceOf(r.Via, r.Device)
	}
	u, duress, err := h.authenticate(ctx, r, source)
	if err == nil && duress {
		src := Actor{Device: r.Device, Via: r.Via}
		if err := h.Input(ctx, Refused{Who: src, Source: source, Reason: RefusedWrongCode, Detail: credKind(r.Cred)}); err != nil {
			return User{}, err
		}
		return User{}, &Error{Kind: ErrBadCode, Msg: "wrong code"}
	}
	return u, err
}

// authenticate identifies the user behind r: its trusted user, or the one whose
// credential it carries, outside a lockout and within the user's schedule.
func (h *Hub) authenticate(ctx context.Context, r Request, source string) (u User, duress bool, err error) {
	now := h.opt.Now()
	src := Actor{Device: r.Device, Via: r.Via}
	if r.Trusted != nil {
		u = *r.Trusted
	} else {
		snap := h.Snapshot()
		if r.Cred.Empty() {
			return User{}, false, &Error{Kind: ErrBadCode, Msg: "a code is required"}
		}
		if until, locked := snap.State.Lockout.LockedFor(source, now); locked {
			_ = h.Input(ctx, Refused{Who: src, Source: source, Reason: RefusedLocked})
			return User{}, false, &Error{Kind: ErrLocked, Msg: "code entry is locked until " + until.Format(time.RFC3339)}
		}
		var ok bool
		u, duress, ok = h.opt.Verifier.Identify(snap.Config.Users, r.Cred)
		if !ok {
			if err := h.Input(ctx, Refused{Who: src, Source: source, Reason: RefusedWrongCode, Detail: credKind(r.Cred)}); err != nil {
				return User{}, false, err
			}
			return User{}, false, &Error{Kind: ErrBadCode, Msg: "wrong code"}
		}
	}
	if !u.Allowed(now, h.opt.Location) {
		who := Actor{UserID: u.ID, UserName: u.Name, UserNum: u.Number, Device: r.Device, Via: r.Via}
		_ = h.Input(ctx, Refused{Who: who, Reason: RefusedSchedule, Detail: "outside schedule or expired"})
		return User{}, false, &Error{Kind: ErrDenied, Msg: "user " + u.Name + " may not operate the system now"}
	}
	return u, duress, nil
}

func credKind(c Credential) string {
	switch {
	case c.Password != "":
		return "password for " + c.UserID
	case c.Tag != "":
		return "unknown tag"
	}
	return "wrong PIN"
}

// ErrStopped is returned by requests made after the hub stopped.
var ErrStopped = errors.New("hub: stopped")
