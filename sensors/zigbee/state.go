package zigbee

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// tri is a level that may be unknown.
type tri int8

const (
	unknown tri = iota
	active
	inactive
)

func triOf(b bool) tri {
	if b {
		return active
	}
	return inactive
}

// StateMsg is a device state message read against the device's exposes: the
// level of each tracked binary property present with a value (null is unknown
// and left out), the battery percentage, and the one-shot action with its keypad
// fields.
type StateMsg struct {
	Binary  map[string]bool
	Battery *float64
	// LinkQuality is the frame's link quality (0–255), when reported.
	LinkQuality *int
	Action      string
	// Keypad fields, present with an arm action.
	Code        string
	Transaction *int
	// Problems are values that could not be read (a wrong type, a value that is
	// neither value_on nor value_off): each is logged, the property keeps its
	// last level.
	Problems []string
}

// ParseState reads a state payload of device d. An error means the payload is
// not a JSON object (or is too large) and says nothing about the device.
func ParseState(d *Device, payload []byte) (StateMsg, error) {
	var m StateMsg
	if len(payload) > MaxStatePayload {
		return m, fmt.Errorf("state of %d bytes is larger than %d", len(payload), MaxStatePayload)
	}
	p := bytes.TrimSpace(payload)
	if len(p) == 0 || p[0] != '{' {
		return m, fmt.Errorf("state is not a JSON object")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(p, &obj); err != nil {
		return m, fmt.Errorf("state is not a JSON object: %w", err)
	}
	for _, prop := range d.Binary {
		raw, ok := obj[prop.Name]
		if !ok {
			continue
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			m.Problems = append(m.Problems, fmt.Sprintf("%s: %v", prop.Name, err))
			continue
		}
		switch v {
		case nil:
			continue // unknown, not false
		case prop.On:
			setBinary(&m, prop.Name, true)
		case prop.Off:
			setBinary(&m, prop.Name, false)
		default:
			m.Problems = append(m.Problems, fmt.Sprintf("%s: value %s is neither %v nor %v", prop.Name, clip(string(raw)), prop.On, prop.Off))
		}
	}
	if raw, ok := obj["battery"]; ok && !isNull(raw) {
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil || f < 0 || f > 100 {
			m.Problems = append(m.Problems, "battery: "+clip(string(raw))+" is not a percentage")
		} else {
			m.Battery = &f
		}
	}
	if raw, ok := obj["linkquality"]; ok && !isNull(raw) {
		var n int
		if err := json.Unmarshal(raw, &n); err != nil || n < 0 || n > 255 {
			m.Problems = append(m.Problems, "linkquality: "+clip(string(raw))+" is not 0–255")
		} else {
			m.LinkQuality = &n
		}
	}
	if raw, ok := obj["action"]; ok && !isNull(raw) {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			m.Problems = append(m.Problems, "action: "+clip(string(raw))+" is not a string")
		} else {
			m.Action = s
		}
	}
	if m.Action != "" {
		if raw, ok := obj["action_code"]; ok && !isNull(raw) {
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				// A number loses leading zeros: refused rather than guessed.
				m.Problems = append(m.Problems, "action_code: "+clip(string(raw))+" is not a string")
			} else {
				m.Code = s
			}
		}
		if raw, ok := obj["action_transaction"]; ok && !isNull(raw) {
			var n int
			if err := json.Unmarshal(raw, &n); err != nil || n < 0 || n > 255 {
				m.Problems = append(m.Problems, "action_transaction: "+clip(string(raw))+" is not 0–255")
			} else {
				m.Transaction = &n
			}
		}
	}
	return m, nil
}

func setBinary(m *StateMsg, name string, v bool) {
	if m.Binary == nil {
		m.Binary = map[string]bool{}
	}
	m.Binary[name] = v
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// clip shortens s for a log line.
func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	return strings.ToValidUTF8(s[:40], "") + "…"
}

// parseOnline reads an availability or bridge/state payload: JSON
// {"state":"online"} (2.x) or the bare word (1.x). ok false: empty (a deleted
// retained message) or unreadable.
func parseOnline(payload []byte) (online bool, err error) {
	p := bytes.TrimSpace(payload)
	if len(p) == 0 {
		return false, errEmpty
	}
	s := string(p)
	if p[0] == '{' {
		var v struct {
			State string `json:"state"`
		}
		if err := json.Unmarshal(p, &v); err != nil {
			return false, fmt.Errorf("availability is not JSON: %w", err)
		}
		s = v.State
	}
	switch s {
	case "online":
		return true, nil
	case "offline":
		return false, nil
	}
	return false, fmt.Errorf("availability %q is neither online nor offline", clip(s))
}

var errEmpty = fmt.Errorf("empty payload")
