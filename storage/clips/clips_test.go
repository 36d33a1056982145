package clips

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"vakt/sensors/camera"
	"vakt/sensors/camera/camtest"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// liveCamera runs an always-on camera with a 1 s buffer on a fake RTSP camera
// and returns it with a subscription that has seen every frame so far.
func liveCamera(t *testing.T) (*camera.Camera, *camera.Subscription) {
	t.Helper()
	return runCamera(t, "front door", camtest.Options{FPS: 25}, false)
}

// runCamera runs an always-on camera with a 1 s buffer on a fake RTSP camera
// with opts and returns it with a subscription (with audio when audio is set)
// that has seen everything so far.
func runCamera(t *testing.T, name string, opts camtest.Options, audio bool) (*camera.Camera, *camera.Subscription) {
	t.Helper()
	fake := camtest.Start(t, opts)
	cam, err := camera.New(camera.Config{Name: name, URL: fake.URL, AlwaysOn: true, Buffer: time.Second}, camera.Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	subscribe := cam.Subscribe
	if audio {
		subscribe = cam.SubscribeAudio
	}
	all := subscribe(camera.ReplayNone, 1000)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cam.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return cam, all
}

func next(t *testing.T, s *camera.Subscription) *camera.Frame {
	t.Helper()
	select {
	case f := <-s.C():
		return f
	case <-time.After(20 * time.Second):
		t.Fatal("no frame within 20s")
	}
	return nil
}

// sampleLine describes a sample as read back from the file.
func sampleLine(dts int64, s *fmp4.Sample) string {
	au, err := s.GetH264()
	if err != nil {
		return "undecodable: " + err.Error()
	}
	return fmt.Sprintf("dts=%d dur=%d off=%d sync=%v nalus=%d bytes=%x", dts, s.Duration, s.PTSOffset, !s.IsNonSyncSample, len(au), sum(au))
}

func sum(au [][]byte) uint32 {
	var h uint32
	for _, n := range au {
		for _, b := range n {
			h = h*31 + uint32(b)
		}
	}
	return h
}

func TestClipHoldsPreAndPostAlarmVideo(t *testing.T) {
	cam, all := liveCamera(t)
	var seen []*camera.Frame
	for range 45 { // 1.8 s: the buffer holds 1 s and more, from a keyframe
		seen = append(seen, next(t, all))
	}
	dir := t.TempDir()
	w, err := New(Config{Dir: dir, Post: time.Second, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := w.Clip(context.Background(), cam, "alarm in zone 1")
	if err != nil {
		t.Fatal(err)
	}
	for seen[len(seen)-1].Seq < c.FirstSeq+uint64(c.Frames) {
		seen = append(seen, next(t, all))
	}

	// The clip's frames are the camera's, from the buffer's first keyframe on,
	// pre-alarm part included, and 1 s of video after the trigger.
	first := slices.IndexFunc(seen, func(f *camera.Frame) bool { return f.Seq == c.FirstSeq })
	want := seen[first : first+c.Frames]
	if !want[0].Key {
		t.Fatalf("buffer starts with a non-keyframe")
	}
	if c.PreAlarm < time.Second || c.PreAlarm > 1440*time.Millisecond {
		t.Errorf("pre-alarm %v, want the 1 s buffer and up to one picture group (0.4 s) and frame more", c.PreAlarm)
	}
	post := c.Duration - c.PreAlarm
	if post != time.Second {
		t.Errorf("post-alarm %v (duration %v - pre-alarm %v), want 1s", post, c.Duration, c.PreAlarm)
	}
	if wantFrames := int((c.PreAlarm + time.Second) / (40 * time.Millisecond)); c.Frames != wantFrames {
		t.Errorf("%d frames, want %d (%v at 25 frames/s)", c.Frames, wantFrames, c.Duration)
	}
	if c.Camera != "front door" || c.Reason != "alarm in zone 1" || c.Name != "front_door_"+c.Trigger.UTC().Format("20060102T150405Z")+".mp4" || c.Path != filepath.Join(dir, c.Name) {
		t.Errorf("clip %+v", c)
	}

	// Read it back with mediacommon's fMP4 reader.
	data, err := os.ReadFile(c.Path)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(data)) != c.Bytes {
		t.Errorf("file has %d bytes, clip says %d", len(data), c.Bytes)
	}
	var init fmp4.Init
	if err := init.Unmarshal(bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	h, ok := init.Tracks[0].Codec.(*mp4.CodecH264)
	if len(init.Tracks) != 1 || !ok || init.Tracks[0].TimeScale != 90000 {
		t.Fatalf("init %+v", init.Tracks[0])
	}
	st, _ := camtest.LoadStream()
	if !bytes.Equal(h.SPS, st.SPS) || !bytes.Equal(h.PPS, st.PPS) {
		t.Errorf("init segment SPS/PPS differ from the camera's")
	}
	var parts fmp4.Parts
	if err := parts.Unmarshal(data); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range parts {
		dts := int64(p.Tracks[0].BaseTime)
		for _, s := range p.Tracks[0].Samples {
			got = append(got, sampleLine(dts, s))
			dts += int64(s.Duration)
		}
	}
	var exp []string
	for _, f := range want {
		s := &fmp4.Sample{Duration: 3600}
		if err := s.FillH264(0, f.AU); err != nil {
			t.Fatal(err)
		}
		exp = append(exp, sampleLine(int64(f.DTS-want[0].DTS)*90000/int64(time.Second), s))
	}
	if !slices.Equal(got, exp) {
		t.Errorf("samples:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(exp, "\n"))
	}
	// One fragment per picture group, each starting with a keyframe.
	for i, p := range parts {
		if p.Tracks[0].Samples[0].IsNonSyncSample || p.SequenceNumber != uint32(i+1) {
			t.Errorf("fragment %d: sequence %d, starts with a sync sample %v", i, p.SequenceNumber, !p.Tracks[0].Samples[0].IsNonSyncSample)
		}
	}
	if files, _ := w.List(); len(files) != 1 || files[0].Name != c.Name {
		t.Errorf("dir holds %+v", files)
	}
}

func TestClipWithoutVideoIsAnErrorAndLeavesNoFile(t *testing.T) {
	cam, err := camera.New(camera.Config{Name: "attic", URL: "rtsp://127.0.0.1:1/x", AlwaysOn: true}, camera.Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	w, err := New(Config{Dir: dir, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the alarm's context ends before any video came
	_, err = w.Clip(ctx, cam, "alarm")
	if err == nil || err.Error() != "clips: attic: the camera delivered no video" {
		t.Errorf("err %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("dir holds %d entries", len(entries))
	}
}

func TestPruneDeletesOldestFirst(t *testing.T) {
	dir := t.TempDir()
	w, err := New(Config{Dir: dir, Quota: 250, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	oldClips(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), make([]byte, 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	w.prune(filepath.Join(dir, "d_4.mp4"))
	if got, want := names(t, w), []string{"c_3.mp4", "d_4.mp4"}; !slices.Equal(got, want) {
		t.Errorf("left %v, want %v", got, want)
	}
	// A clip larger than the quota on its own stays; all others go.
	small, _ := New(Config{Dir: dir, Quota: 50, Logger: quietLogger()})
	small.prune(filepath.Join(dir, "c_3.mp4"))
	if got := names(t, small); !slices.Equal(got, []string{"c_3.mp4"}) {
		t.Errorf("left %v, want c_3.mp4 only", got)
	}
}
