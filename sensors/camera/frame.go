package camera

import (
	"time"

	"github.com/pion/rtp"
)

// Frame is one H.264 access unit (one picture) as the camera delivered it. A Frame
// is shared by every subscriber and must not be modified.
type Frame struct {
	// Seq counts the camera's frames from 1, across reconnects.
	Seq uint64
	// PTS and DTS are the presentation and decoding times on the camera's own
	// timeline. It starts at zero and stays continuous across reconnects (a new
	// connection continues one frame interval after the last frame of the old one).
	PTS, DTS time.Duration
	// Received is when the frame arrived (the camera's clock).
	Received time.Time
	// Key is true for an IDR picture; a keyframe's AU always starts with the
	// stream's SPS and PPS, so a decoder can start from it.
	Key bool
	// AU holds the NAL units, without start codes.
	AU [][]byte
	// RTP holds the access unit packetized for forwarding (RFC 6184, payloads of
	// at most RTPPayloadMax bytes so they fit a WebRTC path), with 90 kHz
	// timestamps from PTS and sequence numbers continuous over the camera's frames.
	RTP []*rtp.Packet
	// Size is the byte size of the NAL units.
	Size int
}

// RTPPayloadMax is the largest RTP payload in Frame.RTP: small enough for a
// WebRTC path (1200 bytes of UDP payload less the SRTP and RTP overhead).
const RTPPayloadMax = 1100

// ring keeps the recent frames of a camera, always starting at a keyframe, and
// the audio packets from that keyframe on. maxBytes counts both.
type ring struct {
	span     time.Duration // history to keep behind the newest frame
	maxBytes int           // hard limit, whatever span says
	frames   []*Frame
	audio    []*AudioPacket
	bytes    int
}

// push adds f. A frame that is not a keyframe is only kept after a keyframe.
// It reports whether the buffer had to be emptied because one picture group
// alone exceeded maxBytes.
func (r *ring) push(f *Frame) (overflow bool) {
	if len(r.frames) == 0 && !f.Key {
		return false
	}
	r.frames = append(r.frames, f)
	r.bytes += f.Size
	return r.trim(f.PTS)
}

// trim drops the oldest picture groups (and their audio) while what remains
// still covers span behind newest, or while the buffer is over its byte limit.
// It reports whether the buffer had to be emptied.
func (r *ring) trim(newest time.Duration) (overflow bool) {
	for {
		k := r.secondKey()
		if k < 0 {
			break
		}
		if newest-r.frames[k].PTS < r.span && r.bytes <= r.maxBytes {
			break
		}
		r.dropFront(k)
	}
	if r.bytes > r.maxBytes {
		r.reset()
		return true
	}
	return false
}

// pushAudio adds p if the buffer holds a picture from p's time or before.
func (r *ring) pushAudio(p *AudioPacket) (overflow bool) {
	if len(r.frames) == 0 || p.PTS < r.frames[0].PTS {
		return false
	}
	r.audio = append(r.audio, p)
	r.bytes += p.Size()
	return r.trim(p.PTS)
}

// secondKey is the index of the second keyframe, or -1.
func (r *ring) secondKey() int {
	for i := 1; i < len(r.frames); i++ {
		if r.frames[i].Key {
			return i
		}
	}
	return -1
}

func (r *ring) dropFront(n int) {
	for i := 0; i < n; i++ {
		r.bytes -= r.frames[i].Size
		r.frames[i] = nil
	}
	r.frames = r.frames[n:]
	a := 0
	for a < len(r.audio) && r.audio[a].PTS < r.frames[0].PTS {
		r.bytes -= r.audio[a].Size()
		r.audio[a] = nil
		a++
	}
	r.audio = r.audio[a:]
}

func (r *ring) reset() {
	clear(r.frames)
	r.frames = r.frames[:0]
	clear(r.audio)
	r.audio = r.audio[:0]
	r.bytes = 0
}

// allAudio is the buffered audio, copied.
func (r *ring) allAudio() []*AudioPacket {
	return append([]*AudioPacket(nil), r.audio...)
}

// all is the whole buffer (starting at a keyframe), copied.
func (r *ring) all() []*Frame {
	return append([]*Frame(nil), r.frames...)
}

// lastGOP is the buffer from its newest keyframe on, copied.
func (r *ring) lastGOP() []*Frame {
	for i := len(r.frames) - 1; i >= 0; i-- {
		if r.frames[i].Key {
			return append([]*Frame(nil), r.frames[i:]...)
		}
	}
	return nil
}
