package hub

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)

// testConfig is the configuration the hub's tests share (hub_test.go, bench_test.go
// and others build on it): keep its zones, numbers and users as they are.
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

// coreConfig is testConfig with every zone type, both delay overrides, a zone with
// its own modes, and one output of each kind: the configuration of the core's
// table tests.
//
//	zone    no type          notes
//	door     1 entry_exit
//	window   2 perimeter
//	hall     3 follower
//	living   4 instant       chime
//	smoke    5 fire
//	panic    6 panic
//	silent   7 silent_panic
//	lid      8 tamper
//	key      9 keyswitch
//	leak    10 water
//	back    11 perimeter     delay: delayed
//	co      12 co
//	side    13 entry_exit    delay: instant
//	bed     14 instant       modes: night only
//
//	output   kind     number
//	outdoor  siren    1 (its position)
//	indoor   sounder  5
//	flash    strobe   3 (its position)
//	bell     chime    4 (its position)
func coreConfig() Config {
	cfg := testConfig()
	cfg.Zones = append(cfg.Zones,
		Zone{ID: "co", Name: "CO detector", Number: 12, Type: ZoneCO},
		Zone{ID: "side", Name: "Side door", Number: 13, Type: ZoneEntryExit, Delay: DelayInstant},
		Zone{ID: "bed", Name: "Bedroom PIR", Number: 14, Type: ZoneInstant, Modes: []Mode{ModeNight}},
	)
	cfg.Outputs = []Output{
		{ID: "outdoor", Name: "Outdoor siren", Kind: OutputSiren},
		{ID: "indoor", Name: "Indoor sounder", Kind: OutputSounder, Number: 5},
		{ID: "flash", Name: "Strobe", Kind: OutputStrobe},
		{ID: "bell", Name: "Door chime", Kind: OutputChime},
	}
	return cfg
}

var (
	alice = Actor{UserID: "alice", UserName: "Alice", UserNum: 1, Via: ViaAPI}
	bob   = Actor{UserID: "bob", UserName: "Bob", UserNum: 2, Via: ViaKeypad, Device: "kp1"}
	gus   = Actor{UserID: "gus", UserName: "Gus", UserNum: 3, Via: ViaWeb}
	// hubActor is who the core's own timers and supervision act as; spelled out
	// here so that a change to it shows.
	hubActor = Actor{Device: "hub", Via: ViaSystem}
	keypad   = Actor{Device: "kp1", Via: ViaKeypad}
)

func arm(m Mode) Command {
	return Command{Kind: CmdArm, Mode: m, Who: alice, Role: RoleAdmin, ByCode: true}
}
func disarm(who Actor, role Role) Command { return Command{Kind: CmdDisarm, Who: who, Role: role} }
func open_(z string) Sensor               { return Sensor{Zone: z, Signal: SigOpen} }
func close_(z string) Sensor              { return Sensor{Zone: z, Signal: SigClose} }
func sensorSig(z string, s Signal) Sensor { return Sensor{Zone: z, Signal: s} }
func cmdBy(k CommandKind, who Actor, role Role) Command {
	return Command{Kind: k, Who: who, Role: role}
}
func zoneCmd(k CommandKind, zone string, who Actor, role Role) Command {
	return Command{Kind: k, Zone: zone, Who: who, Role: role}
}
func faultIn(kind FaultKind, subject string, active bool) Fault {
	return Fault{ID: FaultID{Kind: kind, Subject: subject}, Active: active}
}

// at is an input at an offset from t0.
type at struct {
	d  time.Duration
	in Input
}

// ---- canonical rendering ----
//
// Every effect renders to one line (a Record to its event's line followed by one
// line per report) that spells out every field the core sets, so that comparing
// the rendered lists compares the effect lists whole:
//
//	out siren on                  SetOutput; "pulse" is appended for a pulse
//	event alarm class=alarm zone=window mode=night state=triggered who=window/sensor detail="burglary"
//	report 1131 zone=2 alarm      qualifier*1000+code; p=N when the partition is not 1,
//	                              at=+D when the time is not the step's
//	result ok | result not_ready reasons=window:open
//
// Empty fields are left out; times are offsets from t0 ("+1m30s"), and an event's
// or report's time is shown only when it is not the time of the step that made it.

// off renders t as an offset from t0.
func off(t time.Time) string {
	if t.IsZero() {
		return "zero"
	}
	d := t.Sub(t0)
	if d < 0 {
		return d.String()
	}
	return "+" + d.String()
}

// who renders an actor: the test users by name, a device as device/via, anything
// else in full.
func whoName(a Actor) string {
	switch a {
	case alice:
		return "alice"
	case bob:
		return "bob"
	case gus:
		return "gus"
	case hubActor:
		return "system"
	case Actor{}:
		return "NOBODY"
	}
	if a.UserID == "" && a.UserName == "" && a.UserNum == 0 {
		return a.Device + "/" + string(a.Via)
	}
	return fmt.Sprintf("{id=%s name=%s num=%d device=%s via=%s}", a.UserID, a.UserName, a.UserNum, a.Device, a.Via)
}

func renderReasons(rs []Reason) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		s := r.Reason
		if r.Zone != "" {
			s = r.Zone + ":" + s
		}
		if r.Fault != "" {
			s += "[" + r.Fault + "]"
		}
		parts[i] = s
	}
	return strings.Join(parts, ",")
}

func renderEvent(now time.Time, e Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "event %s class=%s", e.Type, e.Class)
	if e.Zone != "" {
		b.WriteString(" zone=" + e.Zone)
	}
	if e.Mode != "" {
		b.WriteString(" mode=" + string(e.Mode))
	}
	b.WriteString(" state=" + string(e.State))
	b.WriteString(" who=" + whoName(e.Who))
	if e.Detail != "" {
		fmt.Fprintf(&b, " detail=%q", e.Detail)
	}
	if e.Reasons != nil {
		b.WriteString(" reasons=" + renderReasons(e.Reasons))
	}
	if e.Zones != nil {
		b.WriteString(" zones=" + strings.Join(e.Zones, ","))
	}
	if e.Silent {
		b.WriteString(" silent")
	}
	if c := e.Clip; c != nil {
		fmt.Fprintf(&b, " clip=%s/%s/alarm=%d/%s..%s/%dB", c.Camera, c.File, c.Alarm, off(c.Start), off(c.End), c.Bytes)
	}
	if !e.Time.Equal(now) {
		b.WriteString(" at=" + off(e.Time))
	}
	if e.Seq != 0 {
		fmt.Fprintf(&b, " seq=%d", e.Seq)
	}
	return b.String()
}

func renderReport(now time.Time, r Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "report %d zone=%d", r.Qualifier*1000+int(r.Code), r.Zone)
	if r.Qualifier != QualNew && r.Qualifier != QualRestore {
		fmt.Fprintf(&b, " qualifier=%d", r.Qualifier)
	}
	if r.Alarm {
		b.WriteString(" alarm")
	}
	if r.Partition != 1 {
		fmt.Fprintf(&b, " p=%d", r.Partition)
	}
	if now.IsZero() || !r.Time.Equal(now) {
		b.WriteString(" at=" + off(r.Time))
	}
	if r.Seq != 0 || r.Event != 0 {
		fmt.Fprintf(&b, " seq=%d event=%d", r.Seq, r.Event)
	}
	if r.Text != "" {
		fmt.Fprintf(&b, " text=%q", r.Text)
	}
	return b.String()
}

// render renders the effects of one step made at now.
func render(now time.Time, fx []Effect) []string {
	var lines []string
	for _, e := range fx {
		switch e := e.(type) {
		case SetOutput:
			s := "out " + string(e.Kind) + " off"
			if e.On {
				s = "out " + string(e.Kind) + " on"
			}
			if e.Pulse {
				s += " pulse"
			}
			lines = append(lines, s)
		case Record:
			lines = append(lines, renderEvent(now, e.Event))
			for _, r := range e.Reports {
				lines = append(lines, renderReport(now, r))
			}
		case Result:
			s := "result ok"
			if e.Err != nil {
				s = "result " + string(KindOf(e.Err))
				var de *Error
				if ok := asError(e.Err, &de); ok && de.Reasons != nil {
					s += " reasons=" + renderReasons(de.Reasons)
				}
			}
			lines = append(lines, s)
		default:
			lines = append(lines, fmt.Sprintf("UNKNOWN EFFECT %#v", e))
		}
	}
	return lines
}

func asError(err error, target **Error) bool {
	e, ok := err.(*Error)
	if ok {
		*target = e
	}
	return ok
}

// renderState renders every field of a state, one line per part that is not empty,
// zones in configuration order.
func renderState(cfg Config, st State) []string {
	first := "name=" + string(st.Name)
	if st.Mode != "" {
		first += " mode=" + string(st.Mode)
	}
	if st.Prev != "" {
		first += " prev=" + string(st.Prev)
	}
	if st.ArmedBy != (Actor{}) {
		first += " by=" + whoName(st.ArmedBy)
	}
	lines := []string{first}
	add := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
	if !st.ExitDeadline.IsZero() {
		add("exit until %s", off(st.ExitDeadline))
	}
	if !st.EntryDeadline.IsZero() || st.EntryZone != "" {
		add("entry until %s zone=%s", off(st.EntryDeadline), st.EntryZone)
	}
	if !st.AlarmStart.IsZero() || st.AlarmZone != "" || !st.SirenUntil.IsZero() {
		add("alarm since %s zone=%s siren until %s", off(st.AlarmStart), st.AlarmZone, off(st.SirenUntil))
	}
	if len(st.Sounding) > 0 {
		ks := make([]string, len(st.Sounding))
		for i, k := range st.Sounding {
			ks[i] = string(k)
		}
		add("sounding %s", strings.Join(ks, ","))
	}
	if len(st.Held) > 0 || !st.HeldUntil.IsZero() {
		add("held until %s", off(st.HeldUntil))
		for _, r := range st.Held {
			add("  held %s", renderReport(time.Time{}, r))
		}
	}
	if v := st.Verify; v != nil {
		s := fmt.Sprintf("verify first=%s until %s", v.FirstZone, off(v.Until))
		if v.FirstEntry {
			s += " entry-route"
		}
		if v.Confirmed {
			s += " confirmed"
		}
		add("%s", s)
	}
	if l := st.Lockout; l.Failures != 0 || !l.WindowStart.IsZero() || !l.Until.IsZero() {
		add("lockout failures=%d window=%s until %s", l.Failures, off(l.WindowStart), off(l.Until))
	}
	for _, src := range slices.Sorted(maps.Keys(st.Lockout.Sources)) {
		c := st.Lockout.Sources[src]
		add("lockout %s failures=%d window=%s until %s", src, c.Failures, off(c.WindowStart), off(c.Until))
	}
	if w := st.WalkTest; w != nil {
		var seen []string
		for _, id := range slices.Sorted(maps.Keys(w.Seen)) {
			if w.Seen[id] {
				seen = append(seen, id)
			} else {
				seen = append(seen, id+"=false")
			}
		}
		add("walk test by=%s until %s seen=%s", whoName(w.By), off(w.Until), strings.Join(seen, ","))
	}
	if m := st.Maintenance; m != nil {
		add("maintenance by=%s until %s", whoName(m.By), off(m.Until))
	}
	if len(st.Faults) > 0 {
		ids := slices.SortedFunc(maps.Keys(st.Faults), func(a, b FaultID) int { return strings.Compare(a.String(), b.String()) })
		fs := make([]string, len(ids))
		for i, id := range ids {
			fs[i] = fmt.Sprintf("%s=%v", id, st.Faults[id])
		}
		add("faults %s", strings.Join(fs, ","))
	}
	for _, id := range slices.SortedFunc(maps.Keys(st.FaultsDue), func(a, b FaultID) int { return strings.Compare(a.String(), b.String()) }) {
		add("fault %s report due %s", id, off(st.FaultsDue[id]))
	}
	known := map[string]bool{}
	for _, z := range cfg.Zones {
		known[z.ID] = true
		zs, ok := st.Zones[z.ID]
		if !ok {
			add("zone %s MISSING", z.ID)
			continue
		}
		if zs == (ZoneState{}) {
			continue
		}
		var fl []string
		for _, f := range []struct {
			on   bool
			name string
		}{{zs.Open, "open"}, {zs.Tamper, "tamper"}, {zs.Offline, "offline"}, {zs.LowBattery, "low_battery"},
			{zs.Bypassed, "bypassed"}, {zs.Forced, "forced"}, {zs.Isolated, "isolated"}, {zs.Latched, "latched"}} {
			if f.on {
				fl = append(fl, f.name)
			}
		}
		if zs.Alarms != 0 {
			fl = append(fl, fmt.Sprintf("alarms=%d", zs.Alarms))
		}
		add("zone %s %s", z.ID, strings.Join(fl, " "))
	}
	for _, id := range slices.Sorted(maps.Keys(st.Zones)) {
		if !known[id] {
			add("zone %s UNKNOWN", id)
		}
	}
	return lines
}

// diffLines returns a line diff of want and got ("-" only in want, "+" only in got).
func diffLines(want, got []string) string {
	n, m := len(want), len(got)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if want[i] == got[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var b strings.Builder
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && want[i] == got[j]:
			b.WriteString("    " + want[i] + "\n")
			i++
			j++
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			b.WriteString("  + " + got[j] + "\n")
			j++
		default:
			b.WriteString("  - " + want[i] + "\n")
			i++
		}
	}
	return b.String()
}

// sameLines reports whether got is want, and fails t with both lists and their
// difference if not.
func sameLines(t *testing.T, what string, want, got []string) bool {
	t.Helper()
	if slices.Equal(want, got) {
		return true
	}
	t.Errorf("%s differ (- want, + got):\n%s\nwant:\n\t%s\ngot:\n\t%s", what, diffLines(want, got),
		strings.Join(want, "\n\t"), strings.Join(got, "\n\t"))
	return false
}

// ---- the table ----

// move is one input and the complete effect list it must produce. A move without
// an input (see stateIs) checks the complete rendered state at that point instead.
type move struct {
	d    time.Duration
	in   Input
	want []string
}

// stateIs is a move that checks the state after the moves before it.
func stateIs(l ...string) move { return move{want: lines(l...)} }

type coreCase struct {
	name  string
	tweak func(*Config)
	moves []move
	// state is the complete rendered state after the last move.
	state []string
}

// runCase plays c's moves from the initial state and compares every effect list,
// the intermediate states asked for, and the final state.
func runCase(t *testing.T, c coreCase) State {
	t.Helper()
	cfg := coreConfig()
	if c.tweak != nil {
		c.tweak(&cfg)
	}
	core := NewCore(cfg)
	st := core.InitialState()
	for i, m := range c.moves {
		if m.in == nil { // a check of the state so far
			sameLines(t, fmt.Sprintf("after move %d: state", i-1), m.want, renderState(cfg, st))
			continue
		}
		now := t0.Add(m.d)
		var fx []Effect
		st, fx = core.Apply(now, st, m.in)
		sameLines(t, fmt.Sprintf("move %d (+%s %T %+v): effects", i, m.d, m.in, m.in), m.want, render(now, fx))
	}
	if c.state == nil {
		t.Fatalf("case %q has no expected final state", c.name)
	}
	sameLines(t, "final state", c.state, renderState(cfg, st))
	return st
}

func runCases(t *testing.T, cases []coreCase) {
	t.Helper()
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.name] {
			t.Fatalf("two cases named %q", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) { runCase(t, c) })
	}
}

// lines is a readable way to write an expected list.
func lines(l ...string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

const (
	second = time.Second
	minute = time.Minute
)

// Moves many cases start with.
var (
	armNight = move{0, arm(ModeNight), lines(
		`event armed class=arming mode=night state=armed_night who=alice`,
		`report 3401 zone=1`,
		`result ok`)}
	armAway = move{0, arm(ModeAway), lines(
		`event arming class=arming mode=away state=arming who=alice detail="30s"`,
		`result ok`)}
	awayArmed = move{30 * second, Tick{}, lines(
		`event armed class=arming mode=away state=armed_away who=alice`,
		`report 3401 zone=1`)}
)

func force(m Mode, who Actor, role Role) Command {
	return Command{Kind: CmdArm, Mode: m, Force: true, Who: who, Role: role}
}

func TestCoreTransitions(t *testing.T) {
	var cases []coreCase
	for _, group := range [][]coreCase{armingCases(), exitEntryCases(), zoneCases(), alarmCases(), commandCases(),
		faultCases(), regressionCases()} {
		cases = append(cases, group...)
	}
	runCases(t, cases)
}

func armingCases() []coreCase {
	return []coreCase{
		{name: "arm away with exit delay",
			moves: []move{armAway}, state: lines(
				`name=arming mode=away by=alice`,
				`exit until +30s`,
			)},
		{name: "arm home with exit delay, armed when it ends",
			moves: []move{
				{0, Command{Kind: CmdArm, Mode: ModeHome, Who: bob, Role: RoleUser}, lines(
					`event arming class=arming mode=home state=arming who=bob detail="30s"`,
					`result ok`,
				)},
				{30 * second, Tick{}, lines(
					`event armed class=arming mode=home state=armed_home who=bob`,
					`report 3401 zone=2`,
				)}},
			state: lines(
				`name=armed_home mode=home by=bob`,
			)},
		{name: "arm vacation by a guest: nothing before the exit deadline, armed at it",
			moves: []move{
				{0, Command{Kind: CmdArm, Mode: ModeVacation, Who: gus, Role: RoleGuest}, lines(
					`event arming class=arming mode=vacation state=arming who=gus detail="30s"`,
					`result ok`,
				)},
				{29 * second, Tick{}, lines()},
				{30 * second, Tick{}, lines(
					`event armed class=arming mode=vacation state=armed_vacation who=gus`,
					`report 3401 zone=3`,
				)}},
			state: lines(
				`name=armed_vacation mode=vacation by=gus`,
			)},
		{name: "arm night without exit delay: armed at once with the closing report",
			moves: []move{armNight}, state: lines(
				`name=armed_night mode=night by=alice`,
			)},
		{name: "arm away with exit delay 0s: armed at once",
			tweak: func(c *Config) { c.Settings.ExitDelay[ModeAway] = 0 },
			moves: []move{{0, arm(ModeAway), lines(
				`event armed class=arming mode=away state=armed_away who=alice`,
				`report 3401 zone=1`,
				`result ok`,
			)}}, state: lines(
				`name=armed_away mode=away by=alice`,
			)},
		{name: "unknown mode is invalid",
			moves: []move{{0, Command{Kind: CmdArm, Mode: "party", Who: alice, Role: RoleAdmin}, lines(
				`result invalid`,
			)}}, state: lines(
				`name=disarmed`,
			)},
		{name: "cannot arm while arming",
			moves: []move{armAway, {10 * second, arm(ModeNight), lines(
				`result not_allowed`,
			)}}, state: lines(
				`name=arming mode=away by=alice`,
				`exit until +30s`,
			)},
		{name: "mode switch from armed night to away restarts the exit delay",
			moves: []move{armNight, {minute, arm(ModeAway), lines(
				`event arming class=arming mode=away state=arming who=alice detail="30s"`,
				`result ok`,
			)}, {minute + 30*second, Tick{}, lines(
				`event armed class=arming mode=away state=armed_away who=alice`,
				`report 3401 zone=1`,
			)}}, state: lines(
				`name=armed_away mode=away by=alice`,
			)},
		{name: "arming resets the alarm counts and latches of the previous period",
			moves: []move{armNight, {minute, open_("window"), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event zone_open class=routine zone=window state=armed_night who=window/sensor`,
				`event alarm class=alarm zone=window mode=night state=triggered who=window/sensor detail="burglary"`,
				`report 1131 zone=2 alarm`,
			)}, {minute + 30*second, close_("window"), lines(
				`event zone_closed class=routine zone=window state=triggered who=window/sensor`,
			)},
				{4 * minute, Tick{}, lines(
					`out sounder off`,
					`out siren off`,
					`out strobe off`,
					`event siren_cutoff class=alarm zone=window state=armed_night who=system detail="outputs off after 3m0s"`,
				)}, stateIs(
					`name=armed_night mode=night by=alice`,
					`verify first=window until +31m0s`,
					`zone window alarms=1`,
				), {5 * minute, arm(ModeAway), lines(
					`event arming class=arming mode=away state=arming who=alice detail="30s"`,
					`result ok`,
				)}},
			state: lines(
				`name=arming mode=away by=alice`,
				`exit until +5m30s`,
				`verify first=window until +31m0s`,
			)},
		{name: "cannot arm while pending",
			moves: []move{armNight, {minute, open_("door"), lines(
				`event zone_open class=routine zone=door state=armed_night who=door/sensor`,
				`event entry_delay class=alarm zone=door mode=night state=pending who=door/sensor detail="30s"`,
			)}, {minute + 5*second, arm(ModeNight), lines(
				`result not_allowed`,
			)}}, state: lines(
				`name=pending mode=night prev=armed_night by=alice`,
				`entry until +1m30s zone=door`,
				`zone door open`,
			)},
		{name: "cannot arm while triggered",
			moves: []move{{0, open_("smoke"), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event zone_open class=routine zone=smoke state=disarmed who=smoke/sensor`,
				`event alarm class=alarm zone=smoke state=triggered who=smoke/sensor detail="fire"`,
				`report 1110 zone=5 alarm`,
			)}, {second, arm(ModeAway), lines(
				`result not_allowed`,
			)}}, state: lines(
				`name=triggered prev=disarmed`,
				`alarm since +0s zone=smoke siren until +3m0s`,
				`sounding sounder,siren,strobe`,
				`zone smoke open latched alarms=1`,
			)},
		{name: "not ready: an open window refuses arming with its reason",
			moves: []move{{0, open_("window"), lines(
				`event zone_open class=routine zone=window state=disarmed who=window/sensor`,
			)}, {second, arm(ModeAway), lines(
				`event arm_refused class=arming mode=away state=disarmed who=alice reasons=window:open`,
				`result not_ready reasons=window:open`,
			)}}, state: lines(
				`name=disarmed`,
				`zone window open`,
			)},
		{name: "not ready: every reason, zones in order, then faults by name",
			moves: []move{
				{0, cmdBy(CmdMaintenanceStart, alice, RoleAdmin), lines(
					`event maintenance_start class=tamper state=disarmed who=alice detail="tamper alarms suppressed until 2026-11-26T04:00:00Z"`,
					`result ok`,
				)},
				{1 * second, sensorSig("door", SigTamper), lines(
					`event tamper class=tamper zone=door state=disarmed who=door/sensor detail="suppressed: maintenance by Alice via api"`,
				)},
				{2 * second, sensorSig("hall", SigOffline), lines(
					`event device_offline class=fault zone=hall state=disarmed who=hall/sensor`,
					`report 1381 zone=3`,
				)},
				{3 * second, sensorSig("living", SigLowBattery), lines(
					`event low_battery class=fault zone=living state=disarmed who=living/sensor`,
					`report 1384 zone=4`,
				)},
				{4 * second, faultIn(FaultStorage, "", true), lines(
					`event fault class=fault state=disarmed who=system detail="storage"`,
					`report 1300 zone=0`,
				)},
				{5 * second, faultIn(FaultUplinkPath, "primary", true), lines(
					`event fault class=fault state=disarmed who=system detail="uplink:primary"`,
					`report 1354 zone=0`,
				)},
				{6 * second, faultIn(FaultUplinkClock, "backup", true), lines(
					`event fault class=fault state=disarmed who=system detail="uplink:backup:clock"`,
				)},
				{7 * second, faultIn(FaultOutput, "outdoor", true), lines(
					`event fault class=fault state=disarmed who=system detail="output:outdoor"`,
					`report 1321 zone=1`,
				)},
				{8 * second, open_("window"), lines(
					`event zone_open class=routine zone=window state=disarmed who=window/sensor`,
				)},
				{9 * second, arm(ModeAway), lines(
					`event arm_refused class=arming mode=away state=disarmed who=alice reasons=door:tamper,window:open,hall:offline,living:low_battery,output_failed[output:outdoor],storage_failed[storage],uplink_down[uplink:backup:clock],uplink_down[uplink:primary]`,
					`result not_ready reasons=door:tamper,window:open,hall:offline,living:low_battery,output_failed[output:outdoor],storage_failed[storage],uplink_down[uplink:backup:clock],uplink_down[uplink:primary]`,
				)}},
			state: lines(
				`name=disarmed`,
				`maintenance by=alice until +8h0m0s`,
				`faults output:outdoor=true,storage=true,uplink:backup:clock=true,uplink:primary=true`,
				`zone door tamper`,
				`zone window open`,
				`zone hall offline`,
				`zone living low_battery`,
			)},
		{name: "ready ignores zones inactive in the mode, isolated zones and bypassed zones",
			moves: []move{
				{0, open_("living"), lines(
					`out chime on pulse`,
					`event zone_open class=routine zone=living state=disarmed who=living/sensor`,
				)},
				{1 * second, open_("bed"), lines(
					`event zone_open class=routine zone=bed state=disarmed who=bed/sensor`,
				)},
				{2 * second, zoneCmd(CmdIsolate, "window", alice, RoleAdmin), lines(
					`event isolate class=arming zone=window state=disarmed who=alice`,
					`report 1570 zone=2`,
					`result ok`,
				)},
				{3 * second, open_("window"), lines(
					`event zone_open class=routine zone=window state=disarmed who=window/sensor`,
				)},
				{4 * second, zoneCmd(CmdBypass, "back", bob, RoleUser), lines(
					`event bypass class=arming zone=back state=disarmed who=bob`,
					`report 1570 zone=11`,
					`result ok`,
				)},
				{5 * second, open_("back"), lines(
					`event zone_open class=routine zone=back state=disarmed who=back/sensor`,
				)},
				{6 * second, Command{Kind: CmdArm, Mode: ModeHome, Who: bob, Role: RoleUser}, lines(
					`event arming class=arming mode=home state=arming who=bob detail="30s"`,
					`result ok`,
				)}},
			state: lines(
				`name=arming mode=home by=bob`,
				`exit until +36s`,
				`zone window open isolated`,
				`zone living open`,
				`zone back open bypassed`,
				`zone bed open`,
			)},
		{name: "forced arming bypasses the open zones until disarm, 570 each and 3570 at the disarm, other reasons only logged",
			moves: []move{
				{0, open_("window"), lines(
					`event zone_open class=routine zone=window state=disarmed who=window/sensor`,
				)},
				{1 * second, open_("back"), lines(
					`event zone_open class=routine zone=back state=disarmed who=back/sensor`,
				)},
				{2 * second, sensorSig("door", SigLowBattery), lines(
					`event low_battery class=fault zone=door state=disarmed who=door/sensor`,
					`report 1384 zone=1`,
				)},
				{3 * second, force(ModeNight, alice, RoleAdmin), lines(
					`event arm_forced class=arming mode=night state=disarmed who=alice reasons=door:low_battery,window:open,back:open zones=window,back`,
					`report 1570 zone=2`,
					`report 1570 zone=11`,
					`event armed class=arming mode=night state=armed_night who=alice`,
					`report 3401 zone=1`,
					`result ok`,
				)},
				{minute, close_("window"), lines(
					`event zone_closed class=routine zone=window state=armed_night who=window/sensor`,
				)},
				{2 * minute, open_("window"), lines(
					`event zone_open class=routine zone=window state=armed_night who=window/sensor`,
				)},
				stateIs(
					`name=armed_night mode=night by=alice`,
					`zone door low_battery`,
					`zone window open bypassed forced`,
					`zone back open bypassed forced`,
				),
				{3 * minute, disarm(alice, RoleAdmin), lines(
					`event disarmed class=arming state=disarmed who=alice`,
					`report 1401 zone=1`,
					`event unbypass class=arming zone=back state=disarmed who=alice detail="ended by the disarm"`,
					`report 3570 zone=11`,
					`event unbypass class=arming zone=window state=disarmed who=alice detail="ended by the disarm"`,
					`report 3570 zone=2`,
					`result ok`,
				)}},
			state: lines(
				`name=disarmed`,
				`zone door low_battery`,
				`zone window open`,
				`zone back open`,
			)},
		{name: "forced arming past an open fire zone does not bypass it: it keeps guarding, no 570",
			moves: []move{{0, open_("smoke"), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event zone_open class=routine zone=smoke state=disarmed who=smoke/sensor`,
				`event alarm class=alarm zone=smoke state=triggered who=smoke/sensor detail="fire"`,
				`report 1110 zone=5 alarm`,
			)}, {second, disarm(alice, RoleAdmin), lines(
				`out sounder off`,
				`out siren off`,
				`out strobe off`,
				`event alarm_cancel class=alarm zone=smoke state=triggered who=alice`,
				`report 1406 zone=1`,
				`result ok`,
			)}, {2 * second, force(ModeNight, alice, RoleAdmin), lines(
				`event arm_forced class=arming mode=night state=disarmed who=alice reasons=smoke:open`,
				`event armed class=arming mode=night state=armed_night who=alice`,
				`report 3401 zone=1`,
				`result ok`,
			)}, {3 * second, disarm(alice, RoleAdmin), lines(
				`event disarmed class=arming state=disarmed who=alice`,
				`report 1401 zone=1`,
				`result ok`,
			)}}, state: lines(
				`name=disarmed`,
				`zone smoke open`,
			)},
		{name: "forced arming with nothing to force is a normal arming",
			moves: []move{{0, force(ModeNight, bob, RoleUser), lines(
				`event armed class=arming mode=night state=armed_night who=bob`,
				`report 3401 zone=2`,
				`result ok`,
			)}}, state: lines(
				`name=armed_night mode=night by=bob`,
			)},
		{name: "forced arming with only a fault logs the reason and bypasses nothing",
			moves: []move{
				{0, faultIn(FaultUplinkPath, "primary", true), lines(
					`event fault class=fault state=disarmed who=system detail="uplink:primary"`,
					`report 1354 zone=0`,
				)},
				{1 * second, arm(ModeNight), lines(
					`event arm_refused class=arming mode=night state=disarmed who=alice reasons=uplink_down[uplink:primary]`,
					`result not_ready reasons=uplink_down[uplink:primary]`,
				)},
				{2 * second, force(ModeNight, alice, RoleAdmin), lines(
					`event arm_forced class=arming mode=night state=disarmed who=alice reasons=uplink_down[uplink:primary]`,
					`report 3450 zone=1`,
					`event armed class=arming mode=night state=armed_night who=alice`,
					`report 3401 zone=1`,
					`result ok`,
				)}},
			state: lines(
				`name=armed_night mode=night by=alice`,
				`faults uplink:primary=true`,
			)},
		{name: "forced arming with exit delay: the bypassed zone open at its end is no alarm",
			moves: []move{{0, open_("window"), lines(
				`event zone_open class=routine zone=window state=disarmed who=window/sensor`,
			)}, {1 * second, force(ModeAway, alice, RoleAdmin), lines(
				`event arm_forced class=arming mode=away state=disarmed who=alice reasons=window:open zones=window`,
				`report 1570 zone=2`,
				`event arming class=arming mode=away state=arming who=alice detail="30s"`,
				`result ok`,
			)},
				{31 * second, Tick{}, lines(
					`event armed class=arming mode=away state=armed_away who=alice`,
					`report 3401 zone=1`,
				)}},
			state: lines(
				`name=armed_away mode=away by=alice`,
				`zone window open bypassed forced`,
			)},
		{name: "a guest cannot force arming",
			moves: []move{{0, open_("window"), lines(
				`event zone_open class=routine zone=window state=disarmed who=window/sensor`,
			)}, {1 * second, force(ModeNight, gus, RoleGuest), lines(
				`event command_denied class=arming mode=night state=disarmed who=gus detail="arm: a guest cannot force arming"`,
				`result denied`,
			)}}, state: lines(
				`name=disarmed`,
				`zone window open`,
			)},
		{name: "arming ends maintenance",
			moves: []move{{0, cmdBy(CmdMaintenanceStart, alice, RoleAdmin), lines(
				`event maintenance_start class=tamper state=disarmed who=alice detail="tamper alarms suppressed until 2026-11-26T04:00:00Z"`,
				`result ok`,
			)}, {minute, arm(ModeNight), lines(
				`event maintenance_end class=tamper state=disarmed who=alice detail="ended by arming"`,
				`event armed class=arming mode=night state=armed_night who=alice`,
				`report 3401 zone=1`,
				`result ok`,
			)}}, state: lines(
				`name=armed_night mode=night by=alice`,
			)},
		{name: "arming refused while not ready keeps maintenance",
			moves: []move{{0, cmdBy(CmdMaintenanceStart, alice, RoleAdmin), lines(
				`event maintenance_start class=tamper state=disarmed who=alice detail="tamper alarms suppressed until 2026-11-26T04:00:00Z"`,
				`result ok`,
			)}, {1 * second, open_("window"), lines(
				`event zone_open class=routine zone=window state=disarmed who=window/sensor`,
			)},
				{minute, arm(ModeNight), lines(
					`event arm_refused class=arming mode=night state=disarmed who=alice reasons=window:open`,
					`result not_ready reasons=window:open`,
				)}}, state: lines(
				`name=disarmed`,
				`maintenance by=alice until +8h0m0s`,
				`zone window open`,
			)},
		{name: "arming is refused while a walk test runs",
			moves: []move{{0, cmdBy(CmdWalkTestStart, bob, RoleUser), lines(
				`event walk_test_start class=arming state=disarmed who=bob`,
				`result ok`,
			)}, {minute, arm(ModeNight), lines(
				`result not_allowed`,
			)}}, state: lines(
				`name=disarmed`,
				`walk test by=bob until +15m0s seen=`,
			)},
		{name: "an unknown role is denied and logged",
			moves: []move{{0, Command{Kind: CmdArm, Mode: ModeNight, Who: alice, Role: "owner"}, lines(
				`event command_denied class=arming mode=night state=disarmed who=alice detail="arm: unknown role \"owner\""`,
				`result denied`,
			)}}, state: lines(
				`name=disarmed`,
			)},
		{name: "a guest may only arm, disarm and raise panic",
			moves: []move{
				{0, zoneCmd(CmdBypass, "window", gus, RoleGuest), lines(
					`event command_denied class=arming zone=window state=disarmed who=gus detail="bypass: a guest may only arm, disarm and raise panic"`,
					`result denied`,
				)},
				{1 * second, cmdBy(CmdWalkTestStart, gus, RoleGuest), lines(
					`event command_denied class=arming state=disarmed who=gus detail="walk_test_start: a guest may only arm, disarm and raise panic"`,
					`result denied`,
				)},
				{2 * second, cmdBy(CmdMaintenanceStart, gus, RoleGuest), lines(
					`event command_denied class=arming state=disarmed who=gus detail="maintenance_start: a guest may only arm, disarm and raise panic"`,
					`result denied`,
				)}},
			state: lines(
				`name=disarmed`,
			)},
		{name: "a user may not isolate or use maintenance",
			moves: []move{
				{0, zoneCmd(CmdIsolate, "window", bob, RoleUser), lines(
					`event command_denied class=arming zone=window state=disarmed who=bob detail="isolate: needs an admin"`,
					`result denied`,
				)},
				{1 * second, zoneCmd(CmdUnisolate, "window", bob, RoleUser), lines(
					`event command_denied class=arming zone=window state=disarmed who=bob detail="unisolate: needs an admin"`,
					`result denied`,
				)},
				{2 * second, cmdBy(CmdMaintenanceStart, bob, RoleUser), lines(
					`event command_denied class=arming state=disarmed who=bob detail="maintenance_start: needs an admin"`,
					`result denied`,
				)},
				{3 * second, cmdBy(CmdMaintenanceStop, bob, RoleUser), lines(
					`event command_denied class=arming state=disarmed who=bob detail="maintenance_stop: needs an admin"`,
					`result denied`,
				)}},
			state: lines(
				`name=disarmed`,
			)},
	}
}

func exitEntryCases() []coreCase {
	return []coreCase{
		{name: "exit route open during the exit delay is no alarm",
			moves: []move{armAway,
				{5 * second, open_("door"), lines(
					`event zone_open class=routine zone=door state=arming who=door/sensor`,
				)},
				{6 * second, open_("hall"), lines(
					`event zone_open class=routine zone=hall state=arming who=hall/sensor`,
				)},
				{7 * second, close_("door"), lines(
					`event zone_closed class=routine zone=door state=arming who=door/sensor`,
				)},
				{8 * second, close_("hall"), lines(
					`event zone_closed class=routine zone=hall state=arming who=hall/sensor`,
				)},
				awayArmed},
			state: lines(
				`name=armed_away mode=away by=alice`,
			)},
		{name: "an instant zone during the exit delay alarms at once",
			moves: []move{armAway, {5 * second, open_("living"), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event zone_open class=routine zone=living state=arming who=living/sensor`,
				`event alarm class=alarm zone=living mode=away state=triggered who=living/sensor detail="burglary"`,
				`report 1132 zone=4 alarm`,
			)}}, state: lines(
				`name=triggered mode=away prev=armed_away by=alice`,
				`alarm since +5s zone=living siren until +3m5s`,
				`sounding sounder,siren,strobe`,
				`verify first=living until +30m5s`,
				`zone living open latched alarms=1`,
			)},
		{name: "a perimeter zone during the exit delay alarms at once",
			moves: []move{armAway, {5 * second, open_("window"), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event zone_open class=routine zone=window state=arming who=window/sensor`,
				`event alarm class=alarm zone=window mode=away state=triggered who=window/sensor detail="burglary"`,
				`report 1131 zone=2 alarm`,
			)}}, state: lines(
				`name=triggered mode=away prev=armed_away by=alice`,
				`alarm since +5s zone=window siren until +3m5s`,
				`sounding sounder,siren,strobe`,
				`verify first=window until +30m5s`,
				`zone window open latched alarms=1`,
			)},
		{name: "an entry door open when the exit delay ends starts the entry delay",
			moves: []move{armAway, {10 * second, open_("door"), lines(
				`event zone_open class=routine zone=door state=arming who=door/sensor`,
			)}, {30 * second, Tick{}, lines(
				`event armed class=arming mode=away state=armed_away who=alice`,
				`report 3401 zone=1`,
				`event entry_delay class=alarm zone=door mode=away state=pending who=door/sensor detail="30s"`,
			)},
				{60 * second, Tick{}, lines(
					`out sounder on`,
					`out siren on`,
					`out strobe on`,
					`event alarm class=alarm zone=door mode=away state=triggered who=door/sensor detail="burglary during unsetting: report held until 2026-11-25T20:01:30Z"`,
				)}},
			state: lines(
				`name=triggered mode=away prev=armed_away by=alice`,
				`entry until zero zone=door`,
				`alarm since +1m0s zone=door siren until +4m0s`,
				`sounding sounder,siren,strobe`,
				`held until +1m30s`,
				`  held report 1134 zone=1 alarm at=+1m0s`,
				`verify first=door until +31m0s entry-route`,
				`zone door open latched alarms=1`,
			)},
		// Current behaviour, questioned in the report: the alarm ends the exit delay, and
		// after the cut-off the system is armed although it never sent its closing report.
		{name: "alarm during the exit delay: after the cut-off the system is armed",
			moves: []move{armAway, {5 * second, open_("living"), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event zone_open class=routine zone=living state=arming who=living/sensor`,
				`event alarm class=alarm zone=living mode=away state=triggered who=living/sensor detail="burglary"`,
				`report 1132 zone=4 alarm`,
			)}, {3*minute + 5*second, Tick{}, lines(
				`out sounder off`,
				`out siren off`,
				`out strobe off`,
				`event siren_cutoff class=alarm zone=living state=armed_away who=system detail="outputs off after 3m0s"`,
			)}},
			state: lines(
				`name=armed_away mode=away by=alice`,
				`verify first=living until +30m5s`,
				`zone living open latched alarms=1`,
			)},
		{name: "entry door starts the entry delay; disarm in time: no alarm",
			moves: []move{armNight, {minute, open_("door"), lines(
				`event zone_open class=routine zone=door state=armed_night who=door/sensor`,
				`event entry_delay class=alarm zone=door mode=night state=pending who=door/sensor detail="30s"`,
			)}, {minute + 10*second, disarm(bob, RoleUser), lines(
				`event disarmed class=arming state=disarmed who=bob`,
				`report 1401 zone=2`,
				`result ok`,
			)}},
			state: lines(
				`name=disarmed`,
				`zone door open`,
			)},
		{name: "entry delay: a tick before its deadline does nothing",
			moves: []move{armNight, {minute, open_("door"), lines(
				`event zone_open class=routine zone=door state=armed_night who=door/sensor`,
				`event entry_delay class=alarm zone=door mode=night state=pending who=door/sensor detail="30s"`,
			)}, {minute + 29*second, Tick{}, lines()}}, state: lines(
				`name=pending mode=night prev=armed_night by=alice`,
				`entry until +1m30s zone=door`,
				`zone door open`,
			)},
		{name: "entry delay expires: local alarm at once, report held for 30 s, then sent",
			moves: []move{armNight, {minute, open_("door"), lines(
				`event zone_open class=routine zone=door state=armed_night who=door/sensor`,
				`event entry_delay class=alarm zone=door mode=night state=pending who=door/sensor detail="30s"`,
			)},
				{minute + 30*second, Tick{}, lines(
					`out sounder on`,
					`out siren on`,
					`out strobe on`,
					`event alarm class=alarm zone=door mode=night state=triggered who=door/sensor detail="burglary during unsetting: report held until 2026-11-25T20:02:00Z"`,
				)},
				stateIs(
					`name=triggered mode=night prev=armed_night by=alice`,
					`entry until zero zone=door`,
					`alarm since +1m30s zone=door siren until +4m30s`,
					`sounding sounder,siren,strobe`,
					`held until +2m0s`,
					`  held report 1134 zone=1 alarm at=+1m30s`,
					`verify first=door until +31m30s entry-route`,
					`zone door open latched alarms=1`,
				),
				{minute + 59*second, Tick{}, lines()},
				{2 * minute, Tick{}, lines(
					`event alarm_reported class=alarm zone=door state=triggered who=system detail="local warning ran 30s without unsetting"`,
					`report 1134 zone=1 alarm at=+1m30s`,
				)}},
			state: lines(
				`name=triggered mode=night prev=armed_night by=alice`,
				`entry until zero zone=door`,
				`alarm since +1m30s zone=door siren until +4m30s`,
				`sounding sounder,siren,strobe`,
				`verify first=door until +31m30s entry-route`,
				`zone door open latched alarms=1`,
			)},
		{name: "disarm during the unsetting warning: the alarm report is withheld",
			moves: []move{armNight, {minute, open_("door"), lines(
				`event zone_open class=routine zone=door state=armed_night who=door/sensor`,
				`event entry_delay class=alarm zone=door mode=night state=pending who=door/sensor detail="30s"`,
			)},
				{minute + 30*second, Tick{}, lines(
					`out sounder on`,
					`out siren on`,
					`out strobe on`,
					`event alarm class=alarm zone=door mode=night state=triggered who=door/sensor detail="burglary during unsetting: report held until 2026-11-25T20:02:00Z"`,
				)},
				{minute + 45*second, disarm(bob, RoleUser), lines(
					`out sounder off`,
					`out siren off`,
					`out strobe off`,
					`event alarm_report_withheld class=alarm zone=door state=triggered who=bob detail="disarmed during the unsetting period: the alarm was not sent"`,
					`event alarm_cancel class=alarm zone=door state=triggered who=bob`,
					`event disarmed class=arming state=disarmed who=bob`,
					`report 1401 zone=2`,
					`result ok`,
				)},
				{5 * minute, Tick{}, lines()}},
			state: lines(
				`name=disarmed`,
				`zone door open`,
			)},
		{name: "no entry delay in the mode: the entry door alarms at once",
			tweak: func(c *Config) { c.Settings.EntryDelay[ModeNight] = 0 },
			moves: []move{armNight, {minute, open_("door"), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event zone_open class=routine zone=door state=armed_night who=door/sensor`,
				`event alarm class=alarm zone=door mode=night state=triggered who=door/sensor detail="burglary"`,
				`report 1134 zone=1 alarm`,
			)}}, state: lines(
				`name=triggered mode=night prev=armed_night by=alice`,
				`alarm since +1m0s zone=door siren until +4m0s`,
				`sounding sounder,siren,strobe`,
				`verify first=door until +31m0s entry-route`,
				`zone door open latched alarms=1`,
			)},
		{name: "a delayed perimeter door starts the entry delay",
			moves: []move{armNight, {minute, open_("back"), lines(
				`event zone_open class=routine zone=back state=armed_night who=back/sensor`,
				`event entry_delay class=alarm zone=back mode=night state=pending who=back/sensor detail="30s"`,
			)}}, state: lines(
				`name=pending mode=night prev=armed_night by=alice`,
				`entry until +1m30s zone=back`,
				`zone back open`,
			)},
		{name: "an entry door with delay instant alarms at once (134)",
			moves: []move{armNight, {minute, open_("side"), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event zone_open class=routine zone=side state=armed_night who=side/sensor`,
				`event alarm class=alarm zone=side mode=night state=triggered who=side/sensor detail="burglary"`,
				`report 1134 zone=13 alarm`,
			)}}, state: lines(
				`name=triggered mode=night prev=armed_night by=alice`,
				`alarm since +1m0s zone=side siren until +4m0s`,
				`sounding sounder,siren,strobe`,
				`verify first=side until +31m0s entry-route`,
				`zone side open latched alarms=1`,
			)},
		{name: "interior follower is quiet while the entry delay runs",
			moves: []move{armAway, awayArmed, {minute, open_("door"), lines(
				`event zone_open class=routine zone=door state=armed_away who=door/sensor`,
				`event entry_delay class=alarm zone=door mode=away state=pending who=door/sensor detail="30s"`,
			)}, {minute + 5*second, open_("hall"), lines(
				`event zone_open class=routine zone=hall state=pending who=hall/sensor`,
			)}},
			state: lines(
				`name=pending mode=away prev=armed_away by=alice`,
				`entry until +1m30s zone=door`,
				`zone door open`,
				`zone hall open`,
			)},
		{name: "interior follower alone is instant (132)",
			moves: []move{armAway, awayArmed, {minute, open_("hall"), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event zone_open class=routine zone=hall state=armed_away who=hall/sensor`,
				`event alarm class=alarm zone=hall mode=away state=triggered who=hall/sensor detail="burglary"`,
				`report 1132 zone=3 alarm`,
			)}}, state: lines(
				`name=triggered mode=away prev=armed_away by=alice`,
				`alarm since +1m0s zone=hall siren until +4m0s`,
				`sounding sounder,siren,strobe`,
				`verify first=hall until +31m0s entry-route`,
				`zone hall open latched alarms=1`,
			)},
		{name: "a second entry-route zone during the entry delay changes nothing",
			moves: []move{armNight, {minute, open_("door"), lines(
				`event zone_open class=routine zone=door state=armed_night who=door/sensor`,
				`event entry_delay class=alarm zone=door mode=night state=pending who=door/sensor detail="30s"`,
			)}, {minute + 5*second, open_("back"), lines(
				`event zone_open class=routine zone=back state=pending who=back/sensor`,
			)}}, state: lines(
				`name=pending mode=night prev=armed_night by=alice`,
				`entry until +1m30s zone=door`,
				`zone door open`,
				`zone back open`,
			)},
		{name: "an instant zone during the entry delay alarms at once, its report held, then sent",
			moves: []move{armAway, awayArmed, {minute, open_("door"), lines(
				`event zone_open class=routine zone=door state=armed_away who=door/sensor`,
				`event entry_delay class=alarm zone=door mode=away state=pending who=door/sensor detail="30s"`,
			)},
				{minute + 5*second, open_("living"), lines(
					`out sounder on`,
					`out siren on`,
					`out strobe on`,
					`event zone_open class=routine zone=living state=pending who=living/sensor`,
					`event alarm class=alarm zone=living mode=away state=triggered who=living/sensor detail="burglary during unsetting: report held until 2026-11-25T20:01:35Z"`,
				)},
				{minute + 34*second, Tick{}, lines()},
				{minute + 35*second, Tick{}, lines(
					`event alarm_reported class=alarm zone=living state=triggered who=system detail="local warning ran 30s without unsetting"`,
					`report 1132 zone=4 alarm at=+1m5s`,
				)}},
			state: lines(
				`name=triggered mode=away prev=armed_away by=alice`,
				`entry until zero zone=door`,
				`alarm since +1m5s zone=living siren until +4m5s`,
				`sounding sounder,siren,strobe`,
				`verify first=living until +31m5s`,
				`zone door open`,
				`zone living open latched alarms=1`,
			)},
		{name: "an instant zone during the entry delay, disarmed in time: withheld, cancelled",
			moves: []move{armAway, awayArmed, {minute, open_("door"), lines(
				`event zone_open class=routine zone=door state=armed_away who=door/sensor`,
				`event entry_delay class=alarm zone=door mode=away state=pending who=door/sensor detail="30s"`,
			)},
				{minute + 5*second, open_("living"), lines(
					`out sounder on`,
					`out siren on`,
					`out strobe on`,
					`event zone_open class=routine zone=living state=pending who=living/sensor`,
					`event alarm class=alarm zone=living mode=away state=triggered who=living/sensor detail="burglary during unsetting: report held until 2026-11-25T20:01:35Z"`,
				)},
				{minute + 20*second, disarm(alice, RoleAdmin), lines(
					`out sounder off`,
					`out siren off`,
					`out strobe off`,
					`event alarm_report_withheld class=alarm zone=living state=triggered who=alice detail="disarmed during the unsetting period: the alarm was not sent"`,
					`event alarm_cancel class=alarm zone=living state=triggered who=alice`,
					`event disarmed class=arming state=disarmed who=alice`,
					`report 1401 zone=1`,
					`result ok`,
				)}},
			state: lines(
				`name=disarmed`,
				`zone door open`,
				`zone living open`,
			)},
	}
}

func zoneCases() []coreCase {
	return []coreCase{
		{name: "disarmed: an instant zone with chime pulses the chime",
			moves: []move{{0, open_("living"), lines(
				`out chime on pulse`,
				`event zone_open class=routine zone=living state=disarmed who=living/sensor`,
			)}, {1 * second, close_("living"), lines(
				`event zone_closed class=routine zone=living state=disarmed who=living/sensor`,
			)}}, state: lines(
				`name=disarmed`,
			)},
		{name: "disarmed: zones without chime only log",
			moves: []move{
				{0, open_("window"), lines(
					`event zone_open class=routine zone=window state=disarmed who=window/sensor`,
				)},
				{1 * second, open_("door"), lines(
					`event zone_open class=routine zone=door state=disarmed who=door/sensor`,
				)},
				{2 * second, open_("hall"), lines(
					`event zone_open class=routine zone=hall state=disarmed who=hall/sensor`,
				)},
				{3 * second, open_("back"), lines(
					`event zone_open class=routine zone=back state=disarmed who=back/sensor`,
				)},
				{4 * second, open_("bed"), lines(
					`event zone_open class=routine zone=bed state=disarmed who=bed/sensor`,
				)},
				{5 * second, open_("side"), lines(
					`event zone_open class=routine zone=side state=disarmed who=side/sensor`,
				)}},
			state: lines(
				`name=disarmed`,
				`zone door open`,
				`zone window open`,
				`zone hall open`,
				`zone back open`,
				`zone side open`,
				`zone bed open`,
			)},
		{name: "a repeated open or close changes nothing",
			moves: []move{{0, open_("window"), lines(
				`event zone_open class=routine zone=window state=disarmed who=window/sensor`,
			)}, {1 * second, open_("window"), lines()},
				{2 * second, close_("window"), lines(
					`event zone_closed class=routine zone=window state=disarmed who=window/sensor`,
				)}, {3 * second, close_("window"), lines()}},
			state: lines(
				`name=disarmed`,
			)},
		{name: "a signal from an unknown zone is ignored",
			moves: []move{{0, open_("nope"), lines()}, {1 * second, sensorSig("nope", SigTamper), lines()}}, state: lines(
				`name=disarmed`,
			)},
		{name: "armed away: the perimeter alarms at once (131)",
			moves: []move{armAway, awayArmed, {minute, open_("window"), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event zone_open class=routine zone=window state=armed_away who=window/sensor`,
				`event alarm class=alarm zone=window mode=away state=triggered who=window/sensor detail="burglary"`,
				`report 1131 zone=2 alarm`,
			)}}, state: lines(
				`name=triggered mode=away prev=armed_away by=alice`,
				`alarm since +1m0s zone=window siren until +4m0s`,
				`sounding sounder,siren,strobe`,
				`verify first=window until +31m0s`,
				`zone window open latched alarms=1`,
			)},
		{name: "armed away: an instant zone alarms at once (132)",
			moves: []move{armAway, awayArmed, {minute, open_("living"), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event zone_open class=routine zone=living state=armed_away who=living/sensor`,
				`event alarm class=alarm zone=living mode=away state=triggered who=living/sensor detail="burglary"`,
				`report 1132 zone=4 alarm`,
			)}}, state: lines(
				`name=triggered mode=away prev=armed_away by=alice`,
				`alarm since +1m0s zone=living siren until +4m0s`,
				`sounding sounder,siren,strobe`,
				`verify first=living until +31m0s`,
				`zone living open latched alarms=1`,
			)},
		{name: "home mode: interior zones are not active, the perimeter is",
			moves: []move{
				{0, Command{Kind: CmdArm, Mode: ModeHome, Who: bob, Role: RoleUser}, lines(
					`event arming class=arming mode=home state=arming who=bob detail="30s"`,
					`result ok`,
				)},
				{30 * second, Tick{}, lines(
					`event armed class=arming mode=home state=armed_home who=bob`,
					`report 3401 zone=2`,
				)},
				{minute, open_("living"), lines(
					`event zone_open class=routine zone=living state=armed_home who=living/sensor`,
				)},
				{minute + 1*second, open_("hall"), lines(
					`event zone_open class=routine zone=hall state=armed_home who=hall/sensor`,
				)},
				{minute + 2*second, open_("window"), lines(
					`out sounder on`,
					`out siren on`,
					`out strobe on`,
					`event zone_open class=routine zone=window state=armed_home who=window/sensor`,
					`event alarm class=alarm zone=window mode=home state=triggered who=window/sensor detail="burglary"`,
					`report 1131 zone=2 alarm`,
				)}},
			state: lines(
				`name=triggered mode=home prev=armed_home by=bob`,
				`alarm since +1m2s zone=window siren until +4m2s`,
				`sounding sounder,siren,strobe`,
				`verify first=window until +31m2s`,
				`zone window open latched alarms=1`,
				`zone hall open`,
				`zone living open`,
			)},
		{name: "a zone with its own modes is not active in the others",
			moves: []move{armAway, awayArmed, {minute, open_("bed"), lines(
				`event zone_open class=routine zone=bed state=armed_away who=bed/sensor`,
			)}}, state: lines(
				`name=armed_away mode=away by=alice`,
				`zone bed open`,
			)},
		{name: "a zone with its own modes is active in them",
			moves: []move{armNight, {minute, open_("bed"), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event zone_open class=routine zone=bed state=armed_night who=bed/sensor`,
				`event alarm class=alarm zone=bed mode=night state=triggered who=bed/sensor detail="burglary"`,
				`report 1132 zone=14 alarm`,
			)}}, state: lines(
				`name=triggered mode=night prev=armed_night by=alice`,
				`alarm since +1m0s zone=bed siren until +4m0s`,
				`sounding sounder,siren,strobe`,
				`verify first=bed until +31m0s`,
				`zone bed open latched alarms=1`,
			)},
		{name: "a perimeter zone during the entry delay alarms at once, its report held",
			moves: []move{armNight, {minute, open_("door"), lines(
				`event zone_open class=routine zone=door state=armed_night who=door/sensor`,
				`event entry_delay class=alarm zone=door mode=night state=pending who=door/sensor detail="30s"`,
			)}, {minute + 5*second, open_("window"), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event zone_open class=routine zone=window state=pending who=window/sensor`,
				`event alarm class=alarm zone=window mode=night state=triggered who=window/sensor detail="burglary during unsetting: report held until 2026-11-25T20:01:35Z"`,
			)}},
			state: lines(
				`name=triggered mode=night prev=armed_night by=alice`,
				`entry until zero zone=door`,
				`alarm since +1m5s zone=window siren until +4m5s`,
				`sounding sounder,siren,strobe`,
				`held until +1m35s`,
				`  held report 1131 zone=2 alarm at=+1m5s`,
				`verify first=window until +31m5s`,
				`zone door open`,
				`zone window open latched alarms=1`,
			)},
		{name: "triggered: an interior follower alarms at once and confirms",
			moves: []move{armAway, awayArmed, {minute, open_("window"), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event zone_open class=routine zone=window state=armed_away who=window/sensor`,
				`event alarm class=alarm zone=window mode=away state=triggered who=window/sensor detail="burglary"`,
				`report 1131 zone=2 alarm`,
			)}, {minute + 10*second, open_("hall"), lines(
				`event zone_open class=routine zone=hall state=triggered who=hall/sensor`,
				`event alarm class=alarm zone=hall mode=away state=triggered who=hall/sensor detail="burglary"`,
				`report 1132 zone=3 alarm`,
				`event alarm_confirmed class=alarm zone=hall state=triggered who=hall/sensor detail="confirmed: window then hall"`,
				`report 1139 zone=3 alarm`,
			)}},
			state: lines(
				`name=triggered mode=away prev=armed_away by=alice`,
				`alarm since +1m0s zone=window siren until +4m10s`,
				`sounding sounder,siren,strobe`,
				`verify first=window until +31m0s confirmed`,
				`zone window open latched alarms=1`,
				`zone hall open latched alarms=1`,
			)},
		{name: "a bypassed zone is quiet while armed",
			moves: []move{armNight, {minute, zoneCmd(CmdBypass, "window", bob, RoleUser), lines(
				`event bypass class=arming zone=window state=armed_night who=bob`,
				`report 1570 zone=2`,
				`result ok`,
			)},
				{2 * minute, open_("window"), lines(
					`event zone_open class=routine zone=window state=armed_night who=window/sensor`,
				)}},
			state: lines(
				`name=armed_night mode=night by=alice`,
				`zone window open bypassed`,
			)},
		{name: "an isolated zone is quiet, even its chime",
			moves: []move{{0, zoneCmd(CmdIsolate, "living", alice, RoleAdmin), lines(
				`event isolate class=arming zone=living state=disarmed who=alice`,
				`report 1570 zone=4`,
				`result ok`,
			)}, {1 * second, open_("living"), lines(
				`event zone_open class=routine zone=living state=disarmed who=living/sensor`,
			)}},
			state: lines(
				`name=disarmed`,
				`zone living open isolated`,
			)},
	}
}

func alarmCases() []coreCase {
	return []coreCase{
		// Sequential confirmation.
		{name: "a second detector confirms the alarm (139)",
			moves: []move{armNight, {minute, open_("window"), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event zone_open class=routine zone=window state=armed_night who=window/sensor`,
				`event alarm class=alarm zone=window mode=night state=triggered who=window/sensor detail="burglary"`,
				`report 1131 zone=2 alarm`,
			)}, {2 * minute, open_("bed"), lines(
				`event zone_open class=routine zone=bed state=triggered who=bed/sensor`,
				`event alarm class=alarm zone=bed mode=night state=triggered who=bed/sensor detail="burglary"`,
				`report 1132 zone=14 alarm`,
				`event alarm_confirmed class=alarm zone=bed state=triggered who=bed/sensor detail="confirmed: window then bed"`,
				`report 1139 zone=14 alarm`,
			)}}, state: lines(
				`name=triggered mode=night prev=armed_night by=alice`,
				`alarm since +1m0s zone=window siren until +5m0s`,
				`sounding sounder,siren,strobe`,
				`verify first=window until +31m0s confirmed`,
				`zone window open latched alarms=1`,
				`zone bed open latched alarms=1`,
			)},
		{name: "a second detector after the cut-off, within the window, confirms",
			moves: []move{armNight, {minute, open_("window"), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event zone_open class=routine zone=window state=armed_night who=window/sensor`,
				`event alarm class=alarm zone=window mode=night state=triggered who=window/sensor detail="burglary"`,
				`report 1131 zone=2 alarm`,
			)}, {4 * minute, Tick{}, lines(
				`out sounder off`,
				`out siren off`,
				`out strobe off`,
				`event siren_cutoff class=alarm zone=window state=armed_night who=system detail="outputs off after 3m0s"`,
			)},
				{10 * minute, open_("bed"), lines(
					`out sounder on`,
					`out siren on`,
					`out strobe on`,
					`event zone_open class=routine zone=bed state=armed_night who=bed/sensor`,
					`event alarm class=alarm zone=bed mode=night state=triggered who=bed/sensor detail="burglary"`,
					`report 1132 zone=14 alarm`,
					`event alarm_confirmed class=alarm zone=bed state=triggered who=bed/sensor detail="confirmed: window then bed"`,
					`report 1139 zone=14 alarm`,
				)}},
			state: lines(
				`name=triggered mode=night prev=armed_night by=alice`,
				`alarm since +10m0s zone=bed siren until +13m0s`,
				`sounding sounder,siren,strobe`,
				`verify first=window until +31m0s confirmed`,
				`zone window open latched alarms=1`,
				`zone bed open latched alarms=1`,
			)},
		{name: "no second detector within the window: unconfirmed, a later one starts afresh",
			moves: []move{armNight, {minute, open_("window"), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event zone_open class=routine zone=window state=armed_night who=window/sensor`,
				`event alarm class=alarm zone=window mode=night state=triggered who=window/sensor detail="burglary"`,
				`report 1131 zone=2 alarm`,
			)}, {4 * minute, Tick{}, lines(
				`out sounder off`,
				`out siren off`,
				`out strobe off`,
				`event siren_cutoff class=alarm zone=window state=armed_night who=system detail="outputs off after 3m0s"`,
			)},
				{30*minute + 59*second, Tick{}, lines()},
				{31 * minute, Tick{}, lines(
					`event alarm_unconfirmed class=alarm zone=window state=armed_night who=system detail="no second detector within the confirmation window"`,
				)},
				{32 * minute, open_("bed"), lines(
					`out sounder on`,
					`out siren on`,
					`out strobe on`,
					`event zone_open class=routine zone=bed state=armed_night who=bed/sensor`,
					`event alarm class=alarm zone=bed mode=night state=triggered who=bed/sensor detail="burglary"`,
					`report 1132 zone=14 alarm`,
				)}},
			state: lines(
				`name=triggered mode=night prev=armed_night by=alice`,
				`alarm since +32m0s zone=bed siren until +35m0s`,
				`sounding sounder,siren,strobe`,
				`verify first=bed until +1h2m0s`,
				`zone window open latched alarms=1`,
				`zone bed open latched alarms=1`,
			)},
		{name: "the same detector twice does not confirm",
			moves: []move{armNight, {minute, open_("window"), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event zone_open class=routine zone=window state=armed_night who=window/sensor`,
				`event alarm class=alarm zone=window mode=night state=triggered who=window/sensor detail="burglary"`,
				`report 1131 zone=2 alarm`,
			)}, {2 * minute, close_("window"), lines(
				`event zone_closed class=routine zone=window state=triggered who=window/sensor`,
			)},
				{3 * minute, open_("window"), lines(
					`event zone_open class=routine zone=window state=triggered who=window/sensor`,
					`event alarm class=alarm zone=window mode=night state=triggered who=window/sensor detail="burglary"`,
					`report 1131 zone=2 alarm`,
				)}},
			state: lines(
				`name=triggered mode=night prev=armed_night by=alice`,
				`alarm since +1m0s zone=window siren until +6m0s`,
				`sounding sounder,siren,strobe`,
				`verify first=window until +31m0s`,
				`zone window open latched alarms=2`,
			)},
		// Once the entry delay has expired (triggered, report held), a further
		// entry-route zone's report is held too: the walk from the door to the keypad
		// does not defeat the unsetting hold.
		{name: "two entry-route detectors do not confirm each other",
			moves: []move{armNight, {minute, open_("back"), lines(
				`event zone_open class=routine zone=back state=armed_night who=back/sensor`,
				`event entry_delay class=alarm zone=back mode=night state=pending who=back/sensor detail="30s"`,
			)}, {minute + 30*second, Tick{}, lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event alarm class=alarm zone=back mode=night state=triggered who=back/sensor detail="burglary during unsetting: report held until 2026-11-25T20:02:00Z"`,
			)},
				{minute + 40*second, open_("door"), lines(
					`event zone_open class=routine zone=door state=triggered who=door/sensor`,
					`event alarm class=alarm zone=door mode=night state=triggered who=door/sensor detail="burglary during unsetting: report held until 2026-11-25T20:02:00Z"`,
				)}, {2 * minute, Tick{}, lines(
					`event alarm_reported class=alarm zone=back state=triggered who=system detail="local warning ran 30s without unsetting"`,
					`report 1131 zone=11 alarm at=+1m30s`,
					`report 1134 zone=1 alarm at=+1m40s`,
				)}},
			state: lines(
				`name=triggered mode=night prev=armed_night by=alice`,
				`entry until zero zone=back`,
				`alarm since +1m30s zone=back siren until +4m40s`,
				`sounding sounder,siren,strobe`,
				`verify first=back until +31m30s entry-route`,
				`zone door open latched alarms=1`,
				`zone back open latched alarms=1`,
			)},
		{name: "an entry-route alarm then an instant zone confirm and release the held report",
			moves: []move{armNight, {minute, open_("back"), lines(
				`event zone_open class=routine zone=back state=armed_night who=back/sensor`,
				`event entry_delay class=alarm zone=back mode=night state=pending who=back/sensor detail="30s"`,
			)}, {minute + 30*second, Tick{}, lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event alarm class=alarm zone=back mode=night state=triggered who=back/sensor detail="burglary during unsetting: report held until 2026-11-25T20:02:00Z"`,
			)},
				{minute + 35*second, open_("bed"), lines(
					`event zone_open class=routine zone=bed state=triggered who=bed/sensor`,
					`event alarm class=alarm zone=bed mode=night state=triggered who=bed/sensor detail="burglary during unsetting: report held until 2026-11-25T20:02:00Z"`,
					`event alarm_reported class=alarm zone=back state=triggered who=system detail="confirmed by a second detector"`,
					`report 1131 zone=11 alarm at=+1m30s`,
					`report 1132 zone=14 alarm`,
					`event alarm_confirmed class=alarm zone=bed state=triggered who=bed/sensor detail="confirmed: back then bed"`,
					`report 1139 zone=14 alarm`,
				)}},
			state: lines(
				`name=triggered mode=night prev=armed_night by=alice`,
				`entry until zero zone=back`,
				`alarm since +1m30s zone=back siren until +4m35s`,
				`sounding sounder,siren,strobe`,
				`verify first=back until +31m30s entry-route confirmed`,
				`zone back open latched alarms=1`,
				`zone bed open latched alarms=1`,
			)},
		{name: "confirmation during the unsetting period releases the held report at once",
			moves: []move{armAway, awayArmed, {minute, open_("door"), lines(
				`event zone_open class=routine zone=door state=armed_away who=door/sensor`,
				`event entry_delay class=alarm zone=door mode=away state=pending who=door/sensor detail="30s"`,
			)},
				{minute + 5*second, open_("living"), lines(
					`out sounder on`,
					`out siren on`,
					`out strobe on`,
					`event zone_open class=routine zone=living state=pending who=living/sensor`,
					`event alarm class=alarm zone=living mode=away state=triggered who=living/sensor detail="burglary during unsetting: report held until 2026-11-25T20:01:35Z"`,
				)},
				{minute + 6*second, open_("window"), lines(
					`event zone_open class=routine zone=window state=triggered who=window/sensor`,
					`event alarm class=alarm zone=window mode=away state=triggered who=window/sensor detail="burglary during unsetting: report held until 2026-11-25T20:01:35Z"`,
					`event alarm_reported class=alarm zone=living state=triggered who=system detail="confirmed by a second detector"`,
					`report 1132 zone=4 alarm at=+1m5s`,
					`report 1131 zone=2 alarm`,
					`event alarm_confirmed class=alarm zone=window state=triggered who=window/sensor detail="confirmed: living then window"`,
					`report 1139 zone=2 alarm`,
				)}},
			state: lines(
				`name=triggered mode=away prev=armed_away by=alice`,
				`entry until zero zone=door`,
				`alarm since +1m5s zone=living siren until +4m6s`,
				`sounding sounder,siren,strobe`,
				`verify first=living until +31m5s confirmed`,
				`zone door open`,
				`zone window open latched alarms=1`,
				`zone living open latched alarms=1`,
			)},
		{name: "an alarm is confirmed once",
			moves: []move{armNight, {minute, open_("window"), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event zone_open class=routine zone=window state=armed_night who=window/sensor`,
				`event alarm class=alarm zone=window mode=night state=triggered who=window/sensor detail="burglary"`,
				`report 1131 zone=2 alarm`,
			)}, {2 * minute, open_("bed"), lines(
				`event zone_open class=routine zone=bed state=triggered who=bed/sensor`,
				`event alarm class=alarm zone=bed mode=night state=triggered who=bed/sensor detail="burglary"`,
				`report 1132 zone=14 alarm`,
				`event alarm_confirmed class=alarm zone=bed state=triggered who=bed/sensor detail="confirmed: window then bed"`,
				`report 1139 zone=14 alarm`,
			)},
				{3 * minute, open_("side"), lines(
					`event zone_open class=routine zone=side state=triggered who=side/sensor`,
					`event alarm class=alarm zone=side mode=night state=triggered who=side/sensor detail="burglary"`,
					`report 1134 zone=13 alarm`,
				)}},
			state: lines(
				`name=triggered mode=night prev=armed_night by=alice`,
				`alarm since +1m0s zone=window siren until +6m0s`,
				`sounding sounder,siren,strobe`,
				`verify first=window until +31m0s confirmed`,
				`zone window open latched alarms=1`,
				`zone side open latched alarms=1`,
				`zone bed open latched alarms=1`,
			)},

		// Cut-off, latching, swinger.
		{name: "the siren cuts off after its duration and the system stays armed",
			moves: []move{armNight, {minute, open_("window"), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event zone_open class=routine zone=window state=armed_night who=window/sensor`,
				`event alarm class=alarm zone=window mode=night state=triggered who=window/sensor detail="burglary"`,
				`report 1131 zone=2 alarm`,
			)}, {4*minute - time.Second, Tick{}, lines()},
				{4 * minute, Tick{}, lines(
					`out sounder off`,
					`out siren off`,
					`out strobe off`,
					`event siren_cutoff class=alarm zone=window state=armed_night who=system detail="outputs off after 3m0s"`,
				)}},
			state: lines(
				`name=armed_night mode=night by=alice`,
				`verify first=window until +31m0s`,
				`zone window open latched alarms=1`,
			)},
		{name: "a zone that alarmed does not retrigger until it closed",
			moves: []move{armNight, {minute, open_("window"), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event zone_open class=routine zone=window state=armed_night who=window/sensor`,
				`event alarm class=alarm zone=window mode=night state=triggered who=window/sensor detail="burglary"`,
				`report 1131 zone=2 alarm`,
			)}, {4 * minute, Tick{}, lines(
				`out sounder off`,
				`out siren off`,
				`out strobe off`,
				`event siren_cutoff class=alarm zone=window state=armed_night who=system detail="outputs off after 3m0s"`,
			)},
				{5 * minute, sensorSig("window", SigTamperRestore), lines()},
				{6 * minute, close_("window"), lines(
					`event zone_closed class=routine zone=window state=armed_night who=window/sensor`,
				)}, {7 * minute, open_("window"), lines(
					`out sounder on`,
					`out siren on`,
					`out strobe on`,
					`event zone_open class=routine zone=window state=armed_night who=window/sensor`,
					`event alarm class=alarm zone=window mode=night state=triggered who=window/sensor detail="burglary"`,
					`report 1131 zone=2 alarm`,
				)}},
			state: lines(
				`name=triggered mode=night prev=armed_night by=alice`,
				`alarm since +7m0s zone=window siren until +10m0s`,
				`sounding sounder,siren,strobe`,
				`verify first=window until +31m0s`,
				`zone window open latched alarms=2`,
			)},
		{name: "swinger shutdown after three alarms of one zone",
			moves: []move{armNight,
				{1 * minute, open_("window"), lines(
					`out sounder on`,
					`out siren on`,
					`out strobe on`,
					`event zone_open class=routine zone=window state=armed_night who=window/sensor`,
					`event alarm class=alarm zone=window mode=night state=triggered who=window/sensor detail="burglary"`,
					`report 1131 zone=2 alarm`,
				)}, {2 * minute, close_("window"), lines(
					`event zone_closed class=routine zone=window state=triggered who=window/sensor`,
				)}, {4 * minute, Tick{}, lines(
					`out sounder off`,
					`out siren off`,
					`out strobe off`,
					`event siren_cutoff class=alarm zone=window state=armed_night who=system detail="outputs off after 3m0s"`,
				)},
				{5 * minute, open_("window"), lines(
					`out sounder on`,
					`out siren on`,
					`out strobe on`,
					`event zone_open class=routine zone=window state=armed_night who=window/sensor`,
					`event alarm class=alarm zone=window mode=night state=triggered who=window/sensor detail="burglary"`,
					`report 1131 zone=2 alarm`,
				)}, {6 * minute, close_("window"), lines(
					`event zone_closed class=routine zone=window state=triggered who=window/sensor`,
				)}, {8 * minute, Tick{}, lines(
					`out sounder off`,
					`out siren off`,
					`out strobe off`,
					`event siren_cutoff class=alarm zone=window state=armed_night who=system detail="outputs off after 3m0s"`,
				)},
				{9 * minute, open_("window"), lines(
					`out sounder on`,
					`out siren on`,
					`out strobe on`,
					`event zone_open class=routine zone=window state=armed_night who=window/sensor`,
					`event alarm class=alarm zone=window mode=night state=triggered who=window/sensor detail="burglary"`,
					`report 1131 zone=2 alarm`,
					`event swinger_shutdown class=alarm zone=window state=triggered who=system detail="zone reached its alarm limit for this arming period"`,
				)}, {10 * minute, close_("window"), lines(
					`event zone_closed class=routine zone=window state=triggered who=window/sensor`,
				)}, {12 * minute, Tick{}, lines(
					`out sounder off`,
					`out siren off`,
					`out strobe off`,
					`event siren_cutoff class=alarm zone=window state=armed_night who=system detail="outputs off after 3m0s"`,
				)},
				{13 * minute, open_("window"), lines(
					`event zone_open class=routine zone=window state=armed_night who=window/sensor`,
				)},
				stateIs(
					`name=armed_night mode=night by=alice`,
					`verify first=window until +31m0s`,
					`zone window open alarms=3`,
				),
				{14 * minute, disarm(alice, RoleAdmin), lines(
					`event disarmed class=arming state=disarmed who=alice`,
					`report 1401 zone=1`,
					`result ok`,
				)}},
			state: lines(
				`name=disarmed`,
				`zone window open`,
			)},
		{name: "swinger limit 1: the first alarm shuts the zone down",
			tweak: func(c *Config) { c.Settings.SwingerLimit = 1 },
			moves: []move{armNight, {minute, open_("window"), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event zone_open class=routine zone=window state=armed_night who=window/sensor`,
				`event alarm class=alarm zone=window mode=night state=triggered who=window/sensor detail="burglary"`,
				`report 1131 zone=2 alarm`,
				`event swinger_shutdown class=alarm zone=window state=triggered who=system detail="zone reached its alarm limit for this arming period"`,
			)}, {2 * minute, close_("window"), lines(
				`event zone_closed class=routine zone=window state=triggered who=window/sensor`,
			)},
				{3 * minute, open_("window"), lines(
					`event zone_open class=routine zone=window state=triggered who=window/sensor`,
				)}},
			state: lines(
				`name=triggered mode=night prev=armed_night by=alice`,
				`alarm since +1m0s zone=window siren until +4m0s`,
				`sounding sounder,siren,strobe`,
				`verify first=window until +31m0s`,
				`zone window open alarms=1`,
			)},

		// Disarm.
		{name: "disarm during an alarm: outputs off, 406 cancel, 1401 opening",
			moves: []move{armNight, {minute, open_("window"), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event zone_open class=routine zone=window state=armed_night who=window/sensor`,
				`event alarm class=alarm zone=window mode=night state=triggered who=window/sensor detail="burglary"`,
				`report 1131 zone=2 alarm`,
			)}, {2 * minute, disarm(bob, RoleUser), lines(
				`out sounder off`,
				`out siren off`,
				`out strobe off`,
				`event alarm_cancel class=alarm zone=window state=triggered who=bob`,
				`report 1406 zone=2`,
				`event disarmed class=arming state=disarmed who=bob`,
				`report 1401 zone=2`,
				`result ok`,
			)}},
			state: lines(
				`name=disarmed`,
				`zone window open`,
			)},
		{name: "disarm after the cut-off: an opening, no cancel",
			moves: []move{armNight, {minute, open_("window"), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event zone_open class=routine zone=window state=armed_night who=window/sensor`,
				`event alarm class=alarm zone=window mode=night state=triggered who=window/sensor detail="burglary"`,
				`report 1131 zone=2 alarm`,
			)}, {4 * minute, Tick{}, lines(
				`out sounder off`,
				`out siren off`,
				`out strobe off`,
				`event siren_cutoff class=alarm zone=window state=armed_night who=system detail="outputs off after 3m0s"`,
			)},
				{5 * minute, disarm(bob, RoleUser), lines(
					`event disarmed class=arming state=disarmed who=bob`,
					`report 1401 zone=2`,
					`result ok`,
				)}},
			state: lines(
				`name=disarmed`,
				`zone window open`,
			)},
		// No opening report (1401) for an arming whose closing report (3401) was
		// never sent.
		{name: "disarm during the exit delay",
			moves: []move{armAway, {10 * second, disarm(alice, RoleAdmin), lines(
				`event disarmed class=arming state=disarmed who=alice`,
				`result ok`,
			)}}, state: lines(
				`name=disarmed`,
			)},
		{name: "disarm when disarmed is refused",
			moves: []move{{0, disarm(alice, RoleAdmin), lines(
				`result not_allowed`,
			)}}, state: lines(
				`name=disarmed`,
			)},
		{name: "disarm after a tamper alarm while disarmed: cancel, no opening",
			moves: []move{{0, sensorSig("door", SigTamper), lines(
				`out sounder on`,
				`event tamper class=tamper zone=door state=triggered who=door/sensor`,
				`report 1383 zone=1 alarm`,
			)}, {10 * second, disarm(bob, RoleUser), lines(
				`out sounder off`,
				`event alarm_cancel class=alarm zone=door state=triggered who=bob`,
				`report 1406 zone=2`,
				`result ok`,
			)}}, state: lines(
				`name=disarmed`,
				`zone door tamper`,
			)},
		{name: "a guest may disarm",
			moves: []move{armNight, {minute, disarm(gus, RoleGuest), lines(
				`event disarmed class=arming state=disarmed who=gus`,
				`report 1401 zone=3`,
				`result ok`,
			)}}, state: lines(
				`name=disarmed`,
			)},

		// 24-hour zones.
		{name: "fire while disarmed sounds everything, reports 110, returns to disarmed after the cut-off",
			moves: []move{{0, open_("smoke"), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event zone_open class=routine zone=smoke state=disarmed who=smoke/sensor`,
				`event alarm class=alarm zone=smoke state=triggered who=smoke/sensor detail="fire"`,
				`report 1110 zone=5 alarm`,
			)}, {minute, close_("smoke"), lines(
				`event zone_closed class=routine zone=smoke state=triggered who=smoke/sensor`,
			)}, {3 * minute, Tick{}, lines(
				`out sounder off`,
				`out siren off`,
				`out strobe off`,
				`event siren_cutoff class=alarm zone=smoke state=disarmed who=system detail="outputs off after 3m0s"`,
			)}},
			state: lines(
				`name=disarmed`,
				`zone smoke alarms=1`,
			)},
		{name: "fire while armed: full alarm, back to armed after the cut-off",
			moves: []move{armNight, {minute, open_("smoke"), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event zone_open class=routine zone=smoke state=armed_night who=smoke/sensor`,
				`event alarm class=alarm zone=smoke state=triggered who=smoke/sensor detail="fire"`,
				`report 1110 zone=5 alarm`,
			)}, {4 * minute, Tick{}, lines(
				`out sounder off`,
				`out siren off`,
				`out strobe off`,
				`event siren_cutoff class=alarm zone=smoke state=armed_night who=system detail="outputs off after 3m0s"`,
			)}}, state: lines(
				`name=armed_night mode=night by=alice`,
				`zone smoke open latched alarms=1`,
			)},
		{name: "CO sounds everything and reports 162",
			moves: []move{{0, open_("co"), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event zone_open class=routine zone=co state=disarmed who=co/sensor`,
				`event alarm class=alarm zone=co state=triggered who=co/sensor detail="co"`,
				`report 1162 zone=12 alarm`,
			)}}, state: lines(
				`name=triggered prev=disarmed`,
				`alarm since +0s zone=co siren until +3m0s`,
				`sounding sounder,siren,strobe`,
				`zone co open latched alarms=1`,
			)},
		{name: "panic zone sounds everything and reports 120",
			moves: []move{{0, open_("panic"), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event zone_open class=routine zone=panic state=disarmed who=panic/sensor`,
				`event alarm class=alarm zone=panic state=triggered who=panic/sensor detail="panic"`,
				`report 1120 zone=6 alarm`,
			)}}, state: lines(
				`name=triggered prev=disarmed`,
				`alarm since +0s zone=panic siren until +3m0s`,
				`sounding sounder,siren,strobe`,
				`zone panic open latched alarms=1`,
			)},
		{name: "silent panic zone: report only, no output, no state change, every time",
			moves: []move{armNight, {minute, open_("silent"), lines(
				`event zone_open class=routine zone=silent state=armed_night who=silent/sensor`,
				`event silent_panic class=alarm zone=silent state=armed_night who=silent/sensor silent`,
				`report 1122 zone=7 alarm`,
			)}, {2 * minute, close_("silent"), lines(
				`event zone_closed class=routine zone=silent state=armed_night who=silent/sensor`,
			)},
				{3 * minute, open_("silent"), lines(
					`event zone_open class=routine zone=silent state=armed_night who=silent/sensor`,
					`event silent_panic class=alarm zone=silent state=armed_night who=silent/sensor silent`,
					`report 1122 zone=7 alarm`,
				)}},
			state: lines(
				`name=armed_night mode=night by=alice`,
				`zone silent open latched alarms=2`,
			)},
		{name: "a 24-hour zone during an alarm adds its outputs and its report",
			moves: []move{{0, open_("leak"), lines(
				`out sounder on`,
				`event zone_open class=routine zone=leak state=disarmed who=leak/sensor`,
				`event alarm class=alarm zone=leak state=triggered who=leak/sensor detail="water"`,
				`report 1154 zone=10 alarm`,
			)}, {10 * second, open_("smoke"), lines(
				`out siren on`,
				`out strobe on`,
				`event zone_open class=routine zone=smoke state=triggered who=smoke/sensor`,
				`event alarm class=alarm zone=smoke state=triggered who=smoke/sensor detail="fire"`,
				`report 1110 zone=5 alarm`,
			)}}, state: lines(
				`name=triggered prev=disarmed`,
				`alarm since +0s zone=leak siren until +3m10s`,
				`sounding sounder,siren,strobe`,
				`zone smoke open latched alarms=1`,
				`zone leak open latched alarms=1`,
			)},
		{name: "a bypassed water zone is quiet",
			moves: []move{{0, zoneCmd(CmdBypass, "leak", bob, RoleUser), lines(
				`event bypass class=arming zone=leak state=disarmed who=bob`,
				`report 1570 zone=10`,
				`result ok`,
			)}, {1 * second, open_("leak"), lines(
				`event zone_open class=routine zone=leak state=disarmed who=leak/sensor`,
			)}},
			state: lines(
				`name=disarmed`,
				`zone leak open bypassed`,
			)},
		{name: "fire, panic and silent panic zones cannot be bypassed and alarm anyway",
			moves: []move{
				{0, zoneCmd(CmdBypass, "smoke", alice, RoleAdmin), lines(
					`result not_allowed`,
				)},
				{1 * second, zoneCmd(CmdBypass, "panic", alice, RoleAdmin), lines(
					`result not_allowed`,
				)},
				{2 * second, zoneCmd(CmdBypass, "silent", alice, RoleAdmin), lines(
					`result not_allowed`,
				)},
				{3 * second, open_("silent"), lines(
					`event zone_open class=routine zone=silent state=disarmed who=silent/sensor`,
					`event silent_panic class=alarm zone=silent state=disarmed who=silent/sensor silent`,
					`report 1122 zone=7 alarm`,
				)}},
			state: lines(
				`name=disarmed`,
				`zone silent open latched alarms=1`,
			)},
		// CO is life safety like fire: it cannot be bypassed. An admin may isolate a
		// faulty detector of any type (logged and reported as 570).
		{name: "a CO detector cannot be bypassed and alarms anyway",
			moves: []move{{0, zoneCmd(CmdBypass, "co", bob, RoleUser), lines(
				`result not_allowed`,
			)}, {1 * second, open_("co"), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event zone_open class=routine zone=co state=disarmed who=co/sensor`,
				`event alarm class=alarm zone=co state=triggered who=co/sensor detail="co"`,
				`report 1162 zone=12 alarm`,
			)}},
			state: lines(
				`name=triggered prev=disarmed`,
				`alarm since +1s zone=co siren until +3m1s`,
				`sounding sounder,siren,strobe`,
				`zone co open latched alarms=1`,
			)},
		{name: "an isolated fire zone is quiet",
			moves: []move{{0, zoneCmd(CmdIsolate, "smoke", alice, RoleAdmin), lines(
				`event isolate class=arming zone=smoke state=disarmed who=alice`,
				`report 1570 zone=5`,
				`result ok`,
			)}, {1 * second, open_("smoke"), lines(
				`event zone_open class=routine zone=smoke state=disarmed who=smoke/sensor`,
			)}},
			state: lines(
				`name=disarmed`,
				`zone smoke open isolated`,
			)},

		// Tamper.
		{name: "tamper while disarmed: reported, internal sounder only; restore reported",
			moves: []move{{0, sensorSig("door", SigTamper), lines(
				`out sounder on`,
				`event tamper class=tamper zone=door state=triggered who=door/sensor`,
				`report 1383 zone=1 alarm`,
			)}, {5 * second, sensorSig("door", SigTamper), lines()},
				{10 * second, sensorSig("door", SigTamperRestore), lines(
					`event tamper_restore class=tamper zone=door state=triggered who=door/sensor`,
					`report 3383 zone=1`,
				)}, {11 * second, sensorSig("door", SigTamperRestore), lines()}},
			state: lines(
				`name=triggered prev=disarmed`,
				`alarm since +0s zone=door siren until +3m0s`,
				`sounding sounder`,
			)},
		{name: "tamper while armed: full alarm",
			moves: []move{armNight, {minute, sensorSig("window", SigTamper), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event tamper class=tamper zone=window state=triggered who=window/sensor`,
				`report 1383 zone=2 alarm`,
			)}}, state: lines(
				`name=triggered mode=night prev=armed_night by=alice`,
				`alarm since +1m0s zone=window siren until +4m0s`,
				`sounding sounder,siren,strobe`,
				`zone window tamper`,
			)},
		{name: "tamper during the exit delay: full alarm",
			moves: []move{armAway, {5 * second, sensorSig("hall", SigTamper), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event tamper class=tamper zone=hall state=triggered who=hall/sensor`,
				`report 1383 zone=3 alarm`,
			)}}, state: lines(
				`name=triggered mode=away prev=armed_away by=alice`,
				`alarm since +5s zone=hall siren until +3m5s`,
				`sounding sounder,siren,strobe`,
				`zone hall tamper`,
			)},
		{name: "the panel lid (tamper zone) opened while disarmed",
			moves: []move{{0, open_("lid"), lines(
				`out sounder on`,
				`event zone_open class=routine zone=lid state=disarmed who=lid/sensor`,
				`event tamper class=tamper zone=lid state=triggered who=lid/sensor`,
				`report 1383 zone=8 alarm`,
			)}, {5 * second, close_("lid"), lines(
				`event zone_closed class=routine zone=lid state=triggered who=lid/sensor`,
				`event tamper_restore class=tamper zone=lid state=triggered who=lid/sensor`,
				`report 3383 zone=8`,
			)}}, state: lines(
				`name=triggered prev=disarmed`,
				`alarm since +0s zone=lid siren until +3m0s`,
				`sounding sounder`,
			)},
		{name: "the panel lid opened while armed: full alarm",
			moves: []move{armNight, {minute, open_("lid"), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event zone_open class=routine zone=lid state=armed_night who=lid/sensor`,
				`event tamper class=tamper zone=lid state=triggered who=lid/sensor`,
				`report 1383 zone=8 alarm`,
			)}}, state: lines(
				`name=triggered mode=night prev=armed_night by=alice`,
				`alarm since +1m0s zone=lid siren until +4m0s`,
				`sounding sounder,siren,strobe`,
				`zone lid open`,
			)},
		{name: "maintenance logs tampers without alarm or report",
			moves: []move{
				{0, cmdBy(CmdMaintenanceStart, alice, RoleAdmin), lines(
					`event maintenance_start class=tamper state=disarmed who=alice detail="tamper alarms suppressed until 2026-11-26T04:00:00Z"`,
					`result ok`,
				)},
				{minute, open_("lid"), lines(
					`event zone_open class=routine zone=lid state=disarmed who=lid/sensor`,
					`event tamper class=tamper zone=lid state=disarmed who=lid/sensor detail="suppressed: maintenance by Alice via api"`,
				)},
				{2 * minute, sensorSig("door", SigTamper), lines(
					`event tamper class=tamper zone=door state=disarmed who=door/sensor detail="suppressed: maintenance by Alice via api"`,
				)},
				{3 * minute, sensorSig("door", SigTamperRestore), lines(
					`event tamper_restore class=tamper zone=door state=disarmed who=door/sensor detail="not reported: its tamper was not"`,
				)},
				{4 * minute, cmdBy(CmdMaintenanceStop, alice, RoleAdmin), lines(
					`event maintenance_end class=tamper state=disarmed who=alice`,
					`result ok`,
				)}},
			state: lines(
				`name=disarmed`,
				`zone lid open`,
			)},
		{name: "maintenance times out, then tampers alarm again",
			moves: []move{
				{0, cmdBy(CmdMaintenanceStart, alice, RoleAdmin), lines(
					`event maintenance_start class=tamper state=disarmed who=alice detail="tamper alarms suppressed until 2026-11-26T04:00:00Z"`,
					`result ok`,
				)},
				{8*time.Hour - time.Second, Tick{}, lines()},
				{8 * time.Hour, Tick{}, lines(
					`event maintenance_end class=tamper state=disarmed who=system detail="timed out"`,
				)},
				{8*time.Hour + minute, open_("lid"), lines(
					`out sounder on`,
					`event zone_open class=routine zone=lid state=disarmed who=lid/sensor`,
					`event tamper class=tamper zone=lid state=triggered who=lid/sensor`,
					`report 1383 zone=8 alarm`,
				)}},
			state: lines(
				`name=triggered prev=disarmed`,
				`alarm since +8h1m0s zone=lid siren until +8h4m0s`,
				`sounding sounder`,
				`zone lid open`,
			)},
	}
}

// wrongCode is a wrong code entered at the keypad.
var wrongCode = Refused{Who: keypad, Reason: RefusedWrongCode, Detail: "wrong PIN"}

// wrongCodes returns n wrong codes a second apart from d, each answered by the log
// entry alone.
func wrongCodes(d time.Duration, n int) []move {
	var ms []move
	for i := range n {
		ms = append(ms, move{d + time.Duration(i)*second, wrongCode,
			lines(`event code_rejected class=tamper state=disarmed who=kp1/keypad detail="wrong PIN"`)})
	}
	return ms
}

func commandCases() []coreCase {
	walkAll := []move{{0, cmdBy(CmdWalkTestStart, bob, RoleUser), lines(
		`event walk_test_start class=arming state=disarmed who=bob`,
		`result ok`)}}
	var ids []string
	for i, z := range coreConfig().Zones {
		ids = append(ids, z.ID)
		walkAll = append(walkAll, move{time.Duration(i+1) * second, open_(z.ID), lines(
			`out chime on pulse`,
			`event zone_open class=routine zone=`+z.ID+` state=disarmed who=`+z.ID+`/sensor`,
			`event walk_test_zone class=routine zone=`+z.ID+` state=disarmed who=`+z.ID+`/sensor`)})
	}
	walkAll = append(walkAll, move{minute, cmdBy(CmdWalkTestStop, bob, RoleUser), lines(
		`event walk_test_end class=arming state=disarmed who=bob detail="all zones seen" zones=`+strings.Join(ids, ","),
		`result ok`)})

	return []coreCase{
		// Keyswitch.
		{name: "keyswitch arms away and disarms during the exit delay",
			moves: []move{{0, open_("key"), lines(
				`event zone_open class=routine zone=key state=disarmed who=key/sensor`,
				`event arming class=arming mode=away state=arming who=key/keyswitch detail="30s"`,
			)}, {10 * second, close_("key"), lines(
				`event zone_closed class=routine zone=key state=arming who=key/sensor`,
				`event disarmed class=arming state=disarmed who=key/keyswitch`,
			)}}, state: lines(
				`name=disarmed`,
			)},
		{name: "keyswitch arms away, the exit delay ends, keyswitch disarms",
			moves: []move{{0, open_("key"), lines(
				`event zone_open class=routine zone=key state=disarmed who=key/sensor`,
				`event arming class=arming mode=away state=arming who=key/keyswitch detail="30s"`,
			)}, {30 * second, Tick{}, lines(
				`event armed class=arming mode=away state=armed_away who=key/keyswitch`,
				`report 3401 zone=0`,
			)}, {minute, close_("key"), lines(
				`event zone_closed class=routine zone=key state=armed_away who=key/sensor`,
				`event disarmed class=arming state=disarmed who=key/keyswitch`,
				`report 1401 zone=0`,
			)}}, state: lines(
				`name=disarmed`,
			)},
		{name: "keyswitch arming without exit delay",
			tweak: func(c *Config) { c.Settings.ExitDelay[ModeAway] = 0 },
			moves: []move{{0, open_("key"), lines(
				`event zone_open class=routine zone=key state=disarmed who=key/sensor`,
				`event armed class=arming mode=away state=armed_away who=key/keyswitch`,
				`report 3401 zone=0`,
			)}}, state: lines(
				`name=armed_away mode=away by=key/keyswitch`,
				`zone key open`,
			)},
		{name: "keyswitch refused when not ready: logged only, closing it does nothing",
			moves: []move{{0, open_("window"), lines(
				`event zone_open class=routine zone=window state=disarmed who=window/sensor`,
			)}, {1 * second, open_("key"), lines(
				`event zone_open class=routine zone=key state=disarmed who=key/sensor`,
				`event arm_refused class=arming mode=away state=disarmed who=key/keyswitch reasons=window:open`,
			)}, {2 * second, close_("key"), lines(
				`event zone_closed class=routine zone=key state=disarmed who=key/sensor`,
			)}},
			state: lines(
				`name=disarmed`,
				`zone window open`,
			)},
		{name: "keyswitch opened while armed does nothing; closed, it disarms",
			moves: []move{armNight, {minute, open_("key"), lines(
				`event zone_open class=routine zone=key state=armed_night who=key/sensor`,
			)}, {2 * minute, close_("key"), lines(
				`event zone_closed class=routine zone=key state=armed_night who=key/sensor`,
				`event disarmed class=arming state=disarmed who=key/keyswitch`,
				`report 1401 zone=0`,
			)}}, state: lines(
				`name=disarmed`,
			)},
		{name: "keyswitch during a walk test is a walk test zone",
			moves: []move{{0, cmdBy(CmdWalkTestStart, bob, RoleUser), lines(
				`event walk_test_start class=arming state=disarmed who=bob`,
				`result ok`,
			)}, {1 * second, open_("key"), lines(
				`out chime on pulse`,
				`event zone_open class=routine zone=key state=disarmed who=key/sensor`,
				`event walk_test_zone class=routine zone=key state=disarmed who=key/sensor`,
			)},
				{2 * second, close_("key"), lines(
					`event zone_closed class=routine zone=key state=disarmed who=key/sensor`,
				)}},
			state: lines(
				`name=disarmed`,
				`walk test by=bob until +15m0s seen=key`,
			)},

		// Bypass and isolation.
		{name: "bypass lasts until disarm, which restores it (3570)",
			moves: []move{{0, zoneCmd(CmdBypass, "window", bob, RoleUser), lines(
				`event bypass class=arming zone=window state=disarmed who=bob`,
				`report 1570 zone=2`,
				`result ok`,
			)}, {1 * second, arm(ModeNight), lines(
				`event armed class=arming mode=night state=armed_night who=alice`,
				`report 3401 zone=1`,
				`result ok`,
			)},
				{minute, open_("window"), lines(
					`event zone_open class=routine zone=window state=armed_night who=window/sensor`,
				)}, {2 * minute, disarm(alice, RoleAdmin), lines(
					`event disarmed class=arming state=disarmed who=alice`,
					`report 1401 zone=1`,
					`event unbypass class=arming zone=window state=disarmed who=alice detail="ended by the disarm"`,
					`report 3570 zone=2`,
					`result ok`,
				)}},
			state: lines(
				`name=disarmed`,
				`zone window open`,
			)},
		{name: "unbypass restores the zone (3570)",
			moves: []move{{0, zoneCmd(CmdBypass, "window", bob, RoleUser), lines(
				`event bypass class=arming zone=window state=disarmed who=bob`,
				`report 1570 zone=2`,
				`result ok`,
			)},
				{1 * second, zoneCmd(CmdUnbypass, "window", bob, RoleUser), lines(
					`event unbypass class=arming zone=window state=disarmed who=bob`,
					`report 3570 zone=2`,
					`result ok`,
				)},
				{2 * second, arm(ModeNight), lines(
					`event armed class=arming mode=night state=armed_night who=alice`,
					`report 3401 zone=1`,
					`result ok`,
				)}, {minute, open_("window"), lines(
					`out sounder on`,
					`out siren on`,
					`out strobe on`,
					`event zone_open class=routine zone=window state=armed_night who=window/sensor`,
					`event alarm class=alarm zone=window mode=night state=triggered who=window/sensor detail="burglary"`,
					`report 1131 zone=2 alarm`,
				)}},
			state: lines(
				`name=triggered mode=night prev=armed_night by=alice`,
				`alarm since +1m0s zone=window siren until +4m0s`,
				`sounding sounder,siren,strobe`,
				`verify first=window until +31m0s`,
				`zone window open latched alarms=1`,
			)},
		{name: "isolation needs an admin and survives disarm; unisolate (3570)",
			moves: []move{
				{0, zoneCmd(CmdIsolate, "window", bob, RoleUser), lines(
					`event command_denied class=arming zone=window state=disarmed who=bob detail="isolate: needs an admin"`,
					`result denied`,
				)},
				{1 * second, zoneCmd(CmdIsolate, "window", alice, RoleAdmin), lines(
					`event isolate class=arming zone=window state=disarmed who=alice`,
					`report 1570 zone=2`,
					`result ok`,
				)},
				{2 * second, arm(ModeNight), lines(
					`event armed class=arming mode=night state=armed_night who=alice`,
					`report 3401 zone=1`,
					`result ok`,
				)},
				{3 * second, open_("window"), lines(
					`event zone_open class=routine zone=window state=armed_night who=window/sensor`,
				)},
				{4 * second, disarm(alice, RoleAdmin), lines(
					`event disarmed class=arming state=disarmed who=alice`,
					`report 1401 zone=1`,
					`result ok`,
				)},
				{5 * second, close_("window"), lines(
					`event zone_closed class=routine zone=window state=disarmed who=window/sensor`,
				)},
				{6 * second, zoneCmd(CmdUnisolate, "window", alice, RoleAdmin), lines(
					`event unisolate class=arming zone=window state=disarmed who=alice`,
					`report 3570 zone=2`,
					`result ok`,
				)}},
			state: lines(
				`name=disarmed`,
			)},
		{name: "bypass is refused while pending or triggered; unbypass and isolate are not",
			moves: []move{armNight,
				{minute, open_("door"), lines(
					`event zone_open class=routine zone=door state=armed_night who=door/sensor`,
					`event entry_delay class=alarm zone=door mode=night state=pending who=door/sensor detail="30s"`,
				)},
				{minute + 1*second, zoneCmd(CmdBypass, "window", bob, RoleUser), lines(
					`result not_allowed`,
				)},
				{minute + 30*second, Tick{}, lines(
					`out sounder on`,
					`out siren on`,
					`out strobe on`,
					`event alarm class=alarm zone=door mode=night state=triggered who=door/sensor detail="burglary during unsetting: report held until 2026-11-25T20:02:00Z"`,
				)},
				{minute + 31*second, zoneCmd(CmdBypass, "window", bob, RoleUser), lines(
					`result not_allowed`,
				)},
				{minute + 32*second, zoneCmd(CmdUnbypass, "window", bob, RoleUser), lines(
					`event unbypass class=arming zone=window state=triggered who=bob`,
					`report 3570 zone=2`,
					`result ok`,
				)},
				{minute + 33*second, zoneCmd(CmdIsolate, "window", alice, RoleAdmin), lines(
					`event isolate class=arming zone=window state=triggered who=alice`,
					`report 1570 zone=2`,
					`result ok`,
				)}},
			state: lines(
				`name=triggered mode=night prev=armed_night by=alice`,
				`entry until zero zone=door`,
				`alarm since +1m30s zone=door siren until +4m30s`,
				`sounding sounder,siren,strobe`,
				`held until +2m0s`,
				`  held report 1134 zone=1 alarm at=+1m30s`,
				`verify first=door until +31m30s entry-route`,
				`zone door open latched alarms=1`,
				`zone window isolated`,
			)},
		{name: "bypass of an unknown zone is invalid",
			moves: []move{{0, zoneCmd(CmdBypass, "nope", alice, RoleAdmin), lines(
				`result invalid`,
			)}}, state: lines(
				`name=disarmed`,
			)},

		// Duress.
		{name: "duress disarms normally and queues a silent duress report",
			moves: []move{armNight, {minute, Command{Kind: CmdDisarm, Who: bob, Role: RoleUser, Duress: true}, lines(
				`event duress class=alarm state=armed_night who=bob silent`,
				`report 1121 zone=2 alarm`,
				`event disarmed class=arming state=disarmed who=bob`,
				`report 1401 zone=2`,
				`result ok`,
			)}},
			state: lines(
				`name=disarmed`,
			)},
		{name: "duress when already disarmed: the report, and the normal code's answer",
			moves: []move{{0, Command{Kind: CmdDisarm, Who: bob, Role: RoleUser, Duress: true}, lines(
				`event duress class=alarm state=disarmed who=bob silent`,
				`report 1121 zone=2 alarm`,
				`result not_allowed`,
			)}}, state: lines(
				`name=disarmed`,
			)},
		{name: "duress when arming: the report, then the arming",
			moves: []move{{0, Command{Kind: CmdArm, Mode: ModeNight, Who: bob, Role: RoleUser, Duress: true}, lines(
				`event duress class=alarm state=disarmed who=bob silent`,
				`report 1121 zone=2 alarm`,
				`event armed class=arming mode=night state=armed_night who=bob`,
				`report 3401 zone=2`,
				`result ok`,
			)}},
			state: lines(
				`name=armed_night mode=night by=bob`,
			)},
		{name: "duress with a denied command: the report, then the refusal",
			moves: []move{{0, Command{Kind: CmdBypass, Zone: "window", Who: gus, Role: RoleGuest, Duress: true}, lines(
				`event duress class=alarm state=disarmed who=gus silent`,
				`report 1121 zone=3 alarm`,
				`event command_denied class=arming zone=window state=disarmed who=gus detail="bypass: a guest may only arm, disarm and raise panic"`,
				`result denied`,
			)}},
			state: lines(
				`name=disarmed`,
			)},

		// Panic.
		{name: "panic command: full alarm, 120 with the user's number, disarmed after the cut-off",
			moves: []move{{0, cmdBy(CmdPanic, bob, RoleUser), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event panic class=alarm state=triggered who=bob`,
				`report 1120 zone=2 alarm`,
				`result ok`,
			)}, {3 * minute, Tick{}, lines(
				`out sounder off`,
				`out siren off`,
				`out strobe off`,
				`event siren_cutoff class=alarm state=disarmed who=system detail="outputs off after 3m0s"`,
			)}}, state: lines(
				`name=disarmed`,
			)},
		{name: "panic command while armed",
			moves: []move{armNight, {minute, cmdBy(CmdPanic, gus, RoleGuest), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event panic class=alarm state=triggered who=gus`,
				`report 1120 zone=3 alarm`,
				`result ok`,
			)}}, state: lines(
				`name=triggered mode=night prev=armed_night by=alice`,
				`alarm since +1m0s zone= siren until +4m0s`,
				`sounding sounder,siren,strobe`,
			)},
		{name: "silent panic command: the report only",
			moves: []move{armNight, {minute, cmdBy(CmdSilentPanic, gus, RoleGuest), lines(
				`event silent_panic class=alarm state=armed_night who=gus silent`,
				`report 1122 zone=3 alarm`,
				`result ok`,
			)}}, state: lines(
				`name=armed_night mode=night by=alice`,
			)},

		// Wrong codes and lockout.
		{name: "ten wrong codes lock code entry from their source (461)",
			moves: append(wrongCodes(0, 9), move{9 * second, wrongCode, lines(
				`event code_rejected class=tamper state=disarmed who=kp1/keypad detail="wrong PIN"`,
				`event lockout class=tamper state=disarmed who=kp1/keypad detail="code entry from keypad:kp1 refused for 1m30s"`,
				`report 1461 zone=0`,
			)}),
			state: lines(
				`name=disarmed`,
				`lockout failures=10 window=+0s until zero`,
				`lockout keypad:kp1 failures=0 window=zero until +1m39s`,
			)},
		{name: "nine wrong codes count; a refusal while locked and by schedule are logged",
			moves: append(wrongCodes(0, 9),
				move{10 * second, Refused{Who: keypad, Reason: RefusedLocked}, lines(
					`event code_refused_locked class=tamper state=disarmed who=kp1/keypad detail="from keypad:kp1"`,
				)},
				move{11 * second, Refused{Who: gus, Reason: RefusedSchedule, Detail: "outside schedule or expired"}, lines(
					`event access_denied class=arming state=disarmed who=gus detail="schedule: outside schedule or expired"`,
				)}),
			state: lines(
				`name=disarmed`,
				`lockout failures=9 window=+0s until zero`,
				`lockout keypad:kp1 failures=9 window=+0s until zero`,
			)},
		{name: "a command by code resets its source's wrong-code count, not the count of all sources",
			moves: append(wrongCodes(0, 3), move{10 * second, Command{Kind: CmdArm, Mode: ModeNight, Who: bob, Role: RoleUser, ByCode: true}, lines(
				`event armed class=arming mode=night state=armed_night who=bob`,
				`report 3401 zone=2`,
				`result ok`,
			)}), state: lines(
				`name=armed_night mode=night by=bob`,
				`lockout failures=3 window=+0s until zero`,
			)},

		// Walk test.
		{name: "walk test records zones without alarms; stop names the unseen",
			moves: []move{
				{0, cmdBy(CmdWalkTestStart, bob, RoleUser), lines(
					`event walk_test_start class=arming state=disarmed who=bob`,
					`result ok`,
				)},
				{1 * second, open_("smoke"), lines(
					`out chime on pulse`,
					`event zone_open class=routine zone=smoke state=disarmed who=smoke/sensor`,
					`event walk_test_zone class=routine zone=smoke state=disarmed who=smoke/sensor`,
				)},
				{2 * second, open_("window"), lines(
					`out chime on pulse`,
					`event zone_open class=routine zone=window state=disarmed who=window/sensor`,
					`event walk_test_zone class=routine zone=window state=disarmed who=window/sensor`,
				)},
				{3 * second, close_("window"), lines(
					`event zone_closed class=routine zone=window state=disarmed who=window/sensor`,
				)},
				{4 * second, sensorSig("door", SigTamper), lines(
					`event walk_test_tamper class=tamper zone=door state=disarmed who=door/sensor`,
				)},
				stateIs(
					`name=disarmed`,
					`walk test by=bob until +15m0s seen=door,smoke,window`,
					`zone door tamper`,
					`zone smoke open`,
				),
				{5 * second, cmdBy(CmdWalkTestStop, bob, RoleUser), lines(
					`event walk_test_end class=arming state=disarmed who=bob detail="not seen: hall, living, panic, silent, lid, key, leak, back, co, side, bed" zones=door,window,smoke`,
					`result ok`,
				)}},
			state: lines(
				`name=disarmed`,
				`zone door tamper`,
				`zone smoke open`,
			)},
		{name: "walk test with every zone seen",
			moves: walkAll, state: lines(
				`name=disarmed`,
				`zone door open`,
				`zone window open`,
				`zone hall open`,
				`zone living open`,
				`zone smoke open`,
				`zone panic open`,
				`zone silent open`,
				`zone lid open`,
				`zone key open`,
				`zone leak open`,
				`zone back open`,
				`zone co open`,
				`zone side open`,
				`zone bed open`,
			)},
		{name: "walk test ends by timeout",
			moves: []move{{0, cmdBy(CmdWalkTestStart, bob, RoleUser), lines(
				`event walk_test_start class=arming state=disarmed who=bob`,
				`result ok`,
			)}, {15*minute - time.Second, Tick{}, lines()},
				{15 * minute, Tick{}, lines(
					`event walk_test_end class=arming state=disarmed who=system detail="not seen: door, window, hall, living, smoke, panic, silent, lid, key, leak, back, co, side, bed"`,
				)}},
			state: lines(
				`name=disarmed`,
			)},
		{name: "walk test: stop without one, start twice, start while armed",
			moves: []move{
				{0, cmdBy(CmdWalkTestStop, bob, RoleUser), lines(
					`result not_allowed`,
				)},
				{1 * second, cmdBy(CmdWalkTestStart, bob, RoleUser), lines(
					`event walk_test_start class=arming state=disarmed who=bob`,
					`result ok`,
				)},
				{2 * second, cmdBy(CmdWalkTestStart, alice, RoleAdmin), lines(
					`result not_allowed`,
				)},
				{3 * second, cmdBy(CmdWalkTestStop, alice, RoleAdmin), lines(
					`event walk_test_end class=arming state=disarmed who=alice detail="not seen: door, window, hall, living, smoke, panic, silent, lid, key, leak, back, co, side, bed"`,
					`result ok`,
				)},
				{4 * second, arm(ModeNight), lines(
					`event armed class=arming mode=night state=armed_night who=alice`,
					`report 3401 zone=1`,
					`result ok`,
				)},
				{5 * second, cmdBy(CmdWalkTestStart, alice, RoleAdmin), lines(
					`result not_allowed`,
				)}},
			state: lines(
				`name=armed_night mode=night by=alice`,
			)},
		{name: "disarm during a walk test ends it",
			moves: []move{{0, cmdBy(CmdWalkTestStart, bob, RoleUser), lines(
				`event walk_test_start class=arming state=disarmed who=bob`,
				`result ok`,
			)}, {minute, disarm(bob, RoleUser), lines(
				`event walk_test_end class=arming state=disarmed who=bob detail="not seen: door, window, hall, living, smoke, panic, silent, lid, key, leak, back, co, side, bed"`,
				`result ok`,
			)}},
			state: lines(
				`name=disarmed`,
			)},

		// Maintenance.
		{name: "maintenance start and stop",
			moves: []move{{0, cmdBy(CmdMaintenanceStart, alice, RoleAdmin), lines(
				`event maintenance_start class=tamper state=disarmed who=alice detail="tamper alarms suppressed until 2026-11-26T04:00:00Z"`,
				`result ok`,
			)}, {minute, cmdBy(CmdMaintenanceStop, alice, RoleAdmin), lines(
				`event maintenance_end class=tamper state=disarmed who=alice`,
				`result ok`,
			)}},
			state: lines(
				`name=disarmed`,
			)},
		{name: "maintenance refused while armed, stop refused when not active",
			moves: []move{armNight, {minute, cmdBy(CmdMaintenanceStart, alice, RoleAdmin), lines(
				`result not_allowed`,
			)},
				{2 * minute, cmdBy(CmdMaintenanceStop, alice, RoleAdmin), lines(
					`result not_allowed`,
				)}},
			state: lines(
				`name=armed_night mode=night by=alice`,
			)},

		// Test reports, unknown commands.
		{name: "periodic test report (602) by the system",
			moves: []move{{0, TestReport{}, lines(
				`event periodic_test class=routine state=disarmed who=system`,
				`report 1602 zone=0`,
			)}}, state: lines(
				`name=disarmed`,
			)},
		{name: "manual test report (601) names the user",
			moves: []move{{0, TestReport{Manual: true, Who: bob}, lines(
				`event manual_test class=routine state=disarmed who=bob`,
				`report 1601 zone=2`,
			)}}, state: lines(
				`name=disarmed`,
			)},
		{name: "an unknown command is invalid",
			moves: []move{{0, Command{Kind: "dance", Who: alice, Role: RoleAdmin}, lines(
				`result invalid`,
			)}}, state: lines(
				`name=disarmed`,
			)},
	}
}

func faultCases() []coreCase {
	return []coreCase{
		{name: "uplink path fault: 354 names the path in its zone field",
			moves: []move{
				{0, Fault{ID: FaultID{Kind: FaultUplinkPath, Subject: "backup"}, Point: 2, Active: true, Detail: "no ack"}, lines(
					`event fault class=fault state=disarmed who=system detail="uplink:backup: no ack"`,
					`report 1354 zone=2`,
				)},
				{minute, Fault{ID: FaultID{Kind: FaultUplinkPath, Subject: "backup"}, Point: 2}, lines(
					`event fault_restore class=fault state=disarmed who=system detail="uplink:backup"`,
					`report 3354 zone=2`,
				)}},
			state: lines(
				`name=disarmed`,
			)},
		{name: "uplink path fault: 354 new and restore, repeats ignored",
			moves: []move{
				{0, Fault{ID: FaultID{Kind: FaultUplinkPath, Subject: "primary"}, Active: true, Detail: "no ack"}, lines(
					`event fault class=fault state=disarmed who=system detail="uplink:primary: no ack"`,
					`report 1354 zone=0`,
				)},
				{1 * second, faultIn(FaultUplinkPath, "primary", true), lines()},
				{minute, faultIn(FaultUplinkPath, "primary", false), lines(
					`event fault_restore class=fault state=disarmed who=system detail="uplink:primary"`,
					`report 3354 zone=0`,
				)},
				{2 * minute, faultIn(FaultUplinkPath, "primary", false), lines()}},
			state: lines(
				`name=disarmed`,
			)},
		{name: "uplink clock fault is local only",
			moves: []move{{0, faultIn(FaultUplinkClock, "primary", true), lines(
				`event fault class=fault state=disarmed who=system detail="uplink:primary:clock"`,
			)}, {minute, faultIn(FaultUplinkClock, "primary", false), lines(
				`event fault_restore class=fault state=disarmed who=system detail="uplink:primary:clock"`,
			)}},
			state: lines(
				`name=disarmed`,
			)},
		{name: "output faults: 321 for a siren, 320 for other kinds, with the output number",
			moves: []move{
				{0, faultIn(FaultOutput, "outdoor", true), lines(
					`event fault class=fault state=disarmed who=system detail="output:outdoor"`,
					`report 1321 zone=1`,
				)},
				{1 * second, faultIn(FaultOutput, "indoor", true), lines(
					`event fault class=fault state=disarmed who=system detail="output:indoor"`,
					`report 1320 zone=5`,
				)},
				{2 * second, faultIn(FaultOutput, "flash", true), lines(
					`event fault class=fault state=disarmed who=system detail="output:flash"`,
					`report 1320 zone=3`,
				)},
				{3 * second, faultIn(FaultOutput, "bell", true), lines(
					`event fault class=fault state=disarmed who=system detail="output:bell"`,
					`report 1320 zone=4`,
				)},
				{4 * second, faultIn(FaultOutput, "ghost", true), lines(
					`event fault class=fault state=disarmed who=system detail="output:ghost"`,
					`report 1320 zone=0`,
				)},
				{5 * second, faultIn(FaultOutput, "outdoor", false), lines(
					`event fault_restore class=fault state=disarmed who=system detail="output:outdoor"`,
					`report 3321 zone=1`,
				)}},
			state: lines(
				`name=disarmed`,
				`faults output:bell=true,output:flash=true,output:ghost=true,output:indoor=true`,
			)},
		{name: "broker fault: 350 new and restore, arming refused unless forced, no exception closing",
			moves: []move{
				{0, Fault{ID: FaultID{Kind: FaultBroker}, Active: true, Detail: "dial tcp 127.0.0.1:1883: connection refused"}, lines(
					`event fault class=fault state=disarmed who=system detail="broker: dial tcp 127.0.0.1:1883: connection refused"`,
					`report 1350 zone=0`,
				)},
				{1 * second, faultIn(FaultBroker, "", true), lines()},
				{2 * second, arm(ModeNight), lines(
					`event arm_refused class=arming mode=night state=disarmed who=alice reasons=broker_down[broker]`,
					`result not_ready reasons=broker_down[broker]`,
				)},
				{3 * second, force(ModeNight, alice, RoleAdmin), lines(
					`event arm_forced class=arming mode=night state=disarmed who=alice reasons=broker_down[broker]`,
					`event armed class=arming mode=night state=armed_night who=alice`,
					`report 3401 zone=1`,
					`result ok`,
				)},
				{minute, faultIn(FaultBroker, "", false), lines(
					`event fault_restore class=fault state=armed_night who=system detail="broker"`,
					`report 3350 zone=0`,
				)},
				{2 * minute, faultIn(FaultBroker, "", false), lines()}},
			state: lines(
				`name=armed_night mode=night by=alice`,
			)},
		{name: "mains failure: shown and not ready at once, 1301 only after mains_report_delay, then 3301",
			moves: []move{
				{0, Fault{ID: FaultID{Kind: FaultMains, Subject: "psu"}, Active: true, Detail: "mains power lost"}, lines(
					`event fault class=fault state=disarmed who=system detail="mains:psu: mains power lost"`,
				)},
				stateIs(
					`name=disarmed`,
					`faults mains:psu=true`,
					`fault mains:psu report due +1m0s`,
				),
				{1 * second, faultIn(FaultMains, "psu", true), lines()},
				{2 * second, arm(ModeAway), lines(
					`event arm_refused class=arming mode=away state=disarmed who=alice reasons=mains_failed[mains:psu]`,
					`result not_ready reasons=mains_failed[mains:psu]`,
				)},
				{59 * second, Tick{}, lines()},
				{minute, Tick{}, lines(
					`event fault_reported class=fault state=disarmed who=system detail="mains:psu: still active after 1m0s"`,
					`report 1301 zone=0`,
				)},
				{minute + second, Tick{}, lines()},
				stateIs(
					`name=disarmed`,
					`faults mains:psu=true`,
				),
				{5 * minute, Fault{ID: FaultID{Kind: FaultMains, Subject: "psu"}, Detail: "mains power back"}, lines(
					`event fault_restore class=fault state=disarmed who=system detail="mains:psu: mains power back"`,
					`report 3301 zone=0`,
				)},
				{6 * minute, Tick{}, lines()}},
			state: lines(
				`name=disarmed`,
			)},
		{name: "mains back within mains_report_delay: logged and shown, never reported",
			tweak: func(c *Config) { c.Settings.MainsReportDelay = Duration(30 * second) },
			moves: []move{
				{0, faultIn(FaultMains, "psu", true), lines(
					`event fault class=fault state=disarmed who=system detail="mains:psu"`,
				)},
				{29 * second, faultIn(FaultMains, "psu", false), lines(
					`event fault_restore class=fault state=disarmed who=system detail="mains:psu"`,
				)},
				{30 * second, Tick{}, lines()},
				{31 * second, faultIn(FaultMains, "psu", true), lines(
					`event fault class=fault state=disarmed who=system detail="mains:psu"`,
				)},
				stateIs(
					`name=disarmed`,
					`faults mains:psu=true`,
					`fault mains:psu report due +1m1s`,
				),
				{61 * second, Tick{}, lines(
					`event fault_reported class=fault state=disarmed who=system detail="mains:psu: still active after 30s"`,
					`report 1301 zone=0`,
				)}},
			state: lines(
				`name=disarmed`,
				`faults mains:psu=true`,
			)},
		{name: "two supplies: each mains report waits for its own delay",
			moves: []move{
				{0, faultIn(FaultMains, "psu", true), lines(
					`event fault class=fault state=disarmed who=system detail="mains:psu"`,
				)},
				{30 * second, faultIn(FaultMains, "psu2", true), lines(
					`event fault class=fault state=disarmed who=system detail="mains:psu2"`,
				)},
				{minute, Tick{}, lines(
					`event fault_reported class=fault state=disarmed who=system detail="mains:psu: still active after 1m0s"`,
					`report 1301 zone=0`,
				)},
				{80 * second, faultIn(FaultMains, "psu2", false), lines(
					`event fault_restore class=fault state=disarmed who=system detail="mains:psu2"`,
				)}},
			state: lines(
				`name=disarmed`,
				`faults mains:psu=true`,
			)},
		{name: "low system battery: 302 at once and restore; not ready unless forced",
			moves: []move{
				{0, Fault{ID: FaultID{Kind: FaultBattery, Subject: "psu"}, Active: true, Detail: "battery low"}, lines(
					`event fault class=fault state=disarmed who=system detail="battery:psu: battery low"`,
					`report 1302 zone=0`,
				)},
				{1 * second, arm(ModeNight), lines(
					`event arm_refused class=arming mode=night state=disarmed who=alice reasons=battery_low[battery:psu]`,
					`result not_ready reasons=battery_low[battery:psu]`,
				)},
				{2 * second, force(ModeNight, alice, RoleAdmin), lines(
					`event arm_forced class=arming mode=night state=disarmed who=alice reasons=battery_low[battery:psu]`,
					`event armed class=arming mode=night state=armed_night who=alice`,
					`report 3401 zone=1`,
					`result ok`,
				)},
				{minute, Fault{ID: FaultID{Kind: FaultBattery, Subject: "psu"}, Detail: "battery ok"}, lines(
					`event fault_restore class=fault state=armed_night who=system detail="battery:psu: battery ok"`,
					`report 3302 zone=0`,
				)}},
			state: lines(
				`name=armed_night mode=night by=alice`,
			)},
		{name: "a power input's line unusable: 330 and restore, not ready",
			moves: []move{
				{0, Fault{ID: FaultID{Kind: FaultPowerInput, Subject: "psu"}, Active: true, Detail: "cannot request line gpiochip0:5: line busy"}, lines(
					`event fault class=fault state=disarmed who=system detail="gpio:psu: cannot request line gpiochip0:5: line busy"`,
					`report 1330 zone=0`,
				)},
				{1 * second, arm(ModeAway), lines(
					`event arm_refused class=arming mode=away state=disarmed who=alice reasons=power_input_failed[gpio:psu]`,
					`result not_ready reasons=power_input_failed[gpio:psu]`,
				)},
				{minute, faultIn(FaultPowerInput, "psu", false), lines(
					`event fault_restore class=fault state=disarmed who=system detail="gpio:psu"`,
					`report 3330 zone=0`,
				)}},
			state: lines(
				`name=disarmed`,
			)},
		{name: "storage fault: 300",
			moves: []move{{0, faultIn(FaultStorage, "", true), lines(
				`event fault class=fault state=disarmed who=system detail="storage"`,
				`report 1300 zone=0`,
			)}, {minute, faultIn(FaultStorage, "", false), lines(
				`event fault_restore class=fault state=disarmed who=system detail="storage"`,
				`report 3300 zone=0`,
			)}}, state: lines(
				`name=disarmed`,
			)},
		{name: "a device offline and online again (381)",
			moves: []move{{0, sensorSig("hall", SigOffline), lines(
				`event device_offline class=fault zone=hall state=disarmed who=hall/sensor`,
				`report 1381 zone=3`,
			)}, {1 * second, sensorSig("hall", SigOffline), lines()},
				{minute, sensorSig("hall", SigOnline), lines(
					`event device_online class=fault zone=hall state=disarmed who=hall/sensor`,
					`report 3381 zone=3`,
				)}, {2 * minute, sensorSig("hall", SigOnline), lines()}},
			state: lines(
				`name=disarmed`,
			)},
		{name: "a device with a low battery and a new one (384)",
			moves: []move{{0, sensorSig("door", SigLowBattery), lines(
				`event low_battery class=fault zone=door state=disarmed who=door/sensor`,
				`report 1384 zone=1`,
			)}, {1 * second, sensorSig("door", SigLowBattery), lines()},
				{minute, sensorSig("door", SigBatteryOK), lines(
					`event battery_ok class=fault zone=door state=disarmed who=door/sensor`,
					`report 3384 zone=1`,
				)}, {2 * minute, sensorSig("door", SigBatteryOK), lines()}},
			state: lines(
				`name=disarmed`,
			)},
	}
}

// regressionCases pin behaviour that once broke, or could break unnoticed.
func regressionCases() []coreCase {
	return []coreCase{
		// Water is a 24-hour alarm for the occupants: the outdoor siren and the strobe
		// stay off (they never sound while the system is unset, and a leak is no
		// intrusion). The list below is the whole effect list.
		{name: "water leak sounds only the internal sounder",
			moves: []move{{0, open_("leak"), lines(
				`out sounder on`,
				`event zone_open class=routine zone=leak state=disarmed who=leak/sensor`,
				`event alarm class=alarm zone=leak state=triggered who=leak/sensor detail="water"`,
				`report 1154 zone=10 alarm`)}},
			state: lines(
				`name=triggered prev=disarmed`,
				`alarm since +0s zone=leak siren until +3m0s`,
				`sounding sounder`,
				`zone leak open latched alarms=1`,
			)},
		{name: "water leak while armed sounds only the internal sounder too",
			moves: []move{armNight, {minute, open_("leak"), lines(
				`out sounder on`,
				`event zone_open class=routine zone=leak state=armed_night who=leak/sensor`,
				`event alarm class=alarm zone=leak state=triggered who=leak/sensor detail="water"`,
				`report 1154 zone=10 alarm`,
			)}}, state: lines(
				`name=triggered mode=night prev=armed_night by=alice`,
				`alarm since +1m0s zone=leak siren until +4m0s`,
				`sounding sounder`,
				`zone leak open latched alarms=1`,
			)},
		// One intrusion, one report: the centre must not see two burglaries.
		{name: "a burglary is reported exactly once",
			moves: []move{armNight, {minute, open_("window"), lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event zone_open class=routine zone=window state=armed_night who=window/sensor`,
				`event alarm class=alarm zone=window mode=night state=triggered who=window/sensor detail="burglary"`,
				`report 1131 zone=2 alarm`)}},
			state: lines(
				`name=triggered mode=night prev=armed_night by=alice`,
				`alarm since +1m0s zone=window siren until +4m0s`,
				`sounding sounder,siren,strobe`,
				`verify first=window until +31m0s`,
				`zone window open latched alarms=1`,
			)},
	}
}

// play applies steps from the initial state of cfg and returns the final state and
// the rendered effects of every step, in order.
func play(t *testing.T, cfg Config, steps ...at) (State, []string) {
	t.Helper()
	c := NewCore(cfg)
	st := c.InitialState()
	var all []string
	for _, s := range steps {
		var fx []Effect
		now := t0.Add(s.d)
		st, fx = c.Apply(now, st, s.in)
		all = append(all, render(now, fx)...)
	}
	return st, all
}

func TestLockout(t *testing.T) {
	cfg := coreConfig()
	const rejected = `event code_rejected class=tamper state=disarmed who=kp1/keypad detail="wrong PIN"`
	var steps []at
	for i := range 10 {
		steps = append(steps, at{time.Duration(i) * second, wrongCode})
	}
	st, got := play(t, cfg, steps...)
	want := append(slices.Repeat([]string{rejected}, 10),
		`event lockout class=tamper state=disarmed who=kp1/keypad detail="code entry from keypad:kp1 refused for 1m30s"`,
		`report 1461 zone=0`)
	sameLines(t, "ten wrong codes", want, got)
	if _, locked := st.Lockout.LockedFor("keypad:kp1", t0.Add(9*second+90*second-1)); !locked {
		t.Errorf("not locked until 90 s after the tenth wrong code: %+v", st.Lockout)
	}
	if _, locked := st.Lockout.LockedFor("keypad:kp1", t0.Add(9*second+90*second)); locked {
		t.Errorf("still locked 90 s after the tenth wrong code: %+v", st.Lockout)
	}

	// Nine wrong codes, a right one from the same keypad, nine more: no lockout.
	steps = append(steps[:9:9], at{10 * second, Command{Kind: CmdArm, Mode: ModeNight, Who: bob, Role: RoleUser, ByCode: true}})
	for i := range 9 {
		steps = append(steps, at{time.Duration(11+i) * second, wrongCode})
	}
	st, got = play(t, cfg, steps...)
	if _, locked := st.Lockout.LockedFor("keypad:kp1", t0.Add(20*second)); locked || slices.ContainsFunc(got, func(l string) bool { return strings.HasPrefix(l, "event lockout") }) {
		t.Errorf("locked although a right code reset the count: %v", got)
	}
	if c := st.Lockout.Sources["keypad:kp1"]; c.Failures != 9 || !c.WindowStart.Equal(t0.Add(11*second)) {
		t.Errorf("after the right code: %+v, want 9 failures counted from +11s", c)
	}

	// Failures outside the window do not add up: the window restarts after 15 min.
	steps = nil
	for i := range 10 {
		steps = append(steps, at{time.Duration(i) * 2 * minute, wrongCode})
	}
	st, _ = play(t, cfg, steps...)
	if _, locked := st.Lockout.LockedFor("keypad:kp1", t0.Add(18*minute)); locked {
		t.Errorf("locked by failures spread over 18 minutes with a 15 minute window")
	}
	if c := st.Lockout.Sources["keypad:kp1"]; c.Failures != 2 || !c.WindowStart.Equal(t0.Add(16*minute)) {
		t.Errorf("window: %+v, want 2 failures counted from +16m", c)
	}

	// A failure exactly at the end of the window still counts in it.
	st, _ = play(t, cfg, at{0, wrongCode}, at{15 * minute, wrongCode})
	if c := st.Lockout.Sources["keypad:kp1"]; c.Failures != 2 || !c.WindowStart.Equal(t0) {
		t.Errorf("a failure at the window's end: %+v, want 2 failures counted from t0", c)
	}

	// Three attempts allowed: the third locks.
	cfg.Settings.LockoutAttempts = 3
	_, got = play(t, cfg, at{0, wrongCode}, at{second, wrongCode}, at{2 * second, wrongCode})
	want = []string{rejected, rejected, rejected,
		`event lockout class=tamper state=disarmed who=kp1/keypad detail="code entry from keypad:kp1 refused for 1m30s"`,
		`report 1461 zone=0`}
	sameLines(t, "three attempts", want, got)
}

func TestResume(t *testing.T) {
	cfg := coreConfig()
	c := NewCore(cfg)
	tests := []struct {
		name  string
		setup []at
		down  time.Duration // power off for this long after the last setup step
		// resume is the effect list of Resume; state the state it returns.
		resume, state []string
		// ticks are inputs after Resume, as offsets from its time, each with its
		// complete effect list; final is the state after them.
		ticks []move
		final []string
	}{
		{name: "a system that never ran resumes disarmed",
			resume: lines(`event restart class=fault state=disarmed who=system detail="resumed in state disarmed"`, `report 1305 zone=0`),
			state:  lines(`name=disarmed`),
			ticks:  []move{{0, Tick{}, lines()}},
			final:  lines(`name=disarmed`)},
		{name: "armed stays armed",
			setup:  []at{{0, arm(ModeNight)}},
			down:   time.Hour,
			resume: lines(`event restart class=fault mode=night state=armed_night who=system detail="resumed in state armed_night"`, `report 1305 zone=0`),
			state:  lines(`name=armed_night mode=night by=alice`),
			ticks:  []move{{0, Tick{}, lines()}},
			final:  lines(`name=armed_night mode=night by=alice`)},
		{name: "arming restarts the exit delay from full",
			setup:  []at{{0, arm(ModeAway)}},
			down:   25 * second,
			resume: lines(`event restart class=fault mode=away state=arming who=system detail="resumed in state arming"`, `report 1305 zone=0`),
			state:  lines(`name=arming mode=away by=alice`, `exit until +55s`),
			ticks: []move{{0, Tick{}, lines()}, {29 * second, Tick{}, lines()},
				{30 * second, Tick{}, lines(`event armed class=arming mode=away state=armed_away who=alice`, `report 3401 zone=1`)}},
			final: lines(`name=armed_away mode=away by=alice`)},
		{name: "pending keeps its entry deadline",
			setup:  []at{{0, arm(ModeNight)}, {minute, open_("door")}},
			down:   10 * second,
			resume: lines(`event restart class=fault mode=night state=pending who=system detail="resumed in state pending"`, `report 1305 zone=0`),
			state:  lines(`name=pending mode=night prev=armed_night by=alice`, `entry until +1m30s zone=door`, `zone door open`),
			ticks: []move{{0, Tick{}, lines()}, {20 * second, Tick{}, lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event alarm class=alarm zone=door mode=night state=triggered who=door/sensor detail="burglary during unsetting: report held until 2026-11-25T20:02:00Z"`)}},
			final: lines(
				`name=triggered mode=night prev=armed_night by=alice`,
				`entry until zero zone=door`,
				`alarm since +1m30s zone=door siren until +4m30s`,
				`sounding sounder,siren,strobe`,
				`held until +2m0s`,
				`  held report 1134 zone=1 alarm at=+1m30s`,
				`verify first=door until +31m30s entry-route`,
				`zone door open latched alarms=1`)},
		{name: "an entry delay that expired during the outage is an alarm at once",
			setup:  []at{{0, arm(ModeNight)}, {minute, open_("door")}},
			down:   minute,
			resume: lines(`event restart class=fault mode=night state=pending who=system detail="resumed in state pending"`, `report 1305 zone=0`),
			state:  lines(`name=pending mode=night prev=armed_night by=alice`, `entry until +1m30s zone=door`, `zone door open`),
			ticks: []move{{0, Tick{}, lines(
				`out sounder on`,
				`out siren on`,
				`out strobe on`,
				`event alarm class=alarm zone=door mode=night state=triggered who=door/sensor detail="burglary during unsetting: report held until 2026-11-25T20:02:30Z"`)}},
			final: lines(
				`name=triggered mode=night prev=armed_night by=alice`,
				`entry until zero zone=door`,
				`alarm since +2m0s zone=door siren until +5m0s`,
				`sounding sounder,siren,strobe`,
				`held until +2m30s`,
				`  held report 1134 zone=1 alarm at=+2m0s`,
				`verify first=door until +32m0s entry-route`,
				`zone door open latched alarms=1`)},
		{name: "an alarm resumes its outputs until the original cut-off",
			setup: []at{{0, arm(ModeNight)}, {minute, open_("window")}},
			down:  minute,
			resume: lines(
				`out siren on`,
				`out sounder on`,
				`out strobe on`,
				`event restart class=fault mode=night state=triggered who=system detail="resumed in state triggered"`, `report 1305 zone=0`),
			state: lines(
				`name=triggered mode=night prev=armed_night by=alice`,
				`alarm since +1m0s zone=window siren until +4m0s`,
				`sounding sounder,siren,strobe`,
				`verify first=window until +31m0s`,
				`zone window open latched alarms=1`),
			ticks: []move{{0, Tick{}, lines()}, {2 * minute, Tick{}, lines(
				`out sounder off`,
				`out siren off`,
				`out strobe off`,
				`event siren_cutoff class=alarm zone=window state=armed_night who=system detail="outputs off after 3m0s"`)}},
			final: lines(
				`name=armed_night mode=night by=alice`,
				`verify first=window until +31m0s`,
				`zone window open latched alarms=1`)},
		{name: "a tamper alarm while disarmed resumes the internal sounder only",
			setup:  []at{{0, sensorSig("door", SigTamper)}},
			down:   minute,
			resume: lines(`out sounder on`, `event restart class=fault state=triggered who=system detail="resumed in state triggered"`, `report 1305 zone=0`),
			state:  lines(`name=triggered prev=disarmed`, `alarm since +0s zone=door siren until +3m0s`, `sounding sounder`, `zone door tamper`),
			ticks:  []move{{0, Tick{}, lines()}},
			final:  lines(`name=triggered prev=disarmed`, `alarm since +0s zone=door siren until +3m0s`, `sounding sounder`, `zone door tamper`)},
		{name: "an alarm past its cut-off resumes silent, then the first tick ends it",
			setup:  []at{{0, arm(ModeNight)}, {minute, open_("window")}},
			down:   time.Hour,
			resume: lines(`event restart class=fault mode=night state=triggered who=system detail="resumed in state triggered"`, `report 1305 zone=0`),
			state: lines(
				`name=triggered mode=night prev=armed_night by=alice`,
				`alarm since +1m0s zone=window siren until +4m0s`,
				`sounding sounder,siren,strobe`,
				`verify first=window until +31m0s`,
				`zone window open latched alarms=1`),
			ticks: []move{{0, Tick{}, lines(
				`out sounder off`,
				`out siren off`,
				`out strobe off`,
				`event alarm_unconfirmed class=alarm zone=window state=triggered who=system detail="no second detector within the confirmation window"`,
				`event siren_cutoff class=alarm zone=window state=armed_night who=system detail="outputs off after 3m0s"`)}},
			final: lines(`name=armed_night mode=night by=alice`, `zone window open latched alarms=1`)},
		{name: "an alarm resumed exactly at its cut-off stays silent",
			setup:  []at{{0, arm(ModeNight)}, {minute, open_("window")}},
			down:   3 * minute,
			resume: lines(`event restart class=fault mode=night state=triggered who=system detail="resumed in state triggered"`, `report 1305 zone=0`),
			state: lines(
				`name=triggered mode=night prev=armed_night by=alice`,
				`alarm since +1m0s zone=window siren until +4m0s`,
				`sounding sounder,siren,strobe`,
				`verify first=window until +31m0s`,
				`zone window open latched alarms=1`),
			ticks: []move{{0, Tick{}, lines(
				`out sounder off`,
				`out siren off`,
				`out strobe off`,
				`event siren_cutoff class=alarm zone=window state=armed_night who=system detail="outputs off after 3m0s"`)}},
			final: lines(`name=armed_night mode=night by=alice`, `verify first=window until +31m0s`, `zone window open latched alarms=1`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := c.InitialState()
			var last time.Time = t0
			for _, s := range tc.setup {
				last = t0.Add(s.d)
				st, _ = c.Apply(last, st, s.in)
			}
			now := last.Add(tc.down)
			st, fx := c.Resume(now, st)
			sameLines(t, "Resume effects", tc.resume, render(now, fx))
			sameLines(t, "state after Resume", tc.state, renderState(cfg, st))
			for i, m := range tc.ticks {
				at := now.Add(m.d)
				st, fx = c.Apply(at, st, m.in)
				sameLines(t, fmt.Sprintf("after Resume, move %d (+%s)", i, m.d), m.want, render(at, fx))
			}
			sameLines(t, "final state", tc.final, renderState(cfg, st))
		})
	}
}

func TestResumeNormalizesZones(t *testing.T) {
	cfg := coreConfig()
	c := NewCore(cfg)
	old := State{Name: ArmedNight, Mode: ModeNight, ArmedBy: alice,
		Zones: map[string]ZoneState{"window": {Open: true}, "garage": {Open: true, Bypassed: true}}}
	st, fx := c.Resume(t0, old)
	sameLines(t, "effects", lines(`event restart class=fault mode=night state=armed_night who=system detail="resumed in state armed_night"`, `report 1305 zone=0`),
		render(t0, fx))
	sameLines(t, "state", lines(`name=armed_night mode=night by=alice`, `zone window open`), renderState(cfg, st))
	if len(st.Zones) != len(cfg.Zones) {
		t.Errorf("%d zone states, want one for each of the %d zones", len(st.Zones), len(cfg.Zones))
	}
	if _, ok := old.Zones["garage"]; !ok || len(old.Zones) != 2 {
		t.Errorf("Resume changed the stored state's zones: %v", old.Zones)
	}
	// A state without a name is a disarmed one.
	st, _ = c.Resume(t0, State{})
	sameLines(t, "unnamed state", lines(`name=disarmed`), renderState(cfg, st))
}

// A state stored before ClosingReported existed has the flag unset; Resume sets it
// for every state whose arming completed, so that the disarm that follows sends
// the opening report (1401) that pairs with the closing report sent back then, and
// no other state's disarm does.
func TestResumeStateStoredWithoutClosingFlag(t *testing.T) {
	cfg := coreConfig()
	c := NewCore(cfg)
	tests := []struct {
		name   string
		setup  []at
		disarm []string // the complete effect list of a disarm right after Resume
	}{
		{name: "armed",
			setup:  []at{{0, arm(ModeNight)}},
			disarm: lines(`event disarmed class=arming state=disarmed who=alice`, `report 1401 zone=1`, `result ok`)},
		{name: "entry delay",
			setup:  []at{{0, arm(ModeNight)}, {minute, open_("door")}},
			disarm: lines(`event disarmed class=arming state=disarmed who=alice`, `report 1401 zone=1`, `result ok`)},
		{name: "alarm while armed",
			setup: []at{{0, arm(ModeNight)}, {minute, open_("window")}},
			disarm: lines(`out sounder off`, `out siren off`, `out strobe off`,
				`event alarm_cancel class=alarm zone=window state=triggered who=alice`, `report 1406 zone=1`,
				`event disarmed class=arming state=disarmed who=alice`, `report 1401 zone=1`, `result ok`)},
		{name: "exit delay",
			setup:  []at{{0, arm(ModeAway)}},
			disarm: lines(`event disarmed class=arming state=disarmed who=alice`, `result ok`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := c.InitialState()
			for _, s := range tc.setup {
				st, _ = c.Apply(t0.Add(s.d), st, s.in)
			}
			st.ClosingReported = false
			now := t0.Add(2 * minute)
			st, _ = c.Resume(now, st)
			_, fx := c.Apply(now, st, disarm(alice, RoleAdmin))
			sameLines(t, "disarm after Resume", tc.disarm, render(now, fx))
		})
	}
}

func TestNextDeadline(t *testing.T) {
	cfg := coreConfig()
	c := NewCore(cfg)
	tests := []struct {
		name  string
		steps []at
		want  time.Duration // from t0; -1: none
	}{
		{"disarmed: none", nil, -1},
		{"arming: the exit deadline", []at{{0, arm(ModeAway)}}, 30 * second},
		{"armed: none", []at{{0, arm(ModeNight)}}, -1},
		{"pending: the entry deadline", []at{{0, arm(ModeNight)}, {minute, open_("door")}}, minute + 30*second},
		{"triggered with a held report: the held report first",
			[]at{{0, arm(ModeNight)}, {minute, open_("door")}, {minute + 30*second, Tick{}}}, 2 * minute},
		{"triggered: the siren's cut-off before the confirmation window",
			[]at{{0, arm(ModeNight)}, {minute, open_("window")}}, 4 * minute},
		{"after the cut-off: the confirmation window",
			[]at{{0, arm(ModeNight)}, {minute, open_("window")}, {4 * minute, Tick{}}}, 31 * minute},
		{"walk test: its timeout", []at{{0, cmdBy(CmdWalkTestStart, bob, RoleUser)}}, 15 * minute},
		{"maintenance: its timeout", []at{{0, cmdBy(CmdMaintenanceStart, alice, RoleAdmin)}}, 8 * time.Hour},
		{"walk test during maintenance: the earlier",
			[]at{{0, cmdBy(CmdMaintenanceStart, alice, RoleAdmin)}, {minute, cmdBy(CmdWalkTestStart, bob, RoleUser)}}, 16 * minute},
		{"maintenance ending before a walk test: the earlier",
			[]at{{0, cmdBy(CmdMaintenanceStart, alice, RoleAdmin)}, {7*time.Hour + 50*minute, cmdBy(CmdWalkTestStart, bob, RoleUser)}},
			8 * time.Hour},
		{"a tamper alarm while disarmed: its cut-off", []at{{0, sensorSig("door", SigTamper)}}, 3 * minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := c.InitialState()
			for _, s := range tc.steps {
				st, _ = c.Apply(t0.Add(s.d), st, s.in)
			}
			got := c.NextDeadline(st)
			var want time.Time
			if tc.want >= 0 {
				want = t0.Add(tc.want)
			}
			if !got.Equal(want) {
				t.Errorf("next deadline %s, want %s", off(got), off(want))
			}
		})
	}
	// Deadlines of states the core is not in are not its business.
	st := c.InitialState()
	st.ExitDeadline, st.EntryDeadline = t0.Add(time.Second), t0.Add(2*time.Second)
	if got := c.NextDeadline(st); !got.IsZero() {
		t.Errorf("disarmed with stale exit and entry deadlines: next %s", off(got))
	}
	// The earliest of several deadlines, whatever their order.
	st = State{Name: Pending, EntryDeadline: t0.Add(5 * time.Second), SirenUntil: t0.Add(3 * time.Second),
		HeldUntil: t0.Add(4 * time.Second), Verify: &Verification{Until: t0.Add(2 * time.Second)},
		WalkTest: &WalkTest{Until: t0.Add(6 * time.Second)}, Maintenance: &Maintenance{Until: t0.Add(time.Second)}}
	for range 6 {
		if got := c.NextDeadline(st); !got.Equal(t0.Add(time.Second)) {
			t.Errorf("next %s of %+v", off(got), st)
		}
		// Rotate: the earliest moves to the end.
		st.Maintenance.Until, st.Verify.Until, st.SirenUntil, st.HeldUntil, st.EntryDeadline, st.WalkTest.Until =
			st.Verify.Until, st.SirenUntil, st.HeldUntil, st.EntryDeadline, st.WalkTest.Until, st.Maintenance.Until
	}
}

// TestApplyDoesNotAlias checks that Apply and Resume never change the state they
// are given: every map, slice and pointer of it is copied before it is changed.
func TestApplyDoesNotAlias(t *testing.T) {
	cfg := coreConfig()
	c := NewCore(cfg)
	run := func(st State, steps ...at) State {
		for _, s := range steps {
			st, _ = c.Apply(t0.Add(s.d), st, s.in)
		}
		return st
	}
	check := func(name string, st State, ins ...Input) {
		t.Helper()
		before := renderState(cfg, st)
		for _, in := range ins {
			c.Apply(t0.Add(2*minute), st, in)
			sameLines(t, fmt.Sprintf("%s: the input state after Apply(%#v)", name, in), before, renderState(cfg, st))
		}
		c.Resume(t0.Add(2*minute), st)
		sameLines(t, name+": the input state after Resume", before, renderState(cfg, st))
	}

	// Armed, an alarm during the unsetting period: zones, outputs, a held report, a
	// verification under way, a fault.
	armed := run(c.InitialState(), at{0, arm(ModeAway)}, at{30 * second, Tick{}}, at{minute, open_("door")},
		at{minute + 5*second, open_("living")}, at{minute + 6*second, faultIn(FaultStorage, "", true)})
	if len(armed.Held) == 0 || armed.Verify == nil || len(armed.Sounding) == 0 || len(armed.Faults) == 0 {
		t.Fatalf("setup: %v", renderState(cfg, armed))
	}
	check("armed", armed,
		open_("window"),                     // confirms: Verify and Held change
		disarm(alice, RoleAdmin),            // silences: Sounding shrinks; zones reset
		faultIn(FaultStorage, "", false),    // Faults loses a key
		faultIn(FaultUplinkPath, "p", true), // Faults gains a key
		close_("door"),                      // a zone changes
		sensorSig("hall", SigTamper),        // a zone changes
		Tick{})

	// Disarmed: a walk test with zones seen, maintenance, a lockout count.
	disarmed := run(c.InitialState(), at{0, cmdBy(CmdMaintenanceStart, alice, RoleAdmin)},
		at{second, cmdBy(CmdWalkTestStart, bob, RoleUser)}, at{2 * second, open_("window")}, at{3 * second, wrongCode})
	if disarmed.WalkTest == nil || len(disarmed.WalkTest.Seen) == 0 || disarmed.Maintenance == nil {
		t.Fatalf("setup: %v", renderState(cfg, disarmed))
	}
	check("disarmed", disarmed,
		open_("door"), // the walk test's Seen grows
		sensorSig("hall", SigTamper),
		cmdBy(CmdWalkTestStop, bob, RoleUser),
		cmdBy(CmdMaintenanceStop, alice, RoleAdmin),
		wrongCode,
		Tick{})

	// A state whose maps are nil works as a fresh one.
	st, _ := c.Apply(t0, State{}, open_("window"))
	sameLines(t, "from a zero state", lines(`name=disarmed`, `zone window open`), renderState(cfg, st))
}

// The hub applies every input in one step it keeps (applyIn): a sequence applied
// so gives the states and effects that a fresh step per input gives, and effects
// left over from a longer input do not leak into the next.
func TestApplyInKeptStepAsFresh(t *testing.T) {
	c := NewCore(testConfig())
	inputs := []Input{arm(ModeNight), open_("window"), disarm(alice, RoleAdmin), close_("window"),
		arm(ModeAway), Tick{}, open_("door"), disarm(alice, RoleAdmin), close_("door")}
	fresh, kept := c.InitialState(), c.InitialState()
	var s step
	for i, in := range inputs {
		now := t0.Add(time.Duration(i) * time.Minute)
		wantSt, wantFx, wantZ := c.ApplyInPlace(now, fresh, in)
		gotSt, gotFx, gotZ := c.applyIn(&s, now, kept, in)
		if !reflect.DeepEqual(gotSt, wantSt) || !reflect.DeepEqual(gotFx, wantFx) || gotZ != wantZ {
			t.Fatalf("input %d %#v:\nkept step  %+v %+v %t\nfresh step %+v %+v %t", i, in, gotSt, gotFx, gotZ, wantSt, wantFx, wantZ)
		}
		fresh, kept = wantSt, gotSt
	}
}
