package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"vakt/hub/uplink/receiver"
)

// stuckDomain has a fire zone on a Heiman smoke detector (the fixtures'
// kitchen_smoke) that never sends its clear.
const stuckDomain = `
settings:
  exit_delay: {away: 0s, home: 0s, night: 0s, vacation: 0s}
zones:
  - {id: kitchen, name: Kitchen smoke, number: 3, type: fire, zigbee: {ieee: "0x000d6f0011cccc03", property: smoke}}
`

// fakeClock is a settable clock for the Zigbee adapter of a hub served in
// process: After's channels fire when Add passes their time, and each call of
// After (the adapter's supervision parking until its next check) is told on
// parked, with the clock's time.
type fakeClock struct {
	mu      sync.Mutex
	t       time.Time
	waiters []fakeWaiter
	parked  chan time.Time
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Now(), parked: make(chan time.Time, 1000)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := fakeWaiter{at: c.t.Add(d), ch: make(chan time.Time, 1)}
	if d <= 0 {
		w.ch <- c.t
	} else {
		c.waiters = append(c.waiters, w)
	}
	c.parked <- c.t
	return w.ch
}

// step moves the clock on by a minute (the longest the supervision parks) and
// waits until the adapter parks at the new time. The check before that park
// may have come just before the move, but the one before the move came after
// the previous step: once step returns, the adapter has checked at the time
// before the move or later.
func (c *fakeClock) step(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	c.t = c.t.Add(time.Minute)
	now := c.t
	c.waiters = slices.DeleteFunc(c.waiters, func(w fakeWaiter) bool {
		if w.at.After(now) {
			return false
		}
		w.ch <- now
		return true
	})
	c.mu.Unlock()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case at := <-c.parked:
			if !at.Before(now) {
				return
			}
		case <-deadline:
			t.Fatal("the Zigbee adapter did not check again after the clock moved")
		}
	}
}

// kitchenSmoke is bridge/devices with the fixtures' kitchen_smoke (a Heiman
// HS1SA) in it.
func kitchenSmoke(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("sensors/zigbee/testdata/devices-extra.json")
	if err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	for _, d := range list {
		if d["friendly_name"] == "kitchen_smoke" {
			out, _ := json.Marshal([]any{d})
			return string(out)
		}
	}
	t.Fatal("no kitchen_smoke in devices-extra.json")
	return ""
}

// The real hub with its embedded broker and uplink, Zigbee2MQTT played by a real
// MQTT client, the Zigbee adapter on a settable clock: a smoke detector reports
// smoke, the fire alarm sounds and is silenced by a disarm, but the detector
// never clears: every cached repeat still says smoke. stuck_after (10 min) after
// the silence it is stuck active: the trouble is in the event log and at the
// monitoring centre (Contact ID 373, fire loop trouble, on the fire zone), and
// arming is refused unless forced. The detector's clear restores it (3373).
func TestZigbeeStuckDetectorEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("serves the hub")
	}
	rcv := startReceiver(t, receiver.Account{ID: "4321"})
	cids := collectCIDs(rcv)
	clk := newFakeClock()
	boot := zigbeeBoot + fmt.Sprintf("uplink:\n  paths:\n    - {addr: %q, network: udp, account: \"4321\"}\n", rcv.UDPAddr().String())
	p, data := startServed(t, stuckDomain, boot, func(o *options) {
		o.zigbeeClock = zigbeeClock{now: clk.Now, after: clk.After}
	})
	defer p.stop(t)
	z2m := dialMQTT(t, p.mqtt, "zigbee2mqtt", "z2m-pass")
	z2m.pub(t, "zigbee2mqtt/bridge/state", `{"state":"online"}`, true)
	z2m.pub(t, "zigbee2mqtt/bridge/devices", kitchenSmoke(t), true)
	smoke := func(on bool) {
		t.Helper()
		z2m.pub(t, "zigbee2mqtt/kitchen_smoke", fmt.Sprintf(
			`{"battery_low":false,"linkquality":63,"smoke":%t,"supervision_reports":true,"tamper":false,"test":false}`, on), false)
	}
	smoke(false)
	got, seq := waitEvents(t, data, 0, 1)
	expectEvents(t, "the start", got, "restart   resumed in state disarmed")

	smoke(true)
	pollJSON(t, data, "/api/v1/status", func(s zoneDoc) bool { return s.State == "triggered" })
	if code, msg := localStatus(t, data, http.MethodPost, "/api/v1/disarm", map[string]any{}); code != 200 {
		t.Fatalf("disarm: %d %s", code, msg)
	}
	got, seq = waitEvents(t, data, seq, 3)
	expectEvents(t, "the fire, silenced", got, "zone_open kitchen", "alarm kitchen  fire", "alarm_cancel kitchen console (root)")

	// Battery reports repeat smoke: true from the cache, for ten minutes.
	type health struct {
		Faults []string `json:"faults"`
	}
	for i := 1; i <= 11; i++ {
		smoke(true)
		clk.step(t)
		if i < 10 {
			var h health
			if getJSON(t, data, "/healthz", &h); len(h.Faults) > 0 {
				t.Fatalf("faults %q after %d minutes, before stuck_after", h.Faults, i)
			}
		}
	}
	pollJSON(t, data, "/healthz", func(h health) bool { return slices.Equal(h.Faults, []string{"stuck:kitchen"}) })
	got, seq = waitEvents(t, data, seq, 1)
	expectEvents(t, "stuck", got, "fault   stuck:kitchen: detector stuck active: it cannot report a new alarm until it clears")

	resp, err := localRequest(t.Context(), data, http.MethodPost, "/api/v1/arm", map[string]any{"mode": "away"})
	if err != nil {
		t.Fatal(err)
	}
	var refusal struct {
		Error   string `json:"error"`
		Reasons []struct {
			Reason string `json:"reason"`
			Zone   string `json:"zone"`
			Fault  string `json:"fault"`
		} `json:"reasons"`
	}
	err = json.NewDecoder(resp.Body).Decode(&refusal)
	resp.Body.Close()
	if b, _ := json.Marshal(refusal); err != nil || resp.StatusCode != 409 ||
		string(b) != `{"error":"not_ready","reasons":[{"reason":"open","zone":"kitchen","fault":""},{"reason":"detector_stuck","zone":"","fault":"stuck:kitchen"}]}` {
		t.Errorf("arm with a stuck detector: %d %s %v", resp.StatusCode, b, err)
	}
	if code, msg := localStatus(t, data, http.MethodPost, "/api/v1/arm", map[string]any{"mode": "away", "force": true}); code != 200 {
		t.Errorf("forced arm: %d %q", code, msg)
	}
	if code, msg := localStatus(t, data, http.MethodPost, "/api/v1/disarm", map[string]any{}); code != 200 {
		t.Fatalf("disarm: %d %s", code, msg)
	}
	smoke(false)
	pollJSON(t, data, "/healthz", func(h health) bool { return len(h.Faults) == 0 })
	got, _ = waitEvents(t, data, seq, 6)
	expectEvents(t, "arming, and the clear", got,
		"arm_refused  console (root)",
		"arm_forced  console (root)",
		"armed  console (root)",
		"disarmed  console (root)",
		"zone_closed kitchen",
		"fault_restore   stuck:kitchen: the detector reports clear")

	// The restart, the fire and its cancel, the trouble, the forced arming (the
	// open fire zone is not bypassed: it cannot be, it keeps guarding) and the
	// disarm, the trouble's restore.
	want := []string{"1305 01 000", "1110 01 003", "1406 01 000", "1373 01 003", "3401 01 000", "1401 01 000", "3373 01 003"}
	waitGPIO(t, "the centre's reports", func() bool { return len(cids.list()) >= len(want) }, cids.list)
	if l := cids.list(); !slices.Equal(l, want) {
		t.Errorf("the centre got %q\nwant %q", l, want)
	}
}
