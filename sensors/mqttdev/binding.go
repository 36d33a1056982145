package mqttdev

import (
	"errors"
	"fmt"
	"slices"
)

// ZoneBinding maps messages on a topic to a zone's signals. Payload values are
// compared as text; a JSON boolean true is "true".
type ZoneBinding struct {
	Topic string `json:"topic" yaml:"topic"`
	// Field is the JSON field holding the state; empty means the whole payload.
	Field       string   `json:"field,omitempty" yaml:"field,omitempty"`
	Open        []string `json:"open,omitempty" yaml:"open,omitempty"`     // default ON, OPEN, open, true, 1
	Closed      []string `json:"closed,omitempty" yaml:"closed,omitempty"` // default OFF, CLOSED, closed, false, 0
	TamperField string   `json:"tamper_field,omitempty" yaml:"tamper_field,omitempty"`
	Tamper      []string `json:"tamper,omitempty" yaml:"tamper,omitempty"` // default true, ON, 1
	// TamperValue is a value of Field that means tamper (for devices with one state field).
	TamperValue     string `json:"tamper_value,omitempty" yaml:"tamper_value,omitempty"`
	BatteryLowField string `json:"battery_low_field,omitempty" yaml:"battery_low_field,omitempty"`
}

// OutputBinding drives an output by publishing (never retained) to a topic, and
// optionally reads its actual level back from a state topic.
type OutputBinding struct {
	Topic string `json:"topic" yaml:"topic"`
	On    string `json:"on" yaml:"on"`
	Off   string `json:"off" yaml:"off"`
	// StateTopic is where the device reports its level (Tasmota stat/<dev>/POWER,
	// a Zigbee2MQTT device's topic). Empty: no feedback.
	StateTopic string `json:"state_topic,omitempty" yaml:"state_topic,omitempty"`
	// StateField is the JSON field holding the level (empty: the whole payload).
	StateField string `json:"state_field,omitempty" yaml:"state_field,omitempty"`
	// StateOn and StateOff are the values that mean on and off (default On and
	// Off), compared without case.
	StateOn  string `json:"state_on,omitempty" yaml:"state_on,omitempty"`
	StateOff string `json:"state_off,omitempty" yaml:"state_off,omitempty"`
}

// Bindings are the zones and outputs bound to MQTT topics, by zone and output id.
type Bindings struct {
	Zones   map[string]ZoneBinding   `json:"zones,omitempty"`
	Outputs map[string]OutputBinding `json:"outputs,omitempty"`
}

// Validate checks a zone's binding by itself.
func (b ZoneBinding) Validate() error {
	if b.Topic == "" {
		return errors.New("topic is empty")
	}
	return nil
}

// Validate checks an output's binding by itself.
func (b OutputBinding) Validate() error {
	var errs []error
	if b.Topic == "" {
		errs = append(errs, errors.New("topic is empty"))
	}
	if b.StateTopic != "" && b.StateTopic == b.Topic {
		errs = append(errs, errors.New("state_topic must differ from topic (the command would read as its own feedback)"))
	}
	return errors.Join(errs...)
}

// HasFeedback reports whether the output's device reports its level on a state topic.
func (b OutputBinding) HasFeedback() bool { return b.StateTopic != "" }

// CheckTopics checks the bindings against each other: an output's command topic
// that is also a zone's topic would feed its commands back as detector signals.
// Outputs are checked in the order of their ids.
func (bs Bindings) CheckTopics() error {
	zoneOf := map[string]string{}
	for _, id := range sortedKeys(bs.Zones) {
		if _, taken := zoneOf[bs.Zones[id].Topic]; !taken {
			zoneOf[bs.Zones[id].Topic] = id
		}
	}
	var errs []error
	for _, id := range sortedKeys(bs.Outputs) {
		t := bs.Outputs[id].Topic
		if z, ok := zoneOf[t]; ok {
			errs = append(errs, fmt.Errorf("output %q: topic %s is also zone %q's: a command would read as a detector", id, t, z))
		}
	}
	return errors.Join(errs...)
}

// CommandTopics returns the command topics of the bound outputs, sorted, each once.
// The broker never keeps a retained message on them.
func (bs Bindings) CommandTopics() []string {
	var out []string
	for _, b := range bs.Outputs {
		out = append(out, b.Topic)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
