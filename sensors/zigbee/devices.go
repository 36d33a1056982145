package zigbee

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Property is an alarm-relevant binary property a device reports, read from its
// exposes: On is the value that means active (contact: false, the magnet is
// away), Off the value that means inactive.
type Property struct {
	Name string `json:"name"`
	On   any    `json:"value_on"`
	Off  any    `json:"value_off"`
}

// Device is a device as Zigbee2MQTT's bridge/devices describes it, reduced to
// what an alarm needs.
type Device struct {
	IEEE         string `json:"ieee"`
	FriendlyName string `json:"friendly_name"`
	Model        string `json:"model,omitempty"`
	Vendor       string `json:"vendor,omitempty"`
	Type         string `json:"type"`
	PowerSource  string `json:"power_source,omitempty"`
	// Ready: the interview succeeded and the device has a definition; a device
	// that is not ready has no usable exposes.
	Ready bool `json:"ready"`
	// Binary are the alarm-relevant binary properties (contact, occupancy,
	// smoke, water_leak, gas, carbon_monoxide, vibration, tamper, battery_low,
	// test and other alarm-like ones).
	Binary []Property `json:"binary,omitempty"`
	// Numeric are battery and voltage when exposed.
	Numeric []string `json:"numeric,omitempty"`
	// Actions are the values of the one-shot action property, if any.
	Actions []string `json:"actions,omitempty"`
	// Siren: how the device is told to sound ("ias_wd": warning composite;
	// "start_off": alarm START/OFF; "tuya": alarm true/false; "" none).
	Siren string `json:"siren,omitempty"`
	// SirenModes and SirenLevel describe an IAS WD warning: the modes it takes
	// and whether it takes a level.
	SirenModes []string `json:"siren_modes,omitempty"`
	SirenLevel bool     `json:"siren_level,omitempty"`
	Squawk     bool     `json:"squawk,omitempty"`
	// Panel: a keypad that shows the panel status (it exposes
	// action_transaction and takes arm_mode replies); fobs do not.
	Panel bool `json:"panel,omitempty"`
}

// Battery reports whether the device runs on battery.
func (d Device) Battery() bool { return strings.EqualFold(d.PowerSource, "Battery") }

// Keypad reports whether the device sends arm/disarm or panic actions.
func (d Device) Keypad() bool {
	for _, a := range d.Actions {
		switch a {
		case "disarm", "arm_day_zones", "arm_night_zones", "arm_all_zones", "emergency", "panic":
			return true
		}
	}
	return false
}

func (d Device) prop(name string) (Property, bool) {
	for _, p := range d.Binary {
		if p.Name == name {
			return p, true
		}
	}
	return Property{}, false
}

// binaryProps are the binary properties tracked from exposes.
var binaryProps = []string{"contact", "occupancy", "smoke", "water_leak", "water", "gas", "carbon_monoxide",
	"vibration", "tamper", "battery_low", "test", "alarm", "sos", "presence", "tilt", "window_open", "garage_door_contact"}

type rawExpose struct {
	Type     string          `json:"type"`
	Name     string          `json:"name"`
	Property string          `json:"property"`
	Access   int             `json:"access"`
	ValueOn  json.RawMessage `json:"value_on"`
	ValueOff json.RawMessage `json:"value_off"`
	Values   []any           `json:"values"`
	Features []rawExpose     `json:"features"`
}

type rawDevice struct {
	IEEE           string `json:"ieee_address"`
	FriendlyName   string `json:"friendly_name"`
	Type           string `json:"type"`
	PowerSource    string `json:"power_source"`
	Disabled       bool   `json:"disabled"`
	InterviewState string `json:"interview_state"`
	InterviewDone  *bool  `json:"interview_completed"`
	Definition     *struct {
		Model   string      `json:"model"`
		Vendor  string      `json:"vendor"`
		Exposes []rawExpose `json:"exposes"`
	} `json:"definition"`
}

// ParseDevices reads a bridge/devices payload. The coordinator and disabled
// devices are left out; a device without a usable definition is listed, not
// ready.
func ParseDevices(payload []byte) ([]Device, error) {
	if len(payload) > MaxDevicesPayload {
		return nil, fmt.Errorf("bridge/devices of %d bytes is larger than %d", len(payload), MaxDevicesPayload)
	}
	var raw []rawDevice
	if err := json.Unmarshal(payload, &raw); err != nil {
		return nil, fmt.Errorf("bridge/devices: %w", err)
	}
	out := make([]Device, 0, len(raw))
	for i, r := range raw {
		if r.Type == "Coordinator" || r.Disabled {
			continue
		}
		ieee, err := normIEEE(r.IEEE)
		if err != nil {
			return nil, fmt.Errorf("bridge/devices: device %d: %w", i, err)
		}
		if r.FriendlyName == "" {
			return nil, fmt.Errorf("bridge/devices: device %s has no friendly_name", ieee)
		}
		d := Device{IEEE: ieee, FriendlyName: r.FriendlyName, Type: r.Type, PowerSource: r.PowerSource}
		done := r.InterviewState == "SUCCESSFUL" || (r.InterviewState == "" && r.InterviewDone != nil && *r.InterviewDone)
		if r.Definition != nil {
			d.Model, d.Vendor = r.Definition.Model, r.Definition.Vendor
			d.Ready = done
			walk(&d, r.Definition.Exposes, 0)
		}
		out = append(out, d)
	}
	return out, nil
}

// walk reads exposes, recursively through features.
func walk(d *Device, exposes []rawExpose, depth int) {
	if depth > 4 {
		return
	}
	for _, e := range exposes {
		prop := e.Property
		if prop == "" {
			prop = e.Name
		}
		switch {
		case e.Type == "composite" && prop == "warning" && e.Access&2 != 0:
			d.Siren = "ias_wd"
			for _, f := range e.Features {
				switch f.Property {
				case "mode":
					for _, v := range f.Values {
						if s, ok := v.(string); ok {
							d.SirenModes = append(d.SirenModes, s)
						}
					}
				case "level":
					d.SirenLevel = true
				}
			}
			continue
		case e.Type == "composite" && prop == "squawk" && e.Access&2 != 0:
			d.Squawk = true
			continue
		case e.Type == "binary" && prop == "alarm" && e.Access&2 != 0:
			if d.Siren == "" {
				var on any
				_ = json.Unmarshal(e.ValueOn, &on)
				switch on {
				case "START":
					d.Siren = "start_off"
				case true:
					d.Siren = "tuya"
				}
			}
		case e.Type == "enum" && prop == "action" && e.Access&1 != 0:
			for _, v := range e.Values {
				if s, ok := v.(string); ok {
					d.Actions = append(d.Actions, s)
				}
			}
		case prop == "action_transaction" && e.Access&1 != 0:
			d.Panel = true
		case e.Type == "numeric" && (prop == "battery" || prop == "voltage") && e.Access&1 != 0:
			if !slices.Contains(d.Numeric, prop) {
				d.Numeric = append(d.Numeric, prop)
			}
		}
		if e.Type == "binary" && e.Access&1 != 0 && slices.Contains(binaryProps, prop) {
			var on, off any
			if json.Unmarshal(e.ValueOn, &on) == nil && json.Unmarshal(e.ValueOff, &off) == nil &&
				scalar(on) && scalar(off) && on != off {
				if _, dup := d.prop(prop); !dup {
					d.Binary = append(d.Binary, Property{Name: prop, On: on, Off: off})
				}
			}
		}
		if len(e.Features) > 0 && e.Type != "composite" {
			walk(d, e.Features, depth+1)
		}
	}
}

// scalar reports whether v is a JSON boolean or string (what value_on can be).
func scalar(v any) bool {
	switch v.(type) {
	case bool, string:
		return true
	}
	return false
}
