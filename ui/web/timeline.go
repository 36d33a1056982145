package web

import (
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"vakt/hub"
	"vakt/storage"
)

// timelineScan bounds the events one timeline reads.
const timelineScan = 500_000

// armedPeriod is a stretch of time the system was armed (or arming).
type armedPeriod struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	Mode hub.Mode  `json:"mode"`
}

type zoneCounts struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Counts []int  `json:"counts"`
}

// timelineView is the activity of a day or a week: the zones' openings per
// bucket, and when the system was armed.
type timelineView struct {
	From   time.Time     `json:"from"`
	To     time.Time     `json:"to"`
	Bucket int           `json:"bucket_seconds"`
	Zones  []zoneCounts  `json:"zones"`
	Armed  []armedPeriod `json:"armed"`
}

// timeline answers ?range=24h (15-minute buckets, the default) or 7d (hourly).
func (s *Server) timeline(c echo.Context) error {
	span, bucket := 24*time.Hour, 15*time.Minute
	switch c.QueryParam("range") {
	case "", "24h":
	case "7d":
		span, bucket = 7*24*time.Hour, time.Hour
	default:
		return apiError(http.StatusBadRequest, string(hub.ErrInvalid), "range is 24h or 7d")
	}
	to := s.opt.Now().Truncate(bucket).Add(bucket)
	from := to.Add(-span)
	n := int(span / bucket)
	snap := s.opt.Hub.Snapshot()
	v := timelineView{From: from, To: to, Bucket: int(bucket / time.Second), Zones: []zoneCounts{}, Armed: []armedPeriod{}}
	idx := map[string]int{}
	for _, z := range snap.Config.Zones {
		idx[z.ID] = len(v.Zones)
		v.Zones = append(v.Zones, zoneCounts{ID: z.ID, Name: z.Name, Counts: make([]int, n)})
	}
	// Newest first, until before the window. Walking back in time, armedUntil is
	// the end of the armed period the walk is in (zero while disarmed).
	var armedUntil time.Time
	openMode := snap.State.Mode // the mode of the period the walk is in
	if snap.State.Armed() {
		armedUntil = to
	}
	justArmed := false // the last period began with "armed": an "arming" before it is its start
	var before uint64
	done := false
	for scanned := 0; !done && scanned < timelineScan; scanned += storage.MaxLimit {
		page, next, err := s.opt.Events.Events(storage.EventQuery{Before: before, Limit: storage.MaxLimit})
		if err != nil {
			return err
		}
		for _, e := range page {
			if e.Time.Before(from) {
				done = true
				break
			}
			switch e.Type {
			case hub.EvZoneOpen:
				if i, ok := idx[e.Zone]; ok && e.Time.Before(to) {
					v.Zones[i].Counts[int(e.Time.Sub(from)/bucket)]++
				}
			case hub.EvDisarmed:
				armedUntil, justArmed, openMode = e.Time, false, e.Mode
			case hub.EvArmed:
				if !armedUntil.IsZero() {
					v.Armed = append(v.Armed, armedPeriod{From: e.Time, To: armedUntil, Mode: e.Mode})
					armedUntil, justArmed = time.Time{}, true
				}
			case hub.EvArming:
				switch {
				case justArmed:
					v.Armed[len(v.Armed)-1].From = e.Time // the exit delay belongs to it
				case !armedUntil.IsZero(): // disarmed during the exit delay
					v.Armed = append(v.Armed, armedPeriod{From: e.Time, To: armedUntil, Mode: e.Mode})
				}
				armedUntil, justArmed = time.Time{}, false
			}
		}
		if next == 0 {
			break
		}
		before = next
	}
	if !armedUntil.IsZero() { // armed since before the window
		v.Armed = append(v.Armed, armedPeriod{From: from, To: armedUntil, Mode: openMode})
	}
	slices.Reverse(v.Armed)
	// The busiest zones first: a chart of eight lines is still readable.
	slices.SortStableFunc(v.Zones, func(a, b zoneCounts) int { return sum(b.Counts) - sum(a.Counts) })
	return c.JSON(http.StatusOK, v)
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}
