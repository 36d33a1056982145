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
	"vakt/sensors/gpio"
	"vakt/sensors/mqttdev"
)

// gpioYAML binds wired zones, a relay and a power supply's trouble outputs.
const gpioYAML = `zones:
  - {id: front_door, name: Front door, number: 1, type: entry_exit,
     gpio: {chip: gpiochip0, line: 17, bias: pull-up}}
  - {id: hall_pir, name: Hall motion, number: 2, type: follower,
     gpio: {line: 22, bias: pull-up, debounce: 50ms, tamper: {line: 23, bias: pull-up}}}
  - {id: garage, name: Garage, number: 3, type: perimeter,
     mqtt: {topic: shellies/garage}}
outputs:
  - {id: siren, name: Siren, kind: siren, number: 1, gpio: {line: 27, active_low: true}}
power:
  - {id: psu, gpio: {line: 5, means: mains_fail, debounce: 5s}}
  - {id: psu_battery, gpio: {line: GPIO6, means: low_battery}}
`

func wantGPIOSplit() (hub.Config, Set) {
	cfg := hub.Config{
		Zones: []hub.Zone{
			{ID: "front_door", Name: "Front door", Number: 1, Type: hub.ZoneEntryExit},
			{ID: "hall_pir", Name: "Hall motion", Number: 2, Type: hub.ZoneFollower},
			{ID: "garage", Name: "Garage", Number: 3, Type: hub.ZonePerimeter},
		},
		Outputs: []hub.Output{{ID: "siren", Name: "Siren", Kind: hub.OutputSiren, Number: 1}},
	}
	s := Set{
		MQTT: mqttdev.Bindings{Zones: map[string]mqttdev.ZoneBinding{"garage": {Topic: "shellies/garage"}}},
		GPIO: gpio.Bindings{
			Zones: map[string]gpio.ZoneBinding{
				"front_door": {Pin: gpio.Pin{Chip: "gpiochip0", Line: "17"}, Bias: gpio.BiasPullUp},
				"hall_pir": {Pin: gpio.Pin{Line: "22"}, Bias: gpio.BiasPullUp, Debounce: hub.Duration(50 * time.Millisecond),
					Tamper: &gpio.TamperPin{Pin: gpio.Pin{Line: "23"}, Bias: gpio.BiasPullUp}},
				"psu":         {Pin: gpio.Pin{Line: "5"}, Means: gpio.MainsFail, Debounce: hub.Duration(5 * time.Second)},
				"psu_battery": {Pin: gpio.Pin{Line: "GPIO6"}, Means: gpio.LowBattery},
			},
			Outputs: map[string]gpio.OutputBinding{"siren": {Pin: gpio.Pin{Line: "27", ActiveLow: true}}},
		},
	}
	return cfg, s
}

// The exported file: each gpio block inside its entry, the power inputs in
// their own list, by id.
const gpioExport = `settings:
  exit_delay: {}
  entry_delay: {}
  siren_duration: 0s
  swinger_limit: 0
  pin_length: 0
  lockout_attempts: 0
  lockout_window: 0s
  lockout_duration: 0s
  walk_test_timeout: 0s
  maintenance_timeout: 0s
  confirm_window: 0s
  entry_report_delay: 0s
  mains_report_delay: 0s
  retention_events: 0
  retention_age: 0s
zones:
  - id: front_door
    name: Front door
    number: 1
    type: entry_exit
    gpio:
      chip: gpiochip0
      line: "17"
      bias: pull-up
  - id: hall_pir
    name: Hall motion
    number: 2
    type: follower
    gpio:
      line: "22"
      bias: pull-up
      debounce: 50ms
      tamper:
        line: "23"
        bias: pull-up
  - id: garage
    name: Garage
    number: 3
    type: perimeter
    mqtt:
      topic: shellies/garage
users: []
outputs:
  - id: siren
    name: Siren
    kind: siren
    number: 1
    gpio:
      line: "27"
      active_low: true
power:
  - id: psu
    gpio:
      line: "5"
      debounce: 5s
      means: mains_fail
  - id: psu_battery
    gpio:
      line: GPIO6
      means: low_battery
`

func TestGPIOYAMLSplitJoin(t *testing.T) {
	f := decodeStrict(t, []byte(gpioYAML))
	cfg, s := f.Split()
	wantCfg, wantSet := wantGPIOSplit()
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
	if buf.String() != gpioExport {
		t.Errorf("exported YAML:\n%s\nwant:\n%s", buf.String(), gpioExport)
	}
	// Read back, it splits into the same bindings and exports the same file.
	cfg2, s2 := decodeStrict(t, buf.Bytes()).Split()
	if !reflect.DeepEqual(s2.GPIO, wantSet.GPIO) {
		t.Errorf("YAML round trip: gpio bindings\n got %+v\nwant %+v", s2.GPIO, wantSet.GPIO)
	}
	buf.Reset()
	enc = yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(Join(cfg2, s2)); err != nil {
		t.Fatal(err)
	}
	if buf.String() != gpioExport {
		t.Errorf("exported again:\n%s", buf.String())
	}
}

// The store keeps the bindings as the adapter's JSON, and a set without GPIO
// bindings is stored as before.
func TestGPIOJSONRoundTrip(t *testing.T) {
	cfg, s := wantGPIOSplit()
	raw, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"mqtt":{"zones":{"garage":{"topic":"shellies/garage"}}},"gpio":{"zones":{` +
		`"front_door":{"chip":"gpiochip0","line":"17","bias":"pull-up"},` +
		`"hall_pir":{"line":"22","bias":"pull-up","debounce":"50ms","tamper":{"line":"23","bias":"pull-up"}},` +
		`"psu":{"line":"5","debounce":"5s","means":"mains_fail"},` +
		`"psu_battery":{"line":"GPIO6","means":"low_battery"}},` +
		`"outputs":{"siren":{"line":"27","active_low":true}}}}`
	if string(raw) != want {
		t.Errorf("Set JSON\n got %s\nwant %s", raw, want)
	}
	if got, err := Unmarshal(raw); err != nil || !reflect.DeepEqual(got, s) {
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
	s.GPIO = gpio.Bindings{}
	if raw, err := s.Marshal(); err != nil || string(raw) != `{"mqtt":{"zones":{"garage":{"topic":"shellies/garage"}}}}` {
		t.Errorf("without gpio: %s %v", raw, err)
	}
}

func TestGPIOValidate(t *testing.T) {
	cfg, _ := wantGPIOSplit()
	for _, tc := range []struct {
		name string
		set  func(s *Set)
		want []string
	}{
		{"valid", func(*Set) {}, nil},
		{"zone bound by mqtt and gpio", func(s *Set) {
			s.MQTT.Zones["front_door"] = mqttdev.ZoneBinding{Topic: "door"}
		}, []string{`zones[0] "front_door": bound by more than one adapter (mqtt, gpio): one device per zone`}},
		{"output bound by mqtt and gpio", func(s *Set) {
			s.MQTT.Outputs = map[string]mqttdev.OutputBinding{"siren": {Topic: "cmnd/siren", On: "ON", Off: "OFF"}}
		}, []string{`outputs[0] "siren": bound by more than one adapter (mqtt, gpio): one driver per output`}},
		{"a line bound twice across a zone and an output", func(s *Set) {
			s.GPIO.Outputs["siren"] = gpio.OutputBinding{Pin: gpio.Pin{Line: "17"}}
		}, []string{`gpio: invalid binding: line gpiochip0:17 is bound twice: zone front_door and output siren`}},
		{"a debounce that hides a 400ms signal", func(s *Set) {
			b := s.GPIO.Zones["front_door"]
			b.Debounce = hub.Duration(400 * time.Millisecond)
			s.GPIO.Zones["front_door"] = b
		}, []string{`gpio: invalid binding: zone front_door: debounce 400ms is too long: a contact signal of 400ms must be detected (EN 50131), keep it below 400ms`}},
		{"a zone's line meaning mains_fail", func(s *Set) {
			s.GPIO.Zones["front_door"] = gpio.ZoneBinding{Pin: gpio.Pin{Line: "17"}, Means: gpio.MainsFail}
		}, []string{`zones[0] "front_door": gpio: a mains_fail line is a power input, not a zone: bind it in a power entry`}},
		{"a power input that is a contact", func(s *Set) {
			s.GPIO.Zones["psu"] = gpio.ZoneBinding{Pin: gpio.Pin{Line: "5"}}
		}, []string{`gpio: "psu" is neither a configured zone nor a power input (means mains_fail or low_battery)`}},
		{"a gpio binding of an unknown output", func(s *Set) {
			s.GPIO.Outputs["horn"] = gpio.OutputBinding{Pin: gpio.Pin{Line: "26"}}
		}, []string{`gpio: binding of output "horn", which is not configured`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, s := wantGPIOSplit()
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

// A power entry without a line, and one given twice, are refused.
func TestGPIOPowerEntries(t *testing.T) {
	f := decodeStrict(t, []byte(`power:
  - {id: psu}
  - {id: ups, gpio: {line: 5, means: mains_fail}}
  - {id: ups, gpio: {line: 6, means: low_battery}}
`))
	cfg, s := f.Split()
	err := s.Validate(cfg)
	want := `power "ups": duplicate id` + "\n" +
		`gpio: "psu" is neither a configured zone nor a power input (means mains_fail or low_battery)` + "\n" +
		`gpio: invalid binding: zone psu: no line (an offset such as 17, or a line name)`
	if err == nil || err.Error() != want {
		t.Errorf("errors\n got %v\nwant %s", err, want)
	}
}
