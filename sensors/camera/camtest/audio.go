package camtest

import (
	"bytes"
	_ "embed"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/pion/rtp"
)

// Audio codecs the fake camera can publish besides its video (Options.Audio).
const (
	AudioPCMU = "pcmu" // G.711 µ-law, 8 kHz mono: a 440 Hz tone
	AudioPCMA = "pcma" // G.711 A-law, 8 kHz mono: a 440 Hz tone
	AudioOpus = "opus" // Opus 48 kHz: a 440 Hz tone made by ffmpeg, looped
	AudioAAC  = "aac"  // MPEG-4 audio (AAC-LC): a track browsers cannot play
)

// AudioPacketTime is the duration of one published audio packet.
const AudioPacketTime = 20 * time.Millisecond

//go:embed testdata/tone.opus
var toneOpus []byte

// OpusPackets are the Opus packets of the checked-in tone (20 ms each).
var OpusPackets = sync.OnceValue(func() [][]byte {
	p, err := oggPackets(toneOpus)
	if err != nil {
		panic(err)
	}
	return p
})

// oggPackets reads the audio packets of an Ogg Opus file (RFC 7845): the
// packets after the OpusHead and OpusTags headers.
func oggPackets(b []byte) ([][]byte, error) {
	var packets [][]byte
	var cur []byte
	for len(b) > 0 {
		if len(b) < 27 || !bytes.HasPrefix(b, []byte("OggS")) {
			return nil, fmt.Errorf("camtest: tone.opus: not an Ogg page at %d bytes from the end", len(b))
		}
		n := int(b[26])
		if len(b) < 27+n {
			return nil, fmt.Errorf("camtest: tone.opus: short page")
		}
		lacing := b[27 : 27+n]
		b = b[27+n:]
		for _, l := range lacing {
			if len(b) < int(l) {
				return nil, fmt.Errorf("camtest: tone.opus: short segment")
			}
			cur = append(cur, b[:l]...)
			b = b[l:]
			if l < 255 {
				packets = append(packets, cur)
				cur = nil
			}
		}
	}
	if len(packets) < 3 || !bytes.HasPrefix(packets[0], []byte("OpusHead")) {
		return nil, fmt.Errorf("camtest: tone.opus: no Opus packets")
	}
	return packets[2:], nil
}

// audioMedia is the SDP media of codec, or nil for none.
func audioMedia(codec string) *description.Media {
	var f format.Format
	switch codec {
	case "":
		return nil
	case AudioPCMU:
		f = &format.G711{PayloadTyp: 0, MULaw: true, SampleRate: 8000, ChannelCount: 1}
	case AudioPCMA:
		f = &format.G711{PayloadTyp: 8, MULaw: false, SampleRate: 8000, ChannelCount: 1}
	case AudioOpus:
		f = &format.Opus{PayloadTyp: 111, ChannelCount: 2}
	case AudioAAC:
		f = &format.MPEG4Audio{
			PayloadTyp: 97, SizeLength: 13, IndexLength: 3, IndexDeltaLength: 3,
			Config: &mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 16000, ChannelCount: 1},
		}
	default:
		panic("camtest: unknown audio codec " + codec)
	}
	return &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{f}}
}

// AudioPayload is the payload and RTP timestamp of the n-th audio packet
// (from 0) the camera publishes in codec.
func AudioPayload(codec string, n int) ([]byte, uint32) {
	switch codec {
	case AudioOpus:
		p := OpusPackets()
		return p[n%len(p)], uint32(n * 960)
	case AudioAAC:
		// One AU header (13-bit size 1, index 0) and a one-byte access unit.
		return []byte{0x00, 0x10, 0x00, 0x08, 0x00}, uint32(n * 1024)
	}
	const samples = 160 // 20 ms at 8 kHz
	p := make([]byte, samples)
	for i := range p {
		t := float64(n*samples+i) / 8000
		v := int16(8000 * math.Sin(2*math.Pi*440*t))
		if codec == AudioPCMU {
			p[i] = MuLaw(v)
		} else {
			p[i] = ALaw(v)
		}
	}
	return p, uint32(n * samples)
}

// MuLaw encodes one 16-bit sample as G.711 µ-law.
func MuLaw(s int16) byte {
	const bias, clip = 0x84, 32635
	v := int(s)
	sign := 0
	if v < 0 {
		v, sign = -v, 0x80
	}
	v = min(v, clip) + bias
	exp := 7
	for mask := 0x4000; v&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (v >> (exp + 3)) & 0x0f
	return ^byte(sign | exp<<4 | mant)
}

// ALaw encodes one 16-bit sample as G.711 A-law.
func ALaw(s int16) byte {
	v := int(s) >> 3 // 13-bit magnitude
	sign := 0x80
	if v < 0 {
		v, sign = -v-1, 0
	}
	var out int
	if v < 32 {
		out = v >> 1
	} else {
		exp := 1
		for x := v >> 5; x > 1 && exp < 7; x >>= 1 {
			exp++
		}
		out = exp<<4 | (v>>exp)&0x0f
	}
	return byte(out|sign) ^ 0x55
}

// AudioPublished counts the audio packets written to the stream.
func (c *Camera) AudioPublished() int { c.mu.Lock(); defer c.mu.Unlock(); return c.audioPublished }

// publishAudio writes the audio track in real time, paused with the video.
func (c *Camera) publishAudio() {
	c.every(AudioPacketTime, func(n int) bool {
		payload, ts := AudioPayload(c.opts.Audio, n)
		p := &rtp.Packet{
			Header:  rtp.Header{Version: 2, Marker: true, PayloadType: c.audio.Formats[0].PayloadType(), SequenceNumber: uint16(n), Timestamp: ts},
			Payload: payload,
		}
		if err := c.stream.WritePacketRTPWithNTP(c.audio, p, time.Now()); err != nil {
			c.t.Errorf("camtest: write audio: %v", err)
			return false
		}
		c.mu.Lock()
		c.audioPublished++
		c.mu.Unlock()
		return true
	})
}

// AudioIndex is the n at which payloads are the camera's packets n, n+1, … in
// codec (in order, none missing), or -1.
func AudioIndex(codec string, payloads ...[]byte) int {
	for n := range 5000 {
		i := 0
		for ; i < len(payloads); i++ {
			if p, _ := AudioPayload(codec, n+i); !bytes.Equal(p, payloads[i]) {
				break
			}
		}
		if i == len(payloads) {
			return n
		}
	}
	return -1
}
