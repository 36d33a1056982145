package mqttclient

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"vakt/sensors/mqttclient/mosquittotest"
)

// wait is how long a test waits for something that should happen at once.
const wait = 20 * time.Second

// observer is a plain MQTT client watching the broker from outside.
type observer struct {
	c    *paho.Client
	msgs chan string
}

// observers numbers the observers' client ids, so two in one test do not take
// each other's session over.
var observers atomic.Int64

func observe(t *testing.T, addr, user, pass string, filters ...string) *observer {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	o := &observer{msgs: make(chan string, 256)}
	o.c = paho.NewClient(paho.ClientConfig{Conn: conn, OnPublishReceived: []func(paho.PublishReceived) (bool, error){
		func(pr paho.PublishReceived) (bool, error) {
			r := ""
			if pr.Packet.Retain {
				r = " (retained)"
			}
			o.msgs <- pr.Packet.Topic + " " + string(pr.Packet.Payload) + r
			return true, nil
		},
	}})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	cp := &paho.Connect{ClientID: fmt.Sprintf("observer-%s-%d", t.Name(), observers.Add(1)), KeepAlive: 30, CleanStart: true}
	if user != "" {
		cp.Username, cp.UsernameFlag, cp.Password, cp.PasswordFlag = user, true, []byte(pass), true
	}
	ca, err := o.c.Connect(ctx, cp)
	if err != nil || ca.ReasonCode != 0 {
		t.Fatalf("observer connect: %v %v", err, ca)
	}
	t.Cleanup(func() { _ = o.c.Disconnect(&paho.Disconnect{}) })
	if len(filters) > 0 {
		var opts []paho.SubscribeOptions
		for _, f := range filters {
			opts = append(opts, paho.SubscribeOptions{Topic: f, QoS: 1})
		}
		if _, err := o.c.Subscribe(ctx, &paho.Subscribe{Subscriptions: opts}); err != nil {
			t.Fatalf("observer subscribe: %v", err)
		}
	}
	return o
}

func (o *observer) pub(t *testing.T, topic, payload string, retain bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := o.c.Publish(ctx, &paho.Publish{Topic: topic, Payload: []byte(payload), QoS: 1, Retain: retain}); err != nil {
		t.Fatalf("observer publish: %v", err)
	}
}

// next collects n messages, sorted when sorted is set (different topics may
// arrive in any order).
func next(t *testing.T, ch <-chan string, n int, sorted bool) []string {
	t.Helper()
	var got []string
	deadline := time.After(wait)
	for len(got) < n {
		select {
		case m := <-ch:
			got = append(got, m)
		case <-deadline:
			t.Fatalf("waited for %d messages, got %q", n, got)
		}
	}
	if sorted {
		slices.Sort(got)
	}
	return got
}

// unretained drops the retained mark: publications are sent in the background,
// so an observer subscribing meanwhile gets some as retained, the rest live.
func unretained(ms []string) []string {
	for i, m := range ms {
		ms[i] = strings.TrimSuffix(m, " (retained)")
	}
	return ms
}

func same(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\n got %q\nwant %q", what, got, want)
	}
}

// events records OnUp and OnDown.
type events struct{ ch chan string }

func newEvents() *events { return &events{ch: make(chan string, 64)} }

func (e *events) config(cfg Config) Config {
	cfg.OnUp = func() { e.ch <- "up" }
	cfg.OnDown = func(error) { e.ch <- "down" }
	cfg.Backoff = func(int) time.Duration { return 50 * time.Millisecond }
	return cfg
}

func startClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		c.Close(ctx)
	})
	return c
}

// handler collects what a subscription receives.
func handler(ch chan<- string) func(Message) {
	return func(m Message) {
		r := ""
		if m.Retained {
			r = " (retained)"
		}
		ch <- m.Topic + " " + string(m.Payload) + r + fmt.Sprintf(" client=%q user=%q", m.ClientID, m.Username)
	}
}

func TestPublishSubscribeWithCredentials(t *testing.T) {
	srv := mosquittotest.Start(t, mosquittotest.Options{Users: map[string]string{"vakt": "hub-pass", "watch": "watch-pass"}})
	obs := observe(t, srv.Addr(), "watch", "watch-pass", "vakt/#", "dev/+/set")
	obs.pub(t, "dev/door/state", "OPEN", true) // retained before the hub subscribes
	ev := newEvents()
	c := startClient(t, ev.config(Config{URL: srv.URL(), Username: "vakt", Password: "hub-pass",
		Will: &Will{Topic: "vakt/status", Payload: []byte("offline")}, CommandTopics: []string{"vakt/command"}}))
	same(t, "connection", next(t, ev.ch, 1, false), []string{"up"})
	if !c.Subscribed("dev/siren/set") {
		t.Fatal("Subscribed is false while connected")
	}

	zones, cmds := make(chan string, 16), make(chan string, 16)
	if _, err := c.Subscribe("dev/+/state", handler(zones)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Subscribe("vakt/command", handler(cmds)); err != nil {
		t.Fatal(err)
	}
	same(t, "retained zone state", next(t, zones, 1, false), []string{`dev/door/state OPEN (retained) client="" user=""`})
	obs.pub(t, "dev/door/state", "CLOSED", false)
	obs.pub(t, "vakt/command", "ARM_AWAY", false)
	same(t, "zone states", next(t, zones, 1, false), []string{`dev/door/state CLOSED client="" user=""`})
	same(t, "commands", next(t, cmds, 1, false), []string{`vakt/command ARM_AWAY client="" user=""`})

	for _, p := range []struct {
		topic, payload string
		retain         bool
	}{{"vakt/status", "online", true}, {"vakt/state", "disarmed", true}, {"dev/siren/set", "ON", false}} {
		if err := c.Publish(p.topic, []byte(p.payload), p.retain); err != nil {
			t.Fatal(err)
		}
	}
	same(t, "published, in order", next(t, obs.msgs, 4, false),
		[]string{"vakt/command ARM_AWAY", "vakt/status online", "vakt/state disarmed", "dev/siren/set ON"})

	// A retained command would run again at every restart: refused, nothing sent.
	err := c.Publish("vakt/command", []byte("DISARM"), true)
	if err == nil || err.Error() != "mqttclient: publish vakt/command: a command topic is never published retained" {
		t.Fatalf("retained command: %v", err)
	}
	if err := c.Publish("vakt/attributes", []byte("{}"), true); err != nil {
		t.Fatal(err)
	}
	same(t, "after the refused command", next(t, obs.msgs, 1, false), []string{"vakt/attributes {}"})
}

func TestWrongCredentialsIsDown(t *testing.T) {
	srv := mosquittotest.Start(t, mosquittotest.Options{Users: map[string]string{"vakt": "hub-pass"}})
	ev := newEvents()
	c := startClient(t, ev.config(Config{URL: srv.URL(), Username: "vakt", Password: "wrong"}))
	same(t, "connection", next(t, ev.ch, 1, false), []string{"down"})
	if c.Subscribed("x") {
		t.Fatal("Subscribed while refused")
	}
	if err := c.Publish("dev/siren/set", []byte("ON"), false); err != nil {
		t.Fatalf("publish while refused: %v", err)
	}
}

// The broker goes away and comes back: the client tells both, refuses commands
// meanwhile, subscribes again and publishes its retained messages again (the
// broker keeps nothing: persistence is off).
func TestReconnectRestoresSubscriptionsAndRetained(t *testing.T) {
	srv := mosquittotest.Start(t, mosquittotest.Options{})
	ev := newEvents()
	c := startClient(t, ev.config(Config{URL: srv.URL(), Will: &Will{Topic: "vakt/status", Payload: []byte("offline")}}))
	same(t, "connection", next(t, ev.ch, 1, false), []string{"up"})
	zones := make(chan string, 16)
	if _, err := c.Subscribe("dev/+/state", handler(zones)); err != nil {
		t.Fatal(err)
	}
	for _, p := range [][2]string{{"vakt/status", "online"}, {"vakt/state", "armed_away"}, {"vakt/output/siren", "OFF"}} {
		if err := c.Publish(p[0], []byte(p[1]), true); err != nil {
			t.Fatal(err)
		}
	}
	obs := observe(t, srv.Addr(), "", "", "vakt/#")
	same(t, "retained before", unretained(next(t, obs.msgs, 3, true)),
		[]string{"vakt/output/siren OFF", "vakt/state armed_away", "vakt/status online"})

	srv.Stop()
	same(t, "after the stop", next(t, ev.ch, 1, false), []string{"down"})
	if c.Subscribed("dev/siren/set") {
		t.Fatal("Subscribed while down")
	}
	// A command while down is dropped, as nobody hears it; the keeper resends
	// every level after the reconnection (OnUp).
	if err := c.Publish("dev/siren/set", []byte("ON"), false); err != nil {
		t.Fatalf("publish while down: %v", err)
	}
	// Retained ones are kept for the next connection; the last word wins.
	for _, p := range [][2]string{{"vakt/state", "triggered"}, {"vakt/output/siren", "ON"}} {
		if err := c.Publish(p[0], []byte(p[1]), true); err != nil {
			t.Fatalf("retained while down: %v", err)
		}
	}

	srv.Restart()
	same(t, "after the restart", next(t, ev.ch, 1, false), []string{"up"})
	if !c.Subscribed("dev/siren/set") {
		t.Fatal("Subscribed false after reconnecting")
	}
	obs2 := observe(t, srv.Addr(), "", "", "vakt/#", "dev/#")
	same(t, "retained after", unretained(next(t, obs2.msgs, 3, true)),
		[]string{"vakt/output/siren ON", "vakt/state triggered", "vakt/status online"})
	obs2.pub(t, "dev/hall/state", "OPEN", false)
	same(t, "subscribed again", next(t, zones, 1, false), []string{`dev/hall/state OPEN client="" user=""`})
	// The command dropped while down was never sent.
	same(t, "the observer's own message only", next(t, obs2.msgs, 1, false), []string{"dev/hall/state OPEN"})
	select {
	case e := <-ev.ch:
		t.Fatalf("unexpected %s", e)
	default:
	}
}

// A crash (the connection ends without a DISCONNECT) leaves the will, retained;
// the reconnection puts the status back.
func TestWillOnCrash(t *testing.T) {
	srv := mosquittotest.Start(t, mosquittotest.Options{})
	ev := newEvents()
	c := startClient(t, ev.config(Config{URL: srv.URL(), Will: &Will{Topic: "vakt/status", Payload: []byte("offline")}}))
	same(t, "connection", next(t, ev.ch, 1, false), []string{"up"})
	// Publishing is asynchronous: a first observer sees the message live, so the
	// broker holds it when the second one subscribes and gets it retained.
	live := observe(t, srv.Addr(), "", "", "vakt/status")
	if err := c.Publish("vakt/status", []byte("online"), true); err != nil {
		t.Fatal(err)
	}
	same(t, "status live", next(t, live.msgs, 1, false), []string{"vakt/status online"})
	obs := observe(t, srv.Addr(), "", "", "vakt/status")
	same(t, "status", next(t, obs.msgs, 1, false), []string{"vakt/status online (retained)"})
	c.mu.Lock()
	cm := c.cm
	c.mu.Unlock()
	cm.TerminateConnectionForTest()
	same(t, "will, then the status again", next(t, obs.msgs, 2, false), []string{"vakt/status offline", "vakt/status online"})
	same(t, "connection", next(t, ev.ch, 2, false), []string{"down", "up"})
}

// Unsubscribing the last handler of a filter ends the broker's subscription;
// another filter's handler still gets its messages.
func TestCancel(t *testing.T) {
	srv := mosquittotest.Start(t, mosquittotest.Options{})
	ev := newEvents()
	c := startClient(t, ev.config(Config{URL: srv.URL()}))
	same(t, "connection", next(t, ev.ch, 1, false), []string{"up"})
	a, b := make(chan string, 16), make(chan string, 16)
	cancelA, err := c.Subscribe("x/a", handler(a))
	if err != nil {
		t.Fatal(err)
	}
	cancelA2, err := c.Subscribe("x/a", handler(a))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Subscribe("x/+", handler(b)); err != nil {
		t.Fatal(err)
	}
	obs := observe(t, srv.Addr(), "", "")
	obs.pub(t, "x/a", "1", false)
	same(t, "two handlers of x/a", next(t, a, 2, false), []string{`x/a 1 client="" user=""`, `x/a 1 client="" user=""`})
	same(t, "x/+", next(t, b, 1, false), []string{`x/a 1 client="" user=""`})
	cancelA()
	cancelA()
	obs.pub(t, "x/a", "2", false)
	same(t, "one handler left", next(t, a, 1, false), []string{`x/a 2 client="" user=""`})
	same(t, "x/+", next(t, b, 1, false), []string{`x/a 2 client="" user=""`})
	cancelA2()
	obs.pub(t, "x/a", "3", false)
	same(t, "x/+ only", next(t, b, 1, false), []string{`x/a 3 client="" user=""`})
	select {
	case m := <-a:
		t.Fatalf("after cancel: %s", m)
	default:
	}
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		tls      bool
		err      string
	}{
		{in: "tcp://mosquitto", want: "tcp://mosquitto:1883"},
		{in: "mqtt://10.0.0.2:1884", want: "mqtt://10.0.0.2:1884"},
		{in: "mqtts://broker.lan", want: "mqtts://broker.lan:8883", tls: true},
		{in: "ssl://[::1]:8884", want: "ssl://[::1]:8884", tls: true},
		{in: "tls://broker.lan", want: "tls://broker.lan:8883", tls: true},
		{in: "http://broker.lan", err: `broker URL "http://broker.lan": scheme must be tcp, mqtt, mqtts, ssl or tls`},
		{in: "broker.lan:1883", err: `broker URL "broker.lan:1883": scheme must be tcp, mqtt, mqtts, ssl or tls`},
		{in: "tcp://", err: `broker URL "tcp://": no host`},
		{in: "tcp://u:p@broker.lan", err: `broker URL "tcp://u:p@broker.lan": only scheme://host:port (user and password are keys of their own)`},
		{in: "tcp://broker.lan/x", err: `broker URL "tcp://broker.lan/x": only scheme://host:port (user and password are keys of their own)`},
		{in: "tcp://bro ker", err: `broker URL "tcp://bro ker": parse "tcp://bro ker": invalid character " " in host name`},
	} {
		u, useTLS, err := ParseURL(tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%s: error %v, want %s", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || u.String() != tc.want || useTLS != tc.tls {
			t.Errorf("%s: %v %v %v, want %s %v", tc.in, u, useTLS, err, tc.want, tc.tls)
		}
	}
}

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cfg Config
		err string
	}{
		{Config{URL: "tcp://h", CAFile: notPEM}, `mqttclient: broker URL "tcp://h" is not TLS (mqtts://): a CA file or skipping verification means nothing`},
		{Config{URL: "tcp://h", InsecureSkipVerify: true}, `mqttclient: broker URL "tcp://h" is not TLS (mqtts://): a CA file or skipping verification means nothing`},
		{Config{URL: "mqtts://h", CAFile: notPEM}, "mqttclient: CA file " + notPEM + ": no PEM certificate in it"},
		{Config{URL: "mqtts://h", CAFile: filepath.Join(dir, "missing.pem")}, "mqttclient: CA file: open " + filepath.Join(dir, "missing.pem") + ": no such file or directory"},
		{Config{URL: "ftp://h"}, `mqttclient: broker URL "ftp://h": scheme must be tcp, mqtt, mqtts, ssl or tls`},
	} {
		_, err := New(tc.cfg, nil)
		if err == nil || err.Error() != tc.err {
			t.Errorf("%+v: %v, want %s", tc.cfg, err, tc.err)
		}
	}
}

// TLS: the broker's certificate is checked against the configured CA; without
// it (the system's CAs) the connection is refused and the client is down;
// skipping the verification, as configured, connects.
func TestTLS(t *testing.T) {
	srv := mosquittotest.Start(t, mosquittotest.Options{TLS: true})
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"with the CA file", Config{URL: srv.URL(), CAFile: srv.CAFile}, "up"},
		{"with the system's CAs", Config{URL: srv.URL()}, "down"},
		{"not verified", Config{URL: srv.URL(), InsecureSkipVerify: true}, "up"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := newEvents()
			tc.cfg.ClientID = "vakt-" + strings.ReplaceAll(tc.name, " ", "-")
			c := startClient(t, ev.config(tc.cfg))
			same(t, "connection", next(t, ev.ch, 1, false), []string{tc.want})
			if tc.want == "down" {
				return
			}
			got := make(chan string, 4)
			if _, err := c.Subscribe("t/"+tc.cfg.ClientID, handler(got)); err != nil {
				t.Fatal(err)
			}
			if err := c.Publish("t/"+tc.cfg.ClientID, []byte("over TLS"), false); err != nil {
				t.Fatal(err)
			}
			same(t, "own message back", next(t, got, 1, false), []string{"t/" + tc.cfg.ClientID + ` over TLS client="" user=""`})
		})
	}
}
