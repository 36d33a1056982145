// Package webrtc serves cameras' live video to browsers and WHEP players over
// WebRTC (pion/webrtc), without transcoding.
//
// A Server is an http.Handler with one WHEP endpoint per camera (RFC 9725 style):
//
//	POST   {base}/{camera}/whep         SDP offer in, 201 + SDP answer, Location, ETag
//	PATCH  {base}/{camera}/whep/{id}    trickled ICE candidates (application/trickle-ice-sdpfrag)
//	DELETE {base}/{camera}/whep/{id}    ends the session
//	OPTIONS on both                     CORS preflight
//
// All media goes through one UDP port (ICE UDP mux), optionally announced with
// public addresses (NAT 1:1) and STUN/TURN servers. The camera's RTP packets are
// forwarded as they come; a new viewer starts at the newest keyframe of the
// camera's ring buffer, so the first picture shows at once, and a viewer that
// reports a lost picture (PLI/FIR) gets that keyframe group again at once. A
// camera's Opus or G.711 audio goes to viewers whose offer can receive it, as it
// comes; other viewers get video only. Who may watch is up to Config.Authorize;
// every view is reported to Config.OnView when it ends.
package webrtc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"vakt/sensors/camera"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	pion "github.com/pion/webrtc/v4"
)

// Defaults for Config.
const (
	DefaultUDPAddr     = "0.0.0.0:8189"
	DefaultMaxSessions = 16
	// DefaultMaxPerViewer is Config.MaxPerViewer's default.
	DefaultMaxPerViewer = 4
	DefaultQueue        = 128
	maxOfferBytes       = 64 << 10
	// nackHistory is how many sent packets each view keeps to resend on a NACK
	// (a power of two, pion's default): about 2 s of a 4 Mbit/s stream. The
	// packets' payloads are the camera's own (see headerCopy), so a view keeps
	// only their headers.
	nackHistory = 1024
)

// interceptors are pion's default interceptors (NACK, RTCP reports, stats,
// transport-wide congestion control), except that the NACK responder keeps the
// packets it may resend without copying their payloads: they are the camera's
// frames, shared by every view and never modified, where a copy per view cost
// about 1.5 KB a packet (1.5 MB a viewer for pion's 1024 packets).
func interceptors(me *pion.MediaEngine) (*interceptor.Registry, error) {
	ir := &interceptor.Registry{}
	responder, err := nack.NewResponderInterceptor(nack.ResponderSize(nackHistory), nack.DisableCopy())
	if err != nil {
		return nil, err
	}
	generator, err := nack.NewGeneratorInterceptor()
	if err != nil {
		return nil, err
	}
	me.RegisterFeedback(pion.RTCPFeedback{Type: "nack"}, pion.RTPCodecTypeVideo)
	me.RegisterFeedback(pion.RTCPFeedback{Type: "nack", Parameter: "pli"}, pion.RTPCodecTypeVideo)
	// The first added is the innermost: the responder gets each packet from
	// headerCopy, after the others have written their header extensions.
	ir.Add(responder)
	ir.Add(headerCopy{})
	ir.Add(generator)
	if err := pion.ConfigureRTCPReports(ir); err != nil {
		return nil, err
	}
	if err := pion.ConfigureSimulcastExtensionHeaders(me); err != nil {
		return nil, err
	}
	if err := pion.ConfigureStatsInterceptor(ir); err != nil {
		return nil, err
	}
	if err := pion.ConfigureTWCCSender(me, ir); err != nil {
		return nil, err
	}
	return ir, nil
}

// headerCopy hands each outgoing packet to the interceptors inside it with a
// header of its own: the track reuses its header for the next packet, and the
// NACK responder keeps headers (not payloads, which the track never reuses).
type headerCopy struct{ interceptor.NoOp }

func (headerCopy) NewInterceptor(string) (interceptor.Interceptor, error) { return &headerCopy{}, nil }

func (*headerCopy) BindLocalStream(_ *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		c := h.Clone()
		return w.Write(&c, payload, a)
	})
}

// Camera is what the server needs of a camera.
type Camera interface {
	Subscribe(replay camera.Replay, queue int) *camera.Subscription
}

// AudioCamera is a Camera with audio (a *camera.Camera is one); its audio goes
// to viewers that can receive its codec.
type AudioCamera interface {
	Camera
	AwaitAudio(ctx context.Context) camera.Audio
	SubscribeAudio(replay camera.Replay, queue int) *camera.Subscription
}

// audioWait bounds the wait for an on-demand camera's first connection, which
// tells whether it has audio, before answering.
const audioWait = 3 * time.Second

// ICEServer is a STUN or TURN server handed to the WebRTC stack and announced to
// WHEP clients (Link headers).
type ICEServer struct {
	URLs       []string // stun:host:port, turn:host:port?transport=udp, turns:...
	Username   string
	Credential string
}

// View is one finished live view.
type View struct {
	Who      string
	Camera   string
	Start    time.Time
	Duration time.Duration
	// Frames counts the frames sent to the viewer.
	Frames uint64
	// AudioPackets counts the audio packets sent to the viewer (none when the
	// camera or the viewer has no audio).
	AudioPackets uint64
	// Ended says why the view ended: "viewer left" (DELETE), "connection
	// failed", "connection closed", "camera stopped", "closed by the hub", or the
	// reason given to CloseSessions.
	Ended string
}

// Config configures a Server.
type Config struct {
	// BasePath is where the camera endpoints live, e.g. "/api/v1/cameras": the
	// WHEP endpoint of camera "porch" is then /api/v1/cameras/porch/whep.
	BasePath string
	// Cameras finds a camera by name.
	Cameras func(name string) (Camera, bool)
	// Authorize decides whether the request may watch camera and names the
	// viewer (a user, or a token's holder) for the view event. Nil refuses
	// every request: the server never fails open.
	Authorize func(r *http.Request, camera string) (who string, ok bool)
	// OnView is called once per view when it ends.
	OnView func(View)
	// UDPAddr is the one UDP address all media uses (default 0.0.0.0:8189);
	// forward this port for viewers outside the LAN.
	UDPAddr string
	// PublicIPs are addresses (NAT 1:1) announced in addition to the local ones,
	// for a hub whose UDP port is forwarded from a router.
	PublicIPs []string
	// ICEServers are optional STUN/TURN servers.
	ICEServers []ICEServer
	// AllowOrigins lists the web origins other than the hub's own that may call
	// the endpoints from a browser ("*" for any).
	AllowOrigins []string
	// IncludeLoopback also offers 127.0.0.1 candidates (for a viewer on the hub
	// itself, and tests); a UDPAddr on loopback always does.
	IncludeLoopback bool
	// MaxSessions bounds concurrent views (default 16); more get 503, except
	// for a Priority viewer.
	MaxSessions int
	// MaxPerViewer bounds one viewer's concurrent views of one camera (default
	// 4): its next view of that camera ends its oldest ("replaced by a newer
	// view"), so a page reloaded without its DELETE cannot fill the server,
	// while a grid of every camera still shows them all.
	MaxPerViewer int
	// Priority names the viewers that are never refused for want of room (the
	// monitoring centre's operator during an alarm): when the server is full,
	// the oldest other view ends ("made room for the monitoring centre").
	Priority func(who string) bool
	// Queue is how many frames may wait for a slow viewer before it loses some
	// and resumes at the next keyframe (default 128).
	Queue  int
	Logger *slog.Logger
	// Now is the clock of view times (default time.Now).
	Now func() time.Time
}

// Server is the WHEP endpoint set.
type Server struct {
	cfg Config
	log *slog.Logger
	api *pion.API
	udp net.PacketConn
	// udpMux serves every session's ICE and media on udp.
	udpMux ice.UDPMux
	mux    *http.ServeMux
	link   []string // Link header values for the ICE servers

	mu       sync.Mutex
	sessions map[string]*session
	opening  int // views being opened: their slots are taken
	closed   bool
}

// New opens the UDP port and returns the server.
func New(cfg Config) (*Server, error) {
	if cfg.Cameras == nil {
		return nil, errors.New("webrtc: Config.Cameras is required")
	}
	if cfg.UDPAddr == "" {
		cfg.UDPAddr = DefaultUDPAddr
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	if cfg.MaxPerViewer <= 0 {
		cfg.MaxPerViewer = DefaultMaxPerViewer
	}
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultQueue
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.BasePath = strings.TrimSuffix(cfg.BasePath, "/")
	s := &Server{cfg: cfg, log: cfg.Logger, sessions: map[string]*session{}}
	if s.log == nil {
		s.log = slog.Default()
	}
	for _, ip := range cfg.PublicIPs {
		if net.ParseIP(ip) == nil {
			return nil, fmt.Errorf("webrtc: public address %q is not an IP address", ip)
		}
	}
	for _, is := range cfg.ICEServers {
		for _, u := range is.URLs {
			if !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
				return nil, fmt.Errorf("webrtc: ICE server %q: scheme must be stun, turn or turns", u)
			}
			link := fmt.Sprintf("<%s>; rel=\"ice-server\"", u)
			if is.Username != "" {
				link += fmt.Sprintf("; username=%q; credential=%q; credential-type=\"password\"", is.Username, is.Credential)
			}
			s.link = append(s.link, link)
		}
	}

	udp, err := net.ListenPacket("udp4", cfg.UDPAddr)
	if err != nil {
		return nil, fmt.Errorf("webrtc: listen udp %s: %w", cfg.UDPAddr, err)
	}
	s.udp = udp
	se := pion.SettingEngine{LoggerFactory: pionLogs{s.log}}
	s.udpMux = pion.NewICEUDPMux(pionLogs{s.log}.NewLogger("udpmux"), udp)
	se.SetICEUDPMux(s.udpMux)
	se.SetNetworkTypes([]pion.NetworkType{pion.NetworkTypeUDP4})
	// A media port bound to loopback can serve only viewers on the hub itself,
	// and only through loopback candidates.
	loopback := false
	if ua, ok := udp.LocalAddr().(*net.UDPAddr); ok {
		loopback = ua.IP.IsLoopback()
	}
	se.SetIncludeLoopbackCandidate(cfg.IncludeLoopback || loopback)
	if len(cfg.PublicIPs) > 0 {
		err := se.SetICEAddressRewriteRules(pion.ICEAddressRewriteRule{
			External:        cfg.PublicIPs,
			AsCandidateType: pion.ICECandidateTypeHost,
			Mode:            pion.ICEAddressRewriteAppend,
		})
		if err != nil {
			udp.Close()
			return nil, fmt.Errorf("webrtc: public addresses: %w", err)
		}
	}
	me := &pion.MediaEngine{}
	for i, profile := range []string{"42e01f", "42001f", "4d001f", "640032"} {
		err := me.RegisterCodec(pion.RTPCodecParameters{
			RTPCodecCapability: pion.RTPCodecCapability{
				MimeType:     pion.MimeTypeH264,
				ClockRate:    90000,
				SDPFmtpLine:  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + profile,
				RTCPFeedback: []pion.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "goog-remb"}},
			},
			PayloadType: pion.PayloadType(102 + 2*i),
		}, pion.RTPCodecTypeVideo)
		if err != nil {
			udp.Close()
			return nil, fmt.Errorf("webrtc: register H.264: %w", err)
		}
	}
	for _, c := range []pion.RTPCodecParameters{
		{RTPCodecCapability: audioCapability(camera.AudioOpus), PayloadType: 111},
		{RTPCodecCapability: audioCapability(camera.AudioPCMU), PayloadType: 0},
		{RTPCodecCapability: audioCapability(camera.AudioPCMA), PayloadType: 8},
	} {
		if err := me.RegisterCodec(c, pion.RTPCodecTypeAudio); err != nil {
			udp.Close()
			return nil, fmt.Errorf("webrtc: register %s: %w", c.MimeType, err)
		}
	}
	ir, err := interceptors(me)
	if err != nil {
		udp.Close()
		return nil, fmt.Errorf("webrtc: interceptors: %w", err)
	}
	s.api = pion.NewAPI(pion.WithSettingEngine(se), pion.WithMediaEngine(me), pion.WithInterceptorRegistry(ir))

	s.mux = http.NewServeMux()
	b := cfg.BasePath
	s.mux.HandleFunc("POST "+b+"/{camera}/whep", s.post)
	s.mux.HandleFunc("OPTIONS "+b+"/{camera}/whep", s.options)
	s.mux.HandleFunc("PATCH "+b+"/{camera}/whep/{id}", s.patch)
	s.mux.HandleFunc("DELETE "+b+"/{camera}/whep/{id}", s.delete)
	s.mux.HandleFunc("OPTIONS "+b+"/{camera}/whep/{id}", s.options)
	return s, nil
}

// UDPAddr is the address of the media port.
func (s *Server) UDPAddr() net.Addr { return s.udp.LocalAddr() }

// ServeHTTP serves the WHEP endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.cors(w, r)
	s.mux.ServeHTTP(w, r)
}

// Close ends every session and closes the UDP port.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	all := make([]*session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		all = append(all, ss)
	}
	s.mu.Unlock()
	for _, ss := range all {
		ss.end("closed by the hub")
	}
	if err := s.udpMux.Close(); err != nil {
		return fmt.Errorf("webrtc: close udp %s: %w", s.udp.LocalAddr(), err)
	}
	return nil
}

// Session describes a live view in progress.
type Session struct {
	ID, Who, Camera string
	Start           time.Time
}

// Sessions lists the views in progress, oldest first.
func (s *Server) Sessions() []Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		out = append(out, Session{ID: ss.id, Who: ss.who, Camera: ss.camera, Start: ss.start})
	}
	slices.SortFunc(out, func(a, b Session) int { return a.Start.Compare(b.Start) })
	return out
}

// CloseSessions ends the views match selects (say, an operator's when their
// window ends) with reason as View.Ended, and returns how many it ended.
func (s *Server) CloseSessions(match func(who, camera string) bool, reason string) int {
	s.mu.Lock()
	var sel []*session
	for _, ss := range s.sessions {
		if match(ss.who, ss.camera) {
			sel = append(sel, ss)
		}
	}
	s.mu.Unlock()
	for _, ss := range sel {
		ss.end(reason)
	}
	return len(sel)
}

func (s *Server) cors(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" || !(slices.Contains(s.cfg.AllowOrigins, origin) || slices.Contains(s.cfg.AllowOrigins, "*")) {
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Expose-Headers", "Location, ETag, Link, Accept-Patch")
}

func (s *Server) options(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	if r.PathValue("id") == "" {
		h.Set("Allow", "OPTIONS, POST")
		h.Set("Accept-Post", "application/sdp")
	} else {
		h.Set("Allow", "OPTIONS, PATCH, DELETE")
		h.Set("Accept-Patch", "application/trickle-ice-sdpfrag")
	}
	if h.Get("Access-Control-Allow-Origin") != "" {
		h.Set("Access-Control-Allow-Methods", h.Get("Allow"))
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
		h.Set("Access-Control-Max-Age", "600")
	}
	for _, l := range s.link {
		h.Add("Link", l)
	}
	w.WriteHeader(http.StatusNoContent)
}

// fail answers with a plain-text error and logs it.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, code int, msg string) {
	s.log.Warn("webrtc: request refused", "method", r.Method, "path", r.URL.Path, "status", code, "err", msg)
	http.Error(w, msg, code)
}

func (s *Server) post(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("camera")
	if s.cfg.Authorize == nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="vakt"`)
		s.fail(w, r, http.StatusUnauthorized, "webrtc: live view needs a login or a token")
		return
	}
	who, ok := s.cfg.Authorize(r, name)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="vakt"`)
		s.fail(w, r, http.StatusUnauthorized, "webrtc: not allowed to watch camera "+name)
		return
	}
	cam, ok := s.cfg.Cameras(name)
	if !ok {
		s.fail(w, r, http.StatusNotFound, "webrtc: no camera "+name)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/sdp") {
		s.fail(w, r, http.StatusUnsupportedMediaType, fmt.Sprintf("webrtc: content type %q, want application/sdp", ct))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxOfferBytes))
	if err != nil {
		s.fail(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("webrtc: offer: %v", err))
		return
	}
	s.mu.Lock()
	closed := s.closed
	var evict map[*session]string
	full := false
	if !closed {
		evict, full = s.room(who, name)
		if !full {
			s.opening++ // the slot is taken until open has put the session in
		}
	}
	s.mu.Unlock()
	if closed {
		s.fail(w, r, http.StatusServiceUnavailable, "webrtc: shutting down")
		return
	}
	if full {
		w.Header().Set("Retry-After", "10")
		s.fail(w, r, http.StatusServiceUnavailable, fmt.Sprintf("webrtc: %d live views already; close one first", s.cfg.MaxSessions))
		return
	}
	for old, reason := range evict {
		old.end(reason)
	}
	ss, answer, code, err := s.open(r.Context(), name, who, cam, string(body))
	s.mu.Lock()
	s.opening--
	s.mu.Unlock()
	if err != nil {
		s.fail(w, r, code, err.Error())
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/sdp")
	h.Set("Location", s.cfg.BasePath+"/"+name+"/whep/"+ss.id)
	h.Set("ETag", ss.etag)
	h.Set("Accept-Patch", "application/trickle-ice-sdpfrag")
	for _, l := range s.link {
		h.Add("Link", l)
	}
	w.WriteHeader(http.StatusCreated)
	if _, err := io.WriteString(w, answer); err != nil {
		s.log.Debug("webrtc: write answer", "err", err)
	}
	s.log.Info("webrtc: live view started", "camera", name, "who", who, "session", ss.id)
}

// room decides, under s.mu, whether a new view of camera by who fits: the
// views to end for it (who's oldest of that camera beyond MaxPerViewer; for a
// Priority viewer, the oldest other view when the server is full), or full when
// it must be refused.
func (s *Server) room(who, camera string) (evict map[*session]string, full bool) {
	evict = map[*session]string{}
	oldest := func(match func(*session) bool) *session {
		var o *session
		for _, ss := range s.sessions {
			if _, going := evict[ss]; !going && match(ss) && (o == nil || ss.start.Before(o.start) || ss.start.Equal(o.start) && ss.id < o.id) {
				o = ss
			}
		}
		return o
	}
	same := func(ss *session) bool { return ss.who == who && ss.camera == camera }
	mine := 0
	for _, ss := range s.sessions {
		if same(ss) {
			mine++
		}
	}
	for ; mine >= s.cfg.MaxPerViewer; mine-- {
		evict[oldest(same)] = "replaced by a newer view"
	}
	if len(s.sessions)-len(evict)+s.opening < s.cfg.MaxSessions {
		return evict, false
	}
	if s.cfg.Priority == nil || !s.cfg.Priority(who) {
		return nil, true
	}
	o := oldest(func(ss *session) bool { return !s.cfg.Priority(ss.who) })
	if o == nil {
		return nil, true // every view is a priority viewer's
	}
	evict[o] = "made room for the monitoring centre"
	return evict, false
}

func (s *Server) lookup(w http.ResponseWriter, r *http.Request) *session {
	s.mu.Lock()
	ss := s.sessions[r.PathValue("id")]
	s.mu.Unlock()
	if ss == nil || ss.camera != r.PathValue("camera") {
		s.fail(w, r, http.StatusNotFound, "webrtc: no such session")
		return nil
	}
	return ss
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request) {
	ss := s.lookup(w, r)
	if ss == nil {
		return
	}
	ss.end("viewer left")
	w.WriteHeader(http.StatusOK)
}

func (s *Server) patch(w http.ResponseWriter, r *http.Request) {
	ss := s.lookup(w, r)
	if ss == nil {
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/trickle-ice-sdpfrag") {
		s.fail(w, r, http.StatusUnsupportedMediaType, fmt.Sprintf("webrtc: content type %q, want application/trickle-ice-sdpfrag", ct))
		return
	}
	if m := r.Header.Get("If-Match"); m != "" && m != "*" && m != ss.etag {
		s.fail(w, r, http.StatusPreconditionFailed, "webrtc: ETag does not match the session")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxOfferBytes))
	if err != nil {
		s.fail(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("webrtc: fragment: %v", err))
		return
	}
	frag, err := parseFragment(string(body))
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if frag.ufrag != "" && frag.ufrag != ss.remoteUfrag {
		s.fail(w, r, http.StatusNotImplemented, "webrtc: ICE restart is not supported; start a new session")
		return
	}
	for _, c := range frag.candidates {
		mid := c.mid
		if err := ss.pc.AddICECandidate(pion.ICECandidateInit{Candidate: c.line, SDPMid: &mid}); err != nil {
			s.fail(w, r, http.StatusBadRequest, fmt.Sprintf("webrtc: candidate %q: %v", c.line, err))
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

type fragCandidate struct{ mid, line string }

type fragment struct {
	ufrag      string
	candidates []fragCandidate
}

// parseFragment reads a trickle-ice-sdpfrag body (RFC 8840).
func parseFragment(body string) (fragment, error) {
	var f fragment
	mid := ""
	for raw := range strings.SplitSeq(body, "\n") {
		line := strings.TrimRight(raw, "\r")
		switch {
		case line == "":
		case strings.HasPrefix(line, "a=ice-ufrag:"):
			f.ufrag = strings.TrimPrefix(line, "a=ice-ufrag:")
		case strings.HasPrefix(line, "a=mid:"):
			mid = strings.TrimPrefix(line, "a=mid:")
		case strings.HasPrefix(line, "a=candidate:"):
			f.candidates = append(f.candidates, fragCandidate{mid: mid, line: strings.TrimPrefix(line, "a=")})
		case strings.HasPrefix(line, "a="), strings.HasPrefix(line, "m="):
			// ice-pwd, ice-options, end-of-candidates, group: nothing to do.
		default:
			return fragment{}, fmt.Errorf("webrtc: fragment line %q is not an SDP attribute", line)
		}
	}
	return f, nil
}

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// gatherTimeout bounds the wait for candidates before answering.
const gatherTimeout = 2 * time.Second

// open creates the peer connection and answers the offer. On error it returns
// the HTTP status to answer with.
func (s *Server) open(ctx context.Context, name, who string, cam Camera, offer string) (*session, string, int, error) {
	iceServers := make([]pion.ICEServer, 0, len(s.cfg.ICEServers))
	for _, is := range s.cfg.ICEServers {
		iceServers = append(iceServers, pion.ICEServer{URLs: is.URLs, Username: is.Username, Credential: is.Credential})
	}
	pc, err := s.api.NewPeerConnection(pion.Configuration{ICEServers: iceServers})
	if err != nil {
		return nil, "", http.StatusInternalServerError, fmt.Errorf("webrtc: peer connection: %w", err)
	}
	ss := &session{
		s: s, id: randomID(16), etag: `"` + randomID(8) + `"`, camera: name, who: who, cam: cam, pc: pc,
		start: s.cfg.Now(), bound: make(chan struct{}), connected: make(chan struct{}), done: make(chan struct{}),
		pli: make(chan struct{}, 1),
	}
	fail := func(code int, err error) (*session, string, int, error) {
		if cerr := pc.Close(); cerr != nil {
			s.log.Debug("webrtc: close", "err", cerr)
		}
		return nil, "", code, err
	}
	inner, err := pion.NewTrackLocalStaticRTP(pion.RTPCodecCapability{MimeType: pion.MimeTypeH264, ClockRate: 90000}, "video", "vakt-"+name)
	if err != nil {
		return fail(http.StatusInternalServerError, fmt.Errorf("webrtc: track: %w", err))
	}
	ss.track = &boundTrack{TrackLocalStaticRTP: inner, bound: ss.bound}
	sender, err := pc.AddTrack(ss.track)
	if err != nil {
		return fail(http.StatusInternalServerError, fmt.Errorf("webrtc: add track: %w", err))
	}
	audioSender, err := ss.addAudio(ctx, offer)
	if err != nil {
		return fail(http.StatusInternalServerError, err)
	}
	if err := pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeOffer, SDP: offer}); err != nil {
		return fail(http.StatusBadRequest, fmt.Errorf("webrtc: offer: %w", err))
	}
	stopOtherAudio(pc, audioSender)
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		if strings.Contains(err.Error(), "no codecs") {
			// The offer's video has no H.264 (pion has no error value for it).
			return fail(http.StatusNotAcceptable, fmt.Errorf("webrtc: the offer has no H.264 video to receive: %w", err))
		}
		return fail(http.StatusBadRequest, fmt.Errorf("webrtc: answer: %w", err))
	}
	gathered := pion.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return fail(http.StatusInternalServerError, fmt.Errorf("webrtc: local description: %w", err))
	}
	if !negotiated(pc, sender) {
		return fail(http.StatusNotAcceptable, errors.New("webrtc: the offer has no H.264 video to receive"))
	}
	if audioSender != nil && !negotiated(pc, audioSender) {
		// The viewer's audio cannot take the camera's codec: video only.
		s.log.Info("webrtc: the viewer cannot receive the camera's audio; video only", "camera", name, "codec", string(ss.audio.Codec))
		ss.audioTrack, audioSender = nil, nil
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return fail(http.StatusServiceUnavailable, fmt.Errorf("webrtc: gathering candidates: %w", ctx.Err()))
	case <-time.After(gatherTimeout):
		// A STUN or TURN server that does not answer: go on with the
		// candidates found so far (the local ones come at once).
		s.log.Warn("webrtc: gathering candidates took too long; answering with those found", "after", gatherTimeout)
	}
	if rd := pc.RemoteDescription(); rd != nil && rd.SDP != "" {
		ss.remoteUfrag = sdpAttr(rd.SDP, "ice-ufrag")
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fail(http.StatusServiceUnavailable, errors.New("webrtc: shutting down"))
	}
	s.sessions[ss.id] = ss
	s.mu.Unlock()

	pc.OnConnectionStateChange(func(st pion.PeerConnectionState) {
		switch st {
		case pion.PeerConnectionStateConnected:
			ss.connOnce.Do(func() { close(ss.connected) })
		case pion.PeerConnectionStateFailed:
			go ss.end("connection failed")
		case pion.PeerConnectionStateClosed:
			go ss.end("connection closed")
		}
	})
	go ss.readRTCP(sender)
	if audioSender != nil {
		go ss.readRTCP(audioSender)
	}
	go ss.forward()
	return ss, pc.LocalDescription().SDP, 0, nil
}

// negotiated reports whether sender's track got an m-line of the offer with a
// codec both sides have.
func negotiated(pc *pion.PeerConnection, sender *pion.RTPSender) bool {
	for _, tr := range pc.GetTransceivers() {
		if tr.Sender() == sender {
			return tr.Mid() != "" && len(tr.Sender().GetParameters().Codecs) > 0 &&
				(tr.Direction() == pion.RTPTransceiverDirectionSendonly || tr.Direction() == pion.RTPTransceiverDirectionSendrecv)
		}
	}
	return false
}

// sdpAttr is the first a=name: value in sdp.
func sdpAttr(sdp, name string) string {
	for line := range strings.SplitSeq(sdp, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), "a="+name+":"); ok {
			return v
		}
	}
	return ""
}

// boundTrack signals when the track is bound to a connection (DTLS done):
// packets written before are lost, so forwarding waits for it.
type boundTrack struct {
	*pion.TrackLocalStaticRTP
	bound chan struct{}
	once  sync.Once
}

func (t *boundTrack) Bind(ctx pion.TrackLocalContext) (pion.RTPCodecParameters, error) {
	p, err := t.TrackLocalStaticRTP.Bind(ctx)
	if err == nil {
		t.once.Do(func() { close(t.bound) })
	}
	return p, err
}

type session struct {
	s           *Server
	id, etag    string
	camera, who string
	remoteUfrag string
	cam         Camera
	pc          *pion.PeerConnection
	track       *boundTrack
	audioTrack  *pion.TrackLocalStaticRTP // nil: video only
	audio       camera.Audio
	start       time.Time
	bound, done chan struct{}
	connected   chan struct{}
	pli         chan struct{} // a keyframe request, for forward
	connOnce    sync.Once
	endOnce     sync.Once
	mu          sync.Mutex
	frames      uint64
	audioPkts   uint64
}

// readRTCP reads the viewer's RTCP (the interceptors act on it first) and
// passes picture loss indications and full intra requests to forward.
func (ss *session) readRTCP(sender *pion.RTPSender) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				select {
				case ss.pli <- struct{}{}:
				default:
				}
			}
		}
	}
}

// forward sends the camera's frames, from the newest keyframe on, once the
// connection is up. The session numbers the packets itself, so a viewer sees
// one unbroken sequence whatever it is sent.
//
// A viewer that lost a picture sends a PLI (or FIR). A camera on RTSP cannot
// be asked for a keyframe, so the session sends the ring buffer's newest
// keyframe and the frames after it again, with the camera's next frame (their
// timestamps just after the last one sent, so the viewer decodes them straight
// through to the live picture), instead of leaving the viewer's picture broken
// until the camera's next keyframe. It does so at most once per keyframe:
// further requests before the camera's next keyframe are answered by that
// keyframe. It waits for the camera's next frame because a camera that stopped
// sending has nothing new to show (a player asks for keyframes while it gets no
// frames, and a replay of the old ones would pass for live), and the first
// frame of a camera that reconnects is a keyframe anyway.
func (ss *session) forward() {
	for _, ch := range []chan struct{}{ss.bound, ss.connected} {
		select {
		case <-ch:
		case <-ss.done:
			return
		}
	}
	// The subscription carries the camera's audio too when the viewer takes it.
	subscribe := func() *camera.Subscription {
		if ac, ok := ss.cam.(AudioCamera); ok && ss.audioTrack != nil {
			return ac.SubscribeAudio(camera.ReplayGOP, ss.s.cfg.Queue)
		}
		return ss.cam.Subscribe(camera.ReplayGOP, ss.s.cfg.Queue)
	}
	sub := subscribe()
	defer func() { sub.Close() }()
	var (
		out       rtp.Packet
		seq       uint16 // next outgoing sequence number
		sent      bool   // a frame was sent
		lastSeq   uint64 // the camera's number of the newest frame sent
		lastKey   uint64 // ... of the newest keyframe sent
		resentKey uint64 // ... of the keyframe sent again on the last request
		lastTS    uint32 // timestamp of the last frame sent
		pliWait   bool   // a keyframe request waits for the camera's next frame
		gaps      gapClock
	)
	for {
		select {
		case <-ss.done:
			return
		case p, ok := <-sub.Audio():
			if ok && !ss.writeAudio(p, gaps.shift) {
				return
			}
		case <-ss.pli:
			pliWait = sent && lastKey != resentKey
		case f, ok := <-sub.C():
			if !ok {
				go ss.end("camera stopped")
				return
			}
			if len(f.RTP) == 0 {
				continue
			}
			again := sent && f.Seq <= lastSeq
			if pliWait && !again {
				pliWait = false
				if !f.Key {
					// The ring buffer holds f already: the new subscription
					// replays its keyframe group up to f.
					resentKey = lastKey
					sub.Close()
					sub = subscribe()
					ss.s.log.Debug("webrtc: keyframe requested; sending the newest keyframe again", "session", ss.id)
					continue
				}
			}
			if !again {
				gaps.next(f)
			}
			ts := f.RTP[0].Timestamp + uint32(ticks(gaps.shift, videoClock))
			if again {
				ts = lastTS + 1
			}
			for _, p := range f.RTP {
				out.Header = p.Header
				out.Payload = p.Payload
				out.SequenceNumber = seq
				out.Timestamp = ts
				seq++
				if err := ss.track.WriteRTP(&out); err != nil {
					if errors.Is(err, io.ErrClosedPipe) {
						return
					}
					ss.s.log.Debug("webrtc: write rtp", "session", ss.id, "err", err)
				}
			}
			sent, lastTS = true, ts
			if !again {
				lastSeq = f.Seq
			}
			if f.Key && f.Seq > lastKey {
				lastKey = f.Seq
			}
			ss.mu.Lock()
			ss.frames++
			ss.mu.Unlock()
		}
	}
}

// videoClock is the RTP clock rate of H.264.
const videoClock = 90000

// gapTolerance is how much later than its timestamp says a frame may arrive
// before the gap counts as a break in the camera's video (a reconnect).
const gapTolerance = time.Second

// gapClock keeps a view's timestamps on the wall clock across a break in the
// camera's video. The camera's timeline goes on one frame after the last one
// when it reconnects (clips stay continuous), but a viewer's player, seeing a
// frame arrive seconds later than its timestamp says, takes the new frames for
// late ones and drops most of them. The view adds each break's length to the
// timestamps it sends, so the picture resumes at once, live.
type gapClock struct {
	shift    time.Duration // added to the camera's timeline
	prevPTS  time.Duration
	prevRecv time.Time
}

// next accounts for f, the next new frame sent.
func (g *gapClock) next(f *camera.Frame) {
	if !g.prevRecv.IsZero() && !f.Received.IsZero() {
		if late := f.Received.Sub(g.prevRecv) - (f.PTS - g.prevPTS); late > gapTolerance {
			g.shift += late
		}
	}
	g.prevPTS, g.prevRecv = f.PTS, f.Received
}

// ticks is d in units of an RTP clock of rate.
func ticks(d time.Duration, rate int) int64 {
	r := int64(rate)
	return int64(d/time.Second)*r + int64(d%time.Second)*r/int64(time.Second)
}

// end closes the session once and reports the view.
func (ss *session) end(reason string) {
	ss.endOnce.Do(func() {
		close(ss.done)
		s := ss.s
		s.mu.Lock()
		delete(s.sessions, ss.id)
		s.mu.Unlock()
		if err := ss.pc.Close(); err != nil {
			s.log.Debug("webrtc: close peer connection", "session", ss.id, "err", err)
		}
		ss.mu.Lock()
		v := View{Who: ss.who, Camera: ss.camera, Start: ss.start, Duration: s.cfg.Now().Sub(ss.start), Frames: ss.frames, AudioPackets: ss.audioPkts, Ended: reason}
		ss.mu.Unlock()
		s.log.Info("webrtc: live view ended", "camera", v.Camera, "who", v.Who, "duration", v.Duration, "frames", v.Frames, "audio_packets", v.AudioPackets, "ended", reason)
		if s.cfg.OnView != nil {
			s.cfg.OnView(v)
		}
	})
}
