package zigbee

import (
	"strings"
	"testing"
	"time"

	"vakt/hub"
)

// Sirens are supervised like zone devices: a siren silent longer than its
// check-in interval (its binding's, or by power source: 30 min on mains, 3 h on
// battery) is lost: unreachable, so the output keeper fails its output; its next
// message makes it reachable again and its level is sent again.
func TestSirenSupervision(t *testing.T) {
	r := newRig(t, nil, map[string]OutputBinding{
		"hall_siren":   {IEEE: ieeeHallSiren},                                     // mains
		"garage_siren": {IEEE: ieeeGarageSiren, CheckIn: hub.Duration(time.Hour)}, // battery, its own interval
	}, nil)
	k := &keeperLog{}
	r.a.Bind(k)
	r.bus.send("zigbee2mqtt/bridge/devices", string(allDevices(t)))
	r.bus.send("zigbee2mqtt/bridge/state", `{"state":"online"}`)
	k.take()
	r.logs.take()
	r.hub.take()
	reachable := func() []string {
		var out []string
		for _, id := range []string{"garage_siren", "hall_siren"} {
			if r.a.Reachable(hub.Output{ID: id, Kind: hub.OutputSiren}) {
				out = append(out, id)
			}
		}
		return out
	}
	lost := func() []string {
		var out []string
		for _, l := range r.logs.take() {
			if strings.HasPrefix(l, "ERROR zigbee: device lost") {
				out = append(out, l)
			}
		}
		return out
	}
	if next := r.a.Check(); !next.Equal(r.clock.Now().Add(DefaultCheckInMains)) {
		t.Errorf("next check %s", next)
	}
	r.clock.Add(DefaultCheckInMains - time.Second)
	r.a.Check()
	expect(t, "within 30 min", reachable(), []string{"garage_siren", "hall_siren"})
	r.clock.Add(time.Second)
	r.a.Check()
	expect(t, "the mains siren lost", lost(), []string{"ERROR zigbee: device lost: silent longer than its check-in interval ieee=" +
		ieeeHallSiren + " bound_to=output hall_siren silent=30m0s checkin=30m0s"})
	expect(t, "reachable", reachable(), []string{"garage_siren"})
	r.bus.send("zigbee2mqtt/hall_siren", `{"ac_status":false,"alarm":false,"battery_low":false,"linkquality":134,"tamper":false,"test":false}`)
	expect(t, "heard again", reachable(), []string{"garage_siren", "hall_siren"})
	expect(t, "its level again", k.take(), []string{"resend [hall_siren]"})
	r.clock.Add(30 * time.Minute)
	r.a.Check()
	expect(t, "the battery siren lost after its own hour, the mains one again", lost(), []string{
		"ERROR zigbee: device lost: silent longer than its check-in interval ieee=" + ieeeGarageSiren +
			" bound_to=output garage_siren silent=1h0m0s checkin=1h0m0s",
		"ERROR zigbee: device lost: silent longer than its check-in interval ieee=" + ieeeHallSiren +
			" bound_to=output hall_siren silent=30m0s checkin=30m0s"})
	expect(t, "reachable at last", reachable(), nil)
	expect(t, "no hub input for sirens", r.hub.take(), nil)
}

// Keypads are supervised too: one silent longer than its check-in interval (by
// power source; both here run on batteries) is the hub's fault
// device:keypad:<id>, restored by its next message. A loss the hub resumed at a
// start is restored by the keypad's next message, and the loss of a keypad no
// longer bound at once.
func TestKeypadSupervision(t *testing.T) {
	r := newRig(t, nil, nil, fixtureKeypads())
	r.bus.send("zigbee2mqtt/bridge/devices", string(allDevices(t)))
	r.bus.send("zigbee2mqtt/bridge/state", `{"state":"online"}`)
	r.hub.take()
	name := map[string]string{}
	for _, d := range r.a.Devices() {
		name[d.IEEE] = d.FriendlyName
	}
	if next := r.a.Check(); !next.Equal(r.clock.Now().Add(DefaultCheckInBattery)) {
		t.Errorf("next check %s", next)
	}
	r.clock.Add(DefaultCheckInBattery - time.Second)
	r.a.Check()
	expect(t, "within the interval", r.hub.take(), nil)
	r.clock.Add(time.Second)
	r.a.Check()
	expect(t, "both lost", r.hub.take(), []string{"fault device:keypad:hall_keypad active=true", "fault device:keypad:bob active=true"})
	r.a.Check()
	expect(t, "lost once", r.hub.take(), nil)
	r.bus.send("zigbee2mqtt/"+name[ieeeKeypad], `{"battery":90,"tamper":false}`)
	expect(t, "heard again", r.hub.take(), []string{"fault device:keypad:hall_keypad active=false"})
	r.bus.send("zigbee2mqtt/"+name[ieeeKeypad], `{"battery":90,"tamper":false}`)
	expect(t, "restored once", r.hub.take(), nil)

	// A start with losses in the hub's state.
	r2 := newRig(t, nil, nil, fixtureKeypads())
	r2.bus.send("zigbee2mqtt/bridge/devices", string(allDevices(t)))
	r2.hub.take()
	st := hub.State{Name: hub.Disarmed, Faults: map[hub.FaultID]bool{
		{Kind: hub.FaultDevice, Subject: "keypad:hall_keypad"}: true,
		{Kind: hub.FaultDevice, Subject: "keypad:gone"}:        true,
		{Kind: hub.FaultCamera, Subject: "porch"}:              true,
	}}
	r2.a.mu.Lock()
	r2.a.keypadFaults(st)
	r2.a.mu.Unlock()
	r2.a.flush()
	expect(t, "a keypad no longer bound", r2.hub.take(), []string{"fault device:keypad:gone active=false"})
	r2.bus.send("zigbee2mqtt/"+name[ieeeKeypad], `{"battery":90,"tamper":false}`)
	expect(t, "the resumed loss restored", r2.hub.take(), []string{"fault device:keypad:hall_keypad active=false"})
}
