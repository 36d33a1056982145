package web

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"vakt/hub"
)

// GET /zones: every zone of the configuration, in its order, with its state flags
// from the hub, its binding and its device; a zone no device binds has a null
// binding. Guests may not read it.
func TestZones(t *testing.T) {
	battery, lqi := 97.0, 87
	s := startSystem(t, testConfig(t), webOnly(func(o *Options) {
		o.Zones = func() map[string]ZoneBinding {
			return map[string]ZoneBinding{
				"door": {Adapter: "zigbee", Binding: map[string]string{"ieee": "0x00158d0001a2b3c4", "property": "contact"},
					Device: map[string]any{"name": "front_door", "battery": battery, "battery_low": false,
						"last_seen": "2026-03-01T12:00:00Z", "link_quality": lqi}},
				"living": {Adapter: "mqtt", Binding: map[string]string{"topic": "test/living"}},
			}
		}
	}))
	ctx := context.Background()
	for _, in := range []hub.Input{hub.Sensor{Zone: "door", Signal: hub.SigOpen}, hub.Sensor{Zone: "door", Signal: hub.SigLowBattery},
		hub.Sensor{Zone: "living", Signal: hub.SigTamper}} {
		if err := s.h.Input(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	a := s.login(t, "alice", "alice-pass")
	var got json.RawMessage
	if code := a.do("GET", "/api/v1/zones", nil, &got); code != http.StatusOK {
		t.Fatalf("zones: %d", code)
	}
	var v, w any
	want := `[
	 {"id":"door","name":"Front door","number":1,"type":"entry_exit","open":true,"low_battery":true,
	  "binding":{"adapter":"zigbee","binding":{"ieee":"0x00158d0001a2b3c4","property":"contact"},
	   "device":{"name":"front_door","battery":97,"battery_low":false,"last_seen":"2026-03-01T12:00:00Z","link_quality":87}}},
	 {"id":"living","name":"Living PIR","number":2,"type":"instant","tamper":true,"tamper_reported":true,
	  "binding":{"adapter":"mqtt","binding":{"topic":"test/living"}}},
	 {"id":"=cmd","name":"=HYPERLINK()","number":3,"type":"instant","binding":null}
	]`
	if err := json.Unmarshal(got, &v); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	same(t, "zones", v, w)
	if code := s.login(t, "gus", "gus-pass").do("GET", "/api/v1/zones", nil, nil); code != http.StatusForbidden {
		t.Errorf("a guest's zones: %d", code)
	}
}
