package zigbee

import (
	"maps"
	"testing"
	"time"
)

// Zigbee2MQTT's errors about bound devices (its log, an error answer to a
// request) are logged with what the device is bound to and shown as the
// device's last error until the device is heard from again; a failed command
// to a keypad has its panel status sent again. Errors about devices nothing is
// bound to, info lines, answers that are not errors and junk change nothing.
func TestBridgeErrors(t *testing.T) {
	r := started(t)
	r.bus.send("zigbee2mqtt/front_door", `{"battery":100,"contact":true}`)
	r.hub.take()
	r.clock.Add(time.Minute)
	r.a.mu.Lock()
	r.a.kp.mode[ieeeKeypad] = "disarm"
	r.a.mu.Unlock()
	for _, m := range []struct{ topic, payload string }{
		{"zigbee2mqtt/bridge/logging", `{"level":"error","message":"Publish 'set' 'arm_mode' to 'hall_keypad' failed: 'Error: Timeout'","namespace":"z2m"}`},
		{"zigbee2mqtt/bridge/logging", `{"level":"error","message":"Failed to configure 'front_door', attempt 1 (Error: Bind failed)","namespace":"z2m"}`},
		{"zigbee2mqtt/bridge/logging", `{"level":"error","message":"Failed to configure 'hall_motion', attempt 1","namespace":"z2m"}`},
		{"zigbee2mqtt/bridge/logging", `{"level":"warning","message":"Failed to ping 'front_door'","namespace":"z2m"}`},
		{"zigbee2mqtt/bridge/logging", `{"level":"error"`},
		{"zigbee2mqtt/bridge/response/device/options", `{"data":{},"error":"Device 'Back door' has no option 'x'","status":"error","transaction":"ha-3"}`},
		{"zigbee2mqtt/bridge/response/permit_join", `{"data":{},"error":"Invalid payload","status":"error","transaction":"hub-19"}`},
		{"zigbee2mqtt/bridge/response/health_check", loadFixtures(t)["resp_health_check"].Payload},
		{"zigbee2mqtt/bridge/response/device/remove", `[]`},
	} {
		r.bus.send(m.topic, m.payload)
	}
	expect(t, "inputs", r.hub.take(), nil)
	expect(t, "logs", r.logs.take(), []string{
		"WARN zigbee: Zigbee2MQTT reports an error about a bound device device=hall_keypad ieee=" + ieeeKeypad +
			" bound_to=zone keypad, keypad hall_keypad source=bridge/logging message=Publish 'set' 'arm_mode' to 'hall_keypad' failed: 'Error: Timeout'",
		"WARN zigbee: Zigbee2MQTT reports an error about a bound device device=front_door ieee=" + ieeeFrontDoor +
			" bound_to=zone front_door source=bridge/logging message=Failed to configure 'front_door', attempt 1 (Error: Bind failed)",
		"WARN zigbee: Zigbee2MQTT reports an error about a bound device device=Back door ieee=" + ieeeBackDoor +
			" bound_to=zone back_door source=bridge/response/device/options message=Device 'Back door' has no option 'x'",
		"INFO zigbee: Zigbee2MQTT refused another client's request request=permit_join error=Invalid payload transaction=hub-19",
	})
	r.a.mu.Lock()
	_, sent := r.a.kp.mode[ieeeKeypad]
	r.a.mu.Unlock()
	if sent {
		t.Error("the keypad's panel status is not sent again after a failed command")
	}
	errs := func() map[string]string {
		out := map[string]string{}
		for _, d := range r.a.Status() {
			if d.LastError != nil {
				out[d.FriendlyName] = d.LastError.At.Format(time.TimeOnly) + " " + d.LastError.Message
			}
		}
		for id, d := range r.a.ZoneDevices() {
			if d.LastError != nil {
				out["zone "+id] = d.LastError.At.Format(time.TimeOnly) + " " + d.LastError.Message
			}
		}
		return out
	}
	want := map[string]string{
		"hall_keypad":     "12:01:00 Publish 'set' 'arm_mode' to 'hall_keypad' failed: 'Error: Timeout'",
		"zone keypad":     "12:01:00 Publish 'set' 'arm_mode' to 'hall_keypad' failed: 'Error: Timeout'",
		"front_door":      "12:01:00 Failed to configure 'front_door', attempt 1 (Error: Bind failed)",
		"zone front_door": "12:01:00 Failed to configure 'front_door', attempt 1 (Error: Bind failed)",
		"Back door":       "12:01:00 Device 'Back door' has no option 'x'",
		"zone back_door":  "12:01:00 Device 'Back door' has no option 'x'",
	}
	if got := errs(); !maps.Equal(got, want) {
		t.Errorf("errors shown\n got %q\nwant %q", got, want)
	}
	// The door heard from again: its error is history.
	r.clock.Add(time.Minute)
	r.bus.send("zigbee2mqtt/front_door", `{"battery":100,"contact":true}`)
	delete(want, "front_door")
	delete(want, "zone front_door")
	if got := errs(); !maps.Equal(got, want) {
		t.Errorf("errors shown after the door's message\n got %q\nwant %q", got, want)
	}
}

// Zigbee2MQTT set to publish attributes only (no JSON state) is a fault: Vakt
// would hear no sensor. JSON, or attributes and JSON, restore it; a bridge/info
// that does not say, or junk, changes nothing.
func TestBridgeInfoOutputMode(t *testing.T) {
	r := started(t)
	info := func(output string) string {
		return `{"config":{"advanced":{"cache_state":true,"output":"` + output + `"}},"version":"2.12.1"}`
	}
	r.bus.send("zigbee2mqtt/bridge/info", loadFixtures(t)["bridge_info_abbrev"].Payload)
	r.bus.send("zigbee2mqtt/bridge/info", info("attribute"))
	r.bus.send("zigbee2mqtt/bridge/info", info("attribute"))
	r.bus.send("zigbee2mqtt/bridge/info", `{"version":"2.12.1"}`)
	r.bus.send("zigbee2mqtt/bridge/info", `not json`)
	r.bus.send("zigbee2mqtt/bridge/info", "")
	r.bus.send("zigbee2mqtt/bridge/info", info("attribute_and_json"))
	expect(t, "inputs", r.hub.take(), []string{"fault zigbee:zigbee2mqtt/output active=true", "fault zigbee:zigbee2mqtt/output active=false"})
}
