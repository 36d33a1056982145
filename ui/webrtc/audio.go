package webrtc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"vakt/sensors/camera"

	"github.com/pion/rtp"
	pion "github.com/pion/webrtc/v4"
)

// audioCapability is the WebRTC codec of a camera's audio codec.
func audioCapability(c camera.AudioCodec) pion.RTPCodecCapability {
	switch c {
	case camera.AudioPCMU:
		return pion.RTPCodecCapability{MimeType: pion.MimeTypePCMU, ClockRate: 8000, Channels: 1}
	case camera.AudioPCMA:
		return pion.RTPCodecCapability{MimeType: pion.MimeTypePCMA, ClockRate: 8000, Channels: 1}
	}
	return pion.RTPCodecCapability{MimeType: pion.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}
}

// hasAudio reports whether an SDP offer has an audio m-line.
func hasAudio(offer string) bool {
	for line := range strings.SplitSeq(offer, "\n") {
		if strings.HasPrefix(line, "m=audio ") {
			return true
		}
	}
	return false
}

// addAudio adds an audio track in the camera's codec when the camera has audio
// and the offer an audio m-line, and returns its sender (nil: video only).
func (ss *session) addAudio(ctx context.Context, offer string) (*pion.RTPSender, error) {
	ac, ok := ss.cam.(AudioCamera)
	if !ok || !hasAudio(offer) {
		return nil, nil
	}
	wctx, cancel := context.WithTimeout(ctx, audioWait)
	defer cancel()
	ss.audio = ac.AwaitAudio(wctx)
	if ss.audio.Codec == "" {
		return nil, nil
	}
	capability := audioCapability(ss.audio.Codec)
	track, err := pion.NewTrackLocalStaticRTP(capability, "audio", "vakt-"+ss.camera)
	if err != nil {
		return nil, fmt.Errorf("webrtc: audio track: %w", err)
	}
	sender, err := ss.pc.AddTrack(track)
	if err != nil {
		return nil, fmt.Errorf("webrtc: add audio track: %w", err)
	}
	for _, tr := range ss.pc.GetTransceivers() {
		if tr.Sender() != sender {
			continue
		}
		// Answer with the camera's codec only: it is all the track sends.
		codec := pion.RTPCodecParameters{RTPCodecCapability: capability, PayloadType: pion.PayloadType(ss.audio.PayloadType())}
		if err := tr.SetCodecPreferences([]pion.RTPCodecParameters{codec}); err != nil {
			return nil, fmt.Errorf("webrtc: audio codec: %w", err)
		}
	}
	ss.audioTrack = track
	return sender, nil
}

// writeAudio forwards one audio packet, its timestamp shift later (see
// gapClock); false when the connection is gone.
func (ss *session) writeAudio(p *camera.AudioPacket, shift time.Duration) bool {
	if p.Audio.Codec != ss.audio.Codec {
		return true // the camera's audio changed since the answer
	}
	out := p.RTP
	if shift != 0 {
		// The packet is shared: a copy with its own timestamp.
		out = &rtp.Packet{Header: p.RTP.Header, Payload: p.RTP.Payload}
		out.Timestamp += uint32(ticks(shift, p.Audio.ClockRate))
	}
	if err := ss.audioTrack.WriteRTP(out); err != nil {
		if errors.Is(err, io.ErrClosedPipe) {
			return false
		}
		ss.s.log.Debug("webrtc: write audio rtp", "session", ss.id, "err", err)
		return true
	}
	ss.mu.Lock()
	ss.audioPkts++
	ss.mu.Unlock()
	return true
}

// stopOtherAudio stops the transceivers the offer's audio m-lines got other
// than sender's (all of them without audio): nothing is sent on them.
func stopOtherAudio(pc *pion.PeerConnection, sender *pion.RTPSender) {
	for _, tr := range pc.GetTransceivers() {
		if tr.Kind() == pion.RTPCodecTypeAudio && (sender == nil || tr.Sender() != sender) {
			_ = tr.Stop()
		}
	}
}
