package zigbee

import (
	"fmt"
	"maps"
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
