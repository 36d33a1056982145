package hub

import "testing"

// Zigbee2MQTT offline: every Zigbee device's state is unknown. Reported as 350
// (communication trouble) new and restore; arming is not ready unless forced.
func TestZigbeeFault(t *testing.T) {
	runCases(t, []coreCase{
		{name: "zigbee fault: 350 new and restore, arming refused unless forced",
			moves: []move{
				{0, Fault{ID: FaultID{Kind: FaultZigbee, Subject: "zigbee2mqtt"}, Active: true,
					Detail: "Zigbee2MQTT is offline: every Zigbee device's state is unknown"}, lines(
					`event fault class=fault state=disarmed who=system detail="zigbee:zigbee2mqtt: Zigbee2MQTT is offline: every Zigbee device's state is unknown"`,
					`report 1350 zone=0`,
				)},
				{1 * second, faultIn(FaultZigbee, "zigbee2mqtt", true), lines()},
				{2 * second, arm(ModeAway), lines(
					`event arm_refused class=arming mode=away state=disarmed who=alice reasons=zigbee_down[zigbee:zigbee2mqtt]`,
					`result not_ready reasons=zigbee_down[zigbee:zigbee2mqtt]`,
				)},
				{3 * second, force(ModeNight, alice, RoleAdmin), lines(
					`event arm_forced class=arming mode=night state=disarmed who=alice reasons=zigbee_down[zigbee:zigbee2mqtt]`,
					`event armed class=arming mode=night state=armed_night who=alice`,
					`report 3401 zone=1`,
					`result ok`,
				)},
				{minute, faultIn(FaultZigbee, "zigbee2mqtt", false), lines(
					`event fault_restore class=fault state=armed_night who=system detail="zigbee:zigbee2mqtt"`,
					`report 3350 zone=0`,
				)},
				{2 * minute, faultIn(FaultZigbee, "zigbee2mqtt", false), lines()}},
			state: lines(
				`name=armed_night mode=night by=alice`,
			)},
	})
}

func TestZigbeeFaultID(t *testing.T) {
	id := FaultID{Kind: FaultZigbee, Subject: "zigbee2mqtt"}
	if got := id.String(); got != "zigbee:zigbee2mqtt" {
		t.Errorf("String %q", got)
	}
	if got := id.reason(); got != "zigbee_down" {
		t.Errorf("reason %q", got)
	}
	var back FaultID
	if err := back.UnmarshalText([]byte("zigbee:zigbee2mqtt")); err != nil || back != id {
		t.Errorf("UnmarshalText = %#v, %v", back, err)
	}
}
