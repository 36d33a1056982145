package binding

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"vakt/hub"
	"vakt/sensors/mqttdev"
)

// domainYAML has the shape of the README's example: bindings inline in the entries.
const domainYAML = `zones:
  - {id: front_door, name: Front door, number: 1, type: entry_exit,
     mqtt: {topic: zigbee2mqtt/front_door, field: contact, open: ["false"], closed: ["true"],
            tamper_field: tamper, battery_low_field: battery_low}}
  - {id: kitchen_window, name: Kitchen window, number: 2, type: perimeter,
     mqtt: {topic: shellies/window/sensor/state}}
  - {id: hall, name: Hall motion, number: 3, type: follower}
users:
  - {id: anna, name: Anna, number: 1, role: admin, pin_hash: $argon2id$x}
outputs:
  - {id: outdoor_siren, name: Outdoor siren, kind: siren, number: 1, refresh: 30s, confirm: 10s,
     mqtt: {topic: cmnd/siren/POWER, "on": "ON", "off": "OFF", state_topic: stat/siren/POWER}}
  - {id: indoor, name: Indoor sounder, kind: sounder}
`

func wantSplit() (hub.Config, Set) {
	cfg := hub.Config{
		Zones: []hub.Zone{
			{ID: "front_door", Name: "Front door", Number: 1, Type: hub.ZoneEntryExit},
			{ID: "kitchen_window", Name: "Kitchen window", Number: 2, Type: hub.ZonePerimeter},
			{ID: "hall", Name: "Hall motion", Number: 3, Type: hub.ZoneFollower},
		},
		Users: []hub.User{{ID: "anna", Name: "Anna", Number: 1, Role: hub.RoleAdmin, PINHash: "$argon2id$x"}},
		Outputs: []hub.Output{
			{ID: "outdoor_siren", Name: "Outdoor siren", Kind: hub.OutputSiren, Number: 1,
				Refresh: hub.Duration(30e9), Confirm: hub.Duration(10e9)},
			{ID: "indoor", Name: "Indoor sounder", Kind: hub.OutputSounder},
		},
	}
	s := Set{MQTT: mqttdev.Bindings{
		Zones: map[string]mqttdev.ZoneBinding{
			"front_door": {Topic: "zigbee2mqtt/front_door", Field: "contact", Open: []string{"false"},
				Closed: []string{"true"}, TamperField: "tamper", BatteryLowField: "battery_low"},
			"kitchen_window": {Topic: "shellies/window/sensor/state"},
		},
		Outputs: map[string]mqttdev.OutputBinding{
			"outdoor_siren": {Topic: "cmnd/siren/POWER", On: "ON", Off: "OFF", StateTopic: "stat/siren/POWER"},
		},
	}}
	return cfg, s
}

func decodeStrict(t *testing.T, b []byte) File {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f File
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("decode: %v\n%s", err, b)
	}
	return f
}

// The YAML file keeps its shape: each entry's bindings inline, and it splits into
// the hub's configuration and the bindings, which join into the same file again.
func TestYAMLSplitJoin(t *testing.T) {
	f := decodeStrict(t, []byte(domainYAML))
	cfg, s := f.Split()
	wantCfg, wantSet := wantSplit()
	if !reflect.DeepEqual(cfg, wantCfg) {
		t.Errorf("config:\n got %+v\nwant %+v", cfg, wantCfg)
	}
	if !reflect.DeepEqual(s, wantSet) {
		t.Errorf("bindings:\n got %+v\nwant %+v", s, wantSet)
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
	// The mqtt block is inside the entry, after the zone's own fields.
	for _, want := range []string{
		"  - id: front_door\n    name: Front door\n    number: 1\n    type: entry_exit\n    mqtt:\n      topic: zigbee2mqtt/front_door\n",
		"  - id: hall\n    name: Hall motion\n    number: 3\n    type: follower\nusers:\n",
		"    confirm: 10s\n    mqtt:\n      topic: cmnd/siren/POWER\n      \"on\": \"ON\"\n      \"off\": \"OFF\"\n      state_topic: stat/siren/POWER\n",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("exported YAML lacks %q:\n%s", want, buf.String())
		}
	}
	cfg2, s2 := decodeStrict(t, buf.Bytes()).Split()
	cfg2.Settings = hub.Settings{} // written out in full, as zeros
	if !reflect.DeepEqual(cfg2, wantCfg) || !reflect.DeepEqual(s2, wantSet) {
		t.Errorf("YAML round trip:\n got %+v %+v", cfg2, s2)
	}
}

// The JSON form (the store's) flattens the embedded zone and output, and the
// bindings' own JSON round-trips.
func TestJSONRoundTrip(t *testing.T) {
	cfg, s := wantSplit()
	b, err := json.Marshal(Join(cfg, s).Zones[:2])
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"id":"front_door","name":"Front door","number":1,"type":"entry_exit",` +
		`"mqtt":{"topic":"zigbee2mqtt/front_door","field":"contact","open":["false"],"closed":["true"],"tamper_field":"tamper","battery_low_field":"battery_low"}},` +
		`{"id":"kitchen_window","name":"Kitchen window","number":2,"type":"perimeter","mqtt":{"topic":"shellies/window/sensor/state"}}]`
	if string(b) != want {
		t.Errorf("JSON\n got %s\nwant %s", b, want)
	}
	b, err = json.Marshal(Join(cfg, s))
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
	raw, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	wantRaw := `{"mqtt":{"zones":{"front_door":{"topic":"zigbee2mqtt/front_door","field":"contact","open":["false"],"closed":["true"],"tamper_field":"tamper","battery_low_field":"battery_low"},` +
		`"kitchen_window":{"topic":"shellies/window/sensor/state"}},"outputs":{"outdoor_siren":{"topic":"cmnd/siren/POWER","on":"ON","off":"OFF","state_topic":"stat/siren/POWER"}}}}`
	if string(raw) != wantRaw {
		t.Errorf("Set JSON\n got %s\nwant %s", raw, wantRaw)
	}
	if got, err := Unmarshal(raw); err != nil || !reflect.DeepEqual(got, s) {
		t.Errorf("Unmarshal = %+v, %v", got, err)
	}
	for _, empty := range []string{"", `{"mqtt":{}}`} {
		if got, err := Unmarshal(json.RawMessage(empty)); err != nil || !reflect.DeepEqual(got, Set{}) {
			t.Errorf("Unmarshal(%q) = %+v, %v", empty, got, err)
		}
	}
	if _, err := Unmarshal(json.RawMessage(`{"mqtt":7}`)); err == nil || !strings.HasPrefix(err.Error(), "binding: decode: ") {
		t.Errorf("Unmarshal of a damaged set: %v", err)
	}
}

// Every problem is reported, in the order of the configuration, then the bindings
// of ids the configuration does not have, then the topics the bindings share.
func TestValidate(t *testing.T) {
	cfg, _ := wantSplit()
	for _, tc := range []struct {
		name string
		set  func(s *Set)
		want []string
	}{
		{"valid", func(*Set) {}, nil},
		{"zone with an empty topic", func(s *Set) { s.MQTT.Zones["front_door"] = mqttdev.ZoneBinding{} },
			[]string{`zones[0] "front_door": mqtt: topic is empty`}},
		{"output with an empty topic", func(s *Set) {
			b := s.MQTT.Outputs["outdoor_siren"]
			b.Topic = ""
			s.MQTT.Outputs["outdoor_siren"] = b
		}, []string{`outputs[0] "outdoor_siren": mqtt: topic is empty`}},
		{"output reading its own command topic", func(s *Set) {
			b := s.MQTT.Outputs["outdoor_siren"]
			b.StateTopic = b.Topic
			s.MQTT.Outputs["outdoor_siren"] = b
		}, []string{`outputs[0] "outdoor_siren": mqtt: state_topic must differ from topic (the command would read as its own feedback)`}},
		{"output topic is a zone's", func(s *Set) {
			s.MQTT.Outputs["indoor"] = mqttdev.OutputBinding{Topic: "shellies/window/sensor/state", On: "1", Off: "0"}
		}, []string{`mqtt: output "indoor": topic shellies/window/sensor/state is also zone "kitchen_window"'s: a command would read as a detector`}},
		{"bindings of unknown ids", func(s *Set) {
			s.MQTT.Zones["garage"] = mqttdev.ZoneBinding{Topic: "g"}
			s.MQTT.Outputs["horn"] = mqttdev.OutputBinding{Topic: "h"}
			s.MQTT.Outputs["bell"] = mqttdev.OutputBinding{Topic: "b"}
		}, []string{`mqtt: binding of zone "garage", which is not configured`,
			`mqtt: binding of output "bell", which is not configured`,
			`mqtt: binding of output "horn", which is not configured`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, s := wantSplit()
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

// Join leaves out what the configuration does not have; Split of an entry without
// bindings makes none.
func TestJoinLeavesOutUnknownIDs(t *testing.T) {
	cfg, s := wantSplit()
	s.MQTT.Zones["garage"] = mqttdev.ZoneBinding{Topic: "g"}
	_, back := Join(cfg, s).Split()
	delete(s.MQTT.Zones, "garage")
	if !reflect.DeepEqual(back, s) {
		t.Errorf("got %+v", back)
	}
	if _, none := (File{Zones: []Zone{{Zone: hub.Zone{ID: "a"}}}}).Split(); !reflect.DeepEqual(none, Set{}) {
		t.Errorf("no bindings: %+v", none)
	}
}
