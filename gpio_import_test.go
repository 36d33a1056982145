package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// gpioDomain binds a door, a siren relay and a power supply to GPIO lines.
const gpioDomain = `zones:
  - {id: door, name: Door, number: 1, type: entry_exit, gpio: {line: 17, bias: pull-up}}
  - {id: window, name: Window, number: 2, type: perimeter, mqtt: {topic: test/window}}
outputs:
  - {id: siren, name: Siren, kind: siren, gpio: {line: 27, active_low: true}}
power:
  - {id: psu, gpio: {line: 5, means: mains_fail}}
`

// The gpio bindings and the power inputs go into the store and come out of an
// export as they went in; an import that drops one names it and needs -replace.
func TestConfigImportGPIO(t *testing.T) {
	dir, _ := setupIn(t, t.TempDir(), gpioDomain)
	data := filepath.Join(dir, "data")
	export, imp := configCommands(t, data)
	original := export()
	_, rest, _ := strings.Cut(original, "zones:\n")
	wantZones := `  - id: door
    name: Door
    number: 1
    type: entry_exit
    gpio:
      line: "17"
      bias: pull-up
  - id: window
    name: Window
    number: 2
    type: perimeter
    mqtt:
      topic: test/window
users:
`
	if !strings.HasPrefix(rest, wantZones) {
		t.Errorf("exported zones:\n%s\nwant\n%s", rest, wantZones)
	}
	_, rest, _ = strings.Cut(rest, "outputs:\n")
	wantTail := `  - id: siren
    name: Siren
    kind: siren
    gpio:
      line: "27"
      active_low: true
power:
  - id: psu
    gpio:
      line: "5"
      means: mains_fail
`
	if rest != wantTail {
		t.Errorf("exported outputs and power:\n%s\nwant\n%s", rest, wantTail)
	}

	for _, tc := range []struct{ name, body, want string }{
		{"drops the gpio bindings and the power input", `zones:
  - {id: door, name: Door, number: 1, type: entry_exit}
  - {id: window, name: Window, number: 2, type: perimeter, mqtt: {topic: test/window}}
outputs:
  - {id: siren, name: Siren, kind: siren}
`, "config import -: it would remove the gpio binding of zone(s) door; the gpio binding of output(s) siren; power input(s) psu; " +
			"run it again with -replace to confirm (nothing was changed)"},
		{"binds a zone twice", strings.Replace(gpioDomain, "gpio: {line: 17, bias: pull-up}", "gpio: {line: 17}, mqtt: {topic: test/door}", 1),
			`config import -: zones[0] "door": bound by more than one adapter (mqtt, gpio): one device per zone (nothing was changed)`},
		{"a line twice", strings.Replace(gpioDomain, "line: 5,", "line: 17,", 1),
			`config import -: gpio: invalid binding: line gpiochip0:17 is bound twice: zone door and mains_fail psu (nothing was changed)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := imp(tc.body)
			if err == nil || err.Error() != tc.want || out != "" {
				t.Errorf("import: %q, %v\nwant %q", out, err, tc.want)
			}
			if got := export(); got != original {
				t.Errorf("the configuration changed:\n%s", got)
			}
		})
	}
	out, err := imp("zones:\n  - {id: door, name: Door, number: 1, type: entry_exit, mqtt: {topic: test/door}}\n", "-replace")
	if want := "imported 1 zones, 1 users (kept), 0 outputs\n"; err != nil || out != want {
		t.Errorf("import -replace: %q, %v; want %q", out, err, want)
	}
	if got := export(); strings.Contains(got, "gpio") || strings.Contains(got, "power") {
		t.Errorf("gpio bindings left after -replace:\n%s", got)
	}
}

// The README's GPIO example is a valid domain configuration, with the bindings
// it shows.
func TestREADMEGPIOExample(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "### Wired zones (GPIO)")
	_, rest, ok2 := strings.Cut(rest, "```yaml\n")
	body, _, ok3 := strings.Cut(rest, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md has no GPIO example")
	}
	cfg, set, _, err := parseDomain([]byte(body))
	if err != nil {
		t.Fatalf("the README's GPIO example: %v", err)
	}
	var got []string
	for _, id := range slices.Sorted(maps.Keys(set.GPIO.Zones)) {
		z := set.GPIO.Zones[id]
		got = append(got, fmt.Sprintf("input %s %s active_low=%v bias=%s means=%s debounce=%s", id, z.Pin, z.ActiveLow, z.Bias, z.Means, z.Debounce.D()))
	}
	for _, id := range slices.Sorted(maps.Keys(set.GPIO.Outputs)) {
		o := set.GPIO.Outputs[id]
		got = append(got, fmt.Sprintf("output %s %s active_low=%v", id, o.Pin, o.ActiveLow))
	}
	got = append(got, fmt.Sprintf("zones=%d mains_report_delay=%s", len(cfg.Zones), cfg.Settings.MainsReportDelay.D()))
	want := []string{
		"input front_door gpiochip0:17 active_low=false bias=pull-up means= debounce=0s",
		"input hall_pir gpiochip0:22 active_low=false bias=pull-up means= debounce=0s",
		"input key gpiochip0:24 active_low=true bias=pull-up means=keyswitch debounce=0s",
		"input psu gpiochip0:5 active_low=false bias=pull-up means=mains_fail debounce=5s",
		"input psu_battery gpiochip0:6 active_low=false bias=pull-up means=low_battery debounce=5s",
		"output siren gpiochip0:27 active_low=true",
		"zones=3 mains_report_delay=1m0s",
	}
	if !slices.Equal(got, want) {
		t.Errorf("bindings:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
