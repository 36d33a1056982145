// Package whepclient is a WHEP viewer for tests and figures: a pion peer
// connection on loopback that receives one H.264 video track, reassembles its
// access units and counts what arrives, so tests can hold the hub's live view to
// the frames a viewer gets.
package whepclient

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	pion "github.com/pion/webrtc/v4"
)

// Options configure a viewer.
type Options struct {
	// Client sends the WHEP requests (default http.DefaultClient); a client that
	// dials a Unix socket reaches a hub's local socket.
	Client *http.Client
	// Token, when set, is sent as a bearer token.
	Token string
	// Queue is how many access units AUs holds before further ones are dropped
	// (they are still counted; default 1000).
	Queue int
	// OnPacket, when set, sees every RTP packet of the track as it arrives (on
	// the track's goroutine; the packet is not reused).
	OnPacket func(*rtp.Packet)
	// Resends turns SRTP replay protection off, so packets the viewer asks for
	// again (RequestResend) arrive even if it had them already.
	Resends bool
	// Audio adds a recvonly audio transceiver to the offer, as browsers do;
	// OnAudio, when set, is handed the audio track (on its own goroutine).
	Audio   bool
	OnAudio func(*pion.TrackRemote)
}

// AU is one access unit as the viewer reassembled it.
type AU struct {
	NALUs [][]byte
	// Timestamp is the RTP timestamp of its packets.
	Timestamp uint32
	// Key says it is an IDR picture.
	Key bool
	// At is when its last packet arrived.
	At time.Time
}

// Viewer is a WHEP session seen from the viewer's side.
type Viewer struct {
	PC *pion.PeerConnection
	// Resp is the answer to the POST (its body already read into Answer).
	Resp   *http.Response
	Answer string
	// Posted is when the POST was sent.
	Posted time.Time
	// AUs receives the access units; it is closed when the track ends.
	AUs chan AU
	// Gone is closed when the connection closes, fails or is disconnected.
	Gone chan struct{}

	opts     Options
	url      string
	frames   atomic.Uint64
	ssrc     atomic.Uint32
	mu       sync.Mutex
	missing  map[uint16]struct{} // RTP sequence numbers skipped and not yet come
	gaps     uint64              // sequence numbers skipped
	late     uint64              // ... of those that came later (resent on NACK)
	dups     uint64              // packets that came again
	firstKey chan struct{}
	keyAt    time.Time // set before firstKey is closed
	goneOnce sync.Once
}

type quietLogs struct{}

func (quietLogs) NewLogger(string) logging.LeveledLogger {
	return logging.NewDefaultLeveledLoggerForScope("", logging.LogLevelDisabled, io.Discard)
}

// Dial offers to receive video from the WHEP endpoint url and, on 201, applies
// the answer. A refused POST is no failure: Resp says what the server answered.
func Dial(t testing.TB, url string, opts Options) *Viewer {
	t.Helper()
	if opts.Client == nil {
		opts.Client = http.DefaultClient
	}
	if opts.Queue <= 0 {
		opts.Queue = 1000
	}
	se := pion.SettingEngine{LoggerFactory: quietLogs{}}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]pion.NetworkType{pion.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.DisableSRTPReplayProtection(opts.Resends)
	me := &pion.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	api := pion.NewAPI(pion.WithSettingEngine(se), pion.WithMediaEngine(me))
	pc, err := api.NewPeerConnection(pion.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	if _, err := pc.AddTransceiverFromKind(pion.RTPCodecTypeVideo, pion.RTPTransceiverInit{Direction: pion.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	if opts.Audio {
		if _, err := pc.AddTransceiverFromKind(pion.RTPCodecTypeAudio, pion.RTPTransceiverInit{Direction: pion.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	v := &Viewer{PC: pc, AUs: make(chan AU, opts.Queue), Gone: make(chan struct{}), opts: opts, url: url, firstKey: make(chan struct{}), missing: map[uint16]struct{}{}}
	pc.OnTrack(func(tr *pion.TrackRemote, _ *pion.RTPReceiver) {
		if tr.Kind() == pion.RTPCodecTypeAudio && opts.OnAudio != nil {
			opts.OnAudio(tr)
			return
		}
		if tr.Kind() != pion.RTPCodecTypeVideo {
			return
		}
		v.receive(t, tr)
	})
	pc.OnConnectionStateChange(func(s pion.PeerConnectionState) {
		if s == pion.PeerConnectionStateClosed || s == pion.PeerConnectionStateFailed || s == pion.PeerConnectionStateDisconnected {
			v.goneOnce.Do(func() { close(v.Gone) })
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := pion.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(pc.LocalDescription().SDP))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/sdp")
	if opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+opts.Token)
	}
	v.Posted = time.Now()
	resp, err := opts.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	v.Resp, v.Answer = resp, string(body)
	if resp.StatusCode == http.StatusCreated {
		if err := pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeAnswer, SDP: v.Answer}); err != nil {
			t.Fatal(err)
		}
	}
	return v
}

func (v *Viewer) receive(t testing.TB, tr *pion.TrackRemote) {
	defer close(v.AUs)
	v.ssrc.Store(uint32(tr.SSRC()))
	dec := &rtph264.Decoder{}
	if err := dec.Init(); err != nil {
		t.Error(err)
		return
	}
	var last uint16
	seen := false
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		switch d := pkt.SequenceNumber - last; {
		case !seen:
			seen, last = true, pkt.SequenceNumber
		case d == 0 || d >= 0x8000: // an old one: the newest stays the reference
			v.mu.Lock()
			if _, ok := v.missing[pkt.SequenceNumber]; ok {
				delete(v.missing, pkt.SequenceNumber)
				v.late++
			} else {
				v.dups++
			}
			v.mu.Unlock()
		default:
			v.mu.Lock()
			for s := last + 1; s != pkt.SequenceNumber; s++ {
				v.missing[s] = struct{}{}
				v.gaps++
			}
			v.mu.Unlock()
			last = pkt.SequenceNumber
		}
		if v.opts.OnPacket != nil {
			v.opts.OnPacket(pkt)
		}
		nalus, err := dec.Decode(pkt)
		if err != nil {
			continue // not the end of an access unit, or a broken one
		}
		au := AU{NALUs: nalus, Timestamp: pkt.Timestamp, Key: h264.IsRandomAccess(nalus), At: time.Now()}
		if au.Key && v.frames.Load() == 0 {
			v.keyAt = au.At
			close(v.firstKey)
		}
		if v.frames.Load() > 0 || au.Key {
			v.frames.Add(1)
		}
		select {
		case v.AUs <- au:
		default:
		}
	}
}

// Next is the next access unit; it fails the test after 20 s or when the track
// ends.
func (v *Viewer) Next(t testing.TB) AU {
	t.Helper()
	select {
	case au, ok := <-v.AUs:
		if !ok {
			t.Fatal("whepclient: track ended")
		}
		return au
	case <-time.After(20 * time.Second):
		t.Fatal("whepclient: no frame within 20 s")
	}
	return AU{}
}

// FirstKeyframe waits for the first complete keyframe and says how long after
// the POST it arrived; it fails the test after 20 s.
func (v *Viewer) FirstKeyframe(t testing.TB) time.Duration {
	t.Helper()
	select {
	case <-v.firstKey:
		return v.keyAt.Sub(v.Posted)
	case <-time.After(20 * time.Second):
		t.Fatal("whepclient: no keyframe within 20 s")
	}
	return 0
}

// Frames counts the access units received from the first keyframe on.
func (v *Viewer) Frames() uint64 { return v.frames.Load() }

// Packets is what became of the RTP packets: skipped counts the sequence
// numbers that did not come in order, late those of them that came later (resent
// on the viewer's NACK), missing those still missing, and repeats the packets
// that came again.
func (v *Viewer) Packets() (skipped, late, missing, repeats uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.gaps, v.late, uint64(len(v.missing)), v.dups
}

// Gaps counts the RTP sequence numbers that did not come in order, and Repeats
// the packets that came again or late.
func (v *Viewer) Gaps() uint64 {
	g, _, _, _ := v.Packets()
	return g
}

func (v *Viewer) Repeats() uint64 {
	_, l, _, r := v.Packets()
	return l + r
}

// RequestKeyframe sends a picture loss indication (RTCP PLI) for the track.
func (v *Viewer) RequestKeyframe() error {
	return v.PC.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: v.ssrc.Load()}})
}

// RequestResend sends a NACK (RTCP generic NACK) for the packets seqs.
func (v *Viewer) RequestResend(seqs ...uint16) error {
	n := &rtcp.TransportLayerNack{MediaSSRC: v.ssrc.Load()}
	for _, s := range seqs {
		n.Nacks = append(n.Nacks, rtcp.NackPair{PacketID: s})
	}
	return v.PC.WriteRTCP([]rtcp.Packet{n})
}

// Close ends the session with a DELETE on its Location (base is prepended, the
// server's scheme and host) and closes the peer connection.
func (v *Viewer) Close(t testing.TB, base string) {
	t.Helper()
	if loc := v.Resp.Header.Get("Location"); loc != "" && v.Resp.StatusCode == http.StatusCreated {
		req, err := http.NewRequest(http.MethodDelete, base+loc, nil)
		if err != nil {
			t.Fatal(err)
		}
		if v.opts.Token != "" {
			req.Header.Set("Authorization", "Bearer "+v.opts.Token)
		}
		resp, err := v.opts.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("whepclient: DELETE %s: %d", loc, resp.StatusCode)
		}
	}
	if err := v.PC.Close(); err != nil {
		t.Error(err)
	}
}
