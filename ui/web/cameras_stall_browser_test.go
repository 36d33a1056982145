package web

import (
	"context"
	"strconv"
	"testing"
	"time"
	_ "time/tzdata" // the page's time zone, whatever the machine has

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"vakt/sensors/camera/camtest"
)

// liveStatus is what a camera's tile says of its picture: the words over the
// video (with their role) and the note under it.
type liveStatus struct {
	Over string `json:"over"`
	Role string `json:"role"`
	Note string `json:"note"`
}

const readLiveStatus = `(() => {
	const c = document.querySelector('#cameras-grid .camera[data-camera="porch"]'), o = c.querySelector(".stalled");
	return {over: o.textContent, role: o.getAttribute("role"), note: c.querySelector(".what").textContent};
})()`

// decoded is the first live view's count of decoded pictures, as its last
// statistics said (the expression asks for new ones: for polling).
const decoded = `(() => {
	const v = [...liveViews.values()][0];
	if (v && v.pc) v.pc.getStats().then((r) => r.forEach((s) => { if (s.type === "inbound-rtp" && s.kind === "video") window.vaktDecoded = s.framesDecoded; }));
	return window.vaktDecoded || 0;
})()`

// decodedNow is the first live view's count of decoded pictures now.
func decodedNow(t *testing.T, ctx context.Context) int {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`(async () => {
		let n = -1;
		(await [...liveViews.values()][0].pc.getStats()).forEach((s) => { if (s.type === "inbound-rtp" && s.kind === "video") n = s.framesDecoded; });
		return n;
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A camera switched off while Bob watches it: within seconds the view says
// over the picture, as a status, that there is no video from the porch since
// the last picture, and no more pictures come; in Swedish too. The camera is
// switched on again, with another picture size: the hub reconnects to it, the
// same view decodes its pictures again, in the new size, by itself, and the
// words go. Then the hub ends the session
// (as when it restarts): the view says so at once and starts a new one by
// itself.
func TestBrowserCameraStallAndRecovery(t *testing.T) {
	fake := camtest.Start(t, camtest.Options{FPS: 25})
	cam := testCamera(t, "porch", fake.URL, true, "living")
	runCamera(t, cam)
	lv := newLiveView(t, cam)
	s := startSystem(t, testConfig(t), webOnly(lv.options))
	lv.sys = s
	ctx := browser(t)
	const zone = "Europe/Stockholm"
	if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: zone}); err != nil {
		t.Fatal(err)
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}

	run(t, ctx, "log in", chromedp.Navigate(s.srv.URL), chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("login-user"), "bob"), chromedp.SendKeys(chromedp.ID("login-password"), "bob-pass"),
		chromedp.Click(chromedp.ID("login-submit")), waitText("#state", "Disarmed"))
	run(t, ctx, "cameras", chromedp.Click(chromedp.ID("nav-cameras")), waitJS(`liveViews.size === 1`),
		waitJS(decoded+` > 0`), waitText(`#cameras-grid .what`, "Live"))
	same(t, "live", eval[liveStatus](t, ctx, readLiveStatus), liveStatus{Role: "status", Note: "Live"})
	session := lv.srv.Sessions()

	off := time.Now()
	fake.Close()
	run(t, ctx, "no video", waitJS(`document.querySelector("#cameras-grid .stalled").textContent !== ""`))
	shown := time.Now()
	since := time.UnixMilli(eval[int64](t, ctx, `Number(document.getElementById("video-grid-porch").dataset.since)`))
	// The last picture came before the camera went off, or just after (on its
	// way); the page looks twice a second.
	if since.Before(off.Add(-1500*time.Millisecond)) || since.After(shown) {
		t.Fatalf("no video since %s; the camera went off at %s, the page said so at %s", since, off, shown)
	}
	at := since.In(loc).Format("15:04:05")
	same(t, "stalled", eval[liveStatus](t, ctx, readLiveStatus), liveStatus{Over: "No video from porch since " + at, Role: "status"})
	shots(t, ctx, "camera-stalled")
	// No picture comes while the camera is off: the count stays until six
	// seconds after the last picture.
	frames := decodedNow(t, ctx)
	run(t, ctx, "six seconds on", waitJS(`Date.now() - `+quoteInt(since.UnixMilli())+` > 6000`))
	same(t, "pictures while the camera is off", decodedNow(t, ctx), frames)
	// The words follow the language.
	run(t, ctx, "in Swedish", waitJS(`(document.getElementById("lang").value = "sv") === "sv"`),
		waitJS(`document.querySelector("#lang").dispatchEvent(new Event("change"))`))
	same(t, "stalled, in Swedish", eval[liveStatus](t, ctx, readLiveStatus), liveStatus{Over: "Ingen bild från porch sedan " + at, Role: "status"})

	// On again, with other settings (160x90 instead of 128x96: another SPS
	// and PPS): the hub reconnects to the camera, and the same view goes on
	// in the new size.
	camtest.Start(t, camtest.Options{FPS: 25, Addr: fake.Addr(), Wide: true})
	run(t, ctx, "pictures again", waitJS(decoded+` > `+quoteInt(int64(frames)+25)), waitText(`#cameras-grid .what`, "Direkt"))
	same(t, "live again", eval[liveStatus](t, ctx, readLiveStatus), liveStatus{Role: "status", Note: "Direkt"})
	same(t, "the same session", lv.srv.Sessions(), session)
	run(t, ctx, "the new size", waitJS(`(v => v.videoWidth === 160 && v.videoHeight === 90)(document.getElementById("video-grid-porch"))`))

	// The hub ends the session (it stops, or restarts): the view says so at
	// once and opens a new session by itself.
	lv.srv.CloseSessions(func(string, string) bool { return true }, "closed by the hub")
	run(t, ctx, "reconnecting", waitText(`#cameras-grid .what`, "Ansluter igen…"))
	since = time.UnixMilli(eval[int64](t, ctx, `Number(document.getElementById("video-grid-porch").dataset.since)`))
	same(t, "reconnecting", eval[liveStatus](t, ctx, readLiveStatus),
		liveStatus{Over: "Ingen bild från porch sedan " + since.In(loc).Format("15:04:05"), Role: "status", Note: "Ansluter igen…"})
	run(t, ctx, "a new session", waitText(`#cameras-grid .what`, "Direkt"))
	same(t, "live in a new session", eval[liveStatus](t, ctx, readLiveStatus), liveStatus{Role: "status", Note: "Direkt"})
	if now := lv.srv.Sessions(); len(now) != 1 || now[0].ID == session[0].ID || now[0].Camera != "porch" {
		t.Fatalf("sessions %+v, want a new one of porch", now)
	}
}

func quoteInt(n int64) string { return strconv.FormatInt(n, 10) }
