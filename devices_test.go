package main

import (
	"strings"
	"testing"
	"time"

	"vakt/sensors/zigbee"
)

// vakt devices lists the devices, then the last error Zigbee2MQTT reported
// about any of them.
func TestPrintDevicesErrors(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.Local)
	var out strings.Builder
	printDevices(&out, "zigbee2mqtt", []zigbee.DeviceStatus{
		{Device: zigbee.Device{IEEE: "0x00158d0001a2b3c4", FriendlyName: "front_door", Vendor: "Aqara", Model: "MCCGQ11LM",
			PowerSource: "Battery", Binary: []zigbee.Property{{Name: "contact", On: false, Off: true}}}, Zones: []string{"door"},
			LastError: &zigbee.DeviceError{At: at, Message: "Failed to configure 'front_door', attempt 1"}},
		{Device: zigbee.Device{IEEE: "0x00124b0022d4e5f6", FriendlyName: "hall_motion"}},
	})
	want := `IEEE                NAME         MODEL            POWER    PROPERTIES  LAST SEEN  AVAILABILITY  BOUND TO
0x00158d0001a2b3c4  front_door   Aqara MCCGQ11LM  Battery  contact     -          -             zone door
0x00124b0022d4e5f6  hall_motion  -                -        -           -          -             (discovered)
front_door: Zigbee2MQTT error 2026-03-01 12:00:00: Failed to configure 'front_door', attempt 1
`
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}
