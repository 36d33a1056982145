package hub

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
)

// Core is the pure alarm state machine. It holds the configuration and nothing else:
// it reads no clock, touches no disk and starts no goroutine. Apply is safe to call
// from one goroutine at a time (the actor); a Core is never modified after NewCore.
type Core struct {
	cfg   Config
	zones map[string]Zone
	order []string // zone ids in configuration order
}

// NewCore returns a core for cfg. The config should have passed Validate; missing
// settings take their defaults.
func NewCore(cfg Config) *Core {
	cfg.Settings = cfg.Settings.WithDefaults()
	c := &Core{cfg: cfg, zones: make(map[string]Zone, len(cfg.Zones))}
	for _, z := range cfg.Zones {
		c.zones[z.ID] = z
		c.order = append(c.order, z.ID)
	}
	return c
}

// Config returns the configuration the core runs.
func (c *Core) Config() Config { return c.cfg }

// output returns the output with id, its Number defaulted to its position.
func (c *Core) output(id string) (Output, bool) {
	for i, o := range c.cfg.Outputs {
		if o.ID == id {
			if o.Number == 0 {
				o.Number = i + 1
			}
			return o, true
		}
	}
	return Output{}, false
}

// Zone returns the zone with id.
func (c *Core) Zone(id string) (Zone, bool) {
	z, ok := c.zones[id]
	return z, ok
}

// InitialState is the state of a system that never ran: disarmed, every zone closed.
func (c *Core) InitialState() State {
	return c.normalize(State{Name: Disarmed})
}

// normalize makes st fit the configuration: a zone state for every zone, none for
// zones that are gone.
func (c *Core) normalize(st State) State {
	zs := make(map[string]ZoneState, len(c.zones))
	for id := range c.zones {
		zs[id] = st.Zones[id]
	}
	st.Zones = zs
	if st.Name == "" {
		st.Name = Disarmed
	}
	return st
}

// CanGo is the state machine at a glance: whether the core may move from one state
// to another in one step. Every change of state goes through step.enter, and the
// tests check each step against this table.
//
//	disarmed  → arming (exit delay), armed_* (no exit delay), triggered (24-hour
//	            zone, panic, tamper)
//	arming    → armed_* (exit delay over), pending (exit delay over with an entry
//	            zone still open), triggered (a zone off the exit route), disarmed
//	armed_*   → pending (entry zone), triggered, disarmed, arming or armed_* (armed
//	            again in another mode)
//	pending   → triggered (entry delay over, or a zone off the entry route),
//	            disarmed
//	triggered → armed_* (siren cut-off: stays armed), disarmed
func (from StateName) CanGo(to StateName) bool {
	armed := func(n StateName) bool { return strings.HasPrefix(string(n), "armed_") }
	switch {
	case from == to:
		return true
	case from == Disarmed:
		return to == Arming || armed(to) || to == Triggered
	case from == Arming:
		return armed(to) || to == Pending || to == Triggered || to == Disarmed
	case armed(from):
		return to == Pending || to == Triggered || to == Disarmed || to == Arming || armed(to)
	case from == Pending:
		return to == Triggered || to == Disarmed
	case from == Triggered:
		return armed(to) || to == Disarmed
	}
	return false
}

// enter moves the state machine to n: the one place where the state changes.
func (s *step) enter(n StateName) { s.st.Name = n }

// system is the actor of the hub's own timers and supervision.
var system = Actor{Device: "hub", Via: ViaSystem}

// step holds one application of an input.
type step struct {
	c   *Core
	now time.Time
	st  State
	fx  []Effect
	// zonesCopied: st.Zones is this step's own (a copy made at the first write, so
	// an input that changes no zone copies no map; or the hub's, see ApplyInPlace).
	zonesCopied bool
	// zonesChanged: a zone's state changed.
	zonesChanged bool
}

// setZone writes a zone's state. The caller's state is never changed, unless it
// handed its zones over (ApplyInPlace).
func (s *step) setZone(id string, zs ZoneState) {
	if old, ok := s.st.Zones[id]; ok && old == zs {
		return
	}
	if !s.zonesCopied {
		s.st.Zones = maps.Clone(s.st.Zones)
		s.zonesCopied = true
	}
	s.st.Zones[id] = zs
	s.zonesChanged = true
}

// prepare makes the step's state: st fitted to the configuration when its zones
// differ in number (a state of another configuration with as many zones must be
// normalised by the caller, as the hub does when the configuration changes) and
// the small parts that a step may change in place copied.
func (c *Core) prepare(now time.Time, st State) *step {
	s := new(step)
	c.reset(s, now, st)
	return s
}

// reset makes s the step of st at now, as prepare does, keeping the room of its
// effects slice for the new effects.
func (c *Core) reset(s *step, now time.Time, st State) {
	if len(st.Zones) != len(c.zones) {
		st = c.normalize(st)
	}
	fx := s.fx
	clear(fx)
	*s = step{c: c, now: now.UTC(), st: clone(st), fx: fx[:0]}
}

// Apply computes the state after input in at time now, and the effects to carry out in
// order: outputs first, then records, then the command's result.
func (c *Core) Apply(now time.Time, st State, in Input) (State, []Effect) {
	s := c.prepare(now, st)
	c.run(s, in)
	return s.st, s.effects()
}

// run applies in to the step.
func (c *Core) run(s *step, in Input) {
	switch in := in.(type) {
	case Sensor:
		s.sensor(in)
	case Command:
		s.result(s.command(in))
	case Refused:
		s.refused(in)
	case Fault:
		s.fault(in)
	case TestReport:
		code, typ, who := CodePeriodicTest, EvPeriodicTest, in.Who
		if in.Manual {
			code, typ = CodeManualTest, EvManualTest
		}
		if who == (Actor{}) {
			who = system
		}
		s.record(Event{Type: typ, Class: ClassRoutine, Who: who}, Report{Code: code, Qualifier: QualNew, Zone: who.UserNum})
	case SelfTestResult:
		detail := "not passed"
		if in.Passed {
			detail = "passed"
		}
		if in.Detail != "" {
			detail += ": " + in.Detail
		}
		s.record(Event{Type: EvSelfTest, Class: ClassArming, Who: in.Who, Detail: detail})
	case Restored:
		s.record(Event{Type: EvRestored, Class: ClassArming, Who: in.Who, Detail: in.Detail})
	case CameraView:
		// Routine: views can be many, and must not crowd the arming events
		// out of the ones retention always keeps.
		s.record(Event{Type: EvCameraView, Class: ClassRoutine, Who: in.Who, Detail: cameraViewDetail(in)})
	case ClipSaved:
		s.clipSaved(in)
	case OperatorView:
		s.operatorView(in)
	case Tick:
		s.tick()
	}
}

// ApplyInPlace is Apply for the owner of st, the hub: st.Zones is changed in place
// instead of copied (with a hundred zones the copy would cost more than the whole
// decision), and zonesChanged says whether a zone's state changed. Everything else
// of st is left as Apply leaves it. The caller must not share st.Zones with anyone.
func (c *Core) ApplyInPlace(now time.Time, st State, in Input) (next State, fx []Effect, zonesChanged bool) {
	return c.applyIn(new(step), now, st, in)
}

// applyIn is ApplyInPlace in s, a step its caller keeps for the next input: the
// hub applies every input in the same one, so an input allocates no step and no
// effects slice. The effects returned are s's and last until the next call.
func (c *Core) applyIn(s *step, now time.Time, st State, in Input) (next State, fx []Effect, zonesChanged bool) {
	c.reset(s, now, st)
	s.zonesCopied = true // the caller's map, or a normalised copy: ours either way
	c.run(s, in)
	return s.st, s.effects(), s.zonesChanged
}

// effects returns the effects in the order they must be carried out: every output
// switch first (a siren never waits for anything), then the records and the result
// in the order they were made.
func (s *step) effects() []Effect {
	slices.SortStableFunc(s.fx, func(a, b Effect) int {
		_, ao := a.(SetOutput)
		_, bo := b.(SetOutput)
		switch {
		case ao && !bo:
			return -1
		case bo && !ao:
			return 1
		}
		return 0
	})
	return s.fx
}

// clone copies the parts of st that a step changes in place; the zones map is
// copied on write (setZone).
func clone(st State) State {
	// An empty map is not copied (most inputs come with no faults and no
	// lockout): the step makes a new one before its first write (addFault and
	// the others check for len 0, not nil).
	st.Faults = cloneFull(st.Faults)
	st.FaultsDue = cloneFull(st.FaultsDue)
	st.Sounding = slices.Clone(st.Sounding)
	st.Held = slices.Clone(st.Held)
	st.Lockout.Sources = cloneFull(st.Lockout.Sources)
	if st.Verify != nil {
		v := *st.Verify
		st.Verify = &v
	}
	if st.WalkTest != nil {
		w := *st.WalkTest
		w.Seen = maps.Clone(w.Seen)
		st.WalkTest = &w
	}
	if st.Maintenance != nil {
		m := *st.Maintenance
		st.Maintenance = &m
	}
	return st
}

// cloneFull copies m unless it is empty.
func cloneFull[M ~map[K]V, K comparable, V any](m M) M {
	if len(m) == 0 {
		return m
	}
	return maps.Clone(m)
}

func (s *step) set(kind OutputKind, on bool) {
	has := slices.Contains(s.st.Sounding, kind)
	if on && !has {
		s.st.Sounding = append(s.st.Sounding, kind)
	}
	if !on && has {
		s.st.Sounding = slices.DeleteFunc(s.st.Sounding, func(k OutputKind) bool { return k == kind })
	}
	if on != has {
		s.fx = append(s.fx, SetOutput{Kind: kind, On: on})
	}
}

// silence switches every sounding output off.
func (s *step) silence() {
	for _, k := range slices.Clone(s.st.Sounding) {
		s.set(k, false)
	}
	s.st.Sounding = nil
}

// record appends an event and its reports. Events that cause outputs are recorded
// after the outputs were switched, so the siren never waits for the disk.
func (s *step) record(e Event, reports ...Report) {
	e.Time = s.now
	if e.State == "" {
		e.State = s.st.Name
	}
	if e.Class == "" {
		e.Class = ClassRoutine
	}
	for i := range reports {
		if reports[i].Alarm {
			s.st.AlarmReported = true
		}
		if reports[i].Time.IsZero() {
			reports[i].Time = s.now
		}
		if reports[i].Partition == 0 {
			reports[i].Partition = 1
		}
	}
	s.fx = append(s.fx, Record{Event: e, Reports: reports})
}

func (s *step) result(err *Error) {
	if err == nil {
		s.fx = append(s.fx, Result{})
		return
	}
	s.fx = append(s.fx, Result{Err: err})
}

func zoneActor(id string) Actor { return Actor{Device: id, Via: ViaSensor} }

func (s *step) zoneNum(id string) int { return s.c.zones[id].Number }

// ---- sensors ----

func (s *step) sensor(in Sensor) {
	z, ok := s.c.zones[in.Zone]
	if !ok {
		return // adapters only send configured zones; a stale one is ignored
	}
	zs := s.st.Zones[in.Zone]
	who := zoneActor(z.ID)
	switch in.Signal {
	case SigOpen:
		if zs.Open {
			return
		}
		zs.Open = true
		s.setZone(z.ID, zs)
		s.record(Event{Type: EvZoneOpen, Zone: z.ID, Who: who})
		s.opened(z)
	case SigClose:
		if !zs.Open {
			return
		}
		zs.Open = false
		zs.Latched = false
		s.setZone(z.ID, zs)
		s.record(Event{Type: EvZoneClosed, Zone: z.ID, Who: who})
		if z.Type == ZoneTamper && !zs.Isolated && s.st.WalkTest == nil {
			s.tamperRestore(z, who) // a tamper loop closed again
		}
		if z.Type == ZoneKeyswitch && s.st.WalkTest == nil && s.st.Armed() {
			_ = s.disarm(Command{Kind: CmdDisarm, Who: Actor{Device: z.ID, Via: ViaKeyswitch}})
		}
	case SigTamper:
		if zs.Tamper {
			return
		}
		zs.Tamper = true
		s.setZone(z.ID, zs)
		s.tamper(z, who)
	case SigTamperRestore:
		if !zs.Tamper {
			return
		}
		zs.Tamper = false
		s.setZone(z.ID, zs)
		s.tamperRestore(z, who)
	case SigOffline, SigOnline:
		if zs.Offline == (in.Signal == SigOffline) {
			return
		}
		zs.Offline = in.Signal == SigOffline
		s.setZone(z.ID, zs)
		s.deviceFault(z, zs.Offline, deviceOffline)
	case SigLowBattery, SigBatteryOK:
		if zs.LowBattery == (in.Signal == SigLowBattery) {
			return
		}
		zs.LowBattery = in.Signal == SigLowBattery
		s.setZone(z.ID, zs)
		s.deviceFault(z, zs.LowBattery, deviceLowBattery)
	}
}

// deviceTrouble is a fault of a zone's device: how it is logged and reported.
type deviceTrouble struct {
	raised, restored EventType
	code             Code
}

var (
	deviceOffline    = deviceTrouble{EvDeviceOffline, EvDeviceOnline, CodeSupervision}
	deviceLowBattery = deviceTrouble{EvLowBattery, EvBatteryOk, CodeLowBattery}
)

// deviceFault records that zone z's device trouble t was raised (on) or restored,
// with its report.
func (s *step) deviceFault(z Zone, on bool, t deviceTrouble) {
	typ, q := t.raised, QualNew
	if !on {
		typ, q = t.restored, QualRestore
	}
	s.record(Event{Type: typ, Class: ClassFault, Zone: z.ID, Who: zoneActor(z.ID)},
		Report{Code: t.code, Qualifier: q, Zone: z.Number})
}

// opened handles a zone going from closed to open.
func (s *step) opened(z Zone) {
	zs := s.st.Zones[z.ID]
	who := zoneActor(z.ID)
	if s.st.WalkTest != nil {
		s.st.WalkTest.Seen[z.ID] = true
		s.record(Event{Type: EvWalkTestZone, Zone: z.ID, Who: who})
		s.fx = append(s.fx, SetOutput{Kind: OutputChime, On: true, Pulse: true})
		return
	}
	if zs.Isolated {
		return
	}
	if z.Type == ZoneKeyswitch {
		if s.st.Name == Disarmed {
			// A keyswitch has no caller to answer: a refusal is in the log.
			_ = s.arm(Command{Kind: CmdArm, Mode: ModeAway, Who: Actor{Device: z.ID, Via: ViaKeyswitch}})
		}
		return
	}
	if z.Type == ZoneTamper {
		s.tamper(z, who)
		return
	}
	if z.Type.Is24h() {
		if zs.Bypassed && !z.Type.undeniable() {
			return
		}
		s.alarm24(z)
		return
	}
	if !s.st.Armed() {
		if z.Chime {
			s.fx = append(s.fx, SetOutput{Kind: OutputChime, On: true, Pulse: true})
		}
		return
	}
	if zs.Bypassed || !z.ActiveIn(s.st.Mode) || zs.Latched {
		return
	}
	if zs.Alarms >= s.c.cfg.Settings.SwingerLimit {
		return
	}
	delayed := z.Type == ZoneEntryExit
	switch z.Delay {
	case DelayDelayed:
		delayed = true
	case DelayInstant:
		delayed = false
	}
	switch s.st.Name {
	case Arming:
		if delayed || z.Type == ZoneFollower {
			return // the exit route
		}
		s.burglary(z, false)
	case Pending:
		if delayed || z.Type == ZoneFollower {
			return // following the entry route
		}
		s.burglary(z, true)
	case Triggered:
		// While the report of an alarm during unsetting is held, so is this one
		// (the walk from the door to the keypad); a detector off the entry route
		// confirms and releases both.
		s.burglary(z, !s.st.HeldUntil.IsZero())
	default: // armed
		if delayed {
			s.entry(z)
			return
		}
		s.burglary(z, false)
	}
}

// undeniable zone types cannot be bypassed (EN 50131: panic and 24 h zones; fire
// and CO are life safety).
func (t ZoneType) undeniable() bool {
	return t == ZonePanic || t == ZoneSilentPanic || t == ZoneFire || t == ZoneCO
}

func (s *step) entry(z Zone) {
	d := s.c.cfg.Settings.EntryDelay[s.st.Mode].D()
	if d <= 0 {
		s.burglary(z, false)
		return
	}
	s.st.Prev = s.st.Name
	s.enter(Pending)
	s.st.EntryDeadline = s.now.Add(d)
	s.st.EntryZone = z.ID
	s.record(Event{Type: EvEntryDelay, Class: ClassAlarm, Zone: z.ID, Mode: s.st.Mode, Who: zoneActor(z.ID),
		Detail: d.String()})
}

// burglaryCode is the Contact ID code for an intrusion on a zone of type t.
func burglaryCode(t ZoneType) Code {
	switch t {
	case ZonePerimeter:
		return CodePerimeter
	case ZoneInstant, ZoneFollower:
		return CodeInterior
	case ZoneEntryExit:
		return CodeEntryExit
	}
	return CodeBurglary
}

// burglary raises an intrusion alarm from zone z while armed. An alarm during the
// unsetting procedure (while the entry delay runs, or when it expires) is first a
// local warning: its report is held for EntryReportDelay (EN 50131-1 §8.3.8.2) and
// dropped if an authorised user disarms in that time, unless a second detector
// confirms it.
func (s *step) burglary(z Zone, unsetting bool) {
	zs := s.st.Zones[z.ID]
	zs.Alarms++
	zs.Latched = true
	s.setZone(z.ID, zs)
	s.trigger(z.ID, fullAlarm)
	ev := Event{Type: EvAlarm, Class: ClassAlarm, Zone: z.ID, Mode: s.st.Mode, Who: zoneActor(z.ID), Detail: "burglary"}
	rep := Report{Code: burglaryCode(z.Type), Qualifier: QualNew, Zone: z.Number, Alarm: true}
	if unsetting {
		if s.st.HeldUntil.IsZero() {
			s.st.HeldUntil = s.now.Add(s.c.cfg.Settings.EntryReportDelay.D())
		}
		rep.Time = s.now
		rep.Partition = 1
		s.st.Held = append(s.st.Held, rep)
		ev.Detail = "burglary during unsetting: report held until " + s.st.HeldUntil.Format(time.RFC3339)
		s.record(ev)
	} else {
		s.record(ev, rep)
	}
	if zs.Alarms >= s.c.cfg.Settings.SwingerLimit {
		s.record(Event{Type: EvSwingerShutdown, Class: ClassAlarm, Zone: z.ID, Who: system,
			Detail: "zone reached its alarm limit for this arming period"})
	}
	s.verify(z)
}

// entryRoute reports whether zone z is on the entry route.
func entryRoute(z Zone) bool {
	return z.Type == ZoneEntryExit || z.Type == ZoneFollower || z.Delay == DelayDelayed
}

// verify applies sequential confirmation (BS 8243, TS 50131-9): a second, different
// detector within the confirmation window confirms the alarm (Contact ID 139). Two
// entry-route detectors do not confirm each other.
func (s *step) verify(z Zone) {
	v := s.st.Verify
	if v == nil || !s.now.Before(v.Until) {
		s.st.Verify = &Verification{FirstZone: z.ID, FirstEntry: entryRoute(z),
			Until: s.now.Add(s.c.cfg.Settings.ConfirmWindow.D())}
		return
	}
	if v.Confirmed || v.FirstZone == z.ID || (v.FirstEntry && entryRoute(z)) {
		return
	}
	v.Confirmed = true
	s.releaseHeld("confirmed by a second detector")
	s.record(Event{Type: EvAlarmConfirmed, Class: ClassAlarm, Zone: z.ID, Who: zoneActor(z.ID),
		Detail: "confirmed: " + v.FirstZone + " then " + z.ID},
		Report{Code: CodeVerified, Qualifier: QualNew, Zone: z.Number, Alarm: true})
}

// releaseHeld sends the reports held during the unsetting period.
func (s *step) releaseHeld(why string) {
	if len(s.st.Held) == 0 {
		return
	}
	held := s.st.Held
	s.st.Held, s.st.HeldUntil = nil, time.Time{}
	s.record(Event{Type: EvAlarmReported, Class: ClassAlarm, Zone: s.st.AlarmZone, Who: system, Detail: why}, held...)
}

// loudness says which outputs an alarm switches on.
type loudness int

const (
	// internalOnly: the internal sounder (water, tamper while unset). The outdoor
	// siren never sounds while the system is unset.
	internalOnly loudness = iota
	// fullAlarm: the sounder, the outdoor siren and the strobe.
	fullAlarm
)

// trigger starts (or continues) an audible alarm: outputs first.
func (s *step) trigger(zone string, l loudness) {
	s.set(OutputSounder, true)
	if l == fullAlarm {
		s.set(OutputSiren, true)
		s.set(OutputStrobe, true)
	}
	if s.st.Name == Triggered {
		// A new alarm during an alarm sounds its own full period.
		s.st.SirenUntil = s.now.Add(s.c.cfg.Settings.SirenDuration.D())
		return
	}
	if s.st.Name == Pending || s.st.Name == Arming {
		s.st.Prev = ArmedState(s.st.Mode)
		if !s.st.Mode.Valid() {
			s.st.Prev = Disarmed
		}
	} else {
		s.st.Prev = s.st.Name
	}
	s.enter(Triggered)
	s.st.EntryDeadline = time.Time{}
	s.st.ExitDeadline = time.Time{}
	s.st.AlarmStart = s.now
	s.st.AlarmZone = zone
	s.st.SirenUntil = s.now.Add(s.c.cfg.Settings.SirenDuration.D())
}

// alarm24 handles a 24-hour zone: fire, panic, silent panic, water, CO.
func (s *step) alarm24(z Zone) {
	who := zoneActor(z.ID)
	zs := s.st.Zones[z.ID]
	zs.Alarms++
	zs.Latched = true
	s.setZone(z.ID, zs)
	var code Code
	switch z.Type {
	case ZoneSilentPanic:
		s.record(Event{Type: EvSilentPanic, Class: ClassAlarm, Zone: z.ID, Who: who, Silent: true},
			Report{Code: CodeSilentPanic, Qualifier: QualNew, Zone: z.Number, Alarm: true})
		return
	case ZoneWater:
		code = CodeWater
		s.trigger(z.ID, internalOnly)
	case ZoneFire:
		code = CodeFire
		s.trigger(z.ID, fullAlarm)
	case ZoneCO:
		code = CodeCO
		s.trigger(z.ID, fullAlarm)
	case ZonePanic:
		code = CodePanic
		s.trigger(z.ID, fullAlarm)
	}
	s.record(Event{Type: EvAlarm, Class: ClassAlarm, Zone: z.ID, Who: who, Detail: string(z.Type)},
		Report{Code: code, Qualifier: QualNew, Zone: z.Number, Alarm: true})
}

// tamper handles a tamper signal: reported in every state; a full alarm while armed,
// the internal sounder while disarmed; logged only during maintenance.
func (s *step) tamper(z Zone, who Actor) {
	if m := s.st.Maintenance; m != nil {
		s.record(Event{Type: EvTamper, Class: ClassTamper, Zone: z.ID, Who: who,
			Detail: "suppressed: maintenance by " + m.By.String()})
		return
	}
	if s.st.WalkTest != nil {
		s.st.WalkTest.Seen[z.ID] = true
		s.record(Event{Type: EvWalkTestTamper, Class: ClassTamper, Zone: z.ID, Who: who})
		return
	}
	l := internalOnly
	if s.st.Armed() {
		l = fullAlarm
	}
	s.trigger(z.ID, l)
	zs := s.st.Zones[z.ID]
	zs.TamperReported = true
	s.setZone(z.ID, zs)
	s.record(Event{Type: EvTamper, Class: ClassTamper, Zone: z.ID, Who: who},
		Report{Code: CodeSensorTamper, Qualifier: QualNew, Zone: z.Number, Alarm: true})
}

// tamperRestore records the end of zone z's tamper: reported (3383) when the
// tamper was (so the centre's open tamper is closed), logged only when it was not
// (during maintenance or a walk test).
func (s *step) tamperRestore(z Zone, who Actor) {
	zs := s.st.Zones[z.ID]
	if !zs.TamperReported {
		s.record(Event{Type: EvTamperRestore, Class: ClassTamper, Zone: z.ID, Who: who,
			Detail: "not reported: its tamper was not"})
		return
	}
	zs.TamperReported = false
	s.setZone(z.ID, zs)
	s.record(Event{Type: EvTamperRestore, Class: ClassTamper, Zone: z.ID, Who: who},
		Report{Code: CodeSensorTamper, Qualifier: QualRestore, Zone: z.Number})
}

// ---- commands ----

func (s *step) command(c Command) *Error {
	if c.ByCode {
		s.codeAccepted(c)
	}
	if c.Duress {
		s.record(Event{Type: EvDuress, Class: ClassAlarm, Who: c.Who, Silent: true},
			Report{Code: CodeDuress, Qualifier: QualNew, Zone: c.Who.UserNum, Alarm: true})
	}
	if err := s.authorize(c); err != nil {
		s.record(Event{Type: EvCommandDenied, Class: ClassArming, Who: c.Who, Zone: c.Zone, Mode: c.Mode,
			Detail: string(c.Kind) + ": " + err.Msg})
		return err
	}
	switch c.Kind {
	case CmdArm:
		return s.arm(c)
	case CmdDisarm:
		return s.disarm(c)
	case CmdBypass, CmdUnbypass, CmdIsolate, CmdUnisolate:
		return s.bypass(c)
	case CmdPanic:
		s.trigger("", fullAlarm)
		s.record(Event{Type: EvPanic, Class: ClassAlarm, Who: c.Who},
			Report{Code: CodePanic, Qualifier: QualNew, Zone: c.Who.UserNum, Alarm: true})
		return nil
	case CmdSilentPanic:
		s.record(Event{Type: EvSilentPanic, Class: ClassAlarm, Who: c.Who, Silent: true},
			Report{Code: CodeSilentPanic, Qualifier: QualNew, Zone: c.Who.UserNum, Alarm: true})
		return nil
	case CmdWalkTestStart:
		if s.st.Name != Disarmed || s.st.WalkTest != nil {
			return errorf(ErrNotAllowed, "walk test needs a disarmed system without a walk test running")
		}
		s.st.WalkTest = &WalkTest{By: c.Who, Until: s.now.Add(s.c.cfg.Settings.WalkTestTimeout.D()), Seen: map[string]bool{}}
		s.record(Event{Type: EvWalkTestStart, Class: ClassArming, Who: c.Who})
		return nil
	case CmdWalkTestStop:
		if s.st.WalkTest == nil {
			return errorf(ErrNotAllowed, "no walk test is running")
		}
		s.endWalkTest(c.Who)
		return nil
	case CmdMaintenanceStart:
		if s.st.Name != Disarmed {
			return errorf(ErrNotAllowed, "maintenance needs a disarmed system")
		}
		s.st.Maintenance = &Maintenance{By: c.Who, Until: s.now.Add(s.c.cfg.Settings.MaintenanceTimeout.D())}
		s.record(Event{Type: EvMaintenanceStart, Class: ClassTamper, Who: c.Who,
			Detail: "tamper alarms suppressed until " + s.st.Maintenance.Until.Format(time.RFC3339)})
		return nil
	case CmdMaintenanceStop:
		if s.st.Maintenance == nil {
			return errorf(ErrNotAllowed, "maintenance is not active")
		}
		s.st.Maintenance = nil
		s.record(Event{Type: EvMaintenanceEnd, Class: ClassTamper, Who: c.Who})
		return nil
	}
	return errorf(ErrInvalid, "unknown command %q", c.Kind)
}

// authorize checks the role against the command. Devices and the system (no role)
// may arm and disarm; user management is not the core's business.
func (s *step) authorize(c Command) *Error {
	switch c.Role {
	case RoleAdmin, "":
		return nil
	case RoleUser:
		if c.Kind == CmdIsolate || c.Kind == CmdUnisolate || c.Kind == CmdMaintenanceStart || c.Kind == CmdMaintenanceStop {
			return errorf(ErrDenied, "needs an admin")
		}
		return nil
	case RoleGuest:
		switch c.Kind {
		case CmdArm, CmdDisarm, CmdPanic, CmdSilentPanic:
			if c.Force {
				return errorf(ErrDenied, "a guest cannot force arming")
			}
			return nil
		}
		return errorf(ErrDenied, "a guest may only arm, disarm and raise panic")
	}
	return errorf(ErrDenied, "unknown role %q", c.Role)
}

// HasLamps reports whether any output is a ready or fault lamp.
func (c *Core) HasLamps() bool {
	for _, o := range c.cfg.Outputs {
		if o.Kind == OutputReady || o.Kind == OutputFault {
			return true
		}
	}
	return false
}

// Lamps are the levels of the panel's lamps in st: fault while a system fault is
// active or a zone is in tamper, offline or low on battery; ready while disarmed
// with no reason not to arm away (Ready), so never together with fault.
func (c *Core) Lamps(st State) (ready, fault bool) {
	for _, on := range st.Faults {
		fault = fault || on
	}
	for id, z := range c.zones {
		zs := st.Zones[id]
		if !zs.Isolated && (zs.Tamper || zs.Offline || zs.LowBattery || zs.Open && z.Type == ZoneTamper) {
			fault = true
		}
	}
	ready = !fault && st.Name == Disarmed && len(c.Ready(st, ModeAway)) == 0
	return ready, fault
}

// Ready returns the reasons not to arm in mode m: open zones active in m, tampers,
// offline devices, low batteries, and system faults. Empty means ready.
func (c *Core) Ready(st State, m Mode) []Reason {
	var rs []Reason
	for _, id := range c.order {
		z := c.zones[id]
		zs := st.Zones[id]
		if zs.Isolated || z.Type == ZoneKeyswitch {
			continue
		}
		if zs.Open && !zs.Bypassed && z.ActiveIn(m) && z.Type != ZoneTamper {
			rs = append(rs, Reason{Zone: id, Reason: "open"})
		}
		// An open tamper zone (a panel lid, a tamper loop) is a tamper, which
		// neither a bypass nor forcing hides.
		if zs.Tamper || zs.Open && z.Type == ZoneTamper {
			rs = append(rs, Reason{Zone: id, Reason: "tamper"})
		}
		if zs.Offline {
			rs = append(rs, Reason{Zone: id, Reason: "offline"})
		}
		if zs.LowBattery {
			rs = append(rs, Reason{Zone: id, Reason: "low_battery"})
		}
	}
	faults := slices.SortedFunc(maps.Keys(st.Faults), func(a, b FaultID) int {
		return strings.Compare(a.String(), b.String())
	})
	for _, f := range faults {
		if f.Kind == FaultStuck && st.Zones[f.Subject].Isolated || f.Kind == FaultCamera || f.Kind == FaultNotify {
			continue // isolated until it is repaired; a camera verifies, it does not detect; notifications are a convenience
		}
		if st.Faults[f] {
			rs = append(rs, Reason{Reason: f.reason(), Fault: f.String()})
		}
	}
	return rs
}

func (s *step) arm(c Command) *Error {
	if !c.Mode.Valid() {
		return errorf(ErrInvalid, "unknown mode %q", c.Mode)
	}
	switch s.st.Name {
	case Disarmed, ArmedAway, ArmedHome, ArmedNight, ArmedVacation:
	default:
		return errorf(ErrNotAllowed, "cannot arm while %s", s.st.Name)
	}
	if c.NoCode && (c.Kind != CmdArm || c.Force || s.st.Name != Disarmed) {
		return errorf(ErrNotAllowed, "without a code only a disarmed system is armed, not forced")
	}
	if s.st.WalkTest != nil {
		return errorf(ErrNotAllowed, "a walk test is running")
	}
	reasons := s.c.Ready(s.st, c.Mode)
	if len(reasons) > 0 && !c.Force {
		s.record(Event{Type: EvArmRefused, Class: ClassArming, Mode: c.Mode, Who: c.Who, Reasons: reasons})
		return &Error{Kind: ErrNotReady, Msg: "not ready to arm " + string(c.Mode), Reasons: reasons}
	}
	if s.st.Maintenance != nil {
		s.st.Maintenance = nil
		s.record(Event{Type: EvMaintenanceEnd, Class: ClassTamper, Who: c.Who, Detail: "ended by arming"})
	}
	if len(reasons) > 0 {
		var forced []string
		var reports []Report
		for _, r := range reasons {
			// A fire, CO or panic zone cannot be bypassed: it keeps guarding
			// through a forced arming, so it is not reported bypassed (570).
			if r.Reason != "open" || s.c.zones[r.Zone].Type.undeniable() {
				continue
			}
			zs := s.st.Zones[r.Zone]
			zs.Bypassed, zs.Forced = true, true
			s.setZone(r.Zone, zs)
			forced = append(forced, r.Zone)
			reports = append(reports, Report{Code: CodeBypass, Qualifier: QualNew, Zone: s.zoneNum(r.Zone)})
		}
		// Armed although a path to the centre is down: the centre learns it from
		// an exception closing (450) by the user, alongside the closing itself.
		if slices.ContainsFunc(reasons, func(r Reason) bool {
			return strings.HasPrefix(r.Fault, string(FaultUplinkPath)+":")
		}) {
			reports = append(reports, Report{Code: CodeExceptionOC, Qualifier: QualRestore, Zone: c.Who.UserNum})
		}
		s.record(Event{Type: EvArmForced, Class: ClassArming, Mode: c.Mode, Who: c.Who, Reasons: reasons, Zones: forced},
			reports...)
	}
	for id, zs := range s.st.Zones {
		zs.Alarms, zs.Latched = 0, false
		s.setZone(id, zs)
	}
	s.st.Mode = c.Mode
	s.st.ArmedBy = c.Who
	s.st.Prev = ""
	if d := s.c.cfg.Settings.ExitDelay[c.Mode].D(); d > 0 {
		s.enter(Arming)
		s.st.ExitDeadline = s.now.Add(d)
		s.record(Event{Type: EvArming, Class: ClassArming, Mode: c.Mode, Who: c.Who, Detail: d.String()})
		return nil
	}
	s.armed()
	return nil
}

// armed completes arming: the closing report names the user who armed, and zones
// that are open now count as opened (levels, not edges).
func (s *step) armed() {
	s.enter(ArmedState(s.st.Mode))
	s.st.ExitDeadline = time.Time{}
	s.record(Event{Type: EvArmed, Class: ClassArming, Mode: s.st.Mode, Who: s.st.ArmedBy},
		Report{Code: CodeOpenClose, Qualifier: QualRestore, Zone: s.st.ArmedBy.UserNum})
	s.st.ClosingReported = true
	for _, id := range s.c.order {
		if s.st.Zones[id].Open && !s.c.zones[id].Type.Is24h() {
			s.opened(s.c.zones[id])
		}
	}
}

func (s *step) disarm(c Command) *Error {
	walkTest := s.st.WalkTest != nil
	if walkTest {
		s.endWalkTest(c.Who)
	}
	alarm := s.st.Name == Triggered || len(s.st.Sounding) > 0
	if s.st.Name == Disarmed && !alarm {
		if walkTest {
			// A walk test is ended, which is what a disarm means then.
			return nil
		}
		// A duress code gets the same answer as the normal code: its report is
		// queued all the same.
		return errorf(ErrNotAllowed, "already disarmed")
	}
	s.silence()
	wasArmed := s.st.Armed()
	if len(s.st.Held) > 0 {
		s.record(Event{Type: EvAlarmReportWithheld, Class: ClassAlarm, Zone: s.st.AlarmZone, Who: c.Who,
			Detail: "disarmed during the unsetting period: the alarm was not sent"})
		s.st.Held, s.st.HeldUntil = nil, time.Time{}
	}
	s.st.Verify = nil
	if alarm {
		// The centre gets a cancel only for an alarm it was sent.
		var cancel []Report
		if s.st.AlarmReported {
			cancel = append(cancel, Report{Code: CodeCancel, Qualifier: QualNew, Zone: c.Who.UserNum})
		}
		s.record(Event{Type: EvAlarmCancel, Class: ClassAlarm, Zone: s.st.AlarmZone, Who: c.Who}, cancel...)
	}
	s.st.AlarmReported = false
	s.enter(Disarmed)
	s.st.Mode, s.st.Prev = "", ""
	s.st.ExitDeadline, s.st.EntryDeadline, s.st.EntryZone = time.Time{}, time.Time{}, ""
	s.st.AlarmStart, s.st.SirenUntil, s.st.AlarmZone = time.Time{}, time.Time{}, ""
	s.st.ArmedBy = Actor{}
	var unbypassed []string
	for id, zs := range s.st.Zones {
		if zs.Bypassed {
			unbypassed = append(unbypassed, id)
		}
		zs.Bypassed, zs.Forced, zs.Alarms, zs.Latched = false, false, 0, false
		s.setZone(id, zs)
	}
	slices.Sort(unbypassed)
	if wasArmed {
		// The opening report (1401) pairs with a closing report (3401): none when
		// the arming never completed (disarmed during the exit delay).
		var opening []Report
		if s.st.ClosingReported {
			opening = append(opening, Report{Code: CodeOpenClose, Qualifier: QualNew, Zone: c.Who.UserNum})
		}
		s.record(Event{Type: EvDisarmed, Class: ClassArming, Who: c.Who}, opening...)
	}
	// A bypass lasts until the disarm: its end is an event, and the centre,
	// which was told of the bypass (1570), gets its restore (3570), or it would
	// show the zone bypassed for ever.
	for _, id := range unbypassed {
		s.record(Event{Type: EvUnbypass, Class: ClassArming, Zone: id, Who: c.Who, Detail: "ended by the disarm"},
			Report{Code: CodeBypass, Qualifier: QualRestore, Zone: s.zoneNum(id)})
	}
	s.st.ClosingReported = false
	return nil
}

func (s *step) bypass(c Command) *Error {
	z, ok := s.c.zones[c.Zone]
	if !ok {
		return errorf(ErrInvalid, "unknown zone %q", c.Zone)
	}
	zs := s.st.Zones[z.ID]
	var typ EventType
	q := QualNew
	switch c.Kind {
	case CmdBypass:
		if z.Type.undeniable() {
			return errorf(ErrNotAllowed, "zone %s (%s) cannot be bypassed", z.ID, z.Type)
		}
		if s.st.Name == Triggered || s.st.Name == Pending {
			return errorf(ErrNotAllowed, "cannot bypass while %s", s.st.Name)
		}
		zs.Bypassed, typ = true, EvBypass
	case CmdUnbypass:
		zs.Bypassed, zs.Forced, typ, q = false, false, EvUnbypass, QualRestore
	case CmdIsolate:
		zs.Isolated, typ = true, EvIsolate
	case CmdUnisolate:
		zs.Isolated, typ, q = false, EvUnisolate, QualRestore
	}
	s.setZone(z.ID, zs)
	s.record(Event{Type: typ, Class: ClassArming, Zone: z.ID, Who: c.Who},
		Report{Code: CodeBypass, Qualifier: q, Zone: z.Number})
	return nil
}

func (s *step) endWalkTest(who Actor) {
	w := s.st.WalkTest
	s.st.WalkTest = nil
	var seen, unseen []string
	for _, id := range s.c.order {
		if w.Seen[id] {
			seen = append(seen, id)
		} else {
			unseen = append(unseen, id)
		}
	}
	detail := "all zones seen"
	if len(unseen) > 0 {
		detail = "not seen: " + strings.Join(unseen, ", ")
	}
	s.record(Event{Type: EvWalkTestEnd, Class: ClassArming, Who: who, Zones: seen, Detail: detail})
}

// ---- refusals and faults ----

func (s *step) refused(r Refused) {
	switch r.Reason {
	case RefusedWrongCode:
		s.wrongCode(r)
	case RefusedLocked:
		detail := "from " + source(r.Source, r.Who)
		if r.Detail != "" {
			detail += ": " + r.Detail
		}
		s.record(Event{Type: EvCodeRefusedLocked, Class: ClassTamper, Who: r.Who, Detail: detail})
	default:
		s.record(Event{Type: EvAccessDenied, Class: ClassArming, Who: r.Who, Detail: string(r.Reason) + ": " + r.Detail})
	}
}

// source names where a request came from, for the wrong-code count.
func source(src string, who Actor) string {
	if src != "" {
		return src
	}
	return SourceOf(who.Via, who.Device)
}

// count adds a wrong code at now to c, whose window restarts when it has passed,
// and reports whether c reached limit: then c is locked for d and its count
// starts again.
func count(c *CodeCount, now time.Time, window, d time.Duration, limit int) bool {
	if c.WindowStart.IsZero() || now.Sub(c.WindowStart) > window {
		c.Failures, c.WindowStart = 0, now
	}
	c.Failures++
	if c.Failures < limit {
		return false
	}
	c.Until = now.Add(d)
	c.Failures, c.WindowStart = 0, time.Time{}
	return true
}

// wrongCode counts a wrong code against its source and against all sources: a
// source that reaches lockout_attempts within lockout_window is locked for
// lockout_duration, and GlobalLockoutFactor times as many from all sources
// together lock all code entry. Every lockout is logged and reported (461).
func (s *step) wrongCode(r Refused) {
	set := s.c.cfg.Settings
	window, d := set.LockoutWindow.D(), set.LockoutDuration.D()
	src := source(r.Source, r.Who)
	l := &s.st.Lockout
	// Forget the sources whose window has passed and that are not locked.
	for k, c := range l.Sources {
		if c.Until.IsZero() && s.now.Sub(c.WindowStart) > window {
			delete(l.Sources, k)
		}
	}
	s.record(Event{Type: EvCodeRejected, Class: ClassTamper, Who: r.Who, Detail: r.Detail})
	if len(l.Sources) == 0 {
		l.Sources = map[string]CodeCount{}
	}
	c := l.Sources[src]
	if count(&c, s.now, window, d, set.LockoutAttempts) {
		s.record(Event{Type: EvLockout, Class: ClassTamper, Who: r.Who,
			Detail: "code entry from " + src + " refused for " + d.String()},
			Report{Code: CodeWrongCode, Qualifier: QualNew})
	}
	l.Sources[src] = c
	all := CodeCount{Failures: l.Failures, WindowStart: l.WindowStart, Until: l.Until}
	if count(&all, s.now, window, d, GlobalLockoutFactor*set.LockoutAttempts) {
		s.record(Event{Type: EvLockout, Class: ClassTamper, Who: r.Who,
			Detail: "code entry refused on every interface for " + d.String()},
			Report{Code: CodeWrongCode, Qualifier: QualNew})
	}
	l.Failures, l.WindowStart, l.Until = all.Failures, all.WindowStart, all.Until
}

// codeAccepted resets the wrong-code count of a command's source (not the count of
// all sources, which only its window ends).
func (s *step) codeAccepted(c Command) {
	src := source(c.Source, c.Who)
	cc, ok := s.st.Lockout.Sources[src]
	if !ok {
		return
	}
	if cc.Until.IsZero() {
		delete(s.st.Lockout.Sources, src)
		return
	}
	cc.Failures, cc.WindowStart = 0, time.Time{}
	s.st.Lockout.Sources[src] = cc
}

// lockoutsEnd ends the lockouts that are over: the state says so at that moment.
func (s *step) lockoutsEnd() {
	l := &s.st.Lockout
	if due(l.Until, s.now) {
		l.Until = time.Time{}
		s.record(Event{Type: EvLockoutEnd, Class: ClassTamper, Who: system,
			Detail: "code entry allowed again on every interface"})
	}
	for _, src := range slices.Sorted(maps.Keys(l.Sources)) {
		c := l.Sources[src]
		if !due(c.Until, s.now) {
			continue
		}
		c.Until = time.Time{}
		if c.Failures == 0 {
			delete(l.Sources, src)
		} else {
			l.Sources[src] = c
		}
		s.record(Event{Type: EvLockoutEnd, Class: ClassTamper, Who: system,
			Detail: "code entry from " + src + " allowed again"})
	}
}

func (s *step) fault(f Fault) {
	if s.st.Faults[f.ID] == f.Active {
		return
	}
	if s.st.Faults == nil {
		s.st.Faults = map[FaultID]bool{}
	}
	q := QualNew
	if !f.Active {
		q = QualRestore
	}
	var reports []Report
	switch f.ID.Kind {
	case FaultUplinkPath:
		// Reported over the other path: 354, failure to communicate; the zone
		// field names the path (1 primary, 2 backup).
		reports = append(reports, Report{Code: CodeCommFailure, Qualifier: q, Zone: f.Point})
	case FaultStorage:
		reports = append(reports, Report{Code: CodeSystemTrouble, Qualifier: q})
	case FaultBroker:
		reports = append(reports, Report{Code: CodeCommTrouble, Qualifier: q})
	case FaultZigbee:
		reports = append(reports, Report{Code: CodeCommTrouble, Qualifier: q})
	case FaultOutput:
		code := CodeRelayTrouble
		o, _ := s.c.output(f.ID.Subject)
		if o.Kind == OutputSiren {
			code = CodeBellTrouble
		}
		reports = append(reports, Report{Code: code, Qualifier: q, Zone: o.Number})
	case FaultMains:
		// The report waits for MainsReportDelay (a short cut is not news for
		// the centre); its restore goes out only if the failure was reported.
		if _, waiting := s.st.FaultsDue[f.ID]; waiting || f.Active {
			if f.Active {
				if len(s.st.FaultsDue) == 0 {
					s.st.FaultsDue = map[FaultID]time.Time{}
				}
				s.st.FaultsDue[f.ID] = s.now.Add(s.c.cfg.Settings.MainsReportDelay.D())
			} else {
				delete(s.st.FaultsDue, f.ID)
			}
			break
		}
		reports = append(reports, Report{Code: CodeACLoss, Qualifier: q})
	case FaultBattery:
		reports = append(reports, Report{Code: CodeLowSysBattery, Qualifier: q})
	case FaultPowerInput:
		reports = append(reports, Report{Code: CodePeripheral, Qualifier: q})
	case FaultCamera:
		reports = append(reports, Report{Code: CodePeripheral, Qualifier: q, Zone: f.Point})
	case FaultDevice:
		reports = append(reports, Report{Code: CodeSupervision, Qualifier: q})
	case FaultStuck:
		code := CodeSensorTrouble
		z, _ := s.c.Zone(f.ID.Subject)
		if z.Type == ZoneFire {
			code = CodeFireTrouble
		}
		reports = append(reports, Report{Code: code, Qualifier: q, Zone: z.Number})
	}
	detail := f.ID.String()
	if f.Detail != "" {
		detail += ": " + f.Detail
	}
	if f.Active {
		if len(s.st.Faults) == 0 {
			s.st.Faults = map[FaultID]bool{}
		}
		s.st.Faults[f.ID] = true
		s.record(Event{Type: EvFault, Class: ClassFault, Who: system, Detail: detail}, reports...)
		return
	}
	delete(s.st.Faults, f.ID)
	s.record(Event{Type: EvFaultRestore, Class: ClassFault, Who: system, Detail: detail}, reports...)
}

// ---- time ----

// NextDeadline returns the earliest time at which a Tick has work to do, or the zero
// time when nothing is scheduled.
func (c *Core) NextDeadline(st State) time.Time {
	var next time.Time
	at := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if st.Name == Arming {
		at(st.ExitDeadline)
	}
	if st.Name == Pending {
		at(st.EntryDeadline)
	}
	at(st.SirenUntil)
	at(st.HeldUntil)
	at(st.Lockout.Until)
	for _, t := range st.FaultsDue {
		at(t)
	}
	for _, c := range st.Lockout.Sources {
		at(c.Until)
	}
	if st.Verify != nil {
		at(st.Verify.Until)
	}
	if st.WalkTest != nil {
		at(st.WalkTest.Until)
	}
	if st.Maintenance != nil {
		at(st.Maintenance.Until)
	}
	return next
}

func due(t, now time.Time) bool { return !t.IsZero() && !now.Before(t) }

func (s *step) tick() {
	if s.st.Name == Arming && due(s.st.ExitDeadline, s.now) {
		s.armed()
	}
	if s.st.Name == Pending && due(s.st.EntryDeadline, s.now) {
		s.burglary(s.c.zones[s.st.EntryZone], true) // the entry delay ran out: triggered
	}
	if due(s.st.HeldUntil, s.now) {
		s.releaseHeld("local warning ran " + s.c.cfg.Settings.EntryReportDelay.D().String() + " without unsetting")
	}
	if v := s.st.Verify; v != nil && due(v.Until, s.now) {
		s.st.Verify = nil
		if !v.Confirmed {
			s.record(Event{Type: EvAlarmUnconfirmed, Class: ClassAlarm, Zone: v.FirstZone, Who: system,
				Detail: "no second detector within the confirmation window"})
		}
	}
	if due(s.st.SirenUntil, s.now) {
		s.silence()
		s.st.SirenUntil = time.Time{}
		if s.st.Name == Triggered {
			back := s.st.Prev
			if back == "" {
				back = Disarmed
			}
			s.enter(back)
			s.st.Prev = ""
		}
		s.record(Event{Type: EvSirenCutoff, Class: ClassAlarm, Zone: s.st.AlarmZone, Who: system,
			Detail: "outputs off after " + s.c.cfg.Settings.SirenDuration.D().String()})
		s.st.AlarmStart, s.st.AlarmZone, s.st.AlarmReported = time.Time{}, "", false
	}
	if w := s.st.WalkTest; w != nil && due(w.Until, s.now) {
		s.endWalkTest(system)
	}
	if m := s.st.Maintenance; m != nil && due(m.Until, s.now) {
		s.st.Maintenance = nil
		s.record(Event{Type: EvMaintenanceEnd, Class: ClassTamper, Who: system, Detail: "timed out"})
	}
	s.lockoutsEnd()
	s.faultsDue()
}

// faultsDue reports the delayed faults (mains) still active at their due time.
func (s *step) faultsDue() {
	due := slices.SortedFunc(maps.Keys(s.st.FaultsDue), func(a, b FaultID) int { return strings.Compare(a.String(), b.String()) })
	for _, id := range due {
		if s.now.Before(s.st.FaultsDue[id]) {
			continue
		}
		delete(s.st.FaultsDue, id)
		if !s.st.Faults[id] {
			continue // restored meanwhile (fault deletes it then; a state from elsewhere)
		}
		s.record(Event{Type: EvFaultReported, Class: ClassFault, Who: system,
			Detail: id.String() + ": still active after " + s.c.cfg.Settings.MainsReportDelay.D().String()},
			Report{Code: CodeACLoss, Qualifier: QualNew})
	}
}

// Resume applies the restart rules to a state loaded from the store: armed stays
// armed; an alarm in progress resumes until its original cut-off; an entry delay keeps
// its deadline (expired means alarm); an exit delay restarts from full. The caller
// then feeds the zones' current levels and a Tick.
func (c *Core) Resume(now time.Time, st State) (State, []Effect) {
	s := c.prepare(now, st)
	if s.st.Name == Arming {
		s.st.ExitDeadline = s.now.Add(c.cfg.Settings.ExitDelay[s.st.Mode].D())
	}
	if completed := s.st.Name == Pending || strings.HasPrefix(string(s.st.Name), "armed_") ||
		s.st.Name == Triggered && strings.HasPrefix(string(s.st.Prev), "armed_"); completed && s.st.Mode != "" {
		s.st.ClosingReported = true // a state stored before the flag existed
	}
	if !s.st.SirenUntil.IsZero() && s.now.Before(s.st.SirenUntil) {
		kinds := slices.Clone(s.st.Sounding)
		sort.Slice(kinds, func(i, j int) bool { return kinds[i] < kinds[j] })
		for _, k := range kinds {
			s.fx = append(s.fx, SetOutput{Kind: k, On: true})
		}
	}
	s.record(Event{Type: EvRestart, Class: ClassFault, Who: system, Mode: s.st.Mode,
		Detail: "resumed in state " + string(s.st.Name)},
		Report{Code: CodeSystemReset, Qualifier: QualNew})
	return s.st, s.effects()
}

// cameraViewDetail says which camera, from when, how long and why the view ended:
// "porch from 2026-11-30 20:00:00Z for 1m5s: viewer left".
func cameraViewDetail(v CameraView) string {
	d := fmt.Sprintf("%s from %s for %s", v.Camera, v.Start.UTC().Format("2006-01-02 15:04:05Z"), v.Duration.Round(time.Second))
	if v.Ended != "" {
		d += ": " + v.Ended
	}
	return d
}
