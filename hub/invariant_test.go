package hub

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// inputFrom maps two bytes to an input, covering every zone, signal, command,
// refusal and fault.
func inputFrom(cfg Config, a, b byte) Input {
	zone := cfg.Zones[int(b)%len(cfg.Zones)].ID
	users := []struct {
		who  Actor
		role Role
	}{{alice, RoleAdmin}, {bob, RoleUser}, {gus, RoleGuest}}
	u := users[int(b)%len(users)]
	mode := Modes[int(b/3)%len(Modes)]
	signals := []Signal{SigOpen, SigClose, SigTamper, SigTamperRestore, SigOffline, SigOnline, SigLowBattery, SigBatteryOK}
	switch a % 16 {
	case 0, 1, 2, 3, 4, 5:
		return Sensor{Zone: zone, Signal: signals[int(a/16)%len(signals)]}
	case 6, 7:
		return Tick{}
	case 8:
		return Command{Kind: CmdArm, Mode: mode, Force: a&0x80 != 0, Who: u.who, Role: u.role, Duress: a&0x40 != 0}
	case 9:
		return Command{Kind: CmdDisarm, Who: u.who, Role: u.role, Duress: a&0x80 != 0}
	case 10:
		kinds := []CommandKind{CmdBypass, CmdUnbypass, CmdIsolate, CmdUnisolate}
		return Command{Kind: kinds[int(a/16)%len(kinds)], Zone: zone, Who: u.who, Role: u.role}
	case 11:
		kinds := []CommandKind{CmdPanic, CmdSilentPanic, CmdWalkTestStart, CmdWalkTestStop, CmdMaintenanceStart, CmdMaintenanceStop}
		return Command{Kind: kinds[int(a/16)%len(kinds)], Who: u.who, Role: u.role}
	case 12:
		reasons := []RefuseReason{RefusedWrongCode, RefusedWrongCode, RefusedLocked, RefusedSchedule}
		return Refused{Who: Actor{Device: "kp", Via: ViaKeypad}, Reason: reasons[int(a/16)%len(reasons)]}
	case 13:
		if a&0x40 != 0 {
			return TestReport{Manual: a&0x20 != 0, Who: u.who}
		}
		output := "siren"
		if len(cfg.Outputs) > 0 {
			output = cfg.Outputs[int(b)%len(cfg.Outputs)].ID
		}
		ids := []FaultID{{Kind: FaultUplinkPath, Subject: "primary"}, {Kind: FaultUplinkClock, Subject: "primary"},
			{Kind: FaultOutput, Subject: output}, {Kind: FaultStorage}, {Kind: FaultBroker},
			{Kind: FaultMains, Subject: "psu"}, {Kind: FaultBattery, Subject: "psu"}, {Kind: FaultPowerInput, Subject: "psu"}}
		return Fault{ID: ids[int(b/7)%len(ids)], Active: a&0x80 != 0}
	default:
		return Sensor{Zone: zone, Signal: SigOpen}
	}
}

// loudAlarms are the event details of the alarms that may sound the outdoor siren
// while the system is unset.
var loudAlarms = []string{string(ZoneFire), string(ZoneCO), string(ZonePanic)}

// checkEffects checks the rules every effect list of Apply keeps, whatever the
// input: in is the input, st the state after it, on the outputs that were on before
// (updated by fx).
func checkEffects(t *testing.T, now time.Time, in Input, st State, fx []Effect, on map[OutputKind]bool) {
	t.Helper()
	results, records := 0, 0
	sirenOn, loud := false, false
	for i, e := range fx {
		switch e := e.(type) {
		case SetOutput:
			// Outputs come first: a siren never waits for a record.
			if records > 0 || results > 0 {
				t.Fatalf("output %+v after a record or result in %v on %#v", e, render(now, fx), in)
			}
			if e.Pulse {
				if !e.On || e.Kind != OutputChime {
					t.Fatalf("pulse %+v on %#v", e, in)
				}
				continue
			}
			if on[e.Kind] == e.On {
				t.Fatalf("output %s switched to %v twice (effects %v) on %#v", e.Kind, e.On, render(now, fx), in)
			}
			on[e.Kind] = e.On
			if e.Kind == OutputSiren && e.On {
				sirenOn = true
			}
		case Record:
			if results > 0 {
				t.Fatalf("record after the result in %v", render(now, fx))
			}
			records++
			ev := e.Event
			if ev.Who == (Actor{}) {
				t.Fatalf("event %s names nobody", ev.Type)
			}
			if !ev.Time.Equal(now) || ev.Class == "" || ev.State == "" || ev.Type == "" || ev.Seq != 0 {
				t.Fatalf("event %+v at %v", ev, now)
			}
			if ev.Type == EvPanic || ev.Type == EvAlarm && slices.Contains(loudAlarms, ev.Detail) {
				loud = true
			}
			for _, r := range e.Reports {
				if r.Code == 0 || (r.Qualifier != QualNew && r.Qualifier != QualRestore) || r.Partition != 1 ||
					r.Time.IsZero() || r.Time.After(now) || r.Seq != 0 || r.Event != 0 {
					t.Fatalf("report %+v of event %s", r, ev.Type)
				}
				if r.Alarm && ev.Class != ClassAlarm && ev.Class != ClassTamper {
					t.Fatalf("alarm report %+v of a %s event %s", r, ev.Class, ev.Type)
				}
			}
		case Result:
			results++
			if i != len(fx)-1 {
				t.Fatalf("result not last in %v", render(now, fx))
			}
		default:
			t.Fatalf("unknown effect %#v", e)
		}
	}
	// A command is answered exactly once; nothing else is answered.
	_, isCmd := in.(Command)
	if isCmd && results != 1 || !isCmd && results != 0 {
		t.Fatalf("%d results for %#v", results, in)
	}
	// The outdoor siren never sounds while the system is unset, but for fire, CO
	// and panic.
	if sirenOn && st.Mode == "" && !loud {
		t.Fatalf("outdoor siren switched on while unset by %#v: %v", in, render(now, fx))
	}
	// The state knows which outputs are on.
	for _, k := range []OutputKind{OutputSiren, OutputSounder, OutputStrobe, OutputChime} {
		if on[k] != slices.Contains(st.Sounding, k) {
			t.Fatalf("output %s is on=%v but the state sounds %v (effects %v)", k, on[k], st.Sounding, render(now, fx))
		}
	}
	if len(slices.Compact(slices.Sorted(slices.Values(st.Sounding)))) != len(st.Sounding) {
		t.Fatalf("sounding %v lists a kind twice", st.Sounding)
	}
	// Held reports and their deadline come and go together.
	if (len(st.Held) > 0) != !st.HeldUntil.IsZero() {
		t.Fatalf("held %v until %v", st.Held, st.HeldUntil)
	}
	// Deadlines belong to their states.
	if (st.Name == Arming) != !st.ExitDeadline.IsZero() {
		t.Fatalf("state %s with exit deadline %v", st.Name, st.ExitDeadline)
	}
	if (st.Name == Pending) != !st.EntryDeadline.IsZero() {
		t.Fatalf("state %s with entry deadline %v", st.Name, st.EntryDeadline)
	}
	if st.Armed() != (st.ArmedBy != Actor{}) {
		t.Fatalf("mode %q armed by %+v", st.Mode, st.ArmedBy)
	}
	switch st.Name {
	case Disarmed:
		if st.Mode != "" {
			t.Fatalf("disarmed in mode %s", st.Mode)
		}
	case ArmedAway, ArmedHome, ArmedNight, ArmedVacation:
		if st.Name != ArmedState(st.Mode) {
			t.Fatalf("%s in mode %s", st.Name, st.Mode)
		}
	case Arming, Pending:
		if !st.Mode.Valid() {
			t.Fatalf("%s in mode %q", st.Name, st.Mode)
		}
	case Triggered:
	default:
		t.Fatalf("unknown state %q", st.Name)
	}
}

// checkInvariants drives the core like the actor does (a Tick at every deadline) and
// checks the safety rules after every step.
func checkInvariants(t *testing.T, data []byte) {
	cfg := coreConfig()
	c := NewCore(cfg)
	st := c.InitialState()
	now := t0
	on := map[OutputKind]bool{}
	mainsSince := map[FaultID]time.Time{} // mains faults active, since when
	mainsReported := map[FaultID]bool{}
	mainsDelay := c.cfg.Settings.MainsReportDelay.D()
	apply := func(in Input) {
		prev := st
		var fx []Effect
		st, fx = c.Apply(now, st, in)
		checkEffects(t, now, in, st, fx, on)
		// Never leaves an armed state without an authorised disarm.
		if prev.Armed() && !st.Armed() {
			ok := false
			switch in := in.(type) {
			case Command:
				ok = in.Kind == CmdDisarm && in.Who != (Actor{})
			case Sensor:
				ok = c.zones[in.Zone].Type == ZoneKeyswitch && in.Signal == SigClose
			}
			if !ok {
				t.Fatalf("left %s (mode %s) for %s on %#v", prev.Name, prev.Mode, st.Name, in)
			}
		}
		released := false
		for _, e := range fx {
			if r, ok := e.(Record); ok && r.Event.Type == EvAlarmReported {
				released = true
			}
		}
		disarm := false
		switch in := in.(type) {
		case Command:
			disarm = in.Kind == CmdDisarm
		case Sensor:
			disarm = c.zones[in.Zone].Type == ZoneKeyswitch && in.Signal == SigClose
		}
		// Held alarm reports leave only by being sent or by an authorised disarm.
		if len(prev.Held) > 0 && len(st.Held) == 0 && !released && !disarm {
			t.Fatalf("held reports dropped on %#v", in)
		}
		for _, e := range fx {
			r, ok := e.(Record)
			if !ok {
				continue
			}
			switch r.Event.Type {
			case EvAlarm, EvPanic, EvSilentPanic, EvDuress:
				held := r.Event.Type == EvAlarm && (len(st.Held) > 0 || released)
				if !held && (len(r.Reports) == 0 || !r.Reports[0].Alarm) {
					t.Fatalf("alarm event %s without an alarm report", r.Event.Type)
				}
			case EvTamper:
				if st.Maintenance == nil && len(r.Reports) == 0 {
					t.Fatalf("tamper without report outside maintenance")
				}
			}
		}
		// A mains failure is reported only once it has lasted the delay, and
		// its restore only when it was reported.
		if f, ok := in.(Fault); ok && f.ID.Kind == FaultMains && prev.Faults[f.ID] != f.Active {
			if f.Active {
				mainsSince[f.ID] = now
			}
		}
		for _, e := range fx {
			r, ok := e.(Record)
			if !ok {
				continue
			}
			for _, rep := range r.Reports {
				if rep.Code != CodeACLoss {
					continue
				}
				id := FaultID{Kind: FaultMains, Subject: "psu"}
				switch rep.Qualifier {
				case QualNew:
					if now.Sub(mainsSince[id]) < mainsDelay || mainsReported[id] {
						t.Fatalf("1301 at %v for a mains failure since %v (reported before: %v)", now, mainsSince[id], mainsReported[id])
					}
					mainsReported[id] = true
				case QualRestore:
					if !mainsReported[id] || st.Faults[id] {
						t.Fatalf("3301 at %v without a 1301, or with the fault active", now)
					}
					mainsReported[id] = false
				}
			}
		}
		if f, ok := in.(Fault); ok && f.ID.Kind == FaultMains && !f.Active && !mainsReported[f.ID] && st.FaultsDue[f.ID] != (time.Time{}) {
			t.Fatalf("mains restored, its report still due")
		}
		// Sirens never run past their limit.
		if len(st.Sounding) > 0 {
			if st.SirenUntil.IsZero() || !now.Before(st.SirenUntil) {
				t.Fatalf("outputs %v on at %v with cut-off %v", st.Sounding, now, st.SirenUntil)
			}
			// Each alarm sounds at most one period from its own start (a new alarm
			// during an alarm sounds its own full period; zones are held back by
			// the swinger limit, a person pressing panic again is heard again).
			if st.SirenUntil.Sub(now) > MaxSirenDuration {
				t.Fatalf("siren cut-off %v away", st.SirenUntil.Sub(now))
			}
		}
		if st.Name == Triggered && len(st.Sounding) == 0 {
			t.Fatalf("triggered without an output")
		}
	}
	for i := 0; i+2 < len(data); i += 3 {
		later := now.Add(time.Duration(data[i+2]) * 3 * time.Second)
		for n, next := 0, c.NextDeadline(st); !next.IsZero() && !next.After(later); n, next = n+1, c.NextDeadline(st) {
			if n > 100 {
				t.Fatalf("a Tick at %v does not clear the deadline %v: state %+v", now, next, st)
			}
			now = next
			apply(Tick{})
		}
		now = later
		apply(inputFrom(cfg, data[i], data[i+1]))
	}
}

func TestInvariantsRandom(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 42, 1234, 99999, 20261125} {
		r := rand.New(rand.NewPCG(seed, seed))
		data := make([]byte, 3*5000)
		for i := range data {
			data[i] = byte(r.UintN(256))
		}
		checkInvariants(t, data)
	}
}

func FuzzInvariants(f *testing.F) {
	f.Add([]byte{8, 0, 0, 6, 0, 20, 0, 1, 5})
	f.Add(slices.Repeat([]byte{0, 1, 2, 9, 3, 4, 8, 5, 1}, 20))
	f.Fuzz(checkInvariants)
}
