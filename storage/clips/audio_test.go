package clips

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"vakt/sensors/camera/camtest"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4"
)

// audioClip writes a clip (1 s buffer, 1 s after) of a fake camera with audio
// and reads it back with mediacommon's fMP4 reader.
func audioClip(t *testing.T, audio string) (Clip, fmp4.Init, fmp4.Parts) {
	t.Helper()
	cam, all := runCamera(t, "porch", camtest.Options{FPS: 25, Audio: audio}, true)
	for range 40 { // the buffer fills: 1.6 s of video and its audio
		next(t, all)
	}
	all.Close()
	w, err := New(Config{Dir: t.TempDir(), Post: time.Second, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := w.Clip(context.Background(), cam, "alarm")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(c.Path)
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
	return c, init, parts
}

func TestClipCarriesOpusAudio(t *testing.T) {
	c, init, parts := audioClip(t, camtest.AudioOpus)
	if len(init.Tracks) != 2 || init.Tracks[1].ID != 2 || init.Tracks[1].TimeScale != 48000 {
		t.Fatalf("init has %d tracks, want H.264 and Opus at 48 kHz", len(init.Tracks))
	}
	if o, ok := init.Tracks[1].Codec.(*mp4.CodecOpus); !ok || o.ChannelCount != 2 {
		t.Fatalf("audio track codec %#v, want Opus, 2 channels", init.Tracks[1].Codec)
	}
	// The audio samples are the camera's Opus packets, 20 ms each, with no gap
	// from one fragment to the next, from the clip's start to its end.
	var start, end int64 = -1, -1
	var payloads [][]byte
	for _, p := range parts {
		for _, tr := range p.Tracks {
			if tr.ID != 2 {
				continue
			}
			if end >= 0 && int64(tr.BaseTime) != end {
				t.Fatalf("audio fragment %d starts at %d, the one before ended at %d", p.SequenceNumber, tr.BaseTime, end)
			}
			if start < 0 {
				start = int64(tr.BaseTime)
			}
			end = int64(tr.BaseTime)
			for _, s := range tr.Samples {
				if s.Duration != 960 {
					t.Fatalf("audio sample %d: duration %d, want 960", len(payloads), s.Duration)
				}
				payloads = append(payloads, s.Payload)
				end += int64(s.Duration)
			}
		}
	}
	if n := len(payloads); n != c.AudioSamples || n == 0 {
		t.Fatalf("%d audio samples in the file, the clip says %d", n, c.AudioSamples)
	}
	if camtest.AudioIndex(camtest.AudioOpus, payloads...) < 0 {
		t.Fatal("the clip's audio is not the camera's packets in order")
	}
	// Sound and picture start and end together (within a packet and a frame).
	if start >= 48000/25+960 {
		t.Errorf("audio starts %v after the picture", time.Duration(start)*time.Second/48000)
	}
	if d := time.Duration(end)*time.Second/48000 - c.Duration; d < -60*time.Millisecond || d > 60*time.Millisecond {
		t.Errorf("audio ends at %v, the video at %v", time.Duration(end)*time.Second/48000, c.Duration)
	}
}

func TestClipOfG711CameraIsVideoOnly(t *testing.T) {
	c, init, parts := audioClip(t, camtest.AudioPCMU)
	if len(init.Tracks) != 1 || c.AudioSamples != 0 {
		t.Fatalf("init has %d tracks and %d audio samples, want video only", len(init.Tracks), c.AudioSamples)
	}
	for _, p := range parts {
		if len(p.Tracks) != 1 || p.Tracks[0].ID != 1 {
			t.Fatalf("fragment %d has %d tracks", p.SequenceNumber, len(p.Tracks))
		}
	}
}
