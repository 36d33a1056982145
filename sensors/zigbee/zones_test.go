package zigbee

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"vakt/hub"
)

// started returns a rig that has read bridge/devices and bridge/state online.
func started(t *testing.T) *rig {
	t.Helper()
	r := newRig(t, fixtureZones(), fixtureOutputs(), fixtureKeypads())
	r.bus.send("zigbee2mqtt/bridge/devices", string(allDevices(t)))
	r.bus.send("zigbee2mqtt/bridge/state", `{"state":"online"}`)
	r.hub.take()
	r.logs.take()
	return r
}

func expect(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s\n got %q\nwant %q", what, got, want)
	}
}

// A state message repeats the whole cached state: only a property that changed
// is an event.
func TestCachedStateIsNotAnEvent(t *testing.T) {
	r := started(t)
	door := func(contact bool, battery int) string {
		return fmt.Sprintf(`{"battery":%d,"contact":%v,"linkquality":87,"voltage":3025}`, battery, contact)
	}
	r.bus.send("zigbee2mqtt/front_door", door(true, 100))
	expect(t, "first", r.hub.take(), []string{"front_door online", "front_door close", "front_door battery_ok"})
	r.bus.send("zigbee2mqtt/front_door", door(true, 99)) // a battery report
	expect(t, "battery report", r.hub.take(), nil)
	r.bus.send("zigbee2mqtt/front_door", door(false, 99))
	expect(t, "opened", r.hub.take(), []string{"front_door open"})
	r.bus.send("zigbee2mqtt/front_door", door(false, 99))
	expect(t, "heartbeat while open", r.hub.take(), nil)
	r.bus.send("zigbee2mqtt/front_door", `{"battery":99,"linkquality":80}`) // contact absent
	expect(t, "contact absent", r.hub.take(), nil)
	r.bus.send("zigbee2mqtt/front_door", `{"battery":99,"contact":null}`)
	expect(t, "contact null", r.hub.take(), nil)
	r.bus.send("zigbee2mqtt/front_door", door(true, 99))
	expect(t, "closed", r.hub.take(), []string{"front_door close"})
}

// Zigbee2MQTT restarting republishes every cached state: no input but the
// bridge fault and its restore; a change missed meanwhile is posted.
func TestBridgeRestart(t *testing.T) {
	r := started(t)
	r.bus.send("zigbee2mqtt/front_door", `{"battery":100,"contact":false}`)
	r.bus.send("zigbee2mqtt/hall_motion_aqara", `{"battery":100,"occupancy":false}`)
	r.bus.send("zigbee2mqtt/kitchen_smoke", `{"smoke":false,"tamper":false,"battery_low":false,"test":false}`)
	r.hub.take()

	r.bus.send("zigbee2mqtt/bridge/state", `{"state":"offline"}`)
	expect(t, "offline", r.hub.take(), []string{"fault zigbee:zigbee2mqtt active=true"})
	if r.a.Reachable(hubOutput("hall_siren")) {
		t.Error("siren reachable while Zigbee2MQTT is offline")
	}
	r.bus.send("zigbee2mqtt/bridge/state", `{"state":"online"}`)
	r.bus.send("zigbee2mqtt/front_door/availability", `{"state":"online"}`)
	r.bus.send("zigbee2mqtt/front_door", `{"battery":100,"contact":false}`)
	r.bus.send("zigbee2mqtt/hall_motion_aqara", `{"battery":100,"occupancy":false}`)
	r.bus.send("zigbee2mqtt/kitchen_smoke", `{"smoke":false,"tamper":false,"battery_low":false,"test":false}`)
	expect(t, "republished cache", r.hub.take(), []string{"fault zigbee:zigbee2mqtt active=false"})

	// The door closed while Zigbee2MQTT was down: its cache says so.
	r.bus.send("zigbee2mqtt/bridge/state", `offline`)
	r.bus.send("zigbee2mqtt/bridge/state", `online`)
	r.bus.send("zigbee2mqtt/front_door", `{"battery":100,"contact":true}`)
	expect(t, "missed change", r.hub.take(), []string{"fault zigbee:zigbee2mqtt active=true",
		"fault zigbee:zigbee2mqtt active=false", "front_door close"})
}

// A smoke detector under test (test: true) is not a fire; once the test ends a
// smoke still reported is.
func TestSmokeSelfTest(t *testing.T) {
	r := started(t)
	smoke := func(smoke, test bool) string {
		return fmt.Sprintf(`{"battery_low":false,"smoke":%v,"tamper":false,"test":%v}`, smoke, test)
	}
	r.bus.send("zigbee2mqtt/kitchen_smoke", smoke(false, false))
	r.hub.take()
	r.logs.take()
	r.bus.send("zigbee2mqtt/kitchen_smoke", smoke(true, true))
	expect(t, "self-test", r.hub.take(), nil)
	expect(t, "log", r.logs.take(), []string{"WARN zigbee: detector under test: not an alarm zone=kitchen_fire ieee=" +
		ieeeKitchenSmk + " property=smoke"})
	r.bus.send("zigbee2mqtt/kitchen_smoke", smoke(false, false))
	expect(t, "test over", r.hub.take(), nil)
	r.bus.send("zigbee2mqtt/kitchen_smoke", smoke(true, true))
	r.bus.send("zigbee2mqtt/kitchen_smoke", smoke(true, false))
	expect(t, "smoke after the test", r.hub.take(), []string{"kitchen_fire open"})
}

func TestBatteryLow(t *testing.T) {
	r := started(t)
	r.bus.send("zigbee2mqtt/front_door", `{"battery":21,"contact":true}`)
	r.hub.take()
	r.bus.send("zigbee2mqtt/front_door", `{"battery":19.5,"contact":true}`)
	expect(t, "under 20 %", r.hub.take(), []string{"front_door low_battery"})
	r.bus.send("zigbee2mqtt/front_door", `{"battery":18,"contact":true}`)
	expect(t, "still low", r.hub.take(), nil)
	r.bus.send("zigbee2mqtt/front_door", `{"battery":100,"contact":true}`)
	expect(t, "new battery", r.hub.take(), []string{"front_door battery_ok"})
	// battery_low wins over a percentage that looks fine.
	r.bus.send("zigbee2mqtt/Back door", `{"battery":90,"battery_low":false,"contact":true}`)
	r.hub.take()
	r.bus.send("zigbee2mqtt/Back door", `{"battery":90,"battery_low":true,"contact":true}`)
	expect(t, "battery_low", r.hub.take(), []string{"back_door low_battery"})
	r.bus.send("zigbee2mqtt/Back door", `{"battery":90,"battery_low":false,"contact":true}`)
	expect(t, "cleared", r.hub.take(), []string{"back_door battery_ok"})
}

// Friendly names may hold spaces and '/'; a renamed device keeps its zone.
func TestNamesAndRename(t *testing.T) {
	devices := func(doorName string) string {
		return `[{"friendly_name":"` + doorName + `","ieee_address":"` + ieeeFrontDoor + `","type":"EndDevice","power_source":"Battery",
		"interview_state":"SUCCESSFUL","definition":{"model":"MCCGQ11LM","vendor":"Aqara","exposes":[
		{"access":1,"name":"contact","property":"contact","type":"binary","value_on":false,"value_off":true}]}},
		{"friendly_name":"ground floor","ieee_address":"0x00158d0001000001","type":"EndDevice","interview_state":"SUCCESSFUL",
		"definition":{"model":"X","vendor":"Y","exposes":[{"access":1,"name":"occupancy","property":"occupancy","type":"binary","value_on":true,"value_off":false}]}}]`
	}
	r := newRig(t, map[string]ZoneBinding{"door": {IEEE: ieeeFrontDoor}, "floor": {IEEE: "0x00158D0001000001"}}, nil, nil)
	r.bus.send("zigbee2mqtt/bridge/devices", devices("ground floor/back door"))
	r.bus.send("zigbee2mqtt/ground floor/back door", `{"contact":false}`)
	r.bus.send("zigbee2mqtt/ground floor", `{"occupancy":true}`)
	r.bus.send("zigbee2mqtt/ground floor/back door/availability", `{"state":"offline"}`)
	r.bus.send("zigbee2mqtt/ground floor/back door/set", `{"x":1}`)
	expect(t, "names with / and spaces", r.hub.take(), []string{"door online", "door open", "floor online", "floor open", "door offline"})

	r.bus.send("zigbee2mqtt/bridge/devices", devices("Porch"))
	r.bus.send("zigbee2mqtt/ground floor/back door/availability", ``) // the old name's retained topic cleared
	r.bus.send("zigbee2mqtt/Porch/availability", `{"state":"online"}`)
	r.bus.send("zigbee2mqtt/Porch", `{"contact":true}`)
	expect(t, "renamed", r.hub.take(), []string{"door online", "door close"})
}

// A device silent past its check-in interval is lost (zone offline) and comes
// back with its next message; the default interval depends on the power source.
func TestSupervision(t *testing.T) {
	zones := map[string]ZoneBinding{
		"front_door":  {IEEE: ieeeFrontDoor},                                     // battery: 3 h
		"kitchen_gas": {IEEE: ieeeGas},                                           // mains: 30 min
		"sink":        {IEEE: ieeeLeak, CheckIn: hub.Duration(10 * time.Minute)}, // configured
		"ghost":       {IEEE: "0x00158d00099999ff"},                              // never in bridge/devices
	}
	r := newRig(t, zones, nil, nil)
	t0 := r.clock.Now()
	r.bus.send("zigbee2mqtt/bridge/devices", string(allDevices(t)))
	r.bus.send("zigbee2mqtt/front_door", `{"contact":true}`)
	r.bus.send("zigbee2mqtt/kitchen_gas", `{"gas":false}`)
	r.bus.send("zigbee2mqtt/sink_leak", `{"water_leak":false}`)
	r.hub.take()
	if next := r.a.Check(); !next.Equal(t0.Add(10 * time.Minute)) {
		t.Errorf("next check %v, want %v", next, t0.Add(10*time.Minute))
	}
	r.clock.Add(10*time.Minute - time.Second)
	r.a.Check()
	expect(t, "before the interval", r.hub.take(), nil)
	r.clock.Add(time.Second)
	r.a.Check()
	expect(t, "sink silent 10 min", r.hub.take(), []string{"sink offline"})
	expect(t, "log", r.logs.take(), []string{"ERROR zigbee: device lost: silent longer than its check-in interval ieee=" +
		ieeeLeak + " bound_to=zone sink silent=10m0s checkin=10m0s"})
	r.bus.send("zigbee2mqtt/sink_leak", `{"water_leak":false}`)
	expect(t, "sink back", r.hub.take(), []string{"sink online"})
	r.clock.Add(20 * time.Minute) // t0+30m
	r.a.Check()
	expect(t, "30 min", r.hub.take(), []string{"kitchen_gas offline", "sink offline"})
	r.clock.Add(150 * time.Minute) // t0+3h
	r.a.Check()
	expect(t, "3 h", r.hub.take(), []string{"front_door offline", "ghost offline"})
	r.a.Check()
	expect(t, "lost once", r.hub.take(), nil)
	r.bus.send("zigbee2mqtt/front_door", `{"contact":true}`)
	expect(t, "door back", r.hub.take(), []string{"front_door online"})
	// Zigbee2MQTT's own availability is a coarse extra signal.
	r.bus.send("zigbee2mqtt/front_door/availability", `offline`)
	r.bus.send("zigbee2mqtt/front_door/availability", `online`)
	expect(t, "availability", r.hub.take(), []string{"front_door offline", "front_door online"})
}

// Bad payloads are logged and ignored: the zone keeps its level.
func TestBadPayloads(t *testing.T) {
	r := started(t)
	r.bus.send("zigbee2mqtt/front_door", `{"battery":100,"contact":false}`)
	r.hub.take()
	r.logs.take()
	huge := `{"contact":true,"pad":"` + strings.Repeat("x", MaxStatePayload) + `"}`
	for _, p := range []string{`not json`, `[1,2]`, `{"contact":`, `{"contact":"closed"}`, `{"contact":1}`,
		`{"battery":"full"}`, `{"battery":-3}`, huge, `"online"`} {
		r.bus.send("zigbee2mqtt/front_door", p)
	}
	r.bus.send("zigbee2mqtt/unknown_device", `{"contact":true}`)
	r.bus.send("zigbee2mqtt/unknown_device", `{"contact":true}`)
	r.bus.send("zigbee2mqtt/front_door/availability", `{"state":"maybe"}`)
	r.bus.send("zigbee2mqtt/bridge/state", `{"state":`)
	r.bus.send("zigbee2mqtt/bridge/devices", `{"not":"a list"}`)
	r.bus.send("zigbee2mqtt/bridge/devices", `[{"ieee_address":"0xzz","friendly_name":"x"}]`)
	expect(t, "inputs", r.hub.take(), nil)
	dev := " device=front_door ieee=" + ieeeFrontDoor
	expect(t, "logs", r.logs.take(), []string{
		"WARN zigbee: state ignored" + dev + " err=state is not a JSON object",
		"WARN zigbee: state ignored" + dev + " err=state is not a JSON object",
		"WARN zigbee: state ignored" + dev + " err=state is not a JSON object: unexpected end of JSON input",
		"WARN zigbee: state value ignored" + dev + ` problem=contact: value "closed" is neither false nor true`,
		"WARN zigbee: state value ignored" + dev + ` problem=contact: value 1 is neither false nor true`,
		"WARN zigbee: state value ignored" + dev + ` problem=battery: "full" is not a percentage`,
		"WARN zigbee: state value ignored" + dev + ` problem=battery: -3 is not a percentage`,
		"WARN zigbee: state ignored" + dev + fmt.Sprintf(" err=state of %d bytes is larger than %d", len(huge), MaxStatePayload),
		"WARN zigbee: state ignored" + dev + " err=state is not a JSON object",
		"WARN zigbee: message for a device not in bridge/devices ignored topic=zigbee2mqtt/unknown_device",
		`WARN zigbee: availability ignored topic=zigbee2mqtt/front_door/availability err=availability "maybe" is neither online nor offline`,
		`WARN zigbee: bridge/state ignored err=availability is not JSON: unexpected end of JSON input`,
		`WARN zigbee: bridge/devices ignored err=bridge/devices: json: cannot unmarshal object into Go value of type []zigbee.rawDevice`,
		`WARN zigbee: bridge/devices ignored err=bridge/devices: device 0: ieee "0xzz" is not an IEEE address like 0x00158d0001a2b3c4`,
	})
	// The devices are still known: a bad copy of bridge/devices changes nothing.
	r.bus.send("zigbee2mqtt/front_door", `{"battery":100,"contact":true}`)
	expect(t, "after", r.hub.take(), []string{"front_door close"})
}

func TestBindingErrors(t *testing.T) {
	for _, c := range []struct {
		zones map[string]ZoneBinding
		outs  map[string]OutputBinding
		kps   map[string]KeypadBinding
		want  string
	}{
		{zones: map[string]ZoneBinding{"z": {IEEE: "front_door"}}, want: `zigbee: zone z: ieee "front_door" is not an IEEE address like 0x00158d0001a2b3c4`},
		{zones: map[string]ZoneBinding{"z": {IEEE: ieeeFrontDoor, Property: "temperature"}}, want: `zigbee: zone z: property "temperature" is not one of contact, occupancy, smoke, water_leak, gas, carbon_monoxide, vibration, presence, sos, alarm, tilt, window_open, garage_door_contact, water, action`},
		{outs: map[string]OutputBinding{"o": {IEEE: ieeeHallSiren, Mode: "loud"}}, want: `zigbee: output o: mode "loud" is not one of burglar, fire, emergency, police_panic, fire_panic, emergency_panic`},
		{outs: map[string]OutputBinding{"o": {IEEE: ieeeHallSiren, Level: "max"}}, want: `zigbee: output o: level "max" is not one of low, medium, high, very_high`},
		{kps: map[string]KeypadBinding{"k": {IEEE: ieeeKeypad}}, want: `zigbee: keypads need the hub's panel`},
	} {
		_, err := New(newBus(), newRecHub(), c.zones, c.outs, Options{Keypads: c.kps})
		if err == nil || err.Error() != c.want {
			t.Errorf("got %v\nwant %s", err, c.want)
		}
	}
}

// Discovered lists the devices nothing is bound to, with their properties.
func TestDiscovered(t *testing.T) {
	r := newRig(t, map[string]ZoneBinding{"door": {IEEE: ieeeFrontDoor}}, nil, nil)
	r.bus.send("zigbee2mqtt/bridge/devices", loadFixtures(t)["bridge_devices_abbrev"].Payload)
	got := r.a.Discovered()
	var lines []string
	for _, d := range got {
		lines = append(lines, fmt.Sprintf("%s %s %s/%s ready=%v battery=%v keypad=%v siren=%s %v %v %v", d.FriendlyName, d.IEEE,
			d.Vendor, d.Model, d.Ready, d.Battery(), d.Keypad(), d.Siren, d.Binary, d.Numeric, d.Actions))
	}
	expect(t, "discovered", lines, []string{
		"hall_keypad 0x0015bc002f00a1b2 Develco/KEYZB-110 ready=true battery=true keypad=true siren= [{battery_low true false} {tamper true false}] [battery voltage] [disarm arm_day_zones arm_night_zones arm_all_zones exit_delay emergency]",
		"hall_motion 0x00124b0022d4e5f6 SONOFF/SNZB-03 ready=true battery=true keypad=false siren= [{occupancy true false} {battery_low true false}] [battery voltage] []",
		"hall_siren 0x0015bc001b02c3d4 Develco/SIRZB-110 ready=true battery=false keypad=false siren=ias_wd [{battery_low true false} {test true false}] [] []",
	})
}

// A zone bound to the one-shot action opens and closes on each action; a device
// that leaves the network is a tamper until it is back in bridge/devices.
func TestActionZoneAndLeave(t *testing.T) {
	r := newRig(t, map[string]ZoneBinding{"safe_moved": {IEEE: ieeeVibration, Property: "action"}}, nil, nil)
	devices := string(allDevices(t))
	r.bus.send("zigbee2mqtt/bridge/devices", devices)
	r.bus.send("zigbee2mqtt/safe_vibration", `{"action":"tilt","battery":100,"vibration":true}`)
	r.bus.send("zigbee2mqtt/safe_vibration", `{"battery":100,"vibration":true}`)
	r.bus.send("zigbee2mqtt/safe_vibration", `{"action":"drop","battery":100,"vibration":true}`)
	expect(t, "actions", r.hub.take(), []string{"safe_moved online", "safe_moved battery_ok", "safe_moved open", "safe_moved close",
		"safe_moved open", "safe_moved close"})
	r.bus.send("zigbee2mqtt/bridge/event", `{"data":{"friendly_name":"safe_vibration","ieee_address":"`+ieeeVibration+`"},"type":"device_leave"}`)
	r.bus.send("zigbee2mqtt/bridge/devices", devices)
	expect(t, "left and back", r.hub.take(), []string{"safe_moved tamper", "safe_moved tamper_restore"})
}

// A device whose only alarm-relevant bit is its tamper (a keypad) can be
// adopted as a zone of its own, with no property: the zone reports its tamper;
// a device with neither is refused, and so is a property it lacks.
func TestAdoptTamperZone(t *testing.T) {
	list, err := ParseDevices([]byte(loadFixtures(t)["bridge_devices_abbrev"].Payload))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range list {
		for _, prop := range []string{"", "contact"} {
			err := d.CheckAdopt("zone", prop)
			got = append(got, fmt.Sprintf("%s %q: %v", d.FriendlyName, prop, err))
		}
	}
	expect(t, "zones", got, []string{
		`front_door "": <nil>`,
		`front_door "contact": <nil>`,
		`hall_motion "": <nil>`,
		`hall_motion "contact": hall_motion (0x00124b0022d4e5f6) does not expose "contact": it has occupancy`,
		`hall_keypad "": <nil>`,
		`hall_keypad "contact": hall_keypad (0x0015bc002f00a1b2) does not expose "contact": it has only a tamper (adopt it with no property)`,
		`hall_siren "": hall_siren (0x0015bc001b02c3d4) exposes nothing that can open a zone, nor a tamper`,
		`hall_siren "contact": hall_siren (0x0015bc001b02c3d4) exposes nothing that can open a zone, nor a tamper`,
	})
	r := newRig(t, map[string]ZoneBinding{"keypad_tamper": {IEEE: ieeeKeypad}}, nil, nil)
	r.bus.send("zigbee2mqtt/bridge/devices", string(allDevices(t)))
	r.bus.send("zigbee2mqtt/hall_keypad", loadFixtures(t)["frient_KEPZB110_tamper"].Payload)
	expect(t, "the keypad's tamper", r.hub.take(), []string{"keypad_tamper online", "keypad_tamper tamper", "keypad_tamper battery_ok"})
}
