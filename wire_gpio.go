package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"

	"vakt/hub"
	"vakt/hub/output"
	"vakt/sensors/binding"
	"vakt/sensors/gpio"
)

// gpioChipsFunc returns the GPIO chips the adapter uses: the machine's (probeGPIO),
// or a fake in tests (options.gpio). An error wrapping gpio.ErrNoChips turns
// GPIO off.
type gpioChipsFunc func() (gpio.Chips, error)

// probeGPIO returns the machine's GPIO character devices.
func probeGPIO() (gpio.Chips, error) {
	if _, err := gpio.Probe(); err != nil {
		return nil, err
	}
	return gpio.Cdev{}, nil
}

// gpioSide is the GPIO adapter as the hub runs it. Without any gpio binding it
// does nothing at all. With bindings on a machine without GPIO chips it is off:
// its zones are offline, its power inputs' line fault raised and its outputs
// unreachable, so that nothing bound to a line is silently ignored.
type gpioSide struct {
	b   gpio.Bindings
	log *slog.Logger
	off error // why GPIO is off; nil when on (or unused)

	outs  *gpio.Outputs
	zones *gpio.Zones
	hub   gpioHub

	stopZones, stopOuts context.CancelFunc
	zonesDone, outsDone sync.WaitGroup
}

// gpioHub lets the zone adapter, built before the hub, post to it once it exists.
type gpioHub struct{ h **hub.Hub }

func (g gpioHub) Post(ctx context.Context, in hub.Input) error { return (*g.h).Post(ctx, in) }

// newGPIOSide probes the chips (when anything is bound) and builds the adapters.
// chips nil means the machine's.
func newGPIOSide(b gpio.Bindings, chips gpioChipsFunc, log *slog.Logger) (*gpioSide, error) {
	g := &gpioSide{b: b, log: log, hub: gpioHub{h: new(*hub.Hub)}}
	if b.Empty() {
		return g, nil
	}
	if chips == nil {
		chips = probeGPIO
	}
	c, err := chips()
	if errors.Is(err, gpio.ErrNoChips) {
		g.off = err
		log.Warn("GPIO off", "err", err, "zones", len(b.Zones), "outputs", len(b.Outputs))
		return g, nil
	}
	if err != nil {
		return nil, fmt.Errorf("gpio: %w", err)
	}
	opt := gpio.Options{Log: log}
	if g.outs, err = gpio.NewOutputs(c, b.Outputs, opt); err != nil {
		return nil, err
	}
	if g.zones, err = gpio.NewZones(c, b.Zones, g.hub, opt); err != nil {
		return nil, err
	}
	return g, nil
}

// addDrivers makes the GPIO adapter the driver of the outputs bound to a line.
func (g *gpioSide) addDrivers(drivers map[string]output.Driver) {
	var d output.Driver = g.outs
	if g.off != nil {
		d = gpioOff{g.off}
	}
	for id := range g.b.Outputs {
		drivers[id] = d
	}
}

// feedback adds the GPIO outputs' read-back to other's feedback.
func (g *gpioSide) feedback(other func(hub.Output) bool) func(hub.Output) bool {
	if g.outs == nil {
		return other
	}
	return func(o hub.Output) bool { return g.outs.HasFeedback(o) || other(o) }
}

// start runs the adapters once the hub and the keeper run; GPIO off, it posts
// the bound zones offline and the power inputs' line faults.
func (g *gpioSide) start(h *hub.Hub, k *output.Keeper) {
	*g.hub.h = h
	if g.off != nil {
		ctx := context.Background()
		for _, id := range slices.Sorted(maps.Keys(g.b.Zones)) {
			var in hub.Input = hub.Sensor{Zone: id, Signal: hub.SigOffline}
			if g.b.Zones[id].Power() {
				in = hub.Fault{ID: hub.FaultID{Kind: hub.FaultPowerInput, Subject: id}, Active: true, Detail: "GPIO off: " + g.off.Error()}
			}
			if err := h.Post(ctx, in); err != nil {
				g.log.Error("gpio: hub refused an input", "id", id, "err", err)
			}
		}
		return
	}
	if g.zones == nil {
		return
	}
	var zctx, octx context.Context
	zctx, g.stopZones = context.WithCancel(context.Background())
	octx, g.stopOuts = context.WithCancel(context.Background())
	g.outsDone.Go(func() { _ = g.outs.Run(octx, k) })
	g.zonesDone.Go(func() { _ = g.zones.Run(zctx) })
}

// stopInputs stops the zone adapter and releases its lines: no more inputs.
func (g *gpioSide) stopInputs() {
	if g.stopZones != nil {
		g.stopZones()
		g.zonesDone.Wait()
	}
}

// stopOutputs releases the output lines; call it after the keeper's Stop drove
// them off. Called again (or without start, when the start failed) it releases
// what is left.
func (g *gpioSide) stopOutputs() {
	if g.outs == nil {
		return
	}
	if g.stopOuts != nil {
		g.stopOuts()
		g.outsDone.Wait()
	}
	if err := g.outs.Close(); err != nil {
		g.log.Error("gpio: release outputs", "err", err)
	}
}

// gpioOff drives the outputs bound to lines while GPIO is off: never reachable,
// every drive an error, so each is a visible output fault.
type gpioOff struct{ why error }

func (o gpioOff) Drive(out hub.Output, _ output.Level) error {
	return fmt.Errorf("gpio: output %s: GPIO off: %w", out.ID, o.why)
}

func (gpioOff) Reachable(hub.Output) bool { return false }

// gpioRemovals tells add, for the import check, the gpio bindings of the zones
// and outputs that new keeps but newSet drops, and the power inputs it drops.
func gpioRemovals(add func(kind string, oldIDs, newIDs []string), new hub.Config, oldSet, newSet binding.Set) {
	bound := func(ids []string, has func(string) bool) []string {
		var out []string
		for _, id := range ids {
			if has(id) {
				out = append(out, id)
			}
		}
		return out
	}
	var zones, outputs []string
	for _, z := range new.Zones {
		zones = append(zones, z.ID)
	}
	for _, o := range new.Outputs {
		outputs = append(outputs, o.ID)
	}
	zoneBound := func(s binding.Set) func(string) bool {
		return func(id string) bool { _, ok := s.GPIO.Zones[id]; return ok }
	}
	outBound := func(s binding.Set) func(string) bool {
		return func(id string) bool { _, ok := s.GPIO.Outputs[id]; return ok }
	}
	add("the gpio binding of zone(s)", bound(zones, zoneBound(oldSet)), bound(zones, zoneBound(newSet)))
	add("the gpio binding of output(s)", bound(outputs, outBound(oldSet)), bound(outputs, outBound(newSet)))
	power := func(s binding.Set) []string {
		var out []string
		for id, b := range s.GPIO.Zones {
			if b.Power() {
				out = append(out, id)
			}
		}
		slices.Sort(out)
		return out
	}
	add("power input(s)", power(oldSet), power(newSet))
}
