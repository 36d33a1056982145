package camera

import (
	"testing"
	"time"
)

// BenchmarkPublishTenSubscribers is the camera's cost per frame of a 4 Mbit/s,
// 25 frames/s stream (20 KB a frame): packetizing it once for WebRTC, the ring
// buffer, and handing it to ten subscribers that keep up.
func BenchmarkPublishTenSubscribers(b *testing.B) {
	cam, err := New(Config{Name: "bench", URL: "rtsp://127.0.0.1:1/x", AlwaysOn: true}, Options{Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	var subs []*Subscription
	for range 10 {
		subs = append(subs, cam.Subscribe(ReplayNone, 4))
	}
	au := [][]byte{make([]byte, 20000)}
	au[0][0] = 0x65
	b.ReportAllocs()
	b.SetBytes(int64(len(au[0])))
	for i := 0; b.Loop(); i++ {
		pts := time.Duration(i) * 40 * time.Millisecond
		cam.publish(au, i%25 == 0, pts, pts, len(au[0]), i == 0)
		for _, s := range subs {
			<-s.C()
		}
	}
}
