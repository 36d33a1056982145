//go:build gpiosim && linux

// Tests against the kernel's gpio-sim driver: run by scripts/gpio-vm-test in a
// VM (build tag gpiosim). They use real time, as the kernel's debounce does.

package gpio

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/warthog618/go-gpiocdev"
	"github.com/warthog618/go-gpiosim"

	"vakt/hub"
	"vakt/hub/output"
	"vakt/storage"
)

func TestMain(m *testing.M) {
	s, err := gpiosim.NewSimpleton(4)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gpio-sim:", err)
		os.Exit(1)
	}
	os.Setenv("VAKT_GPIO_TEST_CHIP", s.ChipName())
	code := m.Run()
	s.Close()
	os.Exit(code)
}

// waitPosts waits until p holds n inputs (or 5s) and returns them; then it
// checks that nothing more comes for quiet.
func waitPosts(t *testing.T, p *posted, n int, quiet time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var got []string
	for len(got) < n && time.Now().Before(deadline) {
		got = append(got, p.take()...)
		<-time.After(time.Millisecond)
	}
	<-time.After(quiet)
	return append(got, p.take()...)
}

func TestSimZonesAndOutputs(t *testing.T) {
	s, err := gpiosim.NewSimpleton(8)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	chip := s.ChipName()
	other, err := gpiocdev.RequestLine(chip, 3, gpiocdev.WithConsumer("other"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	p := &posted{}
	z, err := NewZones(Cdev{}, map[string]ZoneBinding{
		"door": {Pin: Pin{Chip: chip, Line: "1"}, Bias: BiasPullUp},
		"key":  {Pin: Pin{Chip: chip, Line: "2", ActiveLow: true}, Bias: BiasPullUp, Means: Keyswitch},
		"lid":  {Pin: Pin{Chip: chip, Line: "3"}, Means: Tamper},
		"psu":  {Pin: Pin{Chip: chip, Line: "4"}, Bias: BiasPullDown, Means: MainsFail},
	}, p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- z.Run(ctx) }()
	defer func() { cancel(); <-done }()

	// Pull-up bias: the door's contact is open until the simulator pulls it low.
	equal(t, "at start", waitPosts(t, p, 7, 100*time.Millisecond), []string{
		"door open",
		"key close",
		"fault mains:psu=false (mains power back)",
		"door online",
		"key online",
		"lid offline",
		"fault gpio:psu=false (line usable)",
	})

	set := func(line, level int) {
		t.Helper()
		if err := s.SetPull(line, level); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	set(1, 0)
	got := waitPosts(t, p, 1, 100*time.Millisecond)
	if took := time.Since(start); took < DefaultDebounce {
		t.Errorf("edge after %s, before the debounce period", took)
	}
	equal(t, "door closes", got, []string{"door close"})

	set(1, 1) // a bounce much shorter than the debounce period
	set(1, 0)
	equal(t, "bounce", waitPosts(t, p, 0, 200*time.Millisecond), nil)

	set(2, 0) // active low: on
	equal(t, "key", waitPosts(t, p, 1, 100*time.Millisecond), []string{"key open"})
	set(4, 1) // each line has its own event goroutine: one at a time
	equal(t, "mains", waitPosts(t, p, 1, 100*time.Millisecond), []string{"fault mains:psu=true (mains power lost)"})

	// Outputs: an active-low relay line starts high; its read-back is its level.
	o, err := NewOutputs(Cdev{}, map[string]OutputBinding{"siren": {Pin: Pin{Chip: chip, Line: "5", ActiveLow: true}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	var levels []string
	read := func(what string) {
		lv, err := s.Level(5)
		if err != nil {
			t.Fatal(err)
		}
		levels = append(levels, fmt.Sprintf("%s %d reachable=%v", what, lv, o.Reachable(hub.Output{ID: "siren"})))
	}
	read("requested")
	for _, l := range []output.Level{output.On, output.Off} {
		if err := o.Drive(hub.Output{ID: "siren"}, l); err != nil {
			t.Fatal(err)
		}
		read(l.String())
	}
	equal(t, "siren line", levels, []string{"requested 1 reachable=true", "on 0 reachable=true", "off 1 reachable=true"})
}

// The whole alarm path on the kernel: a contact's edge on a simulated line, the
// zone adapter, a real hub journaling to bbolt, the keeper and the siren's
// active-low relay line.
func TestSimEdgeToSiren(t *testing.T) {
	s, err := gpiosim.NewSimpleton(8)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	chip := s.ChipName()
	cfg := hub.Config{Settings: hub.DefaultSettings(),
		Zones:   []hub.Zone{{ID: "door", Name: "Front door", Number: 1, Type: hub.ZonePerimeter}},
		Outputs: []hub.Output{{ID: "siren", Name: "Siren", Kind: hub.OutputSiren}},
	}
	cfg.Settings.ExitDelay[hub.ModeAway] = 0
	st, err := storage.Open(filepath.Join(t.TempDir(), "vakt.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	outs, err := NewOutputs(Cdev{}, map[string]OutputBinding{"siren": {Pin: Pin{Chip: chip, Line: "7", ActiveLow: true}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer outs.Close()
	k := output.New(cfg.Outputs, output.Options{Driver: outs, Feedback: outs.HasFeedback})
	h := hub.New(hub.Options{Config: cfg, Journal: st, Outputs: k})
	k.SetHub(h)
	// No bias: the simulator's pull is the contact (a pull-up bias would open it).
	zones, err := NewZones(Cdev{}, map[string]ZoneBinding{"door": {Pin: Pin{Chip: chip, Line: "1"}}}, h, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetPull(1, 0); err != nil { // door shut
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var runs []chan struct{}
	for _, run := range []func(context.Context) error{h.Run, k.Run, func(ctx context.Context) error { return outs.Run(ctx, k) }, zones.Run} {
		d := make(chan struct{})
		runs = append(runs, d)
		go func() { defer close(d); _ = run(ctx) }()
	}
	defer func() {
		cancel()
		for _, d := range runs {
			<-d
		}
		k.Stop()
	}()
	if err := h.Input(ctx, hub.Command{Kind: hub.CmdArm, Mode: hub.ModeAway, Who: hub.Actor{Via: hub.ViaSystem}}); err != nil {
		t.Fatal(err)
	}
	siren := func() int {
		lv, err := s.Level(7)
		if err != nil {
			t.Fatal(err)
		}
		return lv
	}
	if lv := siren(); lv != 1 {
		t.Fatalf("siren line %d while armed and quiet", lv)
	}
	start := time.Now()
	if err := s.SetPull(1, 1); err != nil { // door opens
		t.Fatal(err)
	}
	for siren() != 0 && ctx.Err() == nil {
		<-time.After(100 * time.Microsecond)
	}
	took := time.Since(start)
	if siren() != 0 {
		t.Fatal("siren line not driven after the door opened")
	}
	t.Logf("door opened -> siren line low in %s (debounce %s)", took, DefaultDebounce)
	if err := h.Input(ctx, hub.Command{Kind: hub.CmdDisarm, Who: hub.Actor{Via: hub.ViaSystem}}); err != nil {
		t.Fatal(err)
	}
	if lv := siren(); lv != 1 {
		t.Fatalf("siren line %d after disarming", lv)
	}
}
