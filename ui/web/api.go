package web

import (
	"encoding/csv"
	"errors"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"vakt/hub"
	"vakt/storage"
)

func (s *Server) health(c echo.Context) error {
	code, body := s.opt.Health()
	if _, ok := localUser(c.Request()); ok {
		return c.JSON(code, body)
	}
	if ck, err := c.Cookie(sessionCookie); err == nil {
		if ss, ok := s.sessions.get(ck.Value, s.opt.Now()); ok {
			if _, ok := s.user(ss.userID); ok {
				return c.JSON(code, body)
			}
		}
	}
	return c.JSON(code, map[string]any{"status": body["status"]})
}

type userView struct {
	ID   string   `json:"id"`
	Name string   `json:"name"`
	Role hub.Role `json:"role"`
}

func viewUser(u hub.User) userView { return userView{ID: u.ID, Name: u.Name, Role: u.Role} }

type sessionView struct {
	User userView `json:"user"`
	CSRF string   `json:"csrf"`
}

func (s *Server) getSession(c echo.Context) error {
	return c.JSON(http.StatusOK, sessionView{User: viewUser(userOf(c)), CSRF: c.Get(keySession).(session).csrf})
}

type loginRequest struct {
	User     string `json:"user,omitempty"`
	Password string `json:"password,omitempty"`
	// Token logs a device in (a wall tablet with a keypad token).
	Token string `json:"token,omitempty"`
}

// login makes a session for a user's web password. The user is named by id or by
// name (any case).
func (s *Server) login(c echo.Context) error {
	var req loginRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Token != "" {
		t, ok := s.findToken(req.Token)
		u, uok := s.tokenUser(t)
		if !ok || !uok {
			s.opt.Log.Debug("web: login with an unknown or revoked token", "remote", remote(c))
			return apiError(http.StatusUnauthorized, "unauthenticated", "unknown or revoked token")
		}
		s.opt.Log.Info("web: device logged in", "token", t.Name, "remote", remote(c))
		return s.startSession(c, u, t.ID)
	}
	if req.User == "" || req.Password == "" {
		return apiError(http.StatusBadRequest, string(hub.ErrInvalid), "user and password are required")
	}
	id := req.User
	for _, u := range s.opt.Hub.Snapshot().Config.Users {
		if u.ID == req.User || strings.EqualFold(u.Name, req.User) {
			id = u.ID
			break
		}
	}
	u, err := s.opt.Hub.Authenticate(c.Request().Context(), hub.Request{
		Cred: hub.Credential{UserID: id, Password: req.Password}, Via: hub.ViaWeb, Device: remote(c)})
	if err != nil {
		if hub.KindOf(err) == hub.ErrBadCode {
			return apiError(http.StatusUnauthorized, string(hub.ErrBadCode), "wrong user or password")
		}
		return err
	}
	s.opt.Log.Info("web: logged in", "user", u.Name, "remote", remote(c))
	return s.startSession(c, u, "")
}

// startSession makes a session for u (acting as the token tokenID, if not empty)
// and answers it, with its cookie.
func (s *Server) startSession(c echo.Context, u hub.User, tokenID string) error {
	token, ss := s.sessions.create(u.ID, tokenID, s.opt.Now())
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.opt.TLS || c.Request().TLS != nil})
	return c.JSON(http.StatusOK, sessionView{User: viewUser(u), CSRF: ss.csrf})
}

func (s *Server) logout(c echo.Context) error {
	s.sessions.remove(c.Get(keyToken).(string))
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.opt.TLS || c.Request().TLS != nil})
	return c.NoContent(http.StatusNoContent)
}

// decode reads a JSON body; unknown fields are a mistake worth telling.
func decode(c echo.Context, v any) error {
	dec := jsonDecoder(c.Request().Body)
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return apiError(http.StatusRequestEntityTooLarge, string(hub.ErrInvalid), "the body is too large")
		}
		return apiError(http.StatusBadRequest, string(hub.ErrInvalid), "the body is not valid JSON for this request: "+err.Error())
	}
	return nil
}

// commandRequest is the body of every command. Code, when given, is checked and
// the command acts as its user; without it the command acts as the logged-in user.
type commandRequest struct {
	Mode  hub.Mode `json:"mode,omitempty"`
	Force bool     `json:"force,omitempty"`
	Zone  string   `json:"zone,omitempty"`
	Code  string   `json:"code,omitempty"`
}

func (s *Server) command(kind hub.CommandKind) echo.HandlerFunc {
	return func(c echo.Context) error {
		var req commandRequest
		if err := decode(c, &req); err != nil {
			return err
		}
		if kind == hub.CmdArm && req.Mode == "" {
			return apiError(http.StatusBadRequest, string(hub.ErrInvalid), "mode is required: one of away, home, night, vacation")
		}
		if sc, _ := c.Get(keyScope).(hub.TokenScope); sc == hub.ScopeKeypad && kind == hub.CmdDisarm && req.Code == "" {
			return apiError(http.StatusForbidden, string(hub.ErrBadCode), "a wall tablet disarms with a code")
		}
		r := hub.Request{Kind: kind, Mode: req.Mode, Force: req.Force, Zone: req.Zone, Via: hub.ViaWeb, Device: remote(c)}
		if req.Code != "" {
			r.Cred = hub.Credential{Code: req.Code}
		} else {
			u := userOf(c)
			r.Trusted = &u
		}
		if err := s.opt.Hub.Do(c.Request().Context(), r); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, s.statusView(userOf(c)))
	}
}

// zoneView is a zone as the app shows it.
type zoneView struct {
	ID     string       `json:"id"`
	Name   string       `json:"name"`
	Number int          `json:"number"`
	Type   hub.ZoneType `json:"type"`
	hub.ZoneState
}

type faultView struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Detail string `json:"subject,omitempty"`
}

// statusView is what the keypad shows: the state, what is in the way of each
// mode, the zones and the faults. Now lets the app count down with the hub's
// clock.
type statusView struct {
	State         hub.StateName             `json:"state"`
	Mode          hub.Mode                  `json:"mode,omitempty"`
	Now           time.Time                 `json:"now"`
	ExitDeadline  time.Time                 `json:"exit_deadline,omitzero"`
	EntryDeadline time.Time                 `json:"entry_deadline,omitzero"`
	EntryZone     string                    `json:"entry_zone,omitempty"`
	AlarmZone     string                    `json:"alarm_zone,omitempty"`
	AlarmStart    time.Time                 `json:"alarm_start,omitzero"`
	Sounding      []hub.OutputKind          `json:"sounding"`
	ArmedBy       string                    `json:"armed_by,omitempty"`
	Ready         map[hub.Mode][]hub.Reason `json:"ready"`
	Modes         []hub.Mode                `json:"modes"`
	Zones         []zoneView                `json:"zones"`
	Faults        []faultView               `json:"faults"`
	WalkTest      bool                      `json:"walk_test"`
	// WalkTestSeen are the zones seen in the running walk test, in the
	// configuration's order; WalkTestUntil is when it ends by itself.
	WalkTestSeen     []string  `json:"walk_test_seen"`
	WalkTestUntil    time.Time `json:"walk_test_until,omitzero"`
	Maintenance      bool      `json:"maintenance"`
	MaintenanceUntil time.Time `json:"maintenance_until,omitzero"`
	StorageError     string    `json:"storage_error,omitempty"`
	// User is the one asking; the event stream leaves it out.
	User *userView `json:"user,omitempty"`
}

func (s *Server) statusView(u hub.User) statusView {
	v := s.snapshotView(s.opt.Hub.Snapshot())
	uv := viewUser(u)
	v.User = &uv
	return v
}

// snapshotView is the status of a snapshot, for anyone.
func (s *Server) snapshotView(snap *hub.Snapshot) statusView {
	st := snap.State
	v := statusView{State: st.Name, Mode: st.Mode, Now: s.opt.Now(), ExitDeadline: st.ExitDeadline,
		EntryDeadline: st.EntryDeadline, EntryZone: st.EntryZone, AlarmZone: st.AlarmZone, AlarmStart: st.AlarmStart,
		Sounding: append([]hub.OutputKind{}, st.Sounding...), ArmedBy: st.ArmedBy.UserName,
		Ready: map[hub.Mode][]hub.Reason{}, Modes: hub.Modes, Zones: []zoneView{}, Faults: []faultView{}, WalkTestSeen: []string{},
		WalkTest: st.WalkTest != nil, Maintenance: st.Maintenance != nil, StorageError: snap.StorageError}
	for m, rs := range snap.Ready {
		v.Ready[m] = append([]hub.Reason{}, rs...)
	}
	if w := st.WalkTest; w != nil {
		v.WalkTestUntil, v.WalkTestSeen = w.Until, []string{}
		for _, z := range snap.Config.Zones {
			if w.Seen[z.ID] {
				v.WalkTestSeen = append(v.WalkTestSeen, z.ID)
			}
		}
	}
	if m := st.Maintenance; m != nil {
		v.MaintenanceUntil = m.Until
	}
	for _, z := range snap.Config.Zones {
		v.Zones = append(v.Zones, zoneView{ID: z.ID, Name: z.Name, Number: z.Number, Type: z.Type, ZoneState: st.Zones[z.ID]})
	}
	for f, on := range st.Faults {
		if on {
			v.Faults = append(v.Faults, faultView{ID: f.String(), Kind: string(f.Kind), Detail: f.Subject})
		}
	}
	slices.SortFunc(v.Faults, func(a, b faultView) int { return strings.Compare(a.ID, b.ID) })
	return v
}

func (s *Server) status(c echo.Context) error {
	return c.JSON(http.StatusOK, s.statusView(userOf(c)))
}

// eventQuery reads the event log's filters: before/after (sequence cursors),
// limit, type (comma separated), zone, user, class, since/until (RFC 3339 or a
// date, 2006-01-02, in the hub's time zone).
func eventQuery(c echo.Context) (storage.EventQuery, error) {
	var q storage.EventQuery
	p := c.QueryParams()
	var err error
	num := func(name string) uint64 {
		v := p.Get(name)
		if v == "" || err != nil {
			return 0
		}
		n, e := strconv.ParseUint(v, 10, 64)
		if e != nil {
			err = apiError(http.StatusBadRequest, string(hub.ErrInvalid), name+" must be a whole number")
		}
		return n
	}
	q.Before, q.After, q.Limit = num("before"), num("after"), int(min(num("limit"), storage.MaxLimit))
	when := func(name string) time.Time {
		v := p.Get(name)
		if v == "" || err != nil {
			return time.Time{}
		}
		if t, e := time.Parse(time.RFC3339, v); e == nil {
			return t
		}
		t, e := time.ParseInLocation(time.DateOnly, v, time.Local)
		if e != nil {
			err = apiError(http.StatusBadRequest, string(hub.ErrInvalid), name+" must be a date (2006-01-02) or a time (RFC 3339)")
		}
		return t
	}
	q.Since, q.Until = when("since"), when("until")
	if !q.Until.IsZero() && len(p.Get("until")) == len(time.DateOnly) {
		q.Until = q.Until.AddDate(0, 0, 1) // a date includes the whole day
	}
	for _, t := range strings.Split(p.Get("type"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			q.Types = append(q.Types, hub.EventType(t))
		}
	}
	q.Zone, q.UserID, q.Class = p.Get("zone"), p.Get("user"), hub.EventClass(p.Get("class"))
	q.Ascending = p.Get("order") == "asc"
	return q, err
}

type eventsPage struct {
	Events []hub.Event `json:"events"`
	// Next is the cursor of the following page (pass it as before, or as after
	// with order=asc); 0 when there is none.
	Next uint64 `json:"next"`
}

// visible drops the silent events, which the web never shows.
func visible(evs []hub.Event) []hub.Event {
	return slices.DeleteFunc(evs, func(e hub.Event) bool { return e.Silent })
}

func (s *Server) events(c echo.Context) error {
	q, err := eventQuery(c)
	if err != nil {
		return err
	}
	evs, next, err := s.opt.Events.Events(q)
	if err != nil {
		return err
	}
	evs = visible(evs)
	if evs == nil {
		evs = []hub.Event{}
	}
	return c.JSON(http.StatusOK, eventsPage{Events: evs, Next: next})
}

// csvMax bounds one CSV export.
const csvMax = 100_000

func (s *Server) eventsCSV(c echo.Context) error {
	q, err := eventQuery(c)
	if err != nil {
		return err
	}
	q.Limit = storage.MaxLimit
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	w.Header().Set(echo.HeaderContentDisposition, `attachment; filename="vakt-events.csv"`)
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"seq", "time", "type", "class", "zone", "mode", "state", "user", "device", "via", "detail"})
	for n := 0; n < csvMax; {
		evs, next, err := s.opt.Events.Events(q)
		if err != nil {
			s.opt.Log.Error("web: csv export", "err", err)
			break
		}
		for _, e := range visible(evs) {
			_ = cw.Write([]string{strconv.FormatUint(e.Seq, 10), e.Time.Format(time.RFC3339), string(e.Type), string(e.Class),
				cell(e.Zone), string(e.Mode), string(e.State), cell(e.Who.UserName), cell(e.Who.Device), string(e.Who.Via), cell(e.Detail)})
			n++
		}
		if next == 0 {
			break
		}
		if q.Ascending {
			q.After = next
		} else {
			q.Before = next
		}
	}
	cw.Flush()
	return cw.Error()
}

// cell keeps a spreadsheet from reading a value as a formula.
func cell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func (s *Server) devices(c echo.Context) error {
	if s.opt.Devices == nil {
		return c.JSON(http.StatusOK, []any{})
	}
	return c.JSON(http.StatusOK, s.opt.Devices())
}

// asset serves the embedded app; any path that is not a file gets the app's
// page, which routes by its hash.
func (s *Server) asset(static fs.FS) echo.HandlerFunc {
	files := http.FileServerFS(static)
	return func(c echo.Context) error {
		p := strings.TrimPrefix(path.Clean(c.Request().URL.Path), "/")
		if p == "" {
			p = "index.html"
		}
		if st, err := fs.Stat(static, p); err != nil || st.IsDir() {
			c.Request().URL.Path = "/"
		}
		c.Response().Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(c.Response(), c.Request())
		return nil
	}
}
