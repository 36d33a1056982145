package zigbee

import (
	"context"
	"reflect"
	"testing"
	"time"

	"vakt/hub"
)

// Bindings change while the adapter runs: a newly bound zone takes its device's
// cached state (an open door is open, a smoke detector reporting smoke is a
// fire), a released zone restores what it had raised and hears nothing more,
// and a zone moved to another device follows that one.
func TestRebindAtRunTime(t *testing.T) {
	r := newRig(t, nil, nil, nil)
	r.bus.send("zigbee2mqtt/bridge/devices", string(allDevices(t)))
	r.bus.send("zigbee2mqtt/bridge/state", `{"state":"online"}`)
	r.bus.send("zigbee2mqtt/front_door", `{"battery":100,"contact":false}`)
	r.bus.send("zigbee2mqtt/kitchen_smoke", `{"smoke":true,"tamper":false,"battery_low":false,"test":false}`)
	expect(t, "nothing bound", r.hub.take(), []string{"fault zigbee:zigbee2mqtt active=false"})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.a.Run(ctx) }()
	defer func() { cancel(); <-done }()

	rebind := func(zones map[string]ZoneBinding) {
		t.Helper()
		if err := r.a.Rebind(ctx, Bindings{Zones: zones}); err != nil {
			t.Fatal(err)
		}
	}
	rebind(map[string]ZoneBinding{"door": {IEEE: "0x00158D0001A2B3C4"}, "kitchen": {IEEE: ieeeKitchenSmk}})
	expect(t, "adopted", r.hub.take(), []string{
		"kitchen online", "kitchen tamper_restore", "kitchen open", "kitchen battery_ok",
		"door online", "door open", "door battery_ok"})
	r.bus.send("zigbee2mqtt/front_door", `{"battery":100,"contact":true}`)
	expect(t, "the door closes", r.hub.take(), []string{"door close"})

	// The same bindings again: nothing to say.
	rebind(map[string]ZoneBinding{"door": {IEEE: ieeeFrontDoor}, "kitchen": {IEEE: ieeeKitchenSmk}})
	expect(t, "unchanged", r.hub.take(), nil)

	// The kitchen released; the door moved to the hall's motion detector.
	rebind(map[string]ZoneBinding{"door": {IEEE: ieeeHallMotion}})
	expect(t, "released and moved", r.hub.take(), []string{"kitchen close"})
	r.bus.send("zigbee2mqtt/front_door", `{"battery":100,"contact":false}`)
	r.bus.send("zigbee2mqtt/kitchen_smoke", `{"smoke":false,"tamper":true,"battery_low":true,"test":false}`)
	expect(t, "released devices", r.hub.take(), nil)
	r.bus.send("zigbee2mqtt/hall_motion", `{"battery":90,"occupancy":true,"battery_low":false}`)
	expect(t, "the new device", r.hub.take(), []string{"door online", "door open", "door battery_ok"})
	status := r.a.Status()
	bound := map[string][]string{}
	for _, d := range status {
		bound[d.IEEE] = d.Zones
	}
	if len(bound[ieeeHallMotion]) != 1 || len(bound[ieeeFrontDoor]) != 0 || len(bound[ieeeKitchenSmk]) != 0 {
		t.Errorf("status after the moves: %+v", bound)
	}
}

// A binding that does not check out changes nothing.
func TestRebindRefused(t *testing.T) {
	r := newRig(t, map[string]ZoneBinding{"door": {IEEE: ieeeFrontDoor}}, nil, nil)
	err := r.a.Rebind(t.Context(), Bindings{Zones: map[string]ZoneBinding{"door": {IEEE: ieeeFrontDoor, Property: "colour"}}})
	want := `zigbee: zone door: property "colour" is not one of contact, occupancy, smoke, water_leak, gas, ` +
		`carbon_monoxide, vibration, presence, sos, alarm, tilt, window_open, garage_door_contact, water, action`
	if err == nil || err.Error() != want {
		t.Errorf("Rebind: %v\nwant %s", err, want)
	}
	if st := r.a.zones[ieeeFrontDoor]; len(st) != 1 || st[0].id != "door" {
		t.Errorf("zones after a refused rebind: %+v", r.a.zones)
	}
}

// A zone that stays on its device keeps what it posted: a new check-in interval
// or the default property named is no close and open again.
func TestRebindSameDevice(t *testing.T) {
	r := newRig(t, map[string]ZoneBinding{"kitchen": {IEEE: ieeeKitchenSmk}}, nil, nil)
	r.bus.send("zigbee2mqtt/bridge/devices", string(allDevices(t)))
	r.bus.send("zigbee2mqtt/kitchen_smoke", `{"smoke":true,"tamper":false,"battery_low":false,"test":false}`)
	r.hub.take()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	if err := r.a.Rebind(ctx, Bindings{Zones: map[string]ZoneBinding{"kitchen": {IEEE: ieeeKitchenSmk, CheckIn: 3600e9}}}); err != nil {
		t.Fatal(err)
	}
	expect(t, "a new check-in interval", r.hub.take(), nil)
	if err := r.a.Rebind(ctx, Bindings{Zones: map[string]ZoneBinding{"kitchen": {IEEE: ieeeKitchenSmk, Property: "smoke"}}}); err != nil {
		t.Fatal(err)
	}
	expect(t, "the property named", r.hub.take(), nil)
}

// What the adapter knows of each zone's device: battery, low battery as judged
// with the threshold, last seen and link quality from the last state message.
func TestZoneDevices(t *testing.T) {
	r := started(t)
	r.bus.send("zigbee2mqtt/front_door", `{"battery":97,"contact":true,"linkquality":87,"voltage":3025}`)
	at := r.clock.Now()
	r.clock.Add(time.Minute)
	r.bus.send("zigbee2mqtt/kitchen_smoke", `{"smoke":false,"battery_low":true,"linkquality":"strong"}`)
	got := r.a.ZoneDevices()
	bat, lqi := 97.0, 87
	want := map[string]ZoneDevice{
		"front_door":   {IEEE: ieeeFrontDoor, Name: "front_door", Battery: &bat, LastSeen: at, LinkQuality: &lqi},
		"kitchen_fire": {IEEE: ieeeKitchenSmk, Name: "kitchen_smoke", BatteryLow: true, LastSeen: at.Add(time.Minute)},
	}
	for id, d := range got {
		if _, ok := want[id]; !ok && (d.LastSeen != time.Time{} || d.Battery != nil || d.BatteryLow) {
			t.Errorf("zone %s: %+v, want nothing heard", id, d)
		}
	}
	for id, w := range want {
		if !reflect.DeepEqual(got[id], w) {
			t.Errorf("zone %s:\n got %+v\nwant %+v", id, got[id], w)
		}
	}
	if len(got) != len(fixtureZones()) {
		t.Errorf("%d zones, want %d", len(got), len(fixtureZones()))
	}
}

// A change of bindings in words, one line per zone, output and keypad changed.
func TestDescribeChange(t *testing.T) {
	before := Bindings{Zones: map[string]ZoneBinding{"door": {IEEE: ieeeFrontDoor}, "smoke": {IEEE: ieeeKitchenSmk}},
		Keypads: map[string]KeypadBinding{"hall": {IEEE: ieeeKeypad}}}
	after := Bindings{Zones: map[string]ZoneBinding{"door": {IEEE: ieeeFrontDoor},
		"smoke": {IEEE: ieeeKitchenSmk, Property: "smoke", StuckAfter: hub.Duration(15 * time.Minute)},
		"pir":   {IEEE: ieeeAqaraMotion, Property: "occupancy", ClearAfter: hub.Duration(90 * time.Second)}},
		Outputs: map[string]OutputBinding{"siren": {IEEE: ieeeHallSiren, Mode: "fire", Squawk: true}}}
	expect(t, "lines", DescribeChange(before, after), []string{
		"zone pir: zigbee none → 0x00158d0002bbbb02 occupancy clear_after 1m30s",
		"zone smoke: zigbee 0x000d6f0011cccc03 → 0x000d6f0011cccc03 smoke stuck_after 15m0s",
		"output siren: zigbee none → 0x0015bc001b02c3d4 fire squawk",
		"keypad hall: zigbee 0x0015bc002f00a1b2 → none",
	})
}
