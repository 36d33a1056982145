package zigbee

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"vakt/hub"
)

// Message is one MQTT message as a subscriber sees it.
type Message struct {
	Topic    string
	Payload  []byte
	Retained bool
	ClientID string
	Username string
}

// Bus is the part of the MQTT broker this package uses. Subscribe's handler runs
// on the publishing client's goroutine: it must hand off and never block for long.
type Bus interface {
	Publish(topic string, payload []byte, retain bool) error
	Subscribe(filter string, fn func(Message)) (cancel func(), err error)
}

// Inputs is the hub as seen by the adapter.
type Inputs interface {
	Post(ctx context.Context, in hub.Input) error
}

// Options configure an Adapter. Every field is optional.
type Options struct {
	Base string // Zigbee2MQTT's base topic; default DefaultBase
	// BatteryLow is the battery percentage under which a zone has a low battery;
	// default DefaultBatteryLow.
	BatteryLow float64
	// Keypads bind keypads and remotes, by keypad id; Panel is the hub they
	// arm and disarm through (needed with keypads).
	Keypads map[string]KeypadBinding
	Panel   Panel
	Log     *slog.Logger
	Now     func() time.Time                     // default time.Now
	After   func(time.Duration) <-chan time.Time // default time.After
}

// zone is a bound zone and the levels last posted for it.
type zone struct {
	id string
	b  ZoneBinding
	// posted levels: open, tamper, low battery, offline.
	open, tamper, low, offline tri
	testLogged                 bool
	// A life-safety detector: when its alarm became active (the zone open), and
	// whether it is stuck active (FaultStuck raised).
	activeSince time.Time
	stuck       bool
	// A pulse detector with a clear rule (ClearAfter): when it last reported
	// a new detection, and since when the rule takes it as closed while it
	// still reports active (zero: not).
	lastActive, clearedAt time.Time
}

// dev is what the adapter knows of one device.
type dev struct {
	info  *Device // nil: not (or no longer) in bridge/devices
	known bool    // was in bridge/devices at least once
	left  bool    // left the network or vanished from bridge/devices
	bin   map[string]bool
	batt  *float64
	lqi   *int
	seen  time.Time
	lost  bool
	heard bool // a state message came since start
	// avail is Zigbee2MQTT's availability: unknown when it does not say.
	avail tri
	// zerr is the last error Zigbee2MQTT reported about the device (bridgelog.go).
	zerr *DeviceError
}

// Adapter reads Zigbee2MQTT's topics: it feeds zones bound to Zigbee devices
// into the hub, drives Zigbee sirens for an output keeper (Drive, Reachable) and
// serves keypads. Make it with New, then Start; Run supervises devices.
type Adapter struct {
	bus    Bus
	hub    Inputs
	base   string
	lowBat float64
	log    *slog.Logger
	now    func() time.Time
	after  func(time.Duration) <-chan time.Time
	panel  Panel
	// outs are the outputs bound to sirens, by output id: replaced whole by
	// Rebind, read without a.mu (Drive runs on the keeper's alarm path).
	outs   atomic.Pointer[map[string]OutputBinding]
	rebind chan rebindReq

	mu      sync.Mutex
	ctx     context.Context
	zones   map[string][]*zone // by ieee
	keypads map[string]string  // ieee -> keypad id
	devs    map[string]*dev    // by ieee
	names   map[string]string  // friendly name -> ieee
	listed  bool               // bridge/devices came at least once
	// alarm: the hub's alarm sounds; quiet: since when it does not (Run
	// watches the hub's state).
	alarm    bool
	quiet    time.Time
	bridge   tri // bridge/state: active online
	fault    tri // FaultBridge as last posted: active raised
	keeper   Keeper
	warned   map[string]bool // unknown topics logged once
	queue    []hub.Input
	resend   []func(hub.Output) bool // outputs to drive again
	feedback []fb                    // siren levels for the keeper
	refusals []refusal               // siren commands refused, for the keeper
	pubs     []pub                   // keypad panel states to publish
	kp       *keypads
	cancel   func()

	postMu sync.Mutex // held by whoever posts the queue

	// lastState is the hub's state last seen, for the arm and disarm squawks
	// ("": none yet). a.mu guards it.
	lastState hub.StateName
	// attrOnly: bridge/info says Zigbee2MQTT publishes no JSON state
	// (bridgeinfo.go). a.mu guards it.
	attrOnly bool
}

// New returns an adapter for zones (by zone id), outputs (by output id) and,
// in opt, keypads. A binding that does not check out is an error naming it.
func New(bus Bus, h Inputs, zones map[string]ZoneBinding, outputs map[string]OutputBinding, opt Options) (*Adapter, error) {
	if opt.Base == "" {
		opt.Base = DefaultBase
	}
	opt.Base = strings.TrimSuffix(opt.Base, "/")
	if opt.BatteryLow == 0 {
		opt.BatteryLow = DefaultBatteryLow
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.After == nil {
		opt.After = time.After
	}
	a := &Adapter{bus: bus, hub: h, base: opt.Base, lowBat: opt.BatteryLow, log: opt.Log, now: opt.Now,
		after: opt.After, panel: opt.Panel, ctx: context.Background(),
		zones: map[string][]*zone{}, keypads: map[string]string{}, rebind: make(chan rebindReq),
		devs: map[string]*dev{}, names: map[string]string{}, warned: map[string]bool{}}
	c, err := checkBindings(Bindings{Zones: zones, Outputs: outputs, Keypads: opt.Keypads})
	if err != nil {
		return nil, err
	}
	if len(c.keypads) > 0 && opt.Panel == nil {
		return nil, fmt.Errorf("zigbee: keypads need the hub's panel")
	}
	start := a.now()
	a.quiet = start
	for _, id := range slices.Sorted(maps.Keys(c.zones)) {
		b := c.zones[id]
		a.zones[b.IEEE] = append(a.zones[b.IEEE], &zone{id: id, b: b})
		a.device(b.IEEE).seen = start
	}
	for _, b := range c.outs {
		a.device(b.IEEE).seen = start // sirens are supervised too
	}
	a.outs.Store(&c.outs)
	a.keypads = c.keypads
	for ieee := range c.keypads {
		a.device(ieee).seen = start // keypads are supervised too
	}
	if opt.Panel != nil {
		a.kp = newKeypads() // also for keypads adopted later (Rebind)
	}
	return a, nil
}

// device returns the record of ieee, made if needed. a.mu is held.
func (a *Adapter) device(ieee string) *dev {
	d := a.devs[ieee]
	if d == nil {
		d = &dev{}
		a.devs[ieee] = d
	}
	return d
}

// Start subscribes to everything under the base topic. Retained messages
// (bridge/devices, bridge/state, availability) arrive at once. ctx bounds the
// hand-off of inputs to the hub.
func (a *Adapter) Start(ctx context.Context) error {
	a.mu.Lock()
	a.ctx = ctx
	a.mu.Unlock()
	cancel, err := a.bus.Subscribe(a.base+"/#", a.handle)
	if err != nil {
		return fmt.Errorf("zigbee: subscribe %s/#: %w", a.base, err)
	}
	a.mu.Lock()
	a.cancel = cancel
	a.mu.Unlock()
	return nil
}

// Close ends the subscription.
func (a *Adapter) Close() {
	a.mu.Lock()
	c := a.cancel
	a.cancel = nil
	a.mu.Unlock()
	if c != nil {
		c()
	}
}

// handle runs on the publishing client's goroutine: it reads the message, works
// out the inputs under the lock, and hands them to the hub in order.
func (a *Adapter) handle(m Message) {
	rest, ok := strings.CutPrefix(m.Topic, a.base+"/")
	if !ok {
		return
	}
	a.mu.Lock()
	if b, ok := strings.CutPrefix(rest, "bridge/"); ok {
		a.bridgeMsg(b, m)
	} else {
		a.deviceMsg(rest, m)
	}
	a.mu.Unlock()
	a.flush()
}

// post queues inputs for the hub. a.mu is held.
func (a *Adapter) post(in ...hub.Input) { a.queue = append(a.queue, in...) }

// flush hands the queued inputs to the hub, in order. One goroutine posts at a
// time; inputs queued meanwhile (also by the hub's own reaction, such as a siren
// command echoed back) are posted by it before it lets go.
func (a *Adapter) flush() {
	for {
		if !a.postMu.TryLock() {
			return // the holder posts what we queued
		}
		for {
			a.mu.Lock()
			q, rs, fbs, k, ps, refs := a.queue, a.resend, a.feedback, a.keeper, a.pubs, a.refusals
			a.queue, a.resend, a.feedback, a.pubs, a.refusals = nil, nil, nil, nil, nil
			ctx := a.ctx
			a.mu.Unlock()
			if len(q) == 0 && len(rs) == 0 && len(fbs) == 0 && len(ps) == 0 && len(refs) == 0 {
				break
			}
			for _, r := range refs {
				if k != nil {
					k.Refused(r.id, r.detail)
				}
			}
			for _, p := range ps {
				a.publish(p.topic, p.payload)
			}
			for _, f := range fbs {
				if k != nil {
					k.Feedback(f.id, f.on)
				}
			}
			for _, match := range rs {
				if k != nil {
					k.Resend(match)
				}
			}
			for _, in := range q {
				if err := a.hub.Post(ctx, in); err != nil && ctx.Err() == nil {
					a.log.Error("zigbee: hub refused an input", "input", fmt.Sprintf("%+v", in), "err", err)
				}
			}
		}
		a.postMu.Unlock()
		a.mu.Lock()
		more := len(a.queue) > 0 || len(a.resend) > 0 || len(a.feedback) > 0 || len(a.pubs) > 0 || len(a.refusals) > 0
		a.mu.Unlock()
		if !more {
			return
		}
	}
}

// warnOnce logs an unknown topic once. a.mu is held.
func (a *Adapter) warnOnce(topic, msg string, args ...any) {
	if a.warned[topic] {
		return
	}
	if len(a.warned) < 1000 {
		a.warned[topic] = true
	}
	a.log.Warn(msg, append([]any{"topic", topic}, args...)...)
}

// resolve finds the device a topic (without the base) is about: the longest
// friendly name that is the topic or prefixes it up to a '/'. a.mu is held.
func (a *Adapter) resolve(rest string) (ieee, suffix string, ok bool) {
	for i := len(rest); i > 0; i-- {
		if i < len(rest) && rest[i] != '/' {
			continue
		}
		if ieee, ok := a.names[rest[:i]]; ok {
			if i == len(rest) {
				return ieee, "", true
			}
			return ieee, rest[i+1:], true
		}
	}
	return "", "", false
}

// bridgeMsg handles base/bridge/<sub>. a.mu is held.
func (a *Adapter) bridgeMsg(sub string, m Message) {
	switch sub {
	case "state":
		online, err := parseOnline(m.Payload)
		if err == errEmpty {
			return
		}
		if err != nil {
			a.log.Warn("zigbee: bridge/state ignored", "err", err)
			return
		}
		a.setBridge(online)
	case "devices":
		if len(m.Payload) == 0 {
			return
		}
		list, err := ParseDevices(m.Payload)
		if err != nil {
			a.log.Warn("zigbee: bridge/devices ignored", "err", err)
			return
		}
		a.setDevices(list)
	case "event":
		a.bridgeEvent(m.Payload)
	case "logging":
		a.bridgeLogging(m.Payload)
	case "info":
		a.bridgeInfo(m.Payload)
	default:
		if req, ok := strings.CutPrefix(sub, "response/"); ok {
			a.bridgeResponse(req, m.Payload)
		}
	}
}

// setBridge records bridge/state. a.mu is held.
func (a *Adapter) setBridge(online bool) {
	was := a.bridge
	a.bridge = triOf(online)
	want := triOf(!online)
	if a.fault != want {
		a.fault = want
		detail := "Zigbee2MQTT is online"
		if !online {
			detail = "Zigbee2MQTT is offline: every Zigbee device's state is unknown"
			a.log.Error("zigbee: " + detail)
		} else {
			a.log.Info("zigbee: " + detail)
		}
		a.post(hub.Fault{ID: hub.FaultID{Kind: FaultBridge, Subject: a.base}, Active: !online, Detail: detail})
	}
	if online && was != active {
		// Zigbee2MQTT (re)started: it keeps neither siren commands nor keypad
		// panel states; tell them again.
		if len(a.outputs()) > 0 {
			a.resend = append(a.resend, a.ours)
		}
		a.kpResendAll()
	}
}

// setDevices takes a copy of bridge/devices as the whole truth. a.mu is held.
func (a *Adapter) setDevices(list []Device) {
	seen := map[string]bool{}
	clear(a.names)
	for i := range list {
		d := &list[i]
		seen[d.IEEE] = true
		a.names[d.FriendlyName] = d.IEEE
		r := a.device(d.IEEE)
		if r.info != nil && r.info.FriendlyName != d.FriendlyName {
			a.log.Info("zigbee: device renamed", "ieee", d.IEEE, "from", r.info.FriendlyName, "to", d.FriendlyName)
		}
		r.info, r.known = d, true
		if r.left {
			r.left = false
			a.log.Info("zigbee: device is back in the network", "ieee", d.IEEE, "name", d.FriendlyName)
		}
		for _, z := range a.zones[d.IEEE] {
			if z.b.Property != "" {
				if _, ok := d.prop(z.b.Property); !ok && z.b.Property != "action" && d.Ready {
					a.log.Warn("zigbee: zone's property is not exposed by its device", "zone", z.id,
						"ieee", d.IEEE, "property", z.b.Property)
				}
			}
		}
		a.evaluate(d.IEEE)
	}
	for _, ieee := range slices.Sorted(maps.Keys(a.devs)) {
		r := a.devs[ieee]
		if seen[ieee] || r.info == nil {
			continue
		}
		r.info = nil
		if r.known && !r.left {
			r.left = true
			a.log.Warn("zigbee: device vanished from bridge/devices", "ieee", ieee)
			a.evaluate(ieee)
		}
	}
	a.kpResendNew()
	if !a.listed {
		// The first list since start: the sirens could not be commanded before
		// (Drive), now they can.
		a.listed = true
		a.resend = append(a.resend, a.ours)
	}
}

// deviceMsg handles a device topic. a.mu is held.
func (a *Adapter) deviceMsg(rest string, m Message) {
	ieee, suffix, ok := a.resolve(rest)
	if !ok {
		if len(m.Payload) > 0 {
			a.warnOnce(m.Topic, "zigbee: message for a device not in bridge/devices ignored")
		}
		return
	}
	r := a.devs[ieee]
	switch suffix {
	case "":
		a.stateMsg(ieee, r, m)
	case "availability":
		online, err := parseOnline(m.Payload)
		if err == errEmpty {
			return
		}
		if err != nil {
			a.log.Warn("zigbee: availability ignored", "topic", m.Topic, "err", err)
			return
		}
		r.avail = triOf(online)
		a.evaluate(ieee)
		if online && a.sirenOf(ieee) {
			a.resend = append(a.resend, func(o hub.Output) bool { b, ok := a.outputs()[o.ID]; return ok && b.IEEE == ieee })
		}
	}
	// set, get, action and endpoint topics are commands or duplicates: not ours.
}

// stateMsg handles a device's state message. a.mu is held.
func (a *Adapter) stateMsg(ieee string, r *dev, m Message) {
	if r.info == nil {
		return
	}
	if len(m.Payload) == 0 {
		return
	}
	s, err := ParseState(r.info, m.Payload)
	if err != nil {
		a.log.Warn("zigbee: state ignored", "device", r.info.FriendlyName, "ieee", ieee, "err", err)
		return
	}
	for _, p := range s.Problems {
		a.log.Warn("zigbee: state value ignored", "device", r.info.FriendlyName, "ieee", ieee, "problem", p)
	}
	// Any message is a sign of life.
	r.seen = a.now()
	if r.lost && a.sirenOf(ieee) {
		a.log.Info("zigbee: siren heard again", "ieee", ieee, "device", r.info.FriendlyName)
		a.resend = append(a.resend, func(o hub.Output) bool { b, ok := a.outputs()[o.ID]; return ok && b.IEEE == ieee })
	}
	if id := a.keypads[ieee]; id != "" && r.lost {
		a.post(keypadLost(id, false, "heard again"))
	}
	r.lost, r.heard = false, true
	if r.bin == nil {
		r.bin = map[string]bool{}
	}
	a.pulse(ieee, r, s)
	maps.Copy(r.bin, s.Binary)
	if s.Battery != nil {
		r.batt = s.Battery
	}
	if s.LinkQuality != nil {
		r.lqi = s.LinkQuality
	}
	a.evaluate(ieee)
	if s.Action != "" {
		for _, z := range a.zones[ieee] {
			if z.b.Property == "action" {
				a.post(hub.Sensor{Zone: z.id, Signal: hub.SigOpen}, hub.Sensor{Zone: z.id, Signal: hub.SigClose})
			}
		}
		a.keypadAction(ieee, r, s)
	}
	a.sirenFeedback(ieee, r, s)
}

// primary is the property that opens zone z on device d.
func primary(z *zone, d *Device) string {
	if z.b.Property != "" {
		return z.b.Property
	}
	for _, p := range zoneProps {
		if _, ok := d.prop(p); ok {
			return p
		}
	}
	if len(d.Actions) > 0 && !d.Keypad() {
		return "action"
	}
	return ""
}

// evaluate posts, for every zone of device ieee, the levels that differ from
// what was posted last. a.mu is held.
func (a *Adapter) evaluate(ieee string) {
	r := a.devs[ieee]
	if r == nil {
		return
	}
	for _, z := range a.zones[ieee] {
		// offline: lost by Vakt's supervision or offline for Zigbee2MQTT;
		// online once it was heard from (or Zigbee2MQTT says so).
		off := unknown
		switch {
		case r.lost || r.avail == inactive:
			off = active
		case r.heard || r.avail == active:
			off = inactive
		}
		if off != z.offline && off != unknown {
			z.offline = off
			a.post(sensor(z.id, off == active, hub.SigOffline, hub.SigOnline))
		}
		if r.info == nil && !r.left {
			continue
		}
		// tamper: the device's tamper bit, or it left the network.
		tamper := unknown
		if r.info != nil {
			if _, ok := r.info.prop("tamper"); ok {
				if v, ok := r.bin["tamper"]; ok {
					tamper = triOf(v)
				}
			}
		}
		if r.left {
			tamper = active
		} else if tamper == unknown && z.tamper == active {
			tamper = inactive // back in the network, no tamper bit to say otherwise
		}
		if tamper != unknown && tamper != z.tamper {
			z.tamper = tamper
			a.post(sensor(z.id, tamper == active, hub.SigTamper, hub.SigTamperRestore))
		}
		if r.info == nil {
			continue
		}
		// open: the zone's property, gated by a detector's self-test.
		if p := primary(z, r.info); p != "" && p != "action" {
			if v, ok := r.bin[p]; ok {
				open := triOf(v)
				if v && r.bin["test"] {
					if !z.testLogged {
						z.testLogged = true
						a.log.Warn("zigbee: detector under test: not an alarm", "zone", z.id, "ieee", ieee, "property", p)
					}
					open = z.open
				} else {
					z.testLogged = false
				}
				if open == active && !z.clearedAt.IsZero() {
					open = inactive // taken as closed by its clear rule (pulse.go)
				}
				if open != z.open {
					z.open = open
					a.post(sensor(z.id, open == active, hub.SigOpen, hub.SigClose))
					a.lifeSafety(z, p)
				}
			}
		}
		// low battery: battery_low, or the percentage under the threshold.
		low := unknown
		if v, ok := r.bin["battery_low"]; ok {
			low = triOf(v)
		}
		if r.batt != nil && (low != active) {
			low = triOf(*r.batt < a.lowBat)
		}
		if low != unknown && low != z.low {
			z.low = low
			a.post(sensor(z.id, low == active, hub.SigLowBattery, hub.SigBatteryOK))
		}
	}
}

func sensor(zone string, on bool, yes, no hub.Signal) hub.Input {
	if on {
		return hub.Sensor{Zone: zone, Signal: yes}
	}
	return hub.Sensor{Zone: zone, Signal: no}
}

// checkIn is how long device r of zone z may stay silent.
func checkIn(z *zone, r *dev) time.Duration {
	if z.b.CheckIn > 0 {
		return z.b.CheckIn.D()
	}
	if r.info != nil && !r.info.Battery() {
		return DefaultCheckInMains
	}
	return DefaultCheckInBattery
}

// sirenCheckIn is how long siren device r bound by b may stay silent.
func sirenCheckIn(b OutputBinding, r *dev) time.Duration {
	if b.CheckIn > 0 {
		return b.CheckIn.D()
	}
	if r.info != nil && r.info.Battery() {
		return DefaultCheckInBattery
	}
	return DefaultCheckInMains
}

// supervised returns, by IEEE address, how long each bound zone device and
// siren may stay silent: the shortest of its bindings' check-in intervals.
// a.mu is held.
func (a *Adapter) supervised() map[string]time.Duration {
	out := map[string]time.Duration{}
	shortest := func(ieee string, w time.Duration) {
		if cur, ok := out[ieee]; !ok || w < cur {
			out[ieee] = w
		}
	}
	for ieee, zs := range a.zones {
		for _, z := range zs {
			shortest(ieee, checkIn(z, a.device(ieee)))
		}
	}
	for _, b := range a.outputs() {
		shortest(b.IEEE, sirenCheckIn(b, a.device(b.IEEE)))
	}
	for ieee := range a.keypads {
		shortest(ieee, keypadCheckIn(a.device(ieee)))
	}
	return out
}

// keypadCheckIn is how long keypad device r may stay silent: by its power source.
func keypadCheckIn(r *dev) time.Duration {
	if r.info != nil && !r.info.Battery() {
		return DefaultCheckInMains
	}
	return DefaultCheckInBattery
}

// keypadFaults takes up the keypad losses the hub resumed at its start: a
// keypad still bound is lost until it is heard (its next message restores the
// fault), the loss of one no longer bound is restored now. a.mu is held.
func (a *Adapter) keypadFaults(st hub.State) {
	bound := map[string]string{} // keypad id -> ieee
	for ieee, id := range a.keypads {
		bound[id] = ieee
	}
	for f, on := range st.Faults {
		id, ok := strings.CutPrefix(f.Subject, "keypad:")
		if !on || f.Kind != hub.FaultDevice || !ok {
			continue
		}
		if ieee, ok := bound[id]; ok {
			a.device(ieee).lost = true
			continue
		}
		a.post(keypadLost(id, false, "the keypad is no longer bound"))
	}
}

// keypadLost is the hub's fault of a lost keypad (id: its keypad id).
func keypadLost(id string, active bool, detail string) hub.Fault {
	return hub.Fault{ID: hub.FaultID{Kind: hub.FaultDevice, Subject: "keypad:" + id}, Active: active, Detail: detail}
}

// Check raises "device lost" for every bound device silent longer than its
// check-in interval (a zone's device: the zone offline; a siren: its output
// unreachable, which the output keeper fails), and returns when to check next.
func (a *Adapter) Check() time.Time {
	a.mu.Lock()
	now := a.now()
	next := a.checkStuck(now)
	for _, due := range []time.Time{a.checkClear(now), a.kpRefresh(now)} {
		if !due.IsZero() && (next.IsZero() || due.Before(next)) {
			next = due
		}
	}
	windows := a.supervised()
	for _, ieee := range slices.Sorted(maps.Keys(windows)) {
		r := a.devs[ieee]
		if r.lost {
			continue
		}
		window := windows[ieee]
		due := r.seen.Add(window)
		if now.Before(due) {
			if next.IsZero() || due.Before(next) {
				next = due
			}
			continue
		}
		r.lost = true
		a.log.Error("zigbee: device lost: silent longer than its check-in interval", "ieee", ieee,
			"bound_to", strings.Join(a.boundTo(ieee), ", "), "silent", now.Sub(r.seen).Round(time.Second).String(),
			"checkin", window.String())
		if id := a.keypads[ieee]; id != "" {
			a.post(keypadLost(id, true, fmt.Sprintf("silent for %s, longer than its check-in interval (%s)",
				now.Sub(r.seen).Round(time.Second), window)))
		}
		a.evaluate(ieee)
	}
	a.mu.Unlock()
	a.flush()
	return next
}

// Run supervises devices (Check) and serves keypads until ctx is cancelled.
func (a *Adapter) Run(ctx context.Context) error {
	var updates *hub.Follow // nil without keypads: its case never fires
	if a.kp != nil {
		updates = hub.NewFollow(a.panel.Subscribe, 64)
		defer updates.Stop()
		a.mu.Lock()
		st := a.panel.Snapshot().State
		a.follow(st)
		a.keypadFaults(st)
		a.mu.Unlock()
		a.flush()
	}
	var kpq chan kpRequest
	if a.kp != nil {
		kpq = a.kp.queue
	}
	for {
		next := a.Check()
		wait := time.Minute
		if !next.IsZero() {
			wait = min(max(next.Sub(a.now()), time.Second), time.Minute)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-a.after(wait):
		case r := <-kpq:
			a.kpDo(ctx, r)
		case r := <-a.rebind:
			a.apply(r.c)
			close(r.done)
		case u, ok := <-updates.C():
			if !ok {
				updates.Again()
				u.Snapshot = a.panel.Snapshot()
			}
			a.mu.Lock()
			a.follow(u.Snapshot.State)
			a.mu.Unlock()
			a.flush()
		}
	}
}

// follow takes the hub's state st: the keypads' panel status, the stuck rule's
// silence, the sirens' squawks. a.mu is held.
func (a *Adapter) follow(st hub.State) {
	a.kpState(st)
	a.watch(st)
	a.squawkState(st)
}

// Discovered lists the devices in bridge/devices that no zone, output or keypad
// is bound to, with the properties they report, by friendly name.
func (a *Adapter) Discovered() []Device {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []Device
	for ieee, r := range a.devs {
		if r.info == nil || len(a.zones[ieee]) > 0 || a.keypads[ieee] != "" || a.sirenOf(ieee) {
			continue
		}
		out = append(out, *r.info)
	}
	slices.SortFunc(out, func(x, y Device) int { return strings.Compare(x.FriendlyName, y.FriendlyName) })
	return out
}

// Devices lists every device in bridge/devices, by friendly name.
func (a *Adapter) Devices() []Device {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []Device
	for _, r := range a.devs {
		if r.info != nil {
			out = append(out, *r.info)
		}
	}
	slices.SortFunc(out, func(x, y Device) int { return strings.Compare(x.FriendlyName, y.FriendlyName) })
	return out
}
