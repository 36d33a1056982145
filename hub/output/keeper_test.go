package output

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"vakt/hub"
)

// devices is a fake driver: it records every command and says which devices listen.
type devices struct {
	mu     sync.Mutex
	sent   []string
	absent map[string]bool
	broken error
}

func (d *devices) Drive(o hub.Output, l Level) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.broken != nil {
		return d.broken
	}
	d.sent = append(d.sent, o.ID+" "+l.String())
	return nil
}

func (d *devices) Reachable(o hub.Output) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return !d.absent[o.ID]
}

func (d *devices) take() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.sent
	d.sent = nil
	return s
}

func (d *devices) set(f func()) { d.mu.Lock(); f(); d.mu.Unlock() }

// faults is a fake hub that records the faults posted.
type faults struct {
	mu  sync.Mutex
	got []string
}

func (f *faults) Post(_ context.Context, in hub.Input) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fl, ok := in.(hub.Fault); ok {
		f.got = append(f.got, fmt.Sprintf("%s=%v", fl.ID, fl.Active))
	}
	return nil
}

func (f *faults) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.got
	f.got = nil
	return s
}

var outputs = []hub.Output{
	{ID: "outdoor", Kind: hub.OutputSiren},
	{ID: "indoor", Kind: hub.OutputSounder, Number: 7},
	{ID: "chime", Kind: hub.OutputChime},
}

func run(t *testing.T, feedback ...string) (*Keeper, *devices, *faults, func()) {
	t.Helper()
	d, f := &devices{absent: map[string]bool{}}, &faults{}
	var statuses []string
	k := New(outputs, Options{Driver: d, Hub: f,
		Feedback: func(o hub.Output) bool { return slices.Contains(feedback, o.ID) },
		Status:   func(id string, on bool) { statuses = append(statuses, fmt.Sprint(id, on)) }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = k.Run(ctx); close(done) }()
	synctest.Wait()
	return k, d, f, func() { cancel(); <-done }
}

func expect(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: got %q, want %q", what, got, want)
	}
}

func TestKeeperDrivesLevels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, d, f, stop := run(t)
		defer stop()
		expect(t, "at start every output is driven to its level", d.take(), "outdoor off", "indoor off", "chime off")
		k.Set(hub.OutputSiren, true, false)
		expect(t, "siren on", d.take(), "outdoor on")
		k.Set(hub.OutputSiren, true, false)
		expect(t, "the same level again sends nothing", d.take())
		k.Set(hub.OutputChime, true, true)
		expect(t, "a chime pulse", d.take(), "chime pulse")
		if on, _ := k.Want("chime"); on {
			t.Error("a pulse changed the chime's level")
		}
		// While on, the level is sent again every refresh interval; off outputs are not.
		time.Sleep(hub.DefaultOutputRefresh + time.Millisecond)
		synctest.Wait()
		expect(t, "refresh", d.take(), "outdoor on")
		time.Sleep(hub.DefaultOutputRefresh)
		synctest.Wait()
		expect(t, "second refresh", d.take(), "outdoor on")
		// A device that subscribes gets its level at once.
		k.Resend(func(o hub.Output) bool { return o.ID == "outdoor" || o.ID == "indoor" })
		expect(t, "resend", d.take(), "outdoor on", "indoor off")
		k.Set(hub.OutputSiren, false, false)
		expect(t, "siren off", d.take(), "outdoor off")
		time.Sleep(2 * hub.DefaultOutputRefresh)
		synctest.Wait()
		expect(t, "no refresh while off", d.take())
		expect(t, "no faults", f.take())
	})
}

func TestKeeperFeedback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, d, f, stop := run(t, "outdoor")
		defer stop()
		d.take()
		k.Feedback("outdoor", false)
		k.Set(hub.OutputSiren, true, false)
		expect(t, "siren on", d.take(), "outdoor on")
		// The device says it is off: commanded again, at most once a second.
		k.Feedback("outdoor", false)
		k.Feedback("outdoor", false)
		expect(t, "correction", d.take(), "outdoor on")
		time.Sleep(time.Second)
		k.Feedback("outdoor", false)
		expect(t, "second correction", d.take(), "outdoor on")
		// No agreement within Confirm: the output has failed.
		time.Sleep(hub.DefaultOutputConfirm)
		synctest.Wait()
		expect(t, "fault", f.take(), "output:outdoor=true")
		// It agrees: restored.
		k.Feedback("outdoor", true)
		synctest.Wait()
		expect(t, "restore", f.take(), "output:outdoor=false")
		expect(t, "nothing more sent", d.take())
		// Agreement within Confirm raises nothing.
		k.Set(hub.OutputSiren, false, false)
		time.Sleep(hub.DefaultOutputConfirm / 2)
		k.Feedback("outdoor", false)
		time.Sleep(hub.DefaultOutputConfirm)
		synctest.Wait()
		expect(t, "no fault when confirmed in time", f.take())
	})
}

func TestKeeperUnreachableAndBroken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d0 := &devices{absent: map[string]bool{"indoor": true}}
		f := &faults{}
		k := New(outputs, Options{Driver: d0, Hub: f})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() { _ = k.Run(ctx) }()
		synctest.Wait()
		// After start, devices have BootGrace to come back.
		time.Sleep(BootGrace - time.Second)
		synctest.Wait()
		expect(t, "within the boot grace", f.take())
		time.Sleep(2*time.Second + probeEvery)
		synctest.Wait()
		expect(t, "unreachable after the grace", f.take(), "output:indoor=true")
		d0.set(func() { d0.absent["indoor"] = false })
		k.Resend(func(o hub.Output) bool { return o.ID == "indoor" })
		synctest.Wait()
		expect(t, "back", f.take(), "output:indoor=false")
		// A driver error is a fault at once, and the keeper keeps trying.
		d0.set(func() { d0.broken = errors.New("broker closed") })
		d0.take()
		k.Set(hub.OutputSiren, true, false)
		synctest.Wait()
		expect(t, "broken", f.take(), "output:outdoor=true")
		d0.set(func() { d0.broken = nil })
		time.Sleep(correctEvery)
		synctest.Wait()
		expect(t, "driven again", d0.take(), "outdoor on")
		expect(t, "restored", f.take(), "output:outdoor=false")
	})
}

func TestKeeperStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, d, _, stop := run(t)
		defer stop()
		k.Set(hub.OutputSiren, true, false)
		k.Set(hub.OutputSounder, true, false)
		d.take()
		k.Stop()
		expect(t, "stop drives everything off", d.take(), "outdoor off", "indoor off", "chime off")
		k.Set(hub.OutputSiren, true, false)
		k.Resend(func(hub.Output) bool { return true })
		time.Sleep(time.Minute)
		synctest.Wait()
		expect(t, "nothing after stop", d.take())
	})
}

// Each output is driven by the adapter that binds it: an MQTT siren and a GPIO
// sounder side by side. An output that no adapter binds can never sound: it is a
// fault from the start, logged, and no driver is ever asked about it.
func TestKeeperDriverPerOutput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mqtt := &devices{absent: map[string]bool{}}
		gpio := &devices{absent: map[string]bool{}}
		f := &faults{}
		var logged logLines
		k := New(outputs, Options{Drivers: map[string]Driver{"outdoor": mqtt, "indoor": gpio}, Hub: f,
			Log: logged.logger()})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = k.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()
		synctest.Wait()
		expect(t, "mqtt at start", mqtt.take(), "outdoor off")
		expect(t, "gpio at start", gpio.take(), "indoor off")
		expect(t, "unbound output at start", f.take(), "output:chime=true")
		expect(t, "log at start", logged.take(),
			`level=ERROR msg="output: no adapter binds it; it can never sound" output=chime`,
			`level=ERROR msg="output: failed" output=chime detail="no adapter binds it: it can never sound"`)
		k.Set(hub.OutputSiren, true, false)
		k.Set(hub.OutputSounder, true, false)
		k.Set(hub.OutputChime, true, true)
		expect(t, "mqtt", mqtt.take(), "outdoor on")
		expect(t, "gpio", gpio.take(), "indoor on")
		// One adapter's device going away is that output's fault only.
		mqtt.set(func() { mqtt.absent["outdoor"] = true })
		time.Sleep(BootGrace + probeEvery + hub.DefaultOutputConfirm)
		synctest.Wait()
		expect(t, "faults", f.take(), "output:outdoor=true")
		expect(t, "logged", logged.take(),
			`level=ERROR msg="output: failed" output=outdoor detail="no device listens to its commands"`)
		mqtt.take()
		gpio.take()
		mqtt.set(func() { mqtt.absent["outdoor"] = false })
		k.Resend(func(hub.Output) bool { return true })
		expect(t, "mqtt resend", mqtt.take(), "outdoor on")
		expect(t, "gpio resend", gpio.take(), "indoor on")
		synctest.Wait()
		expect(t, "restored", f.take(), "output:outdoor=false")
	})
}

// logLines keeps the log as text lines without their time.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logLines) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
}

func (l *logLines) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := strings.TrimSuffix(l.buf.String(), "\n")
	l.buf.Reset()
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// An output whose fault the resumed state holds (raised before a restart) is
// restored once it is fine now; one still failed is not raised again.
func TestKeeperFaultsFromBeforeARestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &devices{absent: map[string]bool{}}
		f := &faults{}
		k := New(outputs, Options{Drivers: map[string]Driver{"outdoor": d, "indoor": d}, Hub: f,
			Failed: []string{"outdoor", "chime"}})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = k.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()
		synctest.Wait()
		expect(t, "at start", f.take(), "output:outdoor=false")
	})
}

// Outputs tells, per output, the wanted level, what the device last reported and
// the fault the keeper raised.
func TestKeeperOutputsStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, d, f, stop := run(t, "outdoor")
		defer stop()
		d.set(func() { d.absent["chime"] = true })
		k.Set(hub.OutputSiren, true, false)
		k.Feedback("outdoor", false)
		time.Sleep(BootGrace + hub.DefaultOutputConfirm)
		synctest.Wait()
		f.take()
		want := []Status{
			{ID: "outdoor", On: true, Feedback: true, Known: true, Reported: false, Failed: true, Detail: "the device does not confirm the level on"},
			{ID: "indoor"},
			{ID: "chime", Failed: true, Detail: "no device listens to its commands"},
		}
		if got := k.Outputs(); !slices.Equal(got, want) {
			t.Fatalf("got %+v\nwant %+v", got, want)
		}
	})
}

// A device adopted while the hub runs takes over its output: the old device is
// told off, the new one driven at once; released, the output has no driver and
// fails as one no adapter binds; adopted again, it is restored.
func TestKeeperSetDriver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, d, f, stop := run(t)
		defer stop()
		d.take()
		other := &devices{absent: map[string]bool{}}
		k.Set(hub.OutputSiren, true, false)
		expect(t, "siren on", d.take(), "outdoor on")
		if !k.SetDriver("outdoor", other, false) {
			t.Fatal("SetDriver: the keeper has no outdoor")
		}
		expect(t, "the old device", d.take(), "outdoor off")
		expect(t, "the new device", other.take(), "outdoor on")
		k.SetDriver("outdoor", nil, false)
		expect(t, "released", other.take(), "outdoor off")
		synctest.Wait()
		expect(t, "no driver: failed", f.take(), "output:outdoor=true")
		k.Set(hub.OutputSiren, false, false)
		k.SetDriver("outdoor", d, false)
		expect(t, "adopted again", d.take(), "outdoor off")
		synctest.Wait()
		expect(t, "restored", f.take(), "output:outdoor=false")
		if k.SetDriver("nowhere", d, false) {
			t.Error("SetDriver of an output the keeper does not have")
		}
		expect(t, "nothing driven for it", d.take())
	})
}

// A device that refuses a command (its bridge says it could not be delivered)
// fails its output at once and is commanded again; the output is restored once
// a command goes a Confirm time without another refusal.
func TestKeeperRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, d, f, stop := run(t)
		defer stop()
		d.take()
		k.Set(hub.OutputSiren, true, false)
		expect(t, "siren on", d.take(), "outdoor on")
		k.Refused("outdoor", "Publish 'set' 'warning' to 'hall_siren' failed: timeout")
		expect(t, "sent again", d.take(), "outdoor on")
		synctest.Wait()
		expect(t, "failed at once", f.take(), "output:outdoor=true")
		time.Sleep(hub.DefaultOutputConfirm / 2)
		k.Refused("outdoor", "Publish 'set' 'warning' to 'hall_siren' failed: timeout")
		expect(t, "sent again", d.take(), "outdoor on")
		time.Sleep(hub.DefaultOutputConfirm - time.Second)
		synctest.Wait()
		expect(t, "refused again: still failed", f.take())
		time.Sleep(time.Second)
		synctest.Wait()
		expect(t, "no refusal for Confirm: restored", f.take(), "output:outdoor=false")
		k.Refused("nowhere", "x")
		expect(t, "an output the keeper does not have", d.take())
	})
}
