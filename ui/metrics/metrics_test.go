package metrics

import (
	"context"
	"io"
	"maps"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"vakt/hub"
	"vakt/hub/uplink"
	"vakt/storage"

	dto "github.com/prometheus/client_model/go"
)

type nopOutputs struct{}

func (nopOutputs) Set(hub.OutputKind, bool, bool) {}

var cheap = hub.HashParams{Memory: 64, Time: 1, Threads: 1}

// scrape returns the vakt_ lines of the metrics, histogram buckets, sums and the
// commits' counts left out: timings, and how inputs shared transactions, vary
// from run to run. The events written, in all, do not.
func scrape(t *testing.T, m *Metrics) []string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	var out []string
	for _, l := range strings.Split(string(body), "\n") {
		if l == "" || l[0] == '#' || !strings.HasPrefix(l, "vakt_") || strings.Contains(l, "_bucket{") ||
			strings.HasPrefix(l, "vakt_journal_commit_seconds") || strings.HasPrefix(l, "vakt_journal_commit_events_count") {
			continue
		}
		if strings.HasSuffix(strings.Fields(l)[0], "_sum") && !strings.HasPrefix(l, "vakt_journal_commit_events_sum") {
			continue
		}
		out = append(out, l)
	}
	return out
}

// A real hub on a real store: the scrape shows the state, the zones, readiness,
// faults, the uplink's paths, the events by type (the duress not among them) and
// how many inputs switched outputs and how many commits there were.
func TestMetrics(t *testing.T) {
	store, err := storage.Open(filepath.Join(t.TempDir(), "vakt.db"), storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	pin, _ := hub.HashSecret("111111", cheap)
	duress, _ := hub.HashSecret("999111", cheap)
	s := hub.DefaultSettings()
	s.ExitDelay = map[hub.Mode]hub.Duration{hub.ModeAway: 0, hub.ModeHome: 0, hub.ModeNight: 0, hub.ModeVacation: 0}
	cfg := hub.Config{Settings: s,
		Zones:   []hub.Zone{{ID: "hall", Name: "Hall", Number: 1, Type: hub.ZoneInstant}},
		Users:   []hub.User{{ID: "alice", Name: "Alice", Number: 1, Role: hub.RoleAdmin, PINHash: pin, DuressHash: duress}},
		Outputs: []hub.Output{{ID: "siren", Name: "Siren", Kind: hub.OutputSiren}}}
	m := New(func() []uplink.PathStatus {
		return []uplink.PathStatus{{Name: "primary", State: uplink.StateOK, Queue: 2}, {Name: "backup", State: uplink.StateLost}}
	})
	h := hub.New(hub.Options{Config: cfg, Journal: store, Outputs: nopOutputs{}, Metrics: m, Location: time.UTC})
	m.SetHub(h)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = h.Run(ctx) })
	wg.Go(func() { _ = m.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()

	for _, in := range []hub.Input{hub.Tick{}, hub.Fault{ID: hub.FaultID{Kind: hub.FaultMains, Subject: "psu"}, Active: true}} {
		if err := h.Input(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	do := func(k hub.CommandKind, code string) {
		if err := h.Do(ctx, hub.Request{Kind: k, Mode: hub.ModeAway, Force: true, Cred: hub.Credential{Code: code}, Via: hub.ViaKeypad, Device: "kp"}); err != nil {
			t.Fatal(err)
		}
	}
	do(hub.CmdArm, "111111")
	if err := h.Input(ctx, hub.Sensor{Zone: "hall", Signal: hub.SigOpen}); err != nil {
		t.Fatal(err)
	}
	do(hub.CmdDisarm, "999111")
	want := []string{
		`vakt_events_total{type="alarm"} 1`,
		`vakt_events_total{type="alarm_cancel"} 1`,
		`vakt_events_total{type="arm_forced"} 1`,
		`vakt_events_total{type="armed"} 1`,
		`vakt_events_total{type="disarmed"} 1`,
		`vakt_events_total{type="fault"} 1`,
		`vakt_events_total{type="restart"} 1`,
		`vakt_events_total{type="zone_open"} 1`,
		`vakt_fault_active{fault="mains:psu"} 1`,
		`vakt_input_to_outputs_seconds_count 2`,
		`vakt_journal_commit_events_sum 9`, // the duress event too
		`vakt_journal_commit_failures_total 0`,
		`vakt_ready{mode="away"} 0`, `vakt_ready{mode="home"} 0`, `vakt_ready{mode="night"} 0`, `vakt_ready{mode="vacation"} 0`,
		`vakt_state{state="armed_away"} 0`, `vakt_state{state="armed_home"} 0`, `vakt_state{state="armed_night"} 0`,
		`vakt_state{state="armed_vacation"} 0`, `vakt_state{state="arming"} 0`, `vakt_state{state="disarmed"} 1`,
		`vakt_state{state="pending"} 0`, `vakt_state{state="triggered"} 0`,
		`vakt_uplink_path_up{path="backup"} 0`, `vakt_uplink_path_up{path="primary"} 1`,
		`vakt_uplink_queue{path="backup"} 0`, `vakt_uplink_queue{path="primary"} 2`,
		`vakt_zone{condition="bypassed",zone="hall"} 0`, `vakt_zone{condition="isolated",zone="hall"} 0`,
		`vakt_zone{condition="low_battery",zone="hall"} 0`, `vakt_zone{condition="offline",zone="hall"} 0`,
		`vakt_zone{condition="open",zone="hall"} 1`, `vakt_zone{condition="tamper",zone="hall"} 0`,
	}
	var got []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if got = scrape(t, m); slices.Equal(got, want) {
			return
		}
		runtimeGosched()
	}
	t.Fatalf("scrape:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
}

// runtimeGosched lets the counting goroutine run between two scrapes.
func runtimeGosched() { <-time.After(time.Millisecond) }

// fakeHub hands out the subscriptions of subs in turn; the test closes one to
// play the hub dropping a slow subscriber. After the last it closes drained and
// hands out one that stays open.
type fakeHub struct {
	mu      sync.Mutex
	subs    []chan hub.Update
	drained chan struct{}
}

func (f *fakeHub) Snapshot() *hub.Snapshot { return nil }

func (f *fakeHub) Subscribe(int) (<-chan hub.Update, func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.subs) == 0 {
		close(f.drained)
		return make(chan hub.Update), func() {}
	}
	ch := f.subs[0]
	f.subs = f.subs[1:]
	return ch, func() {}
}

// After the hub dropped its subscription, Run counts the events it missed from
// the journal: every event of this run once, none from before it.
func TestEventsCountedAfterADrop(t *testing.T) {
	store, err := storage.Open(filepath.Join(t.TempDir(), "vakt.db"), storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	types := []hub.EventType{hub.EvTamper, hub.EvPanic, hub.EvAlarm, hub.EvArmed, hub.EvDisarmed, hub.EvFault, hub.EvRestart}
	ev := func(seq uint64) hub.Event {
		return hub.Event{Seq: seq, Time: time.Unix(int64(seq), 0), Type: types[seq-1], Class: hub.ClassRoutine}
	}
	commit := func(seqs ...uint64) {
		t.Helper()
		var b hub.Batch
		for _, s := range seqs {
			b.Events = append(b.Events, ev(s))
		}
		if _, _, err := store.Commit(b); err != nil {
			t.Fatal(err)
		}
	}
	commit(1, 2) // before the start
	first, second := make(chan hub.Update, 4), make(chan hub.Update, 4)
	m := New(nil)
	fh := &fakeHub{subs: []chan hub.Update{first, second}, drained: make(chan struct{})}
	m.SetHub(fh)
	if err := m.ReadBackFrom(store); err != nil {
		t.Fatal(err)
	}
	commit(3, 4, 5, 6)
	first <- hub.Update{Events: []hub.Event{ev(3), ev(4)}}
	close(first) // 5 and 6 were in updates the hub dropped
	second <- hub.Update{Events: []hub.Event{ev(6), ev(7)}}
	close(second) // then Run subscribes a third time: all is counted
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = m.Run(ctx); close(done) }()
	<-fh.drained
	cancel()
	<-done
	got := map[string]float64{}
	for _, ty := range types {
		var c dto.Metric
		if err := m.events.WithLabelValues(string(ty)).Write(&c); err != nil {
			t.Fatal(err)
		}
		if v := c.GetCounter().GetValue(); v != 0 {
			got[string(ty)] = v
		}
	}
	want := map[string]float64{"alarm": 1, "armed": 1, "disarmed": 1, "fault": 1, "restart": 1}
	if !maps.Equal(got, want) {
		t.Errorf("counted %v, want %v", got, want)
	}
}
