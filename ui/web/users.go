package web

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"vakt/hub"
	"vakt/hub/uplink"
)

// onboarding is the first start: no user exists, and the one-time setup code
// printed in the hub's log lets one person create the first admin.
type onboarding struct {
	mu    sync.Mutex
	code  string
	wrong int
}

// setupAttempts is how many wrong setup codes end onboarding until the hub is
// restarted (and prints a new code).
const setupAttempts = 10

// needed reports whether the hub has no users yet.
func (s *Server) onboardingNeeded() bool { return len(s.opt.Hub.Snapshot().Config.Users) == 0 }

type onboardingView struct {
	Needed    bool `json:"needed"`
	PINLength int  `json:"pin_length"`
}

func (s *Server) getOnboarding(c echo.Context) error {
	return c.JSON(http.StatusOK, onboardingView{Needed: s.onboardingNeeded(), PINLength: s.opt.Hub.Snapshot().Config.Settings.PINLength})
}

type onboardingRequest struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	Password string `json:"password"`
	PIN      string `json:"pin"`
}

// onboard creates the first admin with the setup code, and logs them in.
func (s *Server) onboard(c echo.Context) error {
	var req onboardingRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if !s.onboardingNeeded() {
		return apiError(http.StatusConflict, string(hub.ErrNotAllowed), "the hub already has users: log in")
	}
	s.setup.mu.Lock()
	code := s.setup.code
	ok := code != "" && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(req.Code)), []byte(code)) == 1
	if !ok && code != "" {
		s.setup.wrong++
		if s.setup.wrong >= setupAttempts {
			s.setup.code = ""
			s.opt.Log.Warn("web: too many wrong setup codes; restart the hub for a new one")
		}
	}
	s.setup.mu.Unlock()
	if !ok {
		s.opt.Log.Warn("web: wrong setup code", "remote", remote(c))
		return apiError(http.StatusForbidden, string(hub.ErrBadCode), "wrong setup code: it is in the hub's log")
	}
	u, err := s.newUser(userRequest{Name: &req.Name, Role: ptr(hub.RoleAdmin), PIN: &req.PIN, Password: &req.Password}, nil)
	if err != nil {
		return err
	}
	who := hub.Actor{UserID: u.ID, UserName: u.Name, UserNum: u.Number, Device: remote(c), Via: hub.ViaWeb}
	if _, err := s.opt.Hub.ChangeConfig(c.Request().Context(), who, func(cfg *hub.Config) error {
		if len(cfg.Users) > 0 {
			return &hub.Error{Kind: hub.ErrNotAllowed, Msg: "the hub already has users"}
		}
		cfg.Users = append(cfg.Users, u)
		return nil
	}); err != nil {
		return err
	}
	s.setup.mu.Lock()
	s.setup.code = ""
	s.setup.mu.Unlock()
	s.opt.Log.Info("web: first admin created", "user", u.Name)
	return s.startSession(c, u, "")
}

func ptr[T any](v T) *T { return &v }

// userRequest adds or edits a user: a nil field is left as it is. An empty
// string removes a PIN, duress PIN or password.
type userRequest struct {
	ID        *string       `json:"id,omitempty"`
	Name      *string       `json:"name,omitempty"`
	Role      *hub.Role     `json:"role,omitempty"`
	PIN       *string       `json:"pin,omitempty"`
	DuressPIN *string       `json:"duress_pin,omitempty"`
	Password  *string       `json:"password,omitempty"`
	Tags      *[]string     `json:"tags,omitempty"`
	Schedule  *[]hub.Window `json:"schedule,omitempty"`
	Expires   *time.Time    `json:"expires,omitempty"`
	OneTime   *bool         `json:"one_time,omitempty"`
}

// userInfo is a user as the API shows it: whether secrets are set, never them.
type userInfo struct {
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	Number      int          `json:"number"`
	Role        hub.Role     `json:"role"`
	HasPIN      bool         `json:"has_pin"`
	HasDuress   bool         `json:"has_duress"`
	HasPassword bool         `json:"has_password"`
	Tags        []string     `json:"tags"`
	Schedule    []hub.Window `json:"schedule"`
	Expires     time.Time    `json:"expires,omitzero"`
	OneTime     bool         `json:"one_time"`
}

func infoOf(u hub.User) userInfo {
	return userInfo{ID: u.ID, Name: u.Name, Number: u.Number, Role: u.Role, HasPIN: u.PINHash != "",
		HasDuress: u.DuressHash != "", HasPassword: u.PasswordHash != "", Tags: append([]string{}, u.Tags...),
		Schedule: append([]hub.Window{}, u.Schedule...), Expires: u.Expires, OneTime: u.OneTime}
}

var idUnsafe = regexp.MustCompile(`[^a-z0-9]+`)

// idFor makes a user id from a name: lower case, runs of other characters as one
// underscore.
func idFor(name string) string {
	r := strings.NewReplacer("å", "a", "ä", "a", "ö", "o", "é", "e", "ü", "u", "ø", "o", "æ", "ae")
	return strings.Trim(idUnsafe.ReplaceAllString(r.Replace(strings.ToLower(name)), "_"), "_")
}

// newUser builds a new user from req (name required; PIN and password hashed
// here, before the hub's lock). users are the users there are now (for the
// number and the PIN's uniqueness).
func (s *Server) newUser(req userRequest, users []hub.User) (hub.User, error) {
	if req.Name == nil || strings.TrimSpace(*req.Name) == "" {
		return hub.User{}, apiError(http.StatusBadRequest, string(hub.ErrInvalid), "a name is required")
	}
	u := hub.User{Name: strings.TrimSpace(*req.Name), Role: hub.RoleUser}
	if req.ID != nil && *req.ID != "" {
		u.ID = *req.ID
	} else {
		u.ID = idFor(u.Name)
		if u.ID == "" {
			u.ID = "user"
		}
		for base, i := u.ID, 2; slices.ContainsFunc(users, func(o hub.User) bool { return o.ID == u.ID }); i++ {
			u.ID = fmt.Sprintf("%s_%d", base, i)
		}
	}
	for n := 1; ; n++ {
		if !slices.ContainsFunc(users, func(o hub.User) bool { return o.Number == n }) {
			u.Number = n
			break
		}
	}
	if req.PIN == nil && req.Password == nil && req.Tags == nil {
		return hub.User{}, apiError(http.StatusBadRequest, string(hub.ErrInvalid), "a new user needs a PIN, a password or a tag")
	}
	return s.editUser(u, req, users)
}

// editUser applies req to u, hashing new secrets.
func (s *Server) editUser(u hub.User, req userRequest, users []hub.User) (hub.User, error) {
	settings := s.opt.Hub.Snapshot().Config.Settings
	if req.Name != nil {
		if strings.TrimSpace(*req.Name) == "" {
			return u, apiError(http.StatusBadRequest, string(hub.ErrInvalid), "the name cannot be empty")
		}
		u.Name = strings.TrimSpace(*req.Name)
	}
	if req.Role != nil {
		u.Role = *req.Role
	}
	pin := func(v *string, dst *string, what string) error {
		if v == nil {
			return nil
		}
		if *v == "" {
			*dst = ""
			return nil
		}
		if err := hub.CheckPIN(*v, settings.PINLength); err != nil {
			return apiError(http.StatusBadRequest, string(hub.ErrInvalid), what+": "+err.Error())
		}
		h, err := hub.HashPIN(users, *v, hub.DefaultHashParams)
		if err != nil {
			return apiError(http.StatusBadRequest, string(hub.ErrInvalid), what+": "+err.Error())
		}
		*dst = h
		return nil
	}
	if err := pin(req.PIN, &u.PINHash, "PIN"); err != nil {
		return u, err
	}
	if err := pin(req.DuressPIN, &u.DuressHash, "duress PIN"); err != nil {
		return u, err
	}
	if req.Password != nil {
		switch {
		case *req.Password == "":
			u.PasswordHash = ""
		case len(*req.Password) < 8:
			return u, apiError(http.StatusBadRequest, string(hub.ErrInvalid), "a password needs at least 8 characters")
		default:
			h, err := hub.HashSecret(*req.Password, hub.DefaultHashParams)
			if err != nil {
				return u, err
			}
			u.PasswordHash = h
		}
	}
	if req.Tags != nil {
		u.Tags = slices.Clone(*req.Tags)
	}
	if req.Schedule != nil {
		u.Schedule = slices.Clone(*req.Schedule)
	}
	if req.Expires != nil {
		u.Expires = *req.Expires
	}
	if req.OneTime != nil {
		u.OneTime = *req.OneTime
	}
	return u, nil
}

// actor names the logged-in user (or the console) for the events of a change.
func actor(c echo.Context) hub.Actor {
	u := userOf(c)
	return hub.Actor{UserID: u.ID, UserName: u.Name, UserNum: u.Number, Device: remote(c), Via: hub.ViaWeb}
}

func (s *Server) listUsers(c echo.Context) error {
	out := []userInfo{}
	for _, u := range s.opt.Hub.Snapshot().Config.Users {
		out = append(out, infoOf(u))
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) addUser(c echo.Context) error {
	var req userRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	u, err := s.newUser(req, s.opt.Hub.Snapshot().Config.Users)
	if err != nil {
		return err
	}
	if _, err := s.opt.Hub.ChangeConfig(c.Request().Context(), actor(c), func(cfg *hub.Config) error {
		if slices.ContainsFunc(cfg.Users, func(o hub.User) bool { return o.ID == u.ID }) {
			return &hub.Error{Kind: hub.ErrInvalid, Msg: "a user with the id " + u.ID + " exists"}
		}
		cfg.Users = append(cfg.Users, u)
		return nil
	}); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, infoOf(u))
}

// errNoUser answers a request for a user that does not exist.
var errNoUser = errors.New("no such user")

// editUserReq edits a user: an admin any field of anyone; a user only their own
// PIN, duress PIN and password.
func (s *Server) editUserReq(c echo.Context) error {
	var req userRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	me := userOf(c)
	id := c.Param("id")
	if me.Role != hub.RoleAdmin {
		if id != me.ID || req.ID != nil || req.Name != nil || req.Role != nil || req.Tags != nil || req.Schedule != nil || req.Expires != nil || req.OneTime != nil {
			return apiError(http.StatusForbidden, string(hub.ErrDenied), "only an admin edits users; you may change your own PIN and password")
		}
	}
	if req.ID != nil {
		return apiError(http.StatusBadRequest, string(hub.ErrInvalid), "a user's id cannot change")
	}
	users := s.opt.Hub.Snapshot().Config.Users
	i := slices.IndexFunc(users, func(u hub.User) bool { return u.ID == id })
	if i < 0 {
		return apiError(http.StatusNotFound, string(hub.ErrInvalid), errNoUser.Error())
	}
	u, err := s.editUser(users[i], req, users)
	if err != nil {
		return err
	}
	if _, err := s.opt.Hub.ChangeConfig(c.Request().Context(), actor(c), func(cfg *hub.Config) error {
		j := slices.IndexFunc(cfg.Users, func(o hub.User) bool { return o.ID == id })
		if j < 0 {
			return &hub.Error{Kind: hub.ErrInvalid, Msg: errNoUser.Error()}
		}
		cfg.Users[j] = u
		return nil
	}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, infoOf(u))
}

func (s *Server) removeUser(c echo.Context) error {
	id := c.Param("id")
	if _, err := s.opt.Hub.ChangeConfig(c.Request().Context(), actor(c), func(cfg *hub.Config) error {
		n := len(cfg.Users)
		cfg.Users = slices.DeleteFunc(cfg.Users, func(u hub.User) bool { return u.ID == id })
		if len(cfg.Users) == n {
			return &hub.Error{Kind: hub.ErrInvalid, Msg: errNoUser.Error()}
		}
		return nil
	}); err != nil {
		if hub.KindOf(err) == hub.ErrInvalid && strings.Contains(err.Error(), errNoUser.Error()) {
			return apiError(http.StatusNotFound, string(hub.ErrInvalid), errNoUser.Error())
		}
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) getSettings(c echo.Context) error {
	return c.JSON(http.StatusOK, s.opt.Hub.Snapshot().Config.Settings)
}

// patchSettings changes the settings the body names; the others stay.
func (s *Server) patchSettings(c echo.Context) error {
	// A copy: decoding merges into the maps (the delays per mode).
	st := s.opt.Hub.Snapshot().Config.Clone().Settings
	if err := decode(c, &st); err != nil {
		return err
	}
	cfg, err := s.opt.Hub.ChangeConfig(c.Request().Context(), actor(c), func(cfg *hub.Config) error {
		cfg.Settings = st
		return nil
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cfg.Settings)
}

func (s *Server) adminOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if userOf(c).Role != hub.RoleAdmin {
			return apiError(http.StatusForbidden, string(hub.ErrDenied), "only an admin may do this")
		}
		return next(c)
	}
}

// exportConfig answers the domain configuration as YAML: what `vakt config
// export` writes, secrets only as hashes.
func (s *Server) exportConfig(c echo.Context) error {
	if s.opt.ExportConfig == nil {
		return apiError(http.StatusNotFound, "not_found", "no configuration export here")
	}
	var b strings.Builder
	if err := s.opt.ExportConfig(&b); err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="vakt-config.yaml"`)
	return c.Blob(http.StatusOK, "application/yaml", []byte(b.String()))
}

// backup answers a consistent copy of the database, taken while the hub runs.
func (s *Server) backup(c echo.Context) error {
	if s.opt.Backup == nil {
		return apiError(http.StatusNotFound, "not_found", "no backup here")
	}
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, "application/octet-stream")
	w.Header().Set(echo.HeaderContentDisposition, `attachment; filename="vakt-backup-`+s.opt.Now().Format("20060102-150405")+`.db"`)
	// A large database takes longer than the usual answer's time limit.
	_ = http.NewResponseController(w.Writer).SetWriteDeadline(time.Now().Add(10 * time.Minute))
	w.WriteHeader(http.StatusOK)
	if err := s.opt.Backup(w); err != nil {
		s.opt.Log.Error("web: backup", "err", err)
	}
	return nil
}

type uplinkView struct {
	Configured bool                `json:"configured"`
	Paths      []uplink.PathStatus `json:"paths"`
}

// uplinkStatus answers the monitoring centre's paths: state, last ACK, queue.
func (s *Server) uplinkStatus(c echo.Context) error {
	if s.opt.Uplink == nil {
		return c.JSON(http.StatusOK, uplinkView{Paths: []uplink.PathStatus{}})
	}
	return c.JSON(http.StatusOK, uplinkView{Configured: true, Paths: s.opt.Uplink()})
}

// uplinkTest sends a manual test report (Contact ID 601) to the centre, from
// the logged-in user; the answer comes once it is queued.
func (s *Server) uplinkTest(c echo.Context) error {
	if s.opt.Uplink == nil {
		return apiError(http.StatusConflict, string(hub.ErrNotAllowed), "no monitoring centre is configured")
	}
	var body struct{}
	if err := decode(c, &body); err != nil {
		return err
	}
	if err := s.opt.Hub.Input(c.Request().Context(), hub.TestReport{Manual: true, Who: actor(c)}); err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]bool{"queued": true})
}

// importConfig puts the YAML body in force: ?replace=true allows removals.
func (s *Server) importConfig(c echo.Context) error {
	if s.opt.ImportConfig == nil {
		return apiError(http.StatusNotFound, "not_found", "no configuration import here")
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return apiError(http.StatusRequestEntityTooLarge, string(hub.ErrInvalid), "the file is too large")
		}
		return apiError(http.StatusBadRequest, string(hub.ErrInvalid), "the body could not be read")
	}
	msg, err := s.opt.ImportConfig(c.Request().Context(), body, c.QueryParam("replace") == "true", actor(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"message": msg})
}
