package zigbee

import (
	"slices"
	"testing"
)

// FuzzParseState feeds arbitrary state payloads to the parser and to an adapter:
// no panic; only tracked properties come out; and the same message twice is
// never two events (a cached state repeated is not a change).
func FuzzParseState(f *testing.F) {
	for _, p := range []string{
		`{"battery":100,"contact":false,"linkquality":87,"voltage":3025}`,
		`{"battery":100,"battery_low":null,"contact":null,"linkquality":147}`,
		`{"ac_status":false,"battery":100,"battery_low":false,"smoke":true,"tamper":false,"test":false}`,
		`{"smoke":true,"test":true}`,
		`{"action":"vibration","battery":100,"vibration":true,"voltage":3015}`,
		`{"contact":"closed","battery":"full"}`,
		`{"battery":1e400}`,
		`not json`,
		``,
	} {
		for dev := range uint8(3) {
			f.Add(dev, []byte(p))
		}
	}
	names := []string{"front_door", "kitchen_smoke", "safe_vibration"}
	all := string(allDevicesTB(f))
	devices, err := ParseDevices([]byte(all))
	if err != nil {
		f.Fatal(err)
	}
	zones := map[string]ZoneBinding{"front_door": {IEEE: ieeeFrontDoor}, "kitchen_fire": {IEEE: ieeeKitchenSmk},
		"safe": {IEEE: ieeeVibration}}
	f.Fuzz(func(t *testing.T, dev uint8, payload []byte) {
		name := names[int(dev)%len(names)]
		i := slices.IndexFunc(devices, func(d Device) bool { return d.FriendlyName == name })
		d := devices[i]
		m, err := ParseState(&d, payload)
		if err == nil {
			for p := range m.Binary {
				if _, ok := d.prop(p); !ok {
					t.Errorf("property %s is not tracked on %s", p, name)
				}
			}
			if m.Battery != nil && (*m.Battery < 0 || *m.Battery > 100) {
				t.Errorf("battery %v", *m.Battery)
			}
		}
		r := newRig(t, zones, nil, nil)
		r.bus.send("zigbee2mqtt/bridge/devices", all)
		r.bus.send("zigbee2mqtt/"+name, string(payload))
		r.hub.take()
		r.bus.send("zigbee2mqtt/"+name, string(payload))
		if got := r.hub.take(); len(got) != 0 {
			t.Errorf("the same message again posted %q", got)
		}
	})
}
