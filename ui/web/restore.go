package web

import (
	"errors"
	"net/http"
	"path"
	"strings"
	"time"
	"unicode"

	"github.com/labstack/echo/v4"

	"vakt/hub"
)

// restoreLimit bounds a backup uploaded for a restore.
const restoreLimit = 1 << 30

// restore takes a backup file (the body, application/octet-stream; ?name= its
// file name, for the event log) and has the hub put it in place with an orderly
// restart. Refused while the system is armed or an alarm is active, and for a file
// that is not a usable backup; in both cases nothing changes.
func (s *Server) restore(c echo.Context) error {
	if s.opt.Restore == nil {
		return apiError(http.StatusNotFound, "not_found", "no restore here (a demo without -data keeps nothing)")
	}
	req := c.Request()
	if ct := req.Header.Get(echo.HeaderContentType); !strings.HasPrefix(ct, echo.MIMEOctetStream) {
		return apiError(http.StatusUnsupportedMediaType, "invalid", "the body must be the backup file (Content-Type: application/octet-stream)")
	}
	if st := s.opt.Hub.Snapshot().State; st.Name != hub.Disarmed || len(st.Sounding) > 0 {
		return apiError(http.StatusConflict, string(hub.ErrNotAllowed), "the system is "+string(st.Name)+
			": disarm (and end any alarm) first; a restore restarts the hub, which must not happen while it guards the house (nothing was changed)")
	}
	// A large backup takes longer to arrive than a usual request.
	_ = http.NewResponseController(c.Response().Writer).SetReadDeadline(time.Now().Add(10 * time.Minute))
	body := http.MaxBytesReader(c.Response().Writer, req.Body, restoreLimit)
	msg, err := s.opt.Restore(body, backupName(c.QueryParam("name")), actor(c))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return apiError(http.StatusRequestEntityTooLarge, string(hub.ErrInvalid), "the file is too large for a backup (nothing was changed)")
		}
		return err
	}
	s.opt.Log.Warn("web: restore staged; restarting", "by", actor(c).String())
	if err := c.JSON(http.StatusAccepted, map[string]any{"message": msg, "restarting": true}); err != nil {
		return err
	}
	c.Response().Flush()
	if s.opt.Restart != nil {
		s.opt.Restart()
	}
	return nil
}

// backupName keeps a file name fit for the event log: its last element,
// printable, at most 100 characters.
func backupName(name string) string {
	name = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, path.Base(strings.ReplaceAll(name, `\`, "/")))
	if len(name) > 100 {
		name = name[:100]
	}
	if name == "" || name == "." || name == "/" {
		return "the uploaded file"
	}
	return name
}
