package camera

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"
)

// AudioCodec is a codec of camera audio the hub passes through: what a WebRTC
// browser plays as it is. Other audio (AAC and the like) is skipped, never
// transcoded.
type AudioCodec string

// Audio codecs passed through.
const (
	AudioOpus AudioCodec = "opus" // 48 kHz
	AudioPCMU AudioCodec = "pcmu" // G.711 µ-law, 8 kHz mono
	AudioPCMA AudioCodec = "pcma" // G.711 A-law, 8 kHz mono
)

// Audio describes a camera's audio track; the zero Audio is none.
type Audio struct {
	Codec     AudioCodec
	ClockRate int // RTP clock rate: 48000 for Opus, 8000 for G.711
	Channels  int
}

// PayloadType is the static or customary RTP payload type of the codec.
func (a Audio) PayloadType() uint8 {
	switch a.Codec {
	case AudioPCMU:
		return 0
	case AudioPCMA:
		return 8
	}
	return 111
}

// AudioPacket is one RTP packet of a camera's audio, payload as the camera sent
// it. An AudioPacket is shared by every subscriber and must not be modified.
type AudioPacket struct {
	// Seq counts the camera's audio packets from 1, across reconnects.
	Seq uint64
	// PTS is on the camera's timeline, the same as its frames'.
	PTS time.Duration
	// Received is when the packet arrived (the camera's clock).
	Received time.Time
	// Audio is the track's codec.
	Audio Audio
	// RTP is the packet with the camera's payload, a sequence number
	// continuous over the camera's audio and a timestamp at Audio.ClockRate
	// from PTS.
	RTP *rtp.Packet
}

// Size is the payload's byte size.
func (p *AudioPacket) Size() int { return len(p.RTP.Payload) }

// audioTrack picks the session's audio track the hub can pass through. skipped
// names the audio tracks it cannot (for the log).
func audioTrack(desc *description.Session) (medi *description.Media, forma format.Format, a Audio, skipped []string) {
	for _, m := range desc.Medias {
		if m.Type != description.MediaTypeAudio {
			continue
		}
		for _, f := range m.Formats {
			var got Audio
			switch f := f.(type) {
			case *format.Opus:
				got = Audio{Codec: AudioOpus, ClockRate: 48000, Channels: 2}
			case *format.G711:
				if f.SampleRate == 8000 && f.ChannelCount == 1 {
					got = Audio{Codec: AudioPCMA, ClockRate: 8000, Channels: 1}
					if f.MULaw {
						got.Codec = AudioPCMU
					}
				}
			}
			if got.Codec == "" {
				skipped = append(skipped, fmt.Sprintf("%s/%d", f.Codec(), f.ClockRate()))
				continue
			}
			if medi == nil {
				medi, forma, a = m, f, got
			}
		}
	}
	return medi, forma, a, skipped
}

// audioPacket is called on the RTSP reader with one packet of the audio track,
// and now, its arrival. Audio before the connection's first picture is dropped;
// the rest is placed on the video's timeline by arrival of the tracks' first
// packets (as RTSP players do without sender reports) and then by its own
// timestamps.
func (in *ingest) audioPacket(pkt *rtp.Packet, now time.Time) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if !in.started {
		return
	}
	if !in.aSeen {
		in.aSeen, in.aLast, in.aExt = true, pkt.Timestamp, 0
		in.aStart = now.Sub(in.v0) - ticksToDuration(in.firstPTS)
	} else {
		in.aExt += int64(int32(pkt.Timestamp - in.aLast))
		in.aLast = pkt.Timestamp
	}
	pts := in.aStart + ticksAt(in.aExt, in.audio.ClockRate)
	if pts < 0 {
		return
	}
	in.c.publishAudio(pkt, pts, in.audio)
}

func ticksAt(t int64, rate int) time.Duration {
	r := int64(rate)
	return time.Duration(t/r)*time.Second + time.Duration(t%r)*time.Second/time.Duration(r)
}

// publishAudio is called by the reader goroutine with one audio packet.
func (c *Camera) publishAudio(pkt *rtp.Packet, pts time.Duration, a Audio) {
	tl := &c.tl
	pts += tl.offset
	tl.aseq++
	r := int64(a.ClockRate)
	ts := int64(pts/time.Second)*r + int64(pts%time.Second)*r/int64(time.Second)
	p := &AudioPacket{Seq: tl.aseq, PTS: pts, Audio: a, RTP: &rtp.Packet{
		Header: rtp.Header{
			Version: 2, Marker: pkt.Marker, PayloadType: a.PayloadType(),
			SequenceNumber: uint16(tl.aseq), Timestamp: uint32(ts), SSRC: pkt.SSRC,
		},
		Payload: bytes.Clone(pkt.Payload), // the reader reuses its buffers
	}}

	c.mu.Lock()
	defer c.mu.Unlock()
	p.Received = c.clock.Now()
	c.stats.AudioPackets++
	if c.ring.pushAudio(p) {
		c.log.Warn("camera: one picture group and its audio are larger than the buffer's limit; buffer emptied", "limit", c.cfg.MaxBufferBytes)
	}
	for s := range c.subs {
		if s.audio == nil {
			continue
		}
		select {
		case s.audio <- p:
		default:
			s.audioDropped++
			c.stats.AudioDropped++
		}
	}
}

// Audio is the audio the camera passes through as of its current or last
// connection (the zero Audio for none); known is false until the camera has
// connected once.
func (c *Camera) Audio() (a Audio, known bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.audio, c.audioKnown
}

// AwaitAudio is Audio once the camera has connected once: it subscribes
// meanwhile, so an on-demand camera connects (and lingers for the view that
// follows). When ctx ends first it returns the zero Audio.
func (c *Camera) AwaitAudio(ctx context.Context) Audio {
	if a, ok := c.Audio(); ok {
		return a
	}
	sub := c.Subscribe(ReplayNone, 1)
	defer sub.Close()
	for {
		select {
		case <-c.connected:
		case <-ctx.Done():
		case _, ok := <-sub.C():
			if ok {
				continue // a frame: the connection is up, connected is closed
			}
			// The camera stopped.
		}
		a, _ := c.Audio()
		return a
	}
}

// setAudio records the audio of a new connection. Reader goroutine.
func (c *Camera) setAudio(a Audio) {
	c.mu.Lock()
	c.audio = a
	first := !c.audioKnown
	c.audioKnown = true
	c.mu.Unlock()
	if first {
		close(c.connected)
	}
}

// SubscribeAudio is Subscribe with the camera's audio as well, on Audio. With
// ReplayAll the buffered audio comes first (from the buffer's first picture
// on); otherwise audio starts live. A subscriber whose audio queue (four times
// queue) is full loses audio packets, never video.
func (c *Camera) SubscribeAudio(replay Replay, queue int) *Subscription {
	if queue <= 0 {
		queue = DefaultQueue
	}
	return c.subscribe(replay, queue, true)
}
