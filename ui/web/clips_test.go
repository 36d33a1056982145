package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"vakt/hub"
)

// dirClips is a clip store of the files in a directory, known by name only.
type dirClips struct {
	dir   string
	names []string
}

func (d dirClips) Open(name string) (*os.File, error) {
	for _, n := range d.names {
		if n == name {
			return os.Open(filepath.Join(d.dir, n))
		}
	}
	return nil, fmt.Errorf("%q: %w", name, fs.ErrNotExist)
}

// A clip is served to users and tokens that may read, with Range requests, as
// video/mp4; a guest and the anonymous get nothing; a name the store does not
// know (a pruned clip, a path) is 404.
func TestClipServed(t *testing.T) {
	dir := t.TempDir()
	clip := bytes.Repeat([]byte("0123456789"), 1000)
	if err := os.WriteFile(filepath.Join(dir, "porch_1.mp4"), clip, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(t.TempDir(), "secret.mp4"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startSystem(t, testConfig(t), func(_ *hub.Options, w *Options) {
		if w != nil {
			w.Clips = dirClips{dir: dir, names: []string{"porch_1.mp4"}}
		}
	})
	get := func(c *client, path, rng string) (int, http.Header, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", s.srv.URL+path, nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		if c == nil {
			c = s.client(t)
		}
		res, err := c.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header, b
	}
	a := s.login(t, "alice", "alice-pass")
	code, h, body := get(a, "/api/v1/clips/porch_1.mp4", "")
	if code != 200 || h.Get("Content-Type") != "video/mp4" || !bytes.Equal(body, clip) || h.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("whole clip: %d %v %d bytes", code, h, len(body))
	}
	code, h, body = get(a, "/api/v1/clips/porch_1.mp4", "bytes=100-199")
	if code != http.StatusPartialContent || h.Get("Content-Range") != "bytes 100-199/10000" || !bytes.Equal(body, clip[100:200]) {
		t.Fatalf("range: %d %v %q", code, h, body)
	}
	for _, p := range []string{"/api/v1/clips/other.mp4", "/api/v1/clips/..%2Fsecret.mp4", "/api/v1/clips/%2E%2E%2F%2E%2E%2Fvakt.db"} {
		if code, _, _ := get(a, p, ""); code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, code)
		}
	}
	if code, _, _ := get(nil, "/api/v1/clips/porch_1.mp4", ""); code != http.StatusUnauthorized {
		t.Errorf("anonymous: %d", code)
	}
	if code, _, _ := get(s.login(t, "gus", "gus-pass"), "/api/v1/clips/porch_1.mp4", ""); code != http.StatusForbidden {
		t.Errorf("guest: %d", code)
	}
}

// In a real browser: a camera fault on the Trouble list in words; the event log
// puts a play button on the clip event and on its alarm, playing a clip makes a
// video element, and a clip pruned by the quota says so.
func TestBrowserClipsAndCameraFault(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "porch_1.mp4"), []byte("not really video"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startSystem(t, testConfig(t), func(_ *hub.Options, w *Options) {
		if w != nil {
			w.Clips = dirClips{dir: dir, names: []string{"porch_1.mp4"}}
		}
	})
	ctx := browser(t)
	hubCtx := context.Background()
	input := func(in hub.Input) {
		t.Helper()
		if err := s.h.Input(hubCtx, in); err != nil {
			t.Fatal(err)
		}
	}
	run(t, ctx, "log in", chromedp.Navigate(s.srv.URL), chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("login-user"), "alice"), chromedp.SendKeys(chromedp.ID("login-password"), "alice-pass"),
		chromedp.Click(chromedp.ID("login-submit")), waitText("#state", "Disarmed"))
	input(hub.Fault{ID: hub.FaultID{Kind: hub.FaultCamera, Subject: "porch"}, Active: true, Point: 1, Detail: "no video for 6s"})
	run(t, ctx, "camera fault", waitJS(`(() => { const li = document.querySelector('li[data-fault="camera:porch"]');
		return !!li && li.textContent.startsWith("Camera without video: porch") && li.textContent.endsWith("Arming is not blocked: the detectors still protect."); })()`),
		waitText("#ready-away", "Ready"))
	// Zigbee2MQTT publishing attributes only is its own fault for people.
	input(hub.Fault{ID: hub.FaultID{Kind: hub.FaultZigbee, Subject: "zigbee2mqtt/output"}, Active: true, Detail: "advanced.output is attribute"})
	run(t, ctx, "zigbee output fault", waitJS(`(() => { const li = document.querySelector('li[data-fault="zigbee:zigbee2mqtt/output"]');
		return !!li && li.textContent.startsWith("Zigbee2MQTT sends no sensor states: zigbee2mqtt/output") && li.textContent.endsWith("in Zigbee2MQTT's configuration."); })()`))
	input(hub.Fault{ID: hub.FaultID{Kind: hub.FaultZigbee, Subject: "zigbee2mqtt/output"}, Active: false})

	// An alarm in the door zone, and two clips of it: one on disk, one pruned.
	input(hub.Command{Kind: hub.CmdArm, Mode: hub.ModeAway, Who: hub.Actor{UserID: "alice", UserName: "Alice", UserNum: 1, Via: hub.ViaAPI}, Role: hub.RoleAdmin})
	s.advance(30 * time.Second)
	input(hub.Tick{})
	input(hub.Sensor{Zone: "door", Signal: hub.SigOpen})
	s.advance(45 * time.Second)
	input(hub.Tick{})
	run(t, ctx, "alarm", waitText("#state", "ALARM"))
	alarm := s.h.Snapshot()
	var page struct{ Events []hub.Event }
	a := s.login(t, "alice", "alice-pass")
	a.do("GET", "/api/v1/events?type=alarm", nil, &page)
	if len(page.Events) != 1 {
		t.Fatalf("alarms %+v (state %s)", page.Events, alarm.State.Name)
	}
	seq := page.Events[0].Seq
	input(hub.ClipSaved{Camera: "porch", Zone: "door", Alarm: seq, File: "porch_1.mp4", Start: s.now().Add(-10 * time.Second), End: s.now().Add(20 * time.Second), Bytes: 16})
	input(hub.ClipSaved{Camera: "garden", Zone: "door", Alarm: seq, File: "garden_1.mp4", Start: s.now().Add(-10 * time.Second), End: s.now().Add(20 * time.Second), Bytes: 16})
	run(t, ctx, "the event log", chromedp.Navigate(s.srv.URL+"/#/events"),
		waitJS(`document.querySelectorAll('#events-body tr[data-type="clip"]').length === 2`))
	// The alarm's row gets its buttons once the page knows its clips: wait for
	// the whole list (briefly), then compare it.
	const clipButtons = `[...document.querySelectorAll("#events-body tr")].filter(tr => tr.querySelector("button.clip"))
		.map(tr => tr.dataset.type + ": " + [...tr.querySelectorAll("button.clip")].map(b => b.textContent).join(", ")).join("; ")`
	const want = "clip: ▶ clip garden; clip: ▶ clip porch; alarm: ▶ clip garden, ▶ clip porch"
	waitCtx, cancelWait := context.WithTimeout(ctx, 10*time.Second)
	_ = chromedp.Do(waitCtx, waitJS(clipButtons+` === `+quote(want)))
	cancelWait()
	if buttons := eval[string](t, ctx, clipButtons); buttons != want {
		t.Fatalf("buttons %q", buttons)
	}
	run(t, ctx, "play the porch clip", chromedp.Click(chromedp.CSS(`tr[data-type="alarm"] button.clip[data-file="porch_1.mp4"]`)),
		waitJS(`(() => { const v = document.querySelector('tr[data-type="alarm"] video.clip'); return !!v && v.getAttribute("src") === "/api/v1/clips/porch_1.mp4" && v.controls; })()`))
	run(t, ctx, "the pruned garden clip", chromedp.Click(chromedp.CSS(`tr[data-type="clip"] button.clip[data-file="garden_1.mp4"]`)),
		waitJS(`(() => { const g = document.querySelector('tr[data-type="clip"] .clip-gone'); return !!g && g.textContent === "clip removed (disk quota)"; })()`))
}
