package mqttapi

import (
	"strings"
	"testing"

	"vakt/hub"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		in      string
		want    Command
		wantErr bool
	}{
		{"ARM_AWAY", Command{Kind: hub.CmdArm, Mode: hub.ModeAway}, false},
		{"arm_home", Command{Kind: hub.CmdArm, Mode: hub.ModeHome}, false},
		{"DISARM\n", Command{Kind: hub.CmdDisarm}, false},
		{"TRIGGER", Command{Kind: hub.CmdPanic}, false},
		{`{"command":"ARM_NIGHT","code":"012345","force":true}`, Command{Kind: hub.CmdArm, Mode: hub.ModeNight, Code: "012345", Force: true}, false},
		{`{"action":"DISARM","code":"123456"}`, Command{Kind: hub.CmdDisarm, Code: "123456"}, false},
		{`{"command":"arm_away","bypass_open_sensors":true}`, Command{Kind: hub.CmdArm, Mode: hub.ModeAway, Force: true}, false},
		{`{"command":"DISARM","code":123456}`, Command{Kind: hub.CmdDisarm, Code: "123456",
			Warning: "code sent as a number; send it as a string to keep leading zeros"}, false},
		{`{"command":"BYPASS","zone":"window","code":"1"}`, Command{Kind: hub.CmdBypass, Zone: "window", Code: "1"}, false},
		{`{"command":"DISARM","code":{"x":1}}`, Command{}, true},
		{`{"command":"SELF_DESTRUCT"}`, Command{}, true},
		{`{"command":`, Command{}, true},
		{"OPEN_SESAME", Command{}, true},
		{"", Command{}, true},
		{`{"command":"x` + strings.Repeat("é", 30) + `"}`, Command{}, true},
	}
	// A long unknown command is cut at a character's boundary.
	_, err := ParseCommand([]byte(`{"command":"x` + strings.Repeat("é", 30) + `"}`))
	if want := `unknown command "x` + strings.Repeat("é", 19) + `…"`; err == nil || err.Error() != want {
		t.Errorf("long command: %v, want %s", err, want)
	}
	for _, tc := range tests {
		got, err := ParseCommand([]byte(tc.in))
		if (err != nil) != tc.wantErr {
			t.Errorf("%q: err %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%q: got %+v, want %+v", tc.in, got, tc.want)
		}
	}
}
