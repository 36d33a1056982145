package camera

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"vakt/sensors/camera/camtest"

	"github.com/pion/rtp"
)

// nextAudio reads one audio packet or fails the test after a generous deadline.
func nextAudio(t *testing.T, s *Subscription) *AudioPacket {
	t.Helper()
	return receive(t, s.Audio(), "audio")
}

// receive reads one value of ch or fails the test after a generous deadline.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatal("subscription closed")
		}
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("no %s within 20s", what)
	}
	var zero T
	return zero
}

func TestG711AudioPassesThroughWithVideo(t *testing.T) {
	for _, codec := range []struct {
		fake string
		want Audio
		pt   uint8
	}{
		{camtest.AudioPCMU, Audio{Codec: AudioPCMU, ClockRate: 8000, Channels: 1}, 0},
		{camtest.AudioPCMA, Audio{Codec: AudioPCMA, ClockRate: 8000, Channels: 1}, 8},
	} {
		t.Run(codec.fake, func(t *testing.T) {
			fake := camtest.Start(t, camtest.Options{FPS: 25, Audio: codec.fake})
			cam, err := New(Config{Name: "door", URL: fake.URL, AlwaysOn: true, Buffer: time.Second}, Options{Logger: quietLogger()})
			if err != nil {
				t.Fatal(err)
			}
			sub := cam.SubscribeAudio(ReplayNone, 200)
			video := cam.Subscribe(ReplayNone, 200)
			defer video.Close()
			runCamera(t, cam)
			const packets = 60 // 1.2 s
			got := make([]*AudioPacket, packets)
			for i := range got {
				got[i] = nextAudio(t, sub)
			}
			// The video goes on alongside, on the same timeline.
			var frames []*Frame
			for len(frames) == 0 || frames[len(frames)-1].PTS < got[packets-1].PTS {
				frames = append(frames, next(t, sub))
			}
			if a, known := cam.Audio(); a != codec.want || !known {
				t.Errorf("Audio() = %+v, %v; want %+v, true", a, known, codec.want)
			}
			// The payloads are the camera's packets, in order, with no gap.
			payloads := make([][]byte, len(got))
			for i, p := range got {
				payloads[i] = p.RTP.Payload
			}
			if camtest.AudioIndex(codec.fake, payloads...) < 0 {
				t.Fatal("the audio payloads are not the camera's packets in order")
			}
			first := got[0]
			if first.PTS < frames[0].PTS || first.PTS > frames[0].PTS+time.Second {
				t.Errorf("first audio at %v, first picture at %v: not on one timeline", first.PTS, frames[0].PTS)
			}
			for i, p := range got {
				wantPTS := first.PTS + time.Duration(i)*camtest.AudioPacketTime
				ts := first.RTP.Timestamp + uint32(i*160)
				if p.Seq != uint64(i+1) || p.RTP.SequenceNumber != uint16(i+1) || p.PTS != wantPTS ||
					p.RTP.Timestamp != ts || p.RTP.PayloadType != codec.pt || p.Audio != codec.want {
					t.Fatalf("audio packet %d: seq %d/%d pts %v ts %d pt %d %+v; want seq %d pts %v ts %d pt %d %+v",
						i, p.Seq, p.RTP.SequenceNumber, p.PTS, p.RTP.Timestamp, p.RTP.PayloadType, p.Audio,
						i+1, wantPTS, ts, codec.pt, codec.want)
				}
			}
			if first.RTP.Timestamp != uint32(first.PTS*8000/time.Second) {
				t.Errorf("first audio timestamp %d, want %d (PTS %v at 8 kHz)", first.RTP.Timestamp, first.PTS*8000/time.Second, first.PTS)
			}
			// The video subscriber gets no audio; the frames stay whole.
			if video.Audio() != nil {
				t.Error("Subscribe (video only) has an audio channel")
			}
			if !frames[0].Key {
				t.Errorf("first frame %v, want a keyframe", describeFrame(frames[0]))
			}
			// The ring buffer holds the audio from its first picture on.
			all := cam.SubscribeAudio(ReplayAll, 1)
			defer all.Close()
			buffered := cam.Buffered()
			a := nextAudio(t, all)
			if a.PTS < buffered[0].PTS || a.PTS > buffered[0].PTS+200*time.Millisecond {
				t.Errorf("buffered audio starts at %v, its first picture at %v", a.PTS, buffered[0].PTS)
			}
			if st := cam.Stats(); st.AudioPackets < packets || sub.AudioDropped() != 0 {
				t.Errorf("stats %+v, dropped %d; want at least %d audio packets, none dropped", st, sub.AudioDropped(), packets)
			}
		})
	}
}

// lockedBuffer is a log sink for a camera's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines(match string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for line := range strings.Lines(l.b.String()) {
		if strings.Contains(line, match) {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}

func TestUnsupportedAudioIsSkippedWithALogLine(t *testing.T) {
	fake := camtest.Start(t, camtest.Options{FPS: 25, Audio: camtest.AudioAAC})
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	cam, err := New(Config{Name: "garden", URL: fake.URL, AlwaysOn: true}, Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	sub := cam.SubscribeAudio(ReplayNone, 100)
	runCamera(t, cam)
	for range 25 { // a second of video, 50 audio packets offered
		next(t, sub)
	}
	fake.AwaitPublished(t, 30)
	if a, known := cam.Audio(); a != (Audio{}) || !known {
		t.Errorf("Audio() = %+v, %v; want none, known", a, known)
	}
	if n := len(sub.Audio()); n != 0 || cam.Stats().AudioPackets != 0 {
		t.Errorf("%d audio packets delivered (stats %d), want none", n, cam.Stats().AudioPackets)
	}
	want := []string{`level=INFO msg="camera: audio track skipped: only Opus and G.711 (8 kHz mono) pass through to browsers, and the hub does not transcode" camera=garden codecs="[MPEG-4 Audio/16000]"`}
	if got := logs.lines("audio"); !slices.Equal(got[:min(1, len(got))], want) || len(got) != 2 {
		t.Errorf("audio log lines %q, want %q and the connect line", got, want)
	}
}

func TestRingKeepsAudioFromItsFirstPicture(t *testing.T) {
	r := ring{span: time.Second, maxBytes: 1 << 20}
	audio := func(ms int) *AudioPacket {
		return &AudioPacket{Seq: uint64(ms/20 + 1), PTS: time.Duration(ms) * time.Millisecond, RTP: rtpPayload(10)}
	}
	r.pushAudio(audio(0)) // no picture yet: not kept
	for i := range 35 {
		r.push(&Frame{Seq: uint64(i + 1), PTS: time.Duration(i) * 100 * time.Millisecond, Key: i%10 == 0, Size: 100})
		r.pushAudio(audio(i*100 + 20))
		r.pushAudio(audio(i*100 + 60))
	}
	var seqs []uint64
	for _, p := range r.allAudio() {
		seqs = append(seqs, p.Seq)
	}
	// Pictures 21..35 (2.0 s to 3.4 s) and the audio from 2.0 s on.
	var want []uint64
	for ms := 2000; ms < 3500; ms += 100 {
		want = append(want, uint64((ms+20)/20+1), uint64((ms+60)/20+1))
	}
	if !slices.Equal(seqs, want) || r.bytes != 1500+30*10 {
		t.Errorf("ring audio %v (%d bytes), want %v (1800 bytes)", seqs, r.bytes, want)
	}
	// Audio counts toward the byte limit: a picture group and its audio over
	// the limit empty the buffer.
	small := ring{span: time.Hour, maxBytes: 250}
	small.push(&Frame{Seq: 1, Key: true, Size: 200})
	if small.pushAudio(audio(20)) || len(small.audio) != 1 {
		t.Fatalf("audio under the limit not kept: %d packets", len(small.audio))
	}
	if !small.pushAudio(&AudioPacket{PTS: 40 * time.Millisecond, RTP: rtpPayload(41)}) || len(small.frames) != 0 || len(small.audio) != 0 || small.bytes != 0 {
		t.Errorf("over-limit ring holds %d frames, %d audio, %d bytes; want empty", len(small.frames), len(small.audio), small.bytes)
	}
}

func rtpPayload(n int) *rtp.Packet { return &rtp.Packet{Payload: make([]byte, n)} }

func TestAwaitAudioConnectsAnOnDemandCamera(t *testing.T) {
	fake := camtest.Start(t, camtest.Options{FPS: 25, Audio: camtest.AudioOpus})
	cam, err := New(Config{Name: "shed", URL: fake.URL}, Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if a, known := cam.Audio(); a != (Audio{}) || known {
		t.Fatalf("before any connection: Audio() = %+v, %v; want unknown", a, known)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	runCamera(t, cam)
	want := Audio{Codec: AudioOpus, ClockRate: 48000, Channels: 2}
	if a := cam.AwaitAudio(ctx); a != want || ctx.Err() != nil {
		t.Fatalf("AwaitAudio = %+v (ctx %v), want %+v", a, ctx.Err(), want)
	}
	// Known now: the next call answers at once, even with an ended context.
	done, stop := context.WithCancel(context.Background())
	stop()
	if a := cam.AwaitAudio(done); a != want || fake.Setups() != 2 {
		t.Errorf("AwaitAudio again = %+v after %d setups, want %+v after 2 (video and audio, one connection)", a, fake.Setups(), want)
	}
}

func TestAwaitAudioOfAStoppedCameraReturns(t *testing.T) {
	cam, err := New(Config{Name: "shed", URL: "rtsp://127.0.0.1:1/x"}, Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := cam.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	wait, stop := context.WithTimeout(context.Background(), 20*time.Second)
	defer stop()
	if a := cam.AwaitAudio(wait); a != (Audio{}) || wait.Err() != nil {
		t.Errorf("AwaitAudio of a stopped camera = %+v (ctx %v), want none at once", a, wait.Err())
	}
}

func TestSlowAudioSubscriberDropsAudioOnly(t *testing.T) {
	cam, err := New(Config{Name: "yard", URL: "rtsp://127.0.0.1:1/x", AlwaysOn: true}, Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	slow := cam.SubscribeAudio(ReplayNone, 1) // room for 1 frame and 4 audio packets
	fast := cam.SubscribeAudio(ReplayNone, 100)
	video := cam.Subscribe(ReplayNone, 100)
	a := Audio{Codec: AudioPCMU, ClockRate: 8000, Channels: 1}
	cam.publish([][]byte{{0x65, 0x88}}, true, 0, 0, 2, true)
	for i := range 10 {
		cam.publishAudio(&rtp.Packet{Header: rtp.Header{Marker: true}, Payload: []byte{byte(i)}}, time.Duration(i)*20*time.Millisecond, a)
	}
	var slowSeqs, fastSeqs []uint64
	for len(slow.Audio()) > 0 {
		slowSeqs = append(slowSeqs, (<-slow.Audio()).Seq)
	}
	for len(fast.Audio()) > 0 {
		p := <-fast.Audio()
		fastSeqs = append(fastSeqs, p.Seq)
		if p.RTP.Payload[0] != byte(p.Seq-1) || p.RTP.Timestamp != uint32(160*(p.Seq-1)) || p.RTP.SequenceNumber != uint16(p.Seq) {
			t.Errorf("packet %d: payload %x ts %d seq %d", p.Seq, p.RTP.Payload, p.RTP.Timestamp, p.RTP.SequenceNumber)
		}
	}
	if want := []uint64{1, 2, 3, 4}; !slices.Equal(slowSeqs, want) {
		t.Errorf("slow subscriber got %v, want %v", slowSeqs, want)
	}
	if want := []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}; !slices.Equal(fastSeqs, want) {
		t.Errorf("fast subscriber got %v, want %v", fastSeqs, want)
	}
	// Audio lost to a full queue costs no video, and a video-only subscriber
	// gets no audio.
	if slow.AudioDropped() != 6 || fast.AudioDropped() != 0 || slow.Dropped() != 0 || len(slow.C()) != 1 || len(video.C()) != 1 || video.Audio() != nil {
		t.Errorf("dropped audio slow %d fast %d, video %d; frames slow %d video %d",
			slow.AudioDropped(), fast.AudioDropped(), slow.Dropped(), len(slow.C()), len(video.C()))
	}
	if st := cam.Stats(); st.AudioPackets != 10 || st.AudioDropped != 6 || st.Dropped != 0 {
		t.Errorf("stats %+v, want 10 audio packets, 6 dropped, no frame dropped", st)
	}
	slow.Close()
	if _, ok := <-slow.Audio(); ok {
		t.Error("closed subscription still delivers audio")
	}
}
