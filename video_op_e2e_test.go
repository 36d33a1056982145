package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"vakt/hub"
	"vakt/hub/uplink/receiver"
	"vakt/hub/uplink/sia"
	"vakt/sensors/camera/camtest"
)

// await returns the next match of lines within limit.
func (w *matchWriter) await(t *testing.T, what string, limit time.Duration) []string {
	t.Helper()
	select {
	case m := <-w.ch:
		return m
	case <-time.After(limit):
		t.Fatalf("%s: not within %s", what, limit)
		return nil
	}
}

// sockJSON GETs path over the hub's local socket and decodes the answer.
func sockJSON(t *testing.T, data, path string, out any) {
	t.Helper()
	res, err := sockGet(data, path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, res.StatusCode, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, b)
	}
}

// alarmInWindow arms night with the window closed and opens it: the siren
// sounds and the hub is triggered. It returns its MQTT client for what follows
// (a second client with the same id would take its session over).
func alarmInWindow(t *testing.T, p *hubProc) *mqttClient {
	t.Helper()
	c := dialMQTT(t, p.mqtt, "tester", "tester-pass")
	c.sub(t, "vakt/state", "test/siren")
	c.waitFor(t, "vakt/state", "disarmed")
	c.pub(t, "test/window", `{"contact":true,"tamper":false}`, true)
	c.pub(t, "vakt/command", `{"command":"ARM_NIGHT","code":"135790"}`, false)
	c.waitFor(t, "vakt/state", "armed_night")
	c.pub(t, "test/window", `{"contact":false,"tamper":false}`, true)
	c.waitAll(t, "test/siren", "ON", "vakt/state", "triggered")
	return c
}

func writeVideoBoot(t *testing.T, dir, video string) {
	t.Helper()
	// The live view's media port on loopback, not 8189: tests run side by side.
	video = strings.Replace(video, "video:\n", "video:\n  media_listen: 127.0.0.1:0\n", 1)
	if err := os.WriteFile(filepath.Join(dir, "vakt.yaml"), []byte(bootYAML+video), 0o600); err != nil {
		t.Fatal(err)
	}
}

// A camera that stops sending is the hub's fault camera:<name> (in the journal
// and on the trouble list) until its video comes back, which restores it.
func TestCameraStallIsAHubFault(t *testing.T) {
	fake := camtest.Start(t, camtest.Options{User: "viewer", Pass: "pw", FPS: 25})
	dir, args := setup(t)
	writeVideoBoot(t, dir, "video:\n  cameras:\n    - {name: porch, url: \""+fake.URL+"\", always_on: true, zones: [door]}\n")
	lines := &matchWriter{re: regexp.MustCompile(`msg=event type=(fault|fault_restore) .*detail="(camera:porch: [^"]*)"`), ch: make(chan []string, 4)}
	p := startHubLog(t, lines, args...)
	defer p.stop(t)
	fake.AwaitPublished(t, fake.Published()+10)
	fake.Pause()
	m := lines.await(t, "camera fault", 30*time.Second)
	stalled := regexp.MustCompile(`^camera:porch: no video for [56]s$`)
	if m[1] != "fault" || !stalled.MatchString(m[2]) {
		t.Fatalf("fault line %q", m[0])
	}
	type trouble struct {
		Faults []struct{ ID, Kind, Subject, Detail string }
	}
	// The event's log line can come before the state the API reads: wait for
	// the trouble list to have a fault, then compare it whole.
	tr := pollJSON(t, p.data, "/api/v1/trouble", func(tr trouble) bool { return len(tr.Faults) > 0 })
	if len(tr.Faults) != 1 || tr.Faults[0].ID != "camera:porch" || tr.Faults[0].Kind != "camera" || tr.Faults[0].Detail != m[2] {
		t.Fatalf("trouble %+v", tr.Faults)
	}
	// Not in the way of arming: video verifies, it does not detect.
	c := dialMQTT(t, p.mqtt, "tester", "tester-pass")
	c.sub(t, "vakt/state")
	c.waitFor(t, "vakt/state", "disarmed")
	c.pub(t, "vakt/command", `{"command":"ARM_NIGHT","code":"135790"}`, false)
	c.waitFor(t, "vakt/state", "armed_night")
	fake.Resume()
	m = lines.await(t, "camera fault restored", 30*time.Second)
	if m[1] != "fault_restore" || m[2] != "camera:porch: video back" {
		t.Fatalf("restore line %q", m[0])
	}
	pollJSON(t, p.data, "/api/v1/trouble", func(tr trouble) bool { return len(tr.Faults) == 0 })
}

// The clip of an alarm is a clip event naming the alarm event, served with
// Range; after a restart in the alarm, the resumed alarm gets a clip too,
// linked to the same alarm event.
func TestAlarmClipEventAndRestart(t *testing.T) {
	fake := camtest.Start(t, camtest.Options{User: "viewer", Pass: "pw", FPS: 25})
	dir, args := setup(t)
	writeVideoBoot(t, dir, "video:\n  clip_seconds: 1\n  cameras:\n    - {name: garden, url: \""+fake.URL+"\", always_on: true, buffer_seconds: 2, zones: [window]}\n")
	lines := &matchWriter{re: regexp.MustCompile(`msg=event type=clip zone=window .*detail="camera garden: (garden_\S+\.mp4)"`), ch: make(chan []string, 4)}
	p := startHubLog(t, lines, args...)
	fake.AwaitPublished(t, fake.Published()+25)
	alarmInWindow(t, p)
	file := lines.await(t, "clip event", 30*time.Second)[1]

	alarm, ce := theAlarmAndItsClip(t, p.data)
	var clipEvs struct{ Events []hub.Event }
	info, err := os.Stat(filepath.Join(p.data, "clips", file))
	if err != nil {
		t.Fatal(err)
	}
	if ce.Zone != "window" || ce.Class != hub.ClassAlarm || ce.Clip.Camera != "garden" || ce.Clip.File != file ||
		ce.Clip.Alarm != alarm.Seq || ce.Clip.Bytes != info.Size() || !ce.Clip.Start.Before(alarm.Time) ||
		ce.Clip.End.Sub(alarm.Time) < 900*time.Millisecond || ce.Clip.End.Sub(alarm.Time) > 3*time.Second {
		t.Fatalf("clip event %+v, alarm %+v, file %d bytes", ce, alarm, info.Size())
	}
	res, err := localRequest(t.Context(), p.data, "GET", "/api/v1/clips/"+file, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || int64(len(body)) != info.Size() || res.Header.Get("Content-Type") != "video/mp4" {
		t.Fatalf("clip: %d %d bytes %v", res.StatusCode, len(body), res.Header)
	}

	// Stopped in the alarm: the restart resumes it, and the camera records it.
	p.stop(t)
	p = startHubLog(t, lines, args...)
	defer p.stop(t)
	file2 := lines.await(t, "clip event after the restart", 30*time.Second)[1]
	sockJSON(t, p.data, "/api/v1/events?type=clip", &clipEvs)
	if len(clipEvs.Events) != 2 || clipEvs.Events[0].Clip.File != file2 || clipEvs.Events[0].Clip.Alarm != alarm.Seq ||
		clipEvs.Events[0].Zone != "window" || file2 == file {
		t.Fatalf("clips after the restart %+v", clipEvs.Events)
	}
}

// The operator link on the real binary: the alarm report reaches a real
// receiver with [V<url>] (inside the AES encryption), the arming, cancel and
// disarm reports without; the page behind the URL answers while the alarm
// goes on, plays the camera's picture and its Opus sound (muted until the
// operator presses Sound), records the view, and answers 401 once the disarm
// closed the incident.
func TestOperatorLinkWithTheAlarmReport(t *testing.T) {
	key, err := sia.ParseKey("000102030405060708090A0B0C0D0E0F", "hex")
	if err != nil {
		t.Fatal(err)
	}
	rcv := startReceiver(t, receiver.Account{ID: "4321", Key: key})
	fake := camtest.Start(t, camtest.Options{User: "viewer", Pass: "pw", FPS: 25, Audio: camtest.AudioOpus})
	dir, args := setup(t)
	writeVideoBoot(t, dir, fmt.Sprintf(`video:
  operator_url: https://home.example.net:8443
  operator_minutes: 20
  clip_seconds: 1
  cameras:
    - {name: garden, url: %q, always_on: true, buffer_seconds: 2, zones: [window]}
uplink:
  paths:
    - {addr: %q, network: tcp, account: "4321", key: "000102030405060708090A0B0C0D0E0F", key_format: hex, poll: 1m}
`, fake.URL, rcv.TCPAddr().String()))
	clipped := &matchWriter{re: regexp.MustCompile(`msg=event type=clip zone=window .*detail="camera garden: (garden_\S+\.mp4)"`), ch: make(chan []string, 4)}
	p := startHubLog(t, clipped, args...)
	defer p.stop(t)
	fake.AwaitPublished(t, fake.Published()+25)
	c := alarmInWindow(t, p)
	frames := map[string]string{}
	for _, want := range []string{"3401 01 001", "1131 01 002"} {
		e := waitCID(t, rcv, want)
		frames[want] = fmt.Sprint(e.Message.XData)
	}
	link := strings.TrimPrefix(strings.TrimSuffix(frames["1131 01 002"], "}]"), "[{V ")
	tok, ok := strings.CutPrefix(link, "https://home.example.net:8443/operator/")
	if !ok || frames["3401 01 001"] != "[]" {
		t.Fatalf("xdata: %q", frames)
	}
	web := "http://" + p.http + "/operator/"
	page := func(path string) int {
		t.Helper()
		res, err := http.Get(web + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if c := page(tok); c != 200 {
		t.Fatalf("operator page: %d", c)
	}
	if c := page(tok + "/info"); c != 200 {
		t.Fatalf("operator info: %d", c)
	}
	// In a browser: the alarm's clip plays (its metadata loads), the camera
	// has its place for the live view.
	file := clipped.await(t, "clip event", 30*time.Second)[1]
	bctx, step, js := chromium(t)
	step("the operator page", chromedp.Navigate(web+tok),
		js(`document.getElementById("alarm").textContent.startsWith("Alarm in zone window at ")`),
		js(`[...document.querySelectorAll("#live figcaption")].map(f => f.textContent.split(" ")[0]).join() === "garden"`),
		js(`(() => { const v = document.querySelector("#clips video"); return !!v && v.src.endsWith("/clips/`+file+`") && v.readyState >= 1 && v.duration > 1; })()`),
		// The live view plays: the browser decodes pictures from the camera.
		js(`(() => { const pc = views.garden; if (pc) pc.getStats().then((r) => r.forEach((s) => { if (s.type === "inbound-rtp" && s.kind === "video") window.opFrames = s.framesDecoded; })); return (window.opFrames || 0) > 0; })()`))
	operatorHearsTheCamera(t, bctx, step, js)
	operatorSeesTheCameraStallAndReturn(t, bctx, step, js, fake)
	var views struct{ Events []hub.Event }
	sockJSON(t, p.data, "/api/v1/events?type=operator_view", &views)
	if len(views.Events) != 2 {
		t.Fatalf("view events %+v", views.Events)
	}
	for _, v := range views.Events {
		if v.Zone != "window" || !strings.HasPrefix(v.Who.Device, "operator (alarm ") || v.Detail != "page from 127.0.0.1, cameras garden" {
			t.Fatalf("view event %+v", v)
		}
	}
	c.pub(t, "vakt/command", `{"command":"DISARM","code":"135790"}`, false)
	c.waitFor(t, "vakt/state", "disarmed")
	for _, want := range []string{"1406 01 001", "1401 01 001"} {
		if e := waitCID(t, rcv, want); len(e.Message.XData) != 0 {
			t.Errorf("%s carries %v", want, e.Message.XData)
		}
	}
	if c := page(tok); c != http.StatusUnauthorized {
		t.Errorf("after the disarm: %d, want 401", c)
	}
	// The disarm closed the incident: the hub ended the operator's live view,
	// which is an event of its own.
	type viewPage struct{ Events []hub.Event }
	live := pollJSON(t, p.data, "/api/v1/events?type=camera_view", func(pg viewPage) bool { return len(pg.Events) > 0 })
	if len(live.Events) != 1 {
		t.Fatalf("camera views %+v", live.Events)
	}
	v := live.Events[0]
	if want := (hub.Actor{Device: views.Events[0].Who.Device, Via: hub.ViaWeb}); v.Who != want || v.Type != hub.EvCameraView ||
		!regexp.MustCompile(`^garden from \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ for \d+s: operator window ended$`).MatchString(v.Detail) {
		t.Fatalf("camera view %+v, want by %+v", v, want)
	}
	step("the page after the disarm", chromedp.Navigate(web+tok),
		js(`document.getElementById("ended")?.textContent === "This link has ended or is not valid."`))
	if c := page("x" + tok); c != http.StatusUnauthorized {
		t.Errorf("a wrong token: %d, want 401", c)
	}
}

// A stop during a clip cuts it short, and the clip is still recorded in the
// journal with what it holds: the clip writer ends before the hub stops.
func TestClipCutShortByAStopIsRecorded(t *testing.T) {
	fake := camtest.Start(t, camtest.Options{User: "viewer", Pass: "pw", FPS: 25})
	dir, args := setup(t)
	writeVideoBoot(t, dir, "video:\n  clip_seconds: 300\n  cameras:\n    - {name: garden, url: \""+fake.URL+"\", always_on: true, buffer_seconds: 2, zones: [window]}\n")
	started := &matchWriter{re: regexp.MustCompile(`msg=event type=(alarm) zone=window`), ch: make(chan []string, 4)}
	p := startHubLog(t, started, args...)
	fake.AwaitPublished(t, fake.Published()+25)
	alarmInWindow(t, p)
	started.await(t, "the alarm", 30*time.Second)
	fake.AwaitPublished(t, fake.Published()+25) // a second of the clip after the alarm
	p.stop(t)

	p = startHub(t, args...)
	defer p.stop(t)
	alarm, ce := theAlarmAndItsClip(t, p.data)
	info, err := os.Stat(filepath.Join(p.data, "clips", ce.Clip.File))
	if err != nil {
		t.Fatal(err)
	}
	if ce.Clip.Camera != "garden" || ce.Clip.Alarm != alarm.Seq || ce.Clip.Bytes != info.Size() || info.Size() == 0 ||
		ce.Clip.End.Sub(alarm.Time) < 500*time.Millisecond || ce.Clip.End.Sub(alarm.Time) > time.Minute {
		t.Fatalf("clip event %+v, alarm %+v, file %d bytes", ce, alarm, info.Size())
	}
}

// theAlarmAndItsClip reads the journal's alarm and clip events, one of each.
func theAlarmAndItsClip(t *testing.T, data string) (alarm, clip hub.Event) {
	t.Helper()
	var alarms, clips struct{ Events []hub.Event }
	sockJSON(t, data, "/api/v1/events?type=alarm", &alarms)
	sockJSON(t, data, "/api/v1/events?type=clip", &clips)
	if len(alarms.Events) != 1 || len(clips.Events) != 1 {
		t.Fatalf("alarms %+v clips %+v", alarms.Events, clips.Events)
	}
	return alarms.Events[0], clips.Events[0]
}

// operatorHearsTheCamera: the operator page receives the camera's Opus audio,
// shows its Sound button once the audio track is there, and starts muted; the
// button turns the sound on and off again.
func operatorHearsTheCamera(t *testing.T, bctx context.Context, step func(string, ...chromedp.Action[chromedp.Void]),
	js func(string) chromedp.Action[chromedp.Void]) {
	t.Helper()
	step("the operator page's audio", js(`(() => {
		views.garden.getStats().then((r) => r.forEach((s) => {
			if (s.type === "inbound-rtp" && s.kind === "audio") { window.opAudio = s.packetsReceived; window.opCodec = r.get(s.codecId).mimeType; }
		}));
		return (window.opAudio || 0) > 0;
	})()`), js(`!document.querySelector("#live button.sound").hidden`))
	type sound struct {
		Codec, Label, Text, Pressed string
		Hidden, Muted               bool
	}
	read := func() sound {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Evaluate[sound](`(() => { const b = document.querySelector("#live button.sound");
			return {Codec: window.opCodec, Label: b.getAttribute("aria-label"), Text: b.textContent, Pressed: b.getAttribute("aria-pressed"),
				Hidden: b.hidden, Muted: document.querySelector("#live video").muted}; })()`))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	muted := sound{Codec: "audio/opus", Label: "Sound: garden", Text: "Sound", Pressed: "false", Muted: true}
	heard := muted
	heard.Pressed, heard.Muted = "true", false
	for i, want := range []sound{muted, heard, muted} {
		if i > 0 {
			step("the Sound button", chromedp.Click(`#live button.sound`))
		}
		if got := read(); got != want {
			t.Fatalf("sound, step %d: %+v, want %+v", i, got, want)
		}
	}
}
