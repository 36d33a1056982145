package operator

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vakt/hub"
	"vakt/storage"
	"vakt/ui/web"
)

var t0 = time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// clock is an injected clock.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock { c := &clock{}; c.ns.Store(t.UnixNano()); return c }
func (c *clock) now() time.Time   { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) set(t time.Time)  { c.ns.Store(t.UnixNano()) }

// posts collects the inputs the page posts to the hub.
type posts struct {
	mu sync.Mutex
	in []hub.Input
}

func (p *posts) Input(_ context.Context, in hub.Input) error {
	p.mu.Lock()
	p.in = append(p.in, in)
	p.mu.Unlock()
	return nil
}

func (p *posts) all() []hub.Input {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.in)
}

// dirClips opens the clips in a directory.
type dirClips string

func (d dirClips) Open(name string) (*os.File, error) {
	if strings.ContainsAny(name, "/\\") {
		return nil, fs.ErrNotExist
	}
	return os.Open(filepath.Join(string(d), name))
}

// fixture is a journal with two alarms (door at t0, hall at t0+1m), a clip of
// each, and an operator server on it.
type fixture struct {
	store      *storage.Store
	clk        *clock
	hub        *posts
	op         *Server
	door, hall hub.Event
	dir        string
	key        []byte
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := storage.Open(filepath.Join(t.TempDir(), "vakt.db"), storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{store: st, clk: newClock(t0), hub: &posts{}, dir: t.TempDir()}
	alarm := func(zone string, at time.Time) hub.Event {
		return hub.Event{Time: at, Type: hub.EvAlarm, Class: hub.ClassAlarm, Zone: zone, State: hub.Triggered,
			Who: hub.Actor{Device: zone, Via: hub.ViaSensor}}
	}
	evs, _, err := st.Commit(hub.Batch{Events: []hub.Event{alarm("door", t0), alarm("hall", t0.Add(time.Minute))}})
	if err != nil {
		t.Fatal(err)
	}
	f.door, f.hall = evs[0], evs[1]
	clip := func(cam, file string, a hub.Event) hub.Event {
		return hub.Event{Time: a.Time.Add(25 * time.Second), Type: hub.EvClip, Class: hub.ClassAlarm, Zone: a.Zone,
			Who:  hub.Actor{Device: cam, Via: hub.ViaSystem},
			Clip: &hub.ClipRef{Camera: cam, File: file, Alarm: a.Seq, Start: a.Time.Add(-5 * time.Second), End: a.Time.Add(20 * time.Second), Bytes: 10000}}
	}
	if _, _, err := st.Commit(hub.Batch{Events: []hub.Event{clip("porch", "porch_1.mp4", f.door), clip("hallcam", "hallcam_1.mp4", f.hall),
		clip("garden", "garden_1.mp4", f.door)}}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"porch_1.mp4", "hallcam_1.mp4"} { // garden's was pruned
		if err := os.WriteFile(filepath.Join(f.dir, n), bytes.Repeat([]byte(n[:1]), 10000), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f.key, err = LoadKey(filepath.Join(t.TempDir(), "operator.key"))
	if err != nil {
		t.Fatal(err)
	}
	f.op = f.server(t, f.key, nil)
	return f
}

func (f *fixture) server(t *testing.T, key []byte, sessions SessionCloser) *Server {
	t.Helper()
	s, err := New(Config{BaseURL: "https://home.example.net:8443/", Key: key, Events: f.store, Clips: dirClips(f.dir),
		Hub: f.hub, Sessions: sessions, Now: f.clk.now, Log: quiet(),
		Cameras: func(zone string) []string {
			return map[string][]string{"door": {"porch", "garden"}, "hall": {"hallcam"}}[zone]
		}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// get sends a GET to the server and returns the status, the Content-Type and
// the body.
func get(t *testing.T, h http.Handler, path string, hdr ...string) (int, string, string) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Header().Get("Content-Type"), rec.Body.String()
}

func tokenOf(t *testing.T, url string) string {
	t.Helper()
	tok, ok := strings.CutPrefix(url, "https://home.example.net:8443/operator/")
	if !ok || tok == "" {
		t.Fatalf("url %q", url)
	}
	return tok
}

// The link of an alarm report: the same for the same report (and after a
// restart with the same key); none for an alarm without cameras or an event
// that cannot be read; a key from the file.
func TestURL(t *testing.T) {
	f := newFixture(t)
	u := f.op.URL(hub.Report{Event: f.door.Seq, Code: 130, Zone: 1, Alarm: true})
	tokenOf(t, u)
	if again := f.op.URL(hub.Report{Event: f.door.Seq, Code: 130, Zone: 1, Alarm: true}); again != u {
		t.Errorf("a second ask: %q, want %q", again, u)
	}
	if key, err := LoadKey(filepath.Join(t.TempDir(), "missing", "operator.key")); err == nil || key != nil {
		t.Errorf("a key in a missing directory: %v", err)
	}
	if restarted := f.server(t, f.key, nil).URL(hub.Report{Event: f.door.Seq}); restarted != u {
		t.Errorf("after a restart: %q, want %q", restarted, u)
	}
	other := bytes.Repeat([]byte{7}, KeySize)
	if u2 := f.server(t, other, nil).URL(hub.Report{Event: f.door.Seq}); u2 == u {
		t.Error("another key made the same link")
	}
	none, _, _ := f.store.Commit(hub.Batch{Events: []hub.Event{{Time: t0, Type: hub.EvPanic, Class: hub.ClassAlarm, Who: hub.Actor{Via: hub.ViaWeb}}}})
	if got := f.op.URL(hub.Report{Event: none[0].Seq}); got != "" {
		t.Errorf("a panic without a zone: %q", got)
	}
	if got := f.op.URL(hub.Report{Event: 9999}); got != "" {
		t.Errorf("an unknown event: %q", got)
	}
	if _, err := New(Config{BaseURL: "https://x/[v]", Key: f.key, Events: f.store, Cameras: func(string) []string { return nil }}); err == nil {
		t.Error("a base URL with [ accepted")
	}
	if _, err := New(Config{BaseURL: "https://x", Key: f.key[:16], Events: f.store, Cameras: func(string) []string { return nil }}); err == nil {
		t.Error("a short key accepted")
	}
}

// The page, its info and its clips for an open window; 401 for a wrong,
// tampered, expired or closed token, for the page, the info and the clips.
func TestPageInfoClipsAndRefusals(t *testing.T) {
	f := newFixture(t)
	tok := tokenOf(t, f.op.URL(hub.Report{Event: f.door.Seq}))
	code, ct, body := get(t, f.op, "/operator/"+tok)
	if code != 200 || ct != "text/html; charset=utf-8" || !strings.Contains(body, "<script src=\"/operator/assets/livewatch.js\"></script>\n<script src=\"/operator/assets/op.js\">") {
		t.Fatalf("page: %d %s %s", code, ct, body)
	}
	want := []hub.Input{hub.OperatorView{Alarm: f.door.Seq, Zone: "door", Who: fmt.Sprintf("operator (alarm %d)", f.door.Seq),
		Detail: "page from 192.0.2.1, cameras garden, porch"}}
	if got := f.hub.all(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("posted %v, want %v", got, want)
	}
	code, _, body = get(t, f.op, "/operator/"+tok+"/info")
	wantInfo := fmt.Sprintf(`{"alarm":%d,"zone":"door","time":"2026-12-01T02:00:00Z","until":"2026-12-01T02:30:00Z","cameras":["garden","porch"],`+
		`"whep":{"garden":"/api/v1/cameras/garden/whep","porch":"/api/v1/cameras/porch/whep"},`+
		`"clips":[{"camera":"porch","url":"clips/porch_1.mp4","start":"2026-12-01T01:59:55Z","end":"2026-12-01T02:00:20Z"},`+
		`{"camera":"garden","url":"clips/garden_1.mp4","start":"2026-12-01T01:59:55Z","end":"2026-12-01T02:00:20Z"}]}`+"\n", f.door.Seq)
	if code != 200 || body != wantInfo {
		t.Fatalf("info: %d\n got %s\nwant %s", code, body, wantInfo)
	}
	// The alarm's clip with Range; another alarm's clip, a path and a pruned clip are 404.
	code, ct, body = get(t, f.op, "/operator/"+tok+"/clips/porch_1.mp4", "Range", "bytes=10-19")
	if code != http.StatusPartialContent || ct != "video/mp4" || body != "pppppppppp" {
		t.Errorf("clip range: %d %s %q", code, ct, body)
	}
	for _, p := range []string{"clips/hallcam_1.mp4", "clips/garden_1.mp4", "clips/..%2Fvakt.db", "clips/", "other"} {
		if code, _, _ := get(t, f.op, "/operator/"+tok+"/"+p); code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, code)
		}
	}
	if code, ct, _ := get(t, f.op, "/operator/assets/op.js"); code != 200 || !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("op.js: %d %s", code, ct)
	}
	// The live view's watch is the web app's own.
	if code, ct, js := get(t, f.op, "/operator/assets/livewatch.js"); code != 200 || !strings.HasPrefix(ct, "text/javascript") || js != string(web.LiveWatchScript()) {
		t.Errorf("livewatch.js: %d %s, %d bytes, want the web app's %d", code, ct, len(js), len(web.LiveWatchScript()))
	}

	tampered := []byte(tok)
	tampered[3] ^= 1
	hallTok := tokenOf(t, f.op.URL(hub.Report{Event: f.hall.Seq}))
	otherKey := tokenOf(t, f.server(t, bytes.Repeat([]byte{7}, KeySize), nil).URL(hub.Report{Event: f.door.Seq}))
	refused := func(what, tok string) {
		t.Helper()
		for _, sub := range []string{"", "/info", "/clips/porch_1.mp4"} {
			code, _, body := get(t, f.op, "/operator/"+tok+sub)
			if code != http.StatusUnauthorized || (sub == "" && !strings.Contains(body, "This link has ended or is not valid.")) {
				t.Errorf("%s%s: %d %q", what, sub, code, body)
			}
		}
	}
	refused("tampered", string(tampered))
	refused("another key", otherKey)
	refused("garbage", "nonsense")
	refused("empty", "")
	// A duress disarm does not close the incident; a disarm does, for the alarms
	// before it only.
	duress := []hub.Event{{Type: hub.EvDuress, Time: t0.Add(2 * time.Minute)}, {Type: hub.EvDisarmed, Time: t0.Add(2 * time.Minute)}}
	if d := disarms(duress); len(d) != 0 {
		t.Errorf("a duress disarm closes: %v", d)
	}
	f.clk.set(t0.Add(29 * time.Minute))
	if code, _, _ := get(t, f.op, "/operator/"+tok+"/info"); code != 200 {
		t.Errorf("at 29 min: %d", code)
	}
	f.clk.set(t0.Add(30 * time.Minute))
	refused("expired", tok)
	if code, _, _ := get(t, f.op, "/operator/"+hallTok+"/info"); code != 200 {
		t.Errorf("the hall's link at 30 min: %d", code)
	}
	f.op.Close(t0.Add(30 * time.Second)) // disarmed between the two alarms
	if code, _, _ := get(t, f.op, "/operator/"+hallTok+"/info"); code != 200 {
		t.Errorf("the hall's link after a disarm before its alarm: %d", code)
	}
	f.op.Close(t0.Add(3 * time.Minute))
	refused("closed", hallTok)
}

// CameraAuth grants the token's cameras only, while its window is open.
func TestCameraAuth(t *testing.T) {
	f := newFixture(t)
	tok := tokenOf(t, f.op.URL(hub.Report{Event: f.door.Seq}))
	ask := func(hdr, cam string) string {
		r := httptest.NewRequest("POST", "/api/v1/cameras/"+cam+"/whep", nil)
		if hdr != "" {
			r.Header.Set("Authorization", hdr)
		}
		who, ok := f.op.CameraAuth(r, cam)
		return fmt.Sprintf("%s %v", who, ok)
	}
	op := fmt.Sprintf("operator (alarm %d) true", f.door.Seq)
	for _, tc := range []struct{ hdr, cam, want string }{
		{"Bearer " + tok, "porch", op},
		{"Bearer " + tok, "garden", op},
		{"Bearer " + tok, "hallcam", " false"},
		{"Bearer " + tok + "x", "porch", " false"},
		{tok, "porch", " false"},
		{"", "porch", " false"},
	} {
		if got := ask(tc.hdr, tc.cam); got != tc.want {
			t.Errorf("%q %s: %q, want %q", tc.hdr, tc.cam, got, tc.want)
		}
	}
	f.clk.set(t0.Add(31 * time.Minute))
	if got := ask("Bearer "+tok, "porch"); got != " false" {
		t.Errorf("expired: %q", got)
	}
}

// Run closes windows on a disarm from the hub's updates, not on a duress one,
// and reads the last disarm from the journal at its start.
func TestRunClosesOnDisarm(t *testing.T) {
	f := newFixture(t)
	doorTok := tokenOf(t, f.op.URL(hub.Report{Event: f.door.Seq}))
	hallTok := tokenOf(t, f.op.URL(hub.Report{Event: f.hall.Seq}))
	// Disarmed under duress after the door's alarm: the journal's last disarm.
	if _, _, err := f.store.Commit(hub.Batch{Events: []hub.Event{
		{Time: t0.Add(30 * time.Second), Type: hub.EvDisarmed, Class: hub.ClassArming, Who: hub.Actor{Via: hub.ViaWeb}},
		{Time: t0.Add(2 * time.Minute), Type: hub.EvDuress, Class: hub.ClassAlarm, Who: hub.Actor{Via: hub.ViaWeb}, Silent: true},
		{Time: t0.Add(2 * time.Minute), Type: hub.EvDisarmed, Class: hub.ClassArming, Who: hub.Actor{Via: hub.ViaWeb}},
	}}); err != nil {
		t.Fatal(err)
	}
	updates := make(chan hub.Update, 4)
	subscribed := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- f.op.Run(ctx, func(int) (<-chan hub.Update, func()) { close(subscribed); return updates, func() {} })
	}()
	defer func() { cancel(); <-done }()
	<-subscribed
	status := func(tok string) int { code, _, _ := get(t, f.op, "/operator/"+tok+"/info"); return code }
	// The journal is read after subscribing; a duress update changes nothing.
	updates <- hub.Update{Events: []hub.Event{{Type: hub.EvDuress, Time: t0.Add(3 * time.Minute)}, {Type: hub.EvDisarmed, Time: t0.Add(3 * time.Minute)}}}
	updates <- hub.Update{} // the one before is handled once this one is taken
	updates <- hub.Update{}
	for len(updates) > 0 {
		runtime.Gosched()
	}
	if a, b := status(doorTok), status(hallTok); a != 401 || b != 200 {
		t.Fatalf("after the journal's disarm at +30s and duress: door %d hall %d, want 401 200", a, b)
	}
	updates <- hub.Update{Events: []hub.Event{{Type: hub.EvDisarmed, Time: t0.Add(4 * time.Minute)}}}
	updates <- hub.Update{}
	updates <- hub.Update{}
	for len(updates) > 0 {
		runtime.Gosched()
	}
	if b := status(hallTok); b != 401 {
		t.Fatalf("hall after a disarm: %d", b)
	}
}

func TestIsViewer(t *testing.T) {
	for who, want := range map[string]bool{
		Who(42): true, "operator (alarm 42)": true, "operator (alarm 42) ": false, "operator (alarm x)": false,
		"web:alice@127.0.0.1": false, "operator": false, "": false,
	} {
		if got := IsViewer(who); got != want {
			t.Errorf("IsViewer(%q) = %v, want %v", who, got, want)
		}
	}
}
