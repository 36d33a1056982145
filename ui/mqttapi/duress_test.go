package mqttapi

import (
	"context"
	"slices"
	"strings"
	"testing"

	"vakt/hub"
	"vakt/storage"
)

// A duress disarm looks, from outside, exactly like a normal disarm: the same MQTT
// messages, the same reply, the same info-level log lines, in every state. It is
// reported to the centre (121) and kept in the event log.
func TestDuressLooksLikeNormalDisarm(t *testing.T) {
	ctx := context.Background()
	do := func(t *testing.T, s *system, r hub.Request) {
		t.Helper()
		r.Via, r.Device, r.Cred = hub.ViaKeypad, "kp1", hub.Credential{Code: "111111"}
		if err := s.h.Do(ctx, r); err != nil {
			t.Fatalf("setup %+v: %v", r, err)
		}
	}
	sensor := func(t *testing.T, s *system, zone string) {
		t.Helper()
		if err := s.h.Input(ctx, hub.Sensor{Zone: zone, Signal: hub.SigOpen}); err != nil {
			t.Fatal(err)
		}
	}
	states := []struct {
		name  hub.StateName
		setup func(t *testing.T, s *system)
	}{
		{hub.Disarmed, func(t *testing.T, s *system) {}},
		{hub.Arming, func(t *testing.T, s *system) { do(t, s, hub.Request{Kind: hub.CmdArm, Mode: hub.ModeVacation}) }},
		{hub.ArmedAway, func(t *testing.T, s *system) { do(t, s, hub.Request{Kind: hub.CmdArm, Mode: hub.ModeAway}) }},
		{hub.ArmedHome, func(t *testing.T, s *system) { do(t, s, hub.Request{Kind: hub.CmdArm, Mode: hub.ModeHome}) }},
		{hub.ArmedNight, func(t *testing.T, s *system) { do(t, s, hub.Request{Kind: hub.CmdArm, Mode: hub.ModeNight}) }},
		{hub.Pending, func(t *testing.T, s *system) {
			do(t, s, hub.Request{Kind: hub.CmdArm, Mode: hub.ModeAway})
			sensor(t, s, "door")
		}},
		{hub.Triggered, func(t *testing.T, s *system) {
			do(t, s, hub.Request{Kind: hub.CmdArm, Mode: hub.ModeAway})
			sensor(t, s, "living")
		}},
	}
	// run brings a fresh system into the state, disarms with code, and returns
	// everything seen outside, and the store.
	run := func(t *testing.T, setup func(*testing.T, *system), code string) ([]string, *storage.Store) {
		s := startSystem(t, sysConfig(t), "owner")
		setup(t, s)
		s.settle(t)
		s.logs.take()
		s.command(t, `{"command":"DISARM","code":"`+code+`"}`)
		msgs := s.settle(t)
		return append(msgs, s.logs.take()...), s.store
	}
	for _, st := range states {
		t.Run(string(st.name), func(t *testing.T) {
			normal, _ := run(t, st.setup, "111111")
			duress, store := run(t, st.setup, "999111")
			if len(normal) == 0 {
				t.Fatalf("nothing seen of a normal disarm")
			}
			if !slices.Equal(normal, duress) {
				t.Errorf("a duress disarm differs from outside:\nnormal:\n\t%s\nduress:\n\t%s",
					strings.Join(normal, "\n\t"), strings.Join(duress, "\n\t"))
			}
			// The duress is reported and kept in the event log.
			reps, err := store.Outbox(100)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(reps, func(r hub.Report) bool { return r.Code == hub.CodeDuress && r.Zone == 1 }) {
				t.Errorf("no duress report: %+v", reps)
			}
			evs, _, err := store.Events(storage.EventQuery{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(evs, func(e hub.Event) bool { return e.Type == hub.EvDuress && e.Silent }) {
				t.Errorf("no duress event in the log")
			}
		})
	}
}
