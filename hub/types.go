package hub

import (
	"time"
)

// Mode is an arming mode.
type Mode string

// Arming modes.
const (
	ModeAway     Mode = "away"
	ModeHome     Mode = "home" // perimeter only
	ModeNight    Mode = "night"
	ModeVacation Mode = "vacation"
)

// Modes lists every arming mode in display order.
var Modes = []Mode{ModeAway, ModeHome, ModeNight, ModeVacation}

// Valid reports whether m is a known mode.
func (m Mode) Valid() bool {
	switch m {
	case ModeAway, ModeHome, ModeNight, ModeVacation:
		return true
	}
	return false
}

// StateName is the alarm state, spelled as Home Assistant spells it.
type StateName string

// States, with Home Assistant's names.
const (
	Disarmed      StateName = "disarmed"
	Arming        StateName = "arming"
	ArmedAway     StateName = "armed_away"
	ArmedHome     StateName = "armed_home"
	ArmedNight    StateName = "armed_night"
	ArmedVacation StateName = "armed_vacation"
	Pending       StateName = "pending"
	Triggered     StateName = "triggered"
)

// ArmedState returns the armed state name of mode m.
func ArmedState(m Mode) StateName { return StateName("armed_" + string(m)) }

// ZoneType says how a zone behaves.
type ZoneType string

// Zone types.
const (
	ZoneEntryExit   ZoneType = "entry_exit"   // delayed: starts the entry delay
	ZoneInstant     ZoneType = "instant"      // alarm at once when armed
	ZoneFollower    ZoneType = "follower"     // interior follower: delayed only while an entry delay runs
	ZonePerimeter   ZoneType = "perimeter"    // shell: doors and windows, instant, active in every mode
	ZoneTamper      ZoneType = "tamper"       // 24 h
	ZoneFire        ZoneType = "fire"         // 24 h
	ZonePanic       ZoneType = "panic"        // 24 h, audible
	ZoneSilentPanic ZoneType = "silent_panic" // 24 h, silent
	ZoneWater       ZoneType = "water"        // 24 h
	ZoneCO          ZoneType = "co"           // 24 h
	ZoneKeyswitch   ZoneType = "keyswitch"    // closed→open arms away, open→closed disarms
)

// ZoneTypes lists every zone type.
var ZoneTypes = []ZoneType{ZoneEntryExit, ZoneInstant, ZoneFollower, ZonePerimeter,
	ZoneTamper, ZoneFire, ZonePanic, ZoneSilentPanic, ZoneWater, ZoneCO, ZoneKeyswitch}

// Is24h reports whether zones of type t are armed in every state.
func (t ZoneType) Is24h() bool {
	switch t {
	case ZoneTamper, ZoneFire, ZonePanic, ZoneSilentPanic, ZoneWater, ZoneCO:
		return true
	}
	return false
}

// Valid reports whether t is a known zone type.
func (t ZoneType) Valid() bool {
	for _, z := range ZoneTypes {
		if z == t {
			return true
		}
	}
	return false
}

// Delay overrides a zone type's delay behaviour.
type Delay string

// Delay overrides.
const (
	DelayDefault Delay = ""
	DelayInstant Delay = "instant"
	DelayDelayed Delay = "delayed"
)

// Role is what a user may do.
type Role string

// Roles.
const (
	RoleAdmin Role = "admin"
	RoleUser  Role = "user"
	RoleGuest Role = "guest"
)

// Via names the interface a command or event came through.
type Via string

// Interfaces.
const (
	ViaWeb       Via = "web"
	ViaAPI       Via = "api"
	ViaKeypad    Via = "keypad"
	ViaFob       Via = "fob"
	ViaKeyswitch Via = "keyswitch"
	ViaMQTT      Via = "mqtt"
	ViaSchedule  Via = "schedule"
	ViaSystem    Via = "system"
	ViaSensor    Via = "sensor"
	ViaCLI       Via = "cli"
)

// Actor says who did something: a user, or a device, or the system itself.
// Every event carries one; it is never empty.
type Actor struct {
	UserID   string `json:"user_id,omitempty"`
	UserName string `json:"user_name,omitempty"`
	UserNum  int    `json:"user_num,omitempty"` // Contact ID user number
	Device   string `json:"device,omitempty"`   // keypad, fob, zone or MQTT client id
	Via      Via    `json:"via"`
}

// String names the actor for logs.
func (a Actor) String() string {
	s := ""
	switch {
	case a.UserName != "":
		s = a.UserName
	case a.UserID != "":
		s = a.UserID
	case a.Device != "":
		s = a.Device
	default:
		s = "system"
	}
	if a.Device != "" && s != a.Device {
		s += " at " + a.Device
	}
	return s + " via " + string(a.Via)
}

// EventClass sorts events for retention: routine events go first.
type EventClass string

// Event classes. Alarm, tamper and arming events are mandatory.
const (
	ClassAlarm   EventClass = "alarm"
	ClassTamper  EventClass = "tamper"
	ClassArming  EventClass = "arming"
	ClassFault   EventClass = "fault"
	ClassRoutine EventClass = "routine"
)

// Mandatory reports whether events of class c are kept preferentially.
func (c EventClass) Mandatory() bool {
	return c == ClassAlarm || c == ClassTamper || c == ClassArming
}

// Event is one entry of the event log.
type Event struct {
	Seq     uint64     `json:"seq"` // assigned by the journal
	Time    time.Time  `json:"time"`
	Type    EventType  `json:"type"` // e.g. "armed", "alarm", "tamper", "code_rejected"
	Class   EventClass `json:"class"`
	Zone    string     `json:"zone,omitempty"`
	Mode    Mode       `json:"mode,omitempty"`
	State   StateName  `json:"state,omitempty"` // the state after the event
	Who     Actor      `json:"who"`
	Reasons []Reason   `json:"reasons,omitempty"`
	Zones   []string   `json:"zones,omitempty"` // e.g. walk test unseen zones, forced bypasses
	Detail  string     `json:"detail,omitempty"`
	// Silent events (duress, silent panic) are logged and reported but never shown on
	// keypads, state topics or event streams, where an intruder could see them.
	Silent bool `json:"silent,omitempty"`
	// Clip is the alarm clip a clip event records.
	Clip *ClipRef `json:"clip,omitempty"`
}

// Reason is one reason not to arm.
type Reason struct {
	Zone   string `json:"zone,omitempty"`
	Reason string `json:"reason"` // open, tamper, offline, low_battery, uplink_down, output_failed, storage_failed
	// Fault names the system fault behind a fault reason, e.g. "uplink:primary".
	Fault string `json:"fault,omitempty"`
}

// Report is one message for the monitoring centre, queued in the outbox in the same
// transaction as its event.
type Report struct {
	Seq       uint64    `json:"seq"`   // outbox sequence, assigned by the store
	Event     uint64    `json:"event"` // journal sequence of the event it reports
	Time      time.Time `json:"time"`
	Code      Code      `json:"code"`      // Contact ID event code, e.g. 130
	Qualifier int       `json:"qualifier"` // 1 new event / opening, 3 restore / closing, 6 previous
	Partition int       `json:"partition"`
	Zone      int       `json:"zone"` // zone number, or user number for open/close
	Alarm     bool      `json:"alarm"`
	Text      string    `json:"text,omitempty"`
}

// Contact ID qualifiers.
const (
	QualNew     = 1
	QualRestore = 3
)
