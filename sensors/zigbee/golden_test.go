package zigbee

import (
	"maps"
	"slices"
	"testing"
)

// TestGoldenFixtures feeds every Zigbee2MQTT→hub fixture, on its own, to an
// adapter that knows every fixture device (bridge/devices) and has a zone,
// output or keypad bound to each, and compares the complete list of hub inputs.
// A zone's first message posts its levels (online, then tamper, open, battery):
// the hub treats signals as levels, so a restart re-reads them.
func TestGoldenFixtures(t *testing.T) {
	fx := loadFixtures(t)
	devices := allDevices(t)
	panicKeypad := "command panic who=hall_keypad via=keypad source=keypad:" + ieeeKeypad
	want := map[string][]string{
		"bridge_online":          {"fault zigbee:zigbee2mqtt active=false"},
		"bridge_offline_lwt":     {"fault zigbee:zigbee2mqtt active=true"},
		"bridge_state_legacy_1x": {"fault zigbee:zigbee2mqtt active=false"},
		"bridge_info_abbrev":     nil,
		// A copy of bridge/devices is the whole truth: the devices it lacks
		// vanished from the network, which is tamper-class.
		// (in IEEE address order).
		"bridge_devices_abbrev": {"kitchen_fire tamper", "kitchen_gas tamper", "back_door tamper", "hall_pir tamper",
			"sink tamper", "safe tamper", "hall_fire tamper"},
		"event_device_joined":        nil,
		"event_interview_started":    nil,
		"event_interview_successful": nil,
		"event_device_leave":         {"front_door tamper"},
		"resp_health_check":          nil,
		"logging_set_failed":         nil,
		"avail_online":               {"front_door online"},
		"avail_offline":              {"front_door offline"},
		"avail_cleared_on_rename":    nil,
		// contact false is OPEN, true is closed.
		"aqara_MCCGQ11LM_open":   {"front_door online", "front_door open", "front_door battery_ok"},
		"aqara_MCCGQ11LM_closed": {"front_door online", "front_door close", "front_door battery_ok"},
		"sonoff_SNZB04_open":     {"back_door online", "back_door open", "back_door battery_ok"},
		// null is unknown: no close, no battery_low restore from it (battery 100 says OK).
		"sonoff_SNZB04_fresh_pair_ha_enabled": {"back_door online", "back_door battery_ok"},
		"aqara_RTCGQ11LM_motion":              {"hall_pir online", "hall_pir open", "hall_pir battery_ok"},
		"aqara_RTCGQ11LM_clear_by_z2m_timer":  {"hall_pir online", "hall_pir close", "hall_pir battery_ok"},
		"heiman_HS1SA_smoke":                  {"kitchen_fire online", "kitchen_fire tamper_restore", "kitchen_fire open", "kitchen_fire battery_ok"},
		"frient_SMSZB120_clear":               {"hall_fire online", "hall_fire close", "hall_fire battery_ok"},
		"heiman_HS3CG_gas":                    {"kitchen_gas online", "kitchen_gas tamper_restore", "kitchen_gas open", "kitchen_gas battery_ok"},
		"aqara_SJCGQ11LM_leak":                {"sink online", "sink open", "sink battery_ok"},
		"aqara_DJT11LM_vibration":             {"safe online", "safe open", "safe battery_ok"},
		// The arm request goes to the code check (Run), not to Post.
		"frient_KEPZB110_arm_request":        {"keypad online", "keypad tamper_restore", "keypad battery_ok"},
		"frient_KEPZB110_next_msg_no_action": {"keypad online", "keypad tamper_restore", "keypad battery_ok"},
		"frient_KEPZB110_emergency":          {"keypad online", "keypad tamper_restore", "keypad battery_ok", panicKeypad},
		"frient_KEPZB110_tamper":             {"keypad online", "keypad tamper", "keypad battery_ok"},
		"linkind_ZS130000178_panic":          {"command panic who=bob via=keypad source=keypad:" + ieeeFob},
		// A siren's IAS zone bits are not zones; the Tuya siren's state is feedback.
		"sirzb110_state":      nil,
		"neo_NASAB02B0_state": nil,
	}
	seen := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(fx)) {
		f := fx[name]
		if f.Direction != "z2m->hub" {
			continue
		}
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			w, ok := want[name]
			if !ok {
				t.Fatalf("no expectation for fixture %s", name)
			}
			r := newRig(t, fixtureZones(), fixtureOutputs(), fixtureKeypads())
			r.bus.send("zigbee2mqtt/bridge/devices", string(devices))
			if got := r.hub.take(); len(got) != 0 {
				t.Fatalf("bridge/devices alone posted %q", got)
			}
			r.bus.send(f.Topic, f.Payload)
			if got := r.hub.take(); !slices.Equal(got, w) {
				t.Errorf("inputs\n got %q\nwant %q", got, w)
			}
			if got := r.bus.take(); len(got) != 0 {
				t.Errorf("published %q", got)
			}
		})
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("expectation for %s, which is not a Zigbee2MQTT→hub fixture", name)
		}
	}
}
