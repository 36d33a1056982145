package web

import (
	"testing"

	"github.com/chromedp/chromedp"

	"vakt/sensors/camera/camtest"
)

// audioReceived is true once the first live view on the page has received
// audio packets and decoded pictures, by its RTCPeerConnection's statistics.
const audioReceived = `(() => {
	const v = [...liveViews.values()][0];
	if (v) v.pc.getStats().then((r) => r.forEach((s) => {
		if (s.type === "inbound-rtp" && s.kind === "audio") { window.vaktAudio = s.packetsReceived; window.vaktAudioCodec = r.get(s.codecId).mimeType; }
		if (s.type === "inbound-rtp" && s.kind === "video") window.vaktFrames = s.framesDecoded;
	}));
	return (window.vaktAudio || 0) > 0 && (window.vaktFrames || 0) > 0;
})()`

// A camera with G.711 or Opus audio in a real browser: the picture is decoded and the
// audio received, the video starts muted, and the sound button (shown because
// the view has audio) turns the sound on and off again.
func TestBrowserCameraAudio(t *testing.T) {
	for _, codec := range []string{camtest.AudioPCMU, camtest.AudioOpus} {
		t.Run(codec, func(t *testing.T) { browserCameraAudio(t, codec) })
	}
}

func browserCameraAudio(t *testing.T, codec string) {
	fake := camtest.Start(t, camtest.Options{Audio: codec})
	cam := testCamera(t, "porch", fake.URL, true, "living")
	runCamera(t, cam)
	lv := newLiveView(t, cam)
	s := startSystem(t, testConfig(t), webOnly(lv.options))
	lv.sys = s
	ctx := browser(t)

	run(t, ctx, "log in", chromedp.Navigate(s.srv.URL), chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("login-user"), "bob"), chromedp.SendKeys(chromedp.ID("login-password"), "bob-pass"),
		chromedp.Click(chromedp.ID("login-submit")), waitText("#state", "Disarmed"))
	run(t, ctx, "cameras", chromedp.Click(chromedp.ID("nav-cameras")), waitJS(`liveViews.size === 1`))
	run(t, ctx, "audio and frames", waitJS(audioReceived))
	same(t, "codec", eval[string](t, ctx, `window.vaktAudioCodec`), map[string]string{camtest.AudioPCMU: "audio/PCMU", camtest.AudioOpus: "audio/opus"}[codec])
	const button = `document.querySelector('.camera[data-camera="porch"] button.sound')`
	type state struct {
		Hidden  bool   `json:"hidden"`
		Label   string `json:"label"`
		Text    string `json:"text"`
		Pressed string `json:"pressed"`
		Muted   bool   `json:"muted"`
	}
	read := `(() => { const b = ` + button + `; return {hidden: b.hidden, label: b.getAttribute("aria-label"), text: b.textContent,
		pressed: b.getAttribute("aria-pressed"), muted: document.querySelector("#cameras-grid video").muted}; })()`
	run(t, ctx, "sound button shown", waitJS(`!`+button+`.hidden`))
	same(t, "before", eval[state](t, ctx, read), state{Label: "Sound: porch", Text: "Sound", Pressed: "false", Muted: true})
	shots(t, ctx, "camera-audio")
	run(t, ctx, "sound on", chromedp.Click(`.camera[data-camera="porch"] button.sound`))
	same(t, "on", eval[state](t, ctx, read), state{Label: "Sound: porch", Text: "Sound", Pressed: "true", Muted: false})
	run(t, ctx, "sound off", chromedp.Click(`.camera[data-camera="porch"] button.sound`))
	same(t, "off", eval[state](t, ctx, read), state{Label: "Sound: porch", Text: "Sound", Pressed: "false", Muted: true})
	// In Swedish the button says so.
	same(t, "Swedish", eval[[]string](t, ctx, `[T.sv.sound, t("sound_of", {name: "porch"})]`), []string{"Ljud", "Sound: porch"})
	run(t, ctx, "leave", chromedp.Click(chromedp.ID("nav-home")), waitJS(`liveViews.size === 0`))
}
