package web

import (
	"context"
	"net/http"
	"testing"
	"time"

	"vakt/hub"
)

// The day's timeline: the front door's openings in their quarter hours, and the
// armed periods (exit delay included), one still open.
func TestTimeline(t *testing.T) {
	s := startSystem(t, testConfig(t))
	ctx := context.Background()
	a := s.login(t, "alice", "alice-pass")
	step := func(d time.Duration, in hub.Input) {
		t.Helper()
		s.advance(d)
		if err := s.h.Input(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	do := func(d time.Duration, k hub.CommandKind, m hub.Mode) {
		t.Helper()
		s.advance(d)
		if err := s.h.Do(ctx, hub.Request{Kind: k, Mode: m, Cred: hub.Credential{Code: "111111"}, Via: hub.ViaKeypad, Device: "kp"}); err != nil {
			t.Fatal(err)
		}
	}
	// 20:00 restart. 20:05 the door opens and closes; 20:10 arm away (30 s exit
	// delay); 20:20 the door: entry; disarm 20:20:10; 20:40 arm home (no delay).
	step(5*time.Minute, hub.Sensor{Zone: "door", Signal: hub.SigOpen})
	step(time.Second, hub.Sensor{Zone: "door", Signal: hub.SigClose})
	do(5*time.Minute-time.Second, hub.CmdArm, hub.ModeAway)
	step(30*time.Second, hub.Tick{})
	step(10*time.Minute-30*time.Second, hub.Sensor{Zone: "door", Signal: hub.SigOpen})
	do(10*time.Second, hub.CmdDisarm, "")
	step(time.Second, hub.Sensor{Zone: "door", Signal: hub.SigClose})
	do(20*time.Minute-11*time.Second, hub.CmdArm, hub.ModeHome)
	s.advance(time.Minute) // 20:41
	var v timelineView
	if st := a.do("GET", "/api/v1/timeline", nil, &v); st != http.StatusOK {
		t.Fatalf("timeline: %d", st)
	}
	at := func(h, m, sec int) time.Time { return time.Date(2026, 11, 30, h, m, sec, 0, time.UTC) }
	if !v.From.Equal(at(20, 45, 0).Add(-24*time.Hour)) || !v.To.Equal(at(20, 45, 0)) || v.Bucket != 900 || len(v.Zones) != 3 {
		t.Fatalf("window %s–%s, bucket %d, %d zones", v.From, v.To, v.Bucket, len(v.Zones))
	}
	door := v.Zones[0]
	counts := map[int]int{}
	for i, n := range door.Counts {
		if n > 0 {
			counts[i] = n
		}
	}
	// From 20:45 yesterday: 20:05 is in bucket 93 of 96, 20:20 in 94.
	same(t, "door", []any{door.ID, counts}, []any{"door", map[int]int{93: 1, 94: 1}})
	same(t, "armed", v.Armed, []armedPeriod{
		{From: at(20, 10, 0), To: at(20, 20, 10), Mode: hub.ModeAway},
		{From: at(20, 40, 0), To: at(20, 45, 0), Mode: hub.ModeHome},
	})
	if st := a.do("GET", "/api/v1/timeline?range=1y", nil, nil); st != http.StatusBadRequest {
		t.Fatalf("range 1y: %d", st)
	}
	if st := a.do("GET", "/api/v1/timeline?range=7d", nil, &v); st != http.StatusOK || v.Bucket != 3600 || len(v.Zones[0].Counts) != 168 {
		t.Fatalf("7d: %d %d %d", st, v.Bucket, len(v.Zones[0].Counts))
	}
}
