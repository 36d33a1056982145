package hub

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

var cheap = HashParams{Memory: 64, Time: 1, Threads: 1}

type memJournal struct {
	mu      sync.Mutex
	events  []Event
	reports []Report
	state   State
	fail    error
	commits int      // successful commits
	configs []Config // the configuration of each successful commit that had one
	binds   []string // the bindings of each successful commit that had them
}

func (j *memJournal) Commit(b Batch) ([]Event, []Report, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.fail != nil {
		return nil, nil, j.fail
	}
	for i := range b.Reports {
		b.Reports[i].Event = b.Events[b.Reports[i].Event].Seq
	}
	j.events = append(j.events, b.Events...)
	j.reports = append(j.reports, b.Reports...)
	j.state = b.State
	j.commits++
	if b.Config != nil {
		j.configs = append(j.configs, b.Config.Clone())
	}
	if b.Bindings != nil {
		j.binds = append(j.binds, string(b.Bindings))
	}
	return b.Events, b.Reports, nil
}

// setFail makes every commit fail with err from now on; nil makes them succeed.
func (j *memJournal) setFail(err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.fail = err
}

// stored returns copies of what was committed: the events, the number of commits
// and the configurations committed.
func (j *memJournal) stored() ([]Event, int, []Config) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.events), j.commits, slices.Clone(j.configs)
}

func (j *memJournal) Sequences() (uint64, uint64, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var e, r uint64
	if n := len(j.events); n > 0 {
		e = j.events[n-1].Seq
	}
	if n := len(j.reports); n > 0 {
		r = j.reports[n-1].Seq
	}
	return e, r, nil
}

func (j *memJournal) types() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	var ts []string
	for _, e := range j.events {
		ts = append(ts, string(e.Type))
	}
	return ts
}

func (j *memJournal) codes() []int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return codes(j.reports)
}

type memOutputs struct {
	mu  sync.Mutex
	set []string
}

func (o *memOutputs) Set(kind OutputKind, on, _ bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	v := string(kind) + "-off"
	if on {
		v = string(kind) + "-on"
	}
	o.set = append(o.set, v)
}

func (o *memOutputs) list() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.set)
}

func hubConfig(t *testing.T) Config {
	t.Helper()
	cfg := testConfig()
	pins := map[string][2]string{"alice": {"111111", "999111"}, "bob": {"222222", "999222"}, "gus": {"333333", ""}}
	for i, u := range cfg.Users {
		var err error
		if cfg.Users[i].PINHash, err = HashSecret(pins[u.ID][0], cheap); err != nil {
			t.Fatal(err)
		}
		if pins[u.ID][1] != "" {
			cfg.Users[i].DuressHash, _ = HashSecret(pins[u.ID][1], cheap)
		}
	}
	cfg.Users[2].Schedule = []Window{{Days: []time.Weekday{time.Monday}, From: "08:00", To: "17:00"}}
	cfg.Users = append(cfg.Users, User{ID: "tag", Name: "Fob user", Number: 4, Role: RoleUser, Tags: []string{"fob-1"}})
	return cfg
}

// Every test here runs inside a testing/synctest bubble: time.Sleep advances the
// bubble's fake clock at once, so the timers are exercised deterministically and fast.

// start runs a hub in the synctest bubble; the returned stop cancels it and waits.
func start(t *testing.T, cfg Config, st *State, j *memJournal, o *memOutputs) (*Hub, func()) {
	t.Helper()
	return startWith(t, Options{Config: cfg, State: st, Journal: j, Outputs: o})
}

// startWith is start with more options; the location is UTC.
func startWith(t *testing.T, opt Options) (*Hub, func()) {
	t.Helper()
	opt.Location = time.UTC
	h := New(opt)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = h.Run(ctx); close(done) }()
	return h, func() { cancel(); <-done }
}

func TestHubArmAndExitDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j, o := &memJournal{}, &memOutputs{}
		h, stop := start(t, hubConfig(t), nil, j, o)
		defer stop()
		ctx := context.Background()
		err := h.Do(ctx, Request{Kind: CmdArm, Mode: ModeAway, Cred: Credential{Code: "222222"}, Via: ViaKeypad, Device: "kp1"})
		if err != nil {
			t.Fatal(err)
		}
		if got := h.Snapshot().State.Name; got != Arming {
			t.Fatalf("state %s", got)
		}
		time.Sleep(29 * time.Second)
		synctest.Wait()
		if got := h.Snapshot().State.Name; got != Arming {
			t.Fatalf("armed early: %s", got)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if got := h.Snapshot().State.Name; got != ArmedAway {
			t.Fatalf("state %s after exit delay", got)
		}
		if j.state.Name != ArmedAway {
			t.Errorf("stored state %s", j.state.Name)
		}
		var armed Event
		for _, e := range j.events {
			if e.Type == "armed" {
				armed = e
			}
		}
		if armed.Who.UserID != "bob" || armed.Who.Device != "kp1" || armed.Who.Via != ViaKeypad {
			t.Errorf("armed by %+v", armed.Who)
		}
		// A sensor opens: entry delay, then alarm with siren and report.
		if err := h.Input(ctx, Sensor{Zone: "door", Signal: SigOpen}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(61 * time.Second) // entry delay, then 30 s of local warning
		synctest.Wait()
		if got := h.Snapshot().State.Name; got != Triggered {
			t.Fatalf("state %s after entry delay", got)
		}
		if !slices.Contains(o.list(), "siren-on") || !slices.Contains(j.codes(), 1134) {
			t.Errorf("outputs %v reports %v", o.list(), j.codes())
		}
		time.Sleep(150 * time.Second)
		synctest.Wait()
		if got := h.Snapshot().State.Name; got != ArmedAway {
			t.Fatalf("state %s after siren cut-off", got)
		}
		if !slices.Contains(o.list(), "siren-off") {
			t.Errorf("siren not off: %v", o.list())
		}
	})
}

func TestHubCredentials(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j, o := &memJournal{}, &memOutputs{}
		cfg := hubConfig(t)
		cfg.Settings.ExitDelay = map[Mode]Duration{}
		h, stop := start(t, cfg, nil, j, o)
		defer stop()
		ctx := context.Background()
		do := func(kind CommandKind, c Credential) error {
			return h.Do(ctx, Request{Kind: kind, Mode: ModeNight, Cred: c, Via: ViaWeb, Device: "10.0.0.5"})
		}
		if err := do(CmdArm, Credential{}); KindOf(err) != ErrBadCode {
			t.Errorf("no code: %v", err)
		}
		if err := do(CmdArm, Credential{Tag: "fob-1"}); err != nil {
			t.Fatalf("fob: %v", err)
		}
		// Duress: disarms, queues 121, looks like a normal disarm.
		if err := do(CmdDisarm, Credential{Code: "999222"}); err != nil {
			t.Fatalf("duress: %v", err)
		}
		if h.Snapshot().State.Name != Disarmed || !slices.Contains(j.codes(), 1121) {
			t.Errorf("duress: state %s reports %v", h.Snapshot().State.Name, j.codes())
		}
		// Guest outside the schedule (the bubble starts on a Saturday, 2000-01-01).
		if err := do(CmdArm, Credential{Code: "333333"}); KindOf(err) != ErrDenied {
			t.Errorf("guest outside schedule: %v", err)
		}
		// Ten wrong codes from mixed interfaces lock every interface for 90 s.
		for i := range 10 {
			if err := do(CmdArm, Credential{Code: "000000"}); KindOf(err) != ErrBadCode {
				t.Fatalf("wrong code %d: %v", i, err)
			}
		}
		if err := do(CmdArm, Credential{Code: "111111"}); KindOf(err) != ErrLocked {
			t.Fatalf("right code during lockout: %v", err)
		}
		if !slices.Contains(j.types(), "lockout") || !slices.Contains(j.types(), "code_refused_locked") {
			t.Errorf("lockout not logged: %v", j.types())
		}
		time.Sleep(91 * time.Second)
		if err := do(CmdArm, Credential{Code: "111111"}); err != nil {
			t.Fatalf("after lockout: %v", err)
		}
		for _, e := range j.events {
			if e.Who == (Actor{}) {
				t.Errorf("event %s names nobody", e.Type)
			}
		}
	})
}

func TestHubRestartResumesAlarm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j, o := &memJournal{}, &memOutputs{}
		cfg := hubConfig(t)
		cfg.Settings.ExitDelay = map[Mode]Duration{}
		h, stop := start(t, cfg, nil, j, o)
		ctx := context.Background()
		if err := h.Do(ctx, Request{Kind: CmdArm, Mode: ModeNight, Cred: Credential{Code: "111111"}, Via: ViaAPI}); err != nil {
			t.Fatal(err)
		}
		if err := h.Input(ctx, Sensor{Zone: "window", Signal: SigOpen}); err != nil {
			t.Fatal(err)
		}
		stop()
		time.Sleep(time.Minute) // power is off for a minute
		saved := j.state
		o2 := &memOutputs{}
		h2, stop2 := start(t, cfg, &saved, j, o2)
		defer stop2()
		synctest.Wait()
		if got := h2.Snapshot().State.Name; got != Triggered {
			t.Fatalf("state %s after restart", got)
		}
		if !slices.Contains(o2.list(), "siren-on") {
			t.Fatalf("siren not resumed: %v", o2.list())
		}
		time.Sleep(2*time.Minute + time.Second) // the original cut-off is 3 min after the alarm
		synctest.Wait()
		if got := h2.Snapshot().State.Name; got != ArmedNight || !slices.Contains(o2.list(), "siren-off") {
			t.Fatalf("state %s outputs %v", got, o2.list())
		}
	})
}

func TestHubSlowSubscriberDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j, o := &memJournal{}, &memOutputs{}
		h, stop := start(t, hubConfig(t), nil, j, o)
		defer stop()
		ch, cancel := h.Subscribe(1)
		defer cancel()
		ctx := context.Background()
		for _, s := range []Signal{SigOpen, SigClose, SigOpen} {
			if err := h.Input(ctx, Sensor{Zone: "window", Signal: s}); err != nil {
				t.Fatal(err)
			}
		}
		n := 0
		for range ch {
			n++
		}
		if n != 1 {
			t.Errorf("got %d updates before the drop, want 1", n)
		}
	})
}

func TestHubStorageFailureKeepsAlarm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j, o := &memJournal{fail: context.DeadlineExceeded}, &memOutputs{}
		h, stop := start(t, hubConfig(t), nil, j, o)
		defer stop()
		if err := h.Input(context.Background(), Sensor{Zone: "smoke", Signal: SigOpen}); err != nil {
			t.Fatal(err)
		}
		s := h.Snapshot()
		if s.State.Name != Triggered || s.StorageError == "" || !slices.Contains(o.list(), "siren-on") {
			t.Errorf("state %s storage %q outputs %v", s.State.Name, s.StorageError, o.list())
		}
	})
}

// gateJournal holds every commit until release.
type gateJournal struct {
	memJournal
	gate chan struct{}
}

func (j *gateJournal) Commit(b Batch) ([]Event, []Report, error) {
	<-j.gate
	return j.memJournal.Commit(b)
}

// The snapshot a new hub starts with is the state as it was: inputs applied
// before the first commit change the actor's state in place, not the snapshot
// readers already hold.
func TestFirstSnapshotNotShared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := &gateJournal{gate: make(chan struct{})}
		h := New(Options{Config: hubConfig(t), Journal: j, Outputs: &memOutputs{}, Location: time.UTC})
		first := h.Snapshot()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = h.Run(ctx); close(done) }()
		defer func() { close(j.gate); cancel(); <-done }()
		if err := h.Post(ctx, Sensor{Zone: "door", Signal: SigOpen}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if z := first.State.Zones["door"]; z.Open {
			t.Errorf("the first snapshot changed under its reader: door %+v", z)
		}
		if z := h.Snapshot().State.Zones["door"]; z.Open {
			t.Errorf("a snapshot shows an input whose commit has not happened: door %+v", z)
		}
	})
}
