//go:build linux

package gpio

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/warthog618/go-gpiocdev"
)

// Cdev is the Linux GPIO character device (uAPI v2), through go-gpiocdev.
type Cdev struct{}

// Probe returns the GPIO chips of this machine, or an error wrapping ErrNoChips
// when there is none (a laptop, CI): the hub then starts with GPIO off.
func Probe() ([]string, error) {
	chips := gpiocdev.Chips()
	if len(chips) == 0 {
		return nil, fmt.Errorf("gpio: /dev/gpiochip*: %w", ErrNoChips)
	}
	return chips, nil
}

// Request takes one line: an input with edge events both ways, bias and kernel
// debounce, or an output at its initial level.
func (Cdev) Request(r Request) (Line, error) {
	where := r.Chip + ":" + string(r.Line)
	c, err := gpiocdev.NewChip(r.Chip, gpiocdev.WithConsumer(r.Consumer))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, gpiocdev.ErrNotCharacterDevice) {
			err = fmt.Errorf("%w: %w", ErrNoChip, err)
		}
		return nil, fmt.Errorf("gpio: open %s: %w", r.Chip, err)
	}
	defer c.Close() // the requested line outlives the chip's handle
	offset, ok := r.Line.Offset()
	if !ok {
		offset, err = c.FindLine(string(r.Line))
		if err != nil {
			return nil, fmt.Errorf("gpio: %s: find line by name: %w: %w", where, ErrNoLine, err)
		}
	}
	if offset >= c.Lines() {
		return nil, fmt.Errorf("gpio: %s: %w: the chip has %d lines", where, ErrNoLine, c.Lines())
	}
	var opts []gpiocdev.LineReqOption
	if r.ActiveLow {
		opts = append(opts, gpiocdev.AsActiveLow)
	}
	if r.Output {
		opts = append(opts, gpiocdev.AsOutput(boolInt(r.Initial)))
	} else {
		opts = append(opts, gpiocdev.AsInput, gpiocdev.WithBothEdges, gpiocdev.WithDebounce(r.Debounce))
		switch r.Bias {
		case BiasPullUp:
			opts = append(opts, gpiocdev.WithPullUp)
		case BiasPullDown:
			opts = append(opts, gpiocdev.WithPullDown)
		case BiasNone:
			opts = append(opts, gpiocdev.WithBiasDisabled)
		}
		if r.OnEdge != nil {
			h := r.OnEdge
			opts = append(opts, gpiocdev.WithEventHandler(func(e gpiocdev.LineEvent) {
				h(e.Type == gpiocdev.LineEventRisingEdge)
			}))
		}
	}
	l, err := c.RequestLine(offset, opts...)
	if err != nil {
		if errors.Is(err, syscall.EBUSY) {
			err = fmt.Errorf("%w: %w", ErrBusy, err)
		}
		return nil, fmt.Errorf("gpio: request %s: %w", where, err)
	}
	return cdevLine{l: l, where: where}, nil
}

type cdevLine struct {
	l     *gpiocdev.Line
	where string
}

func (c cdevLine) Value() (bool, error) {
	v, err := c.l.Value()
	if err != nil {
		return false, fmt.Errorf("gpio: read %s: %w", c.where, err)
	}
	return v != 0, nil
}

func (c cdevLine) Set(active bool) error {
	if err := c.l.SetValue(boolInt(active)); err != nil {
		return fmt.Errorf("gpio: write %s: %w", c.where, err)
	}
	return nil
}

func (c cdevLine) Close() error {
	if err := c.l.Close(); err != nil {
		return fmt.Errorf("gpio: release %s: %w", c.where, err)
	}
	return nil
}
