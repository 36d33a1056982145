package hub

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Input is anything that drives the core: a sensor signal, a command, a timer tick, a
// rejected credential, a system fault.
type Input interface{ input() }

// Signal is what a sensor reports about a zone.
type Signal string

// Sensor signals. They are levels: a repeated Open while already open changes nothing.
const (
	SigOpen          Signal = "open"
	SigClose         Signal = "close"
	SigTamper        Signal = "tamper"
	SigTamperRestore Signal = "tamper_restore"
	SigOffline       Signal = "offline"
	SigOnline        Signal = "online"
	SigLowBattery    Signal = "low_battery"
	SigBatteryOK     Signal = "battery_ok"
)

// Sensor is a signal from a zone's device.
type Sensor struct {
	Zone   string
	Signal Signal
}

// Tick asks the core to act on every deadline that has passed.
type Tick struct{}

// CommandKind is what a command asks for.
type CommandKind string

// Commands.
const (
	CmdArm              CommandKind = "arm"
	CmdDisarm           CommandKind = "disarm"
	CmdBypass           CommandKind = "bypass"
	CmdUnbypass         CommandKind = "unbypass"
	CmdIsolate          CommandKind = "isolate"
	CmdUnisolate        CommandKind = "unisolate"
	CmdPanic            CommandKind = "panic"
	CmdSilentPanic      CommandKind = "silent_panic"
	CmdWalkTestStart    CommandKind = "walk_test_start"
	CmdWalkTestStop     CommandKind = "walk_test_stop"
	CmdMaintenanceStart CommandKind = "maintenance_start"
	CmdMaintenanceStop  CommandKind = "maintenance_stop"
)

// Command is an authenticated request. Who names the user (or device); Role is the
// user's role, empty for devices and the system itself (keyswitch, schedules), which
// act with full authority over arming.
type Command struct {
	Kind   CommandKind
	Mode   Mode
	Force  bool
	Zone   string
	Who    Actor
	Role   Role
	Duress bool // the user entered their duress code
	ByCode bool // authenticated by a code: resets its source's wrong-code count
	// NoCode: an account allowed to arm without a code (arm_without_code). It
	// only arms a disarmed system: changing the mode of an armed one (away to
	// home) would lower the protection.
	NoCode bool
	// Source is where the command came from, for the wrong-code count (see
	// Refused.Source); empty means SourceOf(Who.Via, Who.Device).
	Source string
}

// Refused records a request refused before it reached the core's logic: a wrong code
// (which counts toward the lockout), a refusal during lockout, or a user outside
// their schedule.
type Refused struct {
	Who    Actor
	Reason RefuseReason
	Detail string
	// Source is what wrong codes are counted against: a keypad, a web client, an
	// MQTT account. Empty means SourceOf(Who.Via, Who.Device).
	Source string
}

// RefuseReason says why a request was refused.
type RefuseReason string

// Refusal reasons.
const (
	RefusedWrongCode RefuseReason = "wrong_code"
	RefusedLocked    RefuseReason = "locked"
	RefusedSchedule  RefuseReason = "schedule"
)

// Fault sets or clears a system fault.
type Fault struct {
	ID     FaultID
	Active bool
	Detail string
	// Point is the zone field of the fault's report where the kind has one: for
	// an uplink path, which path failed (1 primary, 2 backup).
	Point int
}

// TestReport asks for a test report to the monitoring centre: Contact ID 602
// (periodic, from the uplink's schedule) or 601 (manual, by a user).
type TestReport struct {
	Manual bool
	Who    Actor
}

// SelfTestResult records the result of a guided self-test of the whole system
// (the web app's wizard: arm, leave, open a door, siren, the centre's ACK,
// disarm): an event, kept as long as arming events, and nothing else.
type SelfTestResult struct {
	Who    Actor
	Passed bool
	Detail string // the steps, done and not done
}

// Restored records that the database was put back from a backup, after the
// restart that put it in place: who asked for it, from which backup, and where the
// database it replaced was kept. An event, kept as long as arming events, and
// nothing else.
type Restored struct {
	Who    Actor
	Detail string
}

// CameraView records one finished live view of a camera (the web app's live
// view, a WHEP player, an operator's link): who watched which camera, from when
// and for how long, and why the view ended. An event, and nothing else.
type CameraView struct {
	Who      Actor
	Camera   string
	Start    time.Time
	Duration time.Duration
	Ended    string // "viewer left", "connection failed", "closed by the hub", …
}

func (CameraView) input()     {}
func (Restored) input()       {}
func (TestReport) input()     {}
func (SelfTestResult) input() {}
func (Sensor) input()         {}
func (Tick) input()           {}
func (Command) input()        {}
func (Refused) input()        {}
func (Fault) input()          {}

// Effect is something the core asks the world to do.
type Effect interface{ effect() }

// SetOutput switches every output of a kind. Pulse asks for a short chime.
type SetOutput struct {
	Kind  OutputKind
	On    bool
	Pulse bool
}

// Record asks for an event (and the reports it causes) to be committed.
type Record struct {
	Event   Event
	Reports []Report
}

// Result answers the command that caused it: nil, or an *Error.
type Result struct{ Err error }

func (SetOutput) effect() {}
func (Record) effect()    {}
func (Result) effect()    {}

// ErrorKind is a small, stable set of failure kinds that interfaces map to their own
// codes (HTTP status, MQTT event names).
type ErrorKind string

// Error kinds.
const (
	ErrNotReady   ErrorKind = "not_ready"   // arming refused: see Reasons
	ErrNotAllowed ErrorKind = "not_allowed" // not in this state
	ErrDenied     ErrorKind = "denied"      // the user may not do this
	ErrBadCode    ErrorKind = "bad_code"
	ErrLocked     ErrorKind = "locked"
	ErrInvalid    ErrorKind = "invalid" // malformed request: unknown zone, mode, command
	ErrInternal   ErrorKind = "internal"
)

// Error is a domain error.
type Error struct {
	Kind    ErrorKind
	Msg     string
	Reasons []Reason
}

func (e *Error) Error() string {
	if len(e.Reasons) == 0 {
		return e.Msg
	}
	rs := make([]string, len(e.Reasons))
	for i, r := range e.Reasons {
		rs[i] = r.String()
	}
	return e.Msg + ": " + strings.Join(rs, ", ")
}

// String renders a reason as "zone: reason".
func (r Reason) String() string {
	if r.Zone == "" {
		return r.Reason
	}
	return r.Zone + ": " + r.Reason
}

// KindOf returns the kind of a domain error, ErrInternal for any other error, "" for nil.
func KindOf(err error) ErrorKind {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ErrInternal
}

func errorf(kind ErrorKind, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}
