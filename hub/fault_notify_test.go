package hub

import "testing"

// A notification target failing: the fault lamp's fault, shown in the events,
// never reported to the centre and not in the way of arming.
func TestNotifyFault(t *testing.T) {
	nf := func(active bool) Fault {
		return Fault{ID: FaultID{Kind: FaultNotify, Subject: "phone"}, Active: active,
			Detail: "no notification delivered for 5m0s"}
	}
	runCases(t, []coreCase{
		{name: "notify target down: shown, not reported, arming goes on",
			moves: []move{
				{0, nf(true), lines(
					`event fault class=fault state=disarmed who=system detail="notify:phone: no notification delivered for 5m0s"`,
				)},
				{second, nf(true), lines()},
				{2 * second, arm(ModeAway), lines(
					`event arming class=arming mode=away state=arming who=alice detail="30s"`,
					`result ok`,
				)},
				stateIs(
					`name=arming mode=away by=alice`,
					`exit until +32s`,
					`faults notify:phone=true`,
				),
				{3 * second, nf(false), lines(
					`event fault_restore class=fault state=arming who=system detail="notify:phone: no notification delivered for 5m0s"`,
				)},
			},
			state: lines(`name=arming mode=away by=alice`, `exit until +32s`)},
	})
	if r := (FaultID{Kind: FaultNotify, Subject: "phone"}).reason(); r != "notify_failed" {
		t.Errorf("reason %q", r)
	}
	var id FaultID
	if err := id.UnmarshalText([]byte("notify:phone")); err != nil || id != (FaultID{Kind: FaultNotify, Subject: "phone"}) {
		t.Errorf("parsed %+v, %v", id, err)
	}
	core := NewCore(coreConfig())
	st, _ := core.Apply(t0, core.InitialState(), nf(true))
	if rs := core.Ready(st, ModeAway); len(rs) != 0 {
		t.Errorf("a notify fault in the ready reasons: %v", rs)
	}
	if ready, fault := core.Lamps(st); ready || !fault {
		t.Errorf("lamps ready=%v fault=%v, want the fault lamp alone", ready, fault)
	}
}
