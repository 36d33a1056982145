package gpio

import (
	"context"
	"fmt"
	"sync"
	"time"

	"vakt/hub"
	"vakt/hub/output"
)

// Keeper is what Outputs tells about its lines: the levels read back, and that
// a line was requested again (its level must be driven again).
type Keeper interface {
	Feedback(id string, on bool)
	Resend(match func(hub.Output) bool)
}

// Outputs drives GPIO-bound outputs (siren relays, strobes) for an
// output.Keeper. Its lines are requested by NewOutputs, inactive; Run reads them
// back for the keeper and requests again those that failed; Close releases them
// (after the keeper's Stop drove them off).
type Outputs struct {
	chips Chips
	opt   Options

	mu   sync.Mutex
	outs map[string]*oline
}

type oline struct {
	id       string
	pin      Pin
	h        Line
	down     string
	pulsing  int // pulses under way: no read-back meanwhile
	pulseGen int
}

var _ output.Driver = (*Outputs)(nil)

// NewOutputs validates bindings (output id to its line) and requests the lines,
// inactive. A line that cannot be requested is logged and left to Run to try
// again; meanwhile Drive fails and Reachable says no, and the keeper raises the
// output's fault.
func NewOutputs(chips Chips, bindings map[string]OutputBinding, opt Options) (*Outputs, error) {
	if _, err := inputs(nil, bindings); err != nil {
		return nil, err
	}
	o := &Outputs{chips: chips, opt: opt.defaults(), outs: map[string]*oline{}}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, id := range sortedKeys(bindings) {
		ol := &oline{id: id, pin: bindings[id].Pin}
		o.outs[id] = ol
		o.request(ol)
	}
	return o, nil
}

// request takes ol's line, inactive. o.mu is held.
func (o *Outputs) request(ol *oline) bool {
	h, err := o.chips.Request(Request{Chip: ol.pin.chip(), Line: ol.pin.Line, Consumer: o.opt.Consumer,
		ActiveLow: ol.pin.ActiveLow, Output: true})
	if err != nil {
		o.setDown(ol, fmt.Sprintf("cannot request line %s: %v", ol.pin, err))
		return false
	}
	ol.h = h
	o.setDown(ol, "")
	return true
}

func (o *Outputs) setDown(ol *oline, why string) {
	if ol.down == why {
		return
	}
	ol.down = why
	if why != "" {
		o.opt.Log.Error("gpio: output line down", "output", ol.id, "line", ol.pin.String(), "err", why)
		return
	}
	o.opt.Log.Info("gpio: output line requested", "output", ol.id, "line", ol.pin.String())
}

// Drive sets out's line to its active level for On and Pulse (a pulse ends by
// itself after Options.Pulse), inactive for Off. An output without a GPIO
// binding is not this driver's: nothing is done. It does not block.
func (o *Outputs) Drive(out hub.Output, l output.Level) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	ol, ok := o.outs[out.ID]
	if !ok {
		return nil
	}
	if ol.h == nil {
		return fmt.Errorf("gpio: output %s: line %s is not requested: %s", out.ID, ol.pin, ol.down)
	}
	if err := ol.h.Set(l != output.Off); err != nil {
		return fmt.Errorf("gpio: output %s: %w", out.ID, err)
	}
	ol.pulseGen++
	if l == output.Pulse {
		gen, h := ol.pulseGen, ol.h
		ol.pulsing++
		time.AfterFunc(o.opt.Pulse, func() {
			o.mu.Lock()
			defer o.mu.Unlock()
			ol.pulsing--
			if ol.pulseGen != gen || ol.h != h {
				return // driven since: that level stands
			}
			if err := h.Set(false); err != nil {
				o.opt.Log.Error("gpio: output pulse not ended", "output", ol.id, "err", err)
			}
		})
	}
	return nil
}

// Reachable reports whether out's line is requested (true for outputs that are
// not bound to GPIO).
func (o *Outputs) Reachable(out hub.Output) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	ol, ok := o.outs[out.ID]
	return !ok || ol.h != nil
}

// HasFeedback reports whether out is bound to a line, whose read-back is its
// feedback (output.Options.Feedback).
func (o *Outputs) HasFeedback(out hub.Output) bool {
	_, ok := o.outs[out.ID] // fixed after NewOutputs
	return ok
}

// Run reads every line back every Poll, telling k (well within the keeper's
// confirmation time; no read-back competes with the alarm path), and
// requests again lines that failed (k then drives them again), until ctx is
// cancelled. It leaves the lines requested: see Close.
func (o *Outputs) Run(ctx context.Context, k Keeper) error {
	for {
		type fb struct {
			id string
			on bool
		}
		var back []fb
		var again []string
		o.mu.Lock()
		for _, id := range sortedKeys(o.outs) {
			ol := o.outs[id]
			if ol.h == nil {
				if o.request(ol) {
					again = append(again, id)
				}
				continue
			}
			if ol.pulsing > 0 {
				continue
			}
			v, err := ol.h.Value()
			if err != nil {
				o.setDown(ol, fmt.Sprintf("cannot read line %s back: %v", ol.pin, err))
				if cerr := ol.h.Close(); cerr != nil {
					o.opt.Log.Warn("gpio: release", "output", id, "err", cerr)
				}
				ol.h = nil
				continue
			}
			back = append(back, fb{id, v})
		}
		o.mu.Unlock()
		// The keeper calls Drive with its lock held: tell it nothing under o.mu.
		if len(again) > 0 {
			k.Resend(func(out hub.Output) bool {
				for _, id := range again {
					if out.ID == id {
						return true
					}
				}
				return false
			})
		}
		for _, f := range back {
			k.Feedback(f.id, f.on)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-o.opt.After(o.opt.Poll):
		}
	}
}

// Close releases every line (an output line keeps its last level or returns to
// the chip's default, depending on the chip: drive them off first).
func (o *Outputs) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	var first error
	for _, id := range sortedKeys(o.outs) {
		ol := o.outs[id]
		if ol.h == nil {
			continue
		}
		if err := ol.h.Close(); err != nil && first == nil {
			first = fmt.Errorf("gpio: output %s: %w", id, err)
		}
		ol.h = nil
		ol.down = "released"
	}
	return first
}
