package zigbee

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// DeviceStatus is a device in bridge/devices as the adapter knows it: what it
// is, what it is bound to, and whether it is heard.
type DeviceStatus struct {
	Device
	// Zones, Outputs and Keypad are the ids the device is bound to; none of them:
	// discovered, not bound.
	Zones   []string `json:"zones,omitempty"`
	Outputs []string `json:"outputs,omitempty"`
	Keypad  string   `json:"keypad,omitempty"`
	// LastSeen is when its last state message came (zero: none since Vakt
	// started).
	LastSeen time.Time `json:"last_seen,omitzero"`
	// Availability is Zigbee2MQTT's: "online", "offline" or "" (not reported).
	Availability string `json:"availability,omitempty"`
	// Lost: silent longer than its zones' check-in interval.
	Lost bool `json:"lost,omitempty"`
	// LastError is the last error Zigbee2MQTT reported about it (its log or an
	// answer to a request), until a state message from it is newer.
	LastError *DeviceError `json:"last_error,omitempty"`
	// Adoptable says what the device can be adopted as: "zone", "output",
	// "keypad"; ZoneProperties are the properties that can open a zone (the
	// first is the default).
	Adoptable      []string `json:"adoptable,omitempty"`
	ZoneProperties []string `json:"zone_properties,omitempty"`
}

// Status lists every device in bridge/devices, by friendly name.
func (a *Adapter) Status() []DeviceStatus {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []DeviceStatus
	for ieee, r := range a.devs {
		if r.info == nil {
			continue
		}
		s := DeviceStatus{Device: *r.info, Keypad: a.keypads[ieee], Lost: r.lost, ZoneProperties: r.info.ZoneProperties()}
		for _, kind := range []string{"zone", "output", "keypad"} {
			if r.info.CheckAdopt(kind, "") == nil {
				s.Adoptable = append(s.Adoptable, kind)
			}
		}
		for _, z := range a.zones[ieee] {
			s.Zones = append(s.Zones, z.id)
		}
		for _, id := range slices.Sorted(maps.Keys(a.outputs())) {
			if a.outputs()[id].IEEE == ieee {
				s.Outputs = append(s.Outputs, id)
			}
		}
		if r.heard {
			s.LastSeen = r.seen
		}
		s.Availability = availability(r.avail)
		s.LastError = lastError(r)
		out = append(out, s)
	}
	slices.SortFunc(out, func(x, y DeviceStatus) int { return strings.Compare(x.FriendlyName, y.FriendlyName) })
	return out
}

// ZoneDevice is what the adapter knows of a zone's device.
type ZoneDevice struct {
	IEEE string `json:"ieee"`
	// Name is the device's friendly name ("" while it is not in bridge/devices).
	Name string `json:"name,omitempty"`
	// Battery is the last battery percentage reported; BatteryLow is the
	// zone's low battery as the adapter judges it (battery_low, or under the
	// threshold).
	Battery    *float64 `json:"battery,omitempty"`
	BatteryLow bool     `json:"battery_low"`
	// LastSeen is when its last state message came (zero: none since Vakt
	// started); LinkQuality is the last one reported (0–255).
	LastSeen    time.Time `json:"last_seen,omitzero"`
	LinkQuality *int      `json:"link_quality,omitempty"`
	// Availability is Zigbee2MQTT's ("online", "offline" or ""), Lost that Vakt's
	// own supervision lost it.
	Availability string `json:"availability,omitempty"`
	Lost         bool   `json:"lost,omitempty"`
	// LastError is the last error Zigbee2MQTT reported about the device, until a
	// state message from it is newer.
	LastError *DeviceError `json:"last_error,omitempty"`
}

// ZoneDevices returns, by zone id, the device of every zone bound here.
func (a *Adapter) ZoneDevices() map[string]ZoneDevice {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]ZoneDevice{}
	for ieee, zs := range a.zones {
		r := a.devs[ieee]
		for _, z := range zs {
			d := ZoneDevice{IEEE: ieee, BatteryLow: z.low == active}
			if r != nil {
				if r.info != nil {
					d.Name = r.info.FriendlyName
				}
				if r.batt != nil {
					b := *r.batt
					d.Battery = &b
				}
				if r.lqi != nil {
					q := *r.lqi
					d.LinkQuality = &q
				}
				if r.heard {
					d.LastSeen = r.seen
				}
				d.Availability, d.Lost = availability(r.avail), r.lost
				d.LastError = lastError(r)
			}
			out[z.id] = d
		}
	}
	return out
}

func availability(t tri) string {
	switch t {
	case active:
		return "online"
	case inactive:
		return "offline"
	}
	return ""
}
