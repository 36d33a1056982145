package broker

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
)

// A topic named by Config.CommandTopic is a command topic like those listed:
// a retained message on it is delivered but never kept, and one found in the
// store is removed at start.
func TestCommandTopicRule(t *testing.T) {
	store := newFakeStore()
	pk := func(topic, payload string) []byte { return encodeRetained(mpacket(topic, payload)) }
	store.msgs["zigbee2mqtt/hall/siren/set"] = pk("zigbee2mqtt/hall/siren/set", `{"warning":{"mode":"burglar"}}`)
	store.msgs["zigbee2mqtt/door"] = pk("zigbee2mqtt/door", `{"contact":true}`)
	rule := func(topic string) bool {
		return strings.HasPrefix(topic, "zigbee2mqtt/") && strings.HasSuffix(topic, "/set")
	}
	b := newBroker(t, Config{CommandTopic: rule}, store, slog.New(newLogSink()))
	store.nextEvent(t, "delete", "zigbee2mqtt/hall/siren/set")
	if got, want := replayed(t, b, 1), []string{`zigbee2mqtt/door {"contact":true}`}; !slices.Equal(got, want) {
		t.Fatalf("restored %q, want %q", got, want)
	}
	hub := inline(t, b, "#")
	a := mustDial(t, b, "admin", "admin-secret", "adm")
	a.mustPublish(t, "zigbee2mqtt/garage siren/set", []byte(`{"warning":{"mode":"stop"}}`), true, 1)
	a.mustPublish(t, "zigbee2mqtt/door", []byte(`{"contact":false}`), true, 1)
	store.nextEvent(t, "put", "zigbee2mqtt/door")
	var got []string
	for len(got) < 3 {
		m := recv(t, hub, "delivery")
		got = append(got, fmt.Sprintf("%s %s retained=%t", m.Topic, m.Payload, m.Retained))
	}
	want := []string{
		`zigbee2mqtt/door {"contact":true} retained=true`,
		`zigbee2mqtt/garage siren/set {"warning":{"mode":"stop"}} retained=true`,
		`zigbee2mqtt/door {"contact":false} retained=true`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("delivered %q, want %q", got, want)
	}
	if got, want := replayed(t, b, 2), []string{`zigbee2mqtt/door {"contact":false}`}; !slices.Equal(got, want) {
		t.Fatalf("retained now %q, want %q", got, want)
	}
}
