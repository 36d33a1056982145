package zigbee

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"vakt/hub"
)

// checked are bindings as the adapter keeps them: addresses in lower case,
// defaults filled in, keypads by IEEE address.
type checked struct {
	zones   map[string]ZoneBinding
	outs    map[string]OutputBinding
	keypads map[string]string // ieee -> keypad id
}

// checkBindings checks every binding of bs; an error names the first that does
// not check out.
func checkBindings(bs Bindings) (checked, error) {
	c := checked{zones: map[string]ZoneBinding{}, outs: map[string]OutputBinding{}, keypads: map[string]string{}}
	for _, id := range slices.Sorted(maps.Keys(bs.Zones)) {
		b, err := bs.Zones[id].check()
		if err != nil {
			return c, fmt.Errorf("zigbee: zone %s: %w", id, err)
		}
		c.zones[id] = b
	}
	for _, id := range slices.Sorted(maps.Keys(bs.Outputs)) {
		b, err := bs.Outputs[id].check()
		if err != nil {
			return c, fmt.Errorf("zigbee: output %s: %w", id, err)
		}
		c.outs[id] = b
	}
	for _, id := range slices.Sorted(maps.Keys(bs.Keypads)) {
		ieee, err := normIEEE(bs.Keypads[id].IEEE)
		if err != nil {
			return c, fmt.Errorf("zigbee: keypad %s: %w", id, err)
		}
		if other, dup := c.keypads[ieee]; dup {
			return c, fmt.Errorf("zigbee: keypad %s: %s is keypad %s already", id, ieee, other)
		}
		c.keypads[ieee] = id
	}
	return c, nil
}

// rebindReq asks Run to put bindings in force.
type rebindReq struct {
	c    checked
	done chan struct{}
}

// outputs returns the outputs bound to sirens, by output id. Never modify it.
func (a *Adapter) outputs() map[string]OutputBinding { return *a.outs.Load() }

// Rebind puts bs in force in place of the bindings in force (a device adopted or
// released while the hub runs). Run applies them on its own goroutine, between
// two messages; Rebind returns once they are in force, or with ctx's error (they
// may still be applied then). A bound zone takes its device's current state
// from what the adapter last heard of it, as a re-synchronisation: a door that
// is open is open, a smoke detector that reports smoke is an alarm. A zone no
// longer bound (or bound to another device) is released: the open, tamper, low
// battery and offline it had are restored. Outputs are not driven here: the
// output keeper drives a newly bound siren (its SetDriver) once Rebind returns.
// Keypads need the Panel (Options).
func (a *Adapter) Rebind(ctx context.Context, bs Bindings) error {
	c, err := checkBindings(bs)
	if err != nil {
		return err
	}
	if len(c.keypads) > 0 && a.kp == nil {
		return fmt.Errorf("zigbee: keypads need the hub's panel")
	}
	r := rebindReq{c: c, done: make(chan struct{})}
	select {
	case a.rebind <- r:
	case <-ctx.Done():
		return fmt.Errorf("zigbee: rebind: %w", ctx.Err())
	}
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("zigbee: rebind: %w", ctx.Err())
	}
}

// apply puts c in force (Run's goroutine).
func (a *Adapter) apply(c checked) {
	a.mu.Lock()
	now := a.now()
	was := map[string]*zone{}
	for _, zs := range a.zones {
		for _, z := range zs {
			was[z.id] = z
		}
	}
	next := map[string][]*zone{}
	var fresh []string // devices with a newly bound zone
	for _, id := range slices.Sorted(maps.Keys(c.zones)) {
		b := c.zones[id]
		if z := was[id]; z != nil && z.b.IEEE == b.IEEE {
			// The same device: the levels posted stay; a new property or
			// check-in interval applies from now on.
			delete(was, id)
			next[b.IEEE] = append(next[b.IEEE], z)
			if z.b != b {
				z.b = b
				a.ruleChanged(z)
				fresh = append(fresh, b.IEEE)
			}
			continue
		}
		next[b.IEEE] = append(next[b.IEEE], &zone{id: id, b: b})
		if r := a.device(b.IEEE); !r.heard {
			r.seen = now // its check-in interval starts now
		}
		fresh = append(fresh, b.IEEE)
	}
	for _, id := range slices.Sorted(maps.Keys(was)) {
		a.release(was[id])
	}
	a.zones = next
	for _, ieee := range slices.Compact(slices.Sorted(slices.Values(fresh))) {
		a.evaluate(ieee)
	}
	for _, b := range c.outs {
		if r := a.device(b.IEEE); !r.heard && !a.sirenOf(b.IEEE) {
			r.seen = now // a newly bound siren: its check-in interval starts now
		}
	}
	a.outs.Store(&c.outs)
	for ieee, id := range c.keypads {
		if a.keypads[ieee] != id && a.kp != nil {
			delete(a.kp.mode, ieee) // a new keypad hears the panel's state
		}
		if r := a.device(ieee); a.keypads[ieee] == "" && !r.heard {
			r.seen = now // a newly bound keypad: its check-in interval starts now
		}
	}
	for ieee, id := range a.keypads {
		if c.keypads[ieee] != id {
			a.post(keypadLost(id, false, "the keypad is no longer bound"))
		}
	}
	a.keypads = c.keypads
	a.kpResendNew()
	a.log.Info("zigbee: bindings in force", "zones", len(c.zones), "outputs", len(c.outs), "keypads", len(c.keypads))
	a.mu.Unlock()
	a.flush()
}

// release restores what zone z had raised: it is no longer bound to its
// device. a.mu is held.
func (a *Adapter) release(z *zone) {
	a.log.Info("zigbee: zone released from its device", "zone", z.id, "ieee", z.b.IEEE)
	a.unstick(z, "the zone is no longer bound to the detector")
	for _, l := range []struct {
		v       tri
		restore hub.Signal
	}{{z.open, hub.SigClose}, {z.tamper, hub.SigTamperRestore}, {z.low, hub.SigBatteryOK}, {z.offline, hub.SigOnline}} {
		if l.v == active {
			a.post(hub.Sensor{Zone: z.id, Signal: l.restore})
		}
	}
}
