package hub

import (
	"strings"
	"testing"
)

// An output whose command topic is a zone's topic would feed its own commands back
// as detector signals: refused.
func TestOutputTopicIsNotAZoneTopic(t *testing.T) {
	cfg := testConfig()
	cfg.Zones[0].MQTT = &MQTTZone{Topic: "shared/topic"}
	cfg.Outputs = []Output{{ID: "siren", Name: "Siren", Kind: OutputSiren, MQTT: &MQTTOutput{Topic: "shared/topic", On: "ON", Off: "OFF"}}}
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), `mqtt.topic shared/topic is also zone "door"'s`) {
		t.Errorf("got %v", err)
	}
	cfg.Outputs[0].MQTT.Topic = "cmnd/siren"
	if err := cfg.Validate(); err != nil {
		t.Errorf("separate topics: %v", err)
	}
}
