// The notification targets: the hub's committed events, filtered per target,
// queued and sent by each target's own goroutine.

package main

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"vakt/hub"
	"vakt/storage"
	"vakt/ui/notify"
)

// notifyRetry bounds the backoff of a failing target.
var notifyRetry = struct{ min, max time.Duration }{time.Second, time.Minute}

// notifyDrain is the targets' share of the shutdown deadline: how long they
// may take at a stop to deliver what is queued. They end notifyMargin before
// the deadline at the latest, leaving the rest of the shutdown its time.
const (
	notifyDrain  = 2 * time.Second
	notifyMargin = time.Second
)

// notifyCatchUp bounds how many events the notifications read back from the
// journal after falling behind the hub's updates.
const notifyCatchUp = 20 * storage.MaxLimit

// notifySide runs the notification targets.
type notifySide struct {
	cfg     notify.Config
	senders []*notify.Sender
	// link is the operator link of an alarm event ("" for none).
	link func(hub.Event) string
	loc  *time.Location
	log  *slog.Logger

	h       *hub.Hub
	updates *hub.Follow
}

// newNotifySide makes the senders of the configured targets; nil for none.
// video gives the operator links (nil without cameras).
func newNotifySide(c notify.Config, video *videoSide, loc *time.Location, log *slog.Logger) *notifySide {
	if len(c.Targets) == 0 {
		return nil
	}
	ns := &notifySide{cfg: c, link: video.alarmLink, loc: loc, log: log}
	for _, t := range c.Targets {
		ns.senders = append(ns.senders, notify.NewSender(t, notify.Options{
			RetryMin: notifyRetry.min, RetryMax: notifyRetry.max, TroubleAfter: c.TroubleAfter, Log: log,
			OnTrouble: func(active bool, detail string) { ns.trouble(t.Name, active, detail) }}))
	}
	return ns
}

// subscribe takes the hub's updates from now on, and reads from journal what it
// misses if it falls behind them; nil-safe.
func (ns *notifySide) subscribe(h *hub.Hub, journal eventLog) {
	if ns == nil {
		return
	}
	ns.h = h
	ns.follow(h.Subscribe, journal)
}

// follow takes the updates of subscribe from now on, and reads from journal what
// it misses if it falls behind them.
func (ns *notifySide) follow(subscribe hub.SubscribeFunc, journal eventLog) {
	ns.updates = hub.NewFollow(subscribe, 1024)
	// What is in the journal now was notified before this start, or never will
	// be: a read-back reads only what comes after it.
	top, err := storage.Top(journal)
	if err != nil {
		ns.log.Error("notify: cannot read the journal; events missed after falling behind the hub will not be read back", "err", err)
		return
	}
	ns.updates.ReadBack(top, storage.ReadBackFunc(journal, nil, notifyCatchUp))
}

// start runs the senders and the feed from the hub (subscribe first); nil-safe.
func (ns *notifySide) start(goRun func(string, func(context.Context) error)) {
	if ns == nil {
		return
	}
	ns.syncFaults()
	for _, s := range ns.senders {
		goRun("notify "+s.Name(), s.Run)
	}
	goRun("notifications", func(ctx context.Context) error { ns.run(ctx); return nil })
}

// run feeds the hub's updates to the targets until ctx ends. Having fallen
// behind the hub (which never waits for us), it takes up the updates again from
// now, and what it missed from the journal.
func (ns *notifySide) run(ctx context.Context) { ns.updates.Run(ctx, ns.feed, ns.fellBehind) }

// targets are the senders, for the metrics; nil-safe.
func (ns *notifySide) targets() []*notify.Sender {
	if ns == nil {
		return nil
	}
	return ns.senders
}

// stop gives the targets until notifyDrain from now, or notifyMargin before
// the shutdown deadline if that is sooner, to deliver what is queued, the
// alarms first. It does not wait: the senders return by then, and each logs
// what it could not deliver. Call it once the hub has stopped; nil-safe.
func (ns *notifySide) stop(deadline time.Time) {
	if ns == nil {
		return
	}
	now := time.Now()
	until := now.Add(notifyDrain)
	if last := deadline.Add(-notifyMargin); last.Before(until) {
		until = last
	}
	queued, sending := 0, 0
	for _, s := range ns.senders {
		st := s.Stats()
		queued += st.Queued
		if st.Sending {
			sending++
		}
	}
	for _, s := range ns.senders {
		s.Stop(until)
	}
	ns.log.Info("notify: delivering the queued notifications before stopping", "queued", queued, "sending", sending,
		"within", max(until.Sub(now), 0).Round(time.Millisecond))
}

// fellBehind logs what the feed missed when the hub dropped it, and what of it
// was read back from the journal.
func (ns *notifySide) fellBehind() {
	m := ns.updates.Missed()
	switch {
	case m == (hub.Missed{}):
		ns.log.Error("notify: fell behind the hub's updates; some events were not notified")
		return
	case m.Err != nil:
		ns.log.Error("notify: fell behind the hub's updates and cannot read the journal; some events were not notified",
			"after", m.To, "err", m.Err)
	case m.Skipped > 0:
		ns.log.Error("notify: fell behind the hub's updates by more than the journal read-back; older events were not notified",
			"not_notified_from", m.From, "not_notified_to", m.Skipped, "limit", notifyCatchUp)
	}
	if m.Err == nil {
		ns.log.Warn("notify: fell behind the hub's updates; read what it missed from the journal", "from", m.From, "to", m.To)
	}
}

// feed queues an update's events with the targets that want them. Silent
// events never go anywhere (Target.Wants). An update read back from the journal
// has no snapshot: the zones are named from the hub's current one.
func (ns *notifySide) feed(u hub.Update) {
	if u.Snapshot == nil && ns.h != nil {
		u.Snapshot = ns.h.Snapshot()
	}
	for _, ev := range u.Events {
		var want []*notify.Sender
		for _, s := range ns.senders {
			if s.Target().Wants(ev) {
				want = append(want, s)
			}
		}
		if len(want) == 0 {
			continue
		}
		var zoneName string
		if ev.Zone != "" && u.Snapshot != nil {
			if i := slices.IndexFunc(u.Snapshot.Config.Zones, func(z hub.Zone) bool { return z.ID == ev.Zone }); i >= 0 {
				zoneName = u.Snapshot.Config.Zones[i].Name
			}
		}
		n := notify.NewNotice(ns.cfg, ev, zoneName, ns.link(ev), ns.loc)
		for _, s := range want {
			s.Enqueue(n)
		}
	}
}

// trouble raises or clears the target's fault in the hub.
func (ns *notifySide) trouble(target string, active bool, detail string) {
	f := hub.Fault{ID: hub.FaultID{Kind: hub.FaultNotify, Subject: target}, Active: active, Detail: detail}
	if err := ns.h.Post(context.Background(), f); err != nil {
		ns.log.Error("notify: hub refused the target's fault", "target", target, "err", err)
	}
}

// syncFaults clears the faults of targets no longer configured; a configured
// target's resumed fault is cleared by its next delivery.
func (ns *notifySide) syncFaults() {
	for id, on := range ns.h.Snapshot().State.Faults {
		if !on || id.Kind != hub.FaultNotify {
			continue
		}
		found := false
		for _, s := range ns.senders {
			if s.Name() == id.Subject {
				s.ResumeTrouble()
				found = true
			}
		}
		if !found {
			ns.trouble(id.Subject, false, "target no longer configured")
		}
	}
}

// alarmLink is the operator link of an alarm or panic event, the one its
// report to the centre carries; "" for other events, or without an operator
// link, or for an event not in the journal.
func (vs *videoSide) alarmLink(ev hub.Event) string {
	if ev.Seq == 0 || ev.Type != hub.EvAlarm && ev.Type != hub.EvPanic {
		return ""
	}
	return vs.verifyURL(hub.Report{Event: ev.Seq})
}
