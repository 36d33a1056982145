package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vakt/sensors/zigbee"
)

// vakt devices lists the devices (one whose interview is not done as not
// ready), then the last error Zigbee2MQTT reported about any of them.
func TestPrintDevicesErrors(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.Local)
	var out strings.Builder
	printDevices(&out, "zigbee2mqtt", []zigbee.DeviceStatus{
		{Device: zigbee.Device{IEEE: "0x00158d0001a2b3c4", FriendlyName: "front_door", Vendor: "Aqara", Model: "MCCGQ11LM",
			PowerSource: "Battery", Ready: true, Binary: []zigbee.Property{{Name: "contact", On: false, Off: true}}}, Zones: []string{"door"},
			LastError: &zigbee.DeviceError{At: at, Message: "Failed to configure 'front_door', attempt 1"}},
		{Device: zigbee.Device{IEEE: "0x00124b0022d4e5f6", FriendlyName: "hall_motion"}},
	})
	want := `IEEE                NAME         MODEL            POWER    PROPERTIES  LAST SEEN  AVAILABILITY  BOUND TO
0x00158d0001a2b3c4  front_door   Aqara MCCGQ11LM  Battery  contact     -          -             zone door
0x00124b0022d4e5f6  hall_motion  -                -        -           -          not ready     (discovered)
front_door: Zigbee2MQTT error 2026-03-01 12:00:00: Failed to configure 'front_door', attempt 1
`
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

// With the hub stopped, vakt devices adopt writes the stored configuration,
// with a zone's clear rule and a siren's squawk; a clear rule without the
// property it needs is refused and changes nothing.
func TestAdoptStoppedWithOptions(t *testing.T) {
	dir := t.TempDir()
	setupIn(t, dir, zigbeeDomain)
	data := filepath.Join(dir, "data")
	ctx := context.Background()
	adopt := func(args ...string) (string, error) {
		var out strings.Builder
		err := run(ctx, append(append([]string{"devices", "adopt"}, args...), "-data", data), nil, &out, io.Discard)
		return out.String(), err
	}
	if _, err := adopt("0x00124b0022d4e5f6", "-zone", "door", "-clear-after", "2m"); err == nil ||
		err.Error() != `devices adopt: zones[0] "door": zigbee: clear_after needs property set to one of occupancy, vibration, presence, tilt (a door contact or a smoke detector is never taken as closed) (nothing was changed)` {
		t.Errorf("a clear rule without its property: %v", err)
	}
	for _, c := range [][]string{
		{"0x00124b0022d4e5f6", "-zone", "door", "-property", "occupancy", "-clear-after", "2m"},
		{"0x0015bc001b02c3d4", "-output", "siren", "-squawk"},
	} {
		if _, err := adopt(c...); err != nil {
			t.Fatalf("adopt %v: %v", c, err)
		}
	}
	var out strings.Builder
	if err := run(ctx, []string{"config", "export", "-data", data}, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	_, zones, _ := strings.Cut(out.String(), "\nzones:\n")
	zones, _, _ = strings.Cut(zones, "\nusers:")
	_, outputs, _ := strings.Cut(out.String(), "\noutputs:\n")
	rest := zones + "\noutputs:\n" + strings.TrimSuffix(outputs, "\n")
	want := `  - id: door
    name: Door
    number: 1
    type: entry_exit
    zigbee:
      ieee: "0x00124b0022d4e5f6"
      property: occupancy
      clear_after: 2m0s
outputs:
  - id: siren
    name: Siren
    kind: siren
    zigbee:
      ieee: "0x0015bc001b02c3d4"
      squawk: true`
	if rest != want {
		t.Errorf("export:\n%s\nwant:\n%s\nwhole:\n%s", rest, want, out.String())
	}
}
