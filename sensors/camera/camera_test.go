package camera

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"vakt/sensors/camera/camtest"
)

// fakeClock is a manual clock: After's channels fire when Advance passes them.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
	// afters receives every duration passed to After (when there is room).
	afters chan time.Duration
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC), afters: make(chan time.Duration, 1000)}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) After(d time.Duration) <-chan time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case f.afters <- d:
	default:
	}
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- f.now
		return ch
	}
	f.waiters = append(f.waiters, fakeWaiter{at: f.now.Add(d), ch: ch})
	return ch
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	kept := f.waiters[:0]
	for _, w := range f.waiters {
		if !w.at.After(f.now) {
			w.ch <- f.now
		} else {
			kept = append(kept, w)
		}
	}
	f.waiters = kept
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// runCamera starts cam.Run and stops it when the test ends.
func runCamera(t *testing.T, cam *Camera) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cam.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v, want context.Canceled", err)
		}
	})
}

// next reads one frame or fails the test after a generous deadline.
func next(t *testing.T, s *Subscription) *Frame {
	t.Helper()
	return receive(t, s.C(), "frame")
}

// expectedAU is the fake camera's access unit i as the camera must deliver
// it: keyframes carry the SDP's SPS and PPS after the delimiter.
func expectedAU(st camtest.Stream, i int) [][]byte {
	au := st.AUs[i%len(st.AUs)]
	if i%10 != 0 {
		return au
	}
	return append([][]byte{au[0], st.SPS, st.PPS}, au[1:]...)
}

func describeFrame(f *Frame) string {
	return fmt.Sprintf("seq=%d pts=%v dts=%v key=%v nalus=%d size=%d", f.Seq, f.PTS, f.DTS, f.Key, len(f.AU), f.Size)
}

func TestConnectDeliversEveryFrameKeyframeFirst(t *testing.T) {
	fake := camtest.Start(t, camtest.Options{User: "viewer", Pass: "s3cret", FPS: 25})
	cam, err := New(Config{Name: "porch", URL: fake.URL, AlwaysOn: true}, Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	sub := cam.Subscribe(ReplayNone, 100)
	runCamera(t, cam)
	const n = 25
	var got, want []string
	for i := range n {
		f := next(t, sub)
		if !slices.EqualFunc(f.AU, expectedAU(fake.Stream, i), bytes.Equal) {
			t.Errorf("frame %d: NAL units differ from the published access unit:\n%x\n%x", i, f.AU, expectedAU(fake.Stream, i))
		}
		if len(f.RTP) == 0 || !f.RTP[len(f.RTP)-1].Marker {
			t.Errorf("frame %d: RTP packets %d, last marker not set", i, len(f.RTP))
		}
		got = append(got, describeFrame(f))
		size := 0
		for _, n := range expectedAU(fake.Stream, i) {
			size += len(n)
		}
		pts := time.Duration(i) * time.Second / 25
		want = append(want, fmt.Sprintf("seq=%d pts=%v dts=%v key=%v nalus=%d size=%d", i+1, pts, pts, i%10 == 0, len(expectedAU(fake.Stream, i)), size))
	}
	if !slices.Equal(got, want) {
		t.Errorf("frames:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	st := cam.Stats()
	if st.Frames < n || st.Keyframes < 3 || st.Connects != 1 || st.Dropped != 0 {
		t.Errorf("stats %+v, want >= %d frames, >= 3 keyframes, 1 connect, 0 dropped", st, n)
	}
	if s := cam.State(); s != (State{Camera: "porch", Status: StatusStreaming}) {
		t.Errorf("state %+v", s)
	}
}

func TestRingBufferStartsAtKeyframe(t *testing.T) {
	fake := camtest.Start(t, camtest.Options{FPS: 25})
	cam, err := New(Config{Name: "hall", URL: fake.URL, AlwaysOn: true, Buffer: time.Second}, Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	sub := cam.Subscribe(ReplayNone, 100)
	runCamera(t, cam)
	for range 60 { // 2.4s, a keyframe every 0.4s
		next(t, sub)
	}
	sub.Close()

	all := cam.Subscribe(ReplayAll, 1)
	gop := cam.Subscribe(ReplayGOP, 1)
	defer all.Close()
	defer gop.Close()
	buffered := cam.Buffered()
	// The buffer covers at least one second behind its newest frame and starts
	// at a keyframe, with SPS and PPS.
	if len(buffered) == 0 || !buffered[0].Key || buffered[0].Seq%10 != 1 {
		t.Fatalf("buffer starts with %v", describeFrame(buffered[0]))
	}
	newest := buffered[len(buffered)-1]
	if span := newest.PTS - buffered[0].PTS; span < time.Second || span >= 1400*time.Millisecond {
		t.Errorf("buffer spans %v, want [1s, 1.4s)", span)
	}
	if want := expectedAU(fake.Stream, int(buffered[0].Seq-1)); !slices.EqualFunc(buffered[0].AU, want, bytes.Equal) {
		t.Errorf("buffered keyframe %x, want %x (with SPS and PPS)", buffered[0].AU[:3], want[:3])
	}
	for i, f := range buffered[1:] {
		if f.Seq != buffered[0].Seq+uint64(i)+1 {
			t.Fatalf("buffer not contiguous at %d: %v", i, describeFrame(f))
		}
	}
	// ReplayAll hands the buffer as it was, ReplayGOP its newest picture group.
	if f := next(t, all); f != buffered[0] {
		t.Errorf("ReplayAll starts with %v, want %v", describeFrame(f), describeFrame(buffered[0]))
	}
	lastKey := buffered[0]
	for _, f := range buffered {
		if f.Key && f.Seq <= newest.Seq {
			lastKey = f
		}
	}
	if f := next(t, gop); f.Seq > lastKey.Seq || !f.Key {
		t.Errorf("ReplayGOP starts with %v, want a keyframe no later than %v", describeFrame(f), describeFrame(lastKey))
	}
}

func TestRingTrimsWholePictureGroups(t *testing.T) {
	r := ring{span: time.Second, maxBytes: 1 << 20}
	for i := range 35 {
		r.push(&Frame{Seq: uint64(i + 1), PTS: time.Duration(i) * 100 * time.Millisecond, Key: i%10 == 0, Size: 100})
	}
	var seqs []uint64
	for _, f := range r.all() {
		seqs = append(seqs, f.Seq)
	}
	want := []uint64{21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35}
	if !slices.Equal(seqs, want) || r.bytes != 1500 {
		t.Errorf("ring holds %v (%d bytes), want %v (1500 bytes)", seqs, r.bytes, want)
	}
	gop := r.lastGOP()
	if len(gop) != 5 || gop[0].Seq != 31 {
		t.Errorf("last GOP has %d frames from %d, want 5 from 31", len(gop), gop[0].Seq)
	}
	// A picture group larger than the limit empties the buffer; frames before
	// the next keyframe are not kept.
	small := ring{span: time.Hour, maxBytes: 250}
	for i := range 3 {
		small.push(&Frame{Seq: uint64(i + 1), Key: i == 0, Size: 100})
	}
	small.push(&Frame{Seq: 4, Size: 100})
	if len(small.frames) != 0 || small.bytes != 0 {
		t.Errorf("over-limit ring holds %d frames, %d bytes; want empty", len(small.frames), small.bytes)
	}
}

func TestSlowSubscriberDropsOthersDoNot(t *testing.T) {
	cam, err := New(Config{Name: "yard", URL: "rtsp://127.0.0.1:1/x", AlwaysOn: true}, Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	slow := cam.Subscribe(ReplayNone, 2)
	fast := cam.Subscribe(ReplayNone, 100)
	au := [][]byte{{0x65, 0x88}}
	for i := range 30 {
		cam.publish(au, i%10 == 0, time.Duration(i)*100*time.Millisecond, time.Duration(i)*100*time.Millisecond, 2, i == 0)
	}
	var fastSeqs, slowSeqs []uint64
	for range 30 {
		fastSeqs = append(fastSeqs, (<-fast.C()).Seq)
	}
	for len(slow.C()) > 0 {
		slowSeqs = append(slowSeqs, (<-slow.C()).Seq)
	}
	// The slow one got frames 1 and 2, lost the rest of the first group, got
	// keyframe 11 and 12, and so on: always restarting at a keyframe.
	if want := []uint64{1, 2}; !slices.Equal(slowSeqs, want) {
		t.Errorf("slow subscriber got %v, want %v", slowSeqs, want)
	}
	if slow.Dropped() != 28-0 || fast.Dropped() != 0 {
		t.Errorf("dropped slow %d fast %d, want 28 and 0", slow.Dropped(), fast.Dropped())
	}
	cam.publish(au, false, 3*time.Second, 3*time.Second, 2, false)
	cam.publish(au, true, 3100*time.Millisecond, 3100*time.Millisecond, 2, false)
	if f := <-slow.C(); f.Seq != 32 || !f.Key {
		t.Errorf("slow subscriber resumed with %v, want keyframe 32", describeFrame(f))
	}
	want := make([]uint64, 30)
	for i := range want {
		want[i] = uint64(i + 1)
	}
	if !slices.Equal(fastSeqs, want) {
		t.Errorf("fast subscriber got %v", fastSeqs)
	}
	slow.Close()
	slow.Close()
	if _, ok := <-slow.C(); ok {
		t.Error("closed subscription still delivers")
	}
}

func TestReconnectsAfterCameraDropsConnection(t *testing.T) {
	fake := camtest.Start(t, camtest.Options{FPS: 25})
	cam, err := New(Config{Name: "gate", URL: fake.URL, AlwaysOn: true, MinBackoff: 20 * time.Millisecond}, Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	sub := cam.Subscribe(ReplayNone, 200)
	runCamera(t, cam)
	var frames []*Frame
	for range 5 {
		frames = append(frames, next(t, sub))
	}
	fake.DropClients()
	for cam.Stats().Connects < 2 {
		frames = append(frames, next(t, sub))
	}
	for range 15 {
		frames = append(frames, next(t, sub))
	}
	if got := fake.Setups(); got != 2 {
		t.Errorf("fake camera saw %d setups, want 2", got)
	}
	// One timeline across the reconnect: sequence and timestamps keep rising,
	// and after the gap the subscriber restarts at a keyframe.
	resumed := false
	for i := 1; i < len(frames); i++ {
		a, b := frames[i-1], frames[i]
		if b.Seq != a.Seq+1 || b.PTS <= a.PTS || b.DTS <= a.DTS {
			t.Fatalf("timeline breaks between %v and %v", describeFrame(a), describeFrame(b))
		}
		if b.RTP[0].SequenceNumber != a.RTP[len(a.RTP)-1].SequenceNumber+1 {
			t.Fatalf("RTP sequence breaks between %v and %v", describeFrame(a), describeFrame(b))
		}
		if b.PTS-a.PTS != 40*time.Millisecond {
			if !b.Key || resumed {
				t.Fatalf("gap %v not at the reconnect: %v", b.PTS-a.PTS, describeFrame(b))
			}
			resumed = true
		}
	}
}

// states collects OnState calls.
type states chan State

func (s states) next(t *testing.T) State {
	t.Helper()
	select {
	case st := <-s:
		return st
	case <-time.After(20 * time.Second):
		t.Fatal("no state change within 20s")
	}
	return State{}
}

// drivewayCamera runs an always-on camera "drive" on a fake camera at 25
// frames a second, with a fake clock, its states in ch and a subscription
// from its first keyframe on.
func drivewayCamera(t *testing.T) (*camtest.Camera, *fakeClock, states, *Camera, *Subscription) {
	t.Helper()
	fake := camtest.Start(t, camtest.Options{FPS: 25})
	clk := newFakeClock()
	ch := make(states, 16)
	cam, err := New(Config{Name: "drive", URL: fake.URL, AlwaysOn: true}, Options{Logger: quietLogger(), Clock: clk, OnState: func(s State) { ch <- s }})
	if err != nil {
		t.Fatal(err)
	}
	sub := cam.Subscribe(ReplayNone, 500)
	runCamera(t, cam)
	return fake, clk, ch, cam, sub
}

func TestStallIsAFaultUntilFramesFlowAgain(t *testing.T) {
	fake, clk, ch, _, sub := drivewayCamera(t)
	for st := ch.next(t); st.Status != StatusStreaming; st = ch.next(t) {
		if st != (State{Camera: "drive", Status: StatusConnecting}) {
			t.Fatalf("state %+v before streaming", st)
		}
	}
	fake.Pause()
	for n := 0; n < fake.Published(); n++ {
		next(t, sub)
	}
	<-clk.afters // the stall check waits on the clock
	clk.Advance(6 * time.Second)
	if st := ch.next(t); st != (State{Camera: "drive", Status: StatusStreaming, Fault: "no video for 6s"}) {
		t.Errorf("after 6s without frames: %+v", st)
	}
	fake.Resume()
	if st := ch.next(t); st != (State{Camera: "drive", Status: StatusStreaming}) {
		t.Errorf("after frames resumed: %+v", st)
	}
}

// A new subscriber gets the buffer's newest picture group only while the
// camera delivers: the last pictures of a camera that stopped would pass for
// live. Once the camera sends again, the subscriber starts at a keyframe.
func TestReplayGOPOnlyWhileTheCameraDelivers(t *testing.T) {
	fake, clk, ch, cam, sub := drivewayCamera(t)
	for range 12 { // a keyframe and the frames after it are in the buffer
		next(t, sub)
	}
	live := cam.Subscribe(ReplayGOP, 1)
	if n := len(live.C()); n == 0 || !next(t, live).Key {
		t.Fatalf("while the camera delivers: %d frames replayed, want its newest picture group", n)
	}
	live.Close()
	fake.Pause()
	for st := ch.next(t); st.Fault == ""; st = ch.next(t) {
		<-clk.afters // the stall check waits on the clock
		clk.Advance(6 * time.Second)
	}
	stale := cam.Subscribe(ReplayGOP, 100)
	if n := len(stale.C()); n != 0 {
		t.Fatalf("with the camera stalled: %d frames replayed, want none", n)
	}
	fake.Resume()
	if f := next(t, stale); !f.Key {
		t.Errorf("the first frame after the stall: %s, want a keyframe", describeFrame(f))
	}
}

func TestUnreachableCameraIsAFault(t *testing.T) {
	fake := camtest.Start(t, camtest.Options{User: "viewer", Pass: "right"})
	clk := newFakeClock()
	ch := make(states, 16)
	url := strings.Replace(fake.URL, "viewer:right@", "viewer:wrong@", 1)
	cam, err := New(Config{Name: "shed", URL: url, AlwaysOn: true, MinBackoff: 3 * time.Second}, Options{Logger: quietLogger(), Clock: clk, OnState: func(s State) { ch <- s }})
	if err != nil {
		t.Fatal(err)
	}
	runCamera(t, cam)
	if st := ch.next(t); st != (State{Camera: "shed", Status: StatusConnecting}) {
		t.Fatalf("first state %+v", st)
	}
	// The failed attempt is recorded before the backoff wait (3s) starts.
	for d := range clk.afters {
		if d == 3*time.Second {
			break
		}
	}
	clk.Advance(6 * time.Second)
	st := ch.next(t)
	wantErr := "camera shed: describe " + strings.Replace(url, "wrong", "xxxxx", 1) + ": bad status code: 401 (Unauthorized)"
	want := State{Camera: "shed", Status: StatusConnecting, Fault: "no connection for 6s: " + wantErr, LastError: wantErr}
	if st != want {
		t.Errorf("state\n%+v\nwant\n%+v", st, want)
	}
	if strings.Contains(st.Fault, "wrong") {
		t.Error("fault shows the password")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{URL: "rtsp://h/x"}, "camera: a camera needs a name"},
		{Config{Name: "a", URL: "http://h/x"}, `camera a: url "http://h/x": scheme must be rtsp or rtsps`},
		{Config{Name: "a", URL: "rtsp:///x"}, `camera a: url "rtsp:///x": no host`},
		{Config{Name: "a", URL: "rtsp://u:pw@h:99/x%zz"}, `camera a: url: parse "rtsp://u:pw@h:99/x%zz": invalid URL escape "%zz"`},
	} {
		_, err := New(tc.cfg, Options{})
		if err == nil || err.Error() != tc.want {
			t.Errorf("New(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestOnDemandConnectsWhileWatched(t *testing.T) {
	fake := camtest.Start(t, camtest.Options{FPS: 25})
	clk := newFakeClock()
	ch := make(states, 16)
	cam, err := New(Config{Name: "garage", URL: fake.URL}, Options{Logger: quietLogger(), Clock: clk, OnState: func(s State) { ch <- s }})
	if err != nil {
		t.Fatal(err)
	}
	runCamera(t, cam)
	// Not watched: idle, and the stall check raises nothing.
	clk.Advance(time.Minute)
	if s := cam.State(); s != (State{Camera: "garage", Status: StatusIdle}) || fake.Setups() != 0 {
		t.Fatalf("unwatched: state %+v, %d setups", s, fake.Setups())
	}
	sub := cam.Subscribe(ReplayGOP, 100)
	if f := next(t, sub); !f.Key {
		t.Errorf("first frame of an on-demand camera is not a keyframe: %v", describeFrame(f))
	}
	for st := ch.next(t); st.Status != StatusStreaming; st = ch.next(t) {
		if st != (State{Camera: "garage", Status: StatusConnecting}) {
			t.Fatalf("state %+v before streaming", st)
		}
	}
	sub.Close()
	// Still connected when the last viewer leaves; idle after the linger time.
	if s := cam.State(); s.Status != StatusStreaming {
		t.Errorf("right after the last viewer left: %+v", s)
	}
	clk.Advance(11 * time.Second)
	if st := ch.next(t); st != (State{Camera: "garage", Status: StatusIdle}) {
		t.Errorf("after the last viewer left and 11s: %+v", st)
	}
	if cam.Stats().Connects != 1 {
		t.Errorf("connects %d, want 1", cam.Stats().Connects)
	}
}
