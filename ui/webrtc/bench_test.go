package webrtc

import (
	"runtime"
	"testing"
	"time"

	"vakt/sensors/camera"

	"github.com/pion/rtp"
)

// BenchmarkForwardPerViewer is the per-viewer cost of forwarding one RTP
// packet (1100-byte payload, a 4 Mbit/s stream sends about 450 a second) to a
// connected WHEP viewer on loopback: the track write, the interceptors
// (NACK buffer, reports), SRTP and the UDP send. ns/op, B/op and allocs/op are
// per packet per viewer.
func BenchmarkForwardPerViewer(b *testing.B) {
	// A camera that is never run: the session forwards nothing on its own.
	cam, err := camera.New(camera.Config{Name: "porch", URL: "rtsp://127.0.0.1:1/x"}, camera.Options{Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	s, hs := newServer(b, map[string]Camera{"porch": cam}, nil)
	w := newViewer(b, hs.URL+"/api/v1/cameras/porch/whep", "alice-token")
	if w.resp.StatusCode != 201 {
		b.Fatalf("POST: %d %s", w.resp.StatusCode, w.answer)
	}
	s.mu.Lock()
	var ss *session
	for _, x := range s.sessions {
		ss = x
	}
	s.mu.Unlock()
	select {
	case <-ss.connected:
	case <-time.After(20 * time.Second):
		b.Fatal("viewer did not connect")
	}
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, Timestamp: 1}, Payload: make([]byte, camera.RTPPayloadMax)}
	pkt.Payload[0] = 0x1c // FU-A, so the viewer's depacketizer stays quiet
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt.Payload)))
	for i := 0; b.Loop(); i++ {
		pkt.SequenceNumber = uint16(i)
		pkt.Timestamp = uint32(i/4) * 3000
		if err := ss.track.WriteRTP(pkt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTimeToFirstFrame is the time from a viewer's POST to its first
// decodable frame, with an always-on camera: offer, answer, ICE and DTLS on
// loopback, then the ring buffer's newest keyframe.
func BenchmarkTimeToFirstFrame(b *testing.B) {
	cam := liveCamera(b, "porch")
	_, hs := newServer(b, map[string]Camera{"porch": cam}, nil)
	for b.Loop() {
		w := newViewer(b, hs.URL+"/api/v1/cameras/porch/whep", "alice-token")
		if w.resp.StatusCode != 201 {
			b.Fatalf("POST: %d %s", w.resp.StatusCode, w.answer)
		}
		w.next(b)
		if err := w.pc.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkViewerMemory reports the memory (heap and goroutine stacks) ten
// connected viewers of one always-on camera take, per viewer, measured after a
// collection. Both ends of
// each connection live in the test process, so the figure is an upper bound:
// the hub's side is about half of it.
func BenchmarkViewerMemory(b *testing.B) {
	cam := liveCamera(b, "porch")
	s, hs := newServer(b, map[string]Camera{"porch": cam}, nil)
	const n = 10
	// Ten people watching, not one person's ten views (which would take turns).
	s.cfg.MaxPerViewer = n
	var perViewer float64
	for b.Loop() {
		before := inUse()
		var ws []*viewer
		for range n {
			w := newViewer(b, hs.URL+"/api/v1/cameras/porch/whep", "alice-token")
			if w.resp.StatusCode != 201 {
				b.Fatalf("POST: %d %s", w.resp.StatusCode, w.answer)
			}
			ws = append(ws, w)
		}
		for _, w := range ws {
			for range 25 { // a second of video each
				w.next(b)
			}
		}
		perViewer = float64(inUse()-before) / n
		for _, w := range ws {
			if err := w.pc.Close(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(perViewer, "B/viewer")
}

func inUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse + m.StackInuse)
}
