package gpio

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"vakt/hub"
	"vakt/hub/output"
)

var (
	siren  = hub.Output{ID: "siren", Kind: hub.OutputSiren}
	strobe = hub.Output{ID: "strobe", Kind: hub.OutputStrobe}
	chime  = hub.Output{ID: "chime", Kind: hub.OutputChime}
	mqtt   = hub.Output{ID: "mqtt_siren", Kind: hub.OutputSiren}
)

var outBindings = map[string]OutputBinding{
	"siren":  {Pin: Pin{Line: "27", ActiveLow: true}}, // a low-level trigger relay board
	"strobe": {Pin: Pin{Line: "GPIO26"}},
	"chime":  {Pin: Pin{Line: "19"}},
}

// levels returns the physical levels of lines 27, 26 and 19 as "HLL".
func levels(f *Fake) string {
	s := ""
	for _, l := range []LineID{"27", "26", "19"} {
		s += pick(f.Level("gpiochip0", l), "H", "L")
	}
	return s
}

// Drive sets each line's active level (low for an active-low relay); a pulse
// ends by itself; outputs that are not bound to GPIO are not this driver's.
func TestOutputsDrive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := header()
		o, err := NewOutputs(f, outBindings, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer o.Close()
		var got []string
		step := func(out hub.Output, l output.Level) {
			if err := o.Drive(out, l); err != nil {
				t.Fatalf("Drive %s %s: %v", out.ID, l, err)
			}
			got = append(got, out.ID+" "+l.String()+" "+levels(f))
		}
		got = append(got, "requested "+levels(f))
		step(siren, output.On)
		step(strobe, output.On)
		step(siren, output.Off)
		step(strobe, output.Off)
		step(chime, output.Pulse)
		time.Sleep(199 * time.Millisecond)
		synctest.Wait()
		got = append(got, "199ms "+levels(f))
		time.Sleep(time.Millisecond)
		synctest.Wait()
		got = append(got, "200ms "+levels(f))
		step(chime, output.Pulse)
		step(chime, output.On) // the pulse's end does not turn it off
		time.Sleep(time.Second)
		synctest.Wait()
		got = append(got, "1s "+levels(f))
		step(mqtt, output.On)
		equal(t, "levels", got, []string{
			"requested HLL",
			"siren on LLL",
			"strobe on LHL",
			"siren off HHL",
			"strobe off HLL",
			"chime pulse HLH",
			"199ms HLH",
			"200ms HLL",
			"chime pulse HLH",
			"chime on HLH",
			"1s HLH",
			"mqtt_siren on HLH",
		})
		for _, out := range []hub.Output{siren, strobe, chime, mqtt} {
			if !o.Reachable(out) {
				t.Errorf("%s not reachable", out.ID)
			}
			if o.HasFeedback(out) != (out.ID != "mqtt_siren") {
				t.Errorf("%s: HasFeedback %v", out.ID, o.HasFeedback(out))
			}
		}
		if err := o.Close(); err != nil {
			t.Fatal(err)
		}
		equal(t, "requested after Close", []string{pick(f.Requested("gpiochip0", "27"), "yes", "no")}, []string{"no"})
	})
}

// keeperRig runs the outputs under a real output.Keeper, with faults going to a
// fake hub.
func keeperRig(t *testing.T, f *Fake, logs *logLines) (*output.Keeper, *Outputs, *posted, func()) {
	t.Helper()
	opt := Options{}
	if logs != nil {
		opt.Log = logs.logger()
	}
	o, err := NewOutputs(f, map[string]OutputBinding{"siren": outBindings["siren"]}, opt)
	if err != nil {
		t.Fatal(err)
	}
	p := &posted{}
	k := output.New([]hub.Output{siren}, output.Options{Driver: o, Hub: p, Feedback: o.HasFeedback})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{}, 2)
	go func() { _ = k.Run(ctx); done <- struct{}{} }()
	go func() { _ = o.Run(ctx, k); done <- struct{}{} }()
	synctest.Wait()
	return k, o, p, func() {
		cancel()
		<-done
		<-done
		k.Stop()
		_ = o.Close()
	}
}

// The line's read-back is the output's feedback: a relay stuck off is an output
// fault once the keeper's confirmation time is over, restored when it follows.
func TestOutputsReadBackFeedback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := header()
		k, _, p, stop := keeperRig(t, f, nil)
		defer stop()
		k.Set(hub.OutputSiren, true, false)
		time.Sleep(time.Minute)
		synctest.Wait()
		equal(t, "agreeing read-back", p.take(), nil)
		equal(t, "level", []string{levels(f)}, []string{"LLL"})

		k.Set(hub.OutputSiren, false, false)
		f.Stick("gpiochip0", "27", false) // the driver transistor shorted: stays on
		time.Sleep(hub.DefaultOutputConfirm + DefaultPoll)
		synctest.Wait()
		equal(t, "stuck", p.take(), []string{"fault output:siren=true (the device does not confirm the level off)"})
		f.Unstick("gpiochip0", "27")
		time.Sleep(2 * DefaultPoll)
		synctest.Wait()
		equal(t, "unstuck", p.take(), []string{"fault output:siren=false (the device agrees again)"})
		equal(t, "level", []string{levels(f)}, []string{"HLL"})
	})
}

// A failing write is an error from Drive, which the keeper turns into the
// output's fault; the fault restores when writes work again.
func TestOutputsWriteFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := header()
		k, _, p, stop := keeperRig(t, f, nil)
		defer stop()
		f.FailWrites("gpiochip0", "27", errIO)
		k.Set(hub.OutputSiren, true, false)
		synctest.Wait()
		equal(t, "write fails", p.take(), []string{
			"fault output:siren=true (cannot be driven: gpio: output siren: gpio: write gpiochip0:27: input/output error)"})
		f.FailWrites("gpiochip0", "27", nil)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		equal(t, "write works", p.take(), []string{"fault output:siren=false (the device agrees again)"})
		equal(t, "level", []string{levels(f)}, []string{"LLL"})
	})
}

// A line held by another consumer: Drive fails and the output is unreachable
// (the keeper's fault), with a log line; once free it is requested, driven to
// the level the keeper holds, and the fault restores.
func TestOutputsBusyLine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := header()
		f.Hold("gpiochip0", "27", "gpioset")
		logs := &logLines{}
		k, o, p, stop := keeperRig(t, f, logs)
		defer stop()
		if o.Reachable(siren) {
			t.Fatal("a line not requested is reachable")
		}
		k.Set(hub.OutputSiren, true, false)
		synctest.Wait()
		equal(t, "busy", p.take(), []string{
			"fault output:siren=true (cannot be driven: gpio: output siren: line gpiochip0:27 is not requested: " +
				"cannot request line gpiochip0:27: gpio: request gpiochip0:27: line busy)"})
		equal(t, "log", logs.take(), []string{
			`level=ERROR msg="gpio: output line down" output=siren line=gpiochip0:27 err="cannot request line gpiochip0:27: gpio: request gpiochip0:27: line busy"`})

		f.Release("gpiochip0", "27")
		time.Sleep(DefaultPoll)
		synctest.Wait()
		equal(t, "freed", p.take(), []string{"fault output:siren=false (the device agrees again)"})
		equal(t, "log when freed", logs.take(), []string{
			`level=INFO msg="gpio: output line requested" output=siren line=gpiochip0:27`})
		equal(t, "level", []string{levels(f)}, []string{"LLL"})
	})
}
