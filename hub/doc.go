// Package hub is the alarm domain: zones, modes, users and codes, events, and the state
// machine. It knows no I/O.
//
// # The core
//
// Core.Apply(now, state, input) returns the next state and a list of effects. Inputs
// are sensor signals (levels: open, close, tamper, offline, low battery and their
// restores), commands (arm, disarm, bypass, isolate, panic, walk test, maintenance)
// that already carry who issued them and through which interface, refusals (a wrong
// code, a refusal during lockout, a guest outside their schedule), system faults, and
// Tick, which acts on every deadline that has passed. Effects are, in order: switch
// outputs, record events with the reports they queue for the monitoring centre, and
// the command's result. The core reads no clock and holds no state of its own, so
// every decision is a table test.
//
// # The state machine in words
//
// A disarmed system arms in a mode (away, home = perimeter only, night, vacation) when
// it is ready: no open zone active in that mode, no tamper, no offline device, no low
// battery, no system fault. Otherwise arming is refused with those reasons, unless the
// user forces it, which bypasses the open zones until the next disarm and is logged
// and reported. Arming with an exit delay passes through "arming"; when the delay
// ends the closing report names the user, and zones that are open then count as
// opened.
//
// While armed, an entry/exit zone (or a zone with delay "delayed") starts the entry
// delay ("pending"); interior followers are quiet while it runs and instant
// otherwise; instant and perimeter zones trigger at once. An alarm ("triggered")
// switches on the sounder, siren and strobe until the siren duration ends, after which
// the system returns to its armed state. A zone that caused an alarm cannot retrigger
// until it has closed, and causes at most SwingerLimit alarms per arming period.
//
// An alarm during the unsetting procedure (an instant zone while the entry delay
// runs, or the entry delay expiring) warns locally at once but its report is held for
// EntryReportDelay: disarming in that time drops it. A second, different detector
// within ConfirmWindow confirms an alarm (Contact ID 139) and releases held reports.
//
// System faults (Fault) show and block arming at once. A mains failure
// (FaultMains) is reported (301) only if it is still active after
// MainsReportDelay, a deadline of Tick (State.FaultsDue); its restore is reported
// only when the failure was.
//
// 24-hour zones act in every state: fire, CO and panic sound everything; water sounds
// the internal sounder; silent panic only reports. Tamper is reported in every state,
// sounds the internal sounder while disarmed and is a full alarm while armed;
// maintenance mode (an admin's) logs tampers without alarms. A walk test records
// which zones were seen, without alarms. Disarming during an alarm silences it and
// queues a cancel report (406); a duress code disarms like the normal code and queues
// a silent duress report (121), with the normal code's answer in every state.
//
// Wrong codes are counted per source (a keypad, a web client, an MQTT account):
// LockoutAttempts within LockoutWindow lock that source for LockoutDuration, and
// GlobalLockoutFactor times as many from all sources lock all code entry. A lock's
// end is a deadline of Tick, so the state changes at that moment.
//
// # The actor
//
// Hub owns the live state. Every input is applied on the goroutine that brings it
// (an MQTT client's connection, a keypad's, the hub's timer), one at a time under
// one lock; an input that finds the lock taken is left in an inbox that the holder
// applies before letting go (flat combining), so neither a single alarm nor a flood
// of messages pays for a hand-over between goroutines. Sensor adapters call Post,
// which does not wait for the disk; interfaces call Do (which checks the credential
// with argon2id on the caller's goroutine, one hash at a time, against the
// wrong-code lockout of its source and of all sources) or Input, which answer after
// the commit. A change of the domain configuration while the hub runs (users,
// settings; ChangeConfig) is such an input too: applied in turn, checked, put in
// force by replacing the core, and recorded as a config_changed event that is
// committed together with the new configuration.
//
// After each input the outputs are switched at once, before anything else. The
// events and reports are numbered and queued for one journal writer goroutine, which
// commits everything queued since its last commit, with the state after it, in one
// transaction, in order; then it wakes the uplink, updates the snapshot, fans the
// update out to subscribers (dropping any that fall behind) and answers the callers.
// A commit that fails raises the storage fault: the reports are sent from memory
// (ReportQueue) and the events kept in memory, bounded, until the disk works again.
//
// The core's state-machine table is StateName.CanGo; every change of state goes
// through one function (step.enter).
//
// On start, Run applies the restart rules (Core.Resume): armed stays armed, an alarm
// resumes until its original cut-off, an entry delay keeps its deadline, an exit delay
// restarts from full. Cancelling Run's context stops taking inputs and flushes the
// journal (at most 5 s).
package hub
