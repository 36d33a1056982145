package camera

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtp"
)

const clockRate = 90000

// stream runs one RTSP session until it fails or ctx ends. flowed reports
// whether any frame arrived.
func (c *Camera) stream(ctx context.Context) (flowed bool, err error) {
	u, err := base.ParseURL(c.cfg.URL)
	if err != nil {
		return false, fmt.Errorf("camera %s: url: %w", c.cfg.Name, err)
	}
	tcp := gortsplib.TransportTCP
	client := &gortsplib.Client{
		Scheme:      u.Scheme,
		Host:        u.Host,
		Transport:   &tcp,
		ReadTimeout: c.cfg.StallAfter + 5*time.Second,
		UserAgent:   "vakt",
	}
	in := &ingest{c: c}
	client.OnDecodeError = func(err error) {
		c.log.Debug("camera: rtsp decode error", "err", err)
	}
	if err := client.Start2(); err != nil {
		return false, fmt.Errorf("camera %s: rtsp client: %w", c.cfg.Name, err)
	}
	stop := context.AfterFunc(ctx, client.Close)
	defer stop()
	defer client.Close()

	desc, _, err := client.Describe(u)
	if err != nil {
		return false, fmt.Errorf("camera %s: describe %s: %w", c.cfg.Name, c.url, err)
	}
	var forma *format.H264
	medi := desc.FindFormat(&forma)
	if medi == nil {
		return false, fmt.Errorf("camera %s: %s has no H.264 video track", c.cfg.Name, c.url)
	}
	dec, err := forma.CreateDecoder()
	if err != nil {
		return false, fmt.Errorf("camera %s: h264 decoder: %w", c.cfg.Name, err)
	}
	in.sps, in.pps = forma.SafeParams()
	if _, err := client.Setup(desc.BaseURL, medi, 0, 0); err != nil {
		return false, fmt.Errorf("camera %s: setup %s: %w", c.cfg.Name, c.url, err)
	}
	amedi, aforma, audio, skipped := audioTrack(desc)
	if len(skipped) > 0 {
		c.log.Info("camera: audio track skipped: only Opus and G.711 (8 kHz mono) pass through to browsers, and the hub does not transcode", "codecs", skipped)
	}
	if amedi != nil {
		if _, err := client.Setup(desc.BaseURL, amedi, 0, 0); err != nil {
			return false, fmt.Errorf("camera %s: setup audio %s: %w", c.cfg.Name, c.url, err)
		}
		in.audio = audio
		client.OnPacketRTP(amedi, aforma, func(pkt *rtp.Packet) {
			in.audioPacket(pkt, time.Now())
		})
	}
	client.OnPacketRTP(medi, forma, func(pkt *rtp.Packet) {
		in.mu.Lock()
		defer in.mu.Unlock()
		if !in.tsSeen {
			in.v0 = time.Now()
		}
		pts := in.unwrap(pkt.Timestamp)
		au, err := dec.Decode(pkt)
		if err != nil {
			if !errors.Is(err, rtph264.ErrMorePacketsNeeded) && !errors.Is(err, rtph264.ErrNonStartingPacketAndNoPrevious) {
				c.log.Debug("camera: rtp/h264", "err", err)
			}
			in.prevPTS = pts
			return
		}
		if !pkt.Marker {
			// The access unit ended because this packet has a new timestamp.
			pts, in.prevPTS = in.prevPTS, pts
		} else {
			in.prevPTS = pts
		}
		in.accessUnit(au, pts)
	})
	if _, err := client.Play(nil); err != nil {
		return false, fmt.Errorf("camera %s: play %s: %w", c.cfg.Name, c.url, err)
	}
	c.mu.Lock()
	c.stats.Connects++
	c.mu.Unlock()
	c.setAudio(audio)
	c.log.Info("camera: connected", "url", c.url, "audio", string(audio.Codec))
	err = client.Wait()
	if ctx.Err() != nil {
		return in.frames > 0, ctx.Err()
	}
	return in.frames > 0, fmt.Errorf("camera %s: %s: %w", c.cfg.Name, c.url, err)
}

// ingest turns one connection's access units into Frames (and its audio
// packets into AudioPackets).
type ingest struct {
	mu       sync.Mutex // the tracks' callbacks
	c        *Camera
	sps, pps []byte
	dts      *h264.DTSExtractor
	started  bool
	firstPTS int64
	prevPTS  int64
	frames   int
	// RTP timestamp unwrapping
	tsSeen bool
	lastTS uint32
	ext    int64
	v0     time.Time // arrival of the first video packet
	// audio
	audio  Audio
	aSeen  bool
	aLast  uint32
	aExt   int64
	aStart time.Duration // the first audio packet on the connection's timeline
}

// unwrap extends a 32-bit RTP timestamp to the connection's 64-bit timeline.
func (in *ingest) unwrap(ts uint32) int64 {
	if !in.tsSeen {
		in.tsSeen, in.lastTS = true, ts
		return 0
	}
	in.ext += int64(int32(ts - in.lastTS))
	in.lastTS = ts
	return in.ext
}

// accessUnit is called on the RTSP reader's goroutine.
func (in *ingest) accessUnit(au [][]byte, pts int64) {
	key := h264.IsRandomAccess(au)
	hasSPS, hasPPS := false, false
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeSPS:
			in.sps, hasSPS = keep(in.sps, n), true
		case h264.NALUTypePPS:
			in.pps, hasPPS = keep(in.pps, n), true
		}
	}
	if !in.started {
		if !key || in.sps == nil || in.pps == nil {
			return // a decoder cannot start here
		}
		in.started = true
		in.dts = &h264.DTSExtractor{}
		in.dts.Initialize()
		in.firstPTS = pts
	}
	if key && (!hasSPS || !hasPPS) {
		// Keep SPS and PPS with every keyframe, after an access unit delimiter.
		with := make([][]byte, 0, len(au)+2)
		if len(au[0]) > 0 && h264.NALUType(au[0][0]&0x1f) == h264.NALUTypeAccessUnitDelimiter {
			with = append(with, au[0])
			au = au[1:]
		}
		if !hasSPS {
			with = append(with, in.sps)
		}
		if !hasPPS {
			with = append(with, in.pps)
		}
		au = append(with, au...)
	}
	dts, err := in.dts.Extract(au, pts)
	if err != nil {
		in.c.log.Debug("camera: dts", "err", err)
		dts = pts
	}
	// Copy the NAL units: the reader reuses its buffers.
	size := 0
	for _, n := range au {
		size += len(n)
	}
	buf := make([]byte, 0, size)
	own := make([][]byte, len(au))
	for i, n := range au {
		buf = append(buf, n...)
		own[i] = buf[len(buf)-len(n):]
	}
	in.frames++
	in.c.publish(own, key, ticksToDuration(pts-in.firstPTS), ticksToDuration(dts-in.firstPTS), size, in.frames == 1)
}

// keep returns old if it equals n, else a copy of n (the reader reuses n's memory).
func keep(old, n []byte) []byte {
	if bytes.Equal(old, n) {
		return old
	}
	return bytes.Clone(n)
}

func ticksToDuration(t int64) time.Duration {
	return time.Duration(t/clockRate)*time.Second + time.Duration(t%clockRate)*time.Second/clockRate
}

func durationToTicks(d time.Duration) int64 {
	return int64(d/time.Second)*clockRate + int64(d%time.Second)*clockRate/int64(time.Second)
}
