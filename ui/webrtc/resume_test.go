package webrtc

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"vakt/sensors/camera"
	"vakt/sensors/camera/camtest"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// A camera switched off and on again, with another picture size, while someone
// watches: the view stays, sends nothing while the camera is away (a keyframe
// request then is not answered with the old pictures again, which would pass
// for live), and goes on by itself with the camera's first picture after it
// reconnected, a keyframe with its new SPS and PPS, whose timestamp is as far
// after the last one as the break lasted, so a player shows it at once instead
// of taking it for a late frame.
func TestViewResumesWhenTheCameraReconnects(t *testing.T) {
	const backoff = 2 * time.Second // the break lasts at least this
	fake := camtest.Start(t, camtest.Options{FPS: 10})
	states := make(chan camera.State, 16)
	cam, err := camera.New(camera.Config{Name: "porch", URL: fake.URL, AlwaysOn: true, MinBackoff: backoff},
		camera.Options{Logger: quietLogger(), OnState: func(s camera.State) { states <- s }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = cam.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	await := func(want camera.Status) {
		t.Helper()
		for {
			select {
			case s := <-states:
				if s.Status == want {
					return
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("camera not %s within 20 s", want)
			}
		}
	}
	await(camera.StatusStreaming)
	_, hs := newServer(t, map[string]Camera{"porch": cam}, nil)
	w := newViewer(t, hs.URL+"/api/v1/cameras/porch/whep", "alice-token")
	if w.resp.StatusCode != 201 {
		t.Fatalf("POST: %d %s", w.resp.StatusCode, w.answer)
	}
	before, n := pictures(t, fake.Stream)
	after, m := before, n
	// A picture of the stream before the break, or (wide) of the one after it.
	type picture struct {
		wide  bool
		index int
		ts    uint32
		key   bool // an IDR picture with SPS and PPS
		sps   []byte
	}
	var got []picture
	recv := func() picture {
		au := w.Next(t)
		p := picture{ts: au.Timestamp, key: hasNALU(au.NALUs, h264.NALUTypeIDR) && hasNALU(au.NALUs, h264.NALUTypePPS)}
		for _, nalu := range au.NALUs {
			if h264.NALUType(nalu[0]&0x1f) == h264.NALUTypeSPS {
				p.sps = nalu
			}
		}
		p.key = p.key && p.sps != nil
		var ok bool
		if p.index, ok = before(au.NALUs); !ok {
			p.wide = true
			if p.index, ok = after(au.NALUs); !ok {
				t.Fatal("the viewer got a picture that is in neither stream")
			}
		}
		got = append(got, p)
		return p
	}
	for len(got) < 5 {
		recv()
	}
	fake.Close()
	await(camera.StatusConnecting) // the stream ended: nothing more comes
	if err := w.RequestKeyframe(); err != nil {
		t.Fatal(err)
	}
	// It comes back with other settings: another picture size, SPS and PPS.
	wide := camtest.Start(t, camtest.Options{FPS: 10, Addr: fake.Addr(), Wide: true})
	after, m = pictures(t, wide.Stream)
	// Up to the break, the pictures follow one another; after it comes a
	// keyframe of the restarted camera (the first it sent to the hub), with
	// its new SPS.
	for {
		last := got[len(got)-1]
		p := recv()
		if !p.wide && p.index == (last.index+1)%n && p.ts-last.ts < 90000 {
			continue
		}
		if gap := time.Duration(p.ts-last.ts) * time.Second / 90000; !p.wide || !p.key || !bytes.Equal(p.sps, wide.Stream.SPS) || gap < backoff || gap > time.Minute {
			t.Fatalf("after picture %d (ts %d) came picture %d (ts %d, %s later, of the restarted camera %v, keyframe with SPS and PPS %v, its SPS %v); want a keyframe of the restarted camera with its SPS at least %s later",
				last.index, last.ts, p.index, p.ts, gap, p.wide, p.key, bytes.Equal(p.sps, wide.Stream.SPS), backoff)
		}
		break
	}
	// And on, live.
	for i := 1; i <= 12; i++ {
		last := got[len(got)-1]
		if p := recv(); !p.wide || p.index != (last.index+1)%m || p.ts-last.ts == 0 || p.ts-last.ts > 90000 {
			t.Fatalf("after the break: %v", fmt.Sprint(got[len(got)-i-1:]))
		}
	}
	if g, r := w.Gaps(), w.Repeats(); g != 0 || r != 0 {
		t.Errorf("RTP sequence: %d missing, %d repeated; want an unbroken sequence", g, r)
	}
}
