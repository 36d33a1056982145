package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"vakt/hub"
	"vakt/storage"
)

func same(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.MarshalIndent(got, "", " ")
	w, _ := json.MarshalIndent(want, "", " ")
	if string(g) != string(w) {
		t.Fatalf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// summary renders events as "type zone mode who via detail" lines.
func summary(evs []hub.Event) []string {
	out := []string{}
	for _, e := range evs {
		s := string(e.Type)
		for _, f := range []string{e.Zone, string(e.Mode), e.Who.UserName, string(e.Who.Via), e.Who.Device, e.Detail} {
			if f != "" {
				s += " " + f
			}
		}
		out = append(out, s)
	}
	return out
}

// journal returns every event in the store, oldest first.
func (s *system) journal(t *testing.T) []string {
	t.Helper()
	evs, _, err := s.store.Events(storage.EventQuery{Ascending: true, Limit: storage.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	return summary(evs)
}

func TestAnonymousGetsNothingButLoginAndHealth(t *testing.T) {
	s := startSystem(t, testConfig(t))
	c := s.client(t)
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/v1/session"}, {"GET", "/api/v1/status"}, {"GET", "/api/v1/events"}, {"GET", "/api/v1/events.csv"},
		{"GET", "/api/v1/stream"}, {"GET", "/api/v1/devices"}, {"DELETE", "/api/v1/session"}, {"GET", "/metrics"},
		{"POST", "/api/v1/arm"}, {"POST", "/api/v1/disarm"}, {"POST", "/api/v1/panic"}, {"POST", "/api/v1/bypass"},
	} {
		var e errBody
		code := c.do(r.method, r.path, map[string]any{"mode": "away"}, &e)
		if code != http.StatusUnauthorized || e.Error != "unauthenticated" {
			t.Errorf("%s %s without a session: %d %+v", r.method, r.path, code, e)
		}
	}
	var h map[string]any
	if code := c.do("GET", "/healthz", nil, &h); code != http.StatusOK {
		t.Fatalf("healthz: %d", code)
	}
	same(t, "anonymous health", h, map[string]any{"status": "ok"})
	a := s.login(t, "alice", "alice-pass")
	a.do("GET", "/healthz", nil, &h)
	same(t, "health with a session", h, map[string]any{"status": "ok", "state": "disarmed"})
	if code, body := a.raw("GET", "/metrics", nil, "", ""); code != http.StatusOK || string(body) != "vakt_test 1\n" {
		t.Fatalf("metrics with a session: %d %q", code, body)
	}
	same(t, "journal", s.journal(t), []string{"restart system hub resumed in state disarmed"})
	// The app's page is served to anyone: it asks for a login itself.
	code, page := c.raw("GET", "/", nil, "", "")
	if code != http.StatusOK || !strings.Contains(string(page), `<script src="/app.js"`) {
		t.Fatalf("/: %d %.80s", code, page)
	}
	code, page = c.raw("GET", "/events/deep/link", nil, "", "")
	if code != http.StatusOK || !strings.Contains(string(page), "<title>Vakt</title>") {
		t.Fatalf("unknown path: %d %.80s", code, page)
	}
	if code, _ := c.raw("GET", "/api/v1/nothing", nil, "", ""); code != http.StatusNotFound {
		t.Fatalf("unknown API path: %d", code)
	}
}

func TestLoginLogoutAndWrongPasswords(t *testing.T) {
	s := startSystem(t, testConfig(t))
	c := s.client(t)
	var e errBody
	if code := c.do("POST", "/api/v1/session", map[string]string{"user": "alice", "password": "nope"}, &e); code != http.StatusUnauthorized || e.Error != "bad_code" {
		t.Fatalf("wrong password: %d %+v", code, e)
	}
	// By name, any case.
	a := s.login(t, "ALICE", "alice-pass")
	var sv sessionView
	if code := a.do("GET", "/api/v1/session", nil, &sv); code != http.StatusOK {
		t.Fatalf("session: %d", code)
	}
	same(t, "session", sv, sessionView{User: userView{ID: "alice", Name: "Alice", Role: hub.RoleAdmin}, CSRF: a.csrf})
	// Logging out needs the CSRF token too.
	if code, _ := a.raw("DELETE", "/api/v1/session", nil, "", ""); code != http.StatusForbidden {
		t.Fatalf("logout without CSRF token: %d", code)
	}
	if code := a.do("DELETE", "/api/v1/session", nil, nil); code != http.StatusNoContent {
		t.Fatalf("logout: %d", code)
	}
	if code := a.do("GET", "/api/v1/status", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("status after logout: %d", code)
	}
	same(t, "journal", s.journal(t), []string{"restart system hub resumed in state disarmed", "code_rejected web 127.0.0.1 password for alice"})
}

// Wrong passwords count toward the same lockout as wrong codes, per remote
// address: the third locks the login for every user.
func TestLoginLockout(t *testing.T) {
	s := startSystem(t, testConfig(t))
	c := s.client(t)
	for i, want := range []int{401, 401, 401, 429, 429} {
		var e errBody
		user := []string{"alice", "bob", "nobody", "bob", "alice"}[i]
		pw := map[bool]string{true: user + "-pass", false: "guess"}[i == 4]
		if code := c.do("POST", "/api/v1/session", map[string]string{"user": user, "password": pw}, &e); code != want {
			t.Fatalf("attempt %d: %d %+v, want %d", i+1, code, e, want)
		}
	}
	same(t, "journal", s.journal(t), []string{
		"restart system hub resumed in state disarmed",
		"code_rejected web 127.0.0.1 password for alice",
		"code_rejected web 127.0.0.1 password for bob",
		"code_rejected web 127.0.0.1 password for nobody",
		"lockout web 127.0.0.1 code entry from web:127.0.0.1 refused for 1m30s",
		"code_refused_locked web 127.0.0.1 from web:127.0.0.1",
		"code_refused_locked web 127.0.0.1 from web:127.0.0.1",
	})
	// After the lockout the right password works.
	s.advance(2 * time.Minute)
	s.login(t, "alice", "alice-pass")
}

func TestCommandsNeedCSRFAndJSON(t *testing.T) {
	s := startSystem(t, testConfig(t))
	a := s.login(t, "alice", "alice-pass")
	for _, r := range []struct {
		name, ctype, csrf string
		body              any
		want              int
		kind              string
	}{
		{"no token", "application/json", "", `{"mode":"home"}`, 403, "csrf"},
		{"wrong token", "application/json", "x" + a.csrf, `{"mode":"home"}`, 403, "csrf"},
		{"a form", "application/x-www-form-urlencoded", a.csrf, "mode=home", 415, "invalid"},
		{"bad JSON", "application/json", a.csrf, `{"mode":`, 400, "invalid"},
		{"unknown field", "application/json", a.csrf, `{"mode":"home","pin":"1"}`, 400, "invalid"},
		{"no mode", "application/json", a.csrf, `{}`, 400, "invalid"},
		{"unknown mode", "application/json", a.csrf, `{"mode":"party"}`, 400, "invalid"},
		{"too big", "application/json", a.csrf, `{"zone":"` + strings.Repeat("x", 70_000) + `"}`, 413, "request_entity_too_large"},
	} {
		code, data := a.raw("POST", "/api/v1/arm", r.body, r.ctype, r.csrf)
		var e errBody
		_ = json.Unmarshal(data, &e)
		if code != r.want || e.Error != r.kind {
			t.Errorf("%s: %d %s, want %d %s", r.name, code, data, r.want, r.kind)
		}
	}
	if st := s.h.Snapshot().State.Name; st != hub.Disarmed {
		t.Fatalf("state %s after refused requests", st)
	}
}

func TestArmDisarmAsUserAndByCode(t *testing.T) {
	s := startSystem(t, testConfig(t))
	b := s.login(t, "bob", "bob-pass")
	var st statusView
	if code := b.do("POST", "/api/v1/arm", map[string]any{"mode": "away"}, &st); code != http.StatusOK {
		t.Fatalf("arm: %d", code)
	}
	if st.State != hub.Arming || !st.ExitDeadline.Equal(t0.Add(30*time.Second)) || !st.Now.Equal(t0) {
		t.Fatalf("after arming: %+v", st)
	}
	s.advance(30 * time.Second)
	if err := s.h.Input(context.Background(), hub.Tick{}); err != nil {
		t.Fatal(err)
	}
	var e errBody
	if code := b.do("POST", "/api/v1/disarm", map[string]any{"code": "123456"}, &e); code != http.StatusForbidden || e.Error != "bad_code" {
		t.Fatalf("wrong PIN: %d %+v", code, e)
	}
	// Alice's PIN on Bob's session: the disarm is Alice's.
	if code := b.do("POST", "/api/v1/disarm", map[string]any{"code": "111111"}, &st); code != http.StatusOK || st.State != hub.Disarmed {
		t.Fatalf("disarm: %d %s", code, st.State)
	}
	same(t, "journal", s.journal(t), []string{
		"restart system hub resumed in state disarmed",
		"arming away Bob web 127.0.0.1 30s",
		"armed away Bob web 127.0.0.1",
		"code_rejected web 127.0.0.1 wrong PIN",
		"disarmed Alice web 127.0.0.1",
	})
	// The event log as the API shows it: newest first, the same events.
	var page eventsPage
	if code := b.do("GET", "/api/v1/events", nil, &page); code != http.StatusOK {
		t.Fatalf("events: %d", code)
	}
	want := s.journal(t)
	slices.Reverse(want)
	same(t, "events page", summary(page.Events), want)
	if page.Next != 0 {
		t.Fatalf("next %d on the only page", page.Next)
	}
}

func TestNotReadyThenForced(t *testing.T) {
	s := startSystem(t, testConfig(t))
	if err := s.h.Input(context.Background(), hub.Sensor{Zone: "door", Signal: hub.SigOpen}); err != nil {
		t.Fatal(err)
	}
	a := s.login(t, "alice", "alice-pass")
	var st statusView
	a.do("GET", "/api/v1/status", nil, &st)
	same(t, "ready", st.Ready, map[hub.Mode][]hub.Reason{
		hub.ModeAway: {{Zone: "door", Reason: "open"}}, hub.ModeHome: {{Zone: "door", Reason: "open"}},
		hub.ModeNight: {{Zone: "door", Reason: "open"}}, hub.ModeVacation: {{Zone: "door", Reason: "open"}}})
	var e errBody
	if code := a.do("POST", "/api/v1/arm", map[string]any{"mode": "home"}, &e); code != http.StatusConflict {
		t.Fatalf("arm with the door open: %d", code)
	}
	same(t, "refusal", e, errBody{Error: "not_ready", Message: e.Message, Reasons: []hub.Reason{{Zone: "door", Reason: "open"}}})
	if code := a.do("POST", "/api/v1/arm", map[string]any{"mode": "home", "force": true}, &st); code != http.StatusOK || st.State != hub.ArmedHome {
		t.Fatalf("forced: %d %s", code, st.State)
	}
	zones := map[string]bool{}
	for _, z := range st.Zones {
		zones[z.ID] = z.Bypassed
	}
	same(t, "bypassed", zones, map[string]bool{"door": true, "living": false, "=cmd": false})
}

func TestGuestSeesTheKeypadOnly(t *testing.T) {
	s := startSystem(t, testConfig(t))
	g := s.login(t, "gus", "gus-pass")
	for _, p := range []string{"/api/v1/events", "/api/v1/events.csv", "/api/v1/devices", "/metrics"} {
		if code := g.do("GET", p, nil, nil); code != http.StatusForbidden {
			t.Errorf("guest %s: %d", p, code)
		}
	}
	if code := g.do("GET", "/api/v1/status", nil, nil); code != http.StatusOK {
		t.Fatalf("guest status: %d", code)
	}
}

// A session idle for longer than SessionIdle is gone; one in use lives on.
func TestSessionIdle(t *testing.T) {
	s := startSystem(t, testConfig(t))
	a := s.login(t, "alice", "alice-pass")
	s.advance(50 * time.Minute)
	if code := a.do("GET", "/api/v1/status", nil, nil); code != http.StatusOK {
		t.Fatalf("after 50 min: %d", code)
	}
	s.advance(50 * time.Minute)
	if code := a.do("GET", "/api/v1/status", nil, nil); code != http.StatusOK {
		t.Fatalf("after another 50 min in use: %d", code)
	}
	s.advance(61 * time.Minute)
	var e errBody
	if code := a.do("GET", "/api/v1/status", nil, &e); code != http.StatusUnauthorized || e.Error != "unauthenticated" {
		t.Fatalf("after 61 min idle: %d %+v", code, e)
	}
}

// Duress and silent panic are never shown on the web: not in the log, not in
// the stream, not in the state.
func TestSilentEventsAreNotShown(t *testing.T) {
	s := startSystem(t, testConfig(t))
	a := s.login(t, "alice", "alice-pass")
	str := a.stream("")
	if m := str.next(t); m.Event != "status" {
		t.Fatalf("first message %+v", m)
	}
	a.do("POST", "/api/v1/arm", map[string]any{"mode": "home"}, nil)
	if code := a.do("POST", "/api/v1/disarm", map[string]any{"code": "999111"}, nil); code != http.StatusOK {
		t.Fatalf("duress disarm: %d", code)
	}
	var got []string
	for len(got) < 4 {
		m := str.next(t)
		if m.Event == "event" {
			var e hub.Event
			if err := json.Unmarshal([]byte(m.Data), &e); err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%s %s", m.ID, summary([]hub.Event{e})[0]))
		} else {
			var st statusView
			_ = json.Unmarshal([]byte(m.Data), &st)
			got = append(got, "status "+string(st.State))
		}
	}
	same(t, "stream", got, []string{"2 armed home Alice web 127.0.0.1", "status armed_home", "4 disarmed Alice web 127.0.0.1", "status disarmed"})
	var page eventsPage
	a.do("GET", "/api/v1/events", nil, &page)
	same(t, "events page", summary(page.Events), []string{"disarmed Alice web 127.0.0.1", "armed home Alice web 127.0.0.1", "restart system hub resumed in state disarmed"})
	all := s.journal(t)
	if !slices.ContainsFunc(all, func(l string) bool { return strings.HasPrefix(l, "duress") }) {
		t.Fatalf("the journal has no duress event: %q", all)
	}
}

// A browser that reconnects with Last-Event-ID gets what it missed, then the
// status, then what happens next, each event once.
func TestStreamReplaysMissedEvents(t *testing.T) {
	s := startSystem(t, testConfig(t))
	a := s.login(t, "alice", "alice-pass")
	ctx := context.Background()
	for _, sig := range []hub.Signal{hub.SigOpen, hub.SigClose} {
		if err := s.h.Input(ctx, hub.Sensor{Zone: "living", Signal: sig}); err != nil {
			t.Fatal(err)
		}
	}
	str := a.stream("1")
	var got []string
	read := func(n int) {
		for range n {
			m := str.next(t)
			got = append(got, m.Event+" "+m.ID)
		}
	}
	read(3)
	if err := s.h.Input(ctx, hub.Sensor{Zone: "living", Signal: hub.SigOpen}); err != nil {
		t.Fatal(err)
	}
	read(2)
	same(t, "stream", got, []string{"event 2", "event 3", "status ", "event 4", "status "})
	same(t, "journal", s.journal(t), []string{"restart system hub resumed in state disarmed", "zone_open living sensor living", "zone_closed living sensor living", "zone_open living sensor living"})
}

func TestEventPagingAndFilters(t *testing.T) {
	s := startSystem(t, testConfig(t))
	ctx := context.Background()
	for i := range 250 {
		sig := []hub.Signal{hub.SigOpen, hub.SigClose}[i%2]
		if err := s.h.Input(ctx, hub.Sensor{Zone: "living", Signal: sig}); err != nil {
			t.Fatal(err)
		}
	}
	a := s.login(t, "alice", "alice-pass")
	var seqs []uint64
	path := "/api/v1/events?limit=100"
	for pages := 0; ; pages++ {
		var p eventsPage
		if code := a.do("GET", path, nil, &p); code != http.StatusOK {
			t.Fatalf("%s: %d", path, code)
		}
		for _, e := range p.Events {
			seqs = append(seqs, e.Seq)
		}
		if p.Next == 0 {
			if pages != 2 {
				t.Fatalf("%d pages", pages+1)
			}
			break
		}
		path = fmt.Sprintf("/api/v1/events?limit=100&before=%d", p.Next)
	}
	if len(seqs) != 251 || seqs[0] != 251 || seqs[250] != 1 || !slices.IsSortedFunc(seqs, func(a, b uint64) int { return int(b) - int(a) }) {
		t.Fatalf("paged %d events, %v…%v", len(seqs), seqs[:3], seqs[len(seqs)-3:])
	}
	var p eventsPage
	a.do("GET", "/api/v1/events?type=zone_closed,restart&limit=3", nil, &p)
	same(t, "filtered", summary(p.Events), []string{"zone_closed living sensor living", "zone_closed living sensor living", "zone_closed living sensor living"})
	if p.Next != p.Events[2].Seq {
		t.Fatalf("next %d, last %d", p.Next, p.Events[2].Seq)
	}
	for _, q := range []string{"before=x", "limit=-1", "since=yesterday"} {
		var e errBody
		if code := a.do("GET", "/api/v1/events?"+q, nil, &e); code != http.StatusBadRequest || e.Error != "invalid" {
			t.Errorf("%s: %d %+v", q, code, e)
		}
	}
	a.do("GET", "/api/v1/events?until=2026-11-29", nil, &p)
	same(t, "before the day", p.Events, []hub.Event{})
	a.do("GET", "/api/v1/events?since=2026-11-30&until=2026-11-30&limit=1", nil, &p)
	if len(p.Events) != 1 || p.Events[0].Seq != 251 {
		t.Fatalf("on the day: %+v", p.Events)
	}
}

func TestEventsCSV(t *testing.T) {
	s := startSystem(t, testConfig(t))
	if err := s.h.Input(context.Background(), hub.Sensor{Zone: "=cmd", Signal: hub.SigOpen}); err != nil {
		t.Fatal(err)
	}
	a := s.login(t, "alice", "alice-pass")
	code, data := a.raw("GET", "/api/v1/events.csv", nil, "", "")
	if code != http.StatusOK {
		t.Fatalf("csv: %d", code)
	}
	same(t, "csv", strings.Split(strings.TrimSpace(string(data)), "\n"), []string{
		"seq,time,type,class,zone,mode,state,user,device,via,detail",
		"2,2026-11-30T20:00:00Z,zone_open,routine,'=cmd,,disarmed,,'=cmd,sensor,",
		"1,2026-11-30T20:00:00Z,restart,fault,,,disarmed,,hub,system,resumed in state disarmed",
	})
}

func TestErrorStatus(t *testing.T) {
	for _, c := range []struct {
		err  error
		code int
		kind string
	}{
		{&hub.Error{Kind: hub.ErrNotReady}, 409, "not_ready"},
		{&hub.Error{Kind: hub.ErrNotAllowed}, 409, "not_allowed"},
		{&hub.Error{Kind: hub.ErrDenied}, 403, "denied"},
		{&hub.Error{Kind: hub.ErrBadCode}, 403, "bad_code"},
		{&hub.Error{Kind: hub.ErrLocked}, 429, "locked"},
		{&hub.Error{Kind: hub.ErrInvalid}, 400, "invalid"},
		{&hub.Error{Kind: hub.ErrInternal, Msg: "disk"}, 500, "internal"},
		{fmt.Errorf("wrapped: %w", &hub.Error{Kind: hub.ErrDenied}), 403, "denied"},
		{hub.ErrStopped, 503, "stopped"},
		{errors.New("boom"), 500, "internal"},
		{apiError(418, "teapot", "x"), 418, "teapot"},
	} {
		code, body := status(c.err)
		if code != c.code || body.Error != c.kind {
			t.Errorf("%v: %d %s, want %d %s", c.err, code, body.Error, c.code, c.kind)
		}
	}
}

// The session cookie is HttpOnly and SameSite=Strict, and Secure when the login
// came over TLS.
func TestSessionCookieAttributes(t *testing.T) {
	s := startSystem(t, testConfig(t))
	tlsSrv := httptest.NewTLSServer(s.web.Handler())
	defer tlsSrv.Close()
	for _, c := range []struct {
		url    string
		hc     *http.Client
		secure bool
	}{{s.srv.URL, s.srv.Client(), false}, {tlsSrv.URL, tlsSrv.Client(), true}} {
		res, err := c.hc.Post(c.url+"/api/v1/session", "application/json", strings.NewReader(`{"user":"bob","password":"bob-pass"}`))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		cks := res.Cookies()
		if res.StatusCode != http.StatusOK || len(cks) != 1 {
			t.Fatalf("%s: %d %v", c.url, res.StatusCode, cks)
		}
		ck := cks[0]
		if ck.Name != sessionCookie || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure != c.secure || ck.Path != "/" || len(ck.Value) != 43 {
			t.Errorf("%s: cookie %+v", c.url, ck)
		}
	}
}
