package hub

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
)

// The ready and fault lamps follow the state: driven once at start, then only
// when their level changes, and never at all in a system without lamps.
func TestHubLamps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := hubConfig(t)
		cfg.Outputs = append(cfg.Outputs,
			Output{ID: "led-ready", Name: "Ready lamp", Kind: OutputReady},
			Output{ID: "led-fault", Name: "Fault lamp", Kind: OutputFault})
		j, o := &memJournal{}, &memOutputs{}
		h, stop := start(t, cfg, nil, j, o)
		defer stop()
		ctx := context.Background()
		step := func(in Input, want ...string) {
			t.Helper()
			before := len(o.list())
			if err := h.Input(ctx, in); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			if got := o.list()[before:]; !slices.Equal(got, want) {
				t.Errorf("after %+v: outputs %q, want %q", in, got, want)
			}
		}
		synctest.Wait()
		if got, want := o.list(), []string{"ready-on", "fault-off"}; !slices.Equal(got, want) {
			t.Fatalf("at start: outputs %q, want %q", got, want)
		}
		step(open_("window"), "ready-off")
		step(open_("hall"))    // still not ready: no change
		step(close_("window")) // hall still open
		step(close_("hall"), "ready-on")
		step(Sensor{Zone: "living", Signal: SigLowBattery}, "ready-off", "fault-on")
		step(Sensor{Zone: "living", Signal: SigBatteryOK}, "ready-on", "fault-off")
		step(Fault{ID: FaultID{Kind: FaultMains}, Active: true}, "ready-off", "fault-on")
		step(Fault{ID: FaultID{Kind: FaultMains}, Active: false}, "ready-on", "fault-off")
		step(Sensor{Zone: "living", Signal: SigOffline}, "ready-off", "fault-on")
		step(Sensor{Zone: "living", Signal: SigOnline}, "ready-on", "fault-off")
		do := func(k CommandKind, want ...string) {
			t.Helper()
			before := len(o.list())
			if err := h.Do(ctx, Request{Kind: k, Mode: ModeNight, Cred: Credential{Code: "222222"}, Via: ViaKeypad, Device: "kp1"}); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			if got := o.list()[before:]; !slices.Equal(got, want) {
				t.Errorf("after %s: outputs %q, want %q", k, got, want)
			}
		}
		do(CmdArm, "ready-off") // armed: not ready to arm
		step(Fault{ID: FaultID{Kind: FaultMains}, Active: true}, "fault-on")
		step(Fault{ID: FaultID{Kind: FaultMains}, Active: false}, "fault-off")
		do(CmdDisarm, "ready-on")
	})
}

// Without lamp outputs no lamp kind is ever driven, whatever other outputs there are.
func TestHubNoLamps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := hubConfig(t)
		cfg.Outputs = []Output{{ID: "siren", Name: "Siren", Kind: OutputSiren}, {ID: "strobe", Name: "Strobe", Kind: OutputStrobe}}
		j, o := &memJournal{}, &memOutputs{}
		h, stop := start(t, cfg, nil, j, o)
		defer stop()
		for _, in := range []Input{open_("window"), close_("window"), Fault{ID: FaultID{Kind: FaultMains}, Active: true}} {
			if err := h.Input(context.Background(), in); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		for _, s := range o.list() {
			if s == "ready-on" || s == "ready-off" || s == "fault-on" || s == "fault-off" {
				t.Fatalf("lamp driven without lamp outputs: %q", o.list())
			}
		}
	})
}

// Core.Lamps, state by state.
func TestCoreLamps(t *testing.T) {
	c := NewCore(testConfig())
	for _, tc := range []struct {
		name         string
		edit         func(st *State)
		ready, fault bool
	}{
		{"disarmed, all closed", func(*State) {}, true, false},
		{"armed", func(st *State) { st.Name = ArmedAway }, false, false},
		{"an away zone open", func(st *State) { st.Zones["living"] = ZoneState{Open: true} }, false, false},
		{"an open zone bypassed", func(st *State) { st.Zones["living"] = ZoneState{Open: true, Bypassed: true} }, true, false},
		{"the panel's lid open", func(st *State) { st.Zones["lid"] = ZoneState{Open: true} }, false, true},
		{"a zone in tamper", func(st *State) { st.Zones["window"] = ZoneState{Tamper: true} }, false, true},
		{"a zone offline", func(st *State) { st.Zones["window"] = ZoneState{Offline: true} }, false, true},
		{"an isolated zone offline", func(st *State) { st.Zones["window"] = ZoneState{Offline: true, Isolated: true} }, true, false},
		{"low battery", func(st *State) { st.Zones["smoke"] = ZoneState{LowBattery: true} }, false, true},
		{"a system fault", func(st *State) { st.Faults = map[FaultID]bool{{Kind: FaultMains}: true} }, false, true},
		{"a fault restored", func(st *State) { st.Faults = map[FaultID]bool{{Kind: FaultMains}: false} }, true, false},
		{"triggered with a fault", func(st *State) {
			st.Name = Triggered
			st.Faults = map[FaultID]bool{{Kind: FaultMains}: true}
		}, false, true},
	} {
		st := c.InitialState()
		tc.edit(&st)
		if ready, fault := c.Lamps(st); ready != tc.ready || fault != tc.fault {
			t.Errorf("%s: ready %v fault %v, want %v %v", tc.name, ready, fault, tc.ready, tc.fault)
		}
	}
}
