package zigbee

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"vakt/hub"
)

// ZoneBinding binds a zone to a Zigbee device (YAML under a zone:
// `zigbee: {ieee: "0x00158d0001a2b3c4", property: contact}`).
type ZoneBinding struct {
	// IEEE is the device's IEEE address as Zigbee2MQTT writes it: the binding
	// survives a rename of the device.
	IEEE string `json:"ieee" yaml:"ieee"`
	// Property is the state property that opens the zone, when the device has
	// several (contact, occupancy, smoke, water_leak, gas, carbon_monoxide,
	// vibration, action). Empty: the first the device exposes, in that order.
	Property string `json:"property,omitempty" yaml:"property,omitempty"`
	// CheckIn is how long the device may stay silent before the zone is offline
	// (device lost). Zero: DefaultCheckInBattery or DefaultCheckInMains by the
	// device's power source.
	CheckIn hub.Duration `json:"checkin,omitempty" yaml:"checkin,omitempty"`
	// StuckAfter is how long a life-safety detector (smoke, gas, carbon
	// monoxide, water leak) may keep reporting its alarm once the alarm is
	// silenced before it is a trouble: stuck active, it cannot report a new one.
	// Zero: DefaultStuckAfter.
	StuckAfter hub.Duration `json:"stuck_after,omitempty" yaml:"stuck_after,omitempty"`
	// ClearAfter is the clear rule of a pulse detector (a motion or vibration
	// sensor that reports its clear late, after a timeout of its own or of
	// Zigbee2MQTT, or never): the zone is taken as closed this long after the
	// device's last report of the active value, unless the device reports clear
	// first. Only with Property one of occupancy, vibration, presence or tilt.
	// Zero: no rule, the zone closes when the device says so.
	ClearAfter hub.Duration `json:"clear_after,omitempty" yaml:"clear_after,omitempty"`
}

// OutputBinding binds an output to a Zigbee siren (YAML under an output:
// `zigbee: {ieee: "0x0015bc001b02c3d4", mode: burglar}`).
type OutputBinding struct {
	IEEE string `json:"ieee" yaml:"ieee"`
	// Mode is the warning the siren sounds: burglar (default), fire, emergency,
	// police_panic, fire_panic or emergency_panic. A siren that has only
	// emergency (Heiman HS2WD-E) sounds emergency.
	Mode string `json:"mode,omitempty" yaml:"mode,omitempty"`
	// Level is the sound level: low, medium, high, very_high (default).
	Level string `json:"level,omitempty" yaml:"level,omitempty"`
	// Strobe turns the siren's light on while it sounds (default true).
	Strobe *bool `json:"strobe,omitempty" yaml:"strobe,omitempty"`
	// Duration is how long one command sounds the siren; it is sent again (the
	// output's refresh) while the output stays on. Zero: three refresh periods.
	// The siren stops by itself this long after Vakt stops commanding it.
	Duration hub.Duration `json:"duration,omitempty" yaml:"duration,omitempty"`
	// Squawk: a chime (pulse) is sent as a squawk, the short arm/disarm chirp
	// of sirens that have one. Without it a chime is not sent to the siren.
	Squawk bool `json:"squawk,omitempty" yaml:"squawk,omitempty"`
	// CheckIn is how long the siren may stay silent before it is lost: its
	// output is unreachable, so the output keeper fails it. Zero:
	// DefaultCheckInMains or DefaultCheckInBattery by the siren's power source.
	CheckIn hub.Duration `json:"checkin,omitempty" yaml:"checkin,omitempty"`
}

// KeypadBinding binds a Zigbee keypad or remote (IAS ACE: frient KEPZB-110,
// Centralite 3400, Linkind and Heiman fobs) to the hub.
type KeypadBinding struct {
	IEEE string `json:"ieee" yaml:"ieee"`
}

// Defaults.
const (
	// DefaultBase is Zigbee2MQTT's base topic.
	DefaultBase = "zigbee2mqtt"
	// DefaultCheckInBattery: battery devices report at least every 1–2 h
	// (SONOFF/eWeLink battery report; Aqara heartbeat hourly).
	DefaultCheckInBattery = 3 * time.Hour
	// DefaultCheckInMains: mains devices are pinged every 10 min by
	// Zigbee2MQTT's availability (with last_seen on, every frame publishes).
	DefaultCheckInMains = 30 * time.Minute
	// DefaultStuckAfter is how long a life-safety detector may report its
	// alarm after the alarm was silenced (the siren stopped, or disarmed)
	// before it is stuck active.
	DefaultStuckAfter = 10 * time.Minute
	// MaxClearAfter is the longest clear rule (ZoneBinding.ClearAfter).
	MaxClearAfter = 24 * time.Hour
	// DefaultBatteryLow is the battery percentage under which a zone has a low
	// battery.
	DefaultBatteryLow = 20.0
	// MaxStatePayload is the largest device state message read; larger ones are
	// ignored.
	MaxStatePayload = 64 << 10
	// MaxDevicesPayload is the largest bridge/devices read.
	MaxDevicesPayload = 8 << 20
)

// FaultBridge is the fault raised while Zigbee2MQTT is offline (its bridge/state
// says offline): every Zigbee device's state is unknown. Subject: the base
// topic.
const FaultBridge = hub.FaultZigbee

// zoneProps are the properties that can open a zone, in the order a default is
// picked.
var zoneProps = []string{"contact", "occupancy", "smoke", "water_leak", "gas", "carbon_monoxide", "vibration",
	"presence", "sos", "alarm", "tilt", "window_open", "garage_door_contact", "water", "action"}

var sirenModes = []string{"burglar", "fire", "emergency", "police_panic", "fire_panic", "emergency_panic"}
var sirenLevels = []string{"low", "medium", "high", "very_high"}

var ieeeRE = regexp.MustCompile(`^0x[0-9a-f]{16}$`)

// normIEEE checks an IEEE address and returns it in lower case.
func normIEEE(s string) (string, error) {
	l := strings.ToLower(strings.TrimSpace(s))
	if !ieeeRE.MatchString(l) {
		return "", fmt.Errorf("ieee %q is not an IEEE address like 0x00158d0001a2b3c4", s)
	}
	return l, nil
}

func (b ZoneBinding) check() (ZoneBinding, error) {
	ieee, err := normIEEE(b.IEEE)
	if err != nil {
		return b, err
	}
	b.IEEE = ieee
	if b.Property != "" && !slices.Contains(zoneProps, b.Property) {
		return b, fmt.Errorf("property %q is not one of %s", b.Property, strings.Join(zoneProps, ", "))
	}
	if b.CheckIn < 0 {
		return b, fmt.Errorf("checkin %s is negative", b.CheckIn.D())
	}
	if b.StuckAfter < 0 {
		return b, fmt.Errorf("stuck_after %s is negative", b.StuckAfter.D())
	}
	if b.ClearAfter != 0 {
		if !slices.Contains(pulseProps, b.Property) {
			return b, fmt.Errorf("clear_after needs property set to one of %s (a door contact or a smoke detector is never taken as closed)",
				strings.Join(pulseProps, ", "))
		}
		if b.ClearAfter.D() < time.Second || b.ClearAfter.D() > MaxClearAfter {
			return b, fmt.Errorf("clear_after %s is not between 1s and %s", b.ClearAfter.D(), MaxClearAfter)
		}
	}
	return b, nil
}

func (b OutputBinding) check() (OutputBinding, error) {
	ieee, err := normIEEE(b.IEEE)
	if err != nil {
		return b, err
	}
	b.IEEE = ieee
	if b.Mode == "" {
		b.Mode = "burglar"
	}
	if !slices.Contains(sirenModes, b.Mode) {
		return b, fmt.Errorf("mode %q is not one of %s", b.Mode, strings.Join(sirenModes, ", "))
	}
	if b.Level == "" {
		b.Level = "very_high"
	}
	if !slices.Contains(sirenLevels, b.Level) {
		return b, fmt.Errorf("level %q is not one of %s", b.Level, strings.Join(sirenLevels, ", "))
	}
	if b.CheckIn < 0 {
		return b, fmt.Errorf("checkin %s is negative", b.CheckIn.D())
	}
	if b.Duration < 0 || b.Duration.D() > 65534*time.Second {
		return b, fmt.Errorf("duration %s is not between 0 and 65534s", b.Duration.D())
	}
	return b, nil
}
