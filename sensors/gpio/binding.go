package gpio

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"vakt/hub"
)

// Meaning says what a zone binding's line reports.
type Meaning string

// Line meanings.
const (
	// Contact: the zone's detector loop (a door contact, a PIR's alarm relay).
	// Active is open (SigOpen), inactive is closed (SigClose).
	Contact Meaning = "contact"
	// Tamper: the tamper loop of the zone's detector. Active is SigTamper,
	// inactive SigTamperRestore.
	Tamper Meaning = "tamper"
	// Keyswitch: a maintained keyswitch on a zone of type keyswitch. Turned on
	// (active) it opens the zone, which arms away; turned off it closes the zone,
	// which disarms (the core does both as the keyswitch actor).
	Keyswitch Meaning = "keyswitch"
	// MainsFail: a power supply's mains-fail output. Active raises the system
	// fault "mains:<id>" (hub.FaultMains), inactive restores it.
	MainsFail Meaning = "mains_fail"
	// LowBattery: a power supply's low-battery output. Active raises the system
	// fault "battery:<id>" (hub.FaultBattery), inactive restores it.
	LowBattery Meaning = "low_battery"
)

// Meanings lists every meaning.
var Meanings = []Meaning{Contact, Tamper, Keyswitch, MainsFail, LowBattery}

// zone reports whether lines of meaning m belong to a hub zone (as opposed to a
// system trouble input).
func (m Meaning) zone() bool { return m == Contact || m == Tamper || m == Keyswitch }

// Bias is a line's internal pull resistor.
type Bias string

// Biases. Empty leaves the line's bias as it is.
const (
	BiasAsIs     Bias = ""
	BiasPullUp   Bias = "pull-up"
	BiasPullDown Bias = "pull-down"
	BiasNone     Bias = "none"
)

// Debounce limits and default.
const (
	// DefaultDebounce filters the bounce of reed contacts and relays.
	DefaultDebounce = 30 * time.Millisecond
	// MaxDebounce bounds the debounce of alarm lines (contact, tamper, keyswitch):
	// EN 50131 requires intrusion and tamper signals lasting 400 ms to be
	// detected, and the kernel reports a level only once it has been stable for
	// the whole debounce period.
	MaxDebounce = 400 * time.Millisecond
	// MaxTroubleDebounce bounds the debounce of mains-fail and low-battery lines:
	// fault signals lasting 10 s must be detected.
	MaxTroubleDebounce = 10 * time.Second
)

// DefaultChip is the chip of a binding that names none: the Raspberry Pi's
// header on current kernels.
const DefaultChip = "gpiochip0"

// LineID names a line on its chip: an offset ("17", or the number 17 in YAML
// and JSON) or a line name ("GPIO17").
type LineID string

// Offset returns the line's offset when the id is a number.
func (l LineID) Offset() (int, bool) {
	n, err := strconv.Atoi(string(l))
	if err != nil || n < 0 || strings.TrimSpace(string(l)) != string(l) || strings.HasPrefix(string(l), "+") {
		return 0, false
	}
	return n, true
}

// UnmarshalJSON accepts a number (an offset) or a string (an offset or a name).
func (l *LineID) UnmarshalJSON(b []byte) error {
	var n json.Number
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return fmt.Errorf("gpio: line %s: %w", b, err)
	}
	switch v := v.(type) {
	case json.Number:
		n = v
		if _, err := strconv.Atoi(n.String()); err != nil {
			return fmt.Errorf("gpio: line %s: not a line offset", b)
		}
		*l = LineID(n.String())
	case string:
		*l = LineID(v)
	default:
		return fmt.Errorf("gpio: line %s: want an offset or a line name", b)
	}
	return nil
}

// Pin is a line on a chip and how it is wired.
type Pin struct {
	// Chip is the GPIO chip's name or path (default gpiochip0).
	Chip string `json:"chip,omitempty" yaml:"chip,omitempty"`
	// Line is the line's offset on the chip (the BCM number on a Pi's header)
	// or its name.
	Line LineID `json:"line" yaml:"line"`
	// ActiveLow: the line is active (open, on) when its level is low.
	ActiveLow bool `json:"active_low,omitempty" yaml:"active_low,omitempty"`
}

func (p Pin) chip() string {
	if p.Chip == "" {
		return DefaultChip
	}
	return p.Chip
}

func (p Pin) String() string { return p.chip() + ":" + string(p.Line) }

// ZoneBinding binds a zone (or a system trouble input) to an input line.
type ZoneBinding struct {
	Pin `yaml:",inline"`
	// Bias: pull-up, pull-down, none, or empty to leave the line as it is.
	Bias Bias `json:"bias,omitempty" yaml:"bias,omitempty"`
	// Debounce is the kernel's debounce period (default 30ms): a level counts
	// once it has been stable this long. Below 400ms for contact, tamper and
	// keyswitch lines, below 10s for mains-fail and low-battery lines.
	Debounce hub.Duration `json:"debounce,omitempty" yaml:"debounce,omitempty"`
	// Means is what the line reports (default contact).
	Means Meaning `json:"means,omitempty" yaml:"means,omitempty"`
	// Tamper, optional, is a second line: the tamper loop of the same zone's
	// detector (for a contact or keyswitch binding).
	Tamper *TamperPin `json:"tamper,omitempty" yaml:"tamper,omitempty"`
}

// TamperPin is a zone's tamper loop on a line of its own.
type TamperPin struct {
	Pin      `yaml:",inline"`
	Bias     Bias         `json:"bias,omitempty" yaml:"bias,omitempty"`
	Debounce hub.Duration `json:"debounce,omitempty" yaml:"debounce,omitempty"`
}

// OutputBinding binds an output (siren, strobe, relay) to an output line.
type OutputBinding struct {
	Pin `yaml:",inline"`
}

// input is one requested input line: whose it is, what it means, how it is wired.
type input struct {
	id       string // zone id, or the trouble's subject
	means    Meaning
	pin      Pin
	bias     Bias
	debounce time.Duration
}

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid binding")

func invalid(format string, args ...any) error {
	return fmt.Errorf("gpio: %w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Validate checks zone and output bindings together: each must name a line, a
// known meaning and bias, a debounce within its limit, and no line may be bound
// twice (two offsets or two names that are the same line are caught when the
// lines are requested: the second is busy).
func Validate(zones map[string]ZoneBinding, outputs map[string]OutputBinding) error {
	_, err := inputs(zones, outputs)
	return err
}

// inputs validates the bindings and flattens the zone bindings into lines, in a
// stable order (by id, the tamper line after its zone's line).
func inputs(zones map[string]ZoneBinding, outputs map[string]OutputBinding) ([]input, error) {
	used := map[string]string{} // chip:line -> who
	claim := func(p Pin, who string) error {
		if p.Line == "" {
			return invalid("%s: no line (an offset such as 17, or a line name)", who)
		}
		if strings.ContainsAny(string(p.Line), " \t\n/") {
			return invalid("%s: line %q is neither an offset nor a line name", who, p.Line)
		}
		if n, err := strconv.Atoi(string(p.Line)); err == nil && n < 0 {
			return invalid("%s: line %d is negative", who, n)
		}
		k := p.String()
		if other, ok := used[k]; ok {
			return invalid("line %s is bound twice: %s and %s", k, other, who)
		}
		used[k] = who
		return nil
	}
	var ins []input
	for _, id := range sortedKeys(zones) {
		b := zones[id]
		who := "zone " + id
		if id == "" {
			return nil, invalid("a zone binding has no id")
		}
		means := b.Means
		if means == "" {
			means = Contact
		}
		known := false
		for _, m := range Meanings {
			known = known || m == means
		}
		if !known {
			return nil, invalid("%s: unknown meaning %q (want one of contact, tamper, keyswitch, mains_fail, low_battery)", who, b.Means)
		}
		if !means.zone() {
			who = string(means) + " " + id
		}
		in, err := line(who, id, means, b.Pin, b.Bias, b.Debounce)
		if err != nil {
			return nil, err
		}
		if err := claim(b.Pin, who); err != nil {
			return nil, err
		}
		ins = append(ins, in)
		if b.Tamper != nil {
			if means != Contact && means != Keyswitch {
				return nil, invalid("%s: a tamper line goes with a contact or keyswitch line, not %s", who, means)
			}
			tw := who + " tamper"
			tin, err := line(tw, id, Tamper, b.Tamper.Pin, b.Tamper.Bias, b.Tamper.Debounce)
			if err != nil {
				return nil, err
			}
			if err := claim(b.Tamper.Pin, tw); err != nil {
				return nil, err
			}
			ins = append(ins, tin)
		}
	}
	for _, id := range sortedKeys(outputs) {
		if id == "" {
			return nil, invalid("an output binding has no id")
		}
		if err := claim(outputs[id].Pin, "output "+id); err != nil {
			return nil, err
		}
	}
	return ins, nil
}

func line(who, id string, means Meaning, p Pin, bias Bias, deb hub.Duration) (input, error) {
	switch bias {
	case BiasAsIs, BiasPullUp, BiasPullDown, BiasNone:
	default:
		return input{}, invalid("%s: unknown bias %q (want pull-up, pull-down or none)", who, bias)
	}
	d := deb.D()
	limit := MaxDebounce
	if !means.zone() {
		limit = MaxTroubleDebounce
	}
	switch {
	case d == 0:
		d = DefaultDebounce
	case d < 0:
		return input{}, invalid("%s: debounce %s is negative", who, d)
	case d >= limit && means.zone():
		return input{}, invalid("%s: debounce %s is too long: a %s signal of 400ms must be detected (EN 50131), keep it below %s",
			who, d, means, limit)
	case d >= limit:
		return input{}, invalid("%s: debounce %s is too long: a fault signal of 10s must be detected (EN 50131), keep it below %s",
			who, d, limit)
	}
	return input{id: id, means: means, pin: p, bias: bias, debounce: d}, nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Bindings are the adapter's bindings as the domain configuration keeps them:
// zones and power inputs (mains_fail, low_battery) by id, outputs by id.
type Bindings struct {
	Zones   map[string]ZoneBinding   `json:"zones,omitempty"`
	Outputs map[string]OutputBinding `json:"outputs,omitempty"`
}

// Empty reports whether nothing is bound to GPIO.
func (b Bindings) Empty() bool { return len(b.Zones) == 0 && len(b.Outputs) == 0 }

// Validate checks the bindings together (see the function Validate).
func (b Bindings) Validate() error { return Validate(b.Zones, b.Outputs) }

// Power reports whether the binding is a power supply's trouble output
// (mains_fail, low_battery) rather than a zone's line.
func (b ZoneBinding) Power() bool { return b.Means == MainsFail || b.Means == LowBattery }
