package hub

import "testing"

// A camera without video: Contact ID 330 (system peripheral trouble) with the
// camera's position, new and restore; the fault lamp's fault, but not in the way
// of arming (video verifies, it does not detect).
func TestCameraFault(t *testing.T) {
	cam := func(name string, point int, active bool) Fault {
		return Fault{ID: FaultID{Kind: FaultCamera, Subject: name}, Active: active, Point: point,
			Detail: "no video for 6s"}
	}
	runCases(t, []coreCase{
		{name: "camera without video: reported, shown, arming goes on",
			moves: []move{
				{0, cam("porch", 2, true), lines(
					`event fault class=fault state=disarmed who=system detail="camera:porch: no video for 6s"`,
					`report 1330 zone=2`,
				)},
				{second, cam("porch", 2, true), lines()},
				{2 * second, arm(ModeNight), lines(
					`event armed class=arming mode=night state=armed_night who=alice`,
					`report 3401 zone=1`,
					`result ok`,
				)},
				stateIs(
					`name=armed_night mode=night by=alice`,
					`faults camera:porch=true`,
				),
				{3 * second, cam("porch", 2, false), lines(
					`event fault_restore class=fault state=armed_night who=system detail="camera:porch: no video for 6s"`,
					`report 3330 zone=2`,
				)},
			},
			state: lines(`name=armed_night mode=night by=alice`)},
	})
	if r := (FaultID{Kind: FaultCamera, Subject: "porch"}).reason(); r != "camera_fault" {
		t.Errorf("reason %q", r)
	}
	core := NewCore(coreConfig())
	st, _ := core.Apply(t0, core.InitialState(), cam("porch", 1, true))
	if rs := core.Ready(st, ModeAway); len(rs) != 0 {
		t.Errorf("a camera fault in the ready reasons: %v", rs)
	}
	if ready, fault := core.Lamps(st); ready || !fault {
		t.Errorf("lamps ready=%v fault=%v, want the fault lamp alone", ready, fault)
	}
}

// A clip written: an event of type clip, in the alarm class, with the clip's
// reference and the alarm's zone; nothing else happens.
func TestClipSaved(t *testing.T) {
	runCases(t, []coreCase{
		{name: "clip event",
			moves: []move{
				{5 * second, ClipSaved{Camera: "porch", Zone: "door", Alarm: 41, File: "porch_20260101T000000Z.mp4",
					Start: t0.Add(-10 * second), End: t0.Add(20 * second), Bytes: 123456}, lines(
					`event clip class=alarm zone=door state=disarmed who=porch/system detail="camera porch: porch_20260101T000000Z.mp4" clip=porch/porch_20260101T000000Z.mp4/alarm=41/-10s..+20s/123456B`,
				)},
			},
			state: lines(`name=disarmed`)},
	})
}

// An operator's view of the alarm's page: an event naming the operator and the
// alarm, nothing else.
func TestOperatorView(t *testing.T) {
	runCases(t, []coreCase{
		{name: "operator view",
			moves: []move{
				{second, OperatorView{Alarm: 41, Zone: "door", Who: "operator (alarm 41)", Detail: "page from 192.0.2.7"}, lines(
					`event operator_view class=alarm zone=door state=disarmed who=operator (alarm 41)/web detail="page from 192.0.2.7"`,
				)},
			},
			state: lines(`name=disarmed`)},
	})
}
