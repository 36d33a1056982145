package web

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"time"

	"github.com/labstack/echo/v4"
)

// ClipStore is where the alarm clips are (storage/clips.Writer).
type ClipStore interface {
	// Open opens the clip named name: only a name the store knows, never a
	// path; fs.ErrNotExist for any other and for a clip pruned by the quota.
	Open(name string) (*os.File, error)
}

// clipWriteTimeout is how long sending one clip may take.
const clipWriteTimeout = 10 * time.Minute

// clip serves GET /api/v1/clips/{file}: the MP4, with Range requests.
func (s *Server) clip(c echo.Context) error {
	if s.opt.Clips == nil {
		return apiError(http.StatusNotFound, "not_found", "no cameras are configured")
	}
	name := c.Param("file")
	f, err := s.opt.Clips.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return apiError(http.StatusNotFound, "not_found", "no such clip: removed to stay within the disk quota, or never written")
	}
	if err != nil {
		s.opt.Log.Error("web: clip", "file", name, "err", err)
		return apiError(http.StatusInternalServerError, "internal", "the clip cannot be read")
	}
	defer f.Close()
	ServeClip(c.Response(), c.Request(), f)
	return nil
}

// ServeClip sends an open clip as video/mp4 with Range requests, allowing it
// clipWriteTimeout.
func ServeClip(w http.ResponseWriter, r *http.Request, f *os.File) {
	info, err := f.Stat()
	if err != nil {
		http.Error(w, "the clip cannot be read", http.StatusInternalServerError)
		return
	}
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(clipWriteTimeout))
	w.Header().Set("Content-Type", "video/mp4")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	http.ServeContent(w, r, info.Name(), info.ModTime(), f)
}
