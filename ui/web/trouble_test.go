package web

import (
	"context"
	"net/http"
	"runtime"
	"testing"
	"time"

	"vakt/hub"
)

// waitTrouble polls the trouble page until ok says it is as wanted: the activity
// tracker hears of events from the hub on its own goroutine.
func waitTrouble(t *testing.T, c *client, ok func(troubleView) bool) troubleView {
	t.Helper()
	var v troubleView
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); runtime.Gosched() {
		v = troubleView{}
		if st := c.do("GET", "/api/v1/trouble", nil, &v); st != http.StatusOK {
			t.Fatalf("trouble: %d", st)
		}
		if ok(v) {
			return v
		}
	}
	t.Fatalf("trouble never as wanted: %+v", v)
	return v
}

// The trouble page: every fault with since when; a zone that opened 20 times in
// the last hour flaps; a detector with no activity for 30 days is silent (only
// once the journal goes back that far).
func TestTrouble(t *testing.T) {
	s := startSystem(t, testConfig(t))
	ctx := context.Background()
	in := func(i hub.Input) {
		t.Helper()
		if err := s.h.Input(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	s.advance(time.Minute)
	in(hub.Fault{ID: hub.FaultID{Kind: hub.FaultOutput, Subject: "siren"}, Active: true, Detail: "no answer"})
	s.advance(time.Minute)
	in(hub.Sensor{Zone: "door", Signal: hub.SigOffline})
	for range 20 {
		s.advance(time.Second)
		in(hub.Sensor{Zone: "living", Signal: hub.SigOpen})
		in(hub.Sensor{Zone: "living", Signal: hub.SigClose})
	}
	a := s.login(t, "alice", "alice-pass")
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	v := waitTrouble(t, a, func(v troubleView) bool { return len(v.Flapping) == 1 })
	same(t, "trouble", v, troubleView{
		Faults: []troubleFault{
			{ID: "door:offline", Kind: "offline", Zone: "door", Since: at(2 * time.Minute)},
			{ID: "output:siren", Kind: "output", Subject: "siren", Since: at(time.Minute), Detail: "output:siren: no answer"},
		},
		Silent:   []troubleZone{},
		Flapping: []troubleZone{{Zone: "living", Name: "Living PIR", LastActivity: at(2*time.Minute + 20*time.Second), Opens: 20}},
		Known:    t0,
	})
	// A month later: nothing has opened since.
	s.advance(31 * 24 * time.Hour)
	a = s.login(t, "alice", "alice-pass")
	v = waitTrouble(t, a, func(v troubleView) bool { return len(v.Flapping) == 0 })
	same(t, "silent", v.Silent, []troubleZone{
		{Zone: "door", Name: "Front door"},
		{Zone: "living", Name: "Living PIR", LastActivity: at(2*time.Minute + 20*time.Second)},
		{Zone: "=cmd", Name: "=HYPERLINK()"},
	})
	g := s.login(t, "gus", "gus-pass")
	if st := g.do("GET", "/api/v1/trouble", nil, nil); st != http.StatusForbidden {
		t.Fatalf("a guest's trouble page: %d", st)
	}
}

// A device that floods openings costs the tracker a bounded list: the newest
// flapOpens, those within the last hour.
func TestActivityBounded(t *testing.T) {
	a := &activity{last: map[string]time.Time{}, recent: map[string][]time.Time{}}
	for i := range 100_000 {
		a.open("pir", t0.Add(time.Duration(i)*time.Millisecond))
	}
	r := a.recent["pir"]
	if len(r) != flapOpens || !r[0].Equal(t0.Add(99_980*time.Millisecond)) || !a.last["pir"].Equal(t0.Add(99_999*time.Millisecond)) {
		t.Fatalf("kept %d, first %s, last %s", len(r), r[0], a.last["pir"])
	}
	// An opening an hour later leaves only itself.
	a.open("pir", t0.Add(2*time.Hour))
	if r := a.recent["pir"]; len(r) != 1 || !r[0].Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("after an hour: %v", r)
	}
}
