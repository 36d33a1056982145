package hub

import (
	"fmt"
	"strings"
)

// FaultKind is a kind of system fault: something that does not cause an alarm by
// itself but means the system cannot be trusted to do its job in full.
type FaultKind string

// Fault kinds. Each says how it is reported to the monitoring centre.
const (
	// FaultUplinkPath: a path to the monitoring centre is lost (Subject: the path's
	// name). Reported over the other path as Contact ID 354.
	FaultUplinkPath FaultKind = "uplink"
	// FaultUplinkClock: the receiver keeps refusing our timestamp or key (Subject:
	// the path). Local only: the centre cannot read what we send on that path.
	FaultUplinkClock FaultKind = "uplink_clock"
	// FaultOutput: an output (siren, strobe, relay) cannot be driven or does not
	// confirm its level (Subject: the output's id). Contact ID 321 for a siren
	// (bell), 320 for other outputs, with the output's number.
	FaultOutput FaultKind = "output"
	// FaultStorage: the journal cannot be written (disk full, I/O error, read-only).
	// Contact ID 300, system trouble. Alarms still go out from memory.
	FaultStorage FaultKind = "storage"
	// FaultBroker: the external MQTT broker the hub uses instead of its embedded
	// one cannot be reached, so no device can be heard or commanded through it.
	// Contact ID 350, communication trouble (not 354, which tells the centre that
	// an event failed to reach it).
	FaultBroker FaultKind = "broker"
	// FaultZigbee: Zigbee2MQTT is offline (its bridge/state; Subject: its base
	// topic), so every Zigbee device's state is unknown. Contact ID 350,
	// communication trouble: the hub cannot hear its wireless devices.
	FaultZigbee FaultKind = "zigbee"
	// FaultMains: a power supply's mains is off (Subject: the power input's id).
	// Shown and blocking arming at once; reported as Contact ID 301 (AC loss) only
	// if it lasts Settings.MainsReportDelay, and its restore (3301) only then.
	FaultMains FaultKind = "mains"
	// FaultBattery: a power supply's battery is low (Subject: the power input's
	// id). Contact ID 302, low system battery.
	FaultBattery FaultKind = "battery"
	// FaultPowerInput: the line of a power input (mains-fail, low-battery) cannot
	// be requested or read, so the supply is not supervised (Subject: the power
	// input's id). Contact ID 330, system peripheral trouble: the monitoring
	// input is a peripheral of the hub itself, not a zone (381) nor an expansion
	// module (333).
	FaultPowerInput FaultKind = "gpio"
	// FaultStuck: a life-safety detector (smoke, gas, carbon monoxide, water)
	// still reports its alarm long after the alarm was silenced (Subject: the
	// zone's id): stuck active, it cannot report a new fire until it clears.
	// Contact ID 373, fire loop trouble, for a fire zone, 380, sensor trouble,
	// for the others, with the zone's number. Isolating the zone takes it out of
	// the ready reasons.
	FaultStuck FaultKind = "stuck"
	// FaultCamera: a camera that should deliver video (always-on, or watched)
	// has delivered no frame for a while, connected but silent or unreachable
	// (Subject: the camera's name). Contact ID 330, system peripheral trouble,
	// with the camera's position in the configuration (1, 2, …): Contact ID has
	// no video code, and a camera is a peripheral of the hub, not a detector
	// (380) nor a communication path (350). It does not stand in the way of
	// arming: video verifies an alarm, it does not detect one, so a dead camera
	// loses the pictures but not the protection.
	FaultCamera FaultKind = "camera"
	// FaultDevice: a supervised device that is neither a zone nor an output
	// (a Zigbee keypad) has been silent longer than its check-in interval
	// (Subject: what it is, e.g. "keypad:hall"). Contact ID 381, loss of
	// supervision, with no point number; like a lost zone device it stands in
	// the way of arming until it is heard again or the arming is forced.
	FaultDevice FaultKind = "device"
	// FaultNotify: a notification target (ntfy, a webhook) has failed to take
	// notifications for a while (Subject: the target's name). Local only, never
	// reported to the centre (which gets the alarms itself; the homeowner's push
	// service is none of its business), and not in the way of arming: the
	// hub still protects and reports, only the homeowner's pushes are missing.
	FaultNotify FaultKind = "notify"
)

// FaultID names one fault: its kind and what it is about.
type FaultID struct {
	Kind    FaultKind
	Subject string // path name, output id; empty for the storage fault
}

// String renders the id as it is written in logs, events and the stored state:
// "uplink:primary", "uplink:primary:clock", "output:outdoor_siren", "storage",
// "broker".
func (f FaultID) String() string {
	switch {
	case f.Subject == "":
		return string(f.Kind)
	case f.Kind == FaultUplinkClock:
		return "uplink:" + f.Subject + ":clock"
	}
	return string(f.Kind) + ":" + f.Subject
}

// MarshalText writes the id as String does, so it can key a JSON object.
func (f FaultID) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText reads what MarshalText wrote.
func (f *FaultID) UnmarshalText(b []byte) error {
	s := string(b)
	if s == "" {
		return fmt.Errorf("fault id is empty")
	}
	kind, subject, found := strings.Cut(s, ":")
	switch {
	case !found:
		*f = FaultID{Kind: FaultKind(s)}
	case kind == "uplink" && strings.HasSuffix(subject, ":clock"):
		*f = FaultID{Kind: FaultUplinkClock, Subject: strings.TrimSuffix(subject, ":clock")}
	default:
		*f = FaultID{Kind: FaultKind(kind), Subject: subject}
	}
	return nil
}

// reason is the ready-to-arm reason a fault gives.
func (f FaultID) reason() string {
	switch f.Kind {
	case FaultUplinkPath, FaultUplinkClock:
		return "uplink_down"
	case FaultOutput:
		return "output_failed"
	case FaultStorage:
		return "storage_failed"
	case FaultBroker:
		return "broker_down"
	case FaultZigbee:
		return "zigbee_down"
	case FaultMains:
		return "mains_failed"
	case FaultBattery:
		return "battery_low"
	case FaultPowerInput:
		return "power_input_failed"
	case FaultStuck:
		return "detector_stuck"
	case FaultCamera:
		return "camera_fault"
	case FaultDevice:
		return "device_lost"
	case FaultNotify:
		return "notify_failed"
	}
	return string(f.Kind) + "_fault"
}
