package zigbee

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"
)

// Zigbee2MQTT's errors. Vakt sends Zigbee2MQTT no bridge request; it watches
// two places where Zigbee2MQTT says something failed:
//
//   - bridge/logging, error lines: a failed command to a siren fails its output
//     (setFailed); every error line that names a bound device (its friendly name
//     in quotes, as Zigbee2MQTT writes it: a command it could not deliver, a
//     configure or interview that failed) is logged with what the device is
//     bound to and kept as the device's last error, shown in the device list
//     (Status) and the zones resource (ZoneDevices) until a state message from
//     the device is newer than it.
//   - bridge/response/<request>: the answers to other clients' requests (Home
//     Assistant, Zigbee2MQTT's frontend). An error answer is logged, and kept
//     like a log line when it names a bound device.

// DeviceError is the last error Zigbee2MQTT reported about a device.
type DeviceError struct {
	At      time.Time `json:"at"`
	Message string    `json:"message"`
}

// maxErrorText is the longest error message kept.
const maxErrorText = 300

// bridgeLogging reads a line of Zigbee2MQTT's log. a.mu is held.
func (a *Adapter) bridgeLogging(payload []byte) {
	var l struct {
		Level   string `json:"level"`
		Message string `json:"message"`
	}
	if json.Unmarshal(payload, &l) != nil || l.Level != "error" {
		return
	}
	siren := a.setFailed(l.Message)
	a.deviceError("bridge/logging", l.Message, !siren)
}

// bridgeResponse reads an answer on bridge/response/<request>. a.mu is held.
func (a *Adapter) bridgeResponse(request string, payload []byte) {
	var r struct {
		Status      string `json:"status"`
		Error       string `json:"error"`
		Transaction any    `json:"transaction"`
	}
	if json.Unmarshal(payload, &r) != nil || r.Status != "error" {
		return
	}
	if !a.deviceError("bridge/response/"+request, r.Error, true) {
		a.log.Info("zigbee: Zigbee2MQTT refused another client's request", "request", clip(request), "error", clip(r.Error),
			"transaction", r.Transaction)
	}
}

// deviceError keeps message as the last error of every bound device it names,
// and logs it (unless logged is false: already logged). It reports whether
// message named a bound device. a.mu is held.
func (a *Adapter) deviceError(source, message string, log bool) bool {
	if len(message) > maxErrorText {
		message = strings.ToValidUTF8(message[:maxErrorText], "") + "…"
	}
	named := false
	for _, name := range slices.Sorted(maps.Keys(a.names)) {
		ieee := a.names[name]
		bound := a.boundTo(ieee)
		if len(bound) == 0 || !strings.Contains(message, "'"+name+"'") {
			continue
		}
		named = true
		a.devs[ieee].zerr = &DeviceError{At: a.now(), Message: message}
		if log {
			a.log.Warn("zigbee: Zigbee2MQTT reports an error about a bound device", "device", name, "ieee", ieee,
				"bound_to", strings.Join(bound, ", "), "source", source, "message", message)
		}
	}
	return named
}

// boundTo names what device ieee is bound to ("zone door", "output siren",
// "keypad hall"). a.mu is held.
func (a *Adapter) boundTo(ieee string) []string {
	var out []string
	for _, z := range a.zones[ieee] {
		out = append(out, "zone "+z.id)
	}
	outs := a.outputs()
	for _, id := range slices.Sorted(maps.Keys(outs)) {
		if outs[id].IEEE == ieee {
			out = append(out, "output "+id)
		}
	}
	if kp := a.keypads[ieee]; kp != "" {
		out = append(out, "keypad "+kp)
	}
	return out
}

// lastError is device r's last error from Zigbee2MQTT, unless a state message
// came after it. a.mu is held.
func lastError(r *dev) *DeviceError {
	if r.zerr == nil || (r.heard && r.seen.After(r.zerr.At)) {
		return nil
	}
	e := *r.zerr
	return &e
}
