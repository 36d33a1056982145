package zigbee

import (
	"maps"
	"slices"
	"time"

	"vakt/hub"
)

// Sticky alarms. Zigbee2MQTT repeats a device's whole cached state in every
// message: a smoke detector that never sends its clear leaves smoke:true cached,
// every battery report repeats it, and a new real fire changes nothing. Like a
// panel whose fire loop cannot be reset, Vakt makes that a trouble: a
// life-safety detector still reporting its alarm StuckAfter (default
// DefaultStuckAfter) after the alarm was silenced — the hub's siren stopped, or
// the alarm disarmed, or its zone isolated — is stuck active (FaultStuck, with
// its zone as the subject), restored when the detector reports clear or its zone
// is released. The zone stays open meanwhile: nothing fails open.

// lifeSafetyProps are the properties of detectors that must report a new alarm.
var lifeSafetyProps = []string{"smoke", "gas", "carbon_monoxide", "water_leak"}

// stuckDetail is the fault's detail.
const stuckDetail = "detector stuck active: it cannot report a new alarm until it clears"

// lifeSafety notes that zone z's property p changed. a.mu is held.
func (a *Adapter) lifeSafety(z *zone, p string) {
	if !slices.Contains(lifeSafetyProps, p) {
		return
	}
	if z.open == active {
		z.activeSince = a.now()
		return
	}
	z.activeSince = time.Time{}
	a.unstick(z, "the detector reports clear")
}

// unstick restores z's stuck fault, if raised. a.mu is held.
func (a *Adapter) unstick(z *zone, why string) {
	if !z.stuck {
		return
	}
	z.stuck = false
	a.log.Info("zigbee: detector no longer stuck", "zone", z.id, "why", why)
	a.post(hub.Fault{ID: hub.FaultID{Kind: hub.FaultStuck, Subject: z.id}, Active: false, Detail: why})
}

// watch follows the hub's state: the alarm is silenced once it no longer
// sounds. a.mu is held.
func (a *Adapter) watch(st hub.State) {
	sounding := st.Name == hub.Triggered && len(st.Sounding) > 0
	switch {
	case sounding:
		a.alarm = true
	case a.alarm:
		a.alarm, a.quiet = false, a.now()
	}
}

// checkStuck raises the fault of every life-safety detector active for longer
// than its zone's StuckAfter since the alarm went quiet, and returns when to look
// again (zero: nothing pending). a.mu is held.
func (a *Adapter) checkStuck(now time.Time) time.Time {
	var next time.Time
	if a.alarm {
		return next // the alarm sounds: the detector is the news
	}
	for _, ieee := range slices.Sorted(maps.Keys(a.zones)) {
		for _, z := range a.zones[ieee] {
			if z.stuck || z.open != active || z.activeSince.IsZero() {
				continue
			}
			after := z.b.StuckAfter.D()
			if after == 0 {
				after = DefaultStuckAfter
			}
			due := z.activeSince
			if a.quiet.After(due) {
				due = a.quiet
			}
			due = due.Add(after)
			if now.Before(due) {
				if next.IsZero() || due.Before(next) {
					next = due
				}
				continue
			}
			z.stuck = true
			a.log.Error("zigbee: "+stuckDetail, "zone", z.id, "ieee", ieee,
				"active_for", now.Sub(z.activeSince).Round(time.Second).String())
			a.post(hub.Fault{ID: hub.FaultID{Kind: hub.FaultStuck, Subject: z.id}, Active: true, Detail: stuckDetail})
		}
	}
	return next
}
