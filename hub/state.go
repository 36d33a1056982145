package hub

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"time"
)

// State is the live, persisted state of the alarm system. It is a plain value: the
// core returns a new one for every input, and the store keeps the latest.
type State struct {
	Name StateName `json:"name"`
	// Mode is the armed (or arming) mode; empty when disarmed.
	Mode Mode `json:"mode,omitempty"`
	// Prev is the state to return to when a triggered alarm's siren cuts off.
	Prev          StateName `json:"prev,omitempty"`
	ExitDeadline  time.Time `json:"exit_deadline,omitzero"`
	EntryDeadline time.Time `json:"entry_deadline,omitzero"`
	EntryZone     string    `json:"entry_zone,omitempty"`
	AlarmStart    time.Time `json:"alarm_start,omitzero"`
	SirenUntil    time.Time `json:"siren_until,omitzero"`
	// Sounding lists the output kinds that are on.
	Sounding []OutputKind `json:"sounding,omitempty"`
	// AlarmZone is the zone that caused the current alarm.
	AlarmZone string `json:"alarm_zone,omitempty"`
	// AlarmReported: an alarm report of the current alarm was queued for the
	// centre (not only held). Only then does a disarm send a cancel (406).
	AlarmReported bool `json:"alarm_reported,omitempty"`
	// ClosingReported: the arming was completed and its closing report (3401)
	// queued. Only then does a disarm send an opening report (1401).
	ClosingReported bool  `json:"closing_reported,omitempty"`
	ArmedBy         Actor `json:"armed_by"`

	// Held are alarm reports held during the unsetting period until HeldUntil.
	Held      []Report      `json:"held,omitempty"`
	HeldUntil time.Time     `json:"held_until,omitzero"`
	Verify    *Verification `json:"verify,omitempty"`

	Zones       map[string]ZoneState `json:"zones"`
	Lockout     Lockout              `json:"lockout"`
	WalkTest    *WalkTest            `json:"walk_test,omitempty"`
	Maintenance *Maintenance         `json:"maintenance,omitempty"`
	// Faults are the active system faults.
	Faults map[FaultID]bool `json:"faults,omitempty"`
	// FaultsDue are the active faults whose report is delayed (a mains failure,
	// Settings.MainsReportDelay), with when it is due. A fault restored before
	// then is never reported; one that is active and not here was reported.
	FaultsDue map[FaultID]time.Time `json:"faults_due,omitempty"`
}

// ZoneState is the live state of one zone.
type ZoneState struct {
	Open       bool `json:"open,omitempty"`
	Tamper     bool `json:"tamper,omitempty"`
	Offline    bool `json:"offline,omitempty"`
	LowBattery bool `json:"low_battery,omitempty"`
	// Bypassed lasts until the next disarm; Forced marks a bypass made by a forced arm.
	Bypassed bool `json:"bypassed,omitempty"`
	Forced   bool `json:"forced,omitempty"`
	// Isolated lasts until the zone is un-isolated.
	Isolated bool `json:"isolated,omitempty"`
	// Alarms counts the alarms this zone caused in this arming period (swinger shutdown).
	Alarms int `json:"alarms,omitempty"`
	// Latched: the zone caused an alarm and has not closed since; it cannot retrigger.
	Latched bool `json:"latched,omitempty"`
	// TamperReported: this zone's tamper was reported (1383); its restore is
	// reported too (3383), and only then.
	TamperReported bool `json:"tamper_reported,omitempty"`
}

// Verification tracks sequential alarm confirmation in one arming period.
type Verification struct {
	FirstZone  string    `json:"first_zone"`
	FirstEntry bool      `json:"first_entry"`
	Until      time.Time `json:"until"`
	Confirmed  bool      `json:"confirmed"`
}

// Lockout counts wrong codes. Each source (a keypad, a web client, an MQTT
// account) has its own count and lock, so that one source cannot lock the others
// out; Failures, WindowStart and Until count every source together (the global
// lock, at GlobalLockoutFactor times the per-source limit), so that guessing across
// interfaces stays bounded too.
type Lockout struct {
	Failures    int       `json:"failures,omitempty"`
	WindowStart time.Time `json:"window_start,omitzero"`
	Until       time.Time `json:"until,omitzero"`
	// Sources are the sources with wrong codes in their window, or locked.
	Sources map[string]CodeCount `json:"sources,omitempty"`
}

// CodeCount is one source's wrong codes in its window, and its lock.
type CodeCount struct {
	Failures    int       `json:"failures,omitempty"`
	WindowStart time.Time `json:"window_start,omitzero"`
	Until       time.Time `json:"until,omitzero"`
}

// GlobalLockoutFactor: wrong codes from all sources together lock all code entry
// at this many times lockout_attempts.
const GlobalLockoutFactor = 3

// Locked reports whether all code entry is refused at now (the global lock).
func (l Lockout) Locked(now time.Time) bool { return now.Before(l.Until) }

// LockedFor reports whether code entry from source is refused at now, by its own
// lock or the global one, and until when.
func (l Lockout) LockedFor(source string, now time.Time) (until time.Time, locked bool) {
	if l.Locked(now) {
		until = l.Until
	}
	if c, ok := l.Sources[source]; ok && now.Before(c.Until) && c.Until.After(until) {
		until = c.Until
	}
	return until, !until.IsZero()
}

// LockedSources returns the sources locked now (whose lock has not yet been
// ended by the core's timer), sorted.
func (l Lockout) LockedSources() []string {
	var ss []string
	for s, c := range l.Sources {
		if !c.Until.IsZero() {
			ss = append(ss, s)
		}
	}
	slices.Sort(ss)
	return ss
}

func (l Lockout) equal(o Lockout) bool {
	return l.Failures == o.Failures && l.WindowStart.Equal(o.WindowStart) && l.Until.Equal(o.Until) &&
		maps.EqualFunc(l.Sources, o.Sources, func(a, b CodeCount) bool {
			return a.Failures == b.Failures && a.WindowStart.Equal(b.WindowStart) && a.Until.Equal(b.Until)
		})
}

// SourceOf names the source of a request for the wrong-code count: the interface
// and the device (keypad id, client address).
func SourceOf(via Via, device string) string { return string(via) + ":" + device }

// WalkTest is a running walk test.
type WalkTest struct {
	By    Actor           `json:"by"`
	Until time.Time       `json:"until"`
	Seen  map[string]bool `json:"seen"`
}

// Maintenance is the service mode that suppresses tamper alarms.
type Maintenance struct {
	By    Actor     `json:"by"`
	Until time.Time `json:"until"`
}

// Armed reports whether the system protects in some mode (arming, armed, pending, or
// triggered from an armed state).
func (s State) Armed() bool {
	return s.Mode != ""
}

// Batch is what the core asks the store to commit in one transaction: the events, the
// reports queued for the monitoring centre, the new state, and the new domain
// configuration when it was changed (Hub.ChangeConfig).
type Batch struct {
	Events  []Event
	Reports []Report // Report.Event is the index into Events of the event it reports
	State   State
	// Config is the configuration after the latest change in the batch, stored in
	// place of the one stored before (the adapters' bindings stay as they are);
	// nil when the batch changes none.
	Config *Config
	// Bindings are the adapters' bindings after the latest change of them in the
	// batch (JSON, opaque to the hub), stored in place of the stored ones in the
	// same transaction; nil when the batch changes none.
	Bindings json.RawMessage
}

// equal reports whether s and o are the same state. It is the hub's cheap test for
// "something changed" after every input.
func (s State) equal(o State) bool {
	if s.Name != o.Name || s.Mode != o.Mode || s.Prev != o.Prev || !s.ExitDeadline.Equal(o.ExitDeadline) ||
		!s.EntryDeadline.Equal(o.EntryDeadline) || s.EntryZone != o.EntryZone || !s.AlarmStart.Equal(o.AlarmStart) ||
		!s.SirenUntil.Equal(o.SirenUntil) || s.AlarmZone != o.AlarmZone || s.ArmedBy != o.ArmedBy ||
		s.AlarmReported != o.AlarmReported || s.ClosingReported != o.ClosingReported ||
		!s.HeldUntil.Equal(o.HeldUntil) || !s.Lockout.equal(o.Lockout) {
		return false
	}
	sameZones := reflect.ValueOf(s.Zones).UnsafePointer() == reflect.ValueOf(o.Zones).UnsafePointer()
	if !slices.Equal(s.Sounding, o.Sounding) || !sameZones && !maps.Equal(s.Zones, o.Zones) || !maps.Equal(s.Faults, o.Faults) ||
		!maps.EqualFunc(s.FaultsDue, o.FaultsDue, time.Time.Equal) ||
		!slices.EqualFunc(s.Held, o.Held, func(a, b Report) bool {
			return a.Seq == b.Seq && a.Code == b.Code && a.Zone == b.Zone && a.Time.Equal(b.Time)
		}) {
		return false
	}
	if (s.Verify == nil) != (o.Verify == nil) || s.Verify != nil && *s.Verify != *o.Verify {
		return false
	}
	if (s.Maintenance == nil) != (o.Maintenance == nil) || s.Maintenance != nil && *s.Maintenance != *o.Maintenance {
		return false
	}
	if (s.WalkTest == nil) != (o.WalkTest == nil) {
		return false
	}
	return s.WalkTest == nil || s.WalkTest.By == o.WalkTest.By && s.WalkTest.Until.Equal(o.WalkTest.Until) &&
		maps.Equal(s.WalkTest.Seen, o.WalkTest.Seen)
}
