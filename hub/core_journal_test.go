package hub

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// The hub around the core: which inputs reach the journal, the subscribers and the
// uplink, what is logged at which level, how long a shutdown waits for the disk, and
// which credentials reset the wrong-code count. Everything runs in synctest
// bubbles, on a fake clock. The helpers here are this file's own (prefix cj).

// cjJournal is a journal in memory that counts its commits and can be slowed down.
type cjJournal struct {
	mu      sync.Mutex
	commits int
	events  []Event
	reports []Report
	state   State
	delay   time.Duration // each commit takes this long (on the bubble's clock)
	gate    chan struct{} // when set, each commit waits until it is closed
	seqErr  error
}

func (j *cjJournal) Commit(b Batch) ([]Event, []Report, error) {
	j.mu.Lock()
	delay, gate := j.delay, j.gate
	j.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	if gate != nil {
		<-gate
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.commits++
	j.events = append(j.events, b.Events...)
	j.reports = append(j.reports, b.Reports...)
	j.state = b.State
	return b.Events, b.Reports, nil
}

func (j *cjJournal) Sequences() (uint64, uint64, error) { return 0, 0, j.seqErr }

func (j *cjJournal) snapshot() (commits int, types []string, state State) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, e := range j.events {
		types = append(types, string(e.Type))
	}
	return j.commits, types, j.state
}

type cjOutputs struct{}

func (cjOutputs) Set(OutputKind, bool, bool) {}

type cjWaker struct {
	mu sync.Mutex
	n  int
}

func (w *cjWaker) Wake() { w.mu.Lock(); w.n++; w.mu.Unlock() }
func (w *cjWaker) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// cjLog records the level of every "event" log line by event type.
type cjLog struct {
	mu     sync.Mutex
	levels map[string]slog.Level
}

func (l *cjLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *cjLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "event" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "type" {
			l.mu.Lock()
			l.levels[a.Value.String()] = r.Level
			l.mu.Unlock()
		}
		return true
	})
	return nil
}
func (l *cjLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *cjLog) WithGroup(string) slog.Handler      { return l }

var cjCheap = HashParams{Memory: 64, Time: 1, Threads: 1}

// cjConfig is coreConfig with PINs (alice 111111, bob 222222), a password for
// alice and a fob for bob.
func cjConfig(t *testing.T) Config {
	t.Helper()
	cfg := coreConfig()
	for i, pin := range []string{"111111", "222222"} {
		h, err := HashSecret(pin, cjCheap)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Users[i].PINHash = h
	}
	pw, err := HashSecret("correct horse", cjCheap)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Users[0].PasswordHash = pw
	cfg.Users[1].Tags = []string{"fob-1"}
	return cfg
}

// cjStart runs a hub in the bubble and returns it with a stop function that
// cancels it and returns Run's error.
func cjStart(t *testing.T, opt Options) (*Hub, func() error) {
	t.Helper()
	if opt.Outputs == nil {
		opt.Outputs = cjOutputs{}
	}
	if opt.Location == nil {
		opt.Location = time.UTC
	}
	h := New(opt)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	synctest.Wait()
	return h, func() error { cancel(); return <-done }
}

func TestHubOptionDefaults(t *testing.T) {
	h := New(Options{Config: coreConfig(), Journal: &cjJournal{}, Outputs: cjOutputs{}})
	if h.opt.Now == nil || h.opt.Location != time.Local || h.opt.Log == nil || h.opt.Verifier == nil {
		t.Errorf("defaults not set: %+v", h.opt)
	}
	loc, v := time.FixedZone("X", 7200), &Verifier{}
	now := func() time.Time { return t0 }
	h = New(Options{Config: coreConfig(), Journal: &cjJournal{}, Outputs: cjOutputs{}, Location: loc, Verifier: v, Now: now})
	if h.opt.Location != loc || h.opt.Verifier != v || !h.opt.Now().Equal(t0) {
		t.Errorf("given options replaced: %+v", h.opt)
	}
	// A stored state is normalised to the configuration.
	st := State{Name: ArmedNight, Mode: ModeNight, ArmedBy: alice, Zones: map[string]ZoneState{"gone": {Open: true}}}
	h = New(Options{Config: coreConfig(), State: &st, Journal: &cjJournal{}, Outputs: cjOutputs{}})
	if s := h.Snapshot(); s.State.Name != ArmedNight || len(s.State.Zones) != len(coreConfig().Zones) || len(s.Ready) != len(Modes) {
		t.Errorf("snapshot before Run: %+v", s)
	}
}

func TestHubRunFailsWithoutSequences(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := &cjJournal{seqErr: errors.New("bad disk")}
		h := New(Options{Config: coreConfig(), Journal: j, Outputs: cjOutputs{}})
		if err := h.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "bad disk") {
			t.Fatalf("Run: %v", err)
		}
		if err := h.Post(context.Background(), open_("window")); !errors.Is(err, ErrStopped) {
			t.Errorf("Post after a failed start: %v", err)
		}
		if err := h.Input(context.Background(), open_("window")); !errors.Is(err, ErrStopped) {
			t.Errorf("Input after a failed start: %v", err)
		}
	})
}

// An input that changes nothing and records nothing reaches neither the journal nor
// the subscribers; a command among them is still answered. An input that only
// records (a test report) is committed although the state is the same.
func TestHubNoOpInputs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j, w := &cjJournal{}, &cjWaker{}
		h, stop := cjStart(t, Options{Config: coreConfig(), Journal: j, Waker: w})
		defer stop()
		ctx := context.Background()
		updates, cancel := h.Subscribe(10)
		defer cancel()
		commits, _, _ := j.snapshot()
		wakes := w.count()

		if err := h.Input(ctx, disarm(alice, RoleAdmin)); KindOf(err) != ErrNotAllowed {
			t.Fatalf("disarm when disarmed: %v", err)
		}
		if err := h.Post(ctx, Tick{}); err != nil {
			t.Fatal(err)
		}
		if err := h.Input(ctx, open_("nope")); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if n, _, _ := j.snapshot(); n != commits {
			t.Errorf("%d commits for inputs that changed nothing", n-commits)
		}
		select {
		case u := <-updates:
			t.Errorf("an update for inputs that changed nothing: %+v", u.Events)
		default:
		}

		// Events without reports: committed and published, the uplink not woken.
		if err := h.Input(ctx, open_("window")); err != nil {
			t.Fatal(err)
		}
		if w.count() != wakes {
			t.Errorf("the uplink was woken without a report")
		}
		if u := <-updates; len(u.Events) != 1 || u.Events[0].Type != EvZoneOpen || !u.Snapshot.State.Zones["window"].Open {
			t.Errorf("update %+v", u)
		}

		// Records without a state change: committed, and the uplink woken.
		if err := h.Post(ctx, TestReport{}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if _, types, _ := j.snapshot(); types[len(types)-1] != string(EvPeriodicTest) {
			t.Errorf("the test report was not committed: %v", types)
		}
		if w.count() != wakes+1 {
			t.Errorf("the uplink was woken %d times for one report", w.count()-wakes)
		}
		if u := <-updates; len(u.Events) != 1 || u.Events[0].Type != EvPeriodicTest {
			t.Errorf("update %+v", u)
		}
	})
}

// A state change without events (a confirmed alarm's confirmation window ending)
// is still committed and published.
func TestHubCommitsStateChangeWithoutEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := &cjJournal{}
		h, stop := cjStart(t, Options{Config: coreConfig(), Journal: j})
		defer stop()
		ctx := context.Background()
		for _, in := range []Input{arm(ModeNight), open_("window"), open_("bed")} {
			if err := h.Input(ctx, in); err != nil {
				t.Fatal(err)
			}
		}
		if v := h.Snapshot().State.Verify; v == nil || !v.Confirmed {
			t.Fatalf("not confirmed: %+v", v)
		}
		time.Sleep(10 * time.Minute) // the siren's cut-off: events
		synctest.Wait()
		commits, _, _ := j.snapshot()
		time.Sleep(25 * time.Minute) // the confirmation window ends: no event
		synctest.Wait()
		n, _, st := j.snapshot()
		if n != commits+1 || st.Verify != nil {
			t.Errorf("%d commits, stored verification %+v; want one commit, none", n-commits, st.Verify)
		}
		if v := h.Snapshot().State.Verify; v != nil {
			t.Errorf("snapshot still has the verification %+v", v)
		}
	})
}

// Zone activity is logged at debug level, every other event at info level.
func TestHubEventLogLevels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &cjLog{levels: map[string]slog.Level{}}
		h, stop := cjStart(t, Options{Config: coreConfig(), Journal: &cjJournal{}, Log: slog.New(l)})
		defer stop()
		ctx := context.Background()
		for _, in := range []Input{open_("window"), close_("window"), cmdBy(CmdWalkTestStart, bob, RoleUser)} {
			if err := h.Input(ctx, in); err != nil {
				t.Fatal(err)
			}
		}
		want := map[string]slog.Level{"restart": slog.LevelInfo, "zone_open": slog.LevelDebug,
			"zone_closed": slog.LevelDebug, "walk_test_start": slog.LevelInfo}
		l.mu.Lock()
		defer l.mu.Unlock()
		for typ, lv := range want {
			if got, ok := l.levels[typ]; !ok || got != lv {
				t.Errorf("%s logged at %v (%v), want %v", typ, got, ok, lv)
			}
		}
	})
}

// At shutdown Run waits up to 5 s for the journal to write what is queued.
func TestHubShutdownWaitsForTheJournal(t *testing.T) {
	for _, tc := range []struct {
		delay time.Duration
		fail  bool
	}{{4 * time.Second, false}, {6 * time.Second, true}} {
		synctest.Test(t, func(t *testing.T) {
			j := &cjJournal{}
			h, stop := cjStart(t, Options{Config: coreConfig(), Journal: j})
			j.mu.Lock()
			j.delay = tc.delay
			j.mu.Unlock()
			if err := h.Post(context.Background(), open_("window")); err != nil {
				t.Fatal(err)
			}
			began := time.Now()
			err := stop()
			if tc.fail != (err != nil) {
				t.Errorf("commit taking %s: Run returned %v", tc.delay, err)
			}
			if took := time.Since(began); took != min(tc.delay, 5*time.Second) {
				t.Errorf("commit taking %s: shutdown took %s", tc.delay, took)
			}
			if err := h.Post(context.Background(), open_("door")); !errors.Is(err, ErrStopped) {
				t.Errorf("Post after shutdown: %v", err)
			}
			time.Sleep(tc.delay) // let the writer finish inside the bubble
		})
	}
}

// A PIN or a password resets the wrong-code count; a fob, which anyone holding it
// can use, does not.
func TestHubWhichCredentialsResetTheLockoutCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, stop := cjStart(t, Options{Config: cjConfig(t), Journal: &cjJournal{}, Verifier: &Verifier{}})
		defer stop()
		ctx := context.Background()
		do := func(kind CommandKind, c Credential) error {
			return h.Do(ctx, Request{Kind: kind, Mode: ModeNight, Cred: c, Via: ViaKeypad, Device: "kp1"})
		}
		failures := func() int { return h.Snapshot().State.Lockout.Sources["keypad:kp1"].Failures }
		wrong := func(n int) {
			for range n {
				if err := do(CmdArm, Credential{Code: "000000"}); KindOf(err) != ErrBadCode {
					t.Fatalf("wrong code: %v", err)
				}
			}
		}
		wrong(3)
		if err := do(CmdArm, Credential{Tag: "fob-1"}); err != nil {
			t.Fatal(err)
		}
		if failures() != 3 {
			t.Errorf("after a fob: %d failures, want 3", failures())
		}
		if err := do(CmdDisarm, Credential{Code: "222222"}); err != nil {
			t.Fatal(err)
		}
		if failures() != 0 {
			t.Errorf("after a PIN: %d failures, want 0", failures())
		}
		wrong(2)
		if err := do(CmdArm, Credential{UserID: "alice", Password: "correct horse"}); err != nil {
			t.Fatal(err)
		}
		if failures() != 0 {
			t.Errorf("after a password: %d failures, want 0", failures())
		}
		if err := do(CmdDisarm, Credential{UserID: "alice", Password: "wrong"}); KindOf(err) != ErrBadCode {
			t.Errorf("wrong password: %v", err)
		}
		// Who the command names: the user and where it came from.
		if armedBy := h.Snapshot().State.ArmedBy; armedBy != (Actor{UserID: "alice", UserName: "Alice", UserNum: 1, Device: "kp1", Via: ViaKeypad}) {
			t.Errorf("armed by %+v", armedBy)
		}
		if err := h.Do(ctx, Request{Kind: CmdDisarm, Via: ViaCLI, Trusted: &User{ID: "root", Name: "Root", Number: 9, Role: RoleAdmin}}); err != nil {
			t.Errorf("a trusted request: %v", err)
		}
		if !slices.Contains([]StateName{Disarmed}, h.Snapshot().State.Name) {
			t.Errorf("state %s after the trusted disarm", h.Snapshot().State.Name)
		}
	})
}

// ---- the journal writer, driven directly ----

// cjBatches is a journal that keeps every batch and fails while fail is set.
type cjBatches struct {
	batches []Batch
	fail    error
}

func (j *cjBatches) Commit(b Batch) ([]Event, []Report, error) {
	if j.fail != nil {
		return nil, nil, j.fail
	}
	j.batches = append(j.batches, b)
	return b.Events, b.Reports, nil
}
func (j *cjBatches) Sequences() (uint64, uint64, error) { return 0, 0, nil }

// cjLevels counts log records by level.
type cjLevels struct {
	mu  sync.Mutex
	n   map[slog.Level]int
	msg []string
}

func (l *cjLevels) Enabled(context.Context, slog.Level) bool { return true }
func (l *cjLevels) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n[r.Level]++
	l.msg = append(l.msg, r.Message)
	return nil
}
func (l *cjLevels) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *cjLevels) WithGroup(string) slog.Handler      { return l }

type cjDelivery struct {
	items      []*item
	storageErr string
}

type cjStorage struct {
	failing bool
	detail  string
}

// cjWriter returns a writer (not running) over j and q whose deliveries and
// storage calls are recorded.
func cjWriter(j Journal, q *ReportQueue) (*writer, *[]cjDelivery, *[]cjStorage, *cjLevels) {
	log := &cjLevels{n: map[slog.Level]int{}}
	w := newWriter(j, q, slog.New(log), 0)
	var ds []cjDelivery
	var ss []cjStorage
	w.deliver = func(items []*item, _ []Event, _ State, _ *Core, storageErr string) {
		ds = append(ds, cjDelivery{items, storageErr})
	}
	w.storage = func(failing bool, detail string) { ss = append(ss, cjStorage{failing, detail}) }
	return w, &ds, &ss, log
}

// cjEvents returns n events of class c numbered from seq.
func cjEvents(seq uint64, n int, c EventClass) []Event {
	es := make([]Event, n)
	for i := range es {
		es[i] = Event{Seq: seq + uint64(i), Type: "x", Class: c}
	}
	return es
}

func cjSeqs(items []*item) []uint64 {
	var s []uint64
	for _, it := range items {
		for _, e := range it.events {
			s = append(s, e.Seq)
		}
	}
	return s
}

func TestWriterRetryDefault(t *testing.T) {
	for retry, want := range map[time.Duration]time.Duration{0: defaultStorageRetry, -time.Second: defaultStorageRetry,
		time.Nanosecond: time.Nanosecond, 5 * time.Second: 5 * time.Second} {
		if w := newWriter(&cjBatches{}, nil, slog.New(slog.DiscardHandler), retry); w.retry != want {
			t.Errorf("retry %s: %s, want %s", retry, w.retry, want)
		}
	}
}

// trim drops routine events first, then any but alarm events, oldest first, never
// one a report refers to, and exactly as many as asked.
func TestWriterTrim(t *testing.T) {
	mk := func() []*item {
		return []*item{
			{events: []Event{
				{Seq: 1, Class: ClassRoutine}, {Seq: 2, Class: ClassFault}, {Seq: 3, Class: ClassRoutine},
				{Seq: 4, Class: ClassAlarm}, {Seq: 5, Class: ClassArming}},
				reports: []Report{{Seq: 1, Event: 3}}},
			{events: []Event{{Seq: 6, Class: ClassTamper}, {Seq: 7, Class: ClassRoutine}, {Seq: 8, Class: ClassAlarm}}},
		}
	}
	tests := []struct {
		n       int
		dropped int
		left    []uint64
	}{
		{0, 0, []uint64{1, 2, 3, 4, 5, 6, 7, 8}},
		{1, 1, []uint64{2, 3, 4, 5, 6, 7, 8}}, // the oldest routine event
		{2, 2, []uint64{2, 3, 4, 5, 6, 8}},    // routine ones, not 3 (reported)
		{3, 3, []uint64{3, 4, 5, 6, 8}},       // then the fault event
		{5, 5, []uint64{3, 4, 8}},             // then arming and tamper
		{100, 5, []uint64{3, 4, 8}},           // never alarm or reported ones
	}
	for _, tc := range tests {
		w, _, _, log := cjWriter(&cjBatches{}, nil)
		items := mk()
		if got := w.trim(items, tc.n); got != tc.dropped {
			t.Errorf("trim %d: dropped %d, want %d", tc.n, got, tc.dropped)
		}
		if got := cjSeqs(items); !slices.Equal(got, tc.left) {
			t.Errorf("trim %d: left %v, want %v", tc.n, got, tc.left)
		}
		if w.dropped != tc.dropped {
			t.Errorf("trim %d: counted %d", tc.n, w.dropped)
		}
		if errs := log.n[slog.LevelError]; errs != min(tc.dropped, 1) {
			t.Errorf("trim %d: %d error logs", tc.n, errs)
		}
	}
}

// enqueue keeps at most maxPending events queued: past it, the queue is trimmed to
// nine tenths.
func TestWriterEnqueueBound(t *testing.T) {
	w, _, _, _ := cjWriter(&cjBatches{}, nil)
	first := &item{events: cjEvents(1, maxPending, ClassRoutine)}
	if !w.enqueue(first) {
		t.Fatal("enqueue refused")
	}
	if len(first.events) != maxPending || w.pending != maxPending {
		t.Fatalf("at the bound: %d events kept, %d pending", len(first.events), w.pending)
	}
	second := &item{events: cjEvents(maxPending+1, 1, ClassRoutine)}
	w.enqueue(second)
	want := maxPending * 9 / 10
	if w.pending != want || len(first.events)+len(second.events) != want || first.events[0].Seq != uint64(maxPending-want+2) {
		t.Errorf("past the bound: %d pending, %d+%d kept from seq %d; want %d", w.pending, len(first.events),
			len(second.events), first.events[0].Seq, want)
	}
	if w.dropped != maxPending+1-want {
		t.Errorf("%d counted as dropped", w.dropped)
	}
	select {
	case <-w.wake:
	default:
		t.Error("the writer was not woken")
	}
	w.closing = true
	if w.enqueue(&item{}) {
		t.Error("enqueue accepted while closing")
	}
}

// commit writes only when something changed, numbers reports by their event's
// index in the batch, keeps a failed batch in memory (its reports held for the
// uplink) and writes it with the next, and says when storage fails and recovers.
func TestWriterCommit(t *testing.T) {
	j := &cjBatches{}
	d := &cjDurable{}
	q := NewReportQueue(d)
	w, ds, ss, log := cjWriter(j, q)

	// Nothing to write: no transaction, but the caller is answered.
	idle := &item{}
	w.commit([]*item{idle}, State{Name: Disarmed}, nil)
	if len(j.batches) != 0 || len(*ds) != 1 || (*ds)[0].items[0] != idle || (*ds)[0].storageErr != "" {
		t.Fatalf("an idle item: %d batches, deliveries %+v", len(j.batches), *ds)
	}
	// A state change alone is written.
	changed := &item{changed: true}
	w.commit([]*item{changed}, State{Name: ArmedNight}, nil)
	if len(j.batches) != 1 || j.batches[0].State.Name != ArmedNight || len(j.batches[0].Events) != 0 {
		t.Fatalf("a changed state: %+v", j.batches)
	}

	// Two items in one transaction: reports point at their event's index.
	a := &item{events: []Event{{Seq: 10, Class: ClassRoutine}, {Seq: 11, Class: ClassAlarm}},
		reports: []Report{{Seq: 5, Event: 11, Code: CodeFire}}}
	b := &item{events: []Event{{Seq: 12, Class: ClassAlarm}}, reports: []Report{{Seq: 6, Event: 12, Code: CodePanic}}}
	w.commit([]*item{a, b}, State{Name: Triggered, Mode: ModeNight}, nil)
	got := j.batches[1]
	if len(got.Events) != 3 || len(got.Reports) != 2 || got.Reports[0].Event != 1 || got.Reports[1].Event != 2 ||
		got.State.Mode != ModeNight {
		t.Fatalf("batch %+v", got)
	}

	// The disk fails: nothing written, the reports held for the uplink, the items
	// delivered from memory with the error, storage failing said once.
	j.fail = errors.New("disk full")
	c := &item{events: []Event{{Seq: 13, Class: ClassAlarm}}, reports: []Report{{Seq: 7, Event: 13, Code: CodeBurglary}}, changed: true}
	w.commit([]*item{c}, State{}, nil)
	e := &item{events: []Event{{Seq: 14, Class: ClassRoutine}}, changed: true}
	w.commit([]*item{e}, State{}, nil)
	if len(j.batches) != 2 || q.Held() != 1 || len(w.backlog) != 2 {
		t.Fatalf("while failing: %d batches, %d held, backlog %d", len(j.batches), q.Held(), len(w.backlog))
	}
	if n := len(*ds); (*ds)[n-1].storageErr != "disk full" || (*ds)[n-2].storageErr != "disk full" {
		t.Errorf("deliveries while failing: %+v", (*ds)[n-2:])
	}
	if len(*ss) != 1 || !(*ss)[0].failing || (*ss)[0].detail != "disk full" || log.n[slog.LevelError] != 1 {
		t.Errorf("storage calls %+v, %d error logs", *ss, log.n[slog.LevelError])
	}
	// The centre acknowledges the held report before it is written.
	if err := q.AckReport(7); err != nil || q.Held() != 0 {
		t.Fatalf("ack of a held report: %v, %d held", err, q.Held())
	}

	// The disk works again: the backlog and the new item in one transaction, the
	// acknowledged report left out, recovery said without a loss.
	j.fail = nil
	f := &item{events: []Event{{Seq: 15, Class: ClassRoutine}}}
	w.commit([]*item{f}, State{Name: Disarmed}, nil)
	last := j.batches[len(j.batches)-1]
	var seqs []uint64
	for _, ev := range last.Events {
		seqs = append(seqs, ev.Seq)
	}
	if !slices.Equal(seqs, []uint64{13, 14, 15}) || len(last.Reports) != 0 || len(w.backlog) != 0 {
		t.Errorf("recovery batch %v reports %+v backlog %d", seqs, last.Reports, len(w.backlog))
	}
	if len(*ss) != 2 || (*ss)[1].failing || (*ss)[1].detail != "the journal is written again" {
		t.Errorf("storage calls %+v", *ss)
	}
	if (*ds)[len(*ds)-1].items[0] != f || len((*ds)[len(*ds)-1].items) != 1 {
		t.Errorf("recovery delivered %+v", (*ds)[len(*ds)-1])
	}
	if q.acked(7) {
		t.Errorf("the acknowledgement mark of the skipped report was kept")
	}

	// Another failure, with a report the centre does not acknowledge in time: once
	// written, it leaves memory.
	j.fail = errors.New("disk full")
	g := &item{events: []Event{{Seq: 16, Class: ClassAlarm}}, reports: []Report{{Seq: 8, Event: 16, Code: CodePanic}}, changed: true}
	w.commit([]*item{g}, State{}, nil)
	if q.Held() != 1 {
		t.Fatalf("%d held while failing", q.Held())
	}
	j.fail = nil
	w.commit(nil, State{}, nil)
	last = j.batches[len(j.batches)-1]
	if len(last.Reports) != 1 || last.Reports[0].Seq != 8 || last.Reports[0].Event != 0 || q.Held() != 0 {
		t.Errorf("second recovery: reports %+v, %d still held", last.Reports, q.Held())
	}
}

// While the disk fails, the backlog is bounded like the queue, and the recovery
// tells how many events were lost.
func TestWriterBacklogBound(t *testing.T) {
	j := &cjBatches{fail: errors.New("io")}
	w, _, ss, _ := cjWriter(j, nil)
	w.commit([]*item{{events: cjEvents(1, maxPending, ClassRoutine)}}, State{}, nil)
	if n := len(w.backlog[0].events); n != maxPending || w.dropped != 0 {
		t.Fatalf("at the bound: %d kept, %d dropped", n, w.dropped)
	}
	w.commit([]*item{{events: cjEvents(maxPending+1, 1, ClassAlarm)}}, State{}, nil)
	kept := len(w.backlog[0].events) + len(w.backlog[1].events)
	if want := maxPending * 9 / 10; kept != want || w.dropped != maxPending+1-want {
		t.Fatalf("past the bound: %d kept, %d dropped; want %d", kept, w.dropped, want)
	}
	j.fail = nil
	w.commit(nil, State{}, nil)
	want := "the journal is written again; 2001 events could not be kept"
	if len(*ss) != 2 || (*ss)[1].detail != want || w.dropped != 0 {
		t.Errorf("storage calls %+v, dropped %d", *ss, w.dropped)
	}
	if len(j.batches) != 1 || len(j.batches[0].Events) != maxPending*9/10 {
		t.Errorf("%d batches", len(j.batches))
	}
}

// ---- the report queue ----

// cjDurable is a durable outbox in memory whose reads, deletes and counts can fail.
type cjDurable struct {
	mu                         sync.Mutex
	reports                    []Report
	failRead, failAck, failLen error
	acks                       []uint64
}

func (d *cjDurable) Outbox(limit int) ([]Report, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failRead != nil {
		return nil, d.failRead
	}
	rs := slices.Clone(d.reports)
	if limit > 0 && len(rs) > limit {
		rs = rs[:limit]
	}
	return rs, nil
}

func (d *cjDurable) AckReport(seq uint64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.acks = append(d.acks, seq)
	if d.failAck != nil {
		return d.failAck
	}
	d.reports = slices.DeleteFunc(d.reports, func(r Report) bool { return r.Seq == seq })
	return nil
}

func (d *cjDurable) OutboxLen() (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failLen != nil {
		return 0, d.failLen
	}
	return len(d.reports), nil
}

func cjReportSeqs(rs []Report) []uint64 {
	var s []uint64
	for _, r := range rs {
		s = append(s, r.Seq)
	}
	return s
}

func TestReportQueue(t *testing.T) {
	d := &cjDurable{reports: []Report{{Seq: 2}, {Seq: 4}, {Seq: 6}}}
	q := NewReportQueue(d)
	q.hold(nil)
	if q.Held() != 0 {
		t.Fatal("holding nothing held something")
	}
	// Held reports (one also stored: read twice, offered once) merge in order.
	q.hold([]Report{{Seq: 5}, {Seq: 3}, {Seq: 4}})
	all, err := q.Outbox(0)
	if err != nil || !slices.Equal(cjReportSeqs(all), []uint64{2, 3, 4, 5, 6}) {
		t.Fatalf("outbox %v %v", cjReportSeqs(all), err)
	}
	if some, _ := q.Outbox(2); !slices.Equal(cjReportSeqs(some), []uint64{2, 3}) {
		t.Errorf("outbox(2) %v", cjReportSeqs(some))
	}
	if some, _ := q.Outbox(5); len(some) != 5 {
		t.Errorf("outbox(5) %v", cjReportSeqs(some))
	}
	if n, err := q.OutboxLen(); n != 6 || err != nil {
		t.Errorf("len %d %v, want 6 (3 held, 3 stored)", n, err)
	}

	// The durable outbox cannot be read: the held reports still go out.
	d.failRead = errors.New("read")
	if rs, err := q.Outbox(0); err != nil || !slices.Equal(cjReportSeqs(rs), []uint64{3, 4, 5}) {
		t.Errorf("outbox with a failing disk: %v %v", cjReportSeqs(rs), err)
	}
	d.failLen = errors.New("len")
	if n, err := q.OutboxLen(); n != 3 || err != nil {
		t.Errorf("len with a failing disk: %d %v", n, err)
	}

	// Acknowledging a held report removes it from memory and marks it.
	if err := q.AckReport(5); err != nil || q.Held() != 2 || !q.acked(5) || len(d.acks) != 0 {
		t.Errorf("ack held: %v held %d acked %v disk acks %v", err, q.Held(), q.acked(5), d.acks)
	}
	q.forgetAcked([]uint64{5})
	if q.acked(5) {
		t.Error("forgetAcked kept the mark")
	}
	// Once written, held reports leave memory; acknowledged ones are deleted.
	q.AckReport(3)
	d.failRead, d.failLen = nil, nil
	q.written([]uint64{3, 4})
	if q.Held() != 0 || !slices.Equal(d.acks, []uint64{3}) || q.acked(3) {
		t.Errorf("after written: %d held, disk acks %v", q.Held(), d.acks)
	}

	// Nothing held and the disk unreadable: the error.
	d.failRead, d.failLen = errors.New("read"), errors.New("len")
	if _, err := q.Outbox(0); err == nil {
		t.Error("no error from an unreadable disk with nothing held")
	}
	if _, err := q.OutboxLen(); err == nil {
		t.Error("no length error from an unreadable disk with nothing held")
	}
	d.failRead, d.failLen = nil, nil

	// A stored report whose deletion fails is hidden, not offered again, and
	// deleted after the next write of held reports.
	d.failAck = errors.New("read-only")
	if err := q.AckReport(2); err != nil {
		t.Errorf("a failed deletion is not the uplink's problem: %v", err)
	}
	if rs, _ := q.Outbox(0); !slices.Equal(cjReportSeqs(rs), []uint64{4, 6}) {
		t.Errorf("outbox after a failed deletion: %v", cjReportSeqs(rs))
	}
	if n, _ := q.OutboxLen(); n != 2 {
		t.Errorf("len after a failed deletion: %d, want 2", n)
	}
	q.written(nil) // still failing: kept for later
	d.failAck = nil
	q.written(nil)
	if rs, _ := q.Outbox(0); !slices.Equal(cjReportSeqs(rs), []uint64{4, 6}) || len(d.reports) != 2 || len(q.deletes) != 0 {
		t.Errorf("after the retried deletion: outbox %v, stored %v, pending deletes %v", cjReportSeqs(rs), d.reports, q.deletes)
	}
}

// A wrong credential is logged with what kind it was, never with the secret.
func TestHubWrongCredentialsLogged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := &cjJournal{}
		h, stop := cjStart(t, Options{Config: cjConfig(t), Journal: j, Verifier: &Verifier{}})
		defer stop()
		ctx := context.Background()
		for c, want := range map[Credential]string{
			{Code: "000000"}:                     "wrong PIN",
			{Tag: "fob-x"}:                       "unknown tag",
			{UserID: "alice", Password: "guess"}: "password for alice",
		} {
			if err := h.Do(ctx, Request{Kind: CmdArm, Mode: ModeNight, Cred: c, Via: ViaWeb, Device: "10.0.0.9"}); KindOf(err) != ErrBadCode {
				t.Errorf("%+v: %v", c, err)
			}
			j.mu.Lock()
			e := j.events[len(j.events)-1]
			j.mu.Unlock()
			if e.Type != EvCodeRejected || e.Detail != want || e.Who != (Actor{Device: "10.0.0.9", Via: ViaWeb}) {
				t.Errorf("%+v: logged %+v, want detail %q", c, e, want)
			}
		}
	})
}

// Post applies its input at once but, while the journal is highWater events or
// more behind, waits for the writer to take the queue: a flooding device is slowed
// down, not its events dropped.
func TestHubPostBackPressure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := &cjJournal{}
		h, stop := cjStart(t, Options{Config: coreConfig(), Journal: j})
		defer stop()
		ctx := context.Background()
		gate := make(chan struct{})
		j.mu.Lock()
		j.gate = gate
		j.mu.Unlock()
		if err := h.Post(ctx, open_("window")); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the writer took it and waits in Commit
		const n = highWater + 10
		var returned atomic.Int64
		go func() {
			for i := range n {
				sig := SigClose
				if i%2 == 1 {
					sig = SigOpen
				}
				if err := h.Post(ctx, Sensor{Zone: "window", Signal: sig}); err != nil {
					t.Error(err)
				}
				returned.Add(1)
			}
		}()
		synctest.Wait()
		if got := returned.Load(); got != highWater-1 {
			t.Errorf("%d posts returned while the journal is stuck, want %d", got, highWater-1)
		}
		close(gate)
		synctest.Wait()
		if got := returned.Load(); got != n {
			t.Errorf("%d posts returned after the journal caught up, want %d", got, n)
		}
		_, types, _ := j.snapshot()
		zone := 0
		for _, typ := range types {
			if typ == string(EvZoneOpen) || typ == string(EvZoneClosed) {
				zone++
			}
		}
		if zone != n+1 {
			t.Errorf("%d zone events stored, want %d", zone, n+1)
		}
	})
}

// Inputs posted from many goroutines at once are each applied exactly once, in the
// order each goroutine posted them.
func TestHubConcurrentPostsExactlyOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := &cjJournal{}
		h, stop := cjStart(t, Options{Config: coreConfig(), Journal: j})
		ctx := context.Background()
		const posters, each = 8, 400
		var wg sync.WaitGroup
		for g := range posters {
			wg.Go(func() {
				for i := range each {
					in := TestReport{Manual: true, Who: Actor{UserNum: g*each + i, Device: "g", Via: ViaAPI}}
					var err error
					if i%3 == 0 {
						err = h.Input(ctx, in)
					} else {
						err = h.Post(ctx, in)
					}
					if err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		j.mu.Lock()
		defer j.mu.Unlock()
		seen := make([]int, posters*each)
		last := make([]int, posters)
		for g := range last {
			last[g] = -1
		}
		for _, e := range j.events {
			if e.Type != EvManualTest {
				continue
			}
			n := e.Who.UserNum
			seen[n]++
			g, i := n/each, n%each
			if i <= last[g] {
				t.Errorf("poster %d: input %d stored after input %d", g, i, last[g])
			}
			last[g] = i
		}
		for n, c := range seen {
			if c != 1 {
				t.Errorf("input %d of poster %d stored %d times", n%each, n/each, c)
			}
		}
	})
}

// cjSlowOutputs blocks the first switching of the sounder until released.
type cjSlowOutputs struct {
	once    sync.Once
	release chan struct{}
}

func (o *cjSlowOutputs) Set(kind OutputKind, _, _ bool) {
	if kind == OutputSounder {
		o.once.Do(func() { <-o.release })
	}
}

// The back-pressure counts the inputs waiting to be applied: a Post whose input
// waits behind another goroutine's is held back when the queue and the waiting
// inputs together reach highWater.
func TestHubBackPressureCountsWaitingInputs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := &cjJournal{}
		o := &cjSlowOutputs{release: make(chan struct{})}
		h, stop := cjStart(t, Options{Config: coreConfig(), Journal: j, Outputs: o})
		defer stop()
		ctx := context.Background()
		gate := make(chan struct{})
		j.mu.Lock()
		j.gate = gate
		j.mu.Unlock()
		if err := h.Post(ctx, open_("window")); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the writer waits in Commit; the queue is empty
		for i := range highWater - 1 {
			sig := SigClose
			if i%2 == 1 {
				sig = SigOpen
			}
			if err := h.Post(ctx, Sensor{Zone: "window", Signal: sig}); err != nil {
				t.Fatal(err)
			}
		}
		// highWater-1 events queued. A fire alarm is being applied, its sounder slow
		// to switch; meanwhile another input waits behind it.
		go func() { _ = h.Post(ctx, open_("smoke")) }()
		synctest.Wait()
		var returned atomic.Bool
		go func() { _ = h.Post(ctx, open_("door")); returned.Store(true) }()
		synctest.Wait()
		if returned.Load() {
			t.Errorf("a Post returned with highWater-1 events queued and its own input waiting")
		}
		close(o.release)
		close(gate)
		synctest.Wait()
		if !returned.Load() {
			t.Errorf("the Post did not return after the journal caught up")
		}
	})
}

// Only an account named in arm_without_code, only to arm and without force, gets
// past Do without a credential; the event names the device it came from.
func TestHubArmWithoutCodeByAccount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := &cjJournal{}
		cfg := cjConfig(t)
		cfg.Settings.ArmWithoutCode = []string{"homeassistant"}
		h, stop := cjStart(t, Options{Config: cfg, Journal: j, Verifier: &Verifier{}})
		defer stop()
		ctx := context.Background()
		_, before, _ := j.snapshot()
		req := func(k CommandKind, force bool, account string) Request {
			return Request{Kind: k, Mode: ModeNight, Force: force, Via: ViaMQTT, Device: "ha", Account: account}
		}
		for _, tc := range []struct {
			name string
			r    Request
			want ErrorKind
		}{
			{"an account not named", req(CmdArm, false, "other"), ErrBadCode},
			{"no account", req(CmdArm, false, ""), ErrBadCode},
			{"forced", req(CmdArm, true, "homeassistant"), ErrBadCode},
			{"arm", req(CmdArm, false, "homeassistant"), ""},
			{"disarm", req(CmdDisarm, false, "homeassistant"), ErrBadCode},
		} {
			if err := h.Do(ctx, tc.r); KindOf(err) != tc.want {
				t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
			}
		}
		synctest.Wait()
		_, types, st := j.snapshot()
		if got := types[len(before):]; !slices.Equal(got, []string{string(EvArmed)}) {
			t.Errorf("events %v, want one armed", got)
		}
		if st.Name != ArmedNight || st.ArmedBy != (Actor{Device: "ha", Via: ViaMQTT}) {
			t.Errorf("state %s armed by %+v", st.Name, st.ArmedBy)
		}
	})
}

// With a CommitDelay, what is posted while the writer waits shares its transaction;
// without one, each input is committed as soon as the writer wakes.
func TestHubCommitDelayGathers(t *testing.T) {
	for _, tc := range []struct {
		delay   time.Duration
		commits int
	}{{0, 2}, {time.Millisecond, 1}} {
		synctest.Test(t, func(t *testing.T) {
			j := &cjJournal{}
			h, stop := cjStart(t, Options{Config: coreConfig(), Journal: j, CommitDelay: tc.delay})
			defer stop()
			ctx := context.Background()
			before, started, _ := j.snapshot()
			if err := h.Post(ctx, open_("window")); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			time.Sleep(tc.delay / 2)
			if err := h.Post(ctx, open_("door")); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			time.Sleep(tc.delay)
			synctest.Wait()
			n, types, _ := j.snapshot()
			if types = types[len(started):]; n-before != tc.commits || !slices.Equal(types, []string{string(EvZoneOpen), string(EvZoneOpen)}) {
				t.Errorf("delay %s: %d commits of %v, want %d of two zone_open", tc.delay, n-before, types, tc.commits)
			}
		})
	}
}
