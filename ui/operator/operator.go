// Package operator is the monitoring centre's operator link: on an alarm
// reported to the centre, a time-limited token for the cameras of the alarm's
// zone travels with the report (DC-09 extended data [V<url>]), and the page
// behind the URL shows those cameras live and the alarm's clips, nothing else.
//
// A token is self-contained: the alarm event's number, its time, the end of the
// window, the zone and the cameras, with an HMAC-SHA256 (truncated to 128 bits)
// under a key the hub keeps in its data directory. Nothing is stored per token,
// and a report sent again carries the same URL. The window ends Window after the
// alarm, or earlier when the incident is closed by a disarm after the alarm —
// never by a duress disarm, whose alarm goes on for the centre.
package operator

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"vakt/hub"
	"vakt/storage"
	"vakt/ui/web"
)

// DefaultWindow is how long after the alarm a token is valid.
const DefaultWindow = 30 * time.Minute

// KeySize is the size of the token key.
const KeySize = 32

//go:embed assets
var assets embed.FS

// EventLog reads the journal.
type EventLog interface {
	Events(q storage.EventQuery) ([]hub.Event, uint64, error)
}

// Poster records the operator view events (the hub): Input returns once the
// event is committed.
type Poster interface {
	Input(ctx context.Context, in hub.Input) error
}

// SessionCloser ends live views (ui/webrtc.Server).
type SessionCloser interface {
	CloseSessions(match func(who, camera string) bool, reason string) int
}

// Config configures a Server.
type Config struct {
	// BaseURL is where the centre reaches the hub, e.g.
	// https://home.example.net:8443; a link is BaseURL/operator/<token>.
	BaseURL string
	// Key is the token key, KeySize bytes (LoadKey).
	Key []byte
	// Window is how long after the alarm a token is valid (default 30 min).
	Window time.Duration
	// Cameras lists the cameras linked to a zone.
	Cameras func(zone string) []string
	Events  EventLog
	// Clips opens the clips (optional: no clips shown).
	Clips web.ClipStore
	// Hub records every view of the page (optional).
	Hub Poster
	// Sessions ends the token's live views when its window ends (optional).
	Sessions SessionCloser
	// WHEPPath is where a camera's WHEP endpoint is, with %s for its name
	// (default /api/v1/cameras/%s/whep).
	WHEPPath string
	Now      func() time.Time
	Log      *slog.Logger
}

// Server mints and checks tokens and serves the operator page under
// /operator/.
type Server struct {
	cfg Config

	mu     sync.Mutex
	closed time.Time         // the newest disarm that closed an incident (not duress)
	live   map[uint64]claims // tokens with live views, by alarm
	urls   map[uint64]string // links made, by report
}

// claims is what a token grants.
type claims struct {
	Alarm   uint64   `json:"a"` // the alarm event's number
	At      int64    `json:"t"` // the alarm's time, Unix seconds
	Until   int64    `json:"u"` // the end of the window, Unix seconds
	Zone    string   `json:"z"`
	Cameras []string `json:"c"`
}

// New checks cfg and returns the server.
func New(cfg Config) (*Server, error) {
	if len(cfg.Key) < KeySize {
		return nil, fmt.Errorf("operator: the key has %d bytes, want %d", len(cfg.Key), KeySize)
	}
	if err := CheckBaseURL(cfg.BaseURL); err != nil {
		return nil, err
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.WHEPPath == "" {
		cfg.WHEPPath = "/api/v1/cameras/%s/whep"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Cameras == nil || cfg.Events == nil {
		return nil, errors.New("operator: Cameras and Events are needed")
	}
	return &Server{cfg: cfg, live: map[uint64]claims{}, urls: map[uint64]string{}}, nil
}

// CheckBaseURL checks a base URL: http:// or https:// and a host, and only
// characters DC-09 extended data can carry.
func CheckBaseURL(base string) error {
	u, err := url.Parse(base)
	switch {
	case err != nil:
		return fmt.Errorf("operator: base URL %q: %w", base, err)
	case u.Scheme != "https" && u.Scheme != "http" || u.Host == "":
		return fmt.Errorf("operator: base URL %q is not http(s)://host[:port]", base)
	}
	for i := 0; i < len(base); i++ {
		if c := base[i]; c < 0x21 || c > 0x7e || c == '[' || c == ']' {
			return fmt.Errorf("operator: base URL %q holds a character DC-09 extended data cannot carry", base)
		}
	}
	return nil
}

// SetSessions sets the live view server whose views end with their window,
// for a server made after this one.
func (s *Server) SetSessions(c SessionCloser) {
	s.mu.Lock()
	s.cfg.Sessions = c
	s.mu.Unlock()
}

// LoadKey reads the token key from path, making a random one there (mode 0600)
// the first time.
func LoadKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) != KeySize {
			return nil, fmt.Errorf("operator: key %s has %d bytes, want %d", path, len(b), KeySize)
		}
		return b, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("operator: read key %s: %w", path, err)
	}
	b = make([]byte, KeySize)
	_, _ = rand.Read(b) // never fails
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("operator: create key %s: %w", path, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, fmt.Errorf("operator: write key %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("operator: sync key %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("operator: close key %s: %w", path, err)
	}
	return b, nil
}

// Who names an alarm's operator as a viewer, for the view events.
func Who(alarm uint64) string { return fmt.Sprintf("operator (alarm %d)", alarm) }

// IsViewer says whether who (a live view's viewer) is an operator link's.
func IsViewer(who string) bool {
	var alarm uint64
	n, err := fmt.Sscanf(who, "operator (alarm %d)", &alarm)
	return err == nil && n == 1 && Who(alarm) == who
}

// mac is the token's MAC of payload.
func (s *Server) mac(payload []byte) []byte {
	m := hmac.New(sha256.New, s.cfg.Key)
	m.Write([]byte("vakt operator v1\n"))
	m.Write(payload)
	return m.Sum(nil)[:16]
}

// token encodes and signs c.
func (s *Server) token(c claims) string {
	payload, _ := json.Marshal(c) // plain fields always encode
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(s.mac(payload))
}

// parse checks a token's MAC and returns its claims (not its window).
func (s *Server) parse(tok string) (claims, bool) {
	p, m, ok := strings.Cut(tok, ".")
	if !ok || len(tok) > 2048 {
		return claims{}, false
	}
	enc := base64.RawURLEncoding
	payload, err1 := enc.DecodeString(p)
	mac, err2 := enc.DecodeString(m)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, s.mac(payload)) {
		return claims{}, false
	}
	var c claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return claims{}, false
	}
	return c, true
}

// open reports whether c's window is open now: before its end, and its
// incident not closed by a disarm since the alarm.
func (s *Server) open(c claims) bool {
	now := s.cfg.Now()
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if !closed.IsZero() && closed.Unix() >= c.At {
		return false
	}
	return now.Unix() < c.Until
}

// check returns the claims of a valid token whose window is open.
func (s *Server) check(tok string) (claims, bool) {
	c, ok := s.parse(tok)
	if !ok || !s.open(c) {
		return claims{}, false
	}
	return c, true
}

// URL is the operator link of a new alarm report (uplink.WithVerifyURL): ""
// when the alarm's zone has no camera or the alarm cannot be read. The same
// report always gets the same URL.
func (s *Server) URL(r hub.Report) string {
	s.mu.Lock()
	u, ok := s.urls[r.Event]
	s.mu.Unlock()
	if ok {
		return u
	}
	evs, _, err := s.cfg.Events.Events(storage.EventQuery{Before: r.Event + 1, Limit: 1})
	if err != nil || len(evs) == 0 || evs[0].Seq != r.Event {
		s.cfg.Log.Warn("operator: the reported alarm's event cannot be read; no operator link", "event", r.Event, "err", err)
		return ""
	}
	ev := evs[0]
	if ev.Zone != "" {
		if cams := s.cfg.Cameras(ev.Zone); len(cams) > 0 {
			u = s.cfg.BaseURL + "/operator/" + s.token(claims{Alarm: ev.Seq, At: ev.Time.Unix(),
				Until: ev.Time.Add(s.cfg.Window).Unix(), Zone: ev.Zone, Cameras: slices.Sorted(slices.Values(cams))})
		}
	}
	s.mu.Lock()
	if len(s.urls) >= 256 {
		clear(s.urls)
	}
	s.urls[r.Event] = u
	s.mu.Unlock()
	return u
}

// CameraAuth accepts "Authorization: Bearer <token>" of an open window for a
// camera the token grants (the web app's CameraAuth).
func (s *Server) CameraAuth(r *http.Request, camera string) (string, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return "", false
	}
	c, ok := s.check(tok)
	if !ok || !slices.Contains(c.Cameras, camera) {
		return "", false
	}
	s.mu.Lock()
	s.live[c.Alarm] = c
	s.mu.Unlock()
	return Who(c.Alarm), true
}

// Expire ends the live views of every token whose window has ended.
func (s *Server) Expire() {
	s.mu.Lock()
	live := maps.Clone(s.live)
	s.mu.Unlock()
	var ended []claims
	for a, c := range live {
		if !s.open(c) {
			ended = append(ended, c)
			s.mu.Lock()
			delete(s.live, a)
			s.mu.Unlock()
		}
	}
	s.mu.Lock()
	sessions := s.cfg.Sessions
	s.mu.Unlock()
	for _, c := range ended {
		if sessions == nil {
			continue
		}
		who := Who(c.Alarm)
		if n := sessions.CloseSessions(func(w, _ string) bool { return w == who }, "operator window ended"); n > 0 {
			s.cfg.Log.Info("operator: window ended; live views closed", "alarm", c.Alarm, "views", n)
		}
	}
}

// Close closes the incidents of alarms up to at (a disarm that is not under
// duress) and ends their live views.
func (s *Server) Close(at time.Time) {
	s.mu.Lock()
	if at.After(s.closed) {
		s.closed = at
	}
	s.mu.Unlock()
	s.Expire()
}

// disarms returns the times of the disarms among evs (an update's, or a page of
// the journal) that were not under duress: a duress disarm comes with a duress
// event of the same moment.
func disarms(evs []hub.Event) []time.Time {
	var out []time.Time
	for _, e := range evs {
		if e.Type != hub.EvDisarmed {
			continue
		}
		if !slices.ContainsFunc(evs, func(d hub.Event) bool { return d.Type == hub.EvDuress && d.Time.Equal(e.Time) }) {
			out = append(out, e.Time)
		}
	}
	return out
}

// Run learns the newest closing disarm from the journal, then closes windows
// on disarms (from the hub's updates) and at their end (checked every second)
// until ctx ends.
func (s *Server) Run(ctx context.Context, subscribe func(buf int) (<-chan hub.Update, func())) error {
	updates := hub.NewFollow(subscribe, 64)
	defer updates.Stop()
	evs, _, err := s.cfg.Events.Events(storage.EventQuery{Types: []hub.EventType{hub.EvDisarmed, hub.EvDuress}, Limit: 100})
	if err != nil {
		s.cfg.Log.Error("operator: the last disarm cannot be read; windows end at their time only", "err", err)
	}
	for _, at := range disarms(evs) {
		s.Close(at)
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			s.Expire()
		case u, ok := <-updates.C():
			if !ok {
				s.cfg.Log.Warn("operator: fell behind the hub's updates; subscribing again")
				updates.Again()
				continue
			}
			for _, at := range disarms(u.Events) {
				s.Close(at)
			}
		}
	}
}

// ServeHTTP serves /operator/<token> (the page), /operator/<token>/info (what
// it shows, JSON), /operator/<token>/clips/<file> and /operator/assets/….
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/operator/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if name, ok := strings.CutPrefix(rest, "assets/"); ok {
		s.asset(w, r, name)
		return
	}
	tok, sub, _ := strings.Cut(rest, "/")
	c, ok := s.check(tok)
	if !ok {
		s.cfg.Log.Debug("operator: refused a token", "remote", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Bearer realm="vakt operator"`)
		if sub == "" {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write(page(false))
			return
		}
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthenticated", "message": "the link has ended or is not valid"})
		return
	}
	switch {
	case sub == "":
		s.view(r, c)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page(true))
	case sub == "info":
		s.info(w, c)
	case strings.HasPrefix(sub, "clips/"):
		s.clip(w, r, c, strings.TrimPrefix(sub, "clips/"))
	default:
		http.NotFound(w, r)
	}
}

// view records a view of the page as an event before the page is sent.
func (s *Server) view(r *http.Request, c claims) {
	if s.cfg.Hub == nil {
		return
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	in := hub.OperatorView{Alarm: c.Alarm, Zone: c.Zone, Who: Who(c.Alarm),
		Detail: fmt.Sprintf("page from %s, cameras %s", host, strings.Join(c.Cameras, ", "))}
	if err := s.cfg.Hub.Input(r.Context(), in); err != nil {
		s.cfg.Log.Error("operator: view not recorded", "alarm", c.Alarm, "err", err)
	}
}

// clipInfo is a clip as the page sees it.
type clipInfo struct {
	Camera string    `json:"camera"`
	URL    string    `json:"url"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
}

// info is what the page shows.
type info struct {
	Alarm   uint64            `json:"alarm"`
	Zone    string            `json:"zone"`
	Time    time.Time         `json:"time"`
	Until   time.Time         `json:"until"`
	Cameras []string          `json:"cameras"`
	WHEP    map[string]string `json:"whep"`
	Clips   []clipInfo        `json:"clips"`
}

// clips returns the clip events of c's alarm.
func (s *Server) clips(c claims) []hub.ClipRef {
	var out []hub.ClipRef
	after := c.Alarm
	for range 10 {
		evs, next, err := s.cfg.Events.Events(storage.EventQuery{Types: []hub.EventType{hub.EvClip}, After: after, Ascending: true, Limit: 100})
		if err != nil {
			s.cfg.Log.Error("operator: reading the alarm's clips", "alarm", c.Alarm, "err", err)
			return out
		}
		for _, e := range evs {
			if e.Clip != nil && e.Clip.Alarm == c.Alarm && slices.Contains(c.Cameras, e.Clip.Camera) {
				out = append(out, *e.Clip)
			}
		}
		if next == 0 || len(evs) == 0 {
			break
		}
		after = evs[len(evs)-1].Seq
	}
	return out
}

func (s *Server) info(w http.ResponseWriter, c claims) {
	v := info{Alarm: c.Alarm, Zone: c.Zone, Time: time.Unix(c.At, 0).UTC(), Until: time.Unix(c.Until, 0).UTC(),
		Cameras: c.Cameras, WHEP: map[string]string{}, Clips: []clipInfo{}}
	for _, cam := range c.Cameras {
		v.WHEP[cam] = fmt.Sprintf(s.cfg.WHEPPath, cam)
	}
	for _, cl := range s.clips(c) {
		v.Clips = append(v.Clips, clipInfo{Camera: cl.Camera, URL: "clips/" + cl.File, Start: cl.Start, End: cl.End})
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) clip(w http.ResponseWriter, r *http.Request, c claims, file string) {
	if s.cfg.Clips == nil || !slices.ContainsFunc(s.clips(c), func(cl hub.ClipRef) bool { return cl.File == file }) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found", "message": "no such clip of this alarm"})
		return
	}
	f, err := s.cfg.Clips.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found", "message": "clip removed (disk quota)"})
		return
	}
	if err != nil {
		s.cfg.Log.Error("operator: clip", "file", file, "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal", "message": "the clip cannot be read"})
		return
	}
	defer f.Close()
	web.ServeClip(w, r, f)
}

func (s *Server) asset(w http.ResponseWriter, r *http.Request, name string) {
	types := map[string]string{"op.js": "text/javascript; charset=utf-8", "op.css": "text/css; charset=utf-8", "livewatch.js": "text/javascript; charset=utf-8"}
	ct, ok := types[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	b, err := assets.ReadFile("assets/" + name)
	if name == "livewatch.js" {
		b, err = web.LiveWatchScript(), nil // the web app's own
	}
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", ct)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// page is the operator page: the live views and clips, or (ok false) the
// word that the link has ended.
func page(ok bool) []byte {
	body := `<main id="op"><h1>Vakt: alarm verification</h1><p id="alarm">Loading…</p>
<section><h2>Live</h2><div id="live"></div></section>
<section><h2>Alarm clips</h2><div id="clips"></div></section></main>
<script src="/operator/assets/livewatch.js"></script>
<script src="/operator/assets/op.js"></script>`
	if !ok {
		body = `<main><h1>Vakt: alarm verification</h1><p id="ended">This link has ended or is not valid.</p></main>`
	}
	return fmt.Appendf(nil, `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>Vakt alarm verification</title>
<link rel="stylesheet" href="/operator/assets/op.css"></head>
<body>%s</body></html>
`, body)
}
