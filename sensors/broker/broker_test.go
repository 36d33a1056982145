package broker

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	"github.com/gorilla/websocket"
	mqtt "github.com/mochi-mqtt/server/v2"
	mpackets "github.com/mochi-mqtt/server/v2/packets"
)

const (
	codeBadUserOrPassword = 0x86
	codeNotAuthorized     = 0x87
	codeClientIDNotValid  = 0x85
)

func TestAnonymousRefused(t *testing.T) {
	b := newBroker(t, Config{}, nil, nil)
	_, ca, err := dial(t, b.Addr(), "", "", "anon")
	if err == nil {
		t.Fatal("anonymous client was accepted")
	}
	if ca == nil || ca.ReasonCode != codeBadUserOrPassword {
		t.Fatalf("connack = %+v, want reason 0x86", ca)
	}
}

func TestWrongPasswordRefused(t *testing.T) {
	sink := newLogSink()
	b := newBroker(t, Config{}, nil, slog.New(sink))
	for _, tc := range []struct{ user, pass string }{
		{"zigbee2mqtt", "guess-42"},
		{"zigbee2mqtt", ""},
		{"nobody", "z2m-secret"},
	} {
		_, ca, err := dial(t, b.Addr(), tc.user, tc.pass, "c-"+tc.user)
		if err == nil {
			t.Fatalf("%q/%q was accepted", tc.user, tc.pass)
		}
		if ca == nil || ca.ReasonCode != codeBadUserOrPassword {
			t.Fatalf("%q/%q: connack = %+v, want reason 0x86", tc.user, tc.pass, ca)
		}
	}
	logs := sink.all()
	if !strings.Contains(logs, "mqtt login refused") {
		t.Errorf("no refusal logged:\n%s", logs)
	}
	for _, secret := range []string{"z2m-secret", "admin-secret", "guess-42"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log shows a password %q:\n%s", secret, logs)
		}
	}
}

func TestRightPasswordAccepted(t *testing.T) {
	b := newBroker(t, Config{}, nil, nil)
	c := mustDial(t, b, "zigbee2mqtt", "z2m-secret", "z2m")
	c.mustSubscribe(t, "zigbee2mqtt/#", 1)
	mustDial(t, b, "admin", "admin-secret", "adm")
}

func TestAnonymousAllowed(t *testing.T) {
	b := newBroker(t, Config{AllowAnonymous: true}, nil, nil)
	c := mustDial(t, b, "", "", "anon")
	c.mustSubscribe(t, "anything/#", 1)
	if err := b.Publish("anything/x", []byte("hi"), false, 1); err != nil {
		t.Fatal(err)
	}
	if got := c.next(t, "message for anonymous client"); got.Topic != "anything/x" {
		t.Fatalf("got %q", got.Topic)
	}
	// A configured user still needs the right password.
	if _, _, err := dial(t, b.Addr(), "zigbee2mqtt", "wrong", "z"); err == nil {
		t.Fatal("wrong password accepted with anonymous clients allowed")
	}
}

func TestReservedClientIDRefused(t *testing.T) {
	b := newBroker(t, Config{}, nil, nil)
	_, ca, err := dial(t, b.Addr(), "admin", "admin-secret", mqtt.InlineClientId)
	if err == nil {
		t.Fatal("client id of the in-process client was accepted")
	}
	if ca == nil || ca.ReasonCode != codeClientIDNotValid {
		t.Fatalf("connack = %+v, want reason 0x85", ca)
	}
	// The hub's own publishing still works.
	got := inline(t, b, "x")
	if err := b.Publish("x", []byte("1"), false, 0); err != nil {
		t.Fatal(err)
	}
	recv(t, got, "inline message")
}

func TestACLEnforced(t *testing.T) {
	b := newBroker(t, Config{}, nil, nil)
	hub := inline(t, b, "#")
	z := mustDial(t, b, "zigbee2mqtt", "z2m-secret", "z2m")

	for _, f := range []string{"vakt/secret/#", "#", "vakt/#", "vakt/command/#", "+/command", "$SYS/#"} {
		sa, err := z.subscribe(t, f, 1)
		if err == nil {
			t.Fatalf("subscribe %q was granted", f)
		}
		if sa == nil || len(sa.Reasons) != 1 || sa.Reasons[0] != codeNotAuthorized {
			t.Fatalf("subscribe %q: suback %+v, want 0x87", f, sa)
		}
	}
	z.mustSubscribe(t, "zigbee2mqtt/#", 1)
	z.mustSubscribe(t, "vakt/command", 1)

	// Hub → client: the forbidden topics are published first; the client must see
	// only the allowed ones, in order.
	for _, topic := range []string{"vakt/secret/code", "vakt/command/extra", "vakt/state", "vakt/command", "zigbee2mqtt/bridge/request/permit_join"} {
		if err := b.Publish(topic, []byte("p"), false, 1); err != nil {
			t.Fatal(err)
		}
	}
	if got := z.next(t, "vakt/command").Topic; got != "vakt/command" {
		t.Fatalf("client received %q first, want vakt/command", got)
	}
	if got := z.next(t, "bridge request").Topic; got != "zigbee2mqtt/bridge/request/permit_join" {
		t.Fatalf("client received %q, want zigbee2mqtt/bridge/request/permit_join", got)
	}

	// Client → hub: forbidden publishes (QoS 1 is refused with "not authorized",
	// QoS 0 dropped) never reach the in-process subscriber; allowed ones do.
	if err := z.publish(t, &paho.Publish{Topic: "vakt/secret/x", QoS: 1, Payload: []byte("bad")}); err == nil {
		t.Fatal("QoS 1 publish to a forbidden topic was acknowledged as success")
	}
	if err := z.publish(t, &paho.Publish{Topic: "vakt/state", QoS: 0, Payload: []byte("bad")}); err != nil {
		t.Fatal(err)
	}
	z.mustPublish(t, "vakt/command/x", []byte("bad"), false, 0)
	z.mustPublish(t, "zigbee2mqtt/front_door", []byte(`{"contact":false}`), false, 1)
	z.mustPublish(t, "vakt/command", []byte("ARM_AWAY"), false, 1)
	var fromClient []Message
	for len(fromClient) < 2 {
		m := recv(t, hub, "message from the client")
		if m.ClientID == "" {
			continue // the hub's own publishes above
		}
		fromClient = append(fromClient, m)
	}
	if fromClient[0].Topic != "zigbee2mqtt/front_door" || fromClient[1].Topic != "vakt/command" {
		t.Fatalf("hub received %q, %q; want zigbee2mqtt/front_door, vakt/command", fromClient[0].Topic, fromClient[1].Topic)
	}
	if m := fromClient[1]; m.ClientID != "z2m" || m.Username != "zigbee2mqtt" || string(m.Payload) != "ARM_AWAY" || m.Retained {
		t.Fatalf("message = %+v", m)
	}
}

func TestAdminMayDoEverything(t *testing.T) {
	b := newBroker(t, Config{}, nil, nil)
	a := mustDial(t, b, "admin", "admin-secret", "adm")
	a.mustSubscribe(t, "#", 1)
	a.mustPublish(t, "vakt/secret/x", []byte("ok"), false, 1)
	if got := a.next(t, "own message").Topic; got != "vakt/secret/x" {
		t.Fatalf("got %q", got)
	}
}

func TestInlinePublishAndSubscribe(t *testing.T) {
	b := newBroker(t, Config{}, nil, nil)
	z := mustDial(t, b, "zigbee2mqtt", "z2m-secret", "z2m")
	z.mustSubscribe(t, "zigbee2mqtt/#", 1)

	if err := b.Publish("zigbee2mqtt/siren/set", []byte(`{"state":"ON"}`), false, 1); err != nil {
		t.Fatal(err)
	}
	got := z.next(t, "hub publish")
	if got.Topic != "zigbee2mqtt/siren/set" || string(got.Payload) != `{"state":"ON"}` || got.QoS != 1 {
		t.Fatalf("client got %+v", got)
	}

	type msg struct {
		topic    string
		payload  string
		retained bool
	}
	ch := make(chan msg, 10)
	if err := b.Subscribe("zigbee2mqtt/+", 7, func(topic string, payload []byte, retained bool) {
		ch <- msg{topic, string(payload), retained}
	}); err != nil {
		t.Fatal(err)
	}
	z.mustPublish(t, "zigbee2mqtt/hall", []byte(`{"occupancy":true}`), false, 0)
	if m := recv(t, ch, "client publish"); m != (msg{"zigbee2mqtt/hall", `{"occupancy":true}`, false}) {
		t.Fatalf("inline got %+v", m)
	}
	if err := b.Unsubscribe("zigbee2mqtt/+", 7); err != nil {
		t.Fatal(err)
	}
	// After Unsubscribe and a Watch's cancel only the remaining subscription sees
	// the next message.
	watched := make(chan Message, 10)
	cancel, err := b.Watch("zigbee2mqtt/+", func(m Message) { watched <- m })
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	cancel()
	other := inline(t, b, "zigbee2mqtt/+")
	// The hub's Publish runs every in-process handler before it returns.
	if err := b.Publish("zigbee2mqtt/kitchen", []byte("x"), false, 0); err != nil {
		t.Fatal(err)
	}
	recv(t, other, "message after unsubscribe")
	select {
	case m := <-ch:
		t.Fatalf("unsubscribed handler got %+v", m)
	case m := <-watched:
		t.Fatalf("cancelled watch got %+v", m)
	default:
	}
}

func TestPublishAndSubscribeErrors(t *testing.T) {
	b := newUnstarted(t, Config{}, nil, nil)
	if err := b.Publish("a", nil, false, 0); !errors.Is(err, ErrNotStarted) {
		t.Fatalf("Publish before Start: %v", err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err == nil {
		t.Fatal("second Start succeeded")
	}
	for _, topic := range []string{"", "a/#", "a/+/b", "$SYS/x"} {
		if err := b.Publish(topic, nil, false, 0); err == nil {
			t.Errorf("Publish(%q) succeeded", topic)
		}
	}
	if err := b.Publish("a", nil, false, 3); err == nil {
		t.Error("QoS 3 accepted")
	}
	for _, f := range []string{"", "a/#/b", "a+", "$share/g/a"} {
		if err := b.Subscribe(f, 1, func(string, []byte, bool) {}); err == nil {
			t.Errorf("Subscribe(%q) succeeded", f)
		}
	}
	if err := b.Subscribe("a", 1, nil); err == nil {
		t.Error("nil handler accepted")
	}
	if err := b.Subscribe("a", -1, func(string, []byte, bool) {}); err == nil {
		t.Error("negative id accepted")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if err := b.Publish("a", nil, false, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Publish after Close: %v", err)
	}
	if err := b.Start(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after Close: %v", err)
	}
	if b.Addr() != nil {
		t.Fatal("Addr after Close is not nil")
	}
}

func TestRetainedSurvivesRestart(t *testing.T) {
	store := newFakeStore()
	b1 := newBroker(t, Config{}, store, nil)
	z := mustDial(t, b1, "zigbee2mqtt", "z2m-secret", "z2m")
	format := byte(1)
	if err := z.publish(t, &paho.Publish{
		Topic: "zigbee2mqtt/front_door", QoS: 1, Retain: true, Payload: []byte(`{"contact":true}`),
		Properties: &paho.PublishProperties{
			ContentType:   "application/json",
			PayloadFormat: &format,
			User:          paho.UserProperties{{Key: "source", Value: "test"}},
		},
	}); err != nil {
		t.Fatal(err)
	}
	store.nextEvent(t, "put", "zigbee2mqtt/front_door")
	if err := b1.Publish("vakt/state", []byte("armed_away"), true, 1); err != nil {
		t.Fatal(err)
	}
	if err := b1.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := store.get("vakt/state"); !ok {
		t.Fatal("retained message of the hub not in the store after Close")
	}

	// A second broker on the same store, with an in-process subscription made
	// before Start.
	b2 := newUnstarted(t, Config{}, store, nil)
	early := inline(t, b2, "vakt/#")
	if err := b2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, early, "restored retained message (subscribed before Start)"); m.Topic != "vakt/state" || string(m.Payload) != "armed_away" || !m.Retained {
		t.Fatalf("early subscriber got %+v", m)
	}

	c := mustDial(t, b2, "admin", "admin-secret", "adm")
	c.mustSubscribe(t, "zigbee2mqtt/#", 1)
	got := c.next(t, "restored retained message")
	if got.Topic != "zigbee2mqtt/front_door" || string(got.Payload) != `{"contact":true}` || !got.Retain || got.QoS != 1 {
		t.Fatalf("got %+v", got)
	}
	if p := got.Properties; p == nil || p.ContentType != "application/json" || p.PayloadFormat == nil || *p.PayloadFormat != 1 ||
		p.User.Get("source") != "test" {
		t.Fatalf("properties not restored: %+v", got.Properties)
	}

	// The in-process subscriber sees it too, flagged retained.
	ch := make(chan bool, 1)
	if err := b2.Subscribe("zigbee2mqtt/front_door", 2, func(_ string, _ []byte, retained bool) { ch <- retained }); err != nil {
		t.Fatal(err)
	}
	if !recv(t, ch, "retained replay") {
		t.Fatal("replayed message not flagged retained")
	}
}

func TestRetainedDelete(t *testing.T) {
	store := newFakeStore()
	b := newBroker(t, Config{}, store, nil)
	seen := inline(t, b, "zigbee2mqtt/#")
	z := mustDial(t, b, "zigbee2mqtt", "z2m-secret", "z2m")
	z.mustPublish(t, "zigbee2mqtt/window", []byte("open"), true, 1)
	store.nextEvent(t, "put", "zigbee2mqtt/window")
	z.mustPublish(t, "zigbee2mqtt/window", nil, true, 1)
	store.nextEvent(t, "delete", "zigbee2mqtt/window")
	if _, ok := store.get("zigbee2mqtt/window"); ok {
		t.Fatal("deleted retained message still in the store")
	}
	// The client's PUBACK comes before the delivery to subscribers: wait until the
	// delete has been delivered, so that it cannot reach the subscription below
	// (whose handler would then run on the client's goroutine, concurrently).
	var got []string
	for len(got) < 2 {
		m := recv(t, seen, "the publish and the delete delivered")
		got = append(got, fmt.Sprintf("%s %q retained=%t", m.Topic, m.Payload, m.Retained))
	}
	if want := []string{`zigbee2mqtt/window "open" retained=true`, `zigbee2mqtt/window "" retained=true`}; !slices.Equal(got, want) {
		t.Fatalf("delivered %q, want %q", got, want)
	}
	// Subscribe replays retained messages before it returns: nothing must come.
	replayed := make(chan string, 10)
	if err := b.Subscribe("zigbee2mqtt/#", 1, func(topic string, _ []byte, _ bool) { replayed <- topic }); err != nil {
		t.Fatal(err)
	}
	if n := len(replayed); n != 0 {
		t.Fatalf("%d retained messages replayed after delete", n)
	}
	// The hub deletes its own the same way.
	if err := b.Publish("vakt/x", []byte("1"), true, 0); err != nil {
		t.Fatal(err)
	}
	store.nextEvent(t, "put", "vakt/x")
	if err := b.Publish("vakt/x", nil, true, 0); err != nil {
		t.Fatal(err)
	}
	store.nextEvent(t, "delete", "vakt/x")
}

// TestRetainedNeverExpires restores a message created two days ago and publishes
// one with a one-second MQTT v5 message expiry, lets the broker's expiry sweep
// (every second) run a few times, and checks that both are still delivered and
// stored.
func TestRetainedNeverExpires(t *testing.T) {
	store := newFakeStore()
	old := mpackets.Packet{
		FixedHeader: mpackets.FixedHeader{Type: mpackets.Publish, Retain: true, Qos: 1},
		TopicName:   "zigbee2mqtt/smoke",
		Payload:     []byte(`{"smoke":false}`),
		Created:     time.Now().Add(-48 * time.Hour).Unix(),
		Origin:      "z2m",
	}
	store.msgs[old.TopicName] = encodeRetained(old)

	b := newUnstarted(t, Config{}, store, nil)
	b.sysInterval = 1 // $SYS ticks every second, so the test can count sweeps
	ticks := make(chan struct{}, 100)
	if err := b.Subscribe("$SYS/broker/uptime", 1, func(string, []byte, bool) { ticks <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := b.srv.Load().Options.Capabilities.MaximumMessageExpiryInterval; got != 0 {
		t.Fatalf("MaximumMessageExpiryInterval = %d, want 0 (no limit)", got)
	}

	z := mustDial(t, b, "zigbee2mqtt", "z2m-secret", "z2m")
	expiry := uint32(1)
	if err := z.publish(t, &paho.Publish{Topic: "zigbee2mqtt/door", QoS: 1, Retain: true, Payload: []byte("closed"),
		Properties: &paho.PublishProperties{MessageExpiry: &expiry}}); err != nil {
		t.Fatal(err)
	}
	store.nextEvent(t, "put", "zigbee2mqtt/door")

	// Four $SYS publishes after the replay span more than three seconds.
	for i := 0; i < 5; i++ {
		recv(t, ticks, "$SYS tick")
	}

	c := mustDial(t, b, "admin", "admin-secret", "adm")
	c.mustSubscribe(t, "zigbee2mqtt/#", 1)
	seen := map[string]bool{}
	for len(seen) < 2 {
		m := c.next(t, "retained messages")
		if !m.Retain {
			t.Fatalf("%q not flagged retained", m.Topic)
		}
		if m.Properties != nil && m.Properties.MessageExpiry != nil {
			t.Errorf("%q carries a message expiry of %d s", m.Topic, *m.Properties.MessageExpiry)
		}
		seen[m.Topic] = true
	}
	if !seen["zigbee2mqtt/smoke"] || !seen["zigbee2mqtt/door"] {
		t.Fatalf("got %v", seen)
	}
	for _, topic := range []string{"zigbee2mqtt/smoke", "zigbee2mqtt/door"} {
		if _, ok := store.get(topic); !ok {
			t.Errorf("%q removed from the store", topic)
		}
	}
}

func TestLargePacket(t *testing.T) {
	b := newBroker(t, Config{}, nil, nil)
	hub := inline(t, b, "big/#")
	a := mustDial(t, b, "admin", "admin-secret", "adm")
	r := mustDial(t, b, "admin", "admin-secret", "reader")
	r.mustSubscribe(t, "big/#", 1)

	payload := bytes.Repeat([]byte("0123456789abcdef"), 900*1024/16) // 900 KiB
	a.mustPublish(t, "big/blob", payload, false, 1)
	if m := recv(t, hub, "large message (in-process)"); !bytes.Equal(m.Payload, payload) {
		t.Fatalf("in-process subscriber got %d bytes, want %d", len(m.Payload), len(payload))
	}
	if m := r.next(t, "large message (client)"); !bytes.Equal(m.Payload, payload) {
		t.Fatalf("client got %d bytes, want %d", len(m.Payload), len(payload))
	}

	// Above the limit the broker drops the connection.
	tooBig := make([]byte, MinPacketSize+1024)
	_ = a.publish(t, &paho.Publish{Topic: "big/too", QoS: 0, Payload: tooBig})
	recv(t, a.Done(), "connection closed after an oversized packet")
}

func TestStoreErrorsDoNotStopTheBroker(t *testing.T) {
	store := newFakeStore()
	store.setFail(errDisk)
	sink := newLogSink()
	b := newBroker(t, Config{}, store, slog.New(sink))
	hub := inline(t, b, "zigbee2mqtt/#")
	z := mustDial(t, b, "zigbee2mqtt", "z2m-secret", "z2m")
	z.mustPublish(t, "zigbee2mqtt/door", []byte("open"), true, 1)

	if m := recv(t, hub, "message despite store errors"); m.Topic != "zigbee2mqtt/door" {
		t.Fatalf("got %+v", m)
	}
	line := recv(t, sink.errors, "error log line")
	if !strings.Contains(line, "retained messages could not be persisted") || !strings.Contains(line, "disk on fire") ||
		!strings.Contains(line, "zigbee2mqtt/door") {
		t.Fatalf("error line %q", line)
	}
	// The retained message is still served from memory.
	c := mustDial(t, b, "admin", "admin-secret", "adm")
	c.mustSubscribe(t, "zigbee2mqtt/#", 1)
	if m := c.next(t, "retained message from memory"); string(m.Payload) != "open" {
		t.Fatalf("got %+v", m)
	}
	// Close reports what could not be written.
	if err := b.Close(); err == nil || !strings.Contains(err.Error(), "not persisted") {
		t.Fatalf("Close = %v, want an error about unpersisted messages", err)
	}
}

func TestStoreUnreadableFailsStart(t *testing.T) {
	b := newUnstarted(t, Config{}, brokenList{}, nil)
	err := b.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "retained") {
		t.Fatalf("Start = %v, want an error about retained messages", err)
	}
}

type brokenList struct{ *fakeStore }

func (brokenList) ListRetained() (map[string][]byte, error) { return nil, errDisk }

func TestUnreadableStoredMessageSkipped(t *testing.T) {
	store := newFakeStore()
	store.msgs["bad/one"] = []byte{9, 9, 9}
	store.msgs["good/one"] = encodeRetained(mpackets.Packet{TopicName: "good/one", Payload: []byte("x")})
	b := newBroker(t, Config{}, store, nil)
	var topics []string
	if err := b.Subscribe("#", 1, func(topic string, _ []byte, _ bool) { topics = append(topics, topic) }); err != nil {
		t.Fatal(err)
	}
	if len(topics) != 1 || topics[0] != "good/one" {
		t.Fatalf("restored %v", topics)
	}
}

func TestPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	b := newUnstarted(t, Config{Addr: addr}, nil, nil)
	err = b.Start(context.Background())
	if err == nil {
		t.Fatal("Start succeeded on a port in use")
	}
	if !strings.Contains(err.Error(), addr) || !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("error %q does not name %s or is not EADDRINUSE", err, addr)
	}
}

func TestSecondListenerInUseReleasesFirst(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := probe.Addr().String()
	probe.Close()
	b := newUnstarted(t, Config{Addr: free, WSAddr: ln.Addr().String()}, nil, nil)
	if err := b.Start(context.Background()); err == nil {
		t.Fatal("Start succeeded")
	}
	again, err := net.Listen("tcp", free)
	if err != nil {
		t.Fatalf("first listener not released: %v", err)
	}
	again.Close()
}

func TestStartCancelled(t *testing.T) {
	b := newUnstarted(t, Config{}, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Start(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Start = %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"duplicate user", Config{Users: []User{{Name: "a", Password: "p1"}, {Name: "a", Password: "p2"}}}, `user "a": duplicate user`},
		{"empty password", Config{Users: []User{{Name: "a"}}}, `user "a": empty password`},
		{"empty name", Config{Users: []User{{Password: "p1"}}}, "user 1: empty name"},
		{"hash inside", Config{Users: []User{{Name: "a", Password: "p1", Read: []string{"a/#/b"}}}}, `read filter "a/#/b": '#' must be the whole last level`},
		{"plus in level", Config{Users: []User{{Name: "a", Password: "p1", Write: []string{"a/b+"}}}}, `write filter "a/b+": '+' must be a whole level`},
		{"empty filter", Config{Users: []User{{Name: "a", Password: "p1", Read: []string{""}}}}, `read filter "": empty filter`},
		{"tls without files", Config{TLSAddr: ":8883"}, "TLSAddr needs both TLSCert and TLSKey"},
		{"tls files without addr", Config{TLSCert: "c.pem", TLSKey: "k.pem"}, "TLSAddr is empty"},
		{"unreadable tls", Config{TLSAddr: ":8883", TLSCert: filepath.Join(dir, "missing.crt"), TLSKey: filepath.Join(dir, "missing.key")}, "missing.crt"},
		{"small packets", Config{MaxPacketSize: 1000}, "below the minimum"},
		{"bad address", Config{Addr: "1883"}, `Addr "1883" is not host:port`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg, nil, nil)
			if err == nil {
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
			for _, u := range tc.cfg.Users {
				if u.Password != "" && strings.Contains(err.Error(), u.Password) {
					t.Fatalf("error shows a password: %q", err)
				}
			}
		})
	}
	// Every problem is reported at once.
	_, err := New(Config{Users: []User{{Name: "a"}, {Name: "a", Password: "x", Read: []string{"#/a"}}}}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "empty password") || !strings.Contains(err.Error(), "duplicate") || !strings.Contains(err.Error(), "#/a") {
		t.Fatalf("error = %v", err)
	}
}

func TestUserNeverPrintsPassword(t *testing.T) {
	u := User{Name: "z", Password: "hunter2", Read: []string{"a"}}
	cfg := Config{Users: []User{u}}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("cfg", "user", u)
	for _, s := range []string{u.String(), strings.TrimSpace(buf.String()), sprint(cfg)} {
		if strings.Contains(s, "hunter2") {
			t.Fatalf("password shown: %s", s)
		}
	}
}

func TestOnClient(t *testing.T) {
	type ev struct {
		id, user  string
		connected bool
	}
	events := make(chan ev, 10)
	b := newBroker(t, Config{OnClient: func(id, user string, connected bool) { events <- ev{id, user, connected} }}, nil, nil)
	c := mustDial(t, b, "zigbee2mqtt", "z2m-secret", "z2m")
	if e := recv(t, events, "connect event"); e != (ev{"z2m", "zigbee2mqtt", true}) {
		t.Fatalf("got %+v", e)
	}
	if err := c.Disconnect(&paho.Disconnect{}); err != nil {
		t.Fatal(err)
	}
	if e := recv(t, events, "disconnect event"); e != (ev{"z2m", "zigbee2mqtt", false}) {
		t.Fatalf("got %+v", e)
	}
}

func sprint(v any) string { return fmt.Sprintf("%v %+v", v, v) }

// TestCloseWithSilentConnection checks that a connection that never sends CONNECT
// does not hold up Close.
func TestCloseWithSilentConnection(t *testing.T) {
	b := newBroker(t, Config{}, nil, nil)
	conn, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	mustDial(t, b, "admin", "admin-secret", "adm") // the silent one has been accepted by now
	done := make(chan error, 1)
	go func() { done <- b.Close() }()
	if err := recv(t, done, "Close"); err != nil {
		t.Fatal(err)
	}
}

func TestTLSListener(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	b := newBroker(t, Config{TLSAddr: "127.0.0.1:0", TLSCert: certFile, TLSKey: keyFile}, nil, nil)
	if b.TLSAddr() == nil {
		t.Fatal("no TLS address")
	}
	conn, err := tls.Dial("tcp", b.TLSAddr().String(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	c, ca, err := dialConn(t, packets.NewThreadSafeConn(conn), "admin", "admin-secret", "tls")
	if err != nil {
		t.Fatalf("connect over TLS: %v (%+v)", err, ca)
	}
	c.mustSubscribe(t, "t", 0)
	if err := b.Publish("t", []byte("over tls"), false, 0); err != nil {
		t.Fatal(err)
	}
	if m := c.next(t, "message over TLS"); string(m.Payload) != "over tls" {
		t.Fatalf("got %+v", m)
	}
}

func TestWebsocketListener(t *testing.T) {
	b := newBroker(t, Config{WSAddr: "127.0.0.1:0"}, nil, nil)
	d := websocket.Dialer{Subprotocols: []string{"mqtt"}, HandshakeTimeout: wait}
	ws, _, err := d.Dial("ws://"+b.WSAddr().String()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	conn := &wsConn{Conn: ws.NetConn(), ws: ws}
	c, ca, err := dialConn(t, packets.NewThreadSafeConn(conn), "zigbee2mqtt", "z2m-secret", "ws")
	if err != nil {
		t.Fatalf("connect over websocket: %v (%+v)", err, ca)
	}
	hub := inline(t, b, "zigbee2mqtt/#")
	c.mustPublish(t, "zigbee2mqtt/ws", []byte("hello"), false, 1)
	if m := recv(t, hub, "message over websocket"); string(m.Payload) != "hello" {
		t.Fatalf("got %+v", m)
	}
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "vakt test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "mqtt.crt"), filepath.Join(dir, "mqtt.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
