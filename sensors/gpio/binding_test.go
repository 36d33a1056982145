package gpio

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"vakt/hub"
)

func TestValidate(t *testing.T) {
	door := Pin{Line: "17"}
	for _, tc := range []struct {
		name    string
		zones   map[string]ZoneBinding
		outputs map[string]OutputBinding
		want    string
	}{
		{name: "fine", zones: map[string]ZoneBinding{
			"door": {Pin: door, Debounce: hub.Duration(399 * time.Millisecond)},
			"psu":  {Pin: Pin{Line: "6"}, Means: MainsFail, Debounce: hub.Duration(9 * time.Second)},
		}, outputs: map[string]OutputBinding{"siren": {Pin: Pin{Line: "27", ActiveLow: true}}}},
		{name: "same line, two zones", zones: map[string]ZoneBinding{"a": {Pin: door}, "b": {Pin: Pin{Chip: "gpiochip0", Line: "17"}}},
			want: "gpio: invalid binding: line gpiochip0:17 is bound twice: zone a and zone b"},
		{name: "same line, zone and its tamper", zones: map[string]ZoneBinding{"a": {Pin: door, Tamper: &TamperPin{Pin: door}}},
			want: "gpio: invalid binding: line gpiochip0:17 is bound twice: zone a and zone a tamper"},
		{name: "same line, zone and output", zones: map[string]ZoneBinding{"a": {Pin: door}},
			outputs: map[string]OutputBinding{"siren": {Pin: door}},
			want:    "gpio: invalid binding: line gpiochip0:17 is bound twice: zone a and output siren"},
		{name: "same line on two chips is fine", zones: map[string]ZoneBinding{"a": {Pin: door}, "b": {Pin: Pin{Chip: "gpiochip1", Line: "17"}}}},
		{name: "unknown meaning", zones: map[string]ZoneBinding{"a": {Pin: door, Means: "smoke"}},
			want: `gpio: invalid binding: zone a: unknown meaning "smoke" (want one of contact, tamper, keyswitch, mains_fail, low_battery)`},
		{name: "debounce 400ms", zones: map[string]ZoneBinding{"a": {Pin: door, Debounce: hub.Duration(400 * time.Millisecond)}},
			want: "gpio: invalid binding: zone a: debounce 400ms is too long: a contact signal of 400ms must be detected (EN 50131), keep it below 400ms"},
		{name: "tamper debounce 1s", zones: map[string]ZoneBinding{"a": {Pin: door, Tamper: &TamperPin{Pin: Pin{Line: "18"}, Debounce: hub.Duration(time.Second)}}},
			want: "gpio: invalid binding: zone a tamper: debounce 1s is too long: a tamper signal of 400ms must be detected (EN 50131), keep it below 400ms"},
		{name: "mains debounce 10s", zones: map[string]ZoneBinding{"psu": {Pin: door, Means: MainsFail, Debounce: hub.Duration(10 * time.Second)}},
			want: "gpio: invalid binding: mains_fail psu: debounce 10s is too long: a fault signal of 10s must be detected (EN 50131), keep it below 10s"},
		{name: "negative debounce", zones: map[string]ZoneBinding{"a": {Pin: door, Debounce: hub.Duration(-time.Millisecond)}},
			want: "gpio: invalid binding: zone a: debounce -1ms is negative"},
		{name: "unknown bias", zones: map[string]ZoneBinding{"a": {Pin: door, Bias: "pullup"}},
			want: `gpio: invalid binding: zone a: unknown bias "pullup" (want pull-up, pull-down or none)`},
		{name: "no line", zones: map[string]ZoneBinding{"a": {Pin: Pin{Chip: "gpiochip0"}}},
			want: "gpio: invalid binding: zone a: no line (an offset such as 17, or a line name)"},
		{name: "negative line", outputs: map[string]OutputBinding{"s": {Pin: Pin{Line: "-1"}}},
			want: "gpio: invalid binding: output s: line -1 is negative"},
		{name: "line with a slash", zones: map[string]ZoneBinding{"a": {Pin: Pin{Line: "a/b"}}},
			want: `gpio: invalid binding: zone a: line "a/b" is neither an offset nor a line name`},
		{name: "tamper line on a trouble line", zones: map[string]ZoneBinding{"psu": {Pin: door, Means: LowBattery, Tamper: &TamperPin{Pin: Pin{Line: "18"}}}},
			want: "gpio: invalid binding: low_battery psu: a tamper line goes with a contact or keyswitch line, not low_battery"},
		{name: "empty zone id", zones: map[string]ZoneBinding{"": {Pin: door}},
			want: "gpio: invalid binding: a zone binding has no id"},
		{name: "empty output id", outputs: map[string]OutputBinding{"": {Pin: door}},
			want: "gpio: invalid binding: an output binding has no id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.zones, tc.outputs)
			got := ""
			if err != nil {
				got = err.Error()
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("error does not wrap ErrInvalid")
				}
			}
			if got != tc.want {
				t.Fatalf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// The constructors refuse what Validate refuses.
func TestConstructorsValidate(t *testing.T) {
	if _, err := NewZones(NewFake(), map[string]ZoneBinding{"a": {Pin: Pin{Line: "1"}, Means: "x"}}, &posted{}, Options{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("NewZones: %v", err)
	}
	if _, err := NewOutputs(NewFake(), map[string]OutputBinding{"a": {}}, Options{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("NewOutputs: %v", err)
	}
}

// The binding shapes as they are written under a zone or an output, in YAML and
// JSON: a line is an offset (a number or a string of digits) or a name.
func TestBindingDecode(t *testing.T) {
	var y struct {
		GPIO ZoneBinding `yaml:"gpio"`
	}
	src := "gpio: {chip: gpiochip0, line: 17, active_low: true, bias: pull-up, debounce: 50ms, means: contact,\n" +
		"  tamper: {line: GPIO18, bias: pull-up}}\n"
	if err := yaml.Unmarshal([]byte(src), &y); err != nil {
		t.Fatal(err)
	}
	want := ZoneBinding{Pin: Pin{Chip: "gpiochip0", Line: "17", ActiveLow: true}, Bias: BiasPullUp,
		Debounce: hub.Duration(50 * time.Millisecond), Means: Contact,
		Tamper: &TamperPin{Pin: Pin{Line: "GPIO18"}, Bias: BiasPullUp}}
	if !zoneBindingEqual(y.GPIO, want) {
		t.Fatalf("yaml: got %+v (tamper %+v)\nwant %+v", y.GPIO, y.GPIO.Tamper, want)
	}

	var j struct {
		GPIO OutputBinding `json:"gpio"`
	}
	for src, want := range map[string]OutputBinding{
		`{"gpio":{"chip":"gpiochip0","line":27,"active_low":true}}`: {Pin: Pin{Chip: "gpiochip0", Line: "27", ActiveLow: true}},
		`{"gpio":{"line":"GPIO27"}}`:                                {Pin: Pin{Line: "GPIO27"}},
	} {
		j.GPIO = OutputBinding{}
		if err := json.Unmarshal([]byte(src), &j); err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if j.GPIO != want {
			t.Fatalf("%s: got %+v, want %+v", src, j.GPIO, want)
		}
	}
	for src, want := range map[string]string{
		`{"gpio":{"line":1.5}}`:  "gpio: line 1.5: not a line offset",
		`{"gpio":{"line":true}}`: "gpio: line true: want an offset or a line name",
	} {
		err := json.Unmarshal([]byte(src), &j)
		if err == nil || err.Error() != want {
			t.Fatalf("%s: got %v, want %s", src, err, want)
		}
	}
	// And back: an offset is written as the string it was read as.
	b, err := json.Marshal(OutputBinding{Pin: Pin{Line: "27", ActiveLow: true}})
	if err != nil || string(b) != `{"line":"27","active_low":true}` {
		t.Fatalf("marshal: %s, %v", b, err)
	}
}

func zoneBindingEqual(a, b ZoneBinding) bool {
	if (a.Tamper == nil) != (b.Tamper == nil) || a.Tamper != nil && *a.Tamper != *b.Tamper {
		return false
	}
	a.Tamper, b.Tamper = nil, nil
	return a == b
}

// Without GPIO chips (a laptop, CI) the probe says so, cleanly, and a request
// names the missing chip.
func TestProbeNoChips(t *testing.T) {
	chips, err := Probe()
	if err == nil {
		t.Skipf("this machine has GPIO chips %v: the no-chip path is not testable here", chips)
	}
	if !errors.Is(err, ErrNoChips) || err.Error() != "gpio: /dev/gpiochip*: no GPIO chips" {
		t.Fatalf("Probe: %v", err)
	}
	_, err = Cdev{}.Request(Request{Chip: "gpiochip0", Line: "17"})
	if !errors.Is(err, ErrNoChip) {
		t.Fatalf("Request: %v", err)
	}
}

// FuzzBindings reads bindings as they come from a configuration file: decoding
// and validation never panic, and what validates has debounces within their
// limits and no line twice.
func FuzzBindings(f *testing.F) {
	f.Add("zones:\n  door: {chip: gpiochip0, line: 17, active_low: true, bias: pull-up}\noutputs:\n  siren: {line: 27, active_low: true}\n")
	f.Add("zones:\n  pir: {line: GPIO22, tamper: {line: 23, debounce: 50ms}}\n  psu: {line: 6, means: mains_fail, debounce: 9s}\n")
	f.Add("zones:\n  a: {line: 1}\n  b: {line: '1'}\n")
	f.Add(`{"zones":{"k":{"line":5,"means":"keyswitch","debounce":"399ms"}}}`)
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 4096 {
			return // bindings are a few lines; the YAML decoder's speed on large inputs is not this package's
		}
		var cfg struct {
			Zones   map[string]ZoneBinding   `yaml:"zones"`
			Outputs map[string]OutputBinding `yaml:"outputs"`
		}
		if err := yaml.Unmarshal([]byte(src), &cfg); err != nil {
			return
		}
		ins, err := inputs(cfg.Zones, cfg.Outputs)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error without ErrInvalid: %v", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, in := range ins {
			limit := MaxDebounce
			if !in.means.zone() {
				limit = MaxTroubleDebounce
			}
			if in.debounce <= 0 || in.debounce >= limit {
				t.Fatalf("%s: debounce %s accepted", in.id, in.debounce)
			}
			if seen[in.pin.String()] {
				t.Fatalf("line %s accepted twice", in.pin)
			}
			seen[in.pin.String()] = true
		}
		for _, o := range cfg.Outputs {
			if seen[o.Pin.String()] {
				t.Fatalf("output line %s accepted twice", o.Pin)
			}
			seen[o.Pin.String()] = true
		}
		// The adapters take what validates.
		if _, err := NewZones(NewFake(), cfg.Zones, &posted{}, Options{}); err != nil {
			t.Fatalf("NewZones: %v", err)
		}
	})
}
