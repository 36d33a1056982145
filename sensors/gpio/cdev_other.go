//go:build !linux

package gpio

import "fmt"

// Cdev is the Linux GPIO character device; other systems have none.
type Cdev struct{}

// Probe reports that this system has no GPIO chips.
func Probe() ([]string, error) {
	return nil, fmt.Errorf("gpio: not Linux: %w", ErrNoChips)
}

// Request fails: there are no chips.
func (Cdev) Request(r Request) (Line, error) {
	return nil, fmt.Errorf("gpio: open %s: %w", r.Chip, ErrNoChips)
}
