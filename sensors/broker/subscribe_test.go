package broker

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

// OnSubscribe reports a network client's granted filters (refused ones left out),
// and a message published from the callback reaches the new subscription: the hub
// resends an output's level to a device that just subscribed.
func TestOnSubscribeAndSubscribed(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	var b *Broker
	cfg := Config{OnSubscribe: func(id, user string, filters []string) {
		mu.Lock()
		seen = append(seen, fmt.Sprint(id, " ", user, " ", filters))
		mu.Unlock()
		if slices.Contains(filters, "cmnd/siren/POWER") {
			_ = b.Publish("cmnd/siren/POWER", []byte("ON"), false, 1)
		}
	}}
	b = newBroker(t, cfg, nil, nil)
	if b.Subscribed("cmnd/siren/POWER") {
		t.Fatal("subscribed before anyone subscribes")
	}
	inline(t, b, "other/topic")
	if !b.Subscribed("other/topic") {
		t.Error("an in-process subscriber does not count")
	}
	siren := mustDial(t, b, "admin", "admin-secret", "tasmota-siren")
	siren.mustSubscribe(t, "cmnd/siren/POWER", 1)
	if m := siren.next(t, "the level on subscribing"); m.Topic != "cmnd/siren/POWER" || string(m.Payload) != "ON" {
		t.Errorf("got %s %q", m.Topic, m.Payload)
	}
	if !b.Subscribed("cmnd/siren/POWER") || b.Subscribed("cmnd/other") {
		t.Error("Subscribed is wrong")
	}
	// zigbee2mqtt may not read vakt/#: the refused filter is not reported.
	z := mustDial(t, b, z2mUser.Name, z2mUser.Password, "z2m")
	_, _ = z.subscribe(t, "vakt/#", 0)
	z.mustSubscribe(t, "zigbee2mqtt/#", 0)
	mu.Lock()
	defer mu.Unlock()
	want := []string{"tasmota-siren admin [cmnd/siren/POWER]", "z2m " + z2mUser.Name + " [zigbee2mqtt/#]"}
	if !slices.Equal(seen, want) {
		t.Errorf("OnSubscribe calls %q, want %q", seen, want)
	}
}
