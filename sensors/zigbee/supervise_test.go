package zigbee

import (
	"strings"
	"testing"
	"time"

	"vakt/hub"
)

// Sirens are supervised like zone devices: a siren silent longer than its
// check-in interval (its binding's, or by power source: 30 min on mains, 3 h on
// battery) is lost: unreachable, so the output keeper fails its output; its next
// message makes it reachable again and its level is sent again.
func TestSirenSupervision(t *testing.T) {
	r := newRig(t, nil, map[string]OutputBinding{
		"hall_siren":   {IEEE: ieeeHallSiren},                                     // mains
		"garage_siren": {IEEE: ieeeGarageSiren, CheckIn: hub.Duration(time.Hour)}, // battery, its own interval
	}, nil)
	k := &keeperLog{}
	r.a.Bind(k)
	r.bus.send("zigbee2mqtt/bridge/devices", string(allDevices(t)))
	r.bus.send("zigbee2mqtt/bridge/state", `{"state":"online"}`)
	k.take()
	r.logs.take()
	r.hub.take()
	reachable := func() []string {
		var out []string
		for _, id := range []string{"garage_siren", "hall_siren"} {
			if r.a.Reachable(hub.Output{ID: id, Kind: hub.OutputSiren}) {
				out = append(out, id)
			}
		}
		return out
	}
	lost := func() []string {
		var out []string
		for _, l := range r.logs.take() {
			if strings.HasPrefix(l, "ERROR zigbee: device lost") {
				out = append(out, l)
			}
		}
		return out
	}
	if next := r.a.Check(); !next.Equal(r.clock.Now().Add(DefaultCheckInMains)) {
		t.Errorf("next check %s", next)
	}
	r.clock.Add(DefaultCheckInMains - time.Second)
	r.a.Check()
	expect(t, "within 30 min", reachable(), []string{"garage_siren", "hall_siren"})
	r.clock.Add(time.Second)
	r.a.Check()
	expect(t, "the mains siren lost", lost(), []string{"ERROR zigbee: device lost: silent longer than its check-in interval ieee=" +
		ieeeHallSiren + " bound_to=output hall_siren silent=30m0s checkin=30m0s"})
	expect(t, "reachable", reachable(), []string{"garage_siren"})
	r.bus.send("zigbee2mqtt/hall_siren", `{"ac_status":false,"alarm":false,"battery_low":false,"linkquality":134,"tamper":false,"test":false}`)
	expect(t, "heard again", reachable(), []string{"garage_siren", "hall_siren"})
	expect(t, "its level again", k.take(), []string{"resend [hall_siren]"})
	r.clock.Add(30 * time.Minute)
	r.a.Check()
	expect(t, "the battery siren lost after its own hour, the mains one again", lost(), []string{
		"ERROR zigbee: device lost: silent longer than its check-in interval ieee=" + ieeeGarageSiren +
			" bound_to=output garage_siren silent=1h0m0s checkin=1h0m0s",
		"ERROR zigbee: device lost: silent longer than its check-in interval ieee=" + ieeeHallSiren +
			" bound_to=output hall_siren silent=30m0s checkin=30m0s"})
	expect(t, "reachable at last", reachable(), nil)
	expect(t, "no hub input for sirens", r.hub.take(), nil)
}
