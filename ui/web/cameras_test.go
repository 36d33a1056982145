package web

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"vakt/hub"
	"vakt/sensors/camera"
	"vakt/storage"
	"vakt/ui/webrtc"
)

// liveView is a WHEP server as the hub makes it (behind the web app's access
// check, views recorded as events), on loopback, for cameras.
type liveView struct {
	srv  *webrtc.Server
	sys  *system // set once the system runs: views end after that
	cams map[string]*camera.Camera
	// state is what the list says of every camera (default idle).
	state atomic.Value
}

// newLiveView makes the WHEP server for cams; adjust the system with
// lv.options, then set lv.sys.
func newLiveView(t *testing.T, cams ...*camera.Camera) *liveView {
	t.Helper()
	lv := &liveView{cams: map[string]*camera.Camera{}}
	lv.state.Store(CameraIdle)
	for _, c := range cams {
		lv.cams[c.Name()] = c
	}
	srv, err := webrtc.New(webrtc.Config{BasePath: CamerasBase, UDPAddr: "127.0.0.1:0", IncludeLoopback: true,
		Authorize: AuthorizeCamera,
		Cameras: func(name string) (webrtc.Camera, bool) {
			c, ok := lv.cams[name]
			return c, ok
		},
		OnView: func(v webrtc.View) { RecordViews(lv.sys.h, slog.Default())(v) },
		Now:    func() time.Time { return lv.sys.now() },
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	lv.srv = srv
	t.Cleanup(func() { srv.Close() })
	return lv
}

// options mounts the live view and lists the cameras.
func (lv *liveView) options(o *Options) {
	o.WHEP = lv.srv
	o.Cameras = func() []Camera {
		out := []Camera{}
		for _, name := range []string{"porch", "yard"} {
			if c, ok := lv.cams[name]; ok {
				out = append(out, Camera{Name: name, Zones: c.Config().Zones, AlwaysOn: c.Config().AlwaysOn, State: lv.state.Load().(string)})
			}
		}
		return out
	}
}

func testCamera(t *testing.T, name, url string, alwaysOn bool, zones ...string) *camera.Camera {
	t.Helper()
	c, err := camera.New(camera.Config{Name: name, URL: url, AlwaysOn: alwaysOn, Zones: zones}, camera.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// token makes a token as c (an admin).
func (c *client) token(body map[string]any) tokenInfo {
	c.t.Helper()
	var ti tokenInfo
	if st := c.do("POST", "/api/v1/tokens", body, &ti); st != http.StatusCreated {
		c.t.Fatalf("token %v: %d", body, st)
	}
	return ti
}

// whep sends a WHEP request as c (its cookie; csrf as given) with an optional
// Authorization header and link header, and returns the status.
func (c *client) whep(method, path, csrf, authorization, link string) int {
	c.t.Helper()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader("v=0\r\n") // not an offer: only the access check is under test
	}
	req, err := http.NewRequest(method, c.s.srv.URL+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/sdp")
	}
	for k, v := range map[string]string{"X-CSRF-Token": csrf, "Authorization": authorization, "X-Test-Link": link} {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode
}

// Who may open a live view: users and admins with their session (and the CSRF
// token), control tokens of such a user and cameras tokens; not guests, wall
// tablets, read tokens, anyone without a credential, or a link Options.CameraAuth
// does not accept. A request let through reaches the WHEP server (which refuses
// "v=0" as an offer: 400, or 404 for a camera or session it does not know).
func TestCameraAccess(t *testing.T) {
	lv := newLiveView(t, testCamera(t, "porch", "rtsp://127.0.0.1:1/x", false, "door"))
	s := startSystem(t, testConfig(t), webOnly(func(o *Options) {
		lv.options(o)
		o.CameraAuth = func(r *http.Request, camera string) (string, bool) {
			if r.Header.Get("X-Test-Link") == "good" && camera == "porch" {
				return "operator 1234", true
			}
			return "", false
		}
	}))
	lv.sys = s
	alice, bob, gus := s.login(t, "alice", "alice-pass"), s.login(t, "bob", "bob-pass"), s.login(t, "gus", "gus-pass")
	mk := func(body map[string]any) string { return "Bearer " + alice.token(body).Token }
	keypad := mk(map[string]any{"name": "Hall tablet", "scope": "keypad"})
	read := mk(map[string]any{"name": "Prometheus", "scope": "read"})
	control := mk(map[string]any{"name": "Home Assistant", "scope": "control", "user_id": "bob"})
	cams := mk(map[string]any{"name": "Recorder", "scope": "cameras"})
	kiosk := s.client(t)
	var sv sessionView
	if st := kiosk.do("POST", "/api/v1/session", map[string]string{"token": strings.TrimPrefix(keypad, "Bearer ")}, &sv); st != http.StatusOK {
		t.Fatalf("kiosk login: %d", st)
	}
	kiosk.csrf = sv.CSRF
	anon := s.client(t)

	const post, sess = "/api/v1/cameras/porch/whep", "/api/v1/cameras/porch/whep/0123456789abcdef"
	for _, tc := range []struct {
		what             string
		c                *client
		method, path     string
		csrf, auth, link string
		want             int
	}{
		{"admin", alice, "POST", post, alice.csrf, "", "", 400},
		{"user", bob, "POST", post, bob.csrf, "", "", 400},
		{"user, unknown camera", bob, "POST", "/api/v1/cameras/attic/whep", bob.csrf, "", "", 404},
		{"user without CSRF token", bob, "POST", post, "", "", "", 403},
		{"user with another's CSRF token", bob, "POST", post, alice.csrf, "", "", 403},
		{"user ends an unknown session", bob, "DELETE", sess, bob.csrf, "", "", 404},
		{"user ends a session without CSRF token", bob, "DELETE", sess, "", "", "", 403},
		{"user trickles without CSRF token", bob, "PATCH", sess, "", "", "", 403},
		{"guest", gus, "POST", post, gus.csrf, "", "", 403},
		{"wall tablet session", kiosk, "POST", post, kiosk.csrf, "", "", 403},
		{"nobody", anon, "POST", post, "", "", "", 401},
		{"nobody ends a session", anon, "DELETE", sess, "", "", "", 401},
		{"keypad token", anon, "POST", post, "", keypad, "", 403},
		{"read token", anon, "POST", post, "", read, "", 403},
		{"control token of a user", anon, "POST", post, "", control, "", 400},
		{"cameras token", anon, "POST", post, "", cams, "", 400},
		{"revoked or wrong token", anon, "POST", post, "", cams + "x", "", 401},
		{"operator link", anon, "POST", post, "", "", "good", 400},
		{"operator link, another camera", anon, "POST", "/api/v1/cameras/yard/whep", "", "", "good", 401},
		{"wrong operator link", anon, "POST", post, "", "", "bad", 401},
		{"guest with an operator link", gus, "POST", post, gus.csrf, "", "good", 403},
		{"CORS preflight", anon, "OPTIONS", post, "", "", "", 204},
	} {
		if got := tc.c.whep(tc.method, tc.path, tc.csrf, tc.auth, tc.link); got != tc.want {
			t.Errorf("%s: %s %s: %d, want %d", tc.what, tc.method, tc.path, got, tc.want)
		}
	}
}

// Without Options.CameraAuth nothing but a session or a token gets in, and
// without a WHEP server there is no live view.
func TestCameraAccessDefaults(t *testing.T) {
	s := startSystem(t, testConfig(t))
	alice := s.login(t, "alice", "alice-pass")
	anon := s.client(t)
	if got := anon.whep("POST", "/api/v1/cameras/porch/whep", "", "", "good"); got != http.StatusUnauthorized {
		t.Errorf("no credential: %d", got)
	}
	if got := alice.whep("POST", "/api/v1/cameras/porch/whep", alice.csrf, "", ""); got != http.StatusNotFound {
		t.Errorf("no live view: %d", got)
	}
	var list []Camera
	if st := alice.do("GET", "/api/v1/cameras", nil, &list); st != http.StatusOK {
		t.Fatalf("list: %d", st)
	}
	same(t, "cameras", list, []Camera{})
}

// The list: every camera with its zones, always-on, state and WHEP endpoint,
// to users and admins and read and cameras tokens; not to guests.
func TestCameraList(t *testing.T) {
	lv := newLiveView(t, testCamera(t, "porch", "rtsp://127.0.0.1:1/x", true, "door", "living"), testCamera(t, "yard", "rtsp://127.0.0.1:1/y", false))
	s := startSystem(t, testConfig(t), webOnly(lv.options))
	lv.sys = s
	bob, gus := s.login(t, "bob", "bob-pass"), s.login(t, "gus", "gus-pass")
	code, body := bob.raw("GET", "/api/v1/cameras", nil, "", "")
	same(t, "list", string(body), `[{"name":"porch","zones":["door","living"],"always_on":true,"state":"idle","whep":"/api/v1/cameras/porch/whep"},`+
		`{"name":"yard","zones":[],"always_on":false,"state":"idle","whep":"/api/v1/cameras/yard/whep"}]`+"\n")
	same(t, "status", code, http.StatusOK)
	if code, _ := gus.raw("GET", "/api/v1/cameras", nil, "", ""); code != http.StatusForbidden {
		t.Errorf("guest: %d", code)
	}
	alice := s.login(t, "alice", "alice-pass")
	for scope, want := range map[string]int{"read": http.StatusOK, "cameras": http.StatusOK, "keypad": http.StatusForbidden} {
		tk := alice.token(map[string]any{"name": scope + " token", "scope": scope})
		if got := s.bearer(t, "Bearer "+tk.Token, "GET", "/api/v1/cameras", nil); got != want {
			t.Errorf("%s token: %d, want %d", scope, got, want)
		}
	}
}

// A view is a camera_view event: who (a user by name and number, a token by its
// name, an operator's link by what it was given), which camera, from when, how
// long and why it ended.
func TestCameraViewEvents(t *testing.T) {
	s := startSystem(t, testConfig(t))
	ti := s.login(t, "alice", "alice-pass").token(map[string]any{"name": "Recorder", "scope": "cameras"})
	record := RecordViews(s.h, slog.Default())
	start := t0.Add(-90 * time.Second)
	record(webrtc.View{Who: "web:bob@10.0.0.7", Camera: "porch", Start: start, Duration: 90 * time.Second, Frames: 900, Ended: "viewer left"})
	record(webrtc.View{Who: "web:token:" + ti.ID + "@10.0.0.9", Camera: "yard", Start: start, Duration: 2 * time.Second, Ended: "connection failed"})
	record(webrtc.View{Who: "operator 1234", Camera: "porch", Start: start, Duration: 30 * time.Minute, Ended: "link expired"})
	record(webrtc.View{Who: "web:zed@10.0.0.8", Camera: "porch", Start: start, Duration: time.Second, Ended: "closed by the hub"})
	evs, _, err := s.store.Events(storage.EventQuery{Types: []hub.EventType{hub.EvCameraView}, Ascending: true, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		evs[i].Seq = 0
	}
	ev := func(who hub.Actor, detail string) hub.Event {
		return hub.Event{Time: t0, Type: hub.EvCameraView, Class: hub.ClassRoutine, State: hub.Disarmed, Who: who, Detail: detail}
	}
	same(t, "events", evs, []hub.Event{
		ev(hub.Actor{UserID: "bob", UserName: "Bob", UserNum: 2, Device: "10.0.0.7", Via: hub.ViaWeb}, "porch from 2026-11-30 19:58:30Z for 1m30s: viewer left"),
		ev(hub.Actor{UserID: "token:" + ti.ID, UserName: "Recorder", Device: "10.0.0.9", Via: hub.ViaWeb}, "yard from 2026-11-30 19:58:30Z for 2s: connection failed"),
		ev(hub.Actor{Device: "operator 1234", Via: hub.ViaWeb}, "porch from 2026-11-30 19:58:30Z for 30m0s: link expired"),
		ev(hub.Actor{UserID: "zed", Device: "10.0.0.8", Via: hub.ViaWeb}, "porch from 2026-11-30 19:58:30Z for 1s: closed by the hub"),
	})
}
