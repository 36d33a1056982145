package web

import (
	"net/http"
	"strings"
	"testing"
)

// bearer sends a request with a bearer token and no cookie, no CSRF token.
func (s *system) bearer(t *testing.T, token, method, path string, body any) int {
	t.Helper()
	c := s.client(t)
	var r *strings.Reader
	if body != nil {
		r = strings.NewReader(body.(string))
	} else {
		r = strings.NewReader("")
	}
	req, err := http.NewRequest(method, s.srv.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func TestTokens(t *testing.T) {
	s := startSystem(t, testConfig(t))
	a := s.login(t, "alice", "alice-pass")
	mk := func(body map[string]any) tokenInfo {
		t.Helper()
		var ti tokenInfo
		if st := a.do("POST", "/api/v1/tokens", body, &ti); st != http.StatusCreated || !strings.HasPrefix(ti.Token, "vakt_"+ti.ID+"_") {
			t.Fatalf("make %v: %d %+v", body, st, ti)
		}
		return ti
	}
	keypad := mk(map[string]any{"name": "Hall tablet", "scope": "keypad"})
	read := mk(map[string]any{"name": "Prometheus", "scope": "read"})
	control := mk(map[string]any{"name": "Home Assistant", "scope": "control", "user_id": "bob"})
	var e errBody
	for _, bad := range []map[string]any{{"name": "", "scope": "read"}, {"name": "x", "scope": "root"}, {"name": "x", "scope": "control", "user_id": "zed"}} {
		if st := a.do("POST", "/api/v1/tokens", bad, &e); st != http.StatusBadRequest {
			t.Errorf("%v: %d %+v", bad, st, e)
		}
	}
	var list []tokenInfo
	a.do("GET", "/api/v1/tokens", nil, &list)
	if len(list) != 3 || list[0].Token != "" || list[0].Name != "Hall tablet" || list[2].UserID != "bob" {
		t.Fatalf("list %+v", list)
	}

	k, r, c := "Bearer "+keypad.Token, "Bearer "+read.Token, "Bearer "+control.Token
	for _, tc := range []struct {
		token, method, path string
		body                any
		want                int
	}{
		{k, "GET", "/api/v1/status", nil, 200},
		{k, "GET", "/api/v1/events", nil, 403},
		{k, "GET", "/metrics", nil, 403},
		{k, "POST", "/api/v1/arm", `{"mode":"home"}`, 200}, // no CSRF token: none is needed
		{k, "POST", "/api/v1/disarm", `{}`, 403},
		{k, "POST", "/api/v1/disarm", `{"code":"222222"}`, 200},
		{k, "POST", "/api/v1/bypass", `{"zone":"door"}`, 403},
		{k, "GET", "/api/v1/users", nil, 403},
		{k, "POST", "/api/v1/tokens", `{"name":"x","scope":"read"}`, 403},
		{r, "GET", "/api/v1/events", nil, 200},
		{r, "GET", "/metrics", nil, 200},
		{r, "GET", "/api/v1/settings", nil, 200},
		{r, "POST", "/api/v1/arm", `{"mode":"home"}`, 403},
		{r, "PATCH", "/api/v1/settings", `{"swinger_limit":2}`, 403},
		{c, "POST", "/api/v1/arm", `{"mode":"night"}`, 200},
		{c, "POST", "/api/v1/disarm", `{}`, 200},
		{c, "POST", "/api/v1/bypass", `{"zone":"door"}`, 200},
		{c, "GET", "/api/v1/users", nil, 403},
		{c, "PATCH", "/api/v1/users/bob", `{"password":"taken-over"}`, 403},
		{"Bearer vakt_" + keypad.ID + "_wrong", "GET", "/api/v1/status", nil, 401},
		{"Bearer nonsense", "GET", "/api/v1/status", nil, 401},
		{"Basic YWxpY2U6YWxpY2UtcGFzcw==", "GET", "/api/v1/status", nil, 401},
	} {
		if got := s.bearer(t, tc.token, tc.method, tc.path, tc.body); got != tc.want {
			t.Errorf("%.20s… %s %s: %d, want %d", tc.token, tc.method, tc.path, got, tc.want)
		}
	}

	// A wall tablet logs in with its token: a session that acts as the tablet.
	tab := s.client(t)
	var sv sessionView
	if st := tab.do("POST", "/api/v1/session", map[string]string{"token": keypad.Token}, &sv); st != http.StatusOK {
		t.Fatalf("tablet login: %d", st)
	}
	tab.csrf = sv.CSRF
	same(t, "tablet", sv.User, userView{ID: "token:" + keypad.ID, Name: "Hall tablet", Role: "user"})
	if st := tab.do("POST", "/api/v1/arm", map[string]any{"mode": "away"}, nil); st != http.StatusOK {
		t.Fatalf("tablet arms: %d", st)
	}
	if st := tab.do("GET", "/api/v1/events", nil, nil); st != http.StatusForbidden {
		t.Fatalf("tablet reads the log: %d", st)
	}
	if st := a.do("DELETE", "/api/v1/tokens/"+keypad.ID, nil, nil); st != http.StatusNoContent {
		t.Fatalf("revoke: %d", st)
	}
	if st := tab.do("GET", "/api/v1/status", nil, nil); st != http.StatusUnauthorized {
		t.Fatalf("the revoked tablet's session: %d", st)
	}
	if got := s.bearer(t, k, "GET", "/api/v1/status", nil); got != http.StatusUnauthorized {
		t.Fatalf("the revoked token: %d", got)
	}
	j := s.journal(t)
	var got []string
	for _, l := range j {
		// The creation times are the test clock's; the ids are random.
		l = strings.NewReplacer(keypad.ID, "K", read.ID, "R", control.ID, "C", ", created 2026-11-30T20:00:00Z", "").Replace(l)
		got = append(got, l)
	}
	same(t, "journal", got, []string{
		"restart system hub resumed in state disarmed",
		`config_changed Alice web 127.0.0.1 token K added: name "Hall tablet", scope keypad, secret set`,
		`config_changed Alice web 127.0.0.1 token R added: name "Prometheus", scope read, secret set`,
		`config_changed Alice web 127.0.0.1 token C added: name "Home Assistant", scope control, user bob, secret set`,
		"armed home Hall tablet web 127.0.0.1",
		"disarmed Bob web 127.0.0.1",
		"armed night Bob web 127.0.0.1",
		"disarmed Bob web 127.0.0.1",
		"bypass door Bob web 127.0.0.1",
		"arming away Hall tablet web 127.0.0.1 30s",
		`config_changed Alice web 127.0.0.1 token K removed (name "Hall tablet")`,
	})
}
