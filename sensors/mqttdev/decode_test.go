package mqttdev

import (
	"slices"
	"testing"

	"vakt/hub"
)

func TestDecode(t *testing.T) {
	plain := hub.Zone{ID: "door", MQTT: &hub.MQTTZone{Topic: "t"}}
	tasmota := hub.Zone{ID: "door", MQTT: &hub.MQTTZone{Topic: "t", Field: "POWER"}}
	z2m := hub.Zone{ID: "door", MQTT: &hub.MQTTZone{Topic: "t", Field: "contact", Open: []string{"false"}, Closed: []string{"true"},
		TamperField: "tamper", BatteryLowField: "battery_low"}}
	shelly := hub.Zone{ID: "door", MQTT: &hub.MQTTZone{Topic: "t", Field: "state", TamperValue: "tampered"}}
	tests := []struct {
		name    string
		z       hub.Zone
		payload string
		want    []hub.Signal
		wantErr bool
	}{
		{"plain ON", plain, "ON", []hub.Signal{hub.SigOpen}, false},
		{"plain off lower case", plain, " off\n", []hub.Signal{hub.SigClose}, false},
		{"plain 1", plain, "1", []hub.Signal{hub.SigOpen}, false},
		{"plain garbage", plain, "maybe", nil, true},
		{"json field", tasmota, `{"POWER":"ON"}`, []hub.Signal{hub.SigOpen}, false},
		{"json field missing", tasmota, `{"other":1}`, nil, true},
		{"json malformed", tasmota, `{"POWER":`, nil, true},
		{"json not an object", tasmota, `[1,2]`, nil, true},
		{"z2m contact open, tamper, low battery", z2m, `{"contact":false,"tamper":true,"battery_low":true}`,
			[]hub.Signal{hub.SigOpen, hub.SigTamper, hub.SigLowBattery}, false},
		{"z2m contact closed, all well", z2m, `{"contact":true,"tamper":false,"battery_low":false}`,
			[]hub.Signal{hub.SigClose, hub.SigTamperRestore, hub.SigBatteryOK}, false},
		{"z2m without contact field still reads tamper", z2m, `{"tamper":true}`, []hub.Signal{hub.SigTamper}, false},
		{"tamper value", shelly, `{"state":"tampered"}`, []hub.Signal{hub.SigTamper}, false},
		{"tamper value restore on close", shelly, `{"state":"closed"}`, []hub.Signal{hub.SigClose, hub.SigTamperRestore}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(tc.z, []byte(tc.payload))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"contact":false,"tamper":true}`))
	f.Add([]byte("ON"))
	z := hub.Zone{ID: "door", MQTT: &hub.MQTTZone{Topic: "t", Field: "contact", TamperField: "tamper", BatteryLowField: "b"}}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = Decode(z, b) // must not panic
	})
}
