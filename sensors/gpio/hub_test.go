package gpio

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"vakt/hub"
	"vakt/hub/output"
	"vakt/storage"
)

// rig is the alarm path with GPIO at both ends: a fake chip, the zone adapter, a
// real hub journaling to a real bbolt file, a real output keeper and the GPIO
// output driver.
type rig struct {
	f     *Fake
	h     *hub.Hub
	store *storage.Store
	stop  func()
}

func newRig(tb testing.TB, extra map[string]ZoneBinding, prep func(*Fake)) *rig {
	tb.Helper()
	return newRigAt(tb, filepath.Join(tb.TempDir(), "vakt.db"), extra, prep)
}

// newRigAt is newRig on the database at path, resuming the state stored there.
func newRigAt(tb testing.TB, path string, extra map[string]ZoneBinding, prep func(*Fake)) *rig {
	tb.Helper()
	s := hub.DefaultSettings()
	s.ExitDelay[hub.ModeAway] = 0
	cfg := hub.Config{Settings: s,
		Zones: []hub.Zone{
			{ID: "door", Name: "Front door", Number: 1, Type: hub.ZonePerimeter},
			{ID: "key", Name: "Keyswitch", Number: 2, Type: hub.ZoneKeyswitch},
		},
		Outputs: []hub.Output{{ID: "siren", Name: "Siren", Kind: hub.OutputSiren}},
	}
	if err := cfg.Validate(); err != nil {
		tb.Fatal(err)
	}
	st, err := storage.Open(path, storage.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	var resumed *hub.State
	if state, ok, err := st.LoadState(); err != nil {
		tb.Fatal(err)
	} else if ok {
		resumed = &state
	}
	f := header()
	outs, err := NewOutputs(f, map[string]OutputBinding{"siren": {Pin: Pin{Line: "27", ActiveLow: true}}}, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	k := output.New(cfg.Outputs, output.Options{Driver: outs, Feedback: outs.HasFeedback})
	h := hub.New(hub.Options{Config: cfg, State: resumed, Journal: st, Outputs: k, CommitDelay: 200 * time.Microsecond})
	k.SetHub(h)
	bindings := map[string]ZoneBinding{
		"door": {Pin: Pin{Line: "17"}, Bias: BiasPullUp},
		"key":  {Pin: Pin{Line: "5", ActiveLow: true}, Bias: BiasPullUp, Means: Keyswitch},
	}
	maps.Copy(bindings, extra)
	zones, err := NewZones(f, bindings, h, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	f.Set("gpiochip0", "17", false) // door closed
	f.Set("gpiochip0", "5", true)   // keyswitch off
	if prep != nil {
		prep(f)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var done []chan struct{}
	goRun := func(run func() error) {
		d := make(chan struct{})
		done = append(done, d)
		go func() {
			defer close(d)
			if err := run(); err != nil {
				tb.Error(err)
			}
		}()
	}
	goRun(func() error { return h.Run(ctx) })
	goRun(func() error { return k.Run(ctx) })
	goRun(func() error { return outs.Run(ctx, k) })
	goRun(func() error { return zones.Run(ctx) })
	return &rig{f: f, h: h, store: st, stop: func() {
		cancel()
		for _, d := range done {
			<-d
		}
		k.Stop()
		if err := outs.Close(); err != nil {
			tb.Error(err)
		}
		if err := st.Close(); err != nil {
			tb.Error(err)
		}
	}}
}

// sirenOn reports whether the siren's relay line is at its active (low) level.
func (r *rig) sirenOn() bool { return !r.f.Level("gpiochip0", "27") }

// A maintained keyswitch arms and disarms through the hub as the keyswitch; a
// door contact's edge while armed sounds the siren on its relay line; the
// journal on disk has every event.
func TestGPIOThroughHub(t *testing.T) {
	r := newRig(t, nil, nil)
	defer r.stop()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var last uint64
	// await checks the events committed since the last look: an input after the
	// edges (a tick) is applied after them and committed with them.
	await := func(want ...string) {
		t.Helper()
		if err := r.h.Input(ctx, hub.Tick{}); err != nil {
			t.Fatal(err)
		}
		events, _, err := r.store.Events(storage.EventQuery{After: last, Ascending: true})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range events {
			got = append(got, fmt.Sprintf("%s %s %s %s", e.Type, e.Zone, e.State, e.Who.Via))
			last = e.Seq
		}
		equal(t, "events", got, want)
	}
	for !r.f.Requested("gpiochip0", "5") || !r.f.Requested("gpiochip0", "17") {
		runtime.Gosched()
	}
	await("restart  disarmed system")

	r.f.Edge("gpiochip0", "5", false) // key turned on
	await("zone_open key disarmed sensor", "armed  armed_away keyswitch")
	if r.sirenOn() {
		t.Fatal("siren on after arming")
	}
	r.f.Edge("gpiochip0", "17", true) // door opens
	// The edge's goroutine applies it at once, or, when the journal writer holds
	// the hub at that moment, the writer applies it right after: wait for either.
	for !r.sirenOn() {
		if ctx.Err() != nil {
			t.Fatal("siren off after the door opened")
		}
		runtime.Gosched()
	}
	await("zone_open door armed_away sensor", "alarm door triggered sensor")
	r.f.Edge("gpiochip0", "5", true) // key turned off
	await("zone_closed key triggered sensor", "alarm_cancel door triggered keyswitch", "disarmed  disarmed keyswitch")
	if r.sirenOn() {
		t.Fatal("siren on after disarming")
	}
}

// A mains-fail line and a door line held by another program: the mains fault and
// the door's offline are in the journal and keep the system from arming; both
// restore when the lines are back.
func TestGPIOTroublesThroughHub(t *testing.T) {
	r := newRig(t, map[string]ZoneBinding{"psu": {Pin: Pin{Line: "6"}, Means: MainsFail}}, func(f *Fake) {
		f.Set("gpiochip0", "6", true) // mains lost
		f.Hold("gpiochip0", "17", "gpioset")
	})
	defer r.stop()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := r.h.Input(ctx, hub.Tick{}); err != nil { // snapshots are copies from the first commit on
		t.Fatal(err)
	}
	for !r.h.Snapshot().State.Zones["door"].Offline { // posted after the first reading
		runtime.Gosched()
	}
	var last uint64
	events := func() []string {
		t.Helper()
		if err := r.h.Input(ctx, hub.Tick{}); err != nil {
			t.Fatal(err)
		}
		es, _, err := r.store.Events(storage.EventQuery{After: last, Ascending: true})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range es {
			got = append(got, strings.TrimSpace(fmt.Sprintf("%s %s %s", e.Type, e.Zone, e.Detail)))
			last = e.Seq
		}
		return got
	}
	equal(t, "at start", events(), []string{"restart  resumed in state disarmed", "fault  mains:psu: mains power lost", "device_offline door"})
	err := r.h.Input(ctx, hub.Command{Kind: hub.CmdArm, Mode: hub.ModeAway, Who: hub.Actor{Via: hub.ViaSystem}})
	var he *hub.Error
	if !errors.As(err, &he) || he.Kind != hub.ErrNotReady || he.Error() != "not ready to arm away: door: offline, mains_failed" {
		t.Fatalf("arm: %v", err)
	}
	equal(t, "arm refused", events(), []string{"arm_refused"})

	r.f.Release("gpiochip0", "17")
	r.f.Edge("gpiochip0", "6", false)
	for r.h.Snapshot().State.Zones["door"].Offline { // requested again at the next re-read
		runtime.Gosched()
	}
	if err := r.h.Input(ctx, hub.Command{Kind: hub.CmdArm, Mode: hub.ModeAway, Who: hub.Actor{Via: hub.ViaSystem}}); err != nil {
		t.Fatalf("arm: %v", err)
	}
	equal(t, "back", events(), []string{"fault_restore  mains:psu: mains power back", "device_online door", "armed"})
	// The mains came back well within the mains report delay: the centre hears
	// of the restart, the door's offline and online, and the arming, not of the mains.
	equal(t, "reports", outbox(t, r.store), []string{"1305 zone=0", "1381 zone=1", "3381 zone=1", "3401 zone=0"})
}

// outbox lists the reports queued for the monitoring centre.
func outbox(t *testing.T, st *storage.Store) []string {
	t.Helper()
	rs, err := st.Outbox(100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rs {
		got = append(got, fmt.Sprintf("%d%03d zone=%d", r.Qualifier, r.Code, r.Zone))
	}
	return got
}

// A zone offline and a trouble line's fault, stored before a restart, are
// restored after it when the lines work: availability is posted as a level.
func TestGPIORestartRestoresAvailability(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vakt.db")
	extra := map[string]ZoneBinding{"psu": {Pin: Pin{Line: "6"}, Means: MainsFail}}
	r := newRigAt(t, path, extra, func(f *Fake) {
		f.Hold("gpiochip0", "17", "gpioset")
		f.Hold("gpiochip0", "6", "gpioset")
	})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	// The hub's snapshot before its first commit shares the live state: read
	// snapshots only after a commit.
	if err := r.h.Input(ctx, hub.Tick{}); err != nil {
		t.Fatal(err)
	}
	for !r.h.Snapshot().State.Zones["door"].Offline || !r.h.Snapshot().State.Faults[hub.FaultID{Kind: hub.FaultPowerInput, Subject: "psu"}] {
		runtime.Gosched()
	}
	if err := r.h.Input(ctx, hub.Tick{}); err != nil { // committed
		t.Fatal(err)
	}
	r.stop()

	r = newRigAt(t, path, extra, nil)
	defer r.stop()
	if err := r.h.Input(ctx, hub.Tick{}); err != nil {
		t.Fatal(err)
	}
	for r.h.Snapshot().State.Zones["door"].Offline || r.h.Snapshot().State.Faults[hub.FaultID{Kind: hub.FaultPowerInput, Subject: "psu"}] {
		runtime.Gosched()
	}
	if err := r.h.Input(ctx, hub.Tick{}); err != nil {
		t.Fatal(err)
	}
	es, _, err := r.store.Events(storage.EventQuery{Ascending: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, strings.TrimSpace(fmt.Sprintf("%s %s %s", e.Type, e.Zone, e.Detail)))
	}
	equal(t, "events", got, []string{
		"restart  resumed in state disarmed",
		"device_offline door",
		"fault  gpio:psu: cannot request line gpiochip0:6: gpio: request gpiochip0:6: line busy",
		"restart  resumed in state disarmed",
		"device_online door",
		"fault_restore  gpio:psu: line usable",
	})
	equal(t, "reports", outbox(t, r.store), []string{"1305 zone=0", "1381 zone=1", "1330 zone=0", "1305 zone=0", "3381 zone=1", "3330 zone=0"})
}

// BenchmarkEdgeToSiren measures the alarm path in process: from a GPIO edge on
// the fake chip (the kernel's event at the end of the debounce period) to the
// siren's relay line at its active level (the moment the line is written),
// through the zone adapter, a real hub
// (journal on a real bbolt file) and a real output keeper.
func BenchmarkEdgeToSiren(b *testing.B) {
	r := newRig(b, nil, nil)
	defer r.stop()
	ctx := context.Background()
	for !r.f.Requested("gpiochip0", "17") {
		runtime.Gosched()
	}
	arm := func() {
		if err := r.h.Input(ctx, hub.Command{Kind: hub.CmdArm, Mode: hub.ModeAway, Who: hub.Actor{Via: hub.ViaSystem}}); err != nil {
			b.Fatal(err)
		}
	}
	arm()
	lat := make([]time.Duration, 0, 1024)
	for b.Loop() {
		t0 := time.Now()
		r.f.Edge("gpiochip0", "17", true)
		for !r.sirenOn() { // applied by the journal writer if it held the actor just then
			runtime.Gosched()
		}
		lat = append(lat, r.f.Changed("gpiochip0", "27").Sub(t0))
		b.StopTimer()
		if err := r.h.Input(ctx, hub.Command{Kind: hub.CmdDisarm, Who: hub.Actor{Via: hub.ViaSystem}}); err != nil {
			b.Fatal(err)
		}
		r.f.Edge("gpiochip0", "17", false)
		arm()
		if r.sirenOn() {
			b.Fatal("siren on after disarming")
		}
		b.StartTimer()
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Nanoseconds()) / 1e3 }
	b.ReportMetric(q(0.50), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
}

// nopHub takes inputs and does nothing.
type nopHub struct{}

func (nopHub) Post(context.Context, hub.Input) error { return nil }

// BenchmarkEdgeToPost measures the adapter's own part of the alarm path: from
// the edge on the fake chip to the hub's Post.
func BenchmarkEdgeToPost(b *testing.B) {
	f := header()
	z, err := NewZones(f, map[string]ZoneBinding{"door": {Pin: Pin{Line: "17"}}}, nopHub{}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = z.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	for !f.Requested("gpiochip0", "17") {
		runtime.Gosched()
	}
	high := false
	for b.Loop() {
		high = !high
		f.Edge("gpiochip0", "17", high)
	}
}
