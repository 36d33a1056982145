package hub

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// inputFrom maps two bytes to an input, covering every zone, signal and command.
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
		return Command{Kind: CmdArm, Mode: mode, Force: a&0x80 != 0, Who: u.who, Role: u.role}
	case 9:
		return Command{Kind: CmdDisarm, Who: u.who, Role: u.role, Duress: a&0x80 != 0}
	case 10:
		kinds := []CommandKind{CmdBypass, CmdUnbypass, CmdIsolate, CmdUnisolate}
		return Command{Kind: kinds[int(a/16)%len(kinds)], Zone: zone, Who: u.who, Role: u.role}
	case 11:
		kinds := []CommandKind{CmdPanic, CmdSilentPanic, CmdWalkTestStart, CmdWalkTestStop, CmdMaintenanceStart, CmdMaintenanceStop}
		return Command{Kind: kinds[int(a/16)%len(kinds)], Who: u.who, Role: u.role}
	case 12:
		return Refused{Who: Actor{Device: "kp", Via: ViaKeypad}, Reason: RefusedWrongCode}
	case 13:
		if a&0x40 != 0 {
			return TestReport{Manual: a&0x20 != 0, Who: u.who}
		}
		return Fault{Name: "uplink:primary", Active: a&0x80 != 0}
	default:
		return Sensor{Zone: zone, Signal: SigOpen}
	}
}

// checkInvariants drives the core like the actor does (a Tick at every deadline) and
// checks the safety rules after every step.
func checkInvariants(t *testing.T, data []byte) {
	cfg := testConfig()
	c := NewCore(cfg)
	st := c.InitialState()
	now := t0
	apply := func(in Input) {
		prev := st
		var fx []Effect
		st, fx = c.Apply(now, st, in)
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
			if r, ok := e.(Record); ok && r.Event.Type == "alarm_reported" {
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
			if r.Event.Who == (Actor{}) {
				t.Fatalf("event %s names nobody", r.Event.Type)
			}
			switch r.Event.Type {
			case "alarm", "panic", "silent_panic", "duress":
				held := r.Event.Type == "alarm" && (len(st.Held) > 0 || released)
				if !held && (len(r.Reports) == 0 || !r.Reports[0].Alarm) {
					t.Fatalf("alarm event %s without an alarm report", r.Event.Type)
				}
			case "tamper":
				if st.Maintenance == nil && len(r.Reports) == 0 {
					t.Fatalf("tamper without report outside maintenance")
				}
			}
		}
		// Sirens never run past their limit.
		if len(st.Sounding) > 0 {
			if st.SirenUntil.IsZero() || !now.Before(st.SirenUntil) {
				t.Fatalf("outputs %v on at %v with cut-off %v", st.Sounding, now, st.SirenUntil)
			}
			if st.SirenUntil.Sub(st.AlarmStart) > MaxSirenDuration {
				t.Fatalf("siren runs %v", st.SirenUntil.Sub(st.AlarmStart))
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
