package mqttapi

import (
	"strings"
	"testing"

	"vakt/hub"
)

// Accounts named in arm_without_code arm with a plain ARM_* payload, as Home
// Assistant's code_arm_required: false sends it; they never disarm without a code,
// and other accounts need a code for everything.
func TestArmWithoutCode(t *testing.T) {
	cfg := sysConfig(t)
	cfg.Settings.ArmWithoutCode = []string{"homeassistant"}
	const (
		ready    = `"ready":{"away":true,"home":true,"night":true,"vacation":true},"not_ready_reasons":{"away":null,"home":null,"night":null,"vacation":null}`
		unlocked = `"locked_out":false,"locked_out_sources":[]`
	)
	tests := []struct {
		account  string
		commands []string
		want     []string
	}{
		{"homeassistant", []string{`{"action":"ARM_AWAY","code":""}`, "DISARM", `{"command":"ARM_HOME","force":true}`, "PANIC", "ARM_HOME"}, []string{
			`vakt/event {"class":"arming","event":"armed","mode":"away","seq":2,"state":"armed_away","time":"2026-11-25T20:00:00Z","who":{"device":"mqtt:homeassistant/watcher","via":"mqtt"}}`,
			`vakt/state armed_away`,
			`vakt/attributes {"state":"armed_away","arm_mode":"away","changed_by":"mqtt:homeassistant/watcher via mqtt","open_sensors":[],"bypassed_sensors":[],` + ready + `,` + unlocked + `}`,
			`vakt/event {"command":"disarm","detail":"a code is required","event":"NO_CODE_PROVIDED","source":"mqtt:homeassistant/watcher","state":"armed_away"}`,
			`vakt/event {"command":"arm","detail":"a code is required","event":"NO_CODE_PROVIDED","source":"mqtt:homeassistant/watcher","state":"armed_away"}`,
			`vakt/event {"command":"panic","detail":"a code is required","event":"NO_CODE_PROVIDED","source":"mqtt:homeassistant/watcher","state":"armed_away"}`,
			`vakt/event {"command":"arm","detail":"without a code only a disarmed system is armed, not forced","event":"COMMAND_NOT_ALLOWED","source":"mqtt:homeassistant/watcher","state":"armed_away"}`,
			`INFO event type=armed zone= state=armed_away who=mqtt:homeassistant/watcher via mqtt detail=`,
			`WARN mqttapi: bad command err=unknown command "MARKER" client=mqtt:homeassistant/watcher`,
		}},
		{"zigbee2mqtt", []string{"ARM_AWAY"}, []string{
			`vakt/event {"command":"arm","detail":"a code is required","event":"NO_CODE_PROVIDED","source":"mqtt:zigbee2mqtt/watcher","state":"disarmed"}`,
			`WARN mqttapi: bad command err=unknown command "MARKER" client=mqtt:zigbee2mqtt/watcher`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.account, func(t *testing.T) {
			s := startSystem(t, cfg, tc.account)
			s.logs.take()
			for _, c := range tc.commands {
				s.command(t, c)
			}
			got := append(s.settle(t), s.logs.take()...)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(tc.want, "\n\t"))
			}
			if st := s.h.Snapshot().State; tc.account == "homeassistant" && st.ArmedBy != (hub.Actor{Device: "mqtt:homeassistant/watcher", Via: hub.ViaMQTT}) {
				t.Errorf("armed by %+v", st.ArmedBy)
			}
		})
	}
}
