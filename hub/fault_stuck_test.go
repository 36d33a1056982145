package hub

import "testing"

// A life-safety detector stuck active: 373 (fire loop trouble) for a fire zone,
// 380 (sensor trouble) for a water zone, with the zone's number, new and restore;
// arming is not ready unless the zone is isolated (or the arming forced).
func TestStuckDetectorFault(t *testing.T) {
	stuck := func(zone string, active bool) Fault {
		return Fault{ID: FaultID{Kind: FaultStuck, Subject: zone}, Active: active,
			Detail: "detector stuck active: it cannot report a new alarm until it clears"}
	}
	runCases(t, []coreCase{
		{name: "stuck detectors: reported, in the way of arming until isolated",
			moves: []move{
				{0, stuck("smoke", true), lines(
					`event fault class=fault state=disarmed who=system detail="stuck:smoke: detector stuck active: it cannot report a new alarm until it clears"`,
					`report 1373 zone=5`,
				)},
				{second, stuck("leak", true), lines(
					`event fault class=fault state=disarmed who=system detail="stuck:leak: detector stuck active: it cannot report a new alarm until it clears"`,
					`report 1380 zone=10`,
				)},
				{2 * second, stuck("leak", false), lines(
					`event fault_restore class=fault state=disarmed who=system detail="stuck:leak: detector stuck active: it cannot report a new alarm until it clears"`,
					`report 3380 zone=10`,
				)},
				{3 * second, arm(ModeNight), lines(
					`event arm_refused class=arming mode=night state=disarmed who=alice reasons=detector_stuck[stuck:smoke]`,
					`result not_ready reasons=detector_stuck[stuck:smoke]`,
				)},
				{4 * second, zoneCmd(CmdIsolate, "smoke", alice, RoleAdmin), lines(
					`event isolate class=arming zone=smoke state=disarmed who=alice`,
					`report 1570 zone=5`,
					`result ok`,
				)},
				{5 * second, arm(ModeNight), lines(
					`event armed class=arming mode=night state=armed_night who=alice`,
					`report 3401 zone=1`,
					`result ok`,
				)},
			},
			state: lines(
				`name=armed_night mode=night by=alice`,
				`faults stuck:smoke=true`,
				`zone smoke isolated`,
			)},
	})
	if r := (FaultID{Kind: FaultStuck, Subject: "smoke"}).reason(); r != "detector_stuck" {
		t.Errorf("reason %q", r)
	}
}
