package main

import (
	"path/filepath"
	"strings"
	"testing"
)

const zigbeeDomainYAML = `
zones:
  - {id: door, name: Door, number: 1, type: entry_exit, zigbee: {ieee: "0x00158d0001a2b3c4"}}
outputs:
  - {id: siren, name: Siren, kind: siren, zigbee: {ieee: "0x0015bc001b02c3d4"}}
keypads:
  - {id: hall, zigbee: {ieee: "0x0015bc002f00a1b2"}}
`

// An import that drops Zigbee bindings or keypads needs -replace, like one that
// drops MQTT bindings; the export writes them back as they were imported.
func TestConfigImportZigbeeBindings(t *testing.T) {
	dir, _ := setupIn(t, t.TempDir(), zigbeeDomainYAML)
	data := filepath.Join(dir, "data")
	export, imp := configCommands(t, data)
	original := export()
	_, tail, _ := strings.Cut(original, "\noutputs:\n")
	if want := `  - id: siren
    name: Siren
    kind: siren
    zigbee:
      ieee: "0x0015bc001b02c3d4"
keypads:
  - id: hall
    zigbee:
      ieee: "0x0015bc002f00a1b2"
`; tail != want {
		t.Errorf("export, from the outputs on:\n%s\nwant:\n%s", tail, want)
	}
	stripped := "zones:\n  - {id: door, name: Door, number: 1, type: entry_exit}\noutputs:\n  - {id: siren, name: Siren, kind: siren}\n"
	out, err := imp(stripped)
	want := "config import -: it would remove the zigbee binding of zone(s) door; the zigbee binding of output(s) siren; " +
		"keypad(s) hall; run it again with -replace to confirm (nothing was changed)"
	if err == nil || err.Error() != want || out != "" {
		t.Errorf("import: %q, %v; want %q", out, err, want)
	}
	if got := export(); got != original {
		t.Errorf("the configuration changed:\n%s", got)
	}
	// Bound by two adapters at once: refused.
	twice := strings.Replace(zigbeeDomainYAML, `zigbee: {ieee: "0x00158d0001a2b3c4"}`, `zigbee: {ieee: "0x00158d0001a2b3c4"}, mqtt: {topic: test/door}`, 1)
	out, err = imp(twice)
	want = `config import -: zones[0] "door": bound by more than one adapter (mqtt, zigbee): one device per zone (nothing was changed)`
	if err == nil || err.Error() != want || out != "" {
		t.Errorf("import: %q, %v; want %q", out, err, want)
	}
	out, err = imp(stripped, "-replace")
	if want := "imported 1 zones, 1 users (kept), 1 outputs\n"; err != nil || out != want {
		t.Errorf("import -replace: %q, %v; want %q", out, err, want)
	}
}
