package hub

import "testing"

// A lost keypad: Contact ID 381 without a point, new and restore; in the way of
// arming until it is heard again, unless the arming is forced.
func TestDeviceLostFault(t *testing.T) {
	lost := func(active bool) Fault {
		return Fault{ID: FaultID{Kind: FaultDevice, Subject: "keypad:hall"}, Active: active, Detail: "silent for 2h0m0s"}
	}
	runCases(t, []coreCase{
		{name: "a lost keypad is reported and stands in the way of arming",
			moves: []move{
				{0, lost(true), lines(
					`event fault class=fault state=disarmed who=system detail="device:keypad:hall: silent for 2h0m0s"`,
					`report 1381 zone=0`,
				)},
				{second, arm(ModeNight), lines(
					`event arm_refused class=arming mode=night state=disarmed who=alice reasons=device_lost[device:keypad:hall]`,
					`result not_ready reasons=device_lost[device:keypad:hall]`,
				)},
				{2 * second, lost(false), lines(
					`event fault_restore class=fault state=disarmed who=system detail="device:keypad:hall: silent for 2h0m0s"`,
					`report 3381 zone=0`,
				)},
				{3 * second, arm(ModeNight), lines(
					`event armed class=arming mode=night state=armed_night who=alice`,
					`report 3401 zone=1`,
					`result ok`,
				)},
			},
			state: lines(`name=armed_night mode=night by=alice`)},
	})
}
