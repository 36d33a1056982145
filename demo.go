package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"time"

	"vakt/hub"
	"vakt/sensors/mqttdev"
)

// demoConfig adds simulated zones, a siren and a demo user to a configuration
// without zones. Nothing of it is stored.
func demoConfig(cfg hub.Config) (hub.Config, error) {
	if len(cfg.Zones) > 0 {
		return cfg, nil
	}
	topic := func(id string) *hub.MQTTZone { return &hub.MQTTZone{Topic: "vakt/demo/" + id} }
	cfg.Zones = []hub.Zone{
		{ID: "front_door", Name: "Front door", Number: 1, Type: hub.ZoneEntryExit, MQTT: topic("front_door"), Chime: true},
		{ID: "kitchen_window", Name: "Kitchen window", Number: 2, Type: hub.ZonePerimeter, MQTT: topic("kitchen_window")},
		{ID: "hall_motion", Name: "Hall motion", Number: 3, Type: hub.ZoneFollower, MQTT: topic("hall_motion")},
		{ID: "living_motion", Name: "Living room motion", Number: 4, Type: hub.ZoneInstant, MQTT: topic("living_motion")},
		{ID: "smoke", Name: "Smoke detector", Number: 5, Type: hub.ZoneFire, MQTT: topic("smoke")},
	}
	cfg.Outputs = append(cfg.Outputs,
		hub.Output{ID: "demo_siren", Name: "Demo siren", Kind: hub.OutputSiren, MQTT: &hub.MQTTOutput{Topic: "vakt/demo/siren", On: "ON", Off: "OFF"}},
		hub.Output{ID: "demo_sounder", Name: "Demo sounder", Kind: hub.OutputSounder, MQTT: &hub.MQTTOutput{Topic: "vakt/demo/sounder", On: "ON", Off: "OFF"}})
	if len(cfg.Users) == 0 {
		hash, err := hub.HashPIN(nil, "123456", hub.DefaultHashParams)
		if err != nil {
			return cfg, err
		}
		cfg.Users = []hub.User{{ID: "demo", Name: "Demo user", Number: 1, Role: hub.RoleAdmin, PINHash: hash}}
	}
	return cfg, nil
}

// demoHint prints how to watch and drive the demo, with the MQTT listener's actual
// address (nil: MQTT is off).
func demoHint(w io.Writer, mqtt net.Addr) {
	a, ok := mqtt.(*net.TCPAddr)
	if !ok {
		fmt.Fprintln(w, "Demo: MQTT is off (-mqtt off), so nothing can watch or drive it.")
		return
	}
	host := a.IP.String()
	if a.IP.IsUnspecified() {
		host = "localhost" // listening on every address, this one included
	}
	conn := "-h " + host + " -p " + strconv.Itoa(a.Port)
	fmt.Fprintf(w, `Demo: simulated zones open and close on vakt/demo/<zone>; the siren is vakt/demo/siren.
  MQTT login demo/demo; the demo user's PIN is 123456. Try:
  mosquitto_sub %[1]s -u demo -P demo -t 'vakt/#' -v
  mosquitto_pub %[1]s -u demo -P demo -t vakt/command -m '{"command":"ARM_AWAY","code":"123456"}'
`, conn)
}

// simulate opens and closes the demo's door, window and motion zones now and then.
func simulate(ctx context.Context, bus brokerBus, cfg hub.Config, log *slog.Logger) error {
	// The simulated sirens listen on their topics, as real ones would.
	for _, o := range cfg.Outputs {
		if o.MQTT == nil || !strings.HasPrefix(o.MQTT.Topic, "vakt/demo/") {
			continue
		}
		cancel, err := bus.Subscribe(o.MQTT.Topic, func(m mqttdev.Message) {
			log.Info("demo: output driven", "output", o.ID, "payload", string(m.Payload))
		})
		if err != nil {
			return err
		}
		defer cancel()
	}
	zones := cfg.Zones
	var movable []hub.Zone
	for _, z := range zones {
		if z.MQTT != nil && strings.HasPrefix(z.MQTT.Topic, "vakt/demo/") && !z.Type.Is24h() {
			movable = append(movable, z)
		}
	}
	if len(movable) == 0 {
		<-ctx.Done()
		return nil
	}
	for {
		z := movable[rand.IntN(len(movable))]
		wait := func(d time.Duration) bool {
			select {
			case <-ctx.Done():
				return false
			case <-time.After(d):
				return true
			}
		}
		if !wait(time.Duration(8+rand.IntN(12)) * time.Second) {
			return nil
		}
		log.Info("demo: zone opens", "zone", z.ID)
		_ = bus.Publish(z.MQTT.Topic, []byte("ON"), true)
		if !wait(2 * time.Second) {
			return nil
		}
		log.Info("demo: zone closes", "zone", z.ID)
		_ = bus.Publish(z.MQTT.Topic, []byte("OFF"), true)
	}
}
