package mqttapi

import (
	"context"
	"strings"
	"testing"
	"time"

	"vakt/hub"
)

// Wrong codes from one MQTT account lock that account, whatever its client id, and
// not the owner's keypad; the attributes say which source is locked, and say so
// no longer from the moment the lock ends.
func TestLockoutInAttributes(t *testing.T) {
	cfg := sysConfig(t)
	cfg.Settings.LockoutAttempts = 2
	s := startSystem(t, cfg, "zigbee2mqtt")
	s.logs.take()
	s.command(t, `{"command":"DISARM","code":"000000"}`)
	s.command(t, `{"command":"DISARM","code":"000001"}`)
	s.command(t, `{"command":"DISARM","code":"111111"}`)
	got := s.settle(t)
	const (
		ready = `"ready":{"away":true,"home":true,"night":true,"vacation":true},"not_ready_reasons":{"away":null,"home":null,"night":null,"vacation":null}`
		who   = `"who":{"device":"mqtt:zigbee2mqtt/watcher","via":"mqtt"}`
	)
	want := []string{
		`vakt/event {"class":"tamper","detail":"wrong PIN","event":"code_rejected","seq":2,"state":"disarmed","time":"2026-11-25T20:00:00Z",` + who + `}`,
		`vakt/event {"command":"disarm","detail":"wrong code","event":"INVALID_CODE_PROVIDED","source":"mqtt:zigbee2mqtt/watcher","state":"disarmed"}`,
		`vakt/event {"class":"tamper","detail":"wrong PIN","event":"code_rejected","seq":3,"state":"disarmed","time":"2026-11-25T20:00:00Z",` + who + `}`,
		`vakt/event {"class":"tamper","detail":"code entry from mqtt:zigbee2mqtt refused for 1m30s","event":"lockout","seq":4,"state":"disarmed","time":"2026-11-25T20:00:00Z",` + who + `}`,
		`vakt/attributes {"state":"disarmed","open_sensors":[],"bypassed_sensors":[],` + ready + `,"locked_out":false,"locked_out_sources":["mqtt:zigbee2mqtt"]}`,
		`vakt/event {"command":"disarm","detail":"wrong code","event":"INVALID_CODE_PROVIDED","source":"mqtt:zigbee2mqtt/watcher","state":"disarmed"}`,
		`vakt/event {"class":"tamper","detail":"from mqtt:zigbee2mqtt","event":"code_refused_locked","seq":5,"state":"disarmed","time":"2026-11-25T20:00:00Z",` + who + `}`,
		`vakt/event {"command":"disarm","detail":"code entry is locked until 2026-11-25T20:01:30Z","event":"LOCKED_OUT","source":"mqtt:zigbee2mqtt/watcher","state":"disarmed"}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
	// The owner's code at a keypad works meanwhile.
	if err := s.h.Do(context.Background(), hub.Request{Kind: hub.CmdArm, Mode: hub.ModeNight,
		Cred: hub.Credential{Code: "111111"}, Via: hub.ViaKeypad, Device: "kp1"}); err != nil {
		t.Fatalf("the owner's code: %v", err)
	}
	s.settle(t)
	// The lock's end is the hub's deadline; at it, the attributes say so.
	if got := s.h.Snapshot().Config.Settings.LockoutDuration.D(); got != 90*time.Second {
		t.Fatalf("lockout duration %s", got)
	}
	s.clock.Store(sysT0.Add(90 * time.Second).UnixNano())
	if err := s.h.Input(context.Background(), hub.Tick{}); err != nil {
		t.Fatal(err)
	}
	got = s.settle(t)
	want = []string{
		`vakt/event {"class":"tamper","detail":"code entry from mqtt:zigbee2mqtt allowed again","event":"lockout_end","seq":7,"state":"armed_night","time":"2026-11-25T20:01:30Z","who":{"device":"hub","via":"system"}}`,
		`vakt/attributes {"state":"armed_night","arm_mode":"night","changed_by":"Alice at kp1 via keypad","open_sensors":[],"bypassed_sensors":[],"ready":{"away":true,"home":true,"night":true,"vacation":true},"not_ready_reasons":{"away":null,"home":null,"night":null,"vacation":null},"locked_out":false,"locked_out_sources":[]}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("at the lock's end got:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}
