package zigbee

import (
	"encoding/json"
	"maps"
	"slices"

	"vakt/hub"
)

// Arm and disarm squawks. A siren bound with Squawk chirps (its squawk, not its
// warning) when the system becomes armed (from disarmed or the exit delay) and
// when it is disarmed (from any other state). The hub's state at start is no
// change: no chirp then.

// squawkPayload is the /set payload of a squawk of siren binding b.
func squawkPayload(b OutputBinding, state string) ([]byte, error) {
	return json.Marshal(map[string]any{"squawk": map[string]any{"state": state, "level": b.Level, "strobe": b.Strobe == nil || *b.Strobe}})
}

// squawkState follows the hub's state st and queues the squawks it calls for.
// a.mu is held.
func (a *Adapter) squawkState(st hub.State) {
	was := a.lastState
	a.lastState = st.Name
	var state string
	switch {
	case was == "" || was == st.Name:
		return
	case (was == hub.Disarmed || was == hub.Arming) && slices.Contains([]hub.StateName{hub.ArmedAway, hub.ArmedHome, hub.ArmedNight, hub.ArmedVacation}, st.Name):
		state = "system_is_armed"
	case st.Name == hub.Disarmed:
		state = "system_is_disarmed"
	default:
		return
	}
	outs := a.outputs()
	for _, id := range slices.Sorted(maps.Keys(outs)) {
		b := outs[id]
		if !b.Squawk {
			continue
		}
		r := a.devs[b.IEEE]
		if r == nil || r.info == nil || !r.info.Squawk {
			a.log.Warn("zigbee: squawk not sent: the siren is not in bridge/devices, or has no squawk", "output", id, "ieee", b.IEEE)
			continue
		}
		payload, err := squawkPayload(b, state)
		if err != nil {
			continue
		}
		a.pubs = append(a.pubs, pub{a.base + "/" + r.info.FriendlyName + "/set", payload})
	}
}
