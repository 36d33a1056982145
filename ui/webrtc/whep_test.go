package webrtc

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"vakt/sensors/camera"
	"vakt/sensors/camera/camtest"
	"vakt/ui/webrtc/whepclient"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtp"
	pion "github.com/pion/webrtc/v4"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// liveCamera runs an always-on camera on a fake RTSP camera and returns it once
// its ring buffer holds a keyframe and some frames after it.
func liveCamera(t testing.TB, name string) *camera.Camera {
	cam, _ := stoppableCamera(t, name)
	return cam
}

// stoppableCamera is liveCamera with a function that stops the camera.
func stoppableCamera(t testing.TB, name string) (*camera.Camera, func()) {
	t.Helper()
	return fakeCamera(t, name, camtest.Options{FPS: 25})
}

// fakeCamera is stoppableCamera on a fake camera with opts.
func fakeCamera(t testing.TB, name string, opts camtest.Options) (*camera.Camera, func()) {
	t.Helper()
	fake := camtest.Start(t, opts)
	cam, err := camera.New(camera.Config{Name: name, URL: fake.URL, AlwaysOn: true}, camera.Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	sub := cam.Subscribe(camera.ReplayNone, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cam.Run(ctx) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	for range 13 {
		select {
		case <-sub.C():
		case <-time.After(20 * time.Second):
			t.Fatal("camera delivers no frames")
		}
	}
	sub.Close()
	return cam, stop
}

// views collects OnView calls.
type views struct {
	mu  sync.Mutex
	got []View
	ch  chan View
}

func (v *views) add(x View) {
	v.mu.Lock()
	v.got = append(v.got, x)
	v.mu.Unlock()
	v.ch <- x
}

// stepClock returns base, base+1s, base+2s, ... on successive calls.
func stepClock(base time.Time) func() time.Time {
	var mu sync.Mutex
	n := 0
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		n++
		return base.Add(time.Duration(n-1) * time.Second)
	}
}

var t0 = time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC)

// stunLink is the Link header of the STUN server the tests that check headers
// configure; it is never contacted in time (answers go out after gatherTimeout
// with the local candidates).
const stunLink = `<stun:127.0.0.1:9>; rel="ice-server"`

func newServer(t testing.TB, cams map[string]Camera, v *views, ice ...ICEServer) (*Server, *httptest.Server) {
	t.Helper()
	cfg := Config{
		BasePath: "/api/v1/cameras",
		Cameras: func(name string) (Camera, bool) {
			c, ok := cams[name]
			return c, ok
		},
		Authorize: func(r *http.Request, cam string) (string, bool) {
			switch r.Header.Get("Authorization") {
			case "Bearer alice-token":
				return "alice", true
			case "Bearer porch-only":
				return "operator", cam == "porch"
			case "Bearer bob-token":
				return "bob", true
			}
			return "", false
		},
		UDPAddr:         "127.0.0.1:0",
		IncludeLoopback: true,
		AllowOrigins:    []string{"https://player.example"},
		ICEServers:      ice,
		Logger:          quietLogger(),
		Now:             stepClock(t0),
	}
	if v != nil {
		cfg.OnView = v.add
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		hs.Close()
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s, hs
}

// viewer is a WHEP client made with pion (whepclient): it receives the video
// track and reassembles access units.
type viewer struct {
	*whepclient.Viewer
	pc     *pion.PeerConnection
	resp   *http.Response
	answer string
	// audio receives the audio track's packets (with an audio transceiver);
	// audioCodec is the track's codec.
	audio      chan *rtp.Packet
	audioCodec chan pion.RTPCodecParameters
}

func newViewer(t testing.TB, url, token string) *viewer {
	t.Helper()
	return newViewerAudio(t, url, token, false)
}

// newViewerAudio is newViewer with a recvonly audio transceiver when audio is
// set, as browsers offer.
func newViewerAudio(t testing.TB, url, token string, audio bool) *viewer {
	t.Helper()
	v := &viewer{audio: make(chan *rtp.Packet, 1000), audioCodec: make(chan pion.RTPCodecParameters, 1)}
	wv := whepclient.Dial(t, url, whepclient.Options{Token: token, Audio: audio, OnAudio: v.readAudio})
	v.Viewer, v.pc, v.resp, v.answer = wv, wv.PC, wv.Resp, wv.Answer
	return v
}

func (v *viewer) next(t testing.TB) [][]byte {
	t.Helper()
	return v.Next(t).NALUs
}

func do(t *testing.T, method, url string, hdr map[string]string, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestWHEPLiveViewStartsAtKeyframeAndEndsOnDelete(t *testing.T) {
	cam := liveCamera(t, "porch")
	v := &views{ch: make(chan View, 4)}
	s, hs := newServer(t, map[string]Camera{"porch": cam}, v, ICEServer{URLs: []string{"stun:127.0.0.1:9"}})

	w := newViewer(t, hs.URL+"/api/v1/cameras/porch/whep", "alice-token")
	if w.resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %d %s", w.resp.StatusCode, w.answer)
	}
	loc := w.resp.Header.Get("Location")
	if !regexp.MustCompile(`^/api/v1/cameras/porch/whep/[0-9a-f]{32}$`).MatchString(loc) {
		t.Errorf("Location %q", loc)
	}
	if !regexp.MustCompile(`^"[0-9a-f]{16}"$`).MatchString(w.resp.Header.Get("ETag")) {
		t.Errorf("ETag %q", w.resp.Header.Get("ETag"))
	}
	hdr := map[string]string{
		"Content-Type": w.resp.Header.Get("Content-Type"),
		"Link":         w.resp.Header.Get("Link"),
		"Accept-Patch": w.resp.Header.Get("Accept-Patch"),
	}
	want := map[string]string{
		"Content-Type": "application/sdp",
		"Link":         stunLink,
		"Accept-Patch": "application/trickle-ice-sdpfrag",
	}
	if !mapsEqual(hdr, want) {
		t.Errorf("headers %v, want %v", hdr, want)
	}
	if !strings.Contains(w.answer, "a=candidate:") || !strings.Contains(w.answer, "H264/90000") {
		t.Errorf("answer lacks candidates or H.264:\n%s", w.answer)
	}
	if got := s.Sessions(); len(got) != 1 || got[0].Who != "alice" || got[0].Camera != "porch" || !got[0].Start.Equal(t0) {
		t.Errorf("sessions %+v", got)
	}

	// The first frame is a keyframe that carries SPS and PPS: a browser shows it
	// at once. Then frames keep coming.
	first := w.next(t)
	if !h264.IsRandomAccess(first) || !hasNALU(first, h264.NALUTypeSPS) || !hasNALU(first, h264.NALUTypePPS) {
		t.Errorf("first frame is not a self-contained keyframe: types %v", naluTypes(first))
	}
	for range 30 {
		w.next(t)
	}

	resp := do(t, http.MethodDelete, hs.URL+loc, nil, "")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("DELETE: %d", resp.StatusCode)
	}
	view := <-v.ch
	if view.Frames < 31 {
		t.Errorf("view counted %d frames, the viewer received 31", view.Frames)
	}
	view.Frames = 0
	if want := (View{Who: "alice", Camera: "porch", Start: t0, Duration: time.Second, Ended: "viewer left"}); view != want {
		t.Errorf("view %+v, want %+v", view, want)
	}
	if got := s.Sessions(); len(got) != 0 {
		t.Errorf("sessions after DELETE: %+v", got)
	}
	// The viewer's track ends: the server closed the connection.
	for range w.AUs {
	}
	if resp := do(t, http.MethodDelete, hs.URL+loc, nil, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("second DELETE: %d, want 404", resp.StatusCode)
	}
}

func hasNALU(au [][]byte, typ h264.NALUType) bool {
	return slices.ContainsFunc(au, func(n []byte) bool { return len(n) > 0 && h264.NALUType(n[0]&0x1f) == typ })
}

func naluTypes(au [][]byte) []h264.NALUType {
	var out []h264.NALUType
	for _, n := range au {
		out = append(out, h264.NALUType(n[0]&0x1f))
	}
	return out
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestWHEPRefusals(t *testing.T) {
	cams := map[string]Camera{"porch": nil, "garage": nil}
	v := &views{ch: make(chan View, 4)}
	s, hs := newServer(t, cams, v)
	base := hs.URL + "/api/v1/cameras/"
	sdp := map[string]string{"Content-Type": "application/sdp"}
	type result struct {
		Status int
		Auth   string
	}
	for _, tc := range []struct {
		name   string
		url    string
		hdr    map[string]string
		want   result
		bodyOf string
	}{
		{"no token", base + "porch/whep", sdp, result{401, `Bearer realm="vakt"`}, "v=0"},
		{"wrong token", base + "porch/whep", map[string]string{"Content-Type": "application/sdp", "Authorization": "Bearer nope"}, result{401, `Bearer realm="vakt"`}, "v=0"},
		{"token for another camera", base + "garage/whep", map[string]string{"Content-Type": "application/sdp", "Authorization": "Bearer porch-only"}, result{401, `Bearer realm="vakt"`}, "v=0"},
		{"unknown camera", base + "attic/whep", map[string]string{"Content-Type": "application/sdp", "Authorization": "Bearer alice-token"}, result{404, ""}, "v=0"},
		{"not SDP", base + "porch/whep", map[string]string{"Content-Type": "application/json", "Authorization": "Bearer alice-token"}, result{415, ""}, "{}"},
		{"bad SDP", base + "porch/whep", map[string]string{"Content-Type": "application/sdp", "Authorization": "Bearer alice-token"}, result{400, ""}, "v=0\r\nnonsense\r\n"},
	} {
		resp := do(t, http.MethodPost, tc.url, tc.hdr, tc.bodyOf)
		if got := (result{resp.StatusCode, resp.Header.Get("WWW-Authenticate")}); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	// Valid offers with nothing to send them: audio only, video without H.264.
	vp8 := &pion.MediaEngine{}
	if err := vp8.RegisterCodec(pion.RTPCodecParameters{RTPCodecCapability: pion.RTPCodecCapability{MimeType: pion.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}, pion.RTPCodecTypeVideo); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		api  *pion.API
		kind pion.RTPCodecType
	}{
		{"audio only", pion.NewAPI(), pion.RTPCodecTypeAudio},
		{"VP8 only", pion.NewAPI(pion.WithMediaEngine(vp8)), pion.RTPCodecTypeVideo},
	} {
		pc, err := tc.api.NewPeerConnection(pion.Configuration{})
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		if _, err := pc.AddTransceiverFromKind(tc.kind, pion.RTPTransceiverInit{Direction: pion.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
		offer, err := pc.CreateOffer(nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp := do(t, http.MethodPost, base+"porch/whep", map[string]string{"Content-Type": "application/sdp", "Authorization": "Bearer alice-token"}, offer.SDP); resp.StatusCode != http.StatusNotAcceptable {
			t.Errorf("%s offer: %d, want 406", tc.name, resp.StatusCode)
		}
	}
	if got := s.Sessions(); len(got) != 0 {
		t.Errorf("sessions: %+v", got)
	}
	select {
	case x := <-v.ch:
		t.Errorf("refused request reported a view: %+v", x)
	default:
	}

	// A server without an Authorize hook refuses everyone.
	closed, err := New(Config{Cameras: func(string) (Camera, bool) { return nil, true }, UDPAddr: "127.0.0.1:0", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer closed.Close()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/porch/whep", strings.NewReader("v=0"))
	req.Header.Set("Content-Type", "application/sdp")
	closed.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("no hook: %d, want 401", rec.Code)
	}
}

func TestWHEPOptionsPatchAndCloseSessions(t *testing.T) {
	cam := liveCamera(t, "porch")
	v := &views{ch: make(chan View, 4)}
	s, hs := newServer(t, map[string]Camera{"porch": cam}, v, ICEServer{URLs: []string{"stun:127.0.0.1:9"}})
	endpoint := hs.URL + "/api/v1/cameras/porch/whep"

	resp := do(t, http.MethodOptions, endpoint, map[string]string{"Origin": "https://player.example", "Access-Control-Request-Method": "POST"}, "")
	got := map[string]string{"status": resp.Status}
	for _, h := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Expose-Headers", "Accept-Post", "Link"} {
		got[h] = resp.Header.Get(h)
	}
	want := map[string]string{
		"status":                        "204 No Content",
		"Access-Control-Allow-Origin":   "https://player.example",
		"Access-Control-Allow-Methods":  "OPTIONS, POST",
		"Access-Control-Allow-Headers":  "Authorization, Content-Type, If-Match",
		"Access-Control-Expose-Headers": "Location, ETag, Link, Accept-Patch",
		"Accept-Post":                   "application/sdp",
		"Link":                          stunLink,
	}
	if !mapsEqual(got, want) {
		t.Errorf("OPTIONS:\n%v\nwant\n%v", got, want)
	}
	if resp := do(t, http.MethodOptions, endpoint, map[string]string{"Origin": "https://evil.example"}, ""); resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("CORS allowed an origin not in the list")
	}

	w := newViewer(t, endpoint, "porch-only")
	if w.resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %d %s", w.resp.StatusCode, w.answer)
	}
	w.next(t)
	loc, etag := hs.URL+w.resp.Header.Get("Location"), w.resp.Header.Get("ETag")
	ufrag := sdpAttr(w.pc.LocalDescription().SDP, "ice-ufrag")
	frag := "a=ice-ufrag:" + ufrag + "\r\na=ice-pwd:" + sdpAttr(w.pc.LocalDescription().SDP, "ice-pwd") +
		"\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host\r\na=end-of-candidates\r\n"
	frag2 := "a=ice-ufrag:other\r\na=ice-pwd:otherpasswordotherpassword\r\n"
	trickle := "application/trickle-ice-sdpfrag"
	for _, tc := range []struct {
		name string
		url  string
		hdr  map[string]string
		body string
		want int
	}{
		{"stale ETag", loc, map[string]string{"Content-Type": trickle, "If-Match": `"0000"`}, frag, 412},
		{"wrong type", loc, map[string]string{"Content-Type": "text/plain", "If-Match": etag}, frag, 415},
		{"candidates", loc, map[string]string{"Content-Type": trickle, "If-Match": etag}, frag, 204},
		{"ICE restart", loc, map[string]string{"Content-Type": trickle, "If-Match": etag}, frag2, 501},
		{"garbage", loc, map[string]string{"Content-Type": trickle, "If-Match": etag}, "hello", 400},
		{"unknown session", endpoint + "/00", map[string]string{"Content-Type": trickle}, frag, 404},
		{"session of another camera", strings.Replace(loc, "/porch/", "/garage/", 1), map[string]string{"Content-Type": trickle}, frag, 404},
	} {
		if resp := do(t, http.MethodPatch, tc.url, tc.hdr, tc.body); resp.StatusCode != tc.want {
			t.Errorf("PATCH %s: %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}

	// The operator's window ends: the hub closes their views.
	if n := s.CloseSessions(func(who, cam string) bool { return who == "operator" }, "operator window ended"); n != 1 {
		t.Errorf("CloseSessions ended %d, want 1", n)
	}
	view := <-v.ch
	view.Frames = 0
	if want := (View{Who: "operator", Camera: "porch", Start: t0, Duration: time.Second, Ended: "operator window ended"}); view != want {
		t.Errorf("view %+v, want %+v", view, want)
	}
	for range w.AUs {
	}
}

func TestParseFragment(t *testing.T) {
	f, err := parseFragment("a=ice-ufrag:abc\r\na=ice-pwd:p\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 udp 1 10.0.0.2 5000 typ host\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:1\r\na=candidate:2 1 udp 1 10.0.0.2 5002 typ host\r\na=end-of-candidates\r\n")
	if err != nil {
		t.Fatal(err)
	}
	want := fragment{ufrag: "abc", candidates: []fragCandidate{{"0", "candidate:1 1 udp 1 10.0.0.2 5000 typ host"}, {"1", "candidate:2 1 udp 1 10.0.0.2 5002 typ host"}}}
	if f.ufrag != want.ufrag || !slices.Equal(f.candidates, want.candidates) {
		t.Errorf("got %+v, want %+v", f, want)
	}
	if _, err := parseFragment("a=mid:0\r\nrubbish\r\n"); err == nil || err.Error() != `webrtc: fragment line "rubbish" is not an SDP attribute` {
		t.Errorf("rubbish: %v", err)
	}
}

func TestWHEPViewsEndWithTheCameraOrTheServer(t *testing.T) {
	porch, stopPorch := stoppableCamera(t, "porch")
	yard := liveCamera(t, "yard")
	v := &views{ch: make(chan View, 4)}
	s, hs := newServer(t, map[string]Camera{"porch": porch, "yard": yard}, v)
	s.cfg.MaxSessions = 2
	w1 := newViewer(t, hs.URL+"/api/v1/cameras/porch/whep", "alice-token")
	w2 := newViewer(t, hs.URL+"/api/v1/cameras/yard/whep", "alice-token")
	if w1.resp.StatusCode != http.StatusCreated || w2.resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %d, %d", w1.resp.StatusCode, w2.resp.StatusCode)
	}
	w3 := newViewer(t, hs.URL+"/api/v1/cameras/yard/whep", "alice-token")
	if got := fmt.Sprintf("%d %s %q", w3.resp.StatusCode, w3.resp.Header.Get("Retry-After"), w3.answer); got != `503 10 "webrtc: 2 live views already; close one first\n"` {
		t.Errorf("third view: %s", got)
	}
	w1.next(t)
	w2.next(t)

	stopPorch()
	view := <-v.ch
	view.Frames = 0
	if want := (View{Who: "alice", Camera: "porch", Start: t0, Duration: 2 * time.Second, Ended: "camera stopped"}); view != want {
		t.Errorf("view %+v, want %+v", view, want)
	}
	for range w1.AUs {
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	view = <-v.ch
	view.Frames = 0
	if want := (View{Who: "alice", Camera: "yard", Start: t0.Add(time.Second), Duration: 2 * time.Second, Ended: "closed by the hub"}); view != want {
		t.Errorf("view %+v, want %+v", view, want)
	}
	for range w2.AUs {
	}
	if resp := do(t, http.MethodPost, hs.URL+"/api/v1/cameras/yard/whep", map[string]string{"Content-Type": "application/sdp", "Authorization": "Bearer alice-token"}, "v=0"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("POST after Close: %d, want 503", resp.StatusCode)
	}
}

// Room for views: one viewer's views of one camera beyond MaxPerViewer end its
// oldest of that camera; a full server refuses others but makes room for a
// priority viewer (the centre's operator) by ending the oldest other view.
func TestWHEPRoomPerViewerAndForTheCentre(t *testing.T) {
	porch, yard := liveCamera(t, "porch"), liveCamera(t, "yard")
	v := &views{ch: make(chan View, 8)}
	s, hs := newServer(t, map[string]Camera{"porch": porch, "yard": yard}, v)
	s.cfg.MaxSessions, s.cfg.MaxPerViewer = 3, 2
	s.cfg.Priority = func(who string) bool { return who == "operator" }
	post := func(cam, token string, want int) *viewer {
		t.Helper()
		w := newViewer(t, hs.URL+"/api/v1/cameras/"+cam+"/whep", token)
		if w.resp.StatusCode != want {
			t.Fatalf("%s on %s: %d %q, want %d", token, cam, w.resp.StatusCode, w.answer, want)
		}
		return w
	}
	ended := func() string {
		t.Helper()
		select {
		case x := <-v.ch:
			return x.Who + " " + x.Camera + ": " + x.Ended
		case <-time.After(10 * time.Second):
			t.Fatal("no view ended")
			return ""
		}
	}
	post("porch", "alice-token", http.StatusCreated)
	post("yard", "alice-token", http.StatusCreated)
	post("porch", "alice-token", http.StatusCreated) // two of porch, one of yard: all fit
	post("porch", "alice-token", http.StatusCreated) // her third of porch: her first porch goes
	var got []string
	got = append(got, ended())
	post("porch", "bob-token", http.StatusServiceUnavailable) // full
	post("porch", "porch-only", http.StatusCreated)           // the centre: alice's oldest view goes
	got = append(got, ended())
	if want := []string{"alice porch: replaced by a newer view", "alice yard: made room for the monitoring centre"}; !slices.Equal(got, want) {
		t.Errorf("views ended %q, want %q", got, want)
	}
	var left []string
	for _, x := range s.Sessions() {
		left = append(left, x.Who+" "+x.Camera)
	}
	slices.Sort(left)
	if want := []string{"alice porch", "alice porch", "operator porch"}; !slices.Equal(left, want) {
		t.Errorf("sessions %q, want %q", left, want)
	}
	select {
	case x := <-v.ch:
		t.Errorf("another view ended: %+v", x)
	default:
	}
}
