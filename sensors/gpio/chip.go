package gpio

import (
	"errors"
	"time"
)

// Chips is the GPIO character device as the adapters use it: one line per
// request. The go-gpiocdev implementation is Cdev; Fake is an in-memory one for
// tests.
type Chips interface {
	// Request takes a line for this process. It fails when the chip or the line
	// does not exist, or another consumer holds the line (ErrBusy).
	Request(r Request) (Line, error)
}

// Request says how a line is taken. Levels are logical: true is active, and
// ActiveLow makes a low level the active one.
type Request struct {
	Chip      string
	Line      LineID
	Consumer  string // shown by gpioinfo
	ActiveLow bool
	// Output lines start at Initial; input lines get Bias, Debounce and OnEdge.
	Output   bool
	Initial  bool
	Bias     Bias
	Debounce time.Duration
	// OnEdge is told each debounced change of an input line, with its new level,
	// in order, on a goroutine of the chip's. It must hand off and return: events
	// queue in the kernel meanwhile.
	OnEdge func(active bool)
}

// Line is a requested line.
type Line interface {
	// Value reads the line's level (an input's debounced level; an output's
	// level as the chip reads it back).
	Value() (bool, error)
	// Set drives an output line.
	Set(active bool) error
	// Close releases the line; OnEdge is not called after it returns.
	Close() error
}

// Errors the chips return, wrapped with the chip and line.
var (
	// ErrNoChips: the machine has no GPIO character device (a laptop, CI).
	ErrNoChips = errors.New("no GPIO chips")
	// ErrBusy: another consumer holds the line.
	ErrBusy = errors.New("line busy")
	// ErrNoLine: the chip has no such line (offset out of range, unknown name).
	ErrNoLine = errors.New("no such line")
	// ErrNoChip: there is no chip of that name.
	ErrNoChip = errors.New("no such chip")
)

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
