package zigbee

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"vakt/hub"
)

func keypadMsg(action, code string, tx int) string {
	return fmt.Sprintf(`{"action":%q,"action_code":%q,"action_transaction":%d,"action_zone":23,"battery":100,"battery_low":false,"tamper":false}`,
		action, code, tx)
}

const kpSet = "zigbee2mqtt/hall_keypad/set "

// A keypad arms and disarms through the hub's code check, with its own source
// for the lockout; it gets an answer with its transaction, then the panel status
// without one whenever the hub's state changes, and again after Zigbee2MQTT
// restarts.
func TestKeypad(t *testing.T) {
	r := started(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- r.a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	expect(t, "start", r.bus.wait(t, 1), []string{kpSet + `{"arm_mode":{"mode":"disarm"}} retain=false`})

	r.bus.send("zigbee2mqtt/hall_keypad", keypadMsg("arm_all_zones", "1234", 42))
	expect(t, "accepted", r.bus.wait(t, 1), []string{kpSet + `{"arm_mode":{"mode":"arm_all_zones","transaction":42}} retain=false`})
	r.panel.set(hub.State{Name: hub.Arming, Mode: hub.ModeAway, ExitDeadline: r.clock.Now().Add(30 * time.Second)})
	expect(t, "exit delay", r.bus.wait(t, 1), []string{kpSet + `{"arm_mode":{"delay":30,"mode":"exit_delay"}} retain=false`})
	r.panel.set(hub.State{Name: hub.ArmedAway, Mode: hub.ModeAway})
	expect(t, "armed", r.bus.wait(t, 1), []string{kpSet + `{"arm_mode":{"mode":"arm_all_zones"}} retain=false`})

	r.bus.send("zigbee2mqtt/hall_keypad", keypadMsg("disarm", "0000", 43))
	r.bus.send("zigbee2mqtt/hall_keypad", keypadMsg("disarm", "0000", 43)) // the keypad's retry
	r.bus.send("zigbee2mqtt/hall_keypad", keypadMsg("disarm", "1234", 44))
	expect(t, "wrong code, retry dropped, right code", r.bus.wait(t, 2), []string{
		kpSet + `{"arm_mode":{"mode":"invalid_code","transaction":43}} retain=false`,
		kpSet + `{"arm_mode":{"mode":"disarm","transaction":44}} retain=false`,
	})
	r.panel.set(hub.State{Name: hub.Pending, Mode: hub.ModeAway, EntryDeadline: r.clock.Now().Add(20*time.Second + time.Millisecond)})
	r.panel.set(hub.State{Name: hub.Triggered, Mode: hub.ModeAway})
	r.panel.set(hub.State{Name: hub.Disarmed})
	expect(t, "entry, alarm, disarmed", r.bus.wait(t, 3), []string{
		kpSet + `{"arm_mode":{"delay":21,"mode":"entry_delay"}} retain=false`,
		kpSet + `{"arm_mode":{"mode":"in_alarm"}} retain=false`,
		kpSet + `{"arm_mode":{"mode":"disarm"}} retain=false`,
	})
	r.bus.send("zigbee2mqtt/hall_keypad", keypadMsg("disarm", "1234", 45))
	r.panel.mu.Lock()
	r.panel.ready = false
	r.panel.mu.Unlock()
	r.bus.send("zigbee2mqtt/hall_keypad", keypadMsg("arm_night_zones", "1234", 46))
	expect(t, "already disarmed, not ready", r.bus.wait(t, 2), []string{
		kpSet + `{"arm_mode":{"mode":"already_disarmed","transaction":45}} retain=false`,
		kpSet + `{"arm_mode":{"mode":"not_ready","transaction":46}} retain=false`,
	})
	// Zigbee2MQTT keeps the panel status in memory only.
	r.bus.send("zigbee2mqtt/bridge/state", `{"state":"offline"}`)
	r.bus.send("zigbee2mqtt/bridge/state", `{"state":"online"}`)
	expect(t, "after restart", r.bus.wait(t, 1), []string{kpSet + `{"arm_mode":{"mode":"disarm"}} retain=false`})
	// A fob has no transaction: it is not answered. It has no code either: it acts
	// as the user whose tags list it.
	r.bus.send("zigbee2mqtt/fob_bob", `{"action":"arm_day_zones","action_code":""}`)
	r.bus.send("zigbee2mqtt/hall_keypad", keypadMsg("arm_day_zones", "1234", 47))
	expect(t, "fob then keypad", r.bus.wait(t, 1), []string{kpSet + `{"arm_mode":{"mode":"not_ready","transaction":47}} retain=false`})

	r.panel.mu.Lock()
	var reqs []string
	for _, q := range r.panel.reqs {
		reqs = append(reqs, fmt.Sprintf("%s %s code=%s tag=%s via=%s device=%s source=%s", q.Kind, q.Mode, q.Cred.Code, q.Cred.Tag, q.Via, q.Device, q.Source))
	}
	r.panel.mu.Unlock()
	src := " tag= via=keypad device=hall_keypad source=keypad:" + ieeeKeypad
	expect(t, "requests", reqs, []string{
		"arm away code=1234" + src,
		"disarm  code=0000" + src,
		"disarm  code=1234" + src,
		"arm night code=1234" + src,
		"arm home code= tag=" + ieeeFob + " via=fob device=bob source=keypad:" + ieeeFob,
		"arm home code=1234" + src,
	})
	expect(t, "inputs", slices.DeleteFunc(r.hub.take(), func(s string) bool {
		return s == "keypad online" || s == "keypad tamper_restore" || s == "keypad battery_ok" || s[:5] == "fault"
	}), nil)
}

// An exit delay longer than a keypad can count (255 s) is sent as 255 s, and
// again when the time left fits, so the keypad's countdown ends with the hub's.
func TestKeypadLongExitDelay(t *testing.T) {
	r := started(t)
	r.a.mu.Lock()
	r.a.kpState(hub.State{Name: hub.Arming, Mode: hub.ModeAway, ExitDeadline: r.clock.Now().Add(5 * time.Minute)})
	r.a.mu.Unlock()
	r.a.flush()
	expect(t, "exit delay", r.bus.take(), []string{kpSet + `{"arm_mode":{"delay":255,"mode":"exit_delay"}} retain=false`})
	if next := r.a.Check(); !next.Equal(r.clock.Now().Add(45 * time.Second)) {
		t.Errorf("next check %s", next)
	}
	r.clock.Add(44 * time.Second)
	r.a.Check()
	expect(t, "not yet", r.bus.take(), nil)
	r.clock.Add(time.Second)
	r.a.Check()
	expect(t, "the time left fits", r.bus.take(), []string{kpSet + `{"arm_mode":{"delay":255,"mode":"exit_delay"}} retain=false`})
	r.clock.Add(time.Minute)
	r.a.Check()
	expect(t, "sent once", r.bus.take(), nil)
}
