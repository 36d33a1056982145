package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"
)

// The state's own logic (equal, Armed, Locked), fault ids, actors and errors.

// fullState is a state with every field set.
func fullState() State {
	return State{
		Name: Triggered, Mode: ModeAway, Prev: ArmedAway,
		ExitDeadline: t0.Add(1), EntryDeadline: t0.Add(2), EntryZone: "door",
		AlarmStart: t0.Add(3), SirenUntil: t0.Add(4), Sounding: []OutputKind{OutputSounder, OutputSiren},
		AlarmZone: "living", ArmedBy: alice,
		Held:      []Report{{Seq: 1, Code: CodeInterior, Zone: 4, Time: t0}},
		HeldUntil: t0.Add(5),
		Verify:    &Verification{FirstZone: "living", Until: t0.Add(6)},
		Zones:     map[string]ZoneState{"door": {Open: true}, "living": {Latched: true, Alarms: 1}},
		Lockout: Lockout{Failures: 2, WindowStart: t0, Until: t0.Add(7),
			Sources: map[string]CodeCount{"keypad:kp1": {Failures: 1, WindowStart: t0.Add(10), Until: t0.Add(11)}}},
		WalkTest: &WalkTest{By: bob, Until: t0.Add(8), Seen: map[string]bool{"door": true}},
		Maintenance: &Maintenance{
			By: alice, Until: t0.Add(9)},
		Faults: map[FaultID]bool{{Kind: FaultStorage}: true},
	}
}

func TestStateEqual(t *testing.T) {
	a := fullState()
	if !a.equal(clone(a)) || !a.equal(fullState()) {
		t.Fatalf("a state differs from its copy")
	}
	// The same instants in another location are equal.
	b := fullState()
	b.SirenUntil = b.SirenUntil.In(time.FixedZone("X", 3600))
	if !a.equal(b) {
		t.Errorf("the same instant in another zone differs")
	}
	// source changes the count of the one source in fullState.
	source := func(change func(c *CodeCount)) func(s *State) {
		return func(s *State) {
			c := s.Lockout.Sources["keypad:kp1"]
			change(&c)
			s.Lockout.Sources["keypad:kp1"] = c
		}
	}
	changes := map[string]func(s *State){
		"name":             func(s *State) { s.Name = ArmedAway },
		"mode":             func(s *State) { s.Mode = ModeHome },
		"prev":             func(s *State) { s.Prev = ArmedHome },
		"exit deadline":    func(s *State) { s.ExitDeadline = s.ExitDeadline.Add(1) },
		"entry deadline":   func(s *State) { s.EntryDeadline = s.EntryDeadline.Add(1) },
		"entry zone":       func(s *State) { s.EntryZone = "back" },
		"alarm start":      func(s *State) { s.AlarmStart = s.AlarmStart.Add(1) },
		"siren until":      func(s *State) { s.SirenUntil = s.SirenUntil.Add(1) },
		"alarm zone":       func(s *State) { s.AlarmZone = "hall" },
		"armed by":         func(s *State) { s.ArmedBy = bob },
		"held until":       func(s *State) { s.HeldUntil = s.HeldUntil.Add(1) },
		"lockout":          func(s *State) { s.Lockout.Failures++ },
		"lockout window":   func(s *State) { s.Lockout.WindowStart = s.Lockout.WindowStart.Add(1) },
		"lockout until":    func(s *State) { s.Lockout.Until = s.Lockout.Until.Add(1) },
		"source failures":  source(func(c *CodeCount) { c.Failures++ }),
		"source window":    source(func(c *CodeCount) { c.WindowStart = c.WindowStart.Add(1) }),
		"source until":     source(func(c *CodeCount) { c.Until = c.Until.Add(1) }),
		"source gone":      func(s *State) { s.Lockout.Sources = nil },
		"sounding":         func(s *State) { s.Sounding = s.Sounding[:1] },
		"zones":            func(s *State) { s.Zones["door"] = ZoneState{} },
		"faults":           func(s *State) { s.Faults = nil },
		"held seq":         func(s *State) { s.Held[0].Seq = 2 },
		"held code":        func(s *State) { s.Held[0].Code = CodePerimeter },
		"held zone":        func(s *State) { s.Held[0].Zone = 5 },
		"held time":        func(s *State) { s.Held[0].Time = t0.Add(1) },
		"held count":       func(s *State) { s.Held = nil },
		"verify gone":      func(s *State) { s.Verify = nil },
		"verify new":       func(s *State) { s.Verify = nil; s.Verify = &Verification{} },
		"verify confirmed": func(s *State) { s.Verify.Confirmed = true },
		"maintenance gone": func(s *State) { s.Maintenance = nil },
		"maintenance by":   func(s *State) { s.Maintenance.By = bob },
		"walk test gone":   func(s *State) { s.WalkTest = nil },
		"walk test by":     func(s *State) { s.WalkTest.By = alice },
		"walk test until":  func(s *State) { s.WalkTest.Until = s.WalkTest.Until.Add(1) },
		"walk test seen":   func(s *State) { s.WalkTest.Seen["hall"] = true },
	}
	for name, change := range changes {
		b := clone(fullState())
		change(&b)
		if a.equal(b) || b.equal(a) {
			t.Errorf("%s: a changed state is equal", name)
		}
	}
	// Pointers present on one side only.
	for name, strip := range map[string]func(s *State){
		"verify":      func(s *State) { s.Verify = nil },
		"maintenance": func(s *State) { s.Maintenance = nil },
		"walk test":   func(s *State) { s.WalkTest = nil },
	} {
		x, y := fullState(), fullState()
		strip(&x)
		if x.equal(y) || y.equal(x) {
			t.Errorf("%s on one side only: equal", name)
		}
		strip(&y)
		if !x.equal(y) {
			t.Errorf("%s on neither side: not equal", name)
		}
	}
}

func TestStateHelpers(t *testing.T) {
	if (State{Name: Triggered}).Armed() || !(State{Name: Triggered, Mode: ModeNight}).Armed() {
		t.Errorf("Armed is the mode")
	}
	l := Lockout{Until: t0}
	if !l.Locked(t0.Add(-1)) || l.Locked(t0) || (Lockout{}).Locked(t0) {
		t.Errorf("Locked is before Until")
	}
}

func TestFaultID(t *testing.T) {
	tests := []struct {
		id     FaultID
		s      string
		reason string
	}{
		{FaultID{Kind: FaultUplinkPath, Subject: "primary"}, "uplink:primary", "uplink_down"},
		{FaultID{Kind: FaultUplinkClock, Subject: "backup"}, "uplink:backup:clock", "uplink_down"},
		{FaultID{Kind: FaultOutput, Subject: "outdoor"}, "output:outdoor", "output_failed"},
		{FaultID{Kind: FaultStorage}, "storage", "storage_failed"},
		{FaultID{Kind: FaultBroker}, "broker", "broker_down"},
		{FaultID{Kind: "power", Subject: "mains"}, "power:mains", "power_fault"},
		{FaultID{Kind: FaultMains, Subject: "psu"}, "mains:psu", "mains_failed"},
		{FaultID{Kind: FaultBattery, Subject: "psu"}, "battery:psu", "battery_low"},
		{FaultID{Kind: FaultPowerInput, Subject: "psu"}, "gpio:psu", "power_input_failed"},
		{FaultID{Kind: FaultUplinkClock}, "uplink_clock", "uplink_down"},
	}
	for _, tc := range tests {
		if got := tc.id.String(); got != tc.s {
			t.Errorf("%#v: %q, want %q", tc.id, got, tc.s)
		}
		if got := tc.id.reason(); got != tc.reason {
			t.Errorf("%#v: reason %q, want %q", tc.id, got, tc.reason)
		}
		b, err := tc.id.MarshalText()
		if err != nil || string(b) != tc.s {
			t.Errorf("%#v: marshal %q %v", tc.id, b, err)
		}
		var back FaultID
		if err := back.UnmarshalText(b); err != nil || back != tc.id {
			t.Errorf("%q: unmarshal %#v %v, want %#v", b, back, err, tc.id)
		}
	}
	var f FaultID
	if err := f.UnmarshalText(nil); err == nil {
		t.Errorf("an empty fault id was accepted: %#v", f)
	}
	// As a JSON object key (the stored state's faults).
	b, err := json.Marshal(map[FaultID]bool{{Kind: FaultUplinkClock, Subject: "p"}: true})
	if err != nil || string(b) != `{"uplink:p:clock":true}` {
		t.Errorf("json %s %v", b, err)
	}
	var m map[FaultID]bool
	if err := json.Unmarshal(b, &m); err != nil || !m[FaultID{Kind: FaultUplinkClock, Subject: "p"}] {
		t.Errorf("json back %v %v", m, err)
	}
}

func TestActorAndErrors(t *testing.T) {
	for a, want := range map[Actor]string{
		alice:                       "Alice via api",
		bob:                         "Bob at kp1 via keypad",
		{UserID: "u7", Via: ViaWeb}: "u7 via web",
		{UserID: "u7", Device: "u7", Via: ViaWeb}: "u7 via web",
		{Device: "window", Via: ViaSensor}:        "window via sensor",
		{Via: ViaSystem}:                          "system via system",
	} {
		if got := a.String(); got != want {
			t.Errorf("%#v: %q, want %q", a, got, want)
		}
	}
	e := &Error{Kind: ErrNotReady, Msg: "not ready", Reasons: []Reason{{Zone: "window", Reason: "open"}, {Reason: "uplink_down"}}}
	if e.Error() != "not ready: window: open, uplink_down" {
		t.Errorf("%q", e.Error())
	}
	if (&Error{Kind: ErrDenied, Msg: "no"}).Error() != "no" {
		t.Errorf("an error without reasons")
	}
	wrapped := fmt.Errorf("hub: %w", e)
	for err, want := range map[error]ErrorKind{nil: "", e: ErrNotReady, wrapped: ErrNotReady, errors.New("disk"): ErrInternal} {
		if got := KindOf(err); got != want {
			t.Errorf("KindOf(%v) = %q, want %q", err, got, want)
		}
	}
	if err := errorf(ErrInvalid, "zone %q", "x"); err.Kind != ErrInvalid || err.Msg != `zone "x"` {
		t.Errorf("errorf: %+v", err)
	}
}
