package web

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"vakt/hub"
	"vakt/hub/uplink"
	"vakt/storage"
)

// A hub without users offers only onboarding: the setup code from the log
// creates the first admin, who is logged in at once; then onboarding is over.
func TestOnboarding(t *testing.T) {
	cfg := testConfig(t)
	cfg.Users = nil
	s := startSystem(t, cfg)
	code := s.web.SetupCode()
	if len(code) != 14 {
		t.Fatalf("setup code %q", code)
	}
	c := s.client(t)
	var ob onboardingView
	if c.do("GET", "/api/v1/onboarding", nil, &ob); !ob.Needed || ob.PINLength != 6 {
		t.Fatalf("onboarding %+v", ob)
	}
	if st := c.do("GET", "/api/v1/status", nil, nil); st != http.StatusUnauthorized {
		t.Fatalf("status before onboarding: %d", st)
	}
	var e errBody
	if st := c.do("POST", "/api/v1/onboarding", map[string]string{"code": "AAAA-BBBB-CCCC", "name": "Eve", "password": "eve-password", "pin": "123456"}, &e); st != http.StatusForbidden || e.Error != "bad_code" {
		t.Fatalf("wrong code: %d %+v", st, e)
	}
	for _, bad := range []map[string]string{
		{"code": code, "name": "", "password": "anna-password", "pin": "123456"},
		{"code": code, "name": "Anna", "password": "short", "pin": "123456"},
		{"code": code, "name": "Anna", "password": "anna-password", "pin": "12"},
	} {
		if st := c.do("POST", "/api/v1/onboarding", bad, &e); st != http.StatusBadRequest || e.Error != "invalid" {
			t.Fatalf("%v: %d %+v", bad, st, e)
		}
	}
	var sv sessionView
	if st := c.do("POST", "/api/v1/onboarding", map[string]string{"code": code, "name": "Anna Åberg", "password": "anna-password", "pin": "123456"}, &sv); st != http.StatusOK {
		t.Fatalf("onboarding: %d", st)
	}
	c.csrf = sv.CSRF
	same(t, "session", sv.User, userView{ID: "anna_aberg", Name: "Anna Åberg", Role: hub.RoleAdmin})
	if st := c.do("GET", "/api/v1/status", nil, nil); st != http.StatusOK {
		t.Fatalf("status after onboarding: %d", st)
	}
	if s.web.SetupCode() != "" {
		t.Fatal("the setup code outlived its use")
	}
	if st := s.client(t).do("POST", "/api/v1/onboarding", map[string]string{"code": code, "name": "Mallory", "password": "mallory-pass", "pin": "654321"}, &e); st != http.StatusConflict {
		t.Fatalf("second onboarding: %d %+v", st, e)
	}
	// The new admin's PIN works on the keypad path.
	if st := c.do("POST", "/api/v1/arm", map[string]any{"mode": "home", "code": "123456"}, nil); st != http.StatusOK {
		t.Fatalf("arm with the new PIN: %d", st)
	}
	same(t, "journal", s.journal(t), []string{
		"restart system hub resumed in state disarmed",
		"config_changed Anna Åberg web 127.0.0.1 user anna_aberg added: name \"Anna Åberg\", number 1, role admin, PIN set, password set",
		"armed home Anna Åberg web 127.0.0.1",
	})
}

func TestUsersAndSettings(t *testing.T) {
	s := startSystem(t, testConfig(t))
	a := s.login(t, "alice", "alice-pass")
	b := s.login(t, "bob", "bob-pass")
	var info userInfo
	if st := a.do("POST", "/api/v1/users", map[string]any{"name": "Carol", "role": "user", "pin": "444444", "password": "carol-pass"}, &info); st != http.StatusCreated {
		t.Fatalf("add: %d", st)
	}
	same(t, "added", info, userInfo{ID: "carol", Name: "Carol", Number: 4, Role: hub.RoleUser, HasPIN: true, HasPassword: true, Tags: []string{}, Schedule: []hub.Window{}})
	var e errBody
	for _, r := range []struct {
		c      *client
		method string
		path   string
		body   any
		status int
		kind   string
	}{
		{b, "POST", "/api/v1/users", map[string]any{"name": "Dan", "pin": "555555"}, 403, "denied"},
		{b, "DELETE", "/api/v1/users/carol", nil, 403, "denied"},
		{b, "PATCH", "/api/v1/users/carol", map[string]any{"password": "bobs-choice"}, 403, "denied"},
		{b, "PATCH", "/api/v1/users/bob", map[string]any{"role": "admin"}, 403, "denied"},
		{b, "PATCH", "/api/v1/settings", map[string]any{"swinger_limit": 9}, 403, "denied"},
		{a, "POST", "/api/v1/users", map[string]any{"name": "Dan", "pin": "44"}, 400, "invalid"},
		{a, "POST", "/api/v1/users", map[string]any{"name": "Dan", "pin": "444444"}, 400, "invalid"}, // Carol's PIN
		{a, "POST", "/api/v1/users", map[string]any{"name": "Dan"}, 400, "invalid"},
		{a, "PATCH", "/api/v1/users/nobody", map[string]any{"name": "X"}, 404, "invalid"},
		{a, "DELETE", "/api/v1/users/nobody", nil, 404, "invalid"},
		{a, "PATCH", "/api/v1/users/alice", map[string]any{"role": "user"}, 409, "not_allowed"}, // the last admin
		{a, "DELETE", "/api/v1/users/alice", nil, 409, "not_allowed"},
		{a, "PATCH", "/api/v1/settings", map[string]any{"pin_length": 2}, 400, "invalid"},
	} {
		e = errBody{}
		if st := r.c.do(r.method, r.path, r.body, &e); st != r.status || e.Error != r.kind {
			t.Errorf("%s %s %v: %d %+v, want %d %s", r.method, r.path, r.body, st, e, r.status, r.kind)
		}
	}
	// Bob changes his own password; Carol logs in and her PIN works.
	if st := b.do("PATCH", "/api/v1/users/bob", map[string]any{"password": "bob-new-pass"}, nil); st != http.StatusOK {
		t.Fatalf("own password: %d", st)
	}
	s.login(t, "bob", "bob-new-pass")
	c := s.login(t, "carol", "carol-pass")
	if st := c.do("POST", "/api/v1/arm", map[string]any{"mode": "home", "code": "444444"}, nil); st != http.StatusOK {
		t.Fatalf("Carol arms: %d", st)
	}
	var set hub.Settings
	if st := a.do("PATCH", "/api/v1/settings", map[string]any{"exit_delay": map[string]string{"away": "45s"}}, &set); st != http.StatusOK {
		t.Fatalf("settings: %d", st)
	}
	if set.ExitDelay[hub.ModeAway].D() != 45*time.Second || set.ExitDelay[hub.ModeHome].D() != 0 {
		t.Fatalf("exit delays %v", set.ExitDelay)
	}
	if st := a.do("DELETE", "/api/v1/users/carol", nil, nil); st != http.StatusNoContent {
		t.Fatalf("remove: %d", st)
	}
	if st := c.do("GET", "/api/v1/status", nil, nil); st != http.StatusUnauthorized {
		t.Fatalf("a removed user's session: %d", st)
	}
	var list []userInfo
	a.do("GET", "/api/v1/users", nil, &list)
	var ids []string
	for _, u := range list {
		ids = append(ids, u.ID)
	}
	same(t, "users", ids, []string{"alice", "bob", "gus"})
	same(t, "journal", s.journal(t), []string{
		"restart system hub resumed in state disarmed",
		"config_changed Alice web 127.0.0.1 user carol added: name \"Carol\", number 4, role user, PIN set, password set",
		"config_changed Bob web 127.0.0.1 user bob: password changed",
		"armed home Carol web 127.0.0.1",
		"config_changed Alice web 127.0.0.1 exit delay away 30s → 45s",
		"config_changed Alice web 127.0.0.1 user carol removed (name \"Carol\")",
	})
}

// An admin downloads the configuration and a backup that checks out; others may not.
func TestConfigAndBackup(t *testing.T) {
	s := startSystem(t, testConfig(t))
	a := s.login(t, "alice", "alice-pass")
	b := s.login(t, "bob", "bob-pass")
	if code, body := a.raw("GET", "/api/v1/config", nil, "", ""); code != http.StatusOK || string(body) != "users: []\n" {
		t.Fatalf("config: %d %q", code, body)
	}
	code, body := a.raw("GET", "/api/v1/backup", nil, "", "")
	if code != http.StatusOK {
		t.Fatalf("backup: %d", code)
	}
	file := filepath.Join(t.TempDir(), "backup.db")
	if err := os.WriteFile(file, body, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := storage.Check(file, 0); err != nil {
		t.Fatalf("the backup does not check out: %v", err)
	}
	for _, p := range []string{"/api/v1/config", "/api/v1/backup"} {
		if code, _ := b.raw("GET", p, nil, "", ""); code != http.StatusForbidden {
			t.Errorf("a user's %s: %d", p, code)
		}
	}
}

// The monitoring centre's paths and a manual test report from the app.
func TestUplinkStatusAndTest(t *testing.T) {
	s := startSystem(t, testConfig(t))
	a := s.login(t, "alice", "alice-pass")
	var v map[string]any
	a.do("GET", "/api/v1/uplink", nil, &v)
	same(t, "no centre", v, map[string]any{"configured": false, "paths": []any{}})
	if st := a.do("POST", "/api/v1/uplink/test", map[string]any{}, nil); st != http.StatusConflict {
		t.Fatalf("test without a centre: %d", st)
	}
	// The same hub behind a server that has a centre.
	w := New(Options{Hub: s.h, Events: s.store, Now: s.now, Health: s.web.opt.Health,
		Uplink: func() []uplink.PathStatus { return []uplink.PathStatus{{Name: "primary", State: uplink.StateOK}} }})
	srv := httptest.NewServer(w.Handler())
	defer srv.Close()
	s2 := &system{h: s.h, store: s.store, web: w, srv: srv}
	s2.clock.Store(s.clock.Load())
	a2 := s2.login(t, "alice", "alice-pass")
	a2.do("GET", "/api/v1/uplink", nil, &v)
	same(t, "a centre", v, map[string]any{"configured": true, "paths": []any{map[string]any{"name": "primary", "addr": "", "state": "ok", "active": false,
		"failures": float64(0), "queue": float64(0), "clock_offset_s": float64(0)}}})
	if st := a2.do("POST", "/api/v1/uplink/test", map[string]any{}, nil); st != http.StatusAccepted {
		t.Fatalf("test: %d", st)
	}
	b := s2.login(t, "bob", "bob-pass")
	if st := b.do("POST", "/api/v1/uplink/test", map[string]any{}, nil); st != http.StatusForbidden {
		t.Fatalf("a user's test: %d", st)
	}
	same(t, "journal", s.journal(t), []string{"restart system hub resumed in state disarmed", "manual_test Alice web 127.0.0.1"})
}
