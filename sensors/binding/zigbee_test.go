package binding

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"vakt/hub"
	"vakt/sensors/mqttdev"
	"vakt/sensors/zigbee"
)

// zigbeeYAML is the README's Zigbee2MQTT example.
const zigbeeYAML = `zones:
  - id: front_door
    type: entry_exit
    zigbee: {ieee: "0x00158d0001a2b3c4"}
  - id: kitchen_smoke
    type: fire
    zigbee: {ieee: "0x000d6f0011cccc03", property: smoke, checkin: 90m}
outputs:
  - id: hall_siren
    kind: siren
    zigbee: {ieee: "0x0015bc001b02c3d4", mode: burglar, level: very_high, squawk: true}
keypads:
  - id: hall_keypad
    zigbee: {ieee: "0x0015bc002f00a1b2"}
`

func wantZigbee() (hub.Config, Set) {
	cfg := hub.Config{
		Zones: []hub.Zone{
			{ID: "front_door", Type: hub.ZoneEntryExit},
			{ID: "kitchen_smoke", Type: hub.ZoneFire},
		},
		Outputs: []hub.Output{{ID: "hall_siren", Kind: hub.OutputSiren}},
	}
	s := Set{Zigbee: zigbee.Bindings{
		Zones: map[string]zigbee.ZoneBinding{
			"front_door":    {IEEE: "0x00158d0001a2b3c4"},
			"kitchen_smoke": {IEEE: "0x000d6f0011cccc03", Property: "smoke", CheckIn: hub.Duration(90 * time.Minute)},
		},
		Outputs: map[string]zigbee.OutputBinding{
			"hall_siren": {IEEE: "0x0015bc001b02c3d4", Mode: "burglar", Level: "very_high", Squawk: true},
		},
		Keypads: map[string]zigbee.KeypadBinding{"hall_keypad": {IEEE: "0x0015bc002f00a1b2"}},
	}}
	return cfg, s
}

// The README's Zigbee example splits into the configuration and the zigbee
// bindings, validates, and comes back the same through YAML (export, import)
// and through JSON (the store's form).
func TestZigbeeRoundTrips(t *testing.T) {
	cfg, s := decodeStrict(t, []byte(zigbeeYAML)).Split()
	wantCfg, wantSet := wantZigbee()
	if !reflect.DeepEqual(cfg, wantCfg) || !reflect.DeepEqual(s, wantSet) {
		t.Fatalf("split:\n got %+v %+v\nwant %+v %+v", cfg, s, wantCfg, wantSet)
	}
	if err := s.Validate(cfg); err != nil {
		t.Errorf("Validate: %v", err)
	}

	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(Join(cfg, s)); err != nil {
		t.Fatal(err)
	}
	// Settings are written out in full (zeros here): compared from zones on.
	wantYAML := `zones:
  - id: front_door
    name: ""
    number: 0
    type: entry_exit
    zigbee:
      ieee: "0x00158d0001a2b3c4"
  - id: kitchen_smoke
    name: ""
    number: 0
    type: fire
    zigbee:
      ieee: "0x000d6f0011cccc03"
      property: smoke
      checkin: 1h30m0s
users: []
outputs:
  - id: hall_siren
    name: ""
    kind: siren
    zigbee:
      ieee: "0x0015bc001b02c3d4"
      mode: burglar
      level: very_high
      squawk: true
keypads:
  - id: hall_keypad
    zigbee:
      ieee: "0x0015bc002f00a1b2"
`
	_, got, _ := strings.Cut(buf.String(), "\nzones:\n")
	if "zones:\n"+got != wantYAML {
		t.Errorf("YAML\n got:\n%s\nwant:\n%s", buf.String(), wantYAML)
	}
	c2, s2 := decodeStrict(t, buf.Bytes()).Split()
	c2.Settings, c2.Users = hub.Settings{}, nil // written out in full, as zeros
	if !reflect.DeepEqual(c2, wantCfg) || !reflect.DeepEqual(s2, wantSet) {
		t.Errorf("YAML round trip:\n got %+v %+v", c2, s2)
	}

	raw, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	wantRaw := `{"mqtt":{},"zigbee":{"zones":{"front_door":{"ieee":"0x00158d0001a2b3c4"},` +
		`"kitchen_smoke":{"ieee":"0x000d6f0011cccc03","property":"smoke","checkin":"1h30m0s"}},` +
		`"outputs":{"hall_siren":{"ieee":"0x0015bc001b02c3d4","mode":"burglar","level":"very_high","squawk":true}},` +
		`"keypads":{"hall_keypad":{"ieee":"0x0015bc002f00a1b2"}}}}`
	if string(raw) != wantRaw {
		t.Errorf("Set JSON\n got %s\nwant %s", raw, wantRaw)
	}
	if got, err := Unmarshal(raw); err != nil || !reflect.DeepEqual(got, wantSet) {
		t.Errorf("Unmarshal = %+v, %v", got, err)
	}
	b, err := json.Marshal(Join(cfg, s))
	if err != nil {
		t.Fatal(err)
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if c2, s2 := f.Split(); !reflect.DeepEqual(c2, cfg) || !reflect.DeepEqual(s2, s) {
		t.Errorf("File JSON round trip:\n got %+v %+v", c2, s2)
	}
}

// Zigbee bindings go through the adapter's own checks; a zone or output bound by
// two adapters, a keypad without a device and two keypads on one device are
// errors. Every problem is listed.
func TestValidateZigbee(t *testing.T) {
	cfg, _ := wantZigbee()
	for _, tc := range []struct {
		name string
		set  func(s *Set)
		want []string
	}{
		{"valid", func(*Set) {}, nil},
		{"bad addresses, property, mode", func(s *Set) {
			s.Zigbee.Zones["front_door"] = zigbee.ZoneBinding{IEEE: "door"}
			s.Zigbee.Zones["kitchen_smoke"] = zigbee.ZoneBinding{IEEE: "0x000d6f0011cccc03", Property: "humidity"}
			s.Zigbee.Outputs["hall_siren"] = zigbee.OutputBinding{IEEE: "0x0015bc001b02c3d4", Mode: "loud"}
			s.Zigbee.Keypads["hall_keypad"] = zigbee.KeypadBinding{}
		}, []string{
			`zones[0] "front_door": zigbee: ieee "door" is not an IEEE address like 0x00158d0001a2b3c4`,
			`zones[1] "kitchen_smoke": zigbee: property "humidity" is not one of contact, occupancy, smoke, water_leak, gas, carbon_monoxide, vibration, presence, sos, alarm, tilt, window_open, garage_door_contact, water, action`,
			`outputs[0] "hall_siren": zigbee: mode "loud" is not one of burglar, fire, emergency, police_panic, fire_panic, emergency_panic`,
			`keypads "hall_keypad": zigbee: ieee "" is not an IEEE address like 0x00158d0001a2b3c4`,
		}},
		{"bound twice", func(s *Set) {
			s.MQTT.Zones = map[string]mqttdev.ZoneBinding{"front_door": {Topic: "door"}}
			s.MQTT.Outputs = map[string]mqttdev.OutputBinding{"hall_siren": {Topic: "siren", On: "1", Off: "0"}}
		}, []string{
			`zones[0] "front_door": bound by more than one adapter (mqtt, zigbee): one device per zone`,
			`outputs[0] "hall_siren": bound by more than one adapter (mqtt, zigbee): one driver per output`,
		}},
		{"unknown ids, one device two keypads", func(s *Set) {
			s.Zigbee.Zones["garage"] = zigbee.ZoneBinding{IEEE: "0x00158d0001a2b3c5"}
			s.Zigbee.Outputs["horn"] = zigbee.OutputBinding{IEEE: "0x00158d0001a2b3c6"}
			s.Zigbee.Keypads["fob"] = zigbee.KeypadBinding{IEEE: "0x0015BC002F00A1B2"}
		}, []string{
			`zigbee: binding of zone "garage", which is not configured`,
			`zigbee: binding of output "horn", which is not configured`,
			`keypads: zigbee: keypad "hall_keypad": device 0x0015bc002f00a1b2 is keypad "fob" already`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, s := wantZigbee()
			tc.set(&s)
			err := s.Validate(cfg)
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("errors\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// A keypad entry without a zigbee block is kept, so that Validate names it.
func TestKeypadWithoutBinding(t *testing.T) {
	_, s := File{Keypads: []Keypad{{ID: "fob"}}}.Split()
	want := Set{Zigbee: zigbee.Bindings{Keypads: map[string]zigbee.KeypadBinding{"fob": {}}}}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("got %+v", s)
	}
	if err := s.Validate(hub.Config{}); err == nil || err.Error() != `keypads "fob": zigbee: ieee "" is not an IEEE address like 0x00158d0001a2b3c4` {
		t.Errorf("Validate: %v", err)
	}
}
