package zigbee

import (
	"testing"
	"time"

	"vakt/hub"
)

// A motion sensor whose clear never comes (Zigbee2MQTT restarted inside its
// occupancy_timeout): its clear rule takes the zone as closed ClearAfter after
// the last report of motion; a cached repeat of occupancy: true does not open
// it again, and StuckAfter of such repeats later the detector is stuck active.
// Its clear restores it; a change to active opens the zone again, and a clear
// in time leaves the rule nothing to do.
func TestClearRuleMotion(t *testing.T) {
	r := newRig(t, map[string]ZoneBinding{"hall_pir": {IEEE: ieeeAqaraMotion, Property: "occupancy",
		ClearAfter: hub.Duration(90 * time.Second)}}, nil, nil)
	r.bus.send("zigbee2mqtt/bridge/devices", string(allDevices(t)))
	r.bus.send("zigbee2mqtt/bridge/state", `{"state":"online"}`)
	r.hub.take()
	pir := func(on bool) {
		t.Helper()
		v := "false"
		if on {
			v = "true"
		}
		r.bus.send("zigbee2mqtt/hall_motion_aqara", `{"battery":100,"illuminance":12,"occupancy":`+v+`}`)
	}
	check := func(what string, wantNext time.Duration, want ...string) {
		t.Helper()
		next := r.a.Check()
		expect(t, what, r.hub.take(), want)
		if w := r.clock.Now().Add(wantNext); wantNext != 0 && !next.Equal(w) {
			t.Errorf("%s: next check at %s, want %s", what, next, w)
		}
	}
	pir(true)
	expect(t, "motion", r.hub.take(), []string{"hall_pir online", "hall_pir open", "hall_pir battery_ok"})
	r.clock.Add(60 * time.Second)
	pir(true) // more motion while open: the rule's time runs from here
	check("still open", 90*time.Second)
	r.clock.Add(89 * time.Second)
	check("not yet", time.Second)
	r.clock.Add(time.Second)
	check("no clear within clear_after", DefaultStuckAfter, "hall_pir close")
	pir(true) // the cached state repeated: not a new detection
	r.clock.Add(DefaultStuckAfter - time.Second)
	pir(true)
	check("a repeat of the cache is not motion", time.Second)
	r.clock.Add(time.Second)
	check("stuck: it cannot tell motion from its cache", 0, "fault stuck:hall_pir active=true")
	r.clock.Add(time.Hour)
	check("said once", 0)
	pir(false)
	expect(t, "its clear", r.hub.take(), []string{"fault stuck:hall_pir active=false"})
	pir(true)
	expect(t, "new motion", r.hub.take(), []string{"hall_pir open"})
	r.clock.Add(30 * time.Second)
	pir(false)
	expect(t, "cleared by the device in time", r.hub.take(), []string{"hall_pir close"})
	r.clock.Add(time.Hour)
	check("nothing for the rule", 0)

	// The rule removed while it holds the zone closed: the device's level
	// counts again.
	pir(true)
	r.clock.Add(90 * time.Second)
	check("closed by the rule", DefaultStuckAfter, "hall_pir open", "hall_pir close")
	r.a.apply(checked{zones: map[string]ZoneBinding{"hall_pir": {IEEE: ieeeAqaraMotion, Property: "occupancy"}},
		outs: map[string]OutputBinding{}, keypads: map[string]string{}})
	expect(t, "no rule: the device says occupied", r.hub.take(), []string{"hall_pir open"})
	r.clock.Add(time.Hour)
	check("no rule, nothing pending", 0)
}

// A vibration sensor sends a one-shot action with each detection: a detection
// after the rule closed the zone opens it again, a cached repeat does not.
func TestClearRuleVibration(t *testing.T) {
	r := newRig(t, map[string]ZoneBinding{"safe": {IEEE: ieeeVibration, Property: "vibration",
		ClearAfter: hub.Duration(30 * time.Second)}}, nil, nil)
	r.bus.send("zigbee2mqtt/bridge/devices", string(allDevices(t)))
	r.hub.take()
	hit := `{"action":"vibration","battery":100,"strength":11,"vibration":true}`
	cached := `{"battery":100,"strength":11,"vibration":true}`
	r.bus.send("zigbee2mqtt/safe_vibration", hit)
	expect(t, "hit", r.hub.take(), []string{"safe online", "safe open", "safe battery_ok"})
	r.clock.Add(30 * time.Second)
	r.a.Check()
	expect(t, "rule", r.hub.take(), []string{"safe close"})
	r.bus.send("zigbee2mqtt/safe_vibration", cached)
	expect(t, "cached repeat", r.hub.take(), nil)
	r.bus.send("zigbee2mqtt/safe_vibration", hit)
	expect(t, "a new hit", r.hub.take(), []string{"safe open"})
	r.clock.Add(30 * time.Second)
	r.a.Check()
	expect(t, "rule again", r.hub.take(), []string{"safe close"})
	r.clock.Add(DefaultStuckAfter)
	r.a.Check()
	expect(t, "stuck", r.hub.take(), []string{"fault stuck:safe active=true"})
	r.bus.send("zigbee2mqtt/safe_vibration", hit)
	expect(t, "a hit shows it can still report", r.hub.take(), []string{"fault stuck:safe active=false", "safe open"})
}

// A clear rule only for pulse properties named in the binding, 1 s to 24 h.
func TestClearRuleRefused(t *testing.T) {
	for _, c := range []struct {
		b    ZoneBinding
		want string
	}{
		{ZoneBinding{IEEE: ieeeFrontDoor, Property: "contact", ClearAfter: hub.Duration(time.Minute)},
			"zigbee: zone z: clear_after needs property set to one of occupancy, vibration, presence, tilt (a door contact or a smoke detector is never taken as closed)"},
		{ZoneBinding{IEEE: ieeeAqaraMotion, ClearAfter: hub.Duration(time.Minute)},
			"zigbee: zone z: clear_after needs property set to one of occupancy, vibration, presence, tilt (a door contact or a smoke detector is never taken as closed)"},
		{ZoneBinding{IEEE: ieeeAqaraMotion, Property: "occupancy", ClearAfter: hub.Duration(time.Millisecond)},
			"zigbee: zone z: clear_after 1ms is not between 1s and 24h0m0s"},
		{ZoneBinding{IEEE: ieeeAqaraMotion, Property: "occupancy", ClearAfter: hub.Duration(-time.Minute)},
			"zigbee: zone z: clear_after -1m0s is not between 1s and 24h0m0s"},
	} {
		_, err := New(newBus(), newRecHub(), map[string]ZoneBinding{"z": c.b}, nil, Options{})
		if err == nil || err.Error() != c.want {
			t.Errorf("%+v: got %v\nwant %s", c.b, err, c.want)
		}
	}
	if _, err := New(newBus(), newRecHub(), map[string]ZoneBinding{"z": {IEEE: ieeeAqaraMotion, Property: "occupancy",
		ClearAfter: hub.Duration(90 * time.Second)}}, nil, Options{}); err != nil {
		t.Errorf("a good rule: %v", err)
	}
}
