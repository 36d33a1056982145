package mqttdev

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"vakt/hub"
)

func TestDecode(t *testing.T) {
	plain := ZoneBinding{Topic: "t"}
	tasmota := ZoneBinding{Topic: "t", Field: "POWER"}
	z2m := ZoneBinding{Topic: "t", Field: "contact", Open: []string{"false"}, Closed: []string{"true"},
		TamperField: "tamper", BatteryLowField: "battery_low"}
	shelly := ZoneBinding{Topic: "t", Field: "state", TamperValue: "tampered"}
	both := ZoneBinding{Topic: "t", Field: "state", TamperValue: "tampered",
		TamperField: "tamper", Tamper: []string{"yes"}, BatteryLowField: "battery_low"}
	tests := []struct {
		name    string
		z       ZoneBinding
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
		// Found by FuzzDecode: the state's tamper value and a tamper field that
		// says no gave a tamper and its restore in one message.
		{"tamper value and a tamper field that says no: a tamper", both, `{"state":"tampered","tamper":false}`,
			[]hub.Signal{hub.SigTamper}, false},
		{"closed but the tamper field says yes: a tamper", both, `{"state":"closed","tamper":"yes","battery_low":1}`,
			[]hub.Signal{hub.SigClose, hub.SigTamper, hub.SigLowBattery}, false},
		{"closed, no tamper anywhere: its restore once", both, `{"state":"closed","tamper":"no"}`,
			[]hub.Signal{hub.SigClose, hub.SigTamperRestore}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode("door", tc.z, []byte(tc.payload))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// fuzzZones are the bindings FuzzDecode reads payloads with: the shapes of real
// devices, and one with every option at once.
var fuzzZones = []ZoneBinding{
	{Topic: "t"},
	{Topic: "t", Field: "POWER"},
	{Topic: "t", Field: "contact", Open: []string{"false"}, Closed: []string{"true"},
		TamperField: "tamper", BatteryLowField: "battery_low"},
	{Topic: "t", Field: "state", TamperValue: "tampered"},
	{Topic: "t", Field: "state", TamperValue: "tampered", TamperField: "tamper",
		Tamper: []string{"yes"}, BatteryLowField: "battery_low"},
}

// FuzzDecode: any payload on a zone's topic gives signals that make sense together,
// or a clear, short error (it is logged): never a panic.
// Found by FuzzDecode: a long value was put whole into the error and its log line.
func TestDecodeErrorIsShort(t *testing.T) {
	_, err := Decode("door", ZoneBinding{Topic: "t"}, []byte("x"+strings.Repeat("é", 400)))
	want := `zone door: value "x` + strings.Repeat("é", 19) + `…" on t is neither open nor closed`
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"contact":false,"tamper":true}`, "ON", "off", "", "null", "[]", `{"state":"tampered","tamper":false}`,
		`{"state":"closed","tamper":"yes","battery_low":1}`, `{"POWER":{"x":1}}`, `{"contact":1e400}`,
		`{"state":"` + strings.Repeat("é", 40) + `"}`, strings.Repeat("x", 400), `{"state":"` + strings.Repeat("y", 400) + `"}`,
	} {
		for i := range fuzzZones {
			f.Add([]byte(s), uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, which uint8) {
		z := fuzzZones[int(which)%len(fuzzZones)]
		sigs, err := Decode("door", z, b)
		if err != nil {
			if sigs != nil {
				t.Errorf("signals with an error: %v", sigs)
			}
			if msg := err.Error(); !utf8.ValidString(msg) || len(msg) > 300 {
				t.Errorf("error not short, valid text (%d bytes): %q", len(msg), msg)
			}
			return
		}
		seen := map[hub.Signal]bool{}
		for _, s := range sigs {
			if seen[s] {
				t.Errorf("signal %s twice: %v", s, sigs)
			}
			seen[s] = true
		}
		for _, pair := range [][2]hub.Signal{{hub.SigOpen, hub.SigClose}, {hub.SigTamper, hub.SigTamperRestore},
			{hub.SigLowBattery, hub.SigBatteryOK}} {
			if seen[pair[0]] && seen[pair[1]] {
				t.Errorf("%s and %s at once: %v", pair[0], pair[1], sigs)
			}
		}
	})
}
