package webrtc

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"vakt/sensors/camera/camtest"
	"vakt/ui/webrtc/whepclient"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtp"
)

// pictureIndex maps the test stream's pictures (their slices) to their place in
// the stream: the viewer's frames say which picture the hub sent.
func pictureIndex(t *testing.T) (func(nalus [][]byte) int, int) {
	t.Helper()
	st, err := camtest.LoadStream()
	if err != nil {
		t.Fatal(err)
	}
	find, n := pictures(t, st)
	return func(nalus [][]byte) int {
		i, ok := find(nalus)
		if !ok {
			t.Fatal("the viewer got a picture that is not in the stream")
		}
		return i
	}, n
}

// pictures maps st's pictures (their slices) to their place in st.
func pictures(t *testing.T, st camtest.Stream) (func(nalus [][]byte) (int, bool), int) {
	t.Helper()
	slicesOf := func(nalus [][]byte) string {
		var b []byte
		for _, n := range nalus {
			if typ := h264.NALUType(n[0] & 0x1f); typ == h264.NALUTypeIDR || typ == h264.NALUTypeNonIDR {
				b = append(b, n...)
			}
		}
		return string(b)
	}
	idx := map[string]int{}
	for i, au := range st.AUs {
		idx[slicesOf(au)] = i
	}
	if len(idx) != len(st.AUs) {
		t.Fatalf("the test stream's pictures are not all different: %d of %d", len(idx), len(st.AUs))
	}
	return func(nalus [][]byte) (int, bool) {
		i, ok := idx[slicesOf(nalus)]
		return i, ok
	}, len(st.AUs)
}

// A viewer that reports a lost picture (RTCP PLI) gets the newest keyframe and
// the frames after it again at once, numbered on from what it had (no gap, no
// repeat, timestamps going forward), and then the live frames; a second request
// before the camera's next keyframe is not answered with another burst.
func TestPictureLossResendsNewestKeyframeGroup(t *testing.T) {
	// 5 frames a second: the stream's keyframe every 10 frames comes every 2 s.
	cam, _ := fakeCamera(t, "porch", camtest.Options{FPS: 5})
	_, hs := newServer(t, map[string]Camera{"porch": cam}, nil)
	w := newViewer(t, hs.URL+"/api/v1/cameras/porch/whep", "alice-token")
	if w.resp.StatusCode != 201 {
		t.Fatalf("POST: %d %s", w.resp.StatusCode, w.answer)
	}
	index, n := pictureIndex(t)
	var got []int // pictures in the order received
	var stamps []uint32
	recv := func() int {
		au := w.Next(t)
		got = append(got, index(au.NALUs))
		stamps = append(stamps, au.Timestamp)
		return got[len(got)-1]
	}
	// Wait for a live keyframe, then take three more frames.
	for len(got) < 2 || got[len(got)-1]%10 != 0 {
		recv()
	}
	key := got[len(got)-1]
	for range 3 {
		recv()
	}
	if err := w.RequestKeyframe(); err != nil {
		t.Fatal(err)
	}
	// Frames already on the way come first, then the keyframe again.
	for {
		last := got[len(got)-1]
		if i := recv(); i != (last+1)%n {
			break
		}
		if len(got) > 12 {
			t.Fatalf("no keyframe sent again after the request: %v", got)
		}
	}
	resentAt := len(got) - 1
	if err := w.RequestKeyframe(); err != nil {
		t.Fatal(err)
	}
	// Then on to the camera's next keyframe, with no second burst.
	for recv() != (key+10)%n {
		if len(got) > 40 {
			break
		}
	}
	want := slices.Clone(got[:resentAt])
	for i := key; i <= key+10; i++ {
		want = append(want, i%n)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("pictures received %v, want %v (the keyframe group from %d sent again once)", got, want, key)
	}
	for i := 1; i < len(stamps); i++ {
		if int32(stamps[i]-stamps[i-1]) <= 0 {
			t.Errorf("timestamp %d of frame %d does not follow %d", stamps[i], i, stamps[i-1])
		}
	}
	if g, r := w.Gaps(), w.Repeats(); g != 0 || r != 0 {
		t.Errorf("RTP sequence: %d missing, %d repeated; want an unbroken sequence", g, r)
	}
}

// A viewer's NACK gets the very packets it names again (the NACK history keeps
// the camera's payloads without copying them, and each packet's own header).
func TestNACKResendsTheSamePackets(t *testing.T) {
	cam := liveCamera(t, "porch")
	_, hs := newServer(t, map[string]Camera{"porch": cam}, nil)
	type seen struct {
		hdr     rtp.Header
		payload []byte
	}
	var mu sync.Mutex
	first := map[uint16]seen{}
	var again []seen
	var order []uint16
	w := whepclient.Dial(t, hs.URL+"/api/v1/cameras/porch/whep", whepclient.Options{Token: "alice-token", Resends: true,
		OnPacket: func(p *rtp.Packet) {
			mu.Lock()
			defer mu.Unlock()
			s := seen{hdr: p.Header.Clone(), payload: slices.Clone(p.Payload)}
			if _, ok := first[p.SequenceNumber]; ok {
				again = append(again, s)
				return
			}
			first[p.SequenceNumber] = s
			order = append(order, p.SequenceNumber)
		}})
	if w.Resp.StatusCode != 201 {
		t.Fatalf("POST: %d %s", w.Resp.StatusCode, w.Answer)
	}
	for range 40 {
		w.Next(t)
	}
	mu.Lock()
	// Three packets well behind the newest, and the newest.
	want := []uint16{order[len(order)-35], order[len(order)-20], order[len(order)-19], order[len(order)-1]}
	mu.Unlock()
	if err := w.RequestResend(want...); err != nil {
		t.Fatal(err)
	}
	for range 25 {
		w.Next(t)
	}
	mu.Lock()
	defer mu.Unlock()
	var got []uint16
	for _, s := range again {
		got = append(got, s.hdr.SequenceNumber)
		f := first[s.hdr.SequenceNumber]
		if s.hdr.Timestamp != f.hdr.Timestamp || s.hdr.Marker != f.hdr.Marker || !slices.Equal(s.payload, f.payload) {
			t.Errorf("packet %d sent again as ts %d marker %v %d bytes, first as ts %d marker %v %d bytes",
				s.hdr.SequenceNumber, s.hdr.Timestamp, s.hdr.Marker, len(s.payload), f.hdr.Timestamp, f.hdr.Marker, len(f.payload))
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("packets sent again %v, want %v", got, want)
	}
}
