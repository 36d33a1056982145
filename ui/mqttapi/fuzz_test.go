package mqttapi

import (
	"strings"
	"testing"
	"unicode/utf8"

	"vakt/hub"
)

// FuzzParseCommand: any payload on the command topic is a command or a clear,
// short error (it is logged and published): never a panic, never half a command.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{
		"ARM_AWAY", "disarm\n", "PANIC", "SILENT_PANIC", "", "   ", "{}",
		`{"command":"ARM_NIGHT","code":"012345","force":true}`,
		`{"action":"DISARM","code":"123456"}`,
		`{"command":"DISARM","code":123456}`,
		`{"command":"DISARM","code":1e400}`,
		`{"command":"BYPASS","zone":"window","code":"1"}`,
		`{"command":"arm_away","bypass_open_sensors":true,"code":null}`,
		`{"command":["ARM_AWAY"]}`,
		`{"command":"` + strings.Repeat("é", 30) + `"}`,
		strings.Repeat("ü", 30),
	} {
		f.Add([]byte(s))
	}
	kinds := map[hub.CommandKind]bool{}
	for _, c := range plain {
		kinds[c.Kind] = true
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, err := ParseCommand(payload)
		again, err2 := ParseCommand(payload)
		if c != again || (err == nil) != (err2 == nil) {
			t.Fatalf("two parses differ: %+v %v / %+v %v", c, err, again, err2)
		}
		if err != nil {
			if c != (Command{}) {
				t.Errorf("an error with a command: %+v", c)
			}
			msg := err.Error()
			if !utf8.ValidString(msg) || len(msg) > 300 {
				t.Errorf("error not short, valid text (%d bytes): %q", len(msg), msg)
			}
			return
		}
		if !kinds[c.Kind] {
			t.Errorf("unknown kind %q", c.Kind)
		}
		if (c.Kind == hub.CmdArm) != c.Mode.Valid() {
			t.Errorf("kind %q with mode %q", c.Kind, c.Mode)
		}
		if c.Warning != "" && c.Code == "" {
			t.Errorf("a warning without a code: %+v", c)
		}
	})
}
