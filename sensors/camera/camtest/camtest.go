// Package camtest is a fake IP camera for tests: a real RTSP server (gortsplib)
// on loopback that publishes a small H.264 stream made by ffmpeg
// (scripts/make-test-video) in real time, looped, with its SPS and PPS only in
// the SDP as many cameras do. Tests can pause it (connected, no frames), drop its
// clients, switch it off and on (Close, and Start at its Addr), and require
// credentials. With Options.Audio it publishes an audio
// track as well (a G.711 or Opus tone, or AAC).
package camtest

import (
	"cmp"
	_ "embed"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

//go:embed testdata/stream.h264
var streamH264 []byte

//go:embed testdata/stream-wide.h264
var wideH264 []byte

// Stream is the test stream: its access units (without SPS and PPS), SPS and PPS.
type Stream struct {
	AUs      [][][]byte
	SPS, PPS []byte
}

// LoadStream splits the checked-in Annex-B file into access units at its
// access unit delimiters.
func LoadStream() (Stream, error) { return loadStream(streamH264) }

func loadStream(b []byte) (Stream, error) {
	var nalus h264.AnnexB
	if err := nalus.Unmarshal(b); err != nil {
		return Stream{}, fmt.Errorf("camtest: stream: %w", err)
	}
	var st Stream
	var cur [][]byte
	for _, n := range nalus {
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeAccessUnitDelimiter:
			if len(cur) > 0 {
				st.AUs = append(st.AUs, cur)
			}
			cur = [][]byte{n}
		case h264.NALUTypeSPS:
			st.SPS = n
		case h264.NALUTypePPS:
			st.PPS = n
		default:
			cur = append(cur, n)
		}
	}
	if len(cur) > 0 {
		st.AUs = append(st.AUs, cur)
	}
	if st.SPS == nil || st.PPS == nil || len(st.AUs) == 0 {
		return Stream{}, fmt.Errorf("camtest: stream has no SPS, PPS or pictures")
	}
	return st, nil
}

// Options configure a fake camera.
type Options struct {
	// User and Pass, when set, are required (RTSP digest/basic auth).
	User, Pass string
	// FPS is the publishing rate (default 10, the file's own rate).
	FPS int
	// Bitrate, when set, pads every picture with a filler NAL unit (type 12,
	// which decoders skip) up to Bitrate/FPS/8 bytes, for load figures: a
	// camera's 4 Mbit/s costs the hub in RTP packets and bytes, not in pictures.
	Bitrate int
	// Audio, when set, publishes an audio track besides the video: AudioPCMU,
	// AudioPCMA, AudioOpus, or AudioAAC (a codec the hub skips).
	Audio string
	// Wide publishes the test stream at 160x90 instead of 128x96: its own SPS
	// and PPS, as a camera that came back with other settings.
	Wide bool
	// Addr is the RTSP server's address (default 127.0.0.1:0, a free port);
	// the address of a closed camera starts it again, as a camera that was
	// switched off and on.
	Addr string
}

// Camera is a running fake camera.
type Camera struct {
	// URL is the stream's RTSP URL, credentials included.
	URL    string
	Stream Stream
	addr   string

	t      testing.TB
	opts   Options
	server *gortsplib.Server
	stream *gortsplib.ServerStream
	media  *description.Media
	audio  *description.Media // nil without Options.Audio

	mu             sync.Mutex
	paused         bool
	published      int
	audioPublished int
	sessions       map[*gortsplib.ServerSession]struct{}
	setups         int

	pubSignal chan struct{} // a frame was published

	done chan struct{}
	wg   sync.WaitGroup
}

// Start starts a fake camera; it stops when the test ends.
func Start(t testing.TB, opts Options) *Camera {
	t.Helper()
	if opts.FPS <= 0 {
		opts.FPS = 10
	}
	st, err := LoadStream()
	if opts.Wide {
		st, err = loadStream(wideH264)
	}
	if err != nil {
		t.Fatal(err)
	}
	c := &Camera{t: t, opts: opts, Stream: st, sessions: map[*gortsplib.ServerSession]struct{}{}, pubSignal: make(chan struct{}, 1), done: make(chan struct{})}
	var ln net.Listener
	c.server = &gortsplib.Server{
		Handler:     c,
		RTSPAddress: cmp.Or(opts.Addr, "127.0.0.1:0"),
		Listen: func(network, address string) (net.Listener, error) {
			l, err := net.Listen(network, address)
			ln = l
			return l, err
		},
	}
	if err := c.server.Start(); err != nil {
		t.Fatalf("camtest: start rtsp server: %v", err)
	}
	c.media = &description.Media{
		Type: description.MediaTypeVideo,
		Formats: []format.Format{&format.H264{
			PayloadTyp:        96,
			PacketizationMode: 1,
			SPS:               st.SPS,
			PPS:               st.PPS,
		}},
	}
	medias := []*description.Media{c.media}
	if c.audio = audioMedia(opts.Audio); c.audio != nil {
		medias = append(medias, c.audio)
	}
	c.stream = &gortsplib.ServerStream{Server: c.server, Desc: &description.Session{Medias: medias}}
	if err := c.stream.Initialize(); err != nil {
		t.Fatalf("camtest: stream: %v", err)
	}
	creds := ""
	if opts.User != "" {
		creds = opts.User + ":" + opts.Pass + "@"
	}
	c.addr = ln.Addr().String()
	c.URL = fmt.Sprintf("rtsp://%s%s/stream", creds, c.addr)
	c.wg.Go(c.publish)
	if c.audio != nil {
		c.wg.Go(c.publishAudio)
	}
	t.Cleanup(c.Close)
	return c
}

// Addr is the RTSP server's address: Options.Addr for a camera started again
// there once this one is closed.
func (c *Camera) Addr() string { return c.addr }

// Close stops the camera.
func (c *Camera) Close() {
	select {
	case <-c.done:
		return
	default:
	}
	close(c.done)
	c.wg.Wait()
	c.stream.Close()
	c.server.Close()
}

// Pause stops publishing frames; connections stay open.
func (c *Camera) Pause() { c.mu.Lock(); c.paused = true; c.mu.Unlock() }

// Resume publishes again.
func (c *Camera) Resume() { c.mu.Lock(); c.paused = false; c.mu.Unlock() }

// Published counts the frames written to the stream.
func (c *Camera) Published() int { c.mu.Lock(); defer c.mu.Unlock(); return c.published }

// Setups counts the SETUP requests: one per track per client connection.
func (c *Camera) Setups() int { c.mu.Lock(); defer c.mu.Unlock(); return c.setups }

// DropClients closes every client session, as a camera rebooting would.
func (c *Camera) DropClients() {
	c.mu.Lock()
	ss := make([]*gortsplib.ServerSession, 0, len(c.sessions))
	for s := range c.sessions {
		ss = append(ss, s)
	}
	c.mu.Unlock()
	for _, s := range ss {
		s.Close()
	}
}

func (c *Camera) publish() {
	enc := &rtph264.Encoder{PayloadType: 96, PacketizationMode: 1}
	if err := enc.Init(); err != nil {
		c.t.Errorf("camtest: encoder: %v", err)
		return
	}
	c.every(time.Second/time.Duration(c.opts.FPS), func(n int) bool {
		au := c.padded(c.Stream.AUs[n%len(c.Stream.AUs)])
		ts := uint32(int64(n) * 90000 / int64(c.opts.FPS))
		pkts, err := enc.Encode(au)
		if err != nil {
			c.t.Errorf("camtest: encode: %v", err)
			return false
		}
		for _, p := range pkts {
			p.Timestamp = ts
			if err := c.stream.WritePacketRTPWithNTP(c.media, p, time.Now()); err != nil {
				c.t.Errorf("camtest: write: %v", err)
				return false
			}
		}
		c.mu.Lock()
		c.published++
		c.mu.Unlock()
		select {
		case c.pubSignal <- struct{}{}:
		default:
		}
		return true
	})
}

// every calls step with the tick's number every interval until the camera
// closes or step says stop; ticks while paused are counted and skipped, so
// timestamps go on across a pause as a real camera's clock does.
func (c *Camera) every(interval time.Duration, step func(n int) bool) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-c.done:
			return
		case <-tick.C:
		}
		c.mu.Lock()
		paused := c.paused
		c.mu.Unlock()
		if !paused && !step(n) {
			return
		}
	}
}

// padded is au with a filler NAL unit that brings it to Options.Bitrate.
func (c *Camera) padded(au [][]byte) [][]byte {
	want := c.opts.Bitrate / c.opts.FPS / 8
	size := 0
	for _, n := range au {
		size += len(n)
	}
	if want-size < 3 {
		return au
	}
	filler := make([]byte, want-size)
	filler[0] = byte(h264.NALUTypeFillerData)
	for i := 1; i < len(filler)-1; i++ {
		filler[i] = 0xff
	}
	filler[len(filler)-1] = 0x80 // rbsp_trailing_bits
	return append(au[:len(au):len(au)], filler)
}

// AwaitPublished waits until the camera has published n frames in all, or
// fails the test after 20 s.
func (c *Camera) AwaitPublished(t testing.TB, n int) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for c.Published() < n {
		select {
		case <-c.pubSignal:
		case <-timeout:
			t.Fatalf("camtest: %d frames published, want %d", c.Published(), n)
		}
	}
}

func (c *Camera) authorized(conn *gortsplib.ServerConn, req *base.Request) bool {
	return c.opts.User == "" || conn.VerifyCredentials(req, c.opts.User, c.opts.Pass)
}

// OnSessionOpen implements gortsplib.ServerHandlerOnSessionOpen.
func (c *Camera) OnSessionOpen(ctx *gortsplib.ServerHandlerOnSessionOpenCtx) {
	c.mu.Lock()
	c.sessions[ctx.Session] = struct{}{}
	c.mu.Unlock()
}

// OnSessionClose implements gortsplib.ServerHandlerOnSessionClose.
func (c *Camera) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	c.mu.Lock()
	delete(c.sessions, ctx.Session)
	c.mu.Unlock()
}

// OnDescribe implements gortsplib.ServerHandlerOnDescribe.
func (c *Camera) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if !c.authorized(ctx.Conn, ctx.Request) {
		return &base.Response{StatusCode: base.StatusUnauthorized}, nil, liberrors.ErrServerAuth{}
	}
	return &base.Response{StatusCode: base.StatusOK}, c.stream, nil
}

// OnSetup implements gortsplib.ServerHandlerOnSetup.
func (c *Camera) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if !c.authorized(ctx.Conn, ctx.Request) {
		return &base.Response{StatusCode: base.StatusUnauthorized}, nil, liberrors.ErrServerAuth{}
	}
	c.mu.Lock()
	c.setups++
	c.mu.Unlock()
	return &base.Response{StatusCode: base.StatusOK}, c.stream, nil
}

// OnPlay implements gortsplib.ServerHandlerOnPlay.
func (c *Camera) OnPlay(*gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	return &base.Response{StatusCode: base.StatusOK}, nil
}
