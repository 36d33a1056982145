package web

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"vakt/hub"
	"vakt/storage"
)

// encodedStatus is the JSON of a snapshot's status, encoded once for every
// stream (the updates of one commit reach all streams with the same snapshot).
func (s *Server) encodedStatus(snap *hub.Snapshot) []byte {
	s.statusMu.Lock()
	defer s.statusMu.Unlock()
	if s.statusOf != snap {
		data, err := json.Marshal(s.snapshotView(snap))
		if err != nil {
			data = []byte("{}")
		}
		s.statusOf, s.statusJSON = snap, append(data, '\n')
	}
	return s.statusJSON
}

func jsonDecoder(r io.Reader) *json.Decoder {
	d := json.NewDecoder(r)
	d.DisallowUnknownFields()
	return d
}

// Stream limits.
const (
	// streamBuffer is how many hub updates a stream may fall behind before the hub
	// drops it; the browser then reconnects and catches up from the journal.
	streamBuffer = 256
	// heartbeat keeps proxies and the browser from thinking the stream dead, and
	// is when a stream checks that its session still exists.
	heartbeat = 15 * time.Second
	// replayMax bounds the missed events sent to a reconnecting browser.
	replayMax = storage.MaxLimit
)

// stream is the live feed: "status" at once and after each change, "event" for
// each visible event with its sequence number as the id. A browser reconnecting
// with Last-Event-ID first gets the events it missed, from the journal.
func (s *Server) stream(c echo.Context) error {
	w := c.Response()
	token := c.Get(keyToken).(string)
	u := userOf(c)
	_, local := localUser(c.Request())
	updates, cancel := s.opt.Hub.Subscribe(streamBuffer)
	defer cancel()

	h := w.Header()
	h.Set(echo.HeaderContentType, "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	var buf bytes.Buffer
	send := func(kind string, id uint64, v any) error {
		buf.Reset()
		if id != 0 {
			buf.WriteString("id: " + strconv.FormatUint(id, 10) + "\n")
		}
		buf.WriteString("event: " + kind + "\ndata: ")
		if err := json.NewEncoder(&buf).Encode(v); err != nil {
			return err
		}
		buf.WriteString("\n")
		if _, err := w.Write(buf.Bytes()); err != nil {
			return err
		}
		w.Flush()
		return nil
	}

	sendRaw := func(kind string, data []byte) error {
		buf.Reset()
		buf.WriteString("event: " + kind + "\ndata: ")
		buf.Write(data)
		buf.WriteString("\n")
		if _, err := w.Write(buf.Bytes()); err != nil {
			return err
		}
		w.Flush()
		return nil
	}

	// Events the browser missed while it was away; the subscription made above
	// catches everything committed from now on, without a gap (the sequence
	// numbers weed out what both bring).
	var last uint64
	guest := u.Role == hub.RoleGuest
	if id, err := strconv.ParseUint(c.Request().Header.Get("Last-Event-ID"), 10, 64); err == nil && !guest {
		last = id
		evs, _, err := s.opt.Events.Events(storage.EventQuery{After: id, Ascending: true, Limit: replayMax})
		if err != nil {
			s.opt.Log.Warn("web: stream replay", "err", err)
		}
		for _, e := range evs {
			if !e.Silent {
				if err := send("event", e.Seq, e); err != nil {
					return nil
				}
			}
			last = e.Seq
		}
	}
	if err := send("status", 0, s.statusView(u)); err != nil {
		return nil
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	ctx := c.Request().Context()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.closing:
			return nil
		case <-tick.C:
			if !local && token != "" {
				if !s.sessions.alive(token, s.opt.Now()) {
					return nil
				}
				s.sessions.touch(token, s.opt.Now())
			}
			if _, err := io.WriteString(w, ": ping\n\n"); err != nil {
				return nil
			}
			w.Flush()
		case up, ok := <-updates:
			// Everything queued goes out together with one status: a flood of
			// inputs costs a stream its events, not a status each.
			for {
				if !ok {
					return nil // too slow: the browser reconnects and catches up
				}
				if !guest {
					for _, e := range up.Events {
						if e.Seq <= last {
							continue
						}
						last = e.Seq
						if e.Silent {
							continue
						}
						if err := send("event", e.Seq, e); err != nil {
							return nil
						}
					}
				}
				select {
				case up, ok = <-updates:
					continue
				default:
				}
				break
			}
			if !local {
				cur, ok := c.Get(keyRecheck).(func() (hub.User, bool))()
				if !ok {
					return nil // the user or token is gone
				}
				u = cur
			}
			if err := sendRaw("status", s.encodedStatus(up.Snapshot)); err != nil {
				return nil
			}
		}
	}
}
