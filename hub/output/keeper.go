// Package output keeps every output (siren, sounder, strobe, chime relay) at the
// level the alarm core wants, whatever device drives it: an MQTT relay, a
// Zigbee2MQTT siren, a GPIO line.
//
// The core says what each kind of output should be; a Keeper turns that into a
// level per output and makes the device agree, and keep agreeing:
//
//   - at once, when the core switches (Set, on the alarm path: never blocks);
//   - when the device (re)appears: its adapter calls Resend (an MQTT device
//     subscribed to its command topic, Zigbee2MQTT's bridge came online, a GPIO
//     line was requested again);
//   - after every start, once the resumed state is known (Run's first step);
//   - every Refresh while on, so a device that rebooted or missed a message
//     catches up;
//   - when the device's feedback (Feedback) disagrees: the level is sent again.
//
// Each output is driven by the adapter that binds it (Options.Drivers): MQTT,
// Zigbee and GPIO outputs side by side. An output that no adapter binds can never
// sound: it is logged and raises FaultOutput from the start.
//
// An output that cannot be driven (the driver fails, no device listens), or whose
// feedback does not agree within Confirm, raises the fault FaultOutput through the
// hub; the fault restores when the output agrees again. Nothing is dropped: there
// is no queue between the core and the driver.
package output

import (
	"context"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"time"

	"vakt/hub"
)

// Level is what an output is told.
type Level int

// Levels.
const (
	Off   Level = iota
	On          // on until told off
	Pulse       // a short chime; the device ends it by itself
)

func (l Level) String() string {
	switch l {
	case On:
		return "on"
	case Pulse:
		return "pulse"
	}
	return "off"
}

// Driver sends levels to devices. Drive is called with the Keeper's lock held, on
// the alarm path: it must send now and not block (a publish into the embedded
// broker, a GPIO write). An error means the command did not leave.
type Driver interface {
	Drive(o hub.Output, l Level) error
	// Reachable reports whether a device is there to hear o's commands (an MQTT
	// client subscribed to its topic, a requested GPIO line). An output that stays
	// unreachable longer than its Confirm time (BootGrace after start) is failed.
	Reachable(o hub.Output) bool
}

// Hub is where faults go: Post from the Keeper's own goroutine, never from Set.
type Hub interface {
	Post(ctx context.Context, in hub.Input) error
}

// BootGrace is how long after start devices have to reconnect before an
// unreachable output counts as failed.
const BootGrace = 60 * time.Second

// correctEvery limits how often a disagreeing output is commanded again.
const correctEvery = time.Second

// minWait keeps Run from spinning if a deadline is already past.
const minWait = 10 * time.Millisecond

// unbound is the fault detail of an output that no adapter binds.
const unbound = "no adapter binds it: it can never sound"

// probeEvery is how often the keeper asks whether each device is still there.
const probeEvery = 5 * time.Second

type out struct {
	cfg  hub.Output
	drv  Driver // nil: no adapter binds the output
	want bool
	sent time.Time // last drive of the level
	// feedback: whether the device has one, what it said last, and by when it
	// must agree (zero: nothing pending).
	feedback  bool
	known     bool
	reported  bool
	confirmBy time.Time
	corrected time.Time
	// unreachableSince is when Reachable first said no (zero: reachable).
	unreachableSince time.Time
	driveErr         string
	// refused is what the device's side said when it refused a command (a
	// Zigbee2MQTT error naming the siren), at refusedAt; "" for none.
	refused    string
	refusedAt  time.Time
	failed     bool
	failDetail string
}

// Keeper keeps outputs at their levels. It implements hub.Outputs. Make it with
// New; Run is its goroutine (refresh, confirmation and faults), stopped by
// cancelling its context; Stop drives everything off for a shutdown. Every method
// is safe for concurrent use.
type Keeper struct {
	hub    Hub
	status func(id string, on bool) // optional: what each output was last driven to
	log    *slog.Logger
	now    func() time.Time
	after  func(time.Duration) <-chan time.Time

	mu       sync.Mutex
	outs     []*out
	statuses []*out // driven since the last status publication
	started  time.Time
	stopped  bool
	wake     chan struct{}
}

// Options configure a Keeper.
type Options struct {
	// Drivers are the drivers of the outputs by output id: each output is driven
	// by the adapter that binds it.
	Drivers map[string]Driver
	// Driver drives the outputs that Drivers does not name; nil: those have no
	// driver, can never sound and are failed from the start.
	Driver Driver
	Hub    Hub
	// Status, optional, is told each output's level when it changes (the MQTT
	// adapter publishes it, retained, on vakt/output/<id>). It runs with the lock
	// held: it must not block.
	Status func(id string, on bool)
	// Feedback names the outputs whose devices report their level.
	Feedback func(o hub.Output) bool
	// Failed are the outputs whose fault is active in the state the hub resumes
	// (raised before a restart): each is restored once its output is fine.
	Failed []string
	Log    *slog.Logger
	Now    func() time.Time                     // default time.Now
	After  func(time.Duration) <-chan time.Time // default time.After
}

// New returns a keeper for outputs, all wanted off until the hub says otherwise.
func New(outputs []hub.Output, opt Options) *Keeper {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.After == nil {
		opt.After = time.After
	}
	k := &Keeper{hub: opt.Hub, status: opt.Status, log: opt.Log, now: opt.Now, after: opt.After,
		wake: make(chan struct{}, 1)}
	for i, o := range outputs {
		if o.Number == 0 {
			o.Number = i + 1
		}
		if o.Refresh == 0 {
			o.Refresh = hub.Duration(hub.DefaultOutputRefresh)
		}
		if o.Confirm == 0 {
			o.Confirm = hub.Duration(hub.DefaultOutputConfirm)
		}
		drv, ok := opt.Drivers[o.ID]
		if !ok {
			drv = opt.Driver
		}
		k.outs = append(k.outs, &out{cfg: o, drv: drv, feedback: opt.Feedback != nil && opt.Feedback(o),
			failed: slices.Contains(opt.Failed, o.ID)})
	}
	return k
}

var _ hub.Outputs = (*Keeper)(nil)

// SetHub names the hub that faults go to, when it is made after the keeper (the
// hub needs its outputs first). Call it before Run.
func (k *Keeper) SetHub(h Hub) {
	k.mu.Lock()
	k.hub = h
	k.mu.Unlock()
}

// Set switches every output of kind: the hub calls it on the alarm path.
func (k *Keeper) Set(kind hub.OutputKind, on, pulse bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped {
		return
	}
	now := k.now()
	sent := false
	for _, o := range k.outs {
		if o.cfg.Kind != kind {
			continue
		}
		if pulse {
			sent = k.send(o, Pulse, now) || sent
			continue
		}
		changed := o.want != on
		o.want = on
		if changed || o.driveErr != "" {
			k.drive(o, now)
			sent = true
		}
	}
	if sent {
		// The command is with the goroutine that writes to the device, which the
		// scheduler has lined up to run next on this processor; the work this
		// goroutine does after the switch (status, journal) would make it wait for
		// another processor to wake up and take it. Let it go first.
		runtime.Gosched()
	}
	k.publishStatus()
}

// publishStatus tells Status the levels driven since the last call. k.mu is held.
func (k *Keeper) publishStatus() {
	for _, o := range k.statuses {
		k.status(o.cfg.ID, o.want)
	}
	clear(k.statuses)
	k.statuses = k.statuses[:0]
}

// Want returns the level the keeper holds for output id.
func (k *Keeper) Want(id string) (on, ok bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, o := range k.outs {
		if o.cfg.ID == id {
			return o.want, true
		}
	}
	return false, false
}

// Status is what the keeper knows of one output now.
type Status struct {
	ID string
	// On is the level the hub wants.
	On bool
	// Feedback: the device reports its level; Known: it has since the start,
	// and Reported is what it said last.
	Feedback, Known, Reported bool
	// Failed: the keeper has raised the output's fault, for Detail.
	Failed bool
	Detail string
}

// Outputs returns the status of every output, in the configuration's order.
func (k *Keeper) Outputs() []Status {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]Status, 0, len(k.outs))
	for _, o := range k.outs {
		st := Status{ID: o.cfg.ID, On: o.want, Feedback: o.feedback, Known: o.known, Reported: o.reported, Failed: o.failed}
		if o.failed {
			st.Detail = o.failDetail
		}
		out = append(out, st)
	}
	return out
}

// drive sends o's level and starts waiting for its confirmation. k.mu is held.
func (k *Keeper) drive(o *out, now time.Time) {
	l := Off
	if o.want {
		l = On
	}
	if !k.send(o, l, now) {
		return
	}
	o.sent = now
	if o.feedback && (!o.known || o.reported != o.want) && o.confirmBy.IsZero() {
		o.confirmBy = now.Add(o.cfg.Confirm.D())
		k.poke()
	}
	if k.status != nil {
		k.statuses = append(k.statuses, o)
	}
}

// send drives l and records a failure. k.mu is held.
func (k *Keeper) send(o *out, l Level, now time.Time) bool {
	if o.drv == nil {
		return false // failed from the start: see check
	}
	if err := o.drv.Drive(o.cfg, l); err != nil {
		if o.driveErr == "" {
			k.log.Error("output: not driven", "output", o.cfg.ID, "level", l, "err", err)
			k.poke() // Run raises the fault and retries
		}
		o.driveErr = err.Error()
		return false
	}
	o.driveErr = ""
	return true
}

func (k *Keeper) poke() {
	select {
	case k.wake <- struct{}{}:
	default:
	}
}

// Resend drives again, at once, the current level of every output for which match
// is true: its device has just (re)appeared.
func (k *Keeper) Resend(match func(hub.Output) bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped {
		return
	}
	now := k.now()
	for _, o := range k.outs {
		if match(o.cfg) {
			o.unreachableSince = time.Time{}
			k.drive(o, now)
		}
	}
	k.publishStatus()
	k.poke()
}

// Refused records that output id's device (or the bridge in front of it)
// refused or could not deliver a command: detail says why. The level is sent
// again (at most once a second), and the output is failed until a command is
// sent and its Confirm time passes with no new refusal.
func (k *Keeper) Refused(id, detail string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	for _, o := range k.outs {
		if o.cfg.ID != id || o.drv == nil {
			continue
		}
		o.refused, o.refusedAt = detail, now
		if !k.stopped && now.Sub(o.corrected) >= correctEvery {
			o.corrected = now
			k.drive(o, now)
		}
		k.poke()
	}
	k.publishStatus()
}

// SetDriver makes drv the driver of output id, with feedback telling whether
// its device reports its level: a device adopted or released while the hub runs.
// The device that drove it until now is told off (it is no longer the output's),
// and the new one is driven at once to the output's level. A nil drv leaves the
// output with no driver: it can never sound, and is failed as at start. An
// output the keeper does not have is ignored (false).
func (k *Keeper) SetDriver(id string, drv Driver, feedback bool) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, o := range k.outs {
		if o.cfg.ID != id {
			continue
		}
		now := k.now()
		if o.drv != nil && !k.stopped {
			if err := o.drv.Drive(o.cfg, Off); err != nil {
				k.log.Warn("output: the device it leaves was not told off", "output", id, "err", err)
			}
		}
		o.drv, o.feedback = drv, feedback
		o.known, o.confirmBy, o.unreachableSince, o.driveErr, o.sent = false, time.Time{}, time.Time{}, "", time.Time{}
		if drv != nil && !k.stopped {
			k.drive(o, now)
		}
		k.publishStatus()
		k.poke()
		return true
	}
	return false
}

// Feedback records the level output id's device reports. A level that disagrees
// with the wanted one is commanded again (at most once a second); one that agrees
// ends the wait for confirmation and restores a failed output.
func (k *Keeper) Feedback(id string, on bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	for _, o := range k.outs {
		if o.cfg.ID != id || !o.feedback {
			continue
		}
		o.known, o.reported = true, on
		if on == o.want {
			o.confirmBy = time.Time{}
			k.poke()
			continue
		}
		if k.stopped {
			continue
		}
		if now.Sub(o.corrected) >= correctEvery {
			o.corrected = now
			k.log.Warn("output: device disagrees; commanding again", "output", id, "want", o.want, "reported", on)
			k.drive(o, now)
		}
		if o.confirmBy.IsZero() {
			o.confirmBy = now.Add(o.cfg.Confirm.D())
			k.poke()
		}
	}
	k.publishStatus()
}

// Stop drives every output off and stops keeping them (an orderly shutdown: the
// hub will resume what must sound when it starts again).
func (k *Keeper) Stop() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped {
		return
	}
	now := k.now()
	for _, o := range k.outs {
		o.want = false
		k.drive(o, now)
	}
	k.publishStatus()
	k.stopped = true
}

// Run drives every output to its level once (the resumed state is known by then),
// then refreshes outputs that are on, checks confirmations and reachability, and
// raises and restores FaultOutput, until ctx is cancelled.
func (k *Keeper) Run(ctx context.Context) error {
	k.mu.Lock()
	now := k.now()
	k.started = now
	for _, o := range k.outs {
		if o.drv == nil {
			k.log.Error("output: no adapter binds it; it can never sound", "output", o.cfg.ID)
			continue
		}
		if !k.stopped {
			k.drive(o, now)
		}
	}
	k.publishStatus()
	k.mu.Unlock()
	for {
		next, faults := k.check()
		k.mu.Lock()
		h := k.hub
		k.mu.Unlock()
		for _, f := range faults {
			if h == nil {
				continue
			}
			if err := h.Post(ctx, f); err != nil && ctx.Err() == nil {
				k.log.Error("output: fault not posted", "fault", f.ID.String(), "err", err)
			}
		}
		var timer <-chan time.Time
		if !next.IsZero() {
			timer = k.after(max(next.Sub(k.now()), minWait))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-k.wake:
		case <-timer:
		}
	}
}

// check does what is due and returns when to look again and the faults to post.
func (k *Keeper) check() (time.Time, []hub.Fault) {
	k.mu.Lock()
	defer k.mu.Unlock()
	defer k.publishStatus()
	now := k.now()
	var next time.Time
	soon := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	var faults []hub.Fault
	if len(k.outs) > 0 {
		soon(now.Add(probeEvery)) // a device may go away without a word
	}
	for _, o := range k.outs {
		if k.stopped {
			break
		}
		if o.drv == nil {
			if !o.failed {
				o.failed, o.failDetail = true, unbound
				k.log.Error("output: failed", "output", o.cfg.ID, "detail", unbound)
				faults = append(faults, hub.Fault{ID: hub.FaultID{Kind: hub.FaultOutput, Subject: o.cfg.ID},
					Active: true, Detail: unbound})
			}
			continue
		}
		if o.want && !o.sent.IsZero() && !now.Before(o.sent.Add(o.cfg.Refresh.D())) || o.driveErr != "" {
			k.drive(o, now)
		}
		switch {
		case o.driveErr != "":
			soon(now.Add(correctEvery)) // try again
		case o.want && !o.sent.IsZero():
			soon(o.sent.Add(o.cfg.Refresh.D()))
		}
		// Reachability, with BootGrace after start.
		reach := o.drv.Reachable(o.cfg)
		switch {
		case reach:
			o.unreachableSince = time.Time{}
		case o.unreachableSince.IsZero():
			o.unreachableSince = now
		}
		detail := ""
		if o.refused != "" && !o.sent.Before(o.refusedAt) {
			// Agreement: a command sent after the refusal, and its Confirm
			// time passed without another.
			if ok := o.sent.Add(o.cfg.Confirm.D()); now.Before(ok) {
				soon(ok)
			} else {
				o.refused = ""
			}
		}
		switch {
		case o.driveErr != "":
			detail = "cannot be driven: " + o.driveErr
		case o.refused != "":
			detail = "refused: " + o.refused
		case !o.unreachableSince.IsZero():
			grace := max(o.cfg.Confirm.D(), k.started.Add(BootGrace).Sub(o.unreachableSince))
			if due := o.unreachableSince.Add(grace); now.Before(due) {
				soon(due)
			} else {
				detail = "no device listens to its commands"
			}
			soon(now.Add(o.cfg.Confirm.D())) // look again: a device may come back
		case !o.confirmBy.IsZero():
			if now.Before(o.confirmBy) {
				soon(o.confirmBy)
			} else {
				detail = "the device does not confirm the level " + Level(boolInt(o.want)).String()
			}
		}
		id := hub.FaultID{Kind: hub.FaultOutput, Subject: o.cfg.ID}
		switch {
		case detail != "" && !o.failed:
			o.failed, o.failDetail = true, detail
			k.log.Error("output: failed", "output", o.cfg.ID, "detail", detail)
			faults = append(faults, hub.Fault{ID: id, Active: true, Detail: detail})
		case detail == "" && o.failed:
			o.failed = false
			k.log.Info("output: restored", "output", o.cfg.ID)
			faults = append(faults, hub.Fault{ID: id, Active: false, Detail: "the device agrees again"})
		}
	}
	return next, faults
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
