// Package zigbee connects Zigbee devices to the hub through Zigbee2MQTT, which
// is a client of the embedded MQTT broker: sensors become zone signals, sirens
// are outputs an output.Keeper drives, keypads arm and disarm.
//
// # Topics
//
// An Adapter subscribes to everything under the base topic (default
// "zigbee2mqtt"). Handlers run on the publishing client's goroutine: they parse,
// work out the hub inputs under the adapter's lock, and hand them to the hub
// with Post, in order (one goroutine posts at a time; inputs queued meanwhile,
// also by the hub's own reaction to them, are posted by it before it lets go).
// Nothing waits for a keypad's code check there: keypad requests go to Run.
//
// Devices are learnt from the retained bridge/devices, and every copy of it is
// the whole truth. A device's alarm-relevant properties come from its exposes:
// binary exposes readable in the state (contact, occupancy, smoke, water_leak,
// gas, carbon_monoxide, vibration, tamper, battery_low, test …) with the value
// that means active (value_on: contact is active, open, when false), battery and
// voltage, the one-shot action, and the siren interface (an IAS WD warning
// composite, an alarm START/OFF, a Tuya alarm true/false). A topic is resolved
// against the friendly names in bridge/devices, longest first, never by
// splitting on '/'. Bindings name devices by IEEE address: a rename keeps them.
// Devices no zone, output or keypad is bound to are listed by Discovered.
//
// # Levels, not messages
//
// A state message carries the whole cached state, and Zigbee2MQTT republishes
// every cached state when it starts. The adapter keeps each device's last known
// value per property and, per zone, the levels it last posted (open, tamper,
// low battery, offline); a message posts only the levels that differ. The first
// message after Vakt starts posts the zone's levels (the hub ignores a level it
// already has), so a restart re-reads them. null is unknown, not false, and
// changes nothing; so does a value that is neither value_on nor value_off (it is
// logged). action is one-shot: a zone bound to the action property opens and
// closes on each. A detector reporting test: true is under test: its alarm is
// logged, not posted (the hub has no test signal); a smoke still reported when
// the test ends is posted. A device leaving the network, or vanishing from
// bridge/devices, is a tamper of its zones until it is back.
//
// A life-safety detector still reporting its alarm long after the alarm was
// silenced is stuck active (stuck.go); a motion or vibration zone may have a
// clear rule that takes it as closed when the device's clear does not come
// (pulse.go).
//
// # Supervision
//
// Zigbee2MQTT's availability is off by default and waits 25 h for battery
// devices, so the adapter supervises devices itself: any state message is a
// check-in, and a device silent past its zone's check-in interval (by default
// DefaultCheckInBattery or DefaultCheckInMains by power source) is lost: its
// zones go offline, and come back with its next message. Zigbee2MQTT's own
// availability (JSON or the 1.x bare word) also sets zones offline and online.
// bridge/state offline (Zigbee2MQTT's last will) raises the fault FaultBridge:
// every Zigbee device's state is unknown. Check does the supervision at the
// injected clock's time; Run calls it.
//
// # Sirens
//
// The Adapter is an output.Driver. On is an IAS WD warning with mode, level,
// strobe and an explicit duration longer than the keeper's refresh, so a siren
// stops by itself soon after Vakt stops commanding it; off is a stop. Sirens that
// take only emergency (Heiman HS2WD-E) get emergency; alarm START/OFF and Tuya
// alarm true/false devices get those. Nothing is ever published retained under
// the base topic. A warning publishes no state; a Tuya siren's reported alarm is
// the keeper's Feedback. A siren is Reachable while it is in bridge/devices and
// neither it nor Zigbee2MQTT is offline. When Zigbee2MQTT comes online, or
// subscribes to a siren's /set topic (Subscribed, from the broker), the keeper
// resends the siren's level: Zigbee2MQTT keeps no commands across a restart.
// A siren bound with Squawk chirps when the system is armed and disarmed
// (squawk.go).
//
// # Keypads
//
// An IAS ACE keypad's arm or disarm (action with action_code and
// action_transaction) goes through the hub's code check (Panel.Do) with the
// keypad as its own lockout source ("keypad:<ieee>"); the answer is an arm_mode
// with the keypad's transaction (the mode, invalid_code, not_ready or
// already_disarmed). The panel status (arm_mode without a transaction:
// exit_delay and entry_delay with the time left, in_alarm, the armed modes,
// disarm) follows the hub's state, and is sent again when Zigbee2MQTT comes
// back. emergency and panic raise a panic as the keypad. A repeated transaction
// number within dedupeFor is the keypad's retry and is dropped.
package zigbee
