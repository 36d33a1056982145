package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"vakt/sensors/camera/camtest"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
)

// matchWriter sends each log line that matches re to ch (never blocking).
type matchWriter struct {
	mu  sync.Mutex
	buf []byte
	re  *regexp.Regexp
	ch  chan []string
}

func (w *matchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		if m := w.re.FindStringSubmatch(string(w.buf[:i])); m != nil {
			select {
			case w.ch <- m:
			default:
			}
		}
		w.buf = w.buf[i+1:]
	}
}

// TestAlarmWritesCameraClip runs the real binary's run with an always-on camera
// (a fake RTSP camera) linked to the window zone: the alarm in that zone writes a
// clip into DATA/clips that starts at a keyframe and holds the pre-alarm buffer
// and the following second.
func TestAlarmWritesCameraClip(t *testing.T) {
	fake := camtest.Start(t, camtest.Options{User: "viewer", Pass: "pw", FPS: 25})
	dir, args := setup(t)
	video := "video:\n  clip_seconds: 1\n  media_listen: 127.0.0.1:0\n  cameras:\n    - {name: garden, url: \"" + fake.URL + "\", always_on: true, buffer_seconds: 2, zones: [window]}\n" +
		"    - {name: garage, url: \"" + fake.URL + "\", zones: [window]}\n"
	if err := os.WriteFile(filepath.Join(dir, "vakt.yaml"), []byte(bootYAML+video), 0o600); err != nil {
		t.Fatal(err)
	}
	lines := &matchWriter{re: regexp.MustCompile(`msg="(?:video: alarm clip|camera: connected)" camera=(\S+)(?: zone=(\S+) file=(\S+))?`), ch: make(chan []string, 4)}
	p := startHubLog(t, lines, args...)
	defer p.stop(t)
	// Once the always-on camera is connected, a second of video fills its buffer.
	for m := range lines.ch {
		if m[1] == "garden" {
			break
		}
	}
	fake.AwaitPublished(t, fake.Published()+25)
	alarmInWindow(t, p)

	var m []string
	select {
	case m = <-lines.ch:
	case <-time.After(30 * time.Second):
		t.Fatal("no clip within 30 s of the alarm")
	}
	if m[1] != "garden" || m[2] != "window" || filepath.Dir(m[3]) != filepath.Join(p.data, "clips") || !strings.HasPrefix(filepath.Base(m[3]), "garden_") {
		t.Fatalf("clip line %q", m[0])
	}
	data, err := os.ReadFile(m[3])
	if err != nil {
		t.Fatal(err)
	}
	var init fmp4.Init
	if err := init.Unmarshal(bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	var parts fmp4.Parts
	if err := parts.Unmarshal(data); err != nil {
		t.Fatal(err)
	}
	var dur uint64
	for _, part := range parts {
		for _, s := range part.Tracks[0].Samples {
			dur += uint64(s.Duration)
		}
	}
	if len(parts) == 0 || parts[0].Tracks[0].Samples[0].IsNonSyncSample || dur < 90000+36000 {
		t.Errorf("clip: %d fragments, %d/90000 s, first sample sync %v; want a keyframe first, at least 0.4 s before the alarm and 1 s after it",
			len(parts), dur, len(parts) > 0 && !parts[0].Tracks[0].Samples[0].IsNonSyncSample)
	}
	// Only the always-on camera made one.
	select {
	case m := <-lines.ch:
		t.Errorf("a second clip: %q", m[0])
	default:
	}
}
