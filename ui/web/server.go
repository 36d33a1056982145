package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"vakt/hub"
	"vakt/hub/uplink"
	"vakt/storage"
)

//go:embed assets
var assets embed.FS

// openAPI describes /api/v1; a test holds it to the routes.
//
//go:embed openapi.json
var openAPI []byte

// Hub is what the web app needs of the hub. Snapshot and Subscribe never block;
// Do and Authenticate check a credential (argon2id, one at a time) and wait for
// the commit of what they record; their errors are *hub.Error (see status).
type Hub interface {
	Snapshot() *hub.Snapshot
	Subscribe(buf int) (<-chan hub.Update, func())
	Do(ctx context.Context, r hub.Request) error
	Authenticate(ctx context.Context, r hub.Request) (hub.User, error)
	// Input applies an input and waits for its commit (a manual test report).
	Input(ctx context.Context, in hub.Input) error
	// ChangeConfig changes the domain configuration (users, settings) and
	// records who did it; see hub.Hub.ChangeConfig.
	ChangeConfig(ctx context.Context, who hub.Actor, change func(*hub.Config) error) (hub.Config, error)
}

// EventLog reads the journal's events, one page at a time (storage.Store).
type EventLog interface {
	Events(q storage.EventQuery) ([]hub.Event, uint64, error)
}

// Options configure a Server.
type Options struct {
	Hub    Hub
	Events EventLog
	// Health returns /healthz's answer: its HTTP status and the details shown to a
	// logged-in user; the body must have a "status" ("ok" or "degraded"), the only
	// part shown without a session.
	Health func() (code int, body map[string]any)
	// Devices lists the Zigbee devices (optional).
	Devices func() any
	// Zigbee adopts and releases Zigbee devices while the hub runs (optional).
	Zigbee Devices
	// Zones gives each bound zone's binding and device, by zone id (optional;
	// GET /api/v1/zones).
	Zones func() map[string]ZoneBinding
	// Metrics serves /metrics (optional): to a logged-in user who is not a
	// guest, and over the local socket.
	Metrics http.Handler
	// ExportConfig writes the domain configuration with its bindings as YAML
	// (optional; GET /api/v1/config).
	ExportConfig func(w io.Writer) error
	// ImportConfig puts a YAML domain configuration in force (optional; POST
	// /api/v1/config): it answers a line for people, or an *hub.Error.
	ImportConfig func(ctx context.Context, yaml []byte, replace bool, who hub.Actor) (string, error)
	// Backup writes a consistent copy of the database (optional; GET
	// /api/v1/backup).
	Backup func(w io.Writer) error
	// Restore checks a backup (read from r, named name) and stages it to be put
	// in place at the next start (optional; POST /api/v1/backup/restore). It
	// answers a line for people, or an *hub.Error (ErrInvalid: not a usable
	// backup; ErrNotAllowed: armed, or a restore under way). Restart is called
	// once the answer is sent: the hub stops in order and starts again.
	Restore func(r io.Reader, name string, who hub.Actor) (string, error)
	Restart func()
	// Outputs tells what drives each output and what the output keeper knows
	// of it now (optional; GET /api/v1/outputs).
	Outputs func() []OutputState
	// Uplink gives the monitoring centre's paths and their state (optional: no
	// centre configured).
	Uplink func() []uplink.PathStatus
	Log    *slog.Logger
	Now    func() time.Time // default time.Now
	// SessionIdle ends a session after this long without a request; default 12h.
	SessionIdle time.Duration
	// MaxSessions bounds the sessions kept; default 64 (the least recently used
	// goes first).
	MaxSessions int
	// TLS marks the session cookie Secure also on plain-HTTP requests (behind a
	// proxy that ends TLS); a request over TLS always gets a Secure cookie.
	TLS bool

	// Cameras lists the cameras and their state (optional: GET
	// /api/v1/cameras answers an empty list).
	Cameras func() []Camera
	// WHEP serves the cameras' live view (a webrtc.Server with BasePath
	// CamerasBase and Authorize AuthorizeCamera), mounted at
	// /api/v1/cameras/{name}/whep behind the web app's access check (optional).
	WHEP http.Handler
	// Clips serves the alarm clips (optional: no cameras; GET /api/v1/clips/{file}).
	Clips ClipStore

	// Operator serves the monitoring centre's operator page under /operator/
	// (optional): no session; the handler checks its own tokens.
	Operator http.Handler
	// CameraAuth names a viewer that neither a session nor an API token
	// admits (optional; nil refuses them): the operator link's token. It must
	// not accept a request without a credential of its own.
	CameraAuth func(r *http.Request, camera string) (who string, ok bool)
}

// Server is the web app and the API.
type Server struct {
	opt      Options
	e        *echo.Echo
	sessions *sessions
	closing  chan struct{}
	setup    onboarding
	activity activity

	statusMu   sync.Mutex
	statusOf   *hub.Snapshot // the snapshot statusJSON encodes
	statusJSON []byte
}

// Request limits: a slow or huge request cannot hurt the hub.
const (
	bodyLimit    = "64K"
	writeTimeout = 30 * time.Second
)

// New returns the server; Handler serves it.
func New(opt Options) *Server {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.SessionIdle <= 0 {
		opt.SessionIdle = 12 * time.Hour
	}
	if opt.MaxSessions <= 0 {
		opt.MaxSessions = 64
	}
	s := &Server{opt: opt, sessions: newSessions(opt.SessionIdle, opt.MaxSessions), closing: make(chan struct{})}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// The peer's own address: a header naming another would let a guesser
	// escape the wrong-code lockout.
	e.IPExtractor = echo.ExtractIPDirect()
	e.HTTPErrorHandler = s.errorHandler
	e.Use(middleware.Recover())
	e.Use(middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: bodyLimit,
		// A configuration import and a backup to restore are larger; their
		// routes have their own limits.
		Skipper: func(c echo.Context) bool {
			return (c.Path() == "/api/v1/config" || c.Path() == "/api/v1/backup/restore") && c.Request().Method == http.MethodPost
		}}))
	e.Use(securityHeaders)

	e.GET("/healthz", s.health)
	if opt.Metrics != nil {
		e.GET("/metrics", echo.WrapHandler(opt.Metrics), s.auth, s.notGuest, s.scopes(hub.ScopeRead, hub.ScopeControl))
	}
	api := e.Group("/api/v1")
	api.GET("/openapi.json", func(c echo.Context) error { return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPI) })
	api.GET("/onboarding", s.getOnboarding)
	api.POST("/onboarding", s.onboard, jsonOnly)
	api.GET("/session", s.getSession, s.auth)
	api.POST("/session", s.login, jsonOnly)
	api.DELETE("/session", s.logout, s.auth, s.csrf)
	all := s.scopes(hub.ScopeKeypad, hub.ScopeRead, hub.ScopeControl)
	reading := s.scopes(hub.ScopeRead, hub.ScopeControl)
	api.GET("/status", s.status, s.auth, all)
	api.GET("/events", s.events, s.auth, s.notGuest, reading)
	api.GET("/events.csv", s.eventsCSV, s.auth, s.notGuest, reading)
	api.GET("/stream", s.stream, s.auth, all)
	api.GET("/devices", s.devices, s.auth, s.notGuest, reading)
	api.POST("/devices/:ieee/adopt", s.adopt, s.auth, s.userOnly, s.csrf, s.adminOnly, jsonOnly)
	api.DELETE("/devices/:ieee/binding", s.release, s.auth, s.userOnly, s.csrf, s.adminOnly)
	api.GET("/zones", s.zones, s.auth, s.notGuest, reading)
	api.GET("/trouble", s.trouble, s.auth, s.notGuest, reading)
	api.GET("/timeline", s.timeline, s.auth, s.notGuest, reading)
	api.GET("/outputs", s.outputs, s.auth, s.notGuest, reading)
	api.GET("/clips/:file", s.clip, s.auth, s.notGuest, reading)
	for path, kind := range map[string]hub.CommandKind{
		"/arm": hub.CmdArm, "/disarm": hub.CmdDisarm, "/bypass": hub.CmdBypass, "/unbypass": hub.CmdUnbypass,
		"/isolate": hub.CmdIsolate, "/unisolate": hub.CmdUnisolate, "/panic": hub.CmdPanic,
		"/walk-test/start": hub.CmdWalkTestStart, "/walk-test/stop": hub.CmdWalkTestStop,
		"/maintenance/start": hub.CmdMaintenanceStart, "/maintenance/stop": hub.CmdMaintenanceStop,
	} {
		scope := s.scopes(hub.ScopeControl)
		if kind == hub.CmdArm || kind == hub.CmdDisarm || kind == hub.CmdPanic {
			scope = s.scopes(hub.ScopeKeypad, hub.ScopeControl)
		}
		api.POST(path, s.command(kind), s.auth, scope, s.csrf, jsonOnly)
	}
	api.GET("/uplink", s.uplinkStatus, s.auth, s.notGuest, reading)
	api.POST("/uplink/test", s.uplinkTest, s.auth, s.userOnly, s.csrf, s.adminOnly, jsonOnly)
	api.POST("/self-test/start", s.selfTestStart, s.auth, s.userOnly, s.csrf, s.notGuest, jsonOnly)
	api.GET("/self-test", s.selfTestGet, s.auth, s.userOnly, s.notGuest)
	api.POST("/self-test/finish", s.selfTestFinish, s.auth, s.userOnly, s.csrf, s.notGuest, jsonOnly)
	api.GET("/config", s.exportConfig, s.auth, s.userOnly, s.adminOnly)
	api.POST("/config", s.importConfig, middleware.BodyLimit("2M"), s.auth, s.userOnly, s.csrf, s.adminOnly)
	api.GET("/backup", s.backup, s.auth, s.userOnly, s.adminOnly)
	api.POST("/backup/restore", s.restore, s.auth, s.userOnly, s.csrf, s.adminOnly)
	api.GET("/tokens", s.listTokens, s.auth, s.userOnly, s.adminOnly)
	api.POST("/tokens", s.addToken, s.auth, s.userOnly, s.csrf, s.adminOnly, jsonOnly)
	api.DELETE("/tokens/:id", s.revokeToken, s.auth, s.userOnly, s.csrf, s.adminOnly)
	api.GET("/users", s.listUsers, s.auth, s.userOnly, s.adminOnly)
	api.POST("/users", s.addUser, s.auth, s.userOnly, s.csrf, s.adminOnly, jsonOnly)
	api.PATCH("/users/:id", s.editUserReq, s.auth, s.userOnly, s.csrf, s.notGuest, jsonOnly)
	api.DELETE("/users/:id", s.removeUser, s.auth, s.userOnly, s.csrf, s.adminOnly)
	api.GET("/settings", s.getSettings, s.auth, s.notGuest, reading)
	api.PATCH("/settings", s.patchSettings, s.auth, s.userOnly, s.csrf, s.adminOnly, jsonOnly)
	s.mountCameras(api)
	api.Any("/*", func(echo.Context) error { return apiError(http.StatusNotFound, "not_found", "no such API resource") })

	if opt.Operator != nil {
		e.Any("/operator/*", echo.WrapHandler(opt.Operator))
	}
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded tree is part of the binary
	}
	e.GET("/*", s.asset(static))
	e.HEAD("/*", s.asset(static))
	s.e = e
	if s.onboardingNeeded() {
		s.setup.code = setupCode()
		opt.Log.Warn("web: no users yet: open the web app and create the first admin with this setup code", "code", s.setup.code)
	}
	return s
}

// SetupCode is the one-time code that creates the first admin; empty once there
// are users (or after too many wrong tries).
func (s *Server) SetupCode() string {
	s.setup.mu.Lock()
	defer s.setup.mu.Unlock()
	return s.setup.code
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler { return s.e }

// Close ends the open event streams (at shutdown, before the HTTP server's own
// Shutdown, which does not wait for them otherwise).
func (s *Server) Close() {
	select {
	case <-s.closing:
	default:
		close(s.closing)
	}
}

// HTTPServer returns an http.Server for the handler with the timeouts a hub
// needs: a slow client cannot hold a connection open without sending, and every
// response but the event stream has a deadline.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           s.e,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.opt.Log.Handler(), slog.LevelDebug),
	}
}

func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		if c.Path() != "/api/v1/stream" {
			_ = http.NewResponseController(c.Response().Writer).SetWriteDeadline(time.Now().Add(writeTimeout))
		}
		return next(c)
	}
}

// jsonOnly refuses a body that is not JSON: a form posted from another site cannot
// be JSON without a CORS preflight, which the hub never grants.
func jsonOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ct := c.Request().Header.Get(echo.HeaderContentType)
		if !strings.HasPrefix(ct, echo.MIMEApplicationJSON) {
			return apiError(http.StatusUnsupportedMediaType, "invalid", "the body must be JSON (Content-Type: application/json)")
		}
		return next(c)
	}
}

// Context keys.
const (
	keySession = "session"
	keyToken   = "token"
	keyUser    = "user"
	keyScope   = "scope"   // hub.TokenScope of a request made with a token
	keyBearer  = "bearer"  // set on a request with a bearer token
	keyRecheck = "recheck" // func() (hub.User, bool): who the request acts as now
)

// auth lets a request through only with a live session whose user (or token)
// still exists, or with a bearer token: "Authorization: Bearer vakt_…".
func (s *Server) auth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if u, ok := localUser(c.Request()); ok {
			c.Set(keySession, session{userID: u.ID})
			c.Set(keyToken, "")
			c.Set(keyUser, u)
			c.Set(keyRecheck, func() (hub.User, bool) { return u, true })
			return next(c)
		}
		if h := c.Request().Header.Get(echo.HeaderAuthorization); h != "" {
			raw, ok := strings.CutPrefix(h, "Bearer ")
			if !ok {
				return apiError(http.StatusUnauthorized, "unauthenticated", "the Authorization header takes a bearer token")
			}
			recheck := func() (hub.User, bool) {
				t, ok := s.findToken(raw)
				if !ok {
					return hub.User{}, false
				}
				return s.tokenUser(t)
			}
			t, ok := s.findToken(raw)
			u, uok := s.tokenUser(t)
			if !ok || !uok {
				// Debug only: a request is cheap to repeat, a log line is not.
				s.opt.Log.Debug("web: unknown or revoked token", "remote", remote(c))
				return apiError(http.StatusUnauthorized, "unauthenticated", "unknown or revoked token")
			}
			c.Set(keySession, session{userID: u.ID, tokenID: t.ID})
			c.Set(keyToken, "")
			c.Set(keyUser, u)
			c.Set(keyScope, t.Scope)
			c.Set(keyBearer, true)
			c.Set(keyRecheck, recheck)
			return next(c)
		}
		ck, err := c.Cookie(sessionCookie)
		if err != nil {
			return apiError(http.StatusUnauthorized, "unauthenticated", "log in first")
		}
		ss, ok := s.sessions.get(ck.Value, s.opt.Now())
		if !ok {
			return apiError(http.StatusUnauthorized, "unauthenticated", "the session has ended: log in again")
		}
		recheck := func() (hub.User, bool) { return s.sessionUser(ss) }
		u, ok := recheck()
		if !ok {
			s.sessions.remove(ck.Value)
			return apiError(http.StatusUnauthorized, "unauthenticated", "the user or token no longer exists")
		}
		if ss.tokenID != "" {
			t, _ := s.tokenByID(ss.tokenID)
			c.Set(keyScope, t.Scope)
		}
		c.Set(keySession, ss)
		c.Set(keyToken, ck.Value)
		c.Set(keyUser, u)
		c.Set(keyRecheck, recheck)
		return next(c)
	}
}

// sessionUser is who a session acts as now: its user, or its token's.
func (s *Server) sessionUser(ss session) (hub.User, bool) {
	if ss.tokenID != "" {
		t, ok := s.tokenByID(ss.tokenID)
		if !ok {
			return hub.User{}, false
		}
		return s.tokenUser(t)
	}
	return s.user(ss.userID)
}

// csrf requires the session's token in X-CSRF-Token on a request that changes
// something.
func (s *Server) csrf(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, ok := localUser(c.Request()); ok || c.Get(keyBearer) != nil {
			return next(c) // no browser sends these by itself
		}
		ss := c.Get(keySession).(session)
		if !ss.csrfOK(c.Request().Header.Get("X-CSRF-Token")) {
			return apiError(http.StatusForbidden, "csrf", "missing or wrong X-CSRF-Token: reload the page")
		}
		return next(c)
	}
}

func (s *Server) notGuest(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if userOf(c).Role == hub.RoleGuest {
			return apiError(http.StatusForbidden, string(hub.ErrDenied), "guests see the keypad only")
		}
		return next(c)
	}
}

func userOf(c echo.Context) hub.User { return c.Get(keyUser).(hub.User) }

func (s *Server) user(id string) (hub.User, bool) {
	for _, u := range s.opt.Hub.Snapshot().Config.Users {
		if u.ID == id {
			return u, true
		}
	}
	return hub.User{}, false
}

// remote is the peer's address without the port: what wrong codes from the web
// are counted against.
func remote(c echo.Context) string {
	host, _, err := net.SplitHostPort(c.Request().RemoteAddr)
	if err != nil {
		return c.Request().RemoteAddr
	}
	return host
}

// errBody is every error the API answers: a stable kind for programs, a message
// for people, and the reasons an arming was refused.
type errBody struct {
	Error   string       `json:"error"`
	Message string       `json:"message"`
	Reasons []hub.Reason `json:"reasons,omitempty"`
}

type httpError struct {
	code int
	body errBody
}

func (e *httpError) Error() string { return e.body.Message }

func apiError(code int, kind, msg string) error {
	return &httpError{code: code, body: errBody{Error: kind, Message: msg}}
}

// status maps a domain error to its HTTP status: the one place that does.
func status(err error) (int, errBody) {
	var he *httpError
	if errors.As(err, &he) {
		return he.code, he.body
	}
	if errors.Is(err, hub.ErrStopped) {
		return http.StatusServiceUnavailable, errBody{Error: "stopped", Message: "the hub is stopping"}
	}
	var de *hub.Error
	if !errors.As(err, &de) {
		return http.StatusInternalServerError, errBody{Error: string(hub.ErrInternal), Message: "internal error: see the hub's log"}
	}
	b := errBody{Error: string(de.Kind), Message: de.Msg, Reasons: de.Reasons}
	switch de.Kind {
	case hub.ErrNotReady, hub.ErrNotAllowed:
		return http.StatusConflict, b
	case hub.ErrDenied, hub.ErrBadCode:
		return http.StatusForbidden, b
	case hub.ErrLocked:
		return http.StatusTooManyRequests, b
	case hub.ErrInvalid:
		return http.StatusBadRequest, b
	}
	return http.StatusInternalServerError, errBody{Error: string(hub.ErrInternal), Message: "internal error: see the hub's log"}
}

func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var ee *echo.HTTPError
	var code int
	var body errBody
	if errors.As(err, &ee) {
		code = ee.Code
		body = errBody{Error: strings.ToLower(strings.ReplaceAll(http.StatusText(code), " ", "_")), Message: fmt.Sprint(ee.Message)}
	} else {
		code, body = status(err)
	}
	if code >= 500 {
		s.opt.Log.Error("web: request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	} else {
		s.opt.Log.Debug("web: request refused", "method", c.Request().Method, "path", c.Request().URL.Path, "status", code, "err", body.Message)
	}
	if code == http.StatusTooManyRequests {
		c.Response().Header().Set("Retry-After", "60")
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(code)
		return
	}
	_ = c.JSON(code, body)
}
