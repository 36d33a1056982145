package zigbee

import (
	"testing"
	"time"

	"vakt/hub"
)

// A smoke detector that never sends its clear: the fire alarm sounds, is
// silenced (disarmed), and StuckAfter later the detector, still reporting smoke
// in every cached repeat, is stuck active — a trouble, not silence. Its clear
// restores it. While the alarm sounds nothing is stuck; a detector that clears
// in time raises nothing.
func TestStuckDetector(t *testing.T) {
	r := newRig(t, map[string]ZoneBinding{"kitchen_fire": {IEEE: ieeeKitchenSmk}}, nil, nil)
	r.bus.send("zigbee2mqtt/bridge/devices", string(allDevices(t)))
	r.bus.send("zigbee2mqtt/bridge/state", `{"state":"online"}`)
	smoke := func(on bool) {
		t.Helper()
		v := "false"
		if on {
			v = "true"
		}
		r.bus.send("zigbee2mqtt/kitchen_smoke", `{"smoke":`+v+`,"tamper":false,"battery_low":false,"test":false}`)
	}
	check := func(what string, want ...string) time.Time {
		t.Helper()
		next := r.a.Check()
		expect(t, what, r.hub.take(), want)
		return next
	}
	state := func(name hub.StateName, sounding ...hub.OutputKind) {
		r.a.mu.Lock()
		r.a.watch(hub.State{Name: name, Sounding: sounding})
		r.a.mu.Unlock()
	}
	smoke(false)
	r.hub.take()
	smoke(true)
	expect(t, "fire", r.hub.take(), []string{"kitchen_fire open"})
	state(hub.Triggered, hub.OutputSiren)
	r.clock.Add(time.Hour)
	smoke(true) // a battery report repeats the cached smoke
	check("an hour of alarm: the detector is the news")
	r.clock.Add(time.Minute)
	state(hub.Disarmed) // silenced
	next := check("just silenced")
	if want := r.clock.Now().Add(DefaultStuckAfter); !next.Equal(want) {
		t.Errorf("next check %s, want %s", next, want)
	}
	r.clock.Add(DefaultStuckAfter - time.Second)
	smoke(true)
	check("not yet")
	r.clock.Add(time.Second)
	check("stuck", "fault stuck:kitchen_fire active=true")
	r.clock.Add(time.Hour)
	smoke(true)
	check("still stuck: said once")
	smoke(false)
	expect(t, "the clear", r.hub.take(), []string{"kitchen_fire close", "fault stuck:kitchen_fire active=false"})

	// A detector active while the hub is quiet (its zone isolated, say) for
	// StuckAfter; one that clears in time raises nothing.
	smoke(true)
	r.hub.take()
	r.clock.Add(DefaultStuckAfter - time.Minute)
	smoke(false)
	r.clock.Add(time.Hour)
	check("cleared in time", "kitchen_fire close")
	smoke(true)
	r.clock.Add(DefaultStuckAfter)
	check("stuck again", "kitchen_fire open", "fault stuck:kitchen_fire active=true")
	// Released from its zone: the zone's fault restores with it.
	r.a.apply(checked{zones: map[string]ZoneBinding{}, outs: map[string]OutputBinding{}, keypads: map[string]string{}})
	expect(t, "released", r.hub.take(), []string{"fault stuck:kitchen_fire active=false", "kitchen_fire close"})
}
