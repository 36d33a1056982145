package hub

import (
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)

func testConfig() Config {
	s := DefaultSettings()
	s.ExitDelay[ModeNight] = 0
	return Config{
		Settings: s,
		Zones: []Zone{
			{ID: "door", Name: "Front door", Number: 1, Type: ZoneEntryExit},
			{ID: "window", Name: "Window", Number: 2, Type: ZonePerimeter},
			{ID: "hall", Name: "Hall PIR", Number: 3, Type: ZoneFollower},
			{ID: "living", Name: "Living PIR", Number: 4, Type: ZoneInstant, Chime: true},
			{ID: "smoke", Name: "Smoke", Number: 5, Type: ZoneFire},
			{ID: "panic", Name: "Panic button", Number: 6, Type: ZonePanic},
			{ID: "silent", Name: "Silent button", Number: 7, Type: ZoneSilentPanic},
			{ID: "lid", Name: "Panel lid", Number: 8, Type: ZoneTamper},
			{ID: "key", Name: "Keyswitch", Number: 9, Type: ZoneKeyswitch},
			{ID: "leak", Name: "Leak", Number: 10, Type: ZoneWater},
			{ID: "back", Name: "Back door", Number: 11, Type: ZonePerimeter, Delay: DelayDelayed},
		},
		Users: []User{
			{ID: "alice", Name: "Alice", Number: 1, Role: RoleAdmin},
			{ID: "bob", Name: "Bob", Number: 2, Role: RoleUser},
			{ID: "gus", Name: "Gus", Number: 3, Role: RoleGuest},
		},
	}
}

var (
	alice = Actor{UserID: "alice", UserName: "Alice", UserNum: 1, Via: ViaAPI}
	bob   = Actor{UserID: "bob", UserName: "Bob", UserNum: 2, Via: ViaKeypad, Device: "kp1"}
	gus   = Actor{UserID: "gus", UserName: "Gus", UserNum: 3, Via: ViaWeb}
)

func arm(m Mode) Command {
	return Command{Kind: CmdArm, Mode: m, Who: alice, Role: RoleAdmin, ByCode: true}
}
func disarm(who Actor, role Role) Command { return Command{Kind: CmdDisarm, Who: who, Role: role} }
func open_(z string) Sensor               { return Sensor{Zone: z, Signal: SigOpen} }
func close_(z string) Sensor              { return Sensor{Zone: z, Signal: SigClose} }

// at is an input at an offset from t0.
type at struct {
	d  time.Duration
	in Input
}

type outcome struct {
	st      State
	events  []string
	reports []int // Contact ID codes with qualifier: 1130 = new 130, 3401 = restore 401
	outputs []string
	errs    []ErrorKind // one per command
}

func play(t *testing.T, cfg Config, steps ...at) outcome {
	t.Helper()
	c := NewCore(cfg)
	st := c.InitialState()
	var o outcome
	for _, s := range steps {
		var fx []Effect
		st, fx = c.Apply(t0.Add(s.d), st, s.in)
		for _, e := range fx {
			switch e := e.(type) {
			case Record:
				o.events = append(o.events, e.Event.Type)
				if e.Event.Who == (Actor{}) {
					t.Errorf("event %s names nobody", e.Event.Type)
				}
				for _, r := range e.Reports {
					o.reports = append(o.reports, r.Qualifier*1000+r.Code)
				}
			case SetOutput:
				v := string(e.Kind) + "-off"
				if e.On {
					v = string(e.Kind) + "-on"
				}
				o.outputs = append(o.outputs, v)
			case Result:
				o.errs = append(o.errs, KindOf(e.Err))
			}
		}
	}
	o.st = st
	return o
}

func TestCoreTransitions(t *testing.T) {
	cfg := testConfig()
	tests := []struct {
		name        string
		steps       []at
		want        StateName
		wantEvents  []string // must appear in this order (others may be between)
		wantReports []int    // must appear in this order
		noReports   []int    // must not appear
		wantOut     []string // must appear in this order
		wantErrs    []ErrorKind
	}{
		{name: "arm away with exit delay",
			steps: []at{{0, arm(ModeAway)}},
			want:  Arming, wantEvents: []string{"arming"}, wantErrs: []ErrorKind{""}},
		{name: "exit delay expires: armed, closing report by user",
			steps: []at{{0, arm(ModeAway)}, {30 * time.Second, Tick{}}},
			want:  ArmedAway, wantEvents: []string{"arming", "armed"}, wantReports: []int{3401}},
		{name: "exit route open during exit delay is not an alarm",
			steps: []at{{0, arm(ModeAway)}, {5 * time.Second, open_("door")}, {6 * time.Second, open_("hall")},
				{7 * time.Second, close_("door")}, {8 * time.Second, close_("hall")}, {30 * time.Second, Tick{}}},
			want: ArmedAway, noReports: []int{1134, 1132}},
		{name: "instant zone during exit delay alarms",
			steps: []at{{0, arm(ModeAway)}, {5 * time.Second, open_("living")}},
			want:  Triggered, wantReports: []int{1132}, wantOut: []string{"sounder-on", "siren-on", "strobe-on"}},
		{name: "entry door starts entry delay, disarm in time: no alarm",
			steps: []at{{0, arm(ModeNight)}, {time.Minute, open_("door")}, {time.Minute + 10*time.Second, disarm(bob, RoleUser)}},
			want:  Disarmed, wantEvents: []string{"armed", "entry_delay", "disarmed"}, wantReports: []int{3401, 1401},
			noReports: []int{1134, 1406}},
		{name: "entry delay expires: local alarm, reported after 30 s more (EN 50131 unsetting rule)",
			steps: []at{{0, arm(ModeNight)}, {time.Minute, open_("door")}, {time.Minute + 30*time.Second, Tick{}},
				{time.Minute + 59*time.Second, Tick{}}, {time.Minute + 60*time.Second, Tick{}}},
			want: Triggered, wantEvents: []string{"entry_delay", "alarm", "alarm_reported"}, wantReports: []int{1134},
			wantOut: []string{"siren-on"}},
		{name: "disarm within the unsetting warning: the alarm is not sent",
			steps: []at{{0, arm(ModeNight)}, {time.Minute, open_("door")}, {time.Minute + 30*time.Second, Tick{}},
				{time.Minute + 45*time.Second, disarm(bob, RoleUser)}, {5 * time.Minute, Tick{}}},
			want: Disarmed, wantEvents: []string{"alarm", "alarm_report_withheld", "disarmed"}, noReports: []int{1134},
			wantReports: []int{1406, 1401}},
		{name: "second detector confirms the alarm (139)",
			steps: []at{{0, arm(ModeNight)}, {time.Minute, open_("window")}, {10 * time.Minute, open_("back")}},
			want:  Triggered, wantEvents: []string{"alarm", "alarm", "alarm_confirmed"}, wantReports: []int{1131, 1131, 1139}},
		{name: "no confirmation after the window",
			steps: []at{{0, arm(ModeNight)}, {time.Minute, open_("window")}, {4 * time.Minute, Tick{}},
				{31 * time.Minute, Tick{}}, {32 * time.Minute, open_("back")}},
			want: Pending, wantEvents: []string{"alarm", "alarm_unconfirmed"}, noReports: []int{1139}},
		{name: "same detector twice does not confirm",
			steps: []at{{0, arm(ModeNight)}, {time.Minute, open_("window")}, {2 * time.Minute, close_("window")},
				{3 * time.Minute, open_("window")}},
			want: Triggered, noReports: []int{1139}},
		{name: "confirmation during unsetting releases the held report at once",
			steps: []at{{0, arm(ModeAway)}, {31 * time.Second, Tick{}}, {time.Minute, open_("door")},
				{time.Minute + 5*time.Second, open_("living")}, {time.Minute + 6*time.Second, open_("window")}},
			want: Triggered, wantEvents: []string{"alarm", "alarm_reported", "alarm_confirmed"}, wantReports: []int{1132, 1139}},
		{name: "interior follower is delayed while the entry delay runs",
			steps: []at{{0, arm(ModeAway)}, {31 * time.Second, Tick{}}, {time.Minute, open_("door")}, {time.Minute + 5*time.Second, open_("hall")}},
			want:  Pending, noReports: []int{1132}},
		{name: "interior follower alone is instant",
			steps: []at{{0, arm(ModeAway)}, {31 * time.Second, Tick{}}, {time.Minute, open_("hall")}},
			want:  Triggered, wantReports: []int{1132}},
		{name: "instant zone during entry delay alarms, report held for the unsetting period",
			steps: []at{{0, arm(ModeAway)}, {31 * time.Second, Tick{}}, {time.Minute, open_("door")}, {time.Minute + 5*time.Second, open_("living")},
				{time.Minute + 35*time.Second, Tick{}}},
			want: Triggered, wantOut: []string{"siren-on"}, wantReports: []int{1132}},
		{name: "home mode: interior is not active, perimeter is",
			steps: []at{{0, Command{Kind: CmdArm, Mode: ModeHome, Who: bob, Role: RoleUser}}, {31 * time.Second, Tick{}},
				{time.Minute, open_("living")}, {time.Minute + time.Second, open_("window")}},
			want: Triggered, wantReports: []int{1131}, noReports: []int{1132}},
		{name: "per-zone delay override: a perimeter door that is delayed",
			steps: []at{{0, arm(ModeNight)}, {time.Minute, open_("back")}},
			want:  Pending, wantEvents: []string{"entry_delay"}},
		{name: "disarm during alarm: siren off, cancel report, who",
			steps: []at{{0, arm(ModeNight)}, {time.Minute, open_("window")}, {2 * time.Minute, disarm(bob, RoleUser)}},
			want:  Disarmed, wantEvents: []string{"alarm", "alarm_cancel", "disarmed"}, wantReports: []int{1131, 1406, 1401},
			wantOut: []string{"siren-on", "siren-off"}},
		{name: "siren cuts off after its duration and the system stays armed",
			steps: []at{{0, arm(ModeNight)}, {time.Minute, open_("window")}, {4 * time.Minute, Tick{}}},
			want:  ArmedNight, wantEvents: []string{"alarm", "siren_cutoff"}, wantOut: []string{"siren-on", "siren-off"}},
		{name: "swinger: a zone still open does not retrigger after cut-off",
			steps: []at{{0, arm(ModeNight)}, {time.Minute, open_("window")}, {4 * time.Minute, Tick{}},
				{5 * time.Minute, open_("window")}},
			want: ArmedNight},
		{name: "swinger shutdown after three alarms",
			steps: []at{{0, arm(ModeNight)},
				{1 * time.Minute, open_("window")}, {2 * time.Minute, close_("window")}, {4 * time.Minute, Tick{}},
				{5 * time.Minute, open_("window")}, {6 * time.Minute, close_("window")}, {8 * time.Minute, Tick{}},
				{9 * time.Minute, open_("window")}, {10 * time.Minute, close_("window")}, {12 * time.Minute, Tick{}},
				{13 * time.Minute, open_("window")}},
			want: ArmedNight, wantEvents: []string{"alarm", "alarm", "alarm", "swinger_shutdown"},
			wantReports: []int{1131, 1131, 1131}},
		{name: "not ready: open window refuses arming with reasons",
			steps: []at{{0, open_("window")}, {time.Second, arm(ModeAway)}},
			want:  Disarmed, wantEvents: []string{"arm_refused"}, wantErrs: []ErrorKind{ErrNotReady}},
		{name: "force arm bypasses the open zone for this period, logged and reported",
			steps: []at{{0, open_("window")}, {time.Second, Command{Kind: CmdArm, Mode: ModeNight, Force: true, Who: alice, Role: RoleAdmin}},
				{time.Minute, open_("door")}},
			want: Pending, wantEvents: []string{"arm_forced", "armed", "entry_delay"}, wantReports: []int{1570, 3401},
			noReports: []int{1131}},
		{name: "forced bypass ends at disarm",
			steps: []at{{0, open_("window")}, {time.Second, Command{Kind: CmdArm, Mode: ModeNight, Force: true, Who: alice, Role: RoleAdmin}},
				{time.Minute, disarm(alice, RoleAdmin)}, {2 * time.Minute, arm(ModeNight)}},
			want: Disarmed, wantErrs: []ErrorKind{"", "", ErrNotReady}},
		{name: "guest cannot force",
			steps: []at{{0, open_("window")}, {time.Second, Command{Kind: CmdArm, Mode: ModeNight, Force: true, Who: gus, Role: RoleGuest}}},
			want:  Disarmed, wantEvents: []string{"command_denied"}, wantErrs: []ErrorKind{ErrDenied}},
		{name: "tamper while disarmed: reported, internal sounder only",
			steps: []at{{0, Sensor{Zone: "door", Signal: SigTamper}}},
			want:  Triggered, wantEvents: []string{"tamper"}, wantReports: []int{1383}, wantOut: []string{"sounder-on"}},
		{name: "tamper zone while armed: full alarm",
			steps: []at{{0, arm(ModeNight)}, {time.Minute, open_("lid")}},
			want:  Triggered, wantReports: []int{1383}, wantOut: []string{"sounder-on", "siren-on"}},
		{name: "maintenance suppresses tamper alarms, logged",
			steps: []at{{0, Command{Kind: CmdMaintenanceStart, Who: alice, Role: RoleAdmin}}, {time.Minute, open_("lid")}},
			want:  Disarmed, wantEvents: []string{"maintenance_start", "tamper"}, noReports: []int{1383}},
		{name: "maintenance needs an admin",
			steps: []at{{0, Command{Kind: CmdMaintenanceStart, Who: bob, Role: RoleUser}}},
			want:  Disarmed, wantErrs: []ErrorKind{ErrDenied}},
		{name: "maintenance times out",
			steps: []at{{0, Command{Kind: CmdMaintenanceStart, Who: alice, Role: RoleAdmin}}, {8 * time.Hour, Tick{}}, {8*time.Hour + time.Minute, open_("lid")}},
			want:  Triggered, wantEvents: []string{"maintenance_start", "maintenance_end", "tamper"}, wantReports: []int{1383}},
		{name: "duress disarms normally and queues a silent duress report",
			steps: []at{{0, arm(ModeNight)}, {time.Minute, Command{Kind: CmdDisarm, Who: bob, Role: RoleUser, Duress: true}}},
			want:  Disarmed, wantEvents: []string{"duress", "disarmed"}, wantReports: []int{1121, 1401}},
		{name: "fire while disarmed sounds everything and reports",
			steps: []at{{0, open_("smoke")}},
			want:  Triggered, wantReports: []int{1110}, wantOut: []string{"sounder-on", "siren-on", "strobe-on"}},
		{name: "fire alarm from disarmed returns to disarmed after cut-off",
			steps: []at{{0, open_("smoke")}, {3 * time.Minute, Tick{}}},
			want:  Disarmed},
		{name: "silent panic zone: report, no output, no state change",
			steps: []at{{0, arm(ModeNight)}, {time.Minute, open_("silent")}},
			want:  ArmedNight, wantEvents: []string{"silent_panic"}, wantReports: []int{1122}},
		{name: "panic command from keypad",
			steps: []at{{0, Command{Kind: CmdPanic, Who: bob, Role: RoleUser}}},
			want:  Triggered, wantReports: []int{1120}, wantOut: []string{"siren-on"}},
		{name: "water leak: internal sounder only",
			steps: []at{{0, open_("leak")}},
			want:  Triggered, wantReports: []int{1154}, wantOut: []string{"sounder-on"}},
		{name: "panic zone cannot be bypassed",
			steps: []at{{0, Command{Kind: CmdBypass, Zone: "panic", Who: alice, Role: RoleAdmin}}},
			want:  Disarmed, wantErrs: []ErrorKind{ErrNotAllowed}},
		{name: "bypass until disarm",
			steps: []at{{0, Command{Kind: CmdBypass, Zone: "window", Who: bob, Role: RoleUser}}, {time.Second, arm(ModeNight)},
				{time.Minute, open_("window")}},
			want: ArmedNight, wantEvents: []string{"bypass", "armed"}, wantReports: []int{1570}, noReports: []int{1131}},
		{name: "isolate needs an admin and survives disarm",
			steps: []at{{0, Command{Kind: CmdIsolate, Zone: "window", Who: bob, Role: RoleUser}},
				{time.Second, Command{Kind: CmdIsolate, Zone: "window", Who: alice, Role: RoleAdmin}},
				{2 * time.Second, arm(ModeNight)}, {3 * time.Second, disarm(alice, RoleAdmin)}, {4 * time.Second, arm(ModeNight)},
				{time.Minute, open_("window")}},
			want: ArmedNight, wantErrs: []ErrorKind{ErrDenied, "", "", "", ""}},
		{name: "keyswitch arms and disarms",
			steps: []at{{0, open_("key")}, {10 * time.Second, close_("key")}},
			want:  Disarmed, wantEvents: []string{"arming", "disarmed"}},
		{name: "walk test records zones without alarms, result names the unseen",
			steps: []at{{0, Command{Kind: CmdWalkTestStart, Who: bob, Role: RoleUser}}, {time.Second, open_("smoke")},
				{2 * time.Second, open_("window")}, {3 * time.Second, Command{Kind: CmdWalkTestStop, Who: bob, Role: RoleUser}}},
			want: Disarmed, wantEvents: []string{"walk_test_start", "walk_test_zone", "walk_test_zone", "walk_test_end"},
			noReports: []int{1110, 1131}},
		{name: "walk test ends by timeout",
			steps: []at{{0, Command{Kind: CmdWalkTestStart, Who: bob, Role: RoleUser}}, {15 * time.Minute, Tick{}}},
			want:  Disarmed, wantEvents: []string{"walk_test_end"}},
		{name: "chime while disarmed",
			steps: []at{{0, open_("living")}},
			want:  Disarmed, wantOut: []string{"chime-on"}},
		{name: "offline and low battery are faults that block arming",
			steps: []at{{0, Sensor{Zone: "hall", Signal: SigOffline}}, {time.Second, Sensor{Zone: "door", Signal: SigLowBattery}},
				{2 * time.Second, arm(ModeAway)}},
			want: Disarmed, wantReports: []int{1381, 1384}, wantErrs: []ErrorKind{ErrNotReady}},
		{name: "uplink fault blocks arming",
			steps: []at{{0, Fault{Name: "uplink:primary", Active: true}}, {time.Second, arm(ModeAway)}},
			want:  Disarmed, wantEvents: []string{"fault", "arm_refused"}, wantErrs: []ErrorKind{ErrNotReady}, wantReports: []int{1354}},
		{name: "a clock mismatch is a local fault, not a lost path",
			steps: []at{{0, Fault{Name: "uplink:primary:clock", Active: true}}},
			want:  Disarmed, wantEvents: []string{"fault"}, noReports: []int{1354}},
		{name: "mode switch from home to away",
			steps: []at{{0, arm(ModeNight)}, {time.Second, arm(ModeAway)}},
			want:  Arming},
		{name: "cannot arm while triggered",
			steps: []at{{0, open_("smoke")}, {time.Second, arm(ModeAway)}},
			want:  Triggered, wantErrs: []ErrorKind{ErrNotAllowed}},
		{name: "disarm when disarmed is refused",
			steps: []at{{0, disarm(alice, RoleAdmin)}},
			want:  Disarmed, wantErrs: []ErrorKind{ErrNotAllowed}},
		{name: "unknown zone command is invalid",
			steps: []at{{0, Command{Kind: CmdBypass, Zone: "nope", Who: alice, Role: RoleAdmin}}},
			want:  Disarmed, wantErrs: []ErrorKind{ErrInvalid}},
		{name: "restart rules keep levels: an open zone at arm end starts entry",
			steps: []at{{0, arm(ModeAway)}, {10 * time.Second, open_("door")}, {30 * time.Second, Tick{}}},
			want:  Pending},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := play(t, cfg, tc.steps...)
			if o.st.Name != tc.want {
				t.Errorf("state %s, want %s (events %v)", o.st.Name, tc.want, o.events)
			}
			if !subsequence(o.events, tc.wantEvents) {
				t.Errorf("events %v, want in order %v", o.events, tc.wantEvents)
			}
			if !subsequence(o.reports, tc.wantReports) {
				t.Errorf("reports %v, want in order %v", o.reports, tc.wantReports)
			}
			for _, r := range tc.noReports {
				if slices.Contains(o.reports, r) {
					t.Errorf("reports %v contain %d", o.reports, r)
				}
			}
			if !subsequence(o.outputs, tc.wantOut) {
				t.Errorf("outputs %v, want in order %v", o.outputs, tc.wantOut)
			}
			if tc.wantErrs != nil && !slices.Equal(o.errs, tc.wantErrs) {
				t.Errorf("results %v, want %v", o.errs, tc.wantErrs)
			}
		})
	}
}

func subsequence[T comparable](have, want []T) bool {
	i := 0
	for _, h := range have {
		if i < len(want) && h == want[i] {
			i++
		}
	}
	return i == len(want)
}

func TestLockout(t *testing.T) {
	cfg := testConfig()
	var steps []at
	for i := range 10 {
		steps = append(steps, at{time.Duration(i) * time.Second, Refused{Who: Actor{Device: "kp1", Via: ViaKeypad}, Reason: RefusedWrongCode}})
	}
	o := play(t, cfg, steps...)
	if !o.st.Lockout.Locked(t0.Add(10 * time.Second)) {
		t.Fatalf("not locked after 10 wrong codes: %+v", o.st.Lockout)
	}
	if o.st.Lockout.Locked(t0.Add(9*time.Second + 90*time.Second)) {
		t.Errorf("still locked after 90 s: %+v", o.st.Lockout)
	}
	if !slices.Contains(o.events, "lockout") || !slices.Contains(o.reports, 1461) {
		t.Errorf("lockout not logged/reported: %v %v", o.events, o.reports)
	}
	// Nine wrong codes, a right one, nine more: no lockout.
	steps = steps[:9]
	steps = append(steps, at{10 * time.Second, arm(ModeNight)})
	for i := range 9 {
		steps = append(steps, at{time.Duration(11+i) * time.Second, Refused{Who: Actor{Device: "web", Via: ViaWeb}, Reason: RefusedWrongCode}})
	}
	o = play(t, cfg, steps...)
	if o.st.Lockout.Locked(t0.Add(20 * time.Second)) {
		t.Errorf("locked although a right code reset the count")
	}
	// Failures outside the window do not add up.
	steps = nil
	for i := range 10 {
		steps = append(steps, at{time.Duration(i) * 2 * time.Minute, Refused{Who: Actor{Device: "kp1", Via: ViaKeypad}, Reason: RefusedWrongCode}})
	}
	o = play(t, cfg, steps...)
	if o.st.Lockout.Locked(t0.Add(18 * time.Minute)) {
		t.Errorf("locked by failures spread over 18 minutes with a 15 minute window")
	}
}

func TestResume(t *testing.T) {
	c := NewCore(testConfig())
	tests := []struct {
		name  string
		setup []at
		down  time.Duration // power off for this long
		want  StateName
		check func(t *testing.T, st State, now time.Time, fx []Effect)
	}{
		{name: "armed stays armed", setup: []at{{0, arm(ModeNight)}}, down: time.Hour, want: ArmedNight},
		{name: "exit delay restarts from full", setup: []at{{0, arm(ModeAway)}}, down: 25 * time.Second, want: Arming,
			check: func(t *testing.T, st State, now time.Time, _ []Effect) {
				if !st.ExitDeadline.Equal(now.Add(30 * time.Second)) {
					t.Errorf("exit deadline %v, want %v", st.ExitDeadline, now.Add(30*time.Second))
				}
			}},
		{name: "entry delay keeps its deadline", setup: []at{{0, arm(ModeNight)}, {time.Minute, open_("door")}}, down: 10 * time.Second,
			want: Pending, check: func(t *testing.T, st State, _ time.Time, _ []Effect) {
				if !st.EntryDeadline.Equal(t0.Add(time.Minute + 30*time.Second)) {
					t.Errorf("entry deadline moved: %v", st.EntryDeadline)
				}
			}},
		{name: "entry delay expired during the outage means alarm", setup: []at{{0, arm(ModeNight)}, {time.Minute, open_("door")}},
			down: time.Minute, want: Triggered},
		{name: "alarm resumes with its siren until the original cut-off",
			setup: []at{{0, arm(ModeNight)}, {time.Minute, open_("window")}}, down: time.Minute, want: Triggered,
			check: func(t *testing.T, st State, _ time.Time, fx []Effect) {
				if !slices.Contains(fx, Effect(SetOutput{Kind: OutputSiren, On: true})) {
					t.Errorf("siren not resumed: %v", fx)
				}
				if !st.SirenUntil.Equal(t0.Add(4 * time.Minute)) {
					t.Errorf("siren until %v", st.SirenUntil)
				}
			}},
		{name: "alarm past its cut-off resumes silent and armed",
			setup: []at{{0, arm(ModeNight)}, {time.Minute, open_("window")}}, down: time.Hour, want: ArmedNight},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := c.InitialState()
			var last time.Time
			for _, s := range tc.setup {
				last = t0.Add(s.d)
				st, _ = c.Apply(last, st, s.in)
			}
			now := last.Add(tc.down)
			st, fx := c.Resume(now, st)
			if tc.check != nil {
				tc.check(t, st, now, fx)
			}
			st, _ = c.Apply(now, st, Tick{})
			if st.Name != tc.want {
				t.Errorf("state %s, want %s", st.Name, tc.want)
			}
		})
	}
}

func TestNextDeadline(t *testing.T) {
	c := NewCore(testConfig())
	st, _ := c.Apply(t0, c.InitialState(), arm(ModeAway))
	if got := c.NextDeadline(st); !got.Equal(t0.Add(30 * time.Second)) {
		t.Errorf("next %v", got)
	}
	st, _ = c.Apply(t0.Add(30*time.Second), st, Tick{})
	if got := c.NextDeadline(st); !got.IsZero() {
		t.Errorf("armed has a deadline %v", got)
	}
}

func TestApplyDoesNotAlias(t *testing.T) {
	c := NewCore(testConfig())
	st := c.InitialState()
	before := st.Zones["window"]
	_, _ = c.Apply(t0, st, open_("window"))
	if st.Zones["window"] != before {
		t.Errorf("Apply changed its input state")
	}
}
