package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"time"
)

// Journal stores what the core decided, in one transaction per input: events, the
// reports they queue for the monitoring centre, and the new state. Commit is called
// on the actor goroutine after the outputs were switched; an error means nothing of
// the batch was stored (the hub logs it, shows it in Snapshot.StorageError and goes on: the
// alarm itself never waits for or stops on the disk). It returns the events and
// reports with their sequence numbers.
type Journal interface {
	Commit(b Batch) ([]Event, []Report, error)
}

// Outputs drives sirens, sounders, strobes and chimes. Set is called on the actor
// goroutine before anything is written to disk and must not block: an implementation
// hands the work to its own goroutines and reports failures as faults.
type Outputs interface {
	Set(kind OutputKind, on, pulse bool)
}

// Waker is told that reports were committed to the outbox (the uplink). Wake must
// not block.
type Waker interface{ Wake() }

// Snapshot is a consistent view of the hub after an input.
type Snapshot struct {
	State  State
	Ready  map[Mode][]Reason
	Config Config
	// StorageError is the last commit error, empty when the store is healthy.
	StorageError string
}

// Update is what subscribers receive after each input that changed something: the new
// snapshot and the committed events. Events marked Silent (duress, silent panic) are
// included: a subscriber that shows events to people must drop them.
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
	Waker   Waker // optional
	Log     *slog.Logger
	Now     func() time.Time // default time.Now
	// Location is the local time zone for guest schedules; default time.Local.
	Location *time.Location
}

// Hub is the actor that owns the live state. Run is its goroutine, started and
// stopped (by cancelling its context) by the owner; every other method may be called
// from any goroutine.
type Hub struct {
	opt  Options
	reqs chan request
	done chan struct{} // closed when Run returns
	snap atomic.Pointer[Snapshot]

	mu   sync.Mutex
	subs map[chan Update]struct{}
}

type request struct {
	in    Input
	cfg   *Config
	who   Actor
	reply chan error
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
	h := &Hub{opt: opt, reqs: make(chan request, 64), done: make(chan struct{}), subs: map[chan Update]struct{}{}}
	core := NewCore(opt.Config)
	st := core.InitialState()
	if opt.State != nil {
		st = core.normalize(*opt.State)
	}
	h.snap.Store(snapshot(core, st, ""))
	return h
}

func snapshot(c *Core, st State, storageErr string) *Snapshot {
	ready := make(map[Mode][]Reason, len(Modes))
	for _, m := range Modes {
		ready[m] = c.Ready(st, m)
	}
	return &Snapshot{State: st, Ready: ready, Config: c.Config(), StorageError: storageErr}
}

// Snapshot returns the latest state; it never blocks.
func (h *Hub) Snapshot() *Snapshot { return h.snap.Load() }

// Subscribe returns a channel of updates and a function to cancel. A subscriber that
// falls behind by more than buf updates is dropped: its channel is closed.
func (h *Hub) Subscribe(buf int) (<-chan Update, func()) {
	ch := make(chan Update, buf)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.subs[ch]; ok {
			delete(h.subs, ch)
			close(ch)
		}
	}
}

func (h *Hub) fanout(u Update) {
	h.mu.Lock()
	defer h.mu.Unlock()
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

// Run is the actor loop. It resumes the stored state by the restart rules, then
// serves inputs, commands and timers until ctx is cancelled.
func (h *Hub) Run(ctx context.Context) error {
	defer close(h.done)
	core := NewCore(h.opt.Config)
	st := h.Snapshot().State
	storageErr := ""
	exec := func(next State, fx []Effect) error {
		var res error
		var batch Batch
		for _, e := range fx {
			switch e := e.(type) {
			case SetOutput:
				h.opt.Outputs.Set(e.Kind, e.On, e.Pulse)
			case Record:
				for _, r := range e.Reports {
					r.Event = uint64(len(batch.Events))
					batch.Reports = append(batch.Reports, r)
				}
				batch.Events = append(batch.Events, e.Event)
			case Result:
				res = e.Err
			}
		}
		changed := !reflect.DeepEqual(st, next)
		st = next
		if !changed && len(batch.Events) == 0 {
			return res
		}
		batch.State = st
		events, reports, err := h.opt.Journal.Commit(batch)
		if err != nil {
			storageErr = err.Error()
			h.opt.Log.Error("hub: commit failed; the alarm goes on, but this is not stored", "err", err,
				"events", len(batch.Events), "reports", len(batch.Reports))
			events = batch.Events
		} else {
			storageErr = ""
		}
		for _, e := range events {
			h.opt.Log.Info("event", "type", e.Type, "seq", e.Seq, "zone", e.Zone, "state", e.State,
				"who", e.Who.String(), "detail", e.Detail)
		}
		if len(reports) > 0 && h.opt.Waker != nil {
			h.opt.Waker.Wake()
		}
		snap := snapshot(core, st, storageErr)
		h.snap.Store(snap)
		h.fanout(Update{Snapshot: snap, Events: events})
		return res
	}

	_ = exec(core.Resume(h.opt.Now(), st))
	_ = exec(core.Apply(h.opt.Now(), st, Tick{}))

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var timerC <-chan time.Time
		if next := core.NextDeadline(st); !next.IsZero() {
			timer.Reset(max(next.Sub(h.opt.Now()), 0))
			timerC = timer.C
		}
		select {
		case <-ctx.Done():
			return nil
		case <-timerC:
			_ = exec(core.Apply(h.opt.Now(), st, Tick{}))
		case r := <-h.reqs:
			var err error
			if r.cfg != nil {
				core = NewCore(*r.cfg)
				next := core.normalize(clone(st))
				fx := []Effect{Record{Event: Event{Time: h.opt.Now().UTC(), Type: "config_changed", Class: ClassArming,
					Who: r.who, State: st.Name}}}
				err = exec(next, fx)
			} else {
				err = exec(core.Apply(h.opt.Now(), st, r.in))
			}
			if r.reply != nil {
				r.reply <- err
			}
		}
		timer.Stop() // since Go 1.23 a stopped timer delivers no stale tick
	}
}

// send hands a request to the actor and waits for its answer.
func (h *Hub) send(ctx context.Context, r request) error {
	r.reply = make(chan error, 1)
	select {
	case h.reqs <- r:
	case <-h.done:
		return ErrStopped
	case <-ctx.Done():
		return fmt.Errorf("hub: %w", ctx.Err())
	}
	select {
	case err := <-r.reply:
		return err
	case <-h.done:
		return ErrStopped
	case <-ctx.Done():
		return fmt.Errorf("hub: %w", ctx.Err())
	}
}

// Input feeds a sensor signal, fault or tick to the core and waits until it is
// applied. Adapters call it from their own goroutines.
func (h *Hub) Input(ctx context.Context, in Input) error {
	return h.send(ctx, request{in: in})
}

// SetConfig replaces the domain configuration; the change is logged as by who.
func (h *Hub) SetConfig(ctx context.Context, cfg Config, who Actor) error {
	if err := cfg.Validate(); err != nil {
		return &Error{Kind: ErrInvalid, Msg: err.Error()}
	}
	return h.send(ctx, request{cfg: &cfg, who: who})
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
	// Trusted, when set, skips the credential: the command comes from an already
	// authenticated session (a web login) or the local CLI, and acts as this user.
	Trusted *User
}

// Do authenticates a request and applies it. The credential check (argon2id) runs on
// the caller's goroutine; the wrong-code lockout is shared by every interface.
func (h *Hub) Do(ctx context.Context, r Request) error {
	now := h.opt.Now()
	src := Actor{Device: r.Device, Via: r.Via}
	var u User
	var duress, byCode bool
	if r.Trusted != nil {
		u = *r.Trusted
	} else {
		if r.Cred.Empty() {
			return &Error{Kind: ErrBadCode, Msg: "a code is required"}
		}
		snap := h.Snapshot()
		if snap.State.Lockout.Locked(now) {
			_ = h.Input(ctx, Refused{Who: src, Reason: RefusedLocked})
			return &Error{Kind: ErrLocked, Msg: "code entry is locked until " + snap.State.Lockout.Until.Format(time.RFC3339)}
		}
		var ok bool
		u, duress, ok = Identify(snap.Config.Users, r.Cred)
		if !ok {
			if err := h.Input(ctx, Refused{Who: src, Reason: RefusedWrongCode, Detail: credKind(r.Cred)}); err != nil {
				return err
			}
			return &Error{Kind: ErrBadCode, Msg: "wrong code"}
		}
		byCode = r.Cred.Code != "" || r.Cred.Password != ""
	}
	who := Actor{UserID: u.ID, UserName: u.Name, UserNum: u.Number, Device: r.Device, Via: r.Via}
	if !u.Allowed(now, h.opt.Location) {
		_ = h.Input(ctx, Refused{Who: who, Reason: RefusedSchedule, Detail: "outside schedule or expired"})
		return &Error{Kind: ErrDenied, Msg: "user " + u.Name + " may not operate the system now"}
	}
	return h.send(ctx, request{in: Command{Kind: r.Kind, Mode: r.Mode, Force: r.Force, Zone: r.Zone,
		Who: who, Role: u.Role, Duress: duress, ByCode: byCode}})
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
