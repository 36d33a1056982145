package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"vakt/hub"
	"vakt/ui/webrtc"
)

// Camera is one camera in GET /api/v1/cameras (Options.Cameras gives all but
// WHEP, which the server fills in).
type Camera struct {
	Name     string   `json:"name"`
	Zones    []string `json:"zones"`
	AlwaysOn bool     `json:"always_on"`
	// State is idle (on demand, no one watching), connecting, streaming,
	// stalled (wanted but no video: Fault says why) or off (stopped).
	State string `json:"state"`
	Fault string `json:"fault,omitempty"`
	// WHEP is the camera's live view endpoint (POST an SDP offer).
	WHEP string `json:"whep"`
}

// Camera states.
const (
	CameraIdle       = "idle"
	CameraConnecting = "connecting"
	CameraStreaming  = "streaming"
	CameraStalled    = "stalled"
	CameraOff        = "off"
)

// camerasBase is where the cameras live; a camera's WHEP endpoint is
// camerasBase/{name}/whep (webrtc.Config.BasePath).
const camerasBase = "/api/v1/cameras"

// CamerasBase is the base path to give the WHEP server (webrtc.Config.BasePath).
const CamerasBase = camerasBase

// viewerKey carries who may watch (set by cameraAccess) to AuthorizeCamera.
type viewerKey struct{}

// viewer is who watches: the camera the access was checked for and the name the
// view is recorded with.
type viewer struct {
	camera, who string
}

// AuthorizeCamera is the WHEP server's Config.Authorize: it lets through only the
// requests the web app's own access check passed for this camera (the server is
// mounted behind it), and refuses everything else.
func AuthorizeCamera(r *http.Request, camera string) (string, bool) {
	v, ok := r.Context().Value(viewerKey{}).(viewer)
	if !ok || v.camera != camera {
		return "", false
	}
	return v.who, true
}

// whoPrefix marks a viewer the web app named: "web:<user id>@<address>" (a
// user, or "token:<id>" for a token that acts as itself).
const whoPrefix = "web:"

// mayWatch says whether a logged-in user or a token may watch the cameras:
// admins and users (also through a control token), and cameras tokens; not
// guests, wall tablets (keypad tokens) or read tokens.
func mayWatch(u hub.User, scope hub.TokenScope) bool {
	switch scope {
	case "", hub.ScopeControl:
		return u.Role == hub.RoleAdmin || u.Role == hub.RoleUser
	case hub.ScopeCameras:
		return true
	}
	return false
}

// cameraAccess lets a request to a camera's WHEP endpoints through with a
// session (cookie, with the CSRF token on anything but GET) or an API token
// that may watch; failing both, with what Options.CameraAuth accepts. Who it
// is travels in the request's context to AuthorizeCamera.
func (s *Server) cameraAccess(next echo.HandlerFunc) echo.HandlerFunc {
	checked := s.auth(func(c echo.Context) error {
		sc, _ := c.Get(keyScope).(hub.TokenScope)
		if !mayWatch(userOf(c), sc) {
			return apiError(http.StatusForbidden, string(hub.ErrDenied), "not allowed to watch the cameras")
		}
		return nil
	})
	return func(c echo.Context) error {
		name := c.Param("name")
		err := checked(c)
		if err == nil && c.Request().Method != http.MethodGet {
			err = s.csrf(func(echo.Context) error { return nil })(c)
		}
		if err != nil {
			var he *httpError
			if s.opt.CameraAuth == nil || !errors.As(err, &he) || he.code != http.StatusUnauthorized {
				return err
			}
			who, ok := s.opt.CameraAuth(c.Request(), name)
			if !ok {
				c.Response().Header().Set("WWW-Authenticate", `Bearer realm="vakt"`)
				return err
			}
			return next(withViewer(c, name, who))
		}
		return next(withViewer(c, name, whoPrefix+userOf(c).ID+"@"+remote(c)))
	}
}

func withViewer(c echo.Context, camera, who string) echo.Context {
	r := c.Request()
	c.SetRequest(r.WithContext(context.WithValue(r.Context(), viewerKey{}, viewer{camera: camera, who: who})))
	return c
}

// ViewActor is who a view was recorded with (webrtc.View.Who) as an actor: a
// user the web app named with their name and number as the configuration has
// them, anyone else (an operator's link) by the name given.
func ViewActor(cfg hub.Config, who string) hub.Actor {
	rest, ok := strings.CutPrefix(who, whoPrefix)
	if !ok {
		return hub.Actor{Device: who, Via: hub.ViaWeb}
	}
	id, addr := rest, ""
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		id, addr = rest[:i], rest[i+1:]
	}
	a := hub.Actor{UserID: id, Device: addr, Via: hub.ViaWeb}
	if tid, ok := strings.CutPrefix(id, "token:"); ok {
		if i := slices.IndexFunc(cfg.Tokens, func(t hub.Token) bool { return t.ID == tid }); i >= 0 {
			a.UserName = cfg.Tokens[i].Name
		}
		return a
	}
	if i := slices.IndexFunc(cfg.Users, func(u hub.User) bool { return u.ID == id }); i >= 0 {
		a.UserName, a.UserNum = cfg.Users[i].Name, cfg.Users[i].Number
	}
	return a
}

// recordTimeout bounds the wait for a view event's commit.
const recordTimeout = 10 * time.Second

// RecordViews returns the WHEP server's Config.OnView: each finished view is a
// camera_view event. A view the hub could not record is logged as an error.
func RecordViews(h Hub, log *slog.Logger) func(webrtc.View) {
	return func(v webrtc.View) {
		in := hub.CameraView{Who: ViewActor(h.Snapshot().Config, v.Who), Camera: v.Camera, Start: v.Start, Duration: v.Duration, Ended: v.Ended}
		ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
		defer cancel()
		if err := h.Input(ctx, in); err != nil {
			log.Error("web: camera view not recorded", "camera", v.Camera, "who", v.Who, "start", v.Start, "duration", v.Duration, "err", err)
		}
	}
}

// cameras lists the cameras with their state and WHEP endpoint.
func (s *Server) cameras(c echo.Context) error {
	out := []Camera{}
	if s.opt.Cameras != nil {
		out = append(out, s.opt.Cameras()...)
	}
	for i := range out {
		if out[i].Zones == nil {
			out[i].Zones = []string{}
		}
		out[i].WHEP = camerasBase + "/" + out[i].Name + "/whep"
	}
	return c.JSON(http.StatusOK, out)
}

// mountCameras adds the camera routes: the list, and the WHEP endpoints behind
// the access check (their CORS preflight without).
func (s *Server) mountCameras(api *echo.Group) {
	api.GET("/cameras", s.cameras, s.auth, s.notGuest, s.scopes(hub.ScopeRead, hub.ScopeControl, hub.ScopeCameras))
	whep := s.opt.WHEP
	if whep == nil {
		whep = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "no cameras: live view is off", http.StatusNotFound)
		})
	}
	h := echo.WrapHandler(whep)
	api.POST("/cameras/:name/whep", h, s.cameraAccess)
	api.PATCH("/cameras/:name/whep/:id", h, s.cameraAccess)
	api.DELETE("/cameras/:name/whep/:id", h, s.cameraAccess)
	api.OPTIONS("/cameras/:name/whep", h)
	api.OPTIONS("/cameras/:name/whep/:id", h)
}
