package camera

import (
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
)

// Subscription receives a camera's frames. Frames come in order; when the
// subscriber falls behind (its queue is full) frames are dropped and the
// subscription resumes at the next keyframe, so what it gets is always
// decodable. C is closed when the subscription or the camera ends.
type Subscription struct {
	c     *Camera
	ch    chan *Frame
	audio chan *AudioPacket // nil unless SubscribeAudio
	// guarded by c.mu
	waitKey      bool // skip frames until a keyframe
	started      bool // a frame was queued
	dropped      uint64
	audioDropped uint64
	once         sync.Once
}

// C is the subscription's frames.
func (s *Subscription) C() <-chan *Frame { return s.ch }

// Audio is the subscription's audio packets, in order; nil for a subscription
// made with Subscribe. It is closed with C.
func (s *Subscription) Audio() <-chan *AudioPacket { return s.audio }

// AudioDropped counts the audio packets this subscription lost to a full queue.
func (s *Subscription) AudioDropped() uint64 {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.audioDropped
}

// closeChans closes C and Audio. c.mu held.
func (s *Subscription) closeChans() {
	close(s.ch)
	if s.audio != nil {
		close(s.audio)
	}
}

// Dropped counts the frames this subscription lost to a full queue.
func (s *Subscription) Dropped() uint64 {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.dropped
}

// Close ends the subscription and closes C. Safe to call more than once.
func (s *Subscription) Close() {
	s.once.Do(func() {
		c := s.c
		c.mu.Lock()
		if _, ok := c.subs[s]; ok {
			delete(c.subs, s)
			s.closeChans()
			if len(c.subs) == 0 {
				c.lastSub = c.clock.Now()
			}
		}
		c.mu.Unlock()
	})
}

// Subscribe starts a subscription: first the buffered frames replay asks for,
// then live frames. queue is how many live frames may wait for the subscriber
// before it loses some (DefaultQueue when <= 0). Subscribing to an on-demand
// camera connects it.
func (c *Camera) Subscribe(replay Replay, queue int) *Subscription {
	if queue <= 0 {
		queue = DefaultQueue
	}
	return c.subscribe(replay, queue, false)
}

func (c *Camera) subscribe(replay Replay, queue int, audio bool) *Subscription {
	c.mu.Lock()
	var first []*Frame
	var firstAudio []*AudioPacket
	switch replay {
	case ReplayGOP:
		// Only while the camera delivers: the last pictures of a camera that
		// stopped (or of an on-demand camera's last connection) would pass
		// for live.
		if c.state.Status == StatusStreaming && c.state.Fault == "" {
			first = c.ring.lastGOP()
		}
	case ReplayAll:
		first = c.ring.all()
		firstAudio = c.ring.allAudio()
	}
	s := &Subscription{c: c, ch: make(chan *Frame, len(first)+queue), waitKey: len(first) == 0, started: len(first) > 0}
	for _, f := range first {
		s.ch <- f
	}
	if audio {
		s.audio = make(chan *AudioPacket, len(firstAudio)+4*queue)
		for _, p := range firstAudio {
			s.audio <- p
		}
	}
	if c.stopped {
		s.closeChans()
		c.mu.Unlock()
		return s
	}
	c.subs[s] = struct{}{}
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return s
}

// Reader-goroutine state of a camera: the timeline across connections and the
// packetizer of Frame.RTP.
type timeline struct {
	offset  time.Duration // added to a connection's timestamps
	lastPTS time.Duration
	lastDTS time.Duration
	step    time.Duration // last frame interval
	enc     *rtph264.Encoder
	seq     uint64
	aseq    uint64 // audio packets
}

// publish is called by the reader goroutine with one access unit.
func (c *Camera) publish(au [][]byte, key bool, pts, dts time.Duration, size int, firstOfConn bool) {
	tl := &c.tl
	if tl.enc == nil {
		tl.enc = &rtph264.Encoder{PayloadType: 96, PayloadMaxSize: RTPPayloadMax, PacketizationMode: 1}
		if err := tl.enc.Init(); err != nil {
			c.log.Error("camera: rtp packetizer", "err", err)
			return
		}
	} else if firstOfConn {
		step := tl.step
		if step <= 0 {
			step = 40 * time.Millisecond
		}
		tl.offset = tl.lastDTS + step
	}
	pts += tl.offset
	dts += tl.offset
	if tl.seq > 0 && !firstOfConn {
		if d := dts - tl.lastDTS; d > 0 {
			tl.step = d
		}
	}
	tl.lastPTS, tl.lastDTS = pts, dts
	pkts, err := tl.enc.Encode(au)
	if err != nil {
		c.log.Debug("camera: rtp packetize", "err", err)
		return
	}
	ts := uint32(durationToTicks(pts))
	for _, p := range pkts {
		p.Timestamp = ts
	}
	tl.seq++
	f := &Frame{Seq: tl.seq, PTS: pts, DTS: dts, Key: key, AU: au, RTP: pkts, Size: size}

	c.mu.Lock()
	now := c.clock.Now()
	f.Received = now
	c.wantSince = now
	c.stats.Frames++
	if key {
		c.stats.Keyframes++
	}
	c.stats.Bytes += uint64(size)
	if c.ring.push(f) {
		c.log.Warn("camera: one picture group is larger than the buffer's limit; buffer emptied", "limit", c.cfg.MaxBufferBytes)
	}
	for s := range c.subs {
		if s.waitKey && !key {
			if s.started {
				// Lost to an earlier drop: not decodable without its keyframe.
				s.dropped++
				c.stats.Dropped++
			}
			continue
		}
		select {
		case s.ch <- f:
			s.waitKey, s.started = false, true
		default:
			s.dropped++
			c.stats.Dropped++
			s.waitKey = true
		}
	}
	changed := c.state.Status != StatusStreaming || c.state.Fault != ""
	if changed {
		if c.state.Fault != "" {
			c.log.Info("camera: video back", "fault", c.state.Fault)
		}
		c.state.Status = StatusStreaming
		c.state.Fault = ""
	}
	c.mu.Unlock()
	if changed {
		c.signal()
	}
}
