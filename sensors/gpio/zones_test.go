package gpio

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"vakt/hub"
)

// startZones runs a Zones adapter over f in the synctest bubble and waits for
// its first reading.
func startZones(t *testing.T, f *Fake, b map[string]ZoneBinding, log *logLines) (*posted, func()) {
	t.Helper()
	p := &posted{}
	opt := Options{}
	if log != nil {
		opt.Log = log.logger()
	}
	z, err := NewZones(f, b, p, opt)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- z.Run(ctx) }()
	synctest.Wait()
	return p, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

// Levels are read and posted at start, for every kind of line; then each edge
// posts its signal, active-low lines inverted.
func TestZonesStartLevelsAndEdges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := header()
		f.Set("gpiochip0", "17", false) // door: NC contact to ground, closed
		f.Set("gpiochip0", "22", true)  // pir: active-low alarm relay, idle high
		f.Set("gpiochip0", "23", false) // pir's tamper loop, closed
		f.Set("gpiochip0", "5", true)   // key: active-low keyswitch, off
		f.Set("gpiochip0", "6", true)   // psu mains-fail output: active, mains lost
		f.Set("gpiochip0", "13", false) // psu low-battery output: inactive
		p, stop := startZones(t, f, map[string]ZoneBinding{
			"door": {Pin: Pin{Line: "17"}, Bias: BiasPullUp},
			"pir": {Pin: Pin{Chip: "gpiochip0", Line: "GPIO22", ActiveLow: true},
				Tamper: &TamperPin{Pin: Pin{Line: "23"}, Bias: BiasPullUp}},
			"key":  {Pin: Pin{Line: "5", ActiveLow: true}, Means: Keyswitch},
			"psu":  {Pin: Pin{Line: "6"}, Means: MainsFail, Debounce: hub.Duration(5 * time.Second)},
			"ups":  {Pin: Pin{Line: "13"}, Means: LowBattery},
			"lid":  {Pin: Pin{Line: "24"}, Means: Tamper, Bias: BiasPullUp}, // left floating: pulled up, tamper
			"hall": {Pin: Pin{Line: "25"}, Bias: BiasPullDown},              // floating, pulled down: closed
		}, nil)
		defer stop()
		equal(t, "at start", p.take(), []string{
			"door close",
			"hall close",
			"key close",
			"lid tamper",
			"pir close",
			"pir tamper_restore",
			"fault mains:psu=true (mains power lost)",
			"fault battery:ups=false (battery ok)",
			"door online",
			"hall online",
			"key online",
			"lid online",
			"pir online",
			"fault gpio:psu=false (line usable)",
			"fault gpio:ups=false (line usable)",
		})

		for _, e := range []struct {
			line LineID
			high bool
		}{{"17", true}, {"22", false}, {"23", true}, {"5", false}, {"13", true}} {
			f.Set("gpiochip0", e.line, e.high)
			time.Sleep(time.Millisecond) // one after the other
		}
		time.Sleep(DefaultDebounce)
		synctest.Wait()
		f.Set("gpiochip0", "6", false)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		equal(t, "after edges", p.take(), []string{
			"door open",
			"pir open",
			"pir tamper",
			"key open",
			"fault battery:ups=true (battery low)",
			"fault mains:psu=false (mains power back)",
		})
	})
}

// A bounce shorter than the debounce period posts nothing; a level that holds
// for the period posts once.
func TestZonesDebounce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := header()
		p, stop := startZones(t, f, map[string]ZoneBinding{
			"door": {Pin: Pin{Line: "17"}, Debounce: hub.Duration(50 * time.Millisecond)},
		}, nil)
		defer stop()
		equal(t, "at start", p.take(), []string{"door close", "door online"})

		for range 5 { // chatter: 10 ms up, 10 ms down
			f.Set("gpiochip0", "17", true)
			time.Sleep(10 * time.Millisecond)
			f.Set("gpiochip0", "17", false)
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		equal(t, "after chatter", p.take(), nil)

		f.Set("gpiochip0", "17", true)
		time.Sleep(49 * time.Millisecond)
		synctest.Wait()
		equal(t, "before the period is over", p.take(), nil)
		time.Sleep(time.Millisecond)
		synctest.Wait()
		equal(t, "once stable for 50ms", p.take(), []string{"door open"})
	})
}

// A lost edge is healed by the periodic re-read, and only changes are posted.
func TestZonesRereadHealsLostEdge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := header()
		p, stop := startZones(t, f, map[string]ZoneBinding{
			"door": {Pin: Pin{Line: "17"}},
			"hall": {Pin: Pin{Line: "18"}},
		}, nil)
		defer stop()
		equal(t, "at start", p.take(), []string{"door close", "hall close", "door online", "hall online"})

		f.SetQuiet("gpiochip0", "17", true)
		time.Sleep(DefaultPoll - time.Millisecond)
		synctest.Wait()
		equal(t, "before the re-read", p.take(), nil)
		time.Sleep(time.Millisecond)
		synctest.Wait()
		equal(t, "at the re-read", p.take(), []string{"door open"})
		time.Sleep(10 * DefaultPoll)
		synctest.Wait()
		equal(t, "later re-reads", p.take(), nil)
	})
}

// A line that cannot be requested (held by another consumer, missing) makes its
// zone offline with a log line; it is requested again when it frees up. A
// trouble line raises the gpio fault instead.
func TestZonesLineUnavailable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := header()
		f.Hold("gpiochip0", "17", "gpioset")
		f.Hold("gpiochip0", "6", "gpioset")
		logs := &logLines{}
		p, stop := startZones(t, f, map[string]ZoneBinding{
			"door":  {Pin: Pin{Line: "17"}},
			"gone":  {Pin: Pin{Line: "40"}},
			"other": {Pin: Pin{Chip: "gpiochip9", Line: "1"}},
			"named": {Pin: Pin{Line: "GPIO99"}},
			"psu":   {Pin: Pin{Line: "6"}, Means: MainsFail},
			"hall":  {Pin: Pin{Line: "18"}},
		}, logs)
		defer stop()
		equal(t, "at start", p.take(), []string{
			"hall close",
			"door offline",
			"gone offline",
			"hall online",
			"named offline",
			"other offline",
			"fault gpio:psu=true (cannot request line gpiochip0:6: gpio: request gpiochip0:6: line busy)",
		})
		equal(t, "log", logs.take(), []string{
			`level=ERROR msg="gpio: input line down" id=door means=contact line=gpiochip0:17 err="cannot request line gpiochip0:17: gpio: request gpiochip0:17: line busy"`,
			`level=ERROR msg="gpio: input line down" id=gone means=contact line=gpiochip0:40 err="cannot request line gpiochip0:40: gpio: gpiochip0:40: no such line: the chip has 28 lines"`,
			`level=ERROR msg="gpio: input line down" id=named means=contact line=gpiochip0:GPIO99 err="cannot request line gpiochip0:GPIO99: gpio: gpiochip0:GPIO99: find line by name: no such line"`,
			`level=ERROR msg="gpio: input line down" id=other means=contact line=gpiochip9:1 err="cannot request line gpiochip9:1: gpio: open gpiochip9: no such chip"`,
			`level=ERROR msg="gpio: input line down" id=psu means=mains_fail line=gpiochip0:6 err="cannot request line gpiochip0:6: gpio: request gpiochip0:6: line busy"`,
		})

		time.Sleep(5 * DefaultPoll) // tried again: no new posts, no new log lines
		synctest.Wait()
		equal(t, "while still busy", p.take(), nil)
		equal(t, "log while still busy", logs.take(), nil)

		f.Release("gpiochip0", "17")
		f.Release("gpiochip0", "6")
		f.Set("gpiochip0", "17", true)
		time.Sleep(DefaultPoll)
		synctest.Wait()
		equal(t, "freed", p.take(), []string{
			"door open",
			"fault mains:psu=false (mains power back)",
			"door online",
			"fault gpio:psu=false (line usable)",
		})
		equal(t, "log when freed", logs.take(), []string{
			`level=INFO msg="gpio: input line back" id=door means=contact line=gpiochip0:17`,
			`level=INFO msg="gpio: input line back" id=psu means=mains_fail line=gpiochip0:6`,
		})
		if !f.Requested("gpiochip0", "17") {
			t.Fatal("door's line not requested")
		}
	})
}

// A zone with two lines is offline while either is down; a read failure takes
// the line down and it is requested again.
func TestZonesReadFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := header()
		f.Hold("gpiochip0", "23", "other")
		p, stop := startZones(t, f, map[string]ZoneBinding{
			"pir": {Pin: Pin{Line: "22"}, Tamper: &TamperPin{Pin: Pin{Line: "23"}}},
		}, nil)
		defer stop()
		equal(t, "at start", p.take(), []string{"pir close", "pir offline"})

		f.FailReads("gpiochip0", "22", errIO)
		time.Sleep(DefaultPoll)
		synctest.Wait()
		equal(t, "read fails", p.take(), nil) // already offline
		if f.Requested("gpiochip0", "22") {
			t.Fatal("a line that cannot be read is kept")
		}
		f.Release("gpiochip0", "23")
		time.Sleep(DefaultPoll)
		synctest.Wait()
		equal(t, "tamper line back, alarm line still down", p.take(), []string{"pir tamper_restore"})
		f.FailReads("gpiochip0", "22", nil)
		time.Sleep(DefaultPoll)
		synctest.Wait()
		equal(t, "both back", p.take(), []string{"pir close", "pir online"})
	})
}

// Run releases its lines when stopped; no edge is posted after.
func TestZonesReleaseOnStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := header()
		p, stop := startZones(t, f, map[string]ZoneBinding{"door": {Pin: Pin{Line: "17"}}}, nil)
		equal(t, "at start", p.take(), []string{"door close", "door online"})
		stop()
		if f.Requested("gpiochip0", "17") {
			t.Fatal("line still requested after Run returned")
		}
		f.Set("gpiochip0", "17", true)
		time.Sleep(time.Second)
		synctest.Wait()
		equal(t, "after stop", p.take(), nil)
	})
}
