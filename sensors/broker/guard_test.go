package broker

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/mochi-mqtt/server/v2/packets"
)

// TestLoginThrottled: after 5 wrong passwords from one address, every attempt
// from it waits (1 s, then growing), refusals are logged one per line only up to
// the fifth and then as one summary a minute, and long names are cut. Another
// address, and the right password from it, are not slowed.
func TestLoginThrottled(t *testing.T) {
	sink := newLogSink()
	clk := newFakeClock()
	b := newUnstarted(t, Config{}, nil, slog.New(sink))
	withClock(b, clk)
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("n", 60000)
	for i := range 9 {
		user := "zigbee2mqtt"
		if i == 1 || i == 7 {
			user = long
		}
		_, ca, err := dialFrom(t, b, "127.0.0.1", user, "guess", "c")
		if err == nil || ca == nil || ca.ReasonCode != codeBadUserOrPassword {
			t.Fatalf("attempt %d: err %v connack %+v, want a refusal", i+1, err, ca)
		}
	}
	if got, want := clk.takeWaits(), []time.Duration{time.Second, time.Second, 2 * time.Second, 4 * time.Second}; !slices.Equal(got, want) {
		t.Fatalf("waits of attempts 6-9 = %v, want %v", got, want)
	}

	// Another address: neither its wrong nor its right password waits.
	if _, _, err := dialFrom(t, b, "127.0.0.2", "zigbee2mqtt", "guess", "d"); err == nil {
		t.Fatal("wrong password accepted")
	}
	if _, _, err := dialFrom(t, b, "127.0.0.2", "zigbee2mqtt", "z2m-secret", "z2m"); err != nil {
		t.Fatalf("right password from another address: %v", err)
	}
	if got := clk.takeWaits(); len(got) != 0 {
		t.Fatalf("another address waited %v", got)
	}
	// The right password from the throttled address is accepted, after its wait.
	if _, _, err := dialFrom(t, b, "127.0.0.1", "admin", "admin-secret", "adm"); err != nil {
		t.Fatalf("right password from the throttled address: %v", err)
	}
	if got, want := clk.takeWaits(), []time.Duration{8 * time.Second}; !slices.Equal(got, want) {
		t.Fatalf("waits = %v, want %v", got, want)
	}

	clk.Advance(time.Minute)
	b.auth.sweep()
	b.auth.sweep() // nothing more is due
	cut := strings.Repeat("n", 64) + "…"
	want := []string{
		`WARN mqtt login refused reason=wrong password user=zigbee2mqtt client=c remote=127.0.0.1:PORT listener=tcp failures=1`,
		`WARN mqtt login refused reason=unknown user user=` + cut + ` client=c remote=127.0.0.1:PORT listener=tcp failures=2`,
		`WARN mqtt login refused reason=wrong password user=zigbee2mqtt client=c remote=127.0.0.1:PORT listener=tcp failures=3`,
		`WARN mqtt login refused reason=wrong password user=zigbee2mqtt client=c remote=127.0.0.1:PORT listener=tcp failures=4`,
		`WARN mqtt login refused reason=wrong password user=zigbee2mqtt client=c remote=127.0.0.1:PORT listener=tcp failures=5`,
		`WARN mqtt login refused reason=wrong password user=zigbee2mqtt client=d remote=127.0.0.2:PORT listener=tcp failures=1`,
		`WARN mqtt logins refused from one address, slowed down remote=127.0.0.1 refused=4 users=[zigbee2mqtt ` + cut + `] failures=9 interval=16s`,
	}
	if got := sink.matching("mqtt login"); !slices.Equal(got, want) {
		t.Fatalf("log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestThrottledLoginDoesNotBlockOthers holds a throttled login in its wait and
// logs in from another address meanwhile.
func TestThrottledLoginDoesNotBlockOthers(t *testing.T) {
	clk := newFakeClock()
	b := newUnstarted(t, Config{}, nil, nil)
	withClock(b, clk)
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range freeFailures {
		if _, _, err := dialFrom(t, b, "127.0.0.1", "zigbee2mqtt", "guess", "c"); err == nil {
			t.Fatal("wrong password accepted")
		}
	}
	clk.mu.Lock()
	clk.hold = make(chan struct{})
	clk.mu.Unlock()
	held := make(chan error, 1)
	go func() {
		_, _, err := dialFrom(t, b, "127.0.0.1", "admin", "admin-secret", "adm")
		held <- err
	}()
	if _, _, err := dialFrom(t, b, "127.0.0.2", "zigbee2mqtt", "z2m-secret", "z2m"); err != nil {
		t.Fatalf("login from another address while one waits: %v", err)
	}
	select {
	case err := <-held:
		t.Fatalf("throttled login answered before its wait ended: %v", err)
	default:
	}
	close(clk.hold)
	if err := recv(t, held, "the throttled login"); err != nil {
		t.Fatalf("throttled login with the right password: %v", err)
	}
}

// TestClientIDTakeover: another user connecting with the bridge's client id is
// refused and the bridge stays connected; the same user may take over.
func TestClientIDTakeover(t *testing.T) {
	sink := newLogSink()
	b := newBroker(t, Config{}, nil, slog.New(sink))
	bridge := mustDial(t, b, "zigbee2mqtt", "z2m-secret", "bridge")
	bridge.mustSubscribe(t, "zigbee2mqtt/#", 1)

	_, ca, err := dial(t, b.Addr(), "admin", "admin-secret", "bridge")
	if err == nil || ca == nil || ca.ReasonCode != codeClientIDNotValid {
		t.Fatalf("takeover by another user: err %v connack %+v, want 0x85", err, ca)
	}
	if v3, rc := dial311(t, b, "admin", "admin-secret", "bridge"); rc != 0x02 {
		t.Fatalf("MQTT 3.1.1 takeover by another user: return code %d, want 2 (identifier rejected)", rc)
	} else {
		_ = v3.conn.Close()
	}
	if err := b.Publish("zigbee2mqtt/siren/set", []byte("ON"), false, 1); err != nil {
		t.Fatal(err)
	}
	if got := bridge.next(t, "message to the bridge"); got.Topic != "zigbee2mqtt/siren/set" {
		t.Fatalf("bridge got %q", got.Topic)
	}
	want := []string{
		`WARN mqtt connection refused: client id belongs to a session of another user client=bridge user=admin session_user=zigbee2mqtt remote=127.0.0.1:PORT`,
		`WARN mqtt connection refused: client id belongs to a session of another user client=bridge user=admin session_user=zigbee2mqtt remote=127.0.0.1:PORT`,
	}
	if got := sink.matching("mqtt connection refused"); !slices.Equal(got, want) {
		t.Fatalf("log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The same user takes over: the old connection ends.
	mustDial(t, b, "zigbee2mqtt", "z2m-secret", "bridge")
	select {
	case <-bridge.Done():
	case <-time.After(wait):
		t.Fatal("old bridge connection not ended by the same user's takeover")
	}
}

// TestRefusedPublishKeepsConnection: a publish outside the user's write list is
// dropped and logged (once a minute per client and topic), and the connection
// stays: MQTT 5 clients get "not authorized" in the PUBACK/PUBREC, MQTT 3.1.1
// clients an ordinary acknowledgement.
func TestRefusedPublishKeepsConnection(t *testing.T) {
	sink := newLogSink()
	clk := newFakeClock()
	b := newUnstarted(t, Config{}, nil, slog.New(sink))
	withClock(b, clk)
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	hub := inline(t, b, "#")

	// MQTT 5.
	z := mustDial(t, b, "zigbee2mqtt", "z2m-secret", "z2m-v5")
	for _, qos := range []byte{1, 2} {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		r, err := z.Publish(ctx, &paho.Publish{Topic: "homeassistant/sensor/x/config", QoS: qos, Payload: []byte("{}")})
		cancel()
		if r == nil || r.ReasonCode != codeNotAuthorized {
			t.Fatalf("MQTT 5 QoS %d refused publish: err %v response %+v, want reason 0x87", qos, err, r)
		}
	}
	z.mustPublish(t, "homeassistant/sensor/x/config", []byte("{}"), false, 0)
	z.mustPublish(t, "zigbee2mqtt/a", []byte("v5"), false, 1)
	// The PUBACK comes before the delivery: wait for it, to keep the order below.
	if m := recv(t, hub, "v5 message"); m.ClientID != "z2m-v5" || m.Topic != "zigbee2mqtt/a" || string(m.Payload) != "v5" {
		t.Fatalf("hub received %+v", m)
	}

	// MQTT 3.1.1: QoS 0, 1 and 2.
	c, rc := dial311(t, b, "zigbee2mqtt", "z2m-secret", "z2m-v3")
	if rc != 0 {
		t.Fatalf("CONNACK %d", rc)
	}
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish}, TopicName: "homeassistant/sensor/y/config", Payload: []byte("{}")})
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, PacketID: 7, TopicName: "homeassistant/sensor/y/config", Payload: []byte("{}")})
	if h, body := c.read(); h != 0x40 || string(body) != "\x00\x07" {
		t.Fatalf("got %#x % x, want PUBACK 7", h, body)
	}
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 2}, PacketID: 8, TopicName: "homeassistant/sensor/y/config", Payload: []byte("{}")})
	if h, body := c.read(); h != 0x50 || string(body) != "\x00\x08" {
		t.Fatalf("got %#x % x, want PUBREC 8", h, body)
	}
	c.raw(0x62, 2, 0, 8) // PUBREL 8
	if h, body := c.read(); h != 0x70 || string(body) != "\x00\x08" {
		t.Fatalf("got %#x % x, want PUBCOMP 8", h, body)
	}
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, PacketID: 9, TopicName: "zigbee2mqtt/a", Payload: []byte("v3")})
	if h, body := c.read(); h != 0x40 || string(body) != "\x00\x09" {
		t.Fatalf("got %#x % x, want PUBACK 9", h, body)
	}

	// A minute later the same refusal is logged again with the count left out.
	clk.Advance(time.Minute)
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish}, TopicName: "homeassistant/sensor/y/config", Payload: []byte("{}")})
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish}, TopicName: "zigbee2mqtt/a", Payload: []byte("end")})

	var got []string
	for len(got) < 2 {
		m := recv(t, hub, "message")
		got = append(got, m.ClientID+" "+m.Topic+" "+string(m.Payload))
	}
	if want := []string{"z2m-v3 zigbee2mqtt/a v3", "z2m-v3 zigbee2mqtt/a end"}; !slices.Equal(got, want) {
		t.Fatalf("hub received %q, want %q", got, want)
	}
	want := []string{
		`WARN mqtt publish refused: topic not in the user's write list; message dropped, client kept client=z2m-v5 user=zigbee2mqtt topic=homeassistant/sensor/x/config also_refused_last_minute=0`,
		`WARN mqtt publish refused: topic not in the user's write list; message dropped, client kept client=z2m-v3 user=zigbee2mqtt topic=homeassistant/sensor/y/config also_refused_last_minute=0`,
		`WARN mqtt publish refused: topic not in the user's write list; message dropped, client kept client=z2m-v3 user=zigbee2mqtt topic=homeassistant/sensor/y/config also_refused_last_minute=2`,
	}
	if got := sink.matching("mqtt publish refused"); !slices.Equal(got, want) {
		t.Fatalf("log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestWillOutsideACLDropped: a will on a topic the user may not publish to is
// dropped at connect (and logged); an allowed will is published.
func TestWillOutsideACLDropped(t *testing.T) {
	sink := newLogSink()
	events := make(chan string, 10)
	b := newBroker(t, Config{OnClient: func(id, _ string, connected bool) {
		if !connected {
			events <- id
		}
	}}, nil, slog.New(sink))
	hub := inline(t, b, "#")
	for _, w := range []struct{ id, topic string }{{"w1", "vakt/state"}, {"w2", "zigbee2mqtt/bridge/state"}} {
		conn, err := net.Dial("tcp", b.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c := paho.NewClient(paho.ClientConfig{Conn: conn})
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		_, err = c.Connect(ctx, &paho.Connect{ClientID: w.id, KeepAlive: 30, CleanStart: true,
			Username: "zigbee2mqtt", UsernameFlag: true, Password: []byte("z2m-secret"), PasswordFlag: true,
			WillMessage: &paho.WillMessage{Topic: w.topic, Payload: []byte("offline"), Retain: true, QoS: 1}})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.Close() // no DISCONNECT: the will is due
		if got := recv(t, events, "disconnect"); got != w.id {
			t.Fatalf("disconnect of %q", got)
		}
	}
	// The will is published before the disconnect is reported.
	var got []string
	for len(hub) > 0 {
		m := <-hub
		got = append(got, m.Topic+" "+string(m.Payload))
	}
	if want := []string{"zigbee2mqtt/bridge/state offline"}; !slices.Equal(got, want) {
		t.Fatalf("published %q, want %q", got, want)
	}
	want := []string{`WARN mqtt will message dropped: topic not in the user's write list client=w1 user=zigbee2mqtt topic=vakt/state`}
	if got := sink.matching("mqtt will"); !slices.Equal(got, want) {
		t.Fatalf("log %q, want %q", got, want)
	}
}
