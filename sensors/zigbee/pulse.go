package zigbee

import (
	"maps"
	"slices"
	"time"

	"vakt/hub"
)

// Pulse detectors. A motion or vibration sensor reports its active value at a
// detection and the clear only later: after Zigbee2MQTT's occupancy_timeout or
// vibration_timeout (timers inside Zigbee2MQTT, lost when it restarts in the
// window), after the device's own timeout, or never. A zone with a clear rule
// (ZoneBinding.ClearAfter) is taken as closed ClearAfter after the device's last
// report of the active value, unless the device reports clear first.
//
// Every state message repeats the whole cached state, so once the rule has
// closed the zone, a repeat of the active value is not a new detection: the
// zone opens again when the device reports a change to active (clear, then
// active) or a detection event (a one-shot action with the active value, as
// Aqara's vibration sensor sends). A device that keeps reporting the active
// value StuckAfter (default DefaultStuckAfter) after the rule closed its zone
// cannot tell a new detection from its cache: it is stuck active (FaultStuck),
// restored by its clear, or by a detection event.

// pulseProps are the properties a clear rule may take as cleared.
var pulseProps = []string{"occupancy", "vibration", "presence", "tilt"}

// pulse notes state message s of device ieee for its zones with a clear rule,
// before the message's values are taken: r.bin holds the previous ones. a.mu is
// held.
func (a *Adapter) pulse(ieee string, r *dev, s StateMsg) {
	for _, z := range a.zones[ieee] {
		if z.b.ClearAfter <= 0 {
			continue
		}
		p := z.b.Property
		v, ok := s.Binary[p]
		switch {
		case !ok:
		case !v:
			z.lastActive, z.clearedAt = time.Time{}, time.Time{}
			a.unstick(z, "the detector reports clear")
		case !r.bin[p] || s.Action != "":
			// A new detection: a change to active, or an event.
			z.lastActive, z.clearedAt = a.now(), time.Time{}
			a.unstick(z, "the detector reports a new detection")
		case z.clearedAt.IsZero():
			z.lastActive = a.now() // still active: the rule's time runs from its latest report
		}
	}
}

// checkClear closes every zone whose clear rule ran out, raises the stuck
// fault of those still reporting active long after, and returns when to look
// again (zero: nothing pending). a.mu is held.
func (a *Adapter) checkClear(now time.Time) time.Time {
	var next time.Time
	soonest := func(due time.Time) {
		if next.IsZero() || due.Before(next) {
			next = due
		}
	}
	for _, ieee := range slices.Sorted(maps.Keys(a.zones)) {
		for _, z := range a.zones[ieee] {
			if z.b.ClearAfter <= 0 {
				continue
			}
			if z.open == active && z.clearedAt.IsZero() {
				if z.lastActive.IsZero() {
					z.lastActive = now // open before the rule applied (a rebind): its time starts now
				}
				if due := z.lastActive.Add(z.b.ClearAfter.D()); now.Before(due) {
					soonest(due)
					continue
				}
				z.clearedAt, z.open = now, inactive
				a.log.Info("zigbee: zone taken as closed by its clear rule: no clear from the device", "zone", z.id,
					"ieee", ieee, "property", z.b.Property, "clear_after", z.b.ClearAfter.D().String())
				a.post(hub.Sensor{Zone: z.id, Signal: hub.SigClose})
			}
			if z.clearedAt.IsZero() || z.stuck {
				continue
			}
			after := z.b.StuckAfter.D()
			if after == 0 {
				after = DefaultStuckAfter
			}
			if due := z.clearedAt.Add(after); now.Before(due) {
				soonest(due)
				continue
			}
			z.stuck = true
			a.log.Error("zigbee: "+stuckDetail, "zone", z.id, "ieee", ieee, "property", z.b.Property,
				"closed_by_rule_for", now.Sub(z.clearedAt).Round(time.Second).String())
			a.post(hub.Fault{ID: hub.FaultID{Kind: hub.FaultStuck, Subject: z.id}, Active: true, Detail: stuckDetail})
		}
	}
	return next
}

// ruleChanged follows a change of zone z's binding: without a clear rule now,
// what the rule did is undone (the device's own level counts again). a.mu is
// held.
func (a *Adapter) ruleChanged(z *zone) {
	if z.b.ClearAfter > 0 || (z.clearedAt.IsZero() && z.lastActive.IsZero()) {
		return
	}
	z.lastActive, z.clearedAt = time.Time{}, time.Time{}
	a.unstick(z, "the zone has no clear rule any more")
}
