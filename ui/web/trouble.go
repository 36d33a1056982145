package web

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"vakt/hub"
	"vakt/storage"
)

// Trouble limits: what no panel shows.
const (
	// silentAfter: a detector with no activity for this long may be dead or
	// blocked.
	silentAfter = 30 * 24 * time.Hour
	// flapOpens in flapWindow: a zone that opens this often flaps (a loose magnet,
	// a PIR facing a heater).
	flapOpens  = 20
	flapWindow = time.Hour
	// activityScan bounds the events read at start to learn the zones' activity.
	activityScan = 200_000
)

// activity remembers, per zone, when it last opened and its opens in the last
// flapWindow. Run keeps it up to date from the hub's updates, after reading the
// recent journal.
type activity struct {
	mu      sync.Mutex
	since   time.Time            // the oldest moment the tracker knows of
	last    map[string]time.Time // zone → last open
	recent  map[string][]time.Time
	learned bool
}

// open records an opening of zone at at. Only the newest flapOpens openings are
// kept: enough to tell a flapping zone, bounded however fast a device floods.
func (a *activity) open(zone string, at time.Time) {
	if at.After(a.last[zone]) {
		a.last[zone] = at
	}
	r := append(a.recent[zone], at)
	cut := max(0, len(r)-flapOpens)
	for cut < len(r) && r[cut].Before(at.Add(-flapWindow)) {
		cut++
	}
	n := copy(r, r[cut:])
	a.recent[zone] = r[:n]
}

// Run learns the zones' activity from the journal (the newest activityScan
// events) and then from the hub's updates, until ctx ends (and from the journal
// again what it missed when the hub dropped it as too slow). The trouble page
// works before it has finished, knowing less.
func (s *Server) Run(ctx context.Context) error {
	f := hub.NewFollow(s.opt.Hub.Subscribe, 1024)
	a := &s.activity
	// The journal, newest first, as far back as activityScan events.
	var evs []hub.Event
	var before, newest uint64
	oldest := s.opt.Now()
	for n := 0; n < activityScan; n += storage.MaxLimit {
		page, next, err := s.opt.Events.Events(storage.EventQuery{Before: before, Limit: storage.MaxLimit})
		if err != nil {
			s.opt.Log.Warn("web: reading the zones' activity", "err", err)
			break
		}
		for _, e := range page {
			if e.Type == hub.EvZoneOpen {
				evs = append(evs, e)
			}
			oldest, newest = e.Time, max(newest, e.Seq)
		}
		if next == 0 {
			break
		}
		before = next
	}
	a.mu.Lock()
	a.last, a.recent, a.since = map[string]time.Time{}, map[string][]time.Time{}, oldest
	for _, e := range slices.Backward(evs) {
		a.open(e.Zone, e.Time)
	}
	a.learned = true
	a.mu.Unlock()
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		select {
		case <-s.closing:
			stop()
		case <-ctx.Done():
		}
	}()
	// A subscription dropped as too slow is made again, and the openings
	// committed in between are read from the journal.
	f.Run(ctx, func(u hub.Update) {
		a.mu.Lock()
		for _, e := range u.Events {
			if e.Type == hub.EvZoneOpen && e.Seq > newest { // not read from the journal already
				a.open(e.Zone, e.Time)
			}
			newest = max(newest, e.Seq)
		}
		a.mu.Unlock()
	}, func() { newest = s.catchUp(newest) })
	return nil
}

// catchUp learns the openings recorded after the event numbered after from the
// journal, as far as activityScan events: those of the updates missed when the
// hub dropped the tracker. It returns the number of the last one read.
func (s *Server) catchUp(after uint64) uint64 {
	a := &s.activity
	for n := 0; n < activityScan; n += storage.MaxLimit {
		page, _, err := s.opt.Events.Events(storage.EventQuery{After: after, Ascending: true,
			Types: []hub.EventType{hub.EvZoneOpen}, Limit: storage.MaxLimit})
		if err != nil {
			s.opt.Log.Warn("web: reading the zones' activity missed", "err", err)
			return after
		}
		a.mu.Lock()
		for _, e := range page {
			a.open(e.Zone, e.Time)
			after = e.Seq
		}
		a.mu.Unlock()
		if len(page) < storage.MaxLimit {
			break
		}
	}
	return after
}

// troubleFault is an active fault: since when, and the event that raised it.
type troubleFault struct {
	ID      string    `json:"id"`
	Kind    string    `json:"kind"`
	Subject string    `json:"subject,omitempty"`
	Zone    string    `json:"zone,omitempty"`
	Since   time.Time `json:"since,omitzero"`
	Detail  string    `json:"detail,omitempty"`
}

type troubleZone struct {
	Zone string `json:"zone"`
	Name string `json:"name"`
	// LastActivity is the zone's last opening known, zero when none is known.
	LastActivity time.Time `json:"last_activity,omitzero"`
	Opens        int       `json:"opens_last_hour,omitempty"`
}

type troubleView struct {
	Faults []troubleFault `json:"faults"`
	// Silent are detectors with no activity for 30 days.
	Silent []troubleZone `json:"silent"`
	// Flapping are zones that opened 20 times or more in the last hour (Opens
	// counts up to 20).
	Flapping []troubleZone `json:"flapping"`
	// Known is how far back activity is known: the oldest event read (the
	// journal's first, or the oldest of the newest 200,000).
	Known time.Time `json:"known_since,omitzero"`
}

// silentKinds are the zone types that see everyday activity: doors, windows and
// motion. A smoke or water detector is silent by nature.
var silentKinds = []hub.ZoneType{hub.ZoneEntryExit, hub.ZonePerimeter, hub.ZoneInstant, hub.ZoneFollower}

// trouble answers every active fault with since when, the silent detectors and
// the flapping zones.
func (s *Server) trouble(c echo.Context) error {
	snap := s.opt.Hub.Snapshot()
	now := s.opt.Now()
	v := troubleView{Faults: []troubleFault{}, Silent: []troubleZone{}, Flapping: []troubleZone{}}
	for f, on := range snap.State.Faults {
		if on {
			v.Faults = append(v.Faults, troubleFault{ID: f.String(), Kind: string(f.Kind), Subject: f.Subject})
		}
	}
	for _, z := range snap.Config.Zones {
		zs := snap.State.Zones[z.ID]
		for _, cond := range []struct {
			on   bool
			kind string
		}{{zs.Offline, "offline"}, {zs.Tamper, "tamper"}, {zs.LowBattery, "low_battery"}} {
			if cond.on {
				v.Faults = append(v.Faults, troubleFault{ID: z.ID + ":" + cond.kind, Kind: cond.kind, Zone: z.ID})
			}
		}
	}
	slices.SortFunc(v.Faults, func(a, b troubleFault) int { return strings.Compare(a.ID, b.ID) })
	s.faultsSince(v.Faults)

	a := &s.activity
	a.mu.Lock()
	if a.learned {
		v.Known = a.since
		for _, z := range snap.Config.Zones {
			if !slices.Contains(silentKinds, z.Type) {
				continue
			}
			last := a.last[z.ID]
			known := now.Sub(a.since) >= silentAfter // the journal goes back far enough
			if (last.IsZero() && known) || (!last.IsZero() && now.Sub(last) >= silentAfter) {
				v.Silent = append(v.Silent, troubleZone{Zone: z.ID, Name: z.Name, LastActivity: last})
			}
			n := 0
			for _, t := range a.recent[z.ID] {
				if now.Sub(t) <= flapWindow {
					n++
				}
			}
			if n >= flapOpens {
				v.Flapping = append(v.Flapping, troubleZone{Zone: z.ID, Name: z.Name, LastActivity: last, Opens: n})
			}
		}
	}
	a.mu.Unlock()
	return c.JSON(http.StatusOK, v)
}

// faultsSince finds, for each fault, the newest event that raised it: a fault
// event naming it, or the zone's device_offline, tamper or low_battery event.
func (s *Server) faultsSince(fs []troubleFault) {
	left := 0
	for _, f := range fs {
		if f.Since.IsZero() {
			left++
		}
	}
	var before uint64
	types := []hub.EventType{hub.EvFault, hub.EvDeviceOffline, hub.EvTamper, hub.EvLowBattery}
	for scanned := 0; left > 0 && scanned < activityScan; scanned += storage.MaxLimit {
		page, next, err := s.opt.Events.Events(storage.EventQuery{Types: types, Before: before, Limit: storage.MaxLimit})
		if err != nil {
			return
		}
		for _, e := range page {
			for i := range fs {
				f := &fs[i]
				if !f.Since.IsZero() {
					continue
				}
				match := false
				switch {
				case f.Zone == "":
					match = e.Type == hub.EvFault && (e.Detail == f.ID || strings.HasPrefix(e.Detail, f.ID+": "))
				case f.Kind == "offline":
					match = e.Type == hub.EvDeviceOffline && e.Zone == f.Zone
				case f.Kind == "tamper":
					match = e.Type == hub.EvTamper && e.Zone == f.Zone
				case f.Kind == "low_battery":
					match = e.Type == hub.EvLowBattery && e.Zone == f.Zone
				}
				if match {
					f.Since, f.Detail = e.Time, e.Detail
					left--
				}
			}
		}
		if next == 0 {
			return
		}
		before = next
	}
}
