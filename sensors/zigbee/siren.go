package zigbee

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"vakt/hub"
	"vakt/hub/output"
)

// Keeper is what the adapter tells about sirens: their reported level, and that
// they (or Zigbee2MQTT) came back and need their level again.
type Keeper interface {
	Feedback(id string, on bool)
	Resend(match func(hub.Output) bool)
	// Refused: Zigbee2MQTT could not deliver a command to the output's siren.
	Refused(id, detail string)
}

var _ output.Driver = (*Adapter)(nil)

// Bind names the keeper the sirens' feedback and resend requests go to.
func (a *Adapter) Bind(k Keeper) {
	a.mu.Lock()
	a.keeper = k
	a.mu.Unlock()
}

// ours reports whether output o is a Zigbee siren. It runs without a.mu: outs
// never changes after New.
func (a *Adapter) ours(o hub.Output) bool { _, ok := a.outputs()[o.ID]; return ok }

// sirenOf reports whether device ieee is bound to an output.
func (a *Adapter) sirenOf(ieee string) bool {
	for _, b := range a.outputs() {
		if b.IEEE == ieee {
			return true
		}
	}
	return false
}

// HasFeedback reports whether output o's siren reports its level (a Tuya siren's
// alarm state; an IAS WD warning publishes nothing). It depends on
// bridge/devices: ask after Start.
func (a *Adapter) HasFeedback(o hub.Output) bool {
	b, ok := a.outputs()[o.ID]
	if !ok {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.devs[b.IEEE]
	return r != nil && r.info != nil && r.info.Siren == "tuya"
}

// ErrUnknownSiren: the siren is not in bridge/devices (yet).
var ErrUnknownSiren = errors.New("the siren is not in Zigbee2MQTT's bridge/devices")

// Drive publishes the command for level l to output o's siren, never retained.
// An output not bound here is not this driver's: nothing is sent.
func (a *Adapter) Drive(o hub.Output, l output.Level) error {
	b, ok := a.outputs()[o.ID]
	if !ok {
		return nil
	}
	a.mu.Lock()
	var d Device
	r := a.devs[b.IEEE]
	if r != nil && r.info != nil {
		d = *r.info
	}
	listed := a.listed
	a.mu.Unlock()
	if d.FriendlyName == "" {
		if !listed {
			// Just started: Zigbee2MQTT's retained bridge/devices has not come
			// yet. Not reachable (Reachable) for now; driven when it comes.
			return nil
		}
		return fmt.Errorf("zigbee: output %s (%s): %w", o.ID, b.IEEE, ErrUnknownSiren)
	}
	payload, err := SirenPayload(d, b, o.Refresh.D(), l)
	if err != nil {
		return fmt.Errorf("zigbee: output %s (%s): %w", o.ID, d.FriendlyName, err)
	}
	if payload == nil {
		return nil
	}
	topic := a.base + "/" + d.FriendlyName + "/set"
	if err := a.bus.Publish(topic, payload, false); err != nil {
		return fmt.Errorf("zigbee: output %s: publish %s: %w", o.ID, topic, err)
	}
	a.log.Info("zigbee: siren command sent", "output", o.ID, "device", d.FriendlyName, "level", l.String())
	return nil
}

// SirenPayload returns the /set payload that drives siren d (bound by b) to
// level l; refresh is how often an output that is on is commanded again. nil:
// nothing to send (a chime without squawk).
func SirenPayload(d Device, b OutputBinding, refresh time.Duration, l output.Level) ([]byte, error) {
	strobe := b.Strobe == nil || *b.Strobe
	switch d.Siren {
	case "ias_wd":
		if l == output.Pulse {
			if !b.Squawk || !d.Squawk {
				return nil, nil
			}
			return squawkPayload(b, "system_is_armed")
		}
		if l == output.Off {
			w := map[string]any{"mode": "stop", "strobe": false, "duration": 0}
			if d.SirenLevel {
				w["level"] = "low"
			}
			return json.Marshal(map[string]any{"warning": w})
		}
		mode := b.Mode
		if len(d.SirenModes) > 0 && !slices.Contains(d.SirenModes, mode) {
			mode = "emergency" // Heiman HS2WD-E and Tuya TS0216 know only stop and emergency
			if !slices.Contains(d.SirenModes, mode) {
				return nil, fmt.Errorf("the siren takes none of the modes %s, emergency (it takes %s)", b.Mode,
					strings.Join(d.SirenModes, ", "))
			}
		}
		w := map[string]any{"mode": mode, "strobe": strobe, "duration": sirenSeconds(b, refresh)}
		if d.SirenLevel {
			w["level"] = b.Level
		}
		return json.Marshal(map[string]any{"warning": w})
	case "start_off":
		if l == output.Pulse {
			return nil, nil
		}
		// The device sounds 300 s per START; the keeper's refresh repeats it.
		v := "OFF"
		if l == output.On {
			v = "START"
		}
		return json.Marshal(map[string]any{"alarm": v})
	case "tuya":
		if l == output.Pulse {
			return nil, nil
		}
		return json.Marshal(map[string]any{"alarm": l == output.On})
	}
	return nil, fmt.Errorf("the device (%s %s) is not a siren Vakt can drive: no warning or alarm to set", d.Vendor, d.Model)
}

// sirenSeconds is the duration of one warning: the binding's, or three refresh
// periods, and never less than a refresh period and 10 s.
func sirenSeconds(b OutputBinding, refresh time.Duration) int {
	if refresh <= 0 {
		refresh = hub.DefaultOutputRefresh
	}
	d := b.Duration.D()
	if d == 0 {
		d = 3 * refresh
	}
	d = max(d, refresh+10*time.Second)
	return int(min(d, 65534*time.Second) / time.Second)
}

// Reachable reports whether output o's siren can hear commands: it is in
// bridge/devices, Zigbee2MQTT is not offline, Zigbee2MQTT does not call the
// device offline, and it was heard from within its check-in interval.
func (a *Adapter) Reachable(o hub.Output) bool {
	b, ok := a.outputs()[o.ID]
	if !ok {
		return true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.devs[b.IEEE]
	return r != nil && r.info != nil && a.bridge != inactive && r.avail != inactive && !r.lost
}

// sirenFeedback passes a siren's reported level to the keeper. a.mu is held;
// the keeper is called after it is released (flush).
func (a *Adapter) sirenFeedback(ieee string, r *dev, s StateMsg) {
	if r.info.Siren != "tuya" {
		return // an IAS zone's alarm bit is not the warning's state
	}
	v, ok := s.Binary["alarm"]
	if !ok {
		return
	}
	for id, b := range a.outputs() {
		if b.IEEE == ieee {
			a.feedback = append(a.feedback, fb{id, v})
		}
	}
}

// refusal is a siren command Zigbee2MQTT could not deliver, for the keeper.
type refusal struct{ id, detail string }

type fb struct {
	id string
	on bool
}

// setFailed reads an error line of Zigbee2MQTT's log for a failed command to a
// siren or keypad, "Publish 'set' '<key>' to '<name>' failed: …": a siren's
// output is refused (the keeper fails it), a keypad's panel status is sent
// again at the next change. It reports whether the line was about a siren. a.mu
// is held.
func (a *Adapter) setFailed(message string) bool {
	rest, ok := strings.CutPrefix(message, "Publish 'set' '")
	if !ok {
		return false
	}
	key, rest, ok := strings.Cut(rest, "' to '")
	if !ok {
		return false
	}
	name, why, ok := strings.Cut(rest, "' failed")
	if !ok {
		return false
	}
	ieee := a.names[name]
	siren := false
	for id, b := range a.outputs() {
		if b.IEEE == ieee && ieee != "" {
			siren = true
			a.log.Error("zigbee: siren command failed in Zigbee2MQTT", "output", id, "device", name, "key", key,
				"message", clip(message))
			a.refusals = append(a.refusals, refusal{id, "Zigbee2MQTT could not deliver " + key + clip(why)})
		}
	}
	if kp := a.keypads[ieee]; kp != "" && ieee != "" && a.kp != nil {
		delete(a.kp.mode, ieee) // its panel status goes again with the next change
	}
	return siren
}

// bridgeEvent reads bridge/event: a device leaving is tamper-class.
func (a *Adapter) bridgeEvent(payload []byte) {
	var e struct {
		Type string `json:"type"`
		Data struct {
			IEEE string `json:"ieee_address"`
		} `json:"data"`
	}
	if json.Unmarshal(payload, &e) != nil || e.Type != "device_leave" {
		return
	}
	ieee, err := normIEEE(e.Data.IEEE)
	if err != nil {
		return
	}
	r := a.devs[ieee]
	if r == nil || r.left {
		return
	}
	r.left = true
	a.log.Warn("zigbee: device left the network", "ieee", ieee)
	a.evaluate(ieee)
}

// Subscribed is told that an MQTT client subscribed to filters (the broker's
// OnSubscribe). Zigbee2MQTT announces itself online before it subscribes, so a
// command sent on bridge/state online alone may reach nobody: once a filter
// covers a siren's or keypad's /set topic, the siren's level and the keypad's
// panel status are sent again.
func (a *Adapter) Subscribed(filters []string) {
	a.mu.Lock()
	covers := func(ieee string) bool {
		r := a.devs[ieee]
		if r == nil || r.info == nil {
			return false
		}
		for _, f := range filters {
			if matchFilter(f, a.base+"/"+r.info.FriendlyName+"/set") {
				return true
			}
		}
		return false
	}
	var ids []string
	for id, b := range a.outputs() {
		if covers(b.IEEE) {
			ids = append(ids, id)
		}
	}
	if len(ids) > 0 {
		a.resend = append(a.resend, func(o hub.Output) bool { return slices.Contains(ids, o.ID) })
	}
	if a.kp != nil && a.kp.state != nil {
		for ieee := range a.keypads {
			if covers(ieee) {
				delete(a.kp.mode, ieee)
			}
		}
		a.kpState(*a.kp.state)
	}
	a.mu.Unlock()
	a.flush()
}

// matchFilter reports whether the MQTT topic filter f matches topic t.
func matchFilter(f, t string) bool {
	for {
		fh, fr, fmore := strings.Cut(f, "/")
		if fh == "#" {
			return true
		}
		th, tr, tmore := strings.Cut(t, "/")
		if fh != "+" && fh != th {
			return false
		}
		if !fmore || !tmore {
			return fmore == tmore
		}
		f, t = fr, tr
	}
}
