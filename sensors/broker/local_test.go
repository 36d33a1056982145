package broker

import (
	"context"
	"fmt"
	"math"
	"net"
	"slices"
	"sync"
	"testing"

	"github.com/eclipse/paho.golang/paho"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// deliveries records what each in-process subscription received, as
// "name topic payload client user retained".
type deliveries struct {
	mu    sync.Mutex
	got   map[string][]string
	added chan struct{} // one per delivery, if set
}

func (d *deliveries) watch(t *testing.T, b *Broker, name, filter string) {
	t.Helper()
	cancel, err := b.Watch(filter, func(m Message) {
		d.add(name, fmt.Sprint(m.Topic, " ", string(m.Payload), " ", m.ClientID, " ", m.Username, " ", m.Retained))
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cancel)
}

func (d *deliveries) add(name, s string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.got == nil {
		d.got = map[string][]string{}
	}
	d.got[name] = append(d.got[name], s)
	if d.added != nil {
		d.added <- struct{}{}
	}
}

func (d *deliveries) take() map[string][]string {
	d.mu.Lock()
	defer d.mu.Unlock()
	got := d.got
	d.got = nil
	return got
}

func equalLists(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// In-process subscriptions match with MQTT's rules, get each message once per
// subscription id, see the publishing client and its user, and get the retained
// messages when they subscribe; those with a filter starting with a wildcard are
// kept by mochi, the others by the broker's own index, and both see the same.
func TestInProcessSubscriptionsMatch(t *testing.T) {
	b := newBroker(t, Config{}, nil, nil)
	var d deliveries
	d.watch(t, b, "exact", "zone/a")
	d.watch(t, b, "plus", "zone/+")
	d.watch(t, b, "hash", "zone/#")
	d.watch(t, b, "deep", "zone/+/b")
	d.watch(t, b, "all", "#")
	d.watch(t, b, "top", "+/a")
	// One id under two filters: one delivery per message.
	for _, f := range []string{"zone/a", "zone/+"} {
		if err := b.Subscribe(f, 5, func(topic string, p []byte, retained bool) {
			d.add("id5", fmt.Sprint(topic, " ", string(p), " ", retained))
		}); err != nil {
			t.Fatal(err)
		}
	}
	// Replaced handler: only the second one runs.
	for _, name := range []string{"old", "new"} {
		if err := b.Subscribe("zone/b", 6, func(topic string, p []byte, retained bool) {
			d.add(name, fmt.Sprint(topic, " ", string(p), " ", retained))
		}); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{}, 1)
	if _, err := b.Watch("done", func(Message) { done <- struct{}{} }); err != nil {
		t.Fatal(err)
	}

	c := mustDial(t, b, "admin", "admin-secret", "adm")
	for _, topic := range []string{"zone", "zone/a", "zone/b", "zone/a/b", "zonex/a", "other"} {
		c.mustPublish(t, topic, []byte("c"), false, 1)
	}
	c.mustPublish(t, "done", nil, false, 1)
	recv(t, done, "the client's last message")
	want := map[string][]string{
		"exact": {"zone/a c adm admin false"},
		"plus":  {"zone/a c adm admin false", "zone/b c adm admin false"},
		"hash":  {"zone c adm admin false", "zone/a c adm admin false", "zone/b c adm admin false", "zone/a/b c adm admin false"},
		"deep":  {"zone/a/b c adm admin false"},
		"all": {"zone c adm admin false", "zone/a c adm admin false", "zone/b c adm admin false", "zone/a/b c adm admin false",
			"zonex/a c adm admin false", "other c adm admin false", "done  adm admin false"},
		"top": {"zone/a c adm admin false", "zonex/a c adm admin false"},
		"id5": {"zone/a c false", "zone/b c false"},
		"new": {"zone/b c false"},
	}
	if got := d.take(); !equalLists(got, want) {
		t.Errorf("from a client:\ngot  %q\nwant %q", got, want)
	}

	// The hub's own publishes are delivered before Publish returns.
	if err := b.Publish("zone/a", []byte("h"), true, 1); err != nil {
		t.Fatal(err)
	}
	want = map[string][]string{
		"exact": {"zone/a h   true"}, "plus": {"zone/a h   true"}, "hash": {"zone/a h   true"},
		"all": {"zone/a h   true"}, "top": {"zone/a h   true"}, "id5": {"zone/a h true"},
	}
	if got := d.take(); !equalLists(got, want) {
		t.Errorf("from the hub:\ngot  %q\nwant %q", got, want)
	}

	// Retained messages are replayed on subscribing, with the client that sent
	// them while it is connected.
	c.mustPublish(t, "zone/r", []byte("kept"), true, 1)
	c.mustPublish(t, "done", nil, false, 1)
	recv(t, done, "the client's retained message")
	d.take()
	d.watch(t, b, "late", "zone/+")
	d.watch(t, b, "lateAll", "#")
	want = map[string][]string{
		"late":    {"zone/a h   true", "zone/r kept adm admin true"},
		"lateAll": {"zone/a h   true", "zone/r kept adm admin true"},
	}
	got := d.take()
	for _, l := range got {
		slices.Sort(l)
	}
	if !equalLists(got, want) {
		t.Errorf("replayed:\ngot  %q\nwant %q", got, want)
	}

	for topic, want := range map[string]bool{"zone/a": true, "zone/q": true, "zone/a/b": true, "zonex/a": true, "other": true} {
		if b.Subscribed(topic) != want {
			t.Errorf("Subscribed(%q) = %t", topic, !want)
		}
	}
}

// Subscribed sees the broker's own index, and Unsubscribe and a Watch's cancel
// end its subscriptions.
func TestInProcessUnsubscribe(t *testing.T) {
	b := newBroker(t, Config{}, nil, nil)
	var d deliveries
	cancel, err := b.Watch("zone/+", func(m Message) { d.add("w", m.Topic) })
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Subscribe("zone/a", 1, func(topic string, _ []byte, _ bool) { d.add("s", topic) }); err != nil {
		t.Fatal(err)
	}
	if !b.Subscribed("zone/a") || !b.Subscribed("zone/b") || b.Subscribed("zone") || b.Subscribed("other/a") {
		t.Fatal("Subscribed is wrong with two subscriptions")
	}
	cancel()
	if !b.Subscribed("zone/a") || b.Subscribed("zone/b") {
		t.Fatal("Subscribed is wrong after the Watch's cancel")
	}
	if err := b.Publish("zone/a", nil, false, 0); err != nil {
		t.Fatal(err)
	}
	if err := b.Unsubscribe("zone/a", 1); err != nil {
		t.Fatal(err)
	}
	if b.Subscribed("zone/a") {
		t.Fatal("Subscribed after Unsubscribe")
	}
	if err := b.Publish("zone/a", nil, false, 0); err != nil {
		t.Fatal(err)
	}
	if got, want := d.take(), map[string][]string{"s": {"zone/a"}}; !equalLists(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// willSignal reports each will mochi has sent, once every hook before it ran.
type willSignal struct {
	mqtt.HookBase
	sent chan string
}

func (h *willSignal) ID() string { return "test-will-sent" }

func (h *willSignal) Provides(b byte) bool { return b == mqtt.OnWillSent }

func (h *willSignal) OnWillSent(cl *mqtt.Client, pk packets.Packet) { h.sent <- cl.ID }

// Wills reach in-process subscriptions once: sent at once, delayed with the
// client's session gone (mochi calls no hook then) or kept; a delayed will that
// the client's return cancels is not delivered.
func TestInProcessWills(t *testing.T) {
	clients := make(chan string, 10)
	b := newBroker(t, Config{OnClient: func(id, _ string, connected bool) {
		clients <- fmt.Sprint(id, " ", connected)
	}}, nil, nil)
	signal := &willSignal{sent: make(chan string, 10)}
	if err := b.srv.Load().AddHook(signal, nil); err != nil {
		t.Fatal(err)
	}
	d := deliveries{added: make(chan struct{}, 10)}
	d.watch(t, b, "w", "zigbee2mqtt/+/state")
	// Kept by mochi: how wills reached every in-process subscription before.
	d.watch(t, b, "mochi", "+/+/state")
	both := func(s string) map[string][]string { return map[string][]string{"w": {s}, "mochi": {s}} }
	// The subscriptions that capture a delayed will have ids far below Watch's.
	captures := func(topic string) int {
		n := 0
		for id := range b.srv.Load().Topics.Subscribers(topic).InlineSubscriptions {
			if id < math.MinInt/2 {
				n++
			}
		}
		return n
	}

	// connect connects a client with a will; expiry 0 sends no session expiry
	// (the session ends with the connection, and the will delay stays).
	connect := func(id, topic string, delay, expiry uint32) net.Conn {
		t.Helper()
		var props *paho.ConnectProperties
		if expiry > 0 {
			props = &paho.ConnectProperties{SessionExpiryInterval: &expiry}
		}
		conn, err := net.Dial("tcp", b.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c := paho.NewClient(paho.ClientConfig{Conn: conn})
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if _, err := c.Connect(ctx, &paho.Connect{ClientID: id, KeepAlive: 30, CleanStart: true,
			Username: "zigbee2mqtt", UsernameFlag: true, Password: []byte("z2m-secret"), PasswordFlag: true,
			Properties:     props,
			WillMessage:    &paho.WillMessage{Topic: topic, Payload: []byte("offline " + id), QoS: 1},
			WillProperties: &paho.WillProperties{WillDelayInterval: &delay}}); err != nil {
			t.Fatal(err)
		}
		if got := recv(t, clients, "connect"); got != id+" true" {
			t.Fatalf("client event %q", got)
		}
		return conn
	}
	drop := func(conn net.Conn, id string) {
		t.Helper()
		_ = conn.Close() // no DISCONNECT: the will is due
		if got := recv(t, clients, "disconnect"); got != id+" false" {
			t.Fatalf("client event %q", got)
		}
	}

	// At once.
	drop(connect("now", "zigbee2mqtt/now/state", 0, 0), "now")
	recv(t, signal.sent, "the will sent")
	recv(t, d.added, "the will")
	recv(t, d.added, "the will")
	if got, want := d.take(), both("zigbee2mqtt/now/state offline now now zigbee2mqtt false"); !equalLists(got, want) {
		t.Fatalf("will sent at once: got %q, want %q", got, want)
	}

	// Delayed, with the session ending with the connection (mochi's loop then
	// publishes the will without calling a hook) or kept (mochi calls OnWillSent
	// too): the will comes once, and its capture ends.
	for _, tc := range []struct {
		id     string
		expiry uint32
	}{{"gone", 0}, {"kept", 60}} {
		topic := "zigbee2mqtt/" + tc.id + "/state"
		drop(connect(tc.id, topic, 1, tc.expiry), tc.id)
		if tc.expiry > 0 {
			if got := recv(t, signal.sent, "the delayed will sent"); got != tc.id {
				t.Fatalf("will of %q sent", got)
			}
		}
		recv(t, d.added, "the delayed will")
		recv(t, d.added, "the delayed will")
		if got, want := d.take(), both(topic+" offline "+tc.id+" "+tc.id+"  false"); !equalLists(got, want) {
			t.Fatalf("delayed will of %s: got %q, want %q", tc.id, got, want)
		}
		if n := captures(topic); n != 0 {
			t.Fatalf("%d captures left after the will of %s", n, tc.id)
		}
	}

	// Cancelled: the client is back before the delay ends.
	drop(connect("back", "zigbee2mqtt/back/state", 3600, 7200), "back")
	if n := captures("zigbee2mqtt/back/state"); n != 1 {
		t.Fatalf("%d captures of the delayed will", n)
	}
	connect("back", "zigbee2mqtt/back/state", 0, 0)
	if n := captures("zigbee2mqtt/back/state"); n != 0 {
		t.Fatalf("%d captures left after the client came back", n)
	}
	if got := d.take(); len(got) != 0 {
		t.Fatalf("cancelled will delivered: %q", got)
	}
}
