package webrtc

import (
	"net/http"
	"regexp"
	"slices"
	"testing"
	"time"

	"vakt/sensors/camera"
	"vakt/sensors/camera/camtest"

	"github.com/pion/rtp"
	pion "github.com/pion/webrtc/v4"
)

// readAudio hands the audio track's codec and packets to the test.
func (v *viewer) readAudio(tr *pion.TrackRemote) {
	defer close(v.audio)
	v.audioCodec <- tr.Codec()
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		select {
		case v.audio <- pkt:
		default:
		}
	}
}

func (v *viewer) nextAudio(t testing.TB) *rtp.Packet {
	t.Helper()
	select {
	case p, ok := <-v.audio:
		if !ok {
			t.Fatal("audio track ended")
		}
		return p
	case <-time.After(20 * time.Second):
		t.Fatal("no audio within 20s")
	}
	return nil
}

// audioLines are the answer's audio m-line and its rtpmap lines.
func audioLines(answer string) []string {
	var out []string
	in := false
	for _, line := range regexp.MustCompile(`\r?\n`).Split(answer, -1) {
		if len(line) > 2 && line[:2] == "m=" {
			in = regexp.MustCompile(`^m=audio `).MatchString(line)
			if in {
				out = append(out, regexp.MustCompile(`^m=audio \d+ `).ReplaceAllString(line, "m=audio PORT "))
			}
			continue
		}
		if in && regexp.MustCompile(`^a=(rtpmap|sendonly|recvonly|sendrecv|inactive)`).MatchString(line) {
			out = append(out, line)
		}
	}
	return out
}

func TestWHEPForwardsTheCamerasAudio(t *testing.T) {
	for _, tc := range []struct {
		fake  string
		lines []string
		mime  string
	}{
		{camtest.AudioPCMU, []string{"m=audio PORT UDP/TLS/RTP/SAVPF 0", "a=rtpmap:0 PCMU/8000/1", "a=sendonly"}, pion.MimeTypePCMU},
		{camtest.AudioPCMA, []string{"m=audio PORT UDP/TLS/RTP/SAVPF 8", "a=rtpmap:8 PCMA/8000/1", "a=sendonly"}, pion.MimeTypePCMA},
		{camtest.AudioOpus, []string{"m=audio PORT UDP/TLS/RTP/SAVPF 111", "a=rtpmap:111 opus/48000/2", "a=sendonly"}, pion.MimeTypeOpus},
	} {
		t.Run(tc.fake, func(t *testing.T) {
			cam, _ := fakeCamera(t, "porch", camtest.Options{FPS: 25, Audio: tc.fake})
			v := &views{ch: make(chan View, 4)}
			_, hs := newServer(t, map[string]Camera{"porch": cam}, v)
			w := newViewerAudio(t, hs.URL+"/api/v1/cameras/porch/whep", "alice-token", true)
			if w.resp.StatusCode != http.StatusCreated {
				t.Fatalf("POST: %d %s", w.resp.StatusCode, w.answer)
			}
			if got := audioLines(w.answer); !slices.Equal(got, tc.lines) {
				t.Errorf("answer's audio %q, want %q\n%s", got, tc.lines, w.answer)
			}
			// Video and audio both flow; the audio packets are the camera's,
			// in order, one every 20 ms of timestamps.
			w.next(t)
			codec := <-w.audioCodec
			if codec.MimeType != tc.mime {
				t.Errorf("audio track codec %s, want %s", codec.MimeType, tc.mime)
			}
			const n = 50
			got := make([]*rtp.Packet, n)
			for i := range got {
				got[i] = w.nextAudio(t)
			}
			step := uint32(160)
			if tc.fake == camtest.AudioOpus {
				step = 960
			}
			payloads := make([][]byte, n)
			for i, p := range got {
				payloads[i] = p.Payload
				if p.SequenceNumber != got[0].SequenceNumber+uint16(i) || p.Timestamp != got[0].Timestamp+uint32(i)*step {
					t.Fatalf("audio packet %d: seq %d ts %d, want seq %d ts %d",
						i, p.SequenceNumber, p.Timestamp, got[0].SequenceNumber+uint16(i), got[0].Timestamp+uint32(i)*step)
				}
			}
			if camtest.AudioIndex(tc.fake, payloads...) < 0 {
				t.Fatal("the audio payloads are not the camera's packets in order")
			}
			for range 10 {
				w.next(t)
			}
			if err := w.pc.Close(); err != nil {
				t.Fatal(err)
			}
			view := <-v.ch
			if view.AudioPackets < n || view.Frames < 11 {
				t.Errorf("view counted %d audio packets and %d frames; the viewer received %d and 11", view.AudioPackets, view.Frames, n)
			}
		})
	}
}

func TestWHEPOfferWithoutAudioGetsVideoOnly(t *testing.T) {
	cam, _ := fakeCamera(t, "porch", camtest.Options{FPS: 25, Audio: camtest.AudioPCMU})
	v := &views{ch: make(chan View, 4)}
	_, hs := newServer(t, map[string]Camera{"porch": cam}, v)
	w := newViewer(t, hs.URL+"/api/v1/cameras/porch/whep", "alice-token")
	if w.resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %d %s", w.resp.StatusCode, w.answer)
	}
	if got := audioLines(w.answer); len(got) != 0 {
		t.Errorf("answer has audio %q for an offer without", got)
	}
	for range 30 {
		w.next(t)
	}
	if a, _ := cam.Audio(); a.Codec != camera.AudioPCMU {
		t.Fatalf("camera audio %+v, want PCMU", a)
	}
	if err := w.pc.Close(); err != nil {
		t.Fatal(err)
	}
	if view := <-v.ch; view.AudioPackets != 0 || view.Frames < 30 {
		t.Errorf("view counted %d audio packets and %d frames, want 0 and at least 30", view.AudioPackets, view.Frames)
	}
}

func TestWHEPCameraWithoutAudioAnswersVideoOnly(t *testing.T) {
	cam := liveCamera(t, "porch")
	_, hs := newServer(t, map[string]Camera{"porch": cam}, nil)
	w := newViewerAudio(t, hs.URL+"/api/v1/cameras/porch/whep", "alice-token", true)
	if w.resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %d %s", w.resp.StatusCode, w.answer)
	}
	// The viewer's audio m-line is answered as inactive: nothing to send.
	want := []string{"m=audio PORT UDP/TLS/RTP/SAVPF 111 0 8", "a=rtpmap:111 opus/48000/2", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000", "a=inactive"}
	if got := audioLines(w.answer); !slices.Equal(got, want) {
		t.Errorf("answer's audio %q, want %q", got, want)
	}
	for range 20 {
		w.next(t)
	}
	if len(w.audio) != 0 {
		t.Errorf("%d audio packets from a camera without audio", len(w.audio))
	}
}
