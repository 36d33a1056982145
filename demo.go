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
	"vakt/sensors/binding"
	"vakt/sensors/mqttdev"
)

// demoConfig adds simulated zones, a siren and a demo user to a configuration
// without zones, with their MQTT bindings. Nothing of it is stored.
func demoConfig(cfg hub.Config, set binding.Set) (hub.Config, binding.Set, error) {
	if len(cfg.Zones) > 0 {
		return cfg, set, nil
	}
	topic := func(id string) *mqttdev.ZoneBinding { return &mqttdev.ZoneBinding{Topic: "vakt/demo/" + id} }
	f := binding.Join(cfg, set)
	f.Zones = []binding.Zone{
		{Zone: hub.Zone{ID: "front_door", Name: "Front door", Number: 1, Type: hub.ZoneEntryExit, Chime: true}, MQTT: topic("front_door")},
		{Zone: hub.Zone{ID: "kitchen_window", Name: "Kitchen window", Number: 2, Type: hub.ZonePerimeter}, MQTT: topic("kitchen_window")},
		{Zone: hub.Zone{ID: "hall_motion", Name: "Hall motion", Number: 3, Type: hub.ZoneFollower}, MQTT: topic("hall_motion")},
		{Zone: hub.Zone{ID: "living_motion", Name: "Living room motion", Number: 4, Type: hub.ZoneInstant}, MQTT: topic("living_motion")},
		{Zone: hub.Zone{ID: "smoke", Name: "Smoke detector", Number: 5, Type: hub.ZoneFire}, MQTT: topic("smoke")},
	}
	f.Outputs = append(f.Outputs,
		binding.Output{Output: hub.Output{ID: "demo_siren", Name: "Demo siren", Kind: hub.OutputSiren},
			MQTT: &mqttdev.OutputBinding{Topic: "vakt/demo/siren", On: "ON", Off: "OFF"}},
		binding.Output{Output: hub.Output{ID: "demo_sounder", Name: "Demo sounder", Kind: hub.OutputSounder},
			MQTT: &mqttdev.OutputBinding{Topic: "vakt/demo/sounder", On: "ON", Off: "OFF"}})
	cfg, set = f.Split()
	if len(cfg.Users) == 0 {
		hash, err := hub.HashPIN(nil, "123456", hub.DefaultHashParams)
		if err != nil {
			return cfg, set, err
		}
		pw, err := hub.HashSecret(demoPassword, hub.DefaultHashParams)
		if err != nil {
			return cfg, set, err
		}
		cfg.Users = []hub.User{{ID: "demo", Name: "Demo user", Number: 1, Role: hub.RoleAdmin, PINHash: hash, PasswordHash: pw}}
	}
	return cfg, set, nil
}

// demoPassword is the demo user's web password.
const demoPassword = "demo1234"

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
  Web app: user demo, password demo1234. MQTT login demo/demo; the demo user's PIN is 123456. Try:
  mosquitto_sub %[1]s -u demo -P demo -t 'vakt/#' -v
  mosquitto_pub %[1]s -u demo -P demo -t vakt/command -m '{"command":"ARM_AWAY","code":"123456"}'
`, conn)
}

// simulate opens and closes the demo's door, window and motion zones now and then.
func simulate(ctx context.Context, bus mqttdev.Bus, cfg hub.Config, set binding.Set, log *slog.Logger) error {
	// The simulated sirens listen on their topics, as real ones would.
	for _, o := range cfg.Outputs {
		b, ok := set.MQTT.Outputs[o.ID]
		if !ok || !strings.HasPrefix(b.Topic, "vakt/demo/") {
			continue
		}
		cancel, err := bus.Subscribe(b.Topic, func(m mqttdev.Message) {
			log.Info("demo: output driven", "output", o.ID, "payload", string(m.Payload))
		})
		if err != nil {
			return err
		}
		defer cancel()
	}
	type movableZone struct{ id, topic string }
	var movable []movableZone
	for _, z := range cfg.Zones {
		if b, ok := set.MQTT.Zones[z.ID]; ok && strings.HasPrefix(b.Topic, "vakt/demo/") && !z.Type.Is24h() {
			movable = append(movable, movableZone{z.ID, b.Topic})
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
		log.Info("demo: zone opens", "zone", z.id)
		_ = bus.Publish(z.topic, []byte("ON"), true)
		if !wait(2 * time.Second) {
			return nil
		}
		log.Info("demo: zone closes", "zone", z.id)
		_ = bus.Publish(z.topic, []byte("OFF"), true)
	}
}
