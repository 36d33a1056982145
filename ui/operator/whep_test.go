package operator

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"vakt/hub"
	"vakt/sensors/camera"
	"vakt/sensors/camera/camtest"
	"vakt/ui/webrtc"
	"vakt/ui/webrtc/whepclient"
)

// operatorPeer is a pion receive-only peer (whepclient) and the status of its POST.
type operatorPeer struct {
	*whepclient.Viewer
	status int
}

func watchWith(t *testing.T, url, bearer string) *operatorPeer {
	t.Helper()
	v := whepclient.Dial(t, url, whepclient.Options{Token: bearer})
	return &operatorPeer{Viewer: v, status: v.Resp.StatusCode}
}

// The operator's token with a real WHEP server and a pion client: 201 and
// frames for a granted camera; 401 for a camera not granted, a wrong token and
// an expired one; the live view closed when the window ends (injected clock).
func TestOperatorLiveViewEndsWithTheWindow(t *testing.T) {
	f := newFixture(t)
	fake := camtest.Start(t, camtest.Options{FPS: 25})
	porch, err := camera.New(camera.Config{Name: "porch", URL: fake.URL, AlwaysOn: true}, camera.Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- porch.Run(ctx) }()
	defer func() { cancel(); <-runDone }()
	var ended []webrtc.View
	viewEnded := make(chan webrtc.View, 4)
	srv, err := webrtc.New(webrtc.Config{BasePath: "/api/v1/cameras",
		Cameras: func(name string) (webrtc.Camera, bool) {
			if name == "porch" || name == "hallcam" {
				return porch, true
			}
			return nil, false
		},
		Authorize: func(r *http.Request, cam string) (string, bool) { return f.op.CameraAuth(r, cam) }, OnView: func(v webrtc.View) { viewEnded <- v },
		UDPAddr: "127.0.0.1:0", IncludeLoopback: true, Logger: quiet(), Now: f.clk.now})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer func() { hs.Close(); _ = srv.Close() }()
	f.op = f.server(t, f.key, nil)
	f.op.SetSessions(srv)
	tok := tokenOf(t, f.op.URL(hub.Report{Event: f.door.Seq}))

	for _, tc := range []struct{ cam, bearer string }{{"hallcam", tok}, {"porch", tok + "x"}, {"porch", ""}} {
		if p := watchWith(t, hs.URL+"/api/v1/cameras/"+tc.cam+"/whep", tc.bearer); p.status != http.StatusUnauthorized {
			t.Errorf("%s with %q: %d, want 401", tc.cam, tc.bearer, p.status)
		}
	}
	p := watchWith(t, hs.URL+"/api/v1/cameras/porch/whep", tok)
	if p.status != http.StatusCreated {
		t.Fatalf("porch with the token: %d", p.status)
	}
	for range 10 {
		p.Next(t)
	}
	sessions := srv.Sessions()
	if len(sessions) != 1 || sessions[0].Who != fmt.Sprintf("operator (alarm %d)", f.door.Seq) || sessions[0].Camera != "porch" {
		t.Fatalf("sessions %+v", sessions)
	}
	// Within the window nothing ends.
	f.clk.set(t0.Add(29 * time.Minute))
	f.op.Expire()
	if n := len(srv.Sessions()); n != 1 {
		t.Fatalf("at 29 min: %d sessions", n)
	}
	f.clk.set(t0.Add(30 * time.Minute))
	f.op.Expire()
	select {
	case v := <-viewEnded:
		ended = append(ended, v)
	case <-time.After(20 * time.Second):
		t.Fatal("the view did not end with the window")
	}
	if len(ended) != 1 || ended[0].Ended != "operator window ended" || ended[0].Who != sessions[0].Who || len(srv.Sessions()) != 0 {
		t.Errorf("ended %+v, sessions %+v", ended, srv.Sessions())
	}
	select {
	case <-p.Gone:
	case <-time.After(30 * time.Second):
		t.Fatal("the peer's connection did not end")
	}
	if p := watchWith(t, hs.URL+"/api/v1/cameras/porch/whep", tok); p.status != http.StatusUnauthorized {
		t.Errorf("after the window: %d, want 401", p.status)
	}
}
