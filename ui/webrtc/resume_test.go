package webrtc

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"vakt/sensors/camera"
	"vakt/sensors/camera/camtest"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// A camera switched off and on again while someone watches: the view stays,
// sends nothing while the camera is away (a keyframe request then is not
// answered with the old pictures again, which would pass for live), and goes
// on by itself with the camera's first picture after it reconnected, a
// keyframe with its SPS and PPS, whose timestamp is as far after the last one
// as the break lasted, so a player shows it at once instead of taking it for a
// late frame.
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
	index, n := pictureIndex(t)
	type picture struct {
		index int
		ts    uint32
		key   bool
	}
	var got []picture
	recv := func() picture {
		au := w.Next(t)
		p := picture{index(au.NALUs), au.Timestamp, hasNALU(au.NALUs, h264.NALUTypeIDR) && hasNALU(au.NALUs, h264.NALUTypeSPS) && hasNALU(au.NALUs, h264.NALUTypePPS)}
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
	camtest.Start(t, camtest.Options{FPS: 10, Addr: fake.Addr()})
	// Up to the break, the pictures follow one another; after it comes a
	// keyframe of the restarted camera (the first it sent to the hub).
	for {
		last := got[len(got)-1]
		p := recv()
		if p.index == (last.index+1)%n && p.ts-last.ts < 90000 {
			continue
		}
		if gap := time.Duration(p.ts-last.ts) * time.Second / 90000; !p.key || gap < backoff || gap > time.Minute {
			t.Fatalf("after picture %d (ts %d) came picture %d (ts %d, %s later, keyframe with SPS and PPS %v); want a keyframe of the restarted camera at least %s later",
				last.index, last.ts, p.index, p.ts, gap, p.key, backoff)
		}
		break
	}
	// And on, live.
	for i := 1; i <= 12; i++ {
		last := got[len(got)-1]
		if p := recv(); p.index != (last.index+1)%n || p.ts-last.ts == 0 || p.ts-last.ts > 90000 {
			t.Fatalf("after the break: %v", fmt.Sprint(got[len(got)-i-1:]))
		}
	}
	if g, r := w.Gaps(), w.Repeats(); g != 0 || r != 0 {
		t.Errorf("RTP sequence: %d missing, %d repeated; want an unbroken sequence", g, r)
	}
}
