// Package gpio binds wired zones and outputs to GPIO lines on the Linux GPIO
// character device (uAPI v2, through go-gpiocdev): door contacts, detector and
// tamper loops, keyswitches and power-supply trouble outputs as inputs; siren
// and strobe relays as outputs.
//
// # Bindings
//
// ZoneBinding and OutputBinding say which line (chip, offset or name) and how it
// is wired (active low, bias, debounce); a zone binding also says what the line
// means (contact, tamper, keyswitch, mains_fail, low_battery). The adapters take
// them as maps from zone or output id; Validate checks them (a line bound twice,
// an unknown meaning, a debounce that would hide a 400 ms alarm signal).
//
// # Chips
//
// Chips is the small interface the adapters need from the kernel: request a
// line (input with both edges, bias and debounce; or output at a level), read
// it, set it, release it. Cdev implements it with go-gpiocdev; Fake is an
// in-memory chip set with the kernel's debounce, bias and busy semantics, for
// tests. Probe tells a machine without GPIO chips apart (ErrNoChips), so the hub
// can start with GPIO off.
//
// # Zones
//
// Zones.Run requests the input lines, posts their levels, then re-reads them
// every Options.Poll (posting only changes: a lost edge heals) and requests
// again lines that failed, until its context is cancelled. An edge is posted
// from the chip's event goroutine straight into the hub's Post, which switches
// the outputs before it returns and never waits for the disk. Levels are
// signals: a contact or keyswitch line posts open/close (the core arms and
// disarms a keyswitch zone as the keyswitch), a tamper line tamper and its
// restore. A line that cannot be requested or read makes its zone offline;
// mains-fail and low-battery lines raise the hub's system faults
// (hub.FaultMains, reported after the mains report delay; hub.FaultBattery), and
// a trouble line that cannot be used raises hub.FaultPowerInput.
//
// # Outputs
//
// Outputs is an output.Driver for the output.Keeper: Drive writes the line's
// active or inactive level at once (a pulse ends by itself), Reachable is true
// while the line is requested, and Run reads each line back every poll as the
// keeper's feedback and requests again lines that failed (the keeper then
// drives them again). A failed write is an error, which the keeper turns into
// the output's fault. Close releases the lines after the keeper's Stop.
//
// Goroutines: Zones.Run and Outputs.Run are the callers' goroutines, stopped by
// their contexts; go-gpiocdev runs one event goroutine per requested input line,
// stopped when the line is released; a pulse runs one timer.
package gpio
