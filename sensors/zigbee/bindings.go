package zigbee

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// Bindings are a configuration's Zigbee bindings: zones and outputs by their
// ids, keypads by keypad id. Its JSON form is what the store keeps.
type Bindings struct {
	Zones   map[string]ZoneBinding   `json:"zones,omitempty"`
	Outputs map[string]OutputBinding `json:"outputs,omitempty"`
	Keypads map[string]KeypadBinding `json:"keypads,omitempty"`
}

// Empty reports whether nothing is bound.
func (bs Bindings) Empty() bool {
	return len(bs.Zones) == 0 && len(bs.Outputs) == 0 && len(bs.Keypads) == 0
}

// Validate checks a zone binding as New does.
func (b ZoneBinding) Validate() error { _, err := b.check(); return err }

// Validate checks an output binding as New does.
func (b OutputBinding) Validate() error { _, err := b.check(); return err }

// Validate checks a keypad binding as New does.
func (b KeypadBinding) Validate() error { _, err := normIEEE(b.IEEE); return err }

// CheckKeypads reports keypads bound to the same device, which New refuses.
func (bs Bindings) CheckKeypads() error {
	seen := map[string]string{}
	for _, id := range slices.Sorted(maps.Keys(bs.Keypads)) {
		ieee, err := normIEEE(bs.Keypads[id].IEEE)
		if err != nil {
			continue // Validate reports it
		}
		if other, dup := seen[ieee]; dup {
			return fmt.Errorf("keypad %q: device %s is keypad %q already", id, ieee, other)
		}
		seen[ieee] = id
	}
	return nil
}

// CommandTopic reports whether topic carries a command to Zigbee2MQTT under
// base: a device's set topic (<base>/<friendly name>/set, also with an
// attribute after it) or a bridge request. Friendly names come and go with
// bridge/devices and may hold '/', so this is a rule, not a list. A retained
// command would be run again each time Zigbee2MQTT connects.
func CommandTopic(base, topic string) bool {
	rest, ok := strings.CutPrefix(topic, strings.TrimSuffix(base, "/")+"/")
	if !ok {
		return false
	}
	if strings.HasPrefix(rest, "bridge/request/") {
		return true
	}
	return strings.HasSuffix(rest, "/set") || strings.Contains(rest, "/set/")
}

// ZoneProperties are the properties of d that can open a zone, in the order a
// default is picked (the first is the default).
func (d Device) ZoneProperties() []string {
	var out []string
	for _, p := range zoneProps {
		if p == "action" {
			if len(d.Actions) > 0 && !d.Keypad() {
				out = append(out, p)
			}
			continue
		}
		if _, ok := d.prop(p); ok {
			out = append(out, p)
		}
	}
	return out
}

// CheckAdopt checks that device d can be what a binding makes it: a zone's
// property is one d exposes (or, without one, d has some), an output's device is
// a siren, a keypad's device is a keypad or remote. kind is "zone", "output" or
// "keypad".
func (d Device) CheckAdopt(kind, property string) error {
	name := fmt.Sprintf("%s (%s)", d.FriendlyName, d.IEEE)
	switch kind {
	case "zone":
		props := d.ZoneProperties()
		if _, tamper := d.prop("tamper"); len(props) == 0 {
			// A device with only a tamper bit (a keypad, a siren) can be a zone
			// of its own that reports its tamper, battery and supervision.
			switch {
			case !tamper:
				return fmt.Errorf("%s exposes nothing that can open a zone, nor a tamper", name)
			case property != "":
				return fmt.Errorf("%s does not expose %q: it has only a tamper (adopt it with no property)", name, property)
			}
		}
		if property != "" && !slices.Contains(props, property) {
			return fmt.Errorf("%s does not expose %q: it has %s", name, property, strings.Join(props, ", "))
		}
	case "output":
		if d.Siren == "" {
			return fmt.Errorf("%s is not a siren Vakt can drive: it has no warning or alarm to set", name)
		}
	case "keypad":
		if !d.Keypad() {
			return fmt.Errorf("%s is not a keypad or remote: it sends no arm or disarm action", name)
		}
	}
	return nil
}

// DescribeChange says what changed from before to after, one line per zone,
// output and keypad, as "zone door: zigbee none → 0x00158d0001a2b3c4 contact".
func DescribeChange(before, after Bindings) []string {
	var lines []string
	lines = describeEach(lines, "zone", before.Zones, after.Zones, func(b ZoneBinding) string {
		s := strings.ToLower(b.IEEE)
		if b.Property != "" {
			s += " " + b.Property
		}
		if b.CheckIn > 0 {
			s += " checkin " + b.CheckIn.D().String()
		}
		if b.StuckAfter > 0 {
			s += " stuck_after " + b.StuckAfter.D().String()
		}
		if b.ClearAfter > 0 {
			s += " clear_after " + b.ClearAfter.D().String()
		}
		return s
	})
	lines = describeEach(lines, "output", before.Outputs, after.Outputs, func(b OutputBinding) string {
		s := strings.ToLower(b.IEEE)
		if b.Mode != "" {
			s += " " + b.Mode
		}
		if b.Squawk {
			s += " squawk"
		}
		if b.CheckIn > 0 {
			s += " checkin " + b.CheckIn.D().String()
		}
		return s
	})
	return describeEach(lines, "keypad", before.Keypads, after.Keypads, func(b KeypadBinding) string {
		return strings.ToLower(b.IEEE)
	})
}

func describeEach[B any](lines []string, kind string, before, after map[string]B, say func(B) string) []string {
	ids := slices.Sorted(maps.Keys(before))
	for id := range after {
		if _, ok := before[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		b, had := before[id]
		a, has := after[id]
		if had && has && reflect.DeepEqual(b, a) { // Strobe is a pointer
			continue
		}
		from, to := "none", "none"
		if had {
			from = say(b)
		}
		if has {
			to = say(a)
		}
		lines = append(lines, fmt.Sprintf("%s %s: zigbee %s → %s", kind, id, from, to))
	}
	return lines
}
