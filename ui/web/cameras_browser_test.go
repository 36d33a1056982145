package web

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"vakt/hub"
	"vakt/sensors/camera"
	"vakt/sensors/camera/camtest"
)

// runCamera runs cam until the test ends.
func runCamera(t *testing.T, cam *camera.Camera) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = cam.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// framesDecoded is true once the first live view on the page has decoded a
// picture, by its RTCPeerConnection's statistics.
const framesDecoded = `(() => {
	const v = [...liveViews.values()][0];
	if (v) v.pc.getStats().then((r) => r.forEach((s) => { if (s.type === "inbound-rtp" && s.kind === "video") window.vaktFrames = s.framesDecoded; }));
	return (window.vaktFrames || 0) > 0;
})()`

// nextView waits for the next camera_view event the hub commits.
func nextView(t *testing.T, updates <-chan hub.Update) hub.Event {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case u := <-updates:
			for _, ev := range u.Events {
				if ev.Type == hub.EvCameraView {
					ev.Seq = 0
					return ev
				}
			}
		case <-timeout:
			t.Fatal("no camera_view event within 15 s")
		}
	}
}

// The live view in a real browser, from a real (fake) RTSP camera: Bob opens
// Cameras, the picture is decoded (getStats), its state follows, he leaves, and the view is an
// event with who, which camera, how long and why it ended. Then an alarm in the
// camera's zone shows its live view on the alarm screen, which ends with the
// disarming.
func TestBrowserCameras(t *testing.T) {
	fake := camtest.Start(t, camtest.Options{})
	cam := testCamera(t, "porch", fake.URL, true, "living")
	runCamera(t, cam)
	lv := newLiveView(t, cam)
	s := startSystem(t, testConfig(t), webOnly(lv.options))
	lv.sys = s
	updates, stop := s.h.Subscribe(64)
	defer stop()
	hubCtx := context.Background()
	ctx := browser(t)

	run(t, ctx, "log in", chromedp.Navigate(s.srv.URL), chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("login-user"), "bob"), chromedp.SendKeys(chromedp.ID("login-password"), "bob-pass"),
		chromedp.Click(chromedp.ID("login-submit")), waitText("#state", "Disarmed"))
	run(t, ctx, "cameras", chromedp.Click(chromedp.ID("nav-cameras")), waitJS(`location.hash === "#/cameras"`),
		waitJS(`document.querySelectorAll("#cameras-grid video").length === 1`), waitJS(`liveViews.size === 1`))
	run(t, ctx, "frames decoded", waitJS(framesDecoded))
	same(t, "label", eval[string](t, ctx, `document.querySelector("#cameras-grid video").getAttribute("aria-label")`), "Live view: porch")
	shots(t, ctx, "cameras")
	// The camera's state follows on the page (every 5 s).
	lv.state.Store(CameraStalled)
	run(t, ctx, "state", waitText(`.camera[data-camera="porch"] .cam-state`, "no video"))
	if n := len(lv.srv.Sessions()); n != 1 {
		t.Fatalf("%d sessions on the hub, want 1", n)
	}

	s.advance(42 * time.Second)
	run(t, ctx, "leave", chromedp.Click(chromedp.ID("nav-home")), waitJS(`liveViews.size === 0`))
	same(t, "view", nextView(t, updates), hub.Event{Time: t0.Add(42 * time.Second), Type: hub.EvCameraView, Class: hub.ClassRoutine, State: hub.Disarmed,
		Who: hub.Actor{UserID: "bob", UserName: "Bob", UserNum: 2, Device: "127.0.0.1", Via: hub.ViaWeb}, Detail: "porch from 2026-11-30 20:00:00Z for 42s: viewer left"})
	if n := len(lv.srv.Sessions()); n != 0 {
		t.Fatalf("%d sessions on the hub after leaving, want 0", n)
	}

	// An alarm in the camera's zone: its live view on the alarm screen.
	if err := s.h.Do(hubCtx, hub.Request{Kind: hub.CmdArm, Mode: hub.ModeAway, Cred: hub.Credential{Code: "222222"}, Via: hub.ViaKeypad}); err != nil {
		t.Fatal(err)
	}
	s.advance(31 * time.Second)
	for _, in := range []hub.Input{hub.Tick{}, hub.Sensor{Zone: "living", Signal: hub.SigOpen}} {
		if err := s.h.Input(hubCtx, in); err != nil {
			t.Fatal(err)
		}
	}
	run(t, ctx, "alarm screen", waitText("#state", "ALARM"), waitJS(`!document.getElementById("alarm-cameras").hidden`),
		waitJS(`document.querySelectorAll("#alarm-cameras-list video").length === 1`), waitJS(`liveViews.size === 1`))
	run(t, ctx, "alarm frames decoded", waitJS(`(window.vaktFrames = 0) === 0`), waitJS(framesDecoded))
	shots(t, ctx, "alarm-camera")
	s.advance(10 * time.Second)
	if err := s.h.Do(hubCtx, hub.Request{Kind: hub.CmdDisarm, Cred: hub.Credential{Code: "222222"}, Via: hub.ViaKeypad}); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "disarmed", waitText("#state", "Disarmed"), waitJS(`document.getElementById("alarm-cameras").hidden && liveViews.size === 0`))
	ev := nextView(t, updates)
	same(t, "alarm view", ev.Detail, "porch from 2026-11-30 20:01:13Z for 10s: viewer left")
}
