package zigbee

import "testing"

func TestCommandTopic(t *testing.T) {
	for topic, want := range map[string]bool{
		"zigbee2mqtt/hall siren/set":             true,
		"zigbee2mqtt/floor 1/hall/siren/set":     true,
		"zigbee2mqtt/hall siren/set/warning":     true,
		"zigbee2mqtt/bridge/request/permit_join": true,
		"zigbee2mqtt/hall siren":                 false,
		"zigbee2mqtt/hall siren/get":             false,
		"zigbee2mqtt/settings":                   false,
		"zigbee2mqtt/bridge/devices":             false,
		"other/hall siren/set":                   false,
		"zigbee2mqttx/a/set":                     false,
	} {
		if got := CommandTopic("zigbee2mqtt/", topic); got != want {
			t.Errorf("CommandTopic(%q) = %t, want %t", topic, got, want)
		}
	}
}
