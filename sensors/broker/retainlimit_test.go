package broker

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	mpackets "github.com/mochi-mqtt/server/v2/packets"
)

// replayed subscribes to "#" in-process and returns the retained messages replayed
// on subscribing, as "topic payload".
func replayed(t *testing.T, b *Broker, id int) []string {
	t.Helper()
	var mu sync.Mutex
	var got []string
	done := false
	if err := b.Subscribe("#", id, func(topic string, payload []byte, retained bool) {
		mu.Lock()
		defer mu.Unlock()
		if !done && retained {
			got = append(got, topic+" "+string(payload))
		}
	}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	done = true
	out := slices.Clone(got)
	slices.Sort(out)
	return out
}

// TestRetainedCommandsNeverKept: a retained message on a command topic is
// delivered flagged retained (the hub ignores it) but not kept, not persisted and
// not replayed; one found in the store is removed at start.
func TestRetainedCommandsNeverKept(t *testing.T) {
	store := newFakeStore()
	pk := func(topic, payload string) []byte {
		return encodeRetained(mpacket(topic, payload))
	}
	store.msgs["vakt/command"] = pk("vakt/command", `{"command":"DISARM","code":"123456"}`)
	store.msgs["zigbee2mqtt/door"] = pk("zigbee2mqtt/door", `{"contact":true}`)
	sink := newLogSink()
	b := newBroker(t, Config{CommandTopics: []string{"vakt/command", "cmnd/siren/POWER"}}, store, slog.New(sink))
	store.nextEvent(t, "delete", "vakt/command")
	if got, want := replayed(t, b, 1), []string{`zigbee2mqtt/door {"contact":true}`}; !slices.Equal(got, want) {
		t.Fatalf("restored %q, want %q", got, want)
	}

	hub := inline(t, b, "#")
	a := mustDial(t, b, "admin", "admin-secret", "adm")
	a.mustPublish(t, "vakt/command", []byte(`{"command":"DISARM","code":"654321"}`), true, 1)
	a.mustPublish(t, "cmnd/siren/POWER", []byte("ON"), true, 1)
	a.mustPublish(t, "zigbee2mqtt/door", []byte(`{"contact":false}`), true, 1)
	store.nextEvent(t, "put", "zigbee2mqtt/door")
	var got []string
	for len(got) < 4 {
		m := recv(t, hub, "delivery")
		got = append(got, fmt.Sprintf("%s %s retained=%t", m.Topic, m.Payload, m.Retained))
	}
	want := []string{
		`zigbee2mqtt/door {"contact":true} retained=true`, // the replay on subscribing
		`vakt/command {"command":"DISARM","code":"654321"} retained=true`,
		`cmnd/siren/POWER ON retained=true`,
		`zigbee2mqtt/door {"contact":false} retained=true`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("delivered %q, want %q", got, want)
	}
	if got, want := replayed(t, b, 2), []string{`zigbee2mqtt/door {"contact":false}`}; !slices.Equal(got, want) {
		t.Fatalf("retained now %q, want %q", got, want)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := mapsKeys(store), []string{"zigbee2mqtt/door"}; !slices.Equal(got, want) {
		t.Fatalf("store holds %q, want %q", got, want)
	}
	wantLog := []string{
		`WARN mqtt retained message on a command topic removed from the store topic=vakt/command`,
		`WARN mqtt retained message on a command topic not kept topic=vakt/command client=adm user=admin also_refused_last_minute=0`,
		`WARN mqtt retained message on a command topic not kept topic=cmnd/siren/POWER client=adm user=admin also_refused_last_minute=0`,
	}
	if got := sink.matching("mqtt retained message on a command"); !slices.Equal(got, wantLog) {
		t.Fatalf("log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantLog, "\n"))
	}
	if logs := sink.all(); strings.Contains(logs, "654321") || strings.Contains(logs, "123456") {
		t.Fatalf("a code was logged:\n%s", logs)
	}
}

// TestRetainedLimits: a retained message over the per-topic cap, or one that
// would take the total over its cap, is delivered but not kept; the topic keeps
// its previous message, and deleting frees room.
func TestRetainedLimits(t *testing.T) {
	store := newFakeStore()
	sink := newLogSink()
	b := newBroker(t, Config{MaxRetainedBytes: 100, MaxRetainedMessageBytes: 40}, store, slog.New(sink))
	hub := inline(t, b, "#")
	a := mustDial(t, b, "admin", "admin-secret", "adm")
	p := func(n int, c string) []byte { return []byte(strings.Repeat(c, n)) }
	a.mustPublish(t, "t/big", p(41, "b"), true, 1) // over the per-topic cap
	a.mustPublish(t, "t/1", p(40, "1"), true, 1)   // 40
	a.mustPublish(t, "t/2", p(40, "2"), true, 1)   // 80
	a.mustPublish(t, "t/3", p(30, "3"), true, 1)   // would be 110: not kept
	a.mustPublish(t, "t/1", p(10, "x"), true, 1)   // replaces: 50
	a.mustPublish(t, "t/3", p(30, "3"), true, 1)   // 80
	a.mustPublish(t, "t/2", nil, true, 1)          // delete: 40
	a.mustPublish(t, "t/4", p(40, "4"), true, 1)   // 80
	var got []string
	for len(got) < 8 {
		m := recv(t, hub, "delivery")
		got = append(got, fmt.Sprintf("%s %d", m.Topic, len(m.Payload)))
	}
	if want := []string{"t/big 41", "t/1 40", "t/2 40", "t/3 30", "t/1 10", "t/3 30", "t/2 0", "t/4 40"}; !slices.Equal(got, want) {
		t.Fatalf("delivered %q, want %q", got, want)
	}
	if got, want := replayed(t, b, 1), []string{"t/1 xxxxxxxxxx", "t/3 " + string(p(30, "3")), "t/4 " + string(p(40, "4"))}; !slices.Equal(got, want) {
		t.Fatalf("retained %q, want %q", got, want)
	}
	want := []string{
		`WARN mqtt retained message too large to keep; delivered without retaining topic=t/big client=adm bytes=41 max_message_bytes=40 retained_bytes=0 max_retained_bytes=100 also_refused_last_minute=0`,
		`WARN mqtt retained message too large to keep; delivered without retaining topic=t/3 client=adm bytes=30 max_message_bytes=40 retained_bytes=80 max_retained_bytes=100 also_refused_last_minute=0`,
	}
	if got := sink.matching("mqtt retained message too large"); !slices.Equal(got, want) {
		t.Fatalf("log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// At start, stored messages beyond the limits are not loaded.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b2 := newBroker(t, Config{MaxRetainedBytes: 60, MaxRetainedMessageBytes: 40}, store, nil)
	if got, want := replayed(t, b2, 1), []string{"t/1 xxxxxxxxxx", "t/3 " + string(p(30, "3"))}; !slices.Equal(got, want) {
		t.Fatalf("restored %q, want %q", got, want)
	}
}

func mapsKeys(s *fakeStore) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.msgs {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func mpacket(topic, payload string) mpackets.Packet {
	return mpackets.Packet{
		FixedHeader: mpackets.FixedHeader{Type: mpackets.Publish, Retain: true, Qos: 1},
		TopicName:   topic,
		Payload:     []byte(payload),
		Origin:      "z2m",
	}
}

// TestWarnsAboutCodeReaders: Start logs one line per non-admin account whose read
// list covers a topic that carries codes.
func TestWarnsAboutCodeReaders(t *testing.T) {
	sink := newLogSink()
	newBroker(t, Config{CodeTopics: []string{"vakt/command"}, Users: []User{
		{Name: "z2m-old", Password: "p", Read: []string{"zigbee2mqtt/#", "vakt/command"}},
		{Name: "ha", Password: "p", Read: []string{"homeassistant/#", "vakt/#"}},
		{Name: "all", Password: "p", Read: []string{"#", "+/command"}},
		{Name: "plus", Password: "p", Read: []string{"+/command"}},
		{Name: "z2m", Password: "p", Read: []string{"zigbee2mqtt/#", "vakt/state"}, Write: []string{"vakt/command"}},
		{Name: "root", Password: "p", Admin: true},
	}}, nil, slog.New(sink))
	want := []string{
		`WARN mqtt account may read topics that carry codes; remove them from its read list user=z2m-old topics=[vakt/command] read_filters=[vakt/command]`,
		`WARN mqtt account may read topics that carry codes; remove them from its read list user=ha topics=[vakt/command] read_filters=[vakt/#]`,
		`WARN mqtt account may read topics that carry codes; remove them from its read list user=all topics=[vakt/command] read_filters=[#]`,
		`WARN mqtt account may read topics that carry codes; remove them from its read list user=plus topics=[vakt/command] read_filters=[+/command]`,
	}
	if got := sink.matching("mqtt account may read"); !slices.Equal(got, want) {
		t.Fatalf("log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
