package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"vakt/hub"
	"vakt/sensors/binding"
	"vakt/sensors/zigbee"
	"vakt/ui/web"
)

// liveBindings are the adapters' bindings in force while the hub runs. Zigbee
// devices are adopted and released while it runs (the API, the CLI, a
// configuration import); the other adapters' bindings change only with the hub
// stopped.
type liveBindings struct {
	mu  sync.Mutex // one change at a time
	cur atomic.Pointer[binding.Set]
}

func newLiveBindings(s binding.Set) *liveBindings {
	l := &liveBindings{}
	l.cur.Store(&s)
	return l
}

// get returns the bindings in force; never modify them (Clone first).
func (l *liveBindings) get() binding.Set { return *l.cur.Load() }

// changeZigbee puts new Zigbee bindings in force, with cfgChange (nil: none) as
// one change of the hub's configuration: edit changes a copy of the bindings in
// force; the hub's actor checks the result against the configuration as it will
// be, and stores both with a config_changed event in one commit; then the adapter
// and the outputs keeper take the new bindings. An error changes nothing.
func (z *zigbeeSide) changeZigbee(ctx context.Context, h *hub.Hub, lb *liveBindings, who hub.Actor,
	cfgChange func(*hub.Config) error, edit func(*binding.Set) error) (hub.Config, []string, error) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	old := lb.get()
	next, err := old.Clone()
	if err != nil {
		return hub.Config{}, nil, err
	}
	if err := edit(&next); err != nil {
		return hub.Config{}, nil, err
	}
	var lines []string
	after, err := h.ChangeConfigAndBindings(ctx, who, cfgChange, func(c hub.Config) (hub.BindingsChange, error) {
		if err := next.Validate(c); err != nil {
			return hub.BindingsChange{}, err
		}
		raw, err := next.Marshal()
		if err != nil {
			return hub.BindingsChange{}, err
		}
		lines = zigbee.DescribeChange(old.Zigbee, next.Zigbee)
		lb.cur.Store(&next)
		return hub.BindingsChange{Lines: lines, Stored: raw}, nil
	})
	if err != nil {
		return hub.Config{}, nil, err
	}
	if len(lines) > 0 {
		if err := z.rebind(ctx, old.Zigbee, next.Zigbee, after.Outputs); err != nil {
			return after, lines, fmt.Errorf("zigbee: the new bindings are stored but not yet in force: %w", err)
		}
	}
	return after, lines, nil
}

// rebind hands the adapter and the keeper the new bindings: an output that
// leaves its siren is taken from it first (the siren is told off), one that gets
// a siren is driven once the adapter knows it.
func (z *zigbeeSide) rebind(ctx context.Context, before, after zigbee.Bindings, outputs []hub.Output) error {
	changed := func(id string, from, to map[string]zigbee.OutputBinding) bool {
		a, had := from[id]
		b, has := to[id]
		return had && (!has || a.IEEE != b.IEEE || a.Mode != b.Mode || a.Level != b.Level || a.Duration != b.Duration ||
			a.Squawk != b.Squawk || (a.Strobe == nil) != (b.Strobe == nil) || a.Strobe != nil && *a.Strobe != *b.Strobe)
	}
	for _, id := range slices.Sorted(maps.Keys(before.Outputs)) {
		if changed(id, before.Outputs, after.Outputs) && z.keeper != nil {
			z.keeper.SetDriver(id, nil, false)
		}
	}
	if err := z.a.Rebind(ctx, after); err != nil {
		return err
	}
	for _, o := range outputs {
		if _, has := after.Outputs[o.ID]; has && z.keeper != nil {
			if _, had := before.Outputs[o.ID]; !had || changed(o.ID, before.Outputs, after.Outputs) {
				z.keeper.SetDriver(o.ID, z.a, z.a.HasFeedback(o))
			}
		}
	}
	return nil
}

// zigbeeDevices adopts and releases Zigbee devices for the web API.
type zigbeeDevices struct {
	z  *zigbeeSide
	h  *hub.Hub
	lb *liveBindings
}

func (d zigbeeDevices) Adopt(ctx context.Context, ieee string, r web.AdoptRequest, who hub.Actor) (string, error) {
	return d.z.adopt(ctx, d.h, d.lb, ieee, r, who)
}

func (d zigbeeDevices) Release(ctx context.Context, ieee string, who hub.Actor) (string, error) {
	return d.z.release(ctx, d.h, d.lb, ieee, who)
}

// adopt binds Zigbee device ieee as the request says, while the hub runs: the
// device must be in Zigbee2MQTT's bridge/devices and be what it is adopted as,
// the zone or output must exist and be bound to no other device.
func (z *zigbeeSide) adopt(ctx context.Context, h *hub.Hub, lb *liveBindings, ieee string, r web.AdoptRequest, who hub.Actor) (string, error) {
	invalid := func(format string, args ...any) error {
		return &hub.Error{Kind: hub.ErrInvalid, Msg: fmt.Sprintf(format, args...) + " (nothing was changed)"}
	}
	taken := func(format string, args ...any) error {
		return &hub.Error{Kind: hub.ErrNotAllowed, Msg: fmt.Sprintf(format, args...) + " (nothing was changed)"}
	}
	ieee = strings.ToLower(strings.TrimSpace(ieee))
	n := 0
	for _, s := range []string{r.Zone, r.Output, r.Keypad} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return "", invalid("say what the device becomes: one of zone, output or keypad")
	}
	var dev *zigbee.Device
	for _, d := range z.a.Devices() {
		if d.IEEE == ieee {
			dev = &d
		}
	}
	if dev == nil {
		return "", invalid("device %s is not in Zigbee2MQTT's bridge/devices (is it paired, and Zigbee2MQTT connected?)", ieee)
	}
	if r.Zone == "" && (r.Property != "" || r.CheckIn != 0 || r.ClearAfter != 0) || r.Output == "" && (r.Mode != "" || r.Squawk) {
		return "", invalid("property, checkin and clear_after go with a zone, mode and squawk with an output")
	}
	if r.Squawk && !dev.Squawk {
		return "", invalid("%s (%s) has no squawk", dev.FriendlyName, ieee)
	}
	cfg := h.Snapshot().Config
	var what string
	_, _, err := z.changeZigbee(ctx, h, lb, who, nil, func(s *binding.Set) error {
		switch {
		case r.Zone != "":
			if !hasZone(cfg, r.Zone) {
				return invalid("zone %q is not configured", r.Zone)
			}
			if err := dev.CheckAdopt("zone", r.Property); err != nil {
				return invalid("%s", err)
			}
			if b, ok := s.Zigbee.Zones[r.Zone]; ok && b.IEEE != ieee {
				return taken("zone %s is bound to device %s already: release that one first", r.Zone, b.IEEE)
			}
			if s.ZoneBound(r.Zone) && !hasKey(s.Zigbee.Zones, r.Zone) {
				return taken("zone %s is bound to another kind of device (MQTT or GPIO) already", r.Zone)
			}
			b := zigbee.ZoneBinding{IEEE: ieee, Property: r.Property, CheckIn: r.CheckIn, ClearAfter: r.ClearAfter}
			if err := b.Validate(); err != nil {
				return invalid("%s", err)
			}
			s.Zigbee.Zones = putBinding(s.Zigbee.Zones, r.Zone, b)
			what = "zone " + r.Zone
		case r.Output != "":
			if !hasOutput(cfg, r.Output) {
				return invalid("output %q is not configured", r.Output)
			}
			if err := dev.CheckAdopt("output", ""); err != nil {
				return invalid("%s", err)
			}
			if b, ok := s.Zigbee.Outputs[r.Output]; ok && b.IEEE != ieee {
				return taken("output %s is bound to device %s already: release that one first", r.Output, b.IEEE)
			}
			if s.OutputBound(r.Output) && !hasKey(s.Zigbee.Outputs, r.Output) {
				return taken("output %s is bound to another kind of device (MQTT or GPIO) already", r.Output)
			}
			b := zigbee.OutputBinding{IEEE: ieee, Mode: r.Mode, Squawk: r.Squawk}
			if err := b.Validate(); err != nil {
				return invalid("%s", err)
			}
			s.Zigbee.Outputs = putBinding(s.Zigbee.Outputs, r.Output, b)
			what = "output " + r.Output
		default:
			if err := dev.CheckAdopt("keypad", ""); err != nil {
				return invalid("%s", err)
			}
			if b, ok := s.Zigbee.Keypads[r.Keypad]; ok && strings.ToLower(b.IEEE) != ieee {
				return taken("keypad %s is device %s already: release that one first", r.Keypad, b.IEEE)
			}
			for id, b := range s.Zigbee.Keypads {
				if strings.ToLower(b.IEEE) == ieee && id != r.Keypad {
					return taken("device %s is keypad %s already", ieee, id)
				}
			}
			s.Zigbee.Keypads = putBinding(s.Zigbee.Keypads, r.Keypad, zigbee.KeypadBinding{IEEE: ieee})
			what = "keypad " + r.Keypad
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("adopted %s (%s) as %s", ieee, dev.FriendlyName, what), nil
}

// release unbinds every zone, output and keypad device ieee is bound to, while
// the hub runs.
func (z *zigbeeSide) release(ctx context.Context, h *hub.Hub, lb *liveBindings, ieee string, who hub.Actor) (string, error) {
	ieee = strings.ToLower(strings.TrimSpace(ieee))
	var gone []string
	_, _, err := z.changeZigbee(ctx, h, lb, who, nil, func(s *binding.Set) error {
		gone = append(gone, dropBound(s.Zigbee.Zones, "zone", ieee, func(b zigbee.ZoneBinding) string { return b.IEEE })...)
		gone = append(gone, dropBound(s.Zigbee.Outputs, "output", ieee, func(b zigbee.OutputBinding) string { return b.IEEE })...)
		gone = append(gone, dropBound(s.Zigbee.Keypads, "keypad", ieee, func(b zigbee.KeypadBinding) string { return b.IEEE })...)
		if len(gone) == 0 {
			return &hub.Error{Kind: hub.ErrInvalid, Msg: fmt.Sprintf("device %s is bound to nothing (nothing was changed)", ieee)}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("released %s from %s", ieee, strings.Join(gone, ", ")), nil
}

// dropBound deletes the bindings of m to device ieee and names them.
func dropBound[B any](m map[string]B, kind, ieee string, addr func(B) string) []string {
	var gone []string
	for _, id := range slices.Sorted(maps.Keys(m)) {
		if strings.ToLower(addr(m[id])) == ieee {
			delete(m, id)
			gone = append(gone, kind+" "+id)
		}
	}
	return gone
}

func putBinding[B any](m map[string]B, id string, b B) map[string]B {
	if m == nil {
		m = map[string]B{}
	}
	m[id] = b
	return m
}

func hasKey[B any](m map[string]B, id string) bool { _, ok := m[id]; return ok }

// zoneBindings gives each bound zone's binding, and for a Zigbee zone what the
// adapter knows of its device (GET /api/v1/zones).
func (z *zigbeeSide) zoneBindings(lb *liveBindings) map[string]web.ZoneBinding {
	s := lb.get()
	out := map[string]web.ZoneBinding{}
	for id, b := range s.MQTT.Zones {
		out[id] = web.ZoneBinding{Adapter: "mqtt", Binding: b}
	}
	for id, b := range s.GPIO.Zones {
		out[id] = web.ZoneBinding{Adapter: "gpio", Binding: b}
	}
	devs := z.a.ZoneDevices()
	for id, b := range s.Zigbee.Zones {
		zb := web.ZoneBinding{Adapter: "zigbee", Binding: b}
		if d, ok := devs[id]; ok {
			zb.Device = d
		}
		out[id] = zb
	}
	return out
}
