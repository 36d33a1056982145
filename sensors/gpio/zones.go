package gpio

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"vakt/hub"
)

// DefaultPoll is how often levels are read again, so a lost edge heals and a
// line that could not be requested is tried again.
const DefaultPoll = time.Second

// DefaultConsumer is the consumer name lines are requested with (gpioinfo shows it).
const DefaultConsumer = "vakt"

// Inputs is the hub as the adapter sees it. Post applies an input at once and
// does not wait for the disk.
type Inputs interface {
	Post(ctx context.Context, in hub.Input) error
}

// Options configure the adapters. Every field is optional.
type Options struct {
	Log      *slog.Logger
	Consumer string        // default DefaultConsumer
	Poll     time.Duration // default DefaultPoll
	// After is the clock of the periodic re-read (default time.After).
	After func(time.Duration) <-chan time.Time
	// Pulse is how long an output line stays on for a pulse (a chime); default 200ms.
	Pulse time.Duration
}

func (o Options) defaults() Options {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Consumer == "" {
		o.Consumer = DefaultConsumer
	}
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	if o.After == nil {
		o.After = time.After
	}
	if o.Pulse <= 0 {
		o.Pulse = 200 * time.Millisecond
	}
	return o
}

// Zones feeds wired zones and trouble inputs into the hub. Make it with
// NewZones; Run requests the lines, posts their levels and re-reads them until
// its context is cancelled, then releases them. Edges are posted from the
// chip's event goroutine straight into the hub: no queue between a contact and
// the siren.
type Zones struct {
	chips Chips
	hub   Inputs
	opt   Options
	lines []*zline

	zone   map[string]bool // ids that are zones (not trouble inputs)
	posted map[string]bool // id -> whether it was last posted unusable; only Run's goroutine
}

type zline struct {
	input
	mu    sync.Mutex
	h     Line
	known bool // level was posted
	level bool
	down  string // why the line is not usable; "" when it is
}

// NewZones validates bindings (zone id, or trouble subject, to its line) and
// returns the adapter. It requests nothing yet: see Run.
func NewZones(chips Chips, bindings map[string]ZoneBinding, h Inputs, opt Options) (*Zones, error) {
	ins, err := inputs(bindings, nil)
	if err != nil {
		return nil, err
	}
	z := &Zones{chips: chips, hub: h, opt: opt.defaults(), zone: map[string]bool{}, posted: map[string]bool{}}
	for _, in := range ins {
		z.lines = append(z.lines, &zline{input: in})
		z.zone[in.id] = in.means.zone()
	}
	return z, nil
}

// Run requests every line, posts the levels read, and then re-reads them every
// Poll (posting only changes) and tries again lines that could not be requested,
// until ctx is cancelled; it then releases the lines and returns nil. A line
// that cannot be requested or read is logged and makes its zone offline (a
// trouble line raises the hub's fault gpio:<id>, hub.FaultPowerInput); nothing
// stops the others.
func (z *Zones) Run(ctx context.Context) error {
	defer z.release()
	for {
		for _, l := range z.lines {
			if stale := z.check(ctx, l); stale != nil {
				// Not under l.mu: Close waits for the edge handler.
				if err := stale.Close(); err != nil {
					z.opt.Log.Warn("gpio: release", "id", l.id, "err", err)
				}
			}
		}
		if ctx.Err() == nil {
			z.syncDown(ctx)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-z.opt.After(z.opt.Poll):
		}
	}
}

// check requests l if it is not, else re-reads its level. It returns a line
// that failed and must be closed.
func (z *Zones) check(ctx context.Context, l *zline) (stale Line) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ctx.Err() != nil {
		return nil
	}
	if l.h == nil {
		h, err := z.chips.Request(Request{Chip: l.pin.chip(), Line: l.pin.Line, Consumer: z.opt.Consumer,
			ActiveLow: l.pin.ActiveLow, Bias: l.bias, Debounce: l.debounce,
			OnEdge: func(active bool) { z.edge(ctx, l, active) }})
		if err != nil {
			z.setDown(l, fmt.Sprintf("cannot request line %s: %v", l.pin, err))
			return nil
		}
		l.h = h
	}
	v, err := l.h.Value()
	if err != nil {
		z.setDown(l, fmt.Sprintf("cannot read line %s: %v", l.pin, err))
		// Released and requested again at the next look: a chip that went
		// away and came back needs a new request.
		stale, l.h = l.h, nil
		return stale
	}
	z.setDown(l, "")
	z.post(ctx, l, v)
	return nil
}

// edge runs on the chip's event goroutine.
func (z *Zones) edge(ctx context.Context, l *zline, active bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.h == nil || l.down != "" {
		return // the request is not done yet: its level is read next
	}
	z.post(ctx, l, active)
}

// post hands l's level to the hub if it changed. l.mu is held.
func (z *Zones) post(ctx context.Context, l *zline, active bool) {
	if l.known && l.level == active {
		return
	}
	l.known, l.level = true, active
	var in hub.Input
	switch l.means {
	case Contact, Keyswitch:
		in = hub.Sensor{Zone: l.id, Signal: pick(active, hub.SigOpen, hub.SigClose)}
	case Tamper:
		in = hub.Sensor{Zone: l.id, Signal: pick(active, hub.SigTamper, hub.SigTamperRestore)}
	case MainsFail:
		in = hub.Fault{ID: hub.FaultID{Kind: hub.FaultMains, Subject: l.id}, Active: active,
			Detail: pick(active, "mains power lost", "mains power back")}
	case LowBattery:
		in = hub.Fault{ID: hub.FaultID{Kind: hub.FaultBattery, Subject: l.id}, Active: active,
			Detail: pick(active, "battery low", "battery ok")}
	}
	z.send(ctx, in)
}

// setDown records why l is unusable ("" when it is usable again) and logs the
// change; syncDown posts what it means for the zone. l.mu is held.
func (z *Zones) setDown(l *zline, why string) {
	if l.down == why {
		return
	}
	was := l.down
	l.down = why
	switch {
	case why != "" && was == "":
		z.opt.Log.Error("gpio: input line down", "id", l.id, "means", l.means, "line", l.pin.String(), "err", why)
	case why != "":
		z.opt.Log.Error("gpio: input line still down", "id", l.id, "means", l.means, "line", l.pin.String(), "err", why)
	default:
		z.opt.Log.Info("gpio: input line back", "id", l.id, "means", l.means, "line", l.pin.String())
	}
	// The level is unknown while the line is down: the next read posts it.
	l.known = false
}

// syncDown posts, for each zone whose lines changed between usable and not,
// offline or online (a trouble input: its line fault raised or restored). The
// first pass posts it for every zone, as a level: a zone or fault the hub
// remembers from before a restart is restored when its lines work now.
func (z *Zones) syncDown(ctx context.Context) {
	why := map[string]string{}
	var ids []string
	for _, l := range z.lines {
		l.mu.Lock()
		if _, ok := why[l.id]; !ok {
			ids = append(ids, l.id)
		}
		if why[l.id] == "" {
			why[l.id] = l.down
		}
		l.mu.Unlock()
	}
	for _, id := range ids {
		down := why[id] != ""
		if was, ok := z.posted[id]; ok && was == down {
			continue
		}
		z.posted[id] = down
		if z.zone[id] {
			z.send(ctx, hub.Sensor{Zone: id, Signal: pick(down, hub.SigOffline, hub.SigOnline)})
			continue
		}
		z.send(ctx, hub.Fault{ID: hub.FaultID{Kind: hub.FaultPowerInput, Subject: id}, Active: down, Detail: pick(down, why[id], "line usable")})
	}
}

func (z *Zones) send(ctx context.Context, in hub.Input) {
	if err := z.hub.Post(ctx, in); err != nil && ctx.Err() == nil {
		z.opt.Log.Error("gpio: hub refused an input", "input", fmt.Sprintf("%+v", in), "err", err)
	}
}

// release closes every line.
func (z *Zones) release() {
	for _, l := range z.lines {
		l.mu.Lock()
		h := l.h
		l.h = nil
		l.mu.Unlock()
		if h != nil {
			if err := h.Close(); err != nil {
				z.opt.Log.Warn("gpio: release", "id", l.id, "err", err)
			}
		}
	}
}

func pick[T any](c bool, a, b T) T {
	if c {
		return a
	}
	return b
}
