package main

import (
	"context"
	"testing"
	"time"
	_ "time/tzdata" // the page's time zone, whatever the machine has

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"vakt/sensors/camera/camtest"
)

// operatorSeesTheCameraStallAndReturn switches the operator's camera (fake,
// called garden, the page open in the browser) off and on again: the live view
// says over the picture, as a status, that there is no video from the garden
// since its last picture; when the camera is back, the hub reconnects to it and
// the same view plays again, by itself, and the words go.
func operatorSeesTheCameraStallAndReturn(t *testing.T, bctx context.Context, step func(string, ...chromedp.Action[chromedp.Void]),
	js func(string) chromedp.Action[chromedp.Void], fake *camtest.Camera) {
	t.Helper()
	const zone = "Europe/Stockholm"
	if _, err := chromedp.Call(bctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: zone}); err != nil {
		t.Fatal(err)
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	type status struct {
		Over, Role string
		Since      int64 // the last picture's time, Unix milliseconds
		Frames     int
	}
	read := func() status {
		t.Helper()
		st, err := chromedp.Run(bctx, chromedp.Evaluate[status](`(async () => {
			const o = document.querySelector("#live .stalled");
			let frames = -1;
			(await views.garden.getStats()).forEach((s) => { if (s.type === "inbound-rtp" && s.kind === "video") frames = s.framesDecoded; });
			return {Over: o.textContent, Role: o.getAttribute("role"), Since: Number(o.dataset.since || 0), Frames: frames};
		})()`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := read(); st.Over != "" || st.Role != "status" || st.Since != 0 || st.Frames <= 0 {
		t.Fatalf("live: %+v", st)
	}
	off := time.Now()
	fake.Close()
	step("no video", js(`document.querySelector("#live .stalled").textContent !== ""`))
	shown := time.Now()
	st := read()
	// The last picture came before the camera went off, or just after (on its
	// way); the page looks twice a second.
	since := time.UnixMilli(st.Since)
	if since.Before(off.Add(-1500*time.Millisecond)) || since.After(shown) {
		t.Fatalf("no video since %s; the camera went off at %s, the page said so at %s", since, off, shown)
	}
	if want := (status{Over: "No video from garden since " + since.In(loc).Format("15:04:05"), Role: "status", Since: st.Since, Frames: st.Frames}); st != want {
		t.Fatalf("stalled: %+v, want %+v", st, want)
	}

	camtest.Start(t, camtest.Options{User: "viewer", Pass: "pw", FPS: 25, Addr: fake.Addr()})
	step("pictures again", js(`document.querySelector("#live .stalled").textContent === ""`))
	if again := read(); again.Over != "" || again.Role != "status" || again.Since != 0 || again.Frames <= st.Frames {
		t.Fatalf("back: %+v, after %+v", again, st)
	}
}
