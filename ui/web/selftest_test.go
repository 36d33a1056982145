package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"vakt/hub"
	"vakt/hub/uplink"
)

// The guided self-test, step by step, ticked from what the hub records and the
// centre's answers, and saved as an event.
func TestSelfTest(t *testing.T) {
	s := startSystem(t, testConfig(t))
	var ack atomic.Int64 // the centre's last answer, Unix nanoseconds
	w := New(Options{Hub: s.h, Events: s.store, Now: s.now, Health: s.web.opt.Health,
		Uplink: func() []uplink.PathStatus {
			var at time.Time
			if n := ack.Load(); n != 0 {
				at = time.Unix(0, n).UTC()
			}
			return []uplink.PathStatus{{Name: "primary", State: uplink.StateOK, LastAck: at}}
		}})
	srv := httptest.NewServer(w.Handler())
	defer srv.Close()
	s2 := &system{h: s.h, store: s.store, web: w, srv: srv}
	s2.clock.Store(s.clock.Load())
	a := s2.login(t, "alice", "alice-pass")
	ctx := context.Background()
	advance := func(d time.Duration) {
		t.Helper()
		s.advance(d)
		s2.advance(d)
		if err := s.h.Input(ctx, hub.Tick{}); err != nil {
			t.Fatal(err)
		}
	}
	var v selfTestView
	if st := a.do("POST", "/api/v1/self-test/start", map[string]any{}, &v); st != http.StatusOK || v.Since != 1 || v.Passed {
		t.Fatalf("start: %d %+v", st, v)
	}
	done := func(told bool) string {
		t.Helper()
		var v selfTestView
		q := "/api/v1/self-test?since=1"
		if told {
			q += "&told=true"
		}
		if st := a.do("GET", q, nil, &v); st != http.StatusOK {
			t.Fatalf("self-test: %d", st)
		}
		var ids []string
		for _, st := range v.Steps {
			if st.Done {
				ids = append(ids, st.ID)
			}
		}
		return strings.Join(ids, ",")
	}
	if got := done(true); got != "told" {
		t.Fatalf("at start: %q", got)
	}
	a.do("POST", "/api/v1/uplink/test", map[string]any{}, nil)
	if got := done(true); got != "told" {
		t.Fatalf("test report not yet answered: %q", got)
	}
	ack.Store(s.now().UnixNano())
	a.do("POST", "/api/v1/arm", map[string]any{"mode": "away"}, nil)
	if got := done(true); got != "told,test_report,armed" {
		t.Fatalf("armed: %q", got)
	}
	advance(30 * time.Second)
	if err := s.h.Input(ctx, hub.Sensor{Zone: "door", Signal: hub.SigOpen}); err != nil {
		t.Fatal(err)
	}
	advance(45 * time.Second)
	if got := done(true); got != "told,test_report,armed,left,entry,alarm" {
		t.Fatalf("alarm: %q", got)
	}
	advance(30 * time.Second)
	ack.Store(s.now().UnixNano())
	a.do("POST", "/api/v1/disarm", map[string]any{"code": "111111"}, nil)
	var fin selfTestView
	if st := a.do("POST", "/api/v1/self-test/finish", map[string]any{"since": 1, "told": true}, &fin); st != http.StatusOK || !fin.Passed {
		t.Fatalf("finish: %d %+v", st, fin)
	}
	// An unfinished test is saved as not passed, with what is missing.
	a.do("POST", "/api/v1/self-test/finish", map[string]any{"since": 1000, "told": false}, nil)
	j := s.journal(t)
	same(t, "results", j[len(j)-2:], []string{
		"self_test Alice web 127.0.0.1 passed: done: told, test_report, armed, left, entry, alarm, siren, centre_ack, disarmed",
		"self_test Alice web 127.0.0.1 not passed: nothing done; missing: told, test_report, armed, left, entry, alarm, siren, centre_ack, disarmed",
	})
}
