package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"vakt/hub"
	"vakt/hub/uplink/receiver"
	"vakt/sensors/gpio"
	"vakt/storage"
)

// gpioE2EDomain: a wired door, a siren relay and a power supply's mains-fail
// output, on the Pi's header.
const gpioE2EDomain = `
settings:
  exit_delay: {away: 0s}
  entry_delay: {away: 1s}
  mains_report_delay: 10s
zones:
  - {id: door, name: Door, number: 1, type: entry_exit, gpio: {line: 17, bias: pull-up}}
outputs:
  - {id: siren, name: Siren, kind: siren, gpio: {line: 27, active_low: true}}
power:
  - {id: psu, gpio: {line: 5, means: mains_fail}}
`

// gpioHub is a hub served in process with the GPIO chips chips.
type gpioHubRun struct {
	http   string
	data   string
	mqtt   string
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

func startGPIOHub(t *testing.T, domain, bootExtra string, chips gpioChipsFunc) (*gpioHubRun, string) {
	t.Helper()
	boot := ""
	if bootExtra != "" {
		boot = bootYAML + bootExtra
	}
	return startServed(t, domain, boot, func(o *options) { o.gpio = chips })
}

// startServed serves a hub in process on domain, with the boot file boot (""
// the tests' usual one) and the options set changes.
func startServed(t *testing.T, domain, boot string, set func(*options)) (*gpioHubRun, string) {
	t.Helper()
	dir, args := setupIn(t, t.TempDir(), domain)
	if boot != "" {
		if err := os.WriteFile(filepath.Join(dir, "vakt.yaml"), []byte(boot), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r := &gpioHubRun{stderr: &syncBuffer{}, done: make(chan error, 1)}
	opt, err := parseFlags(args, r.stderr)
	if err != nil {
		t.Fatal(err)
	}
	set(&opt)
	ready := make(chan map[string]string, 1)
	opt.ready = func(a map[string]string) { ready <- a }
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- serve(ctx, opt, &syncBuffer{}, r.stderr) }()
	select {
	case a := <-ready:
		r.http, r.mqtt, r.data = a["http"], a["mqtt"], a["data"]
	case err := <-r.done:
		t.Fatalf("hub stopped: %v\n%s", err, r.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("hub did not start")
	}
	return r, filepath.Join(dir, "data")
}

func (r *gpioHubRun) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("hub stopped with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("hub did not stop in 30 s")
	}
}

type gpioHealth struct {
	Status string   `json:"status"`
	State  string   `json:"state"`
	Faults []string `json:"faults"`
}

func getGPIOHealth(t *testing.T, data string) gpioHealth {
	t.Helper()
	resp, err := sockGet(data, "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h gpioHealth
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

// waitHealth polls /healthz until it is want, within 20 s.
func waitGPIOHealth(t *testing.T, data string, want gpioHealth) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := getGPIOHealth(t, data)
		if reflect.DeepEqual(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthz %+v, want %+v", got, want)
		}
		time.Sleep(10 * time.Millisecond) // polling a real server: nothing to wait on
	}
}

// waitUntil polls cond until it holds, within 20 s.
func waitGPIO(t *testing.T, what string, cond func() bool, seen ...func() []string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			var also []string
			for _, s := range seen {
				also = append(also, s()...)
			}
			t.Fatalf("%s: not within 20 s %q", what, also)
		}
		time.Sleep(time.Millisecond)
	}
}

// cids collects the receiver's Contact IDs with their arrival.
type cids struct {
	mu   sync.Mutex
	got  []string
	when map[string]time.Time
}

func collectCIDs(r *receiver.Receiver) *cids {
	c := &cids{when: map[string]time.Time{}}
	go func() {
		for e := range r.Events() {
			if e.ContactID == nil {
				continue
			}
			s, _ := e.ContactID.Format()
			s = strings.TrimPrefix(s, "#4321|")
			c.mu.Lock()
			c.got = append(c.got, s)
			if _, ok := c.when[s]; !ok {
				c.when[s] = time.Now()
			}
			c.mu.Unlock()
		}
	}()
	return c
}

func (c *cids) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string{}, c.got...)
}

func (c *cids) arrived(s string) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.when[s]
	return t, ok
}

// The real hub with the GPIO adapter on a fake chip: the door's line opens while
// armed away, the entry delay runs out and the siren's relay line goes active;
// after the disarm the mains-fail line goes active: the fault shows in /healthz
// at once and the centre hears of it (1301) only after mains_report_delay, and
// of its restore (3301). Stopped in an alarm, the hub drives the siren line off
// before releasing it.
func TestGPIOEndToEnd(t *testing.T) {
	rcv := startReceiver(t, receiver.Account{ID: "4321"})
	got := collectCIDs(rcv)
	f := gpio.NewFake()
	f.AddChip("gpiochip0", make([]string, 28)...)
	f.Set("gpiochip0", "17", false) // door shut
	f.Set("gpiochip0", "5", false)  // mains on
	sirenOn := func() bool { return f.Requested("gpiochip0", "27") && !f.Level("gpiochip0", "27") }
	p, _ := startGPIOHub(t, gpioE2EDomain, fmt.Sprintf("uplink:\n  paths:\n    - {addr: %q, network: udp, account: \"4321\"}\n",
		rcv.UDPAddr().String()), func() (gpio.Chips, error) { return f, nil })
	waitGPIOHealth(t, p.data, gpioHealth{Status: "ok", State: "disarmed", Faults: []string{}})
	// The siren's line is requested when the output keeper first drives it, which
	// may come just after the health says ok.
	waitGPIO(t, "lines requested at start", func() bool {
		return f.Requested("gpiochip0", "17") && f.Requested("gpiochip0", "5") && f.Requested("gpiochip0", "27")
	})
	if sirenOn() {
		t.Fatal("the siren on at start")
	}

	c := dialMQTT(t, p.mqtt, "tester", "tester-pass")
	c.sub(t, "vakt/state")
	c.pub(t, "vakt/command", `{"command":"ARM_AWAY","code":"135790"}`, false)
	c.waitFor(t, "vakt/state", "armed_away")
	f.Edge("gpiochip0", "17", true) // the door opens
	c.waitFor(t, "vakt/state", "pending")
	if sirenOn() {
		t.Fatal("siren on during the entry delay")
	}
	c.waitFor(t, "vakt/state", "triggered")
	waitGPIO(t, "siren relay active", sirenOn)
	c.pub(t, "vakt/command", `{"command":"DISARM","code":"135790"}`, false)
	c.waitFor(t, "vakt/state", "disarmed")
	waitGPIO(t, "siren relay inactive", func() bool { return !sirenOn() })
	f.Edge("gpiochip0", "17", false)

	t0 := time.Now()
	f.Edge("gpiochip0", "5", true) // mains lost
	waitGPIOHealth(t, p.data, gpioHealth{Status: "degraded", State: "disarmed", Faults: []string{"mains:psu"}})
	if d := time.Since(t0); d >= 10*time.Second {
		t.Fatalf("mains fault shown after %s", d)
	}
	if _, ok := got.arrived("1301 01 000"); ok {
		t.Fatal("1301 reported before mains_report_delay")
	}
	waitGPIO(t, "1301 at the centre", func() bool { _, ok := got.arrived("1301 01 000"); return ok }, got.list)
	if at, _ := got.arrived("1301 01 000"); at.Sub(t0) < 10*time.Second {
		t.Errorf("1301 reported %s after the mains failed, before mains_report_delay", at.Sub(t0))
	}
	f.Edge("gpiochip0", "5", false) // mains back
	waitGPIO(t, "3301 at the centre", func() bool { _, ok := got.arrived("3301 01 000"); return ok }, got.list)
	waitGPIOHealth(t, p.data, gpioHealth{Status: "ok", State: "disarmed", Faults: []string{}})

	// Stopped while the siren sounds: the line is driven off, then released.
	c.pub(t, "vakt/command", `{"command":"ARM_AWAY","code":"135790"}`, false)
	c.waitFor(t, "vakt/state", "armed_away")
	f.Edge("gpiochip0", "17", true)
	c.waitFor(t, "vakt/state", "triggered")
	waitGPIO(t, "siren relay active again", sirenOn)
	stopAt := time.Now()
	p.stop(t)
	if f.Requested("gpiochip0", "27") || f.Requested("gpiochip0", "17") || f.Requested("gpiochip0", "5") {
		t.Errorf("lines still requested after the stop")
	}
	if f.Changed("gpiochip0", "27").Before(stopAt) {
		t.Errorf("the siren line was released sounding: last driven at %s, the stop began at %s", f.Changed("gpiochip0", "27"), stopAt)
	}
	want := []string{"1305 01 000", "3401 01 001", "1401 01 001", "1301 01 000", "3301 01 000", "3401 01 001"}
	if l := got.list(); !reflect.DeepEqual(l, want) {
		t.Errorf("the centre got %q, want %q", l, want)
	}
}

// On a machine without GPIO chips the hub starts with GPIO off, says so in one
// log line, and everything bound to a line is a visible fault: the door
// offline, the supply's line fault, the siren failed.
func TestGPIOOffWithoutChips(t *testing.T) {
	noChips := func() (gpio.Chips, error) { return nil, fmt.Errorf("gpio: /dev/gpiochip*: %w", gpio.ErrNoChips) }
	p, data := startGPIOHub(t, gpioE2EDomain, "", noChips)
	waitGPIOHealth(t, p.data, gpioHealth{Status: "degraded", State: "disarmed", Faults: []string{"gpio:psu", "output:siren"}})
	p.stop(t)
	gpioLines := gpioLogLines(p.stderr.String())
	// The adapter's line, then what the keeper and the hub make of it (in the
	// order their goroutines ran: sorted).
	wantLines := []string{
		`level=ERROR msg="output: failed" output=siren detail="cannot be driven: gpio: output siren: GPIO off: gpio: /dev/gpiochip*: no GPIO chips"`,
		`level=ERROR msg="output: not driven" output=siren level=off err="gpio: output siren: GPIO off: gpio: /dev/gpiochip*: no GPIO chips"`,
		`level=INFO msg=event type=fault zone="" state=disarmed who="hub via system" detail="gpio:psu: GPIO off: gpio: /dev/gpiochip*: no GPIO chips"`,
		`level=INFO msg=event type=fault zone="" state=disarmed who="hub via system" detail="output:siren: cannot be driven: gpio: output siren: GPIO off: gpio: /dev/gpiochip*: no GPIO chips"`,
		`level=WARN msg="GPIO off" err="gpio: /dev/gpiochip*: no GPIO chips" zones=2 outputs=1`,
	}
	if !reflect.DeepEqual(gpioLines, wantLines) {
		t.Errorf("log lines about GPIO:\n%s\nwant\n%s", strings.Join(gpioLines, "\n"), strings.Join(wantLines, "\n"))
	}
	st, err := storage.Open(dbPath(data), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	es, _, err := st.Events(storage.EventQuery{Ascending: true, Types: []hub.EventType{hub.EvDeviceOffline, hub.EvFault}})
	if err != nil {
		t.Fatal(err)
	}
	var evs []string
	for _, e := range es {
		evs = append(evs, strings.TrimSpace(fmt.Sprintf("%s %s %s", e.Type, e.Zone, e.Detail)))
	}
	wantEvs := []string{
		"device_offline door",
		"fault  gpio:psu: GPIO off: gpio: /dev/gpiochip*: no GPIO chips",
		"fault  output:siren: cannot be driven: gpio: output siren: GPIO off: gpio: /dev/gpiochip*: no GPIO chips",
	}
	slices.Sort(evs) // the keeper's fault and the adapter's inputs race
	if !reflect.DeepEqual(evs, wantEvs) {
		t.Errorf("events:\n%s\nwant\n%s", strings.Join(evs, "\n"), strings.Join(wantEvs, "\n"))
	}
}

// gpioLogLines returns the log lines that mention GPIO, sorted, without their
// time and the data directory (named after the test).
func gpioLogLines(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		l = regexp.MustCompile(`^time=\S+ | data=\S+`).ReplaceAllString(l, "")
		if strings.Contains(strings.ToLower(l), "gpio") {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}

// Without any gpio binding nothing about GPIO happens: the chips are not even
// looked for, and the log says nothing of it.
func TestNoGPIOBindingsNoGPIO(t *testing.T) {
	p, _ := startGPIOHub(t, domainYAML, "", func() (gpio.Chips, error) {
		t.Error("GPIO chips probed without any gpio binding")
		return nil, gpio.ErrNoChips
	})
	p.stop(t)
	if l := gpioLogLines(p.stderr.String()); l != nil {
		t.Errorf("the log mentions GPIO:\n%s", strings.Join(l, "\n"))
	}
}
