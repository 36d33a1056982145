package zigbee

import (
	"context"
	"runtime"
	"sync"
	"testing"

	"vakt/hub"
)

// A siren bound with squawk chirps when the system becomes armed (from disarmed
// or the exit delay) and when it is disarmed; not for the state at start, the
// exit and entry delays, the alarm, or the return to armed after it. A siren
// without squawk hears nothing; one bound with squawk that has none is logged.
func TestSquawks(t *testing.T) {
	r := newRig(t, nil, map[string]OutputBinding{
		"hall_siren":   {IEEE: ieeeHallSiren, Squawk: true, Level: "high"},
		"garage_siren": {IEEE: ieeeGarageSiren, Squawk: true},
		"neo_siren":    {IEEE: ieeeNeo},
	}, nil)
	r.bus.send("zigbee2mqtt/bridge/devices", string(allDevices(t)))
	r.bus.send("zigbee2mqtt/bridge/state", `{"state":"online"}`)
	r.logs.take()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- r.a.Run(ctx) }()
	stop := sync.OnceFunc(func() { cancel(); <-done })
	defer stop()
	for subscribed := false; !subscribed; runtime.Gosched() { // Run follows the hub's state from its subscription on
		r.panel.mu.Lock()
		subscribed = len(r.panel.subs) > 0
		r.panel.mu.Unlock()
	}
	const armed = `zigbee2mqtt/hall_siren/set {"squawk":{"level":"high","state":"system_is_armed","strobe":true}} retain=false`
	const disarmed = `zigbee2mqtt/hall_siren/set {"squawk":{"level":"high","state":"system_is_disarmed","strobe":true}} retain=false`
	for _, st := range []hub.StateName{hub.Arming, hub.ArmedAway, hub.Pending, hub.Triggered, hub.Disarmed,
		hub.ArmedNight, hub.Triggered, hub.ArmedNight, hub.Disarmed} {
		r.panel.set(hub.State{Name: st})
	}
	expect(t, "squawks", r.bus.wait(t, 4), []string{armed, disarmed, armed, disarmed})
	r.panel.set(hub.State{Name: hub.Disarmed, Faults: map[hub.FaultID]bool{{Kind: hub.FaultZigbee, Subject: "x"}: true}})
	r.panel.set(hub.State{Name: hub.ArmedHome})
	expect(t, "a change that is not the state's, then armed home", r.bus.wait(t, 1), []string{armed})
	stop()
	expect(t, "nothing else", r.bus.take(), nil)
	var logs []string
	for _, l := range r.logs.take() {
		if l[:4] == "WARN" {
			logs = append(logs, l)
		}
	}
	w := "WARN zigbee: squawk not sent: the siren is not in bridge/devices, or has no squawk output=garage_siren ieee=" + ieeeGarageSiren
	expect(t, "logged", logs, []string{w, w, w, w, w})
}
