// Package camera connects IP cameras over RTSP (TCP transport) and hands their
// H.264 video to live viewers and clip writers.
//
// A Camera reads one RTSP stream and fans its frames out to any number of
// subscribers without ever waiting for one: a subscriber whose queue is full loses
// frames (and then waits for the next keyframe), the reader and the other
// subscribers go on. Each camera keeps its recent frames in a ring buffer that
// always starts at a keyframe whose SPS and PPS travel with it, so a new viewer or
// an alarm clip starts with a decodable picture at once.
//
// An always-on camera stays connected (needed for pre-alarm clips); an on-demand
// camera connects while someone subscribes. Either reconnects with exponential
// backoff, and a wanted camera that delivers no frame for Config.StallAfter is a
// fault, reported through Options.OnState until frames flow again.
//
// Audio is passed through when the camera offers Opus or G.711 (PCMU/PCMA, 8 kHz
// mono) besides its video: set up on the same session, placed on the video's
// timeline, buffered with the video and handed to subscribers that ask for it
// (SubscribeAudio). Other audio codecs are skipped with a log line; nothing is
// transcoded.
package camera

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"
)

// Defaults for Config.
const (
	DefaultBuffer         = 10 * time.Second
	DefaultStallAfter     = 5 * time.Second
	DefaultMinBackoff     = time.Second
	DefaultMaxBackoff     = 30 * time.Second
	DefaultLinger         = 10 * time.Second
	DefaultMaxBufferBytes = 32 << 20
	DefaultQueue          = 64
)

// Config describes one camera.
type Config struct {
	// Name identifies the camera (in URLs, events and faults).
	Name string
	// URL is the camera's RTSP stream, credentials included:
	// rtsp://user:password@192.168.1.20:554/stream1 (rtsps:// for TLS).
	URL string
	// AlwaysOn keeps the camera connected and its ring buffer filled even when
	// no one watches; needed for pre-alarm clips. Otherwise the camera connects
	// while it has subscribers (and Linger after the last one leaves).
	AlwaysOn bool
	// Buffer is how much recent video the ring buffer of an always-on camera
	// holds (default 10 s); it starts at a keyframe, so it holds up to one picture
	// group more. An on-demand camera keeps only its current picture group.
	Buffer time.Duration
	// MaxBufferBytes caps the ring buffer's memory (default 32 MiB).
	MaxBufferBytes int
	// StallAfter is how long a wanted camera may go without a frame before it is
	// a fault (default 5 s).
	StallAfter time.Duration
	// MinBackoff and MaxBackoff bound the wait between reconnects (defaults 1 s
	// and 30 s); the wait doubles with each failure and resets after frames flowed.
	MinBackoff, MaxBackoff time.Duration
	// Linger keeps an on-demand camera connected after its last subscriber left
	// (default 10 s), so switching views does not reconnect.
	Linger time.Duration
	// Zones are the zones the camera watches (for the alarm screen and clips).
	Zones []string
}

// Clock is the time source of a camera; tests inject a fake one.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Options are the camera's collaborators; all optional.
type Options struct {
	Logger *slog.Logger
	Clock  Clock
	// OnState is called (from the camera's own goroutine, one call at a time, in
	// order) whenever the camera's status or fault changes. Quick changes may be
	// coalesced: the callback always ends up with the current state.
	OnState func(State)
}

// Status is what a camera is doing.
type Status int

// Statuses.
const (
	StatusIdle       Status = iota // on-demand and not wanted: not connected
	StatusConnecting               // connecting or waiting to reconnect
	StatusStreaming                // connected, frames arriving
	StatusStopped                  // Run has returned
)

func (s Status) String() string {
	switch s {
	case StatusIdle:
		return "idle"
	case StatusConnecting:
		return "connecting"
	case StatusStreaming:
		return "streaming"
	case StatusStopped:
		return "stopped"
	}
	return fmt.Sprintf("status(%d)", int(s))
}

// State is a camera's status and fault.
type State struct {
	Camera string
	Status Status
	// Fault is set while the camera is wanted (always-on, or watched) and has not
	// delivered a frame for StallAfter; it says why ("no video for 5s",
	// "no connection for 5s: ..."). Empty when the camera is fine.
	Fault string
	// LastError is the last connection error, if any.
	LastError string
}

// Stats are a camera's counters.
type Stats struct {
	Frames, Keyframes, Bytes uint64
	// Dropped counts frames subscribers lost because their queue was full.
	Dropped uint64
	// Connects counts successful connections (reconnects are Connects-1).
	Connects uint64
	// AudioPackets counts audio packets passed through; AudioDropped those
	// subscribers lost because their audio queue was full.
	AudioPackets, AudioDropped uint64
}

// Replay says which buffered frames a new subscriber gets first.
type Replay int

// Replays.
const (
	// ReplayGOP starts with the newest keyframe in the buffer and the frames
	// after it: a viewer's first picture at once. It does so while the camera
	// delivers; otherwise (stalled, reconnecting, idle) it starts at the next
	// keyframe that arrives.
	ReplayGOP Replay = iota
	// ReplayAll starts with the whole ring buffer: a clip's pre-alarm part.
	ReplayAll
	// ReplayNone starts at the next keyframe that arrives.
	ReplayNone
)

// Camera is one RTSP camera. Create it with New, run it with Run.
type Camera struct {
	cfg   Config
	url   string
	log   *slog.Logger
	clock Clock

	onState func(State)
	notify  chan struct{}

	mu         sync.Mutex
	ring       ring
	subs       map[*Subscription]struct{}
	state      State
	stats      Stats
	wantSince  time.Time // when the camera became wanted, or its last frame
	lastSub    time.Time // when the last subscriber left
	wake       chan struct{}
	stopped    bool
	delivered  State // last state handed to OnState
	audio      Audio // current or last connection's audio
	audioKnown bool
	connected  chan struct{} // closed at the first connection

	tl timeline // reader goroutine only
}

// New checks cfg and returns a camera that does nothing until Run.
func New(cfg Config, opts Options) (*Camera, error) {
	if cfg.Name == "" {
		return nil, errors.New("camera: a camera needs a name")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("camera %s: url: %w", cfg.Name, err)
	}
	if u.Scheme != "rtsp" && u.Scheme != "rtsps" {
		return nil, fmt.Errorf("camera %s: url %q: scheme must be rtsp or rtsps", cfg.Name, redact(u))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("camera %s: url %q: no host", cfg.Name, redact(u))
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Buffer, DefaultBuffer)
	def(&cfg.StallAfter, DefaultStallAfter)
	def(&cfg.MinBackoff, DefaultMinBackoff)
	def(&cfg.MaxBackoff, DefaultMaxBackoff)
	def(&cfg.Linger, DefaultLinger)
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = cfg.MinBackoff
	}
	if cfg.MaxBufferBytes <= 0 {
		cfg.MaxBufferBytes = DefaultMaxBufferBytes
	}
	c := &Camera{
		cfg:     cfg,
		url:     redact(u),
		log:     opts.Logger,
		clock:   opts.Clock,
		onState: opts.OnState,
		notify:  make(chan struct{}, 1),
		subs:    map[*Subscription]struct{}{},
		wake:    make(chan struct{}, 1),

		connected: make(chan struct{}),
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.log = c.log.With("camera", cfg.Name)
	if c.clock == nil {
		c.clock = realClock{}
	}
	span := cfg.Buffer
	if !cfg.AlwaysOn {
		span = 0
	}
	c.ring = ring{span: span, maxBytes: cfg.MaxBufferBytes}
	c.state = State{Camera: cfg.Name, Status: StatusIdle}
	c.delivered = c.state
	return c, nil
}

// redact is the URL without its password, for logs and errors.
func redact(u *url.URL) string {
	return u.Redacted()
}

// Name is the camera's name.
func (c *Camera) Name() string { return c.cfg.Name }

// Config is the camera's configuration, defaults filled in.
func (c *Camera) Config() Config { return c.cfg }

// State is the camera's current state.
func (c *Camera) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Stats are the camera's counters.
func (c *Camera) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Buffered is a copy of the ring buffer: empty, or starting at a keyframe.
func (c *Camera) Buffered() []*Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ring.all()
}

// wanted reports whether the camera should be connected. c.mu held.
func (c *Camera) wanted(now time.Time) bool {
	if c.cfg.AlwaysOn || len(c.subs) > 0 {
		return true
	}
	return !c.lastSub.IsZero() && now.Sub(c.lastSub) < c.cfg.Linger
}

// Run connects the camera and keeps it connected (or connects it on demand)
// until ctx ends; then it ends every subscription and returns ctx's error.
func (c *Camera) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { c.deliverStates(ctx) })
	wg.Go(func() { c.watch(ctx) })
	defer wg.Wait()

	c.mu.Lock()
	c.wantSince = c.clock.Now()
	c.mu.Unlock()

	backoff := c.cfg.MinBackoff
	for {
		if !c.waitWanted(ctx) {
			break
		}
		c.setStatus(StatusConnecting)
		sctx, scancel := context.WithCancel(ctx)
		stopIdle := make(chan struct{})
		go c.cancelWhenIdle(sctx, scancel, stopIdle)
		flowed, err := c.stream(sctx)
		close(stopIdle)
		scancel()
		if ctx.Err() != nil {
			break
		}
		if flowed {
			backoff = c.cfg.MinBackoff
		}
		c.mu.Lock()
		wanted := c.wanted(c.clock.Now())
		// A canceled stream (ctx is live) was ended for want of viewers.
		if err != nil && !errors.Is(err, context.Canceled) {
			c.state.LastError = err.Error()
		}
		c.mu.Unlock()
		if !wanted {
			c.log.Info("camera: disconnected, no one watching")
			continue
		}
		c.log.Warn("camera: stream ended, reconnecting", "url", c.url, "err", err, "in", backoff)
		c.setStatus(StatusConnecting)
		select {
		case <-ctx.Done():
		case <-c.clock.After(backoff):
		}
		backoff = min(backoff*2, c.cfg.MaxBackoff)
	}

	c.mu.Lock()
	c.stopped = true
	for s := range c.subs {
		delete(c.subs, s)
		s.closeChans()
	}
	c.state.Status = StatusStopped
	c.state.Fault = ""
	c.mu.Unlock()
	cancel()
	wg.Wait()
	// Deliver the final state after the notifier stopped, from here.
	c.deliver()
	return ctx.Err()
}

// waitWanted blocks until the camera should connect; false when ctx ended.
func (c *Camera) waitWanted(ctx context.Context) bool {
	for {
		c.mu.Lock()
		now := c.clock.Now()
		if c.wanted(now) {
			c.mu.Unlock()
			return true
		}
		c.state.Status = StatusIdle
		c.state.Fault = ""
		c.mu.Unlock()
		c.signal()
		select {
		case <-ctx.Done():
			return false
		case <-c.wake:
		}
	}
}

// cancelWhenIdle ends an on-demand camera's stream once it is no longer wanted.
func (c *Camera) cancelWhenIdle(ctx context.Context, cancel context.CancelFunc, stop <-chan struct{}) {
	if c.cfg.AlwaysOn {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-stop:
			return
		case <-c.clock.After(c.checkEvery()):
		}
		c.mu.Lock()
		idle := !c.wanted(c.clock.Now())
		c.mu.Unlock()
		if idle {
			cancel()
			return
		}
	}
}

func (c *Camera) checkEvery() time.Duration {
	return min(c.cfg.StallAfter/5, time.Second)
}

// watch raises and clears the stall fault.
func (c *Camera) watch(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.clock.After(c.checkEvery()):
		}
		c.mu.Lock()
		now := c.clock.Now()
		fault := ""
		if c.wanted(now) && c.state.Status != StatusIdle {
			if gap := now.Sub(c.wantSince); gap >= c.cfg.StallAfter {
				if c.state.Status == StatusStreaming {
					fault = fmt.Sprintf("no video for %s", gap.Round(time.Second))
				} else {
					fault = fmt.Sprintf("no connection for %s", gap.Round(time.Second))
					if c.state.LastError != "" {
						fault += ": " + c.state.LastError
					}
				}
			}
		}
		changed := fault != c.state.Fault
		if changed && fault != "" && c.state.Fault != "" {
			// Still faulty; the growing duration is no news.
			changed = false
		}
		if changed {
			c.state.Fault = fault
			if fault != "" {
				c.log.Warn("camera: fault", "fault", fault)
			}
		}
		c.mu.Unlock()
		if changed {
			c.signal()
		}
	}
}

func (c *Camera) setStatus(s Status) {
	c.mu.Lock()
	changed := c.state.Status != s
	if changed && s == StatusConnecting && c.state.Status == StatusIdle {
		// Becoming wanted starts the stall clock.
		c.wantSince = c.clock.Now()
	}
	c.state.Status = s
	c.mu.Unlock()
	if changed {
		c.signal()
	}
}

func (c *Camera) signal() {
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

func (c *Camera) deliverStates(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.notify:
			c.deliver()
		}
	}
}

// deliver hands the current state to OnState if it changed since the last call.
// Only one goroutine calls it at a time (the notifier, then Run after it ended).
func (c *Camera) deliver() {
	c.mu.Lock()
	st := c.state
	same := st.Status == c.delivered.Status && st.Fault == c.delivered.Fault
	c.delivered = st
	c.mu.Unlock()
	if !same && c.onState != nil {
		c.onState(st)
	}
}
