package broker

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// wait bounds every wait for an event in these tests; reaching it is a failure.
const wait = 10 * time.Second

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// storeEvent is one call of the fake store.
type storeEvent struct {
	op    string // "put" or "delete"
	topic string
	err   error
}

// fakeStore is an in-memory RetainedStore that can fail on demand and reports
// every write on events.
type fakeStore struct {
	mu      sync.Mutex
	msgs    map[string][]byte
	failErr error // returned by Put and Delete while set
	events  chan storeEvent
}

func newFakeStore() *fakeStore {
	return &fakeStore{msgs: map[string][]byte{}, events: make(chan storeEvent, 1000)}
}

func (s *fakeStore) setFail(err error) {
	s.mu.Lock()
	s.failErr = err
	s.mu.Unlock()
}

func (s *fakeStore) PutRetained(topic string, msg []byte) error {
	s.mu.Lock()
	err := s.failErr
	if err == nil {
		s.msgs[topic] = append([]byte(nil), msg...)
	}
	s.mu.Unlock()
	s.events <- storeEvent{"put", topic, err}
	return err
}

func (s *fakeStore) DeleteRetained(topic string) error {
	s.mu.Lock()
	err := s.failErr
	if err == nil {
		delete(s.msgs, topic)
	}
	s.mu.Unlock()
	s.events <- storeEvent{"delete", topic, err}
	return err
}

func (s *fakeStore) ListRetained() (map[string][]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.msgs), nil
}

func (s *fakeStore) get(topic string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.msgs[topic]
	return v, ok
}

// nextEvent waits for the next successful store write of topic, skipping others.
func (s *fakeStore) nextEvent(t *testing.T, op, topic string) {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case e := <-s.events:
			if e.op == op && e.topic == topic && e.err == nil {
				return
			}
		case <-deadline:
			t.Fatalf("timed out waiting for store %s of %q", op, topic)
		}
	}
}

// logSink is a slog handler that keeps every record and signals records at
// Error level or above.
type logSink struct {
	mu     sync.Mutex
	lines  []string
	errors chan string
}

func newLogSink() *logSink { return &logSink{errors: make(chan string, 100)} }

func (l *logSink) Enabled(context.Context, slog.Level) bool { return true }

func (l *logSink) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	line := b.String()
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
	if r.Level >= slog.LevelError {
		select {
		case l.errors <- line:
		default:
		}
	}
	return nil
}

func (l *logSink) WithAttrs(as []slog.Attr) slog.Handler { return l }
func (l *logSink) WithGroup(string) slog.Handler         { return l }

func (l *logSink) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// testLogger logs through t.Log at debug level, so a failing test shows what the
// broker said.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// z2mUser is a Zigbee2MQTT-like account.
var z2mUser = User{
	Name: "zigbee2mqtt", Password: "z2m-secret",
	Read:  []string{"zigbee2mqtt/#", "vakt/command"},
	Write: []string{"zigbee2mqtt/#", "vakt/command"},
}

var adminUser = User{Name: "admin", Password: "admin-secret", Admin: true}

// newBroker returns a started broker on 127.0.0.1:0 that is closed when the test
// ends.
func newBroker(t *testing.T, cfg Config, store RetainedStore, log *slog.Logger) *Broker {
	t.Helper()
	b := newUnstarted(t, cfg, store, log)
	if err := b.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return b
}

func newUnstarted(t *testing.T, cfg Config, store RetainedStore, log *slog.Logger) *Broker {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Users == nil {
		cfg.Users = []User{z2mUser, adminUser}
	}
	if log == nil {
		log = testLogger(t)
	}
	b, err := New(cfg, store, log)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// client is a paho MQTT v5 client with the messages it received.
type client struct {
	*paho.Client
	msgs chan *paho.Publish
}

// dialConn connects an MQTT client over conn; the connection error and CONNACK are
// returned as they come.
func dialConn(t *testing.T, conn net.Conn, user, pass, id string) (*client, *paho.Connack, error) {
	t.Helper()
	msgs := make(chan *paho.Publish, 1000)
	c := paho.NewClient(paho.ClientConfig{
		Conn: conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){
			func(pr paho.PublishReceived) (bool, error) {
				msgs <- pr.Packet
				return true, nil
			},
		},
	})
	cp := &paho.Connect{ClientID: id, KeepAlive: 30, CleanStart: true}
	if user != "" {
		cp.Username, cp.UsernameFlag = user, true
	}
	if pass != "" {
		cp.Password, cp.PasswordFlag = []byte(pass), true
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ca, err := c.Connect(ctx, cp)
	if err != nil {
		return nil, ca, err
	}
	t.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
	return &client{Client: c, msgs: msgs}, ca, nil
}

func dial(t *testing.T, addr net.Addr, user, pass, id string) (*client, *paho.Connack, error) {
	t.Helper()
	conn, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	return dialConn(t, conn, user, pass, id)
}

// mustDial connects and fails the test if the broker refuses.
func mustDial(t *testing.T, b *Broker, user, pass, id string) *client {
	t.Helper()
	c, ca, err := dial(t, b.Addr(), user, pass, id)
	if err != nil {
		t.Fatalf("connect as %q: %v (connack %+v)", user, err, ca)
	}
	return c
}

func (c *client) subscribe(t *testing.T, filter string, qos byte) (*paho.Suback, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: qos}}})
}

func (c *client) mustSubscribe(t *testing.T, filter string, qos byte) {
	t.Helper()
	if sa, err := c.subscribe(t, filter, qos); err != nil {
		t.Fatalf("subscribe %q: %v (%+v)", filter, err, sa)
	}
}

func (c *client) publish(t *testing.T, p *paho.Publish) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, err := c.Publish(ctx, p)
	return err
}

func (c *client) mustPublish(t *testing.T, topic string, payload []byte, retain bool, qos byte) {
	t.Helper()
	if err := c.publish(t, &paho.Publish{Topic: topic, Payload: payload, Retain: retain, QoS: qos}); err != nil {
		t.Fatalf("publish %q: %v", topic, err)
	}
}

func (c *client) next(t *testing.T, what string) *paho.Publish {
	t.Helper()
	return recv(t, c.msgs, what)
}

// inline subscribes the hub to filter and returns the messages it receives.
func inline(t *testing.T, b *Broker, filter string) <-chan Message {
	t.Helper()
	ch := make(chan Message, 1000)
	cancel, err := b.Watch(filter, func(m Message) { ch <- m })
	if err != nil {
		t.Fatalf("Watch %q: %v", filter, err)
	}
	t.Cleanup(cancel)
	return ch
}

var errDisk = errors.New("disk on fire")

// fakeClock is the clock of login throttling and log summaries in tests: it moves
// only when the test (or a throttled login's wait) moves it.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	waits []time.Duration // every wait asked for by a throttled login
	// hold, if set, is received from by each wait before it returns.
	hold chan struct{}
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// sleep records the wait and moves the clock by it.
func (c *fakeClock) sleep(stop <-chan struct{}, d time.Duration) bool {
	c.mu.Lock()
	c.waits = append(c.waits, d)
	hold := c.hold
	c.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-stop:
			return false
		}
	}
	c.Advance(d)
	return true
}

func (c *fakeClock) takeWaits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.waits
	c.waits = nil
	return w
}

// withClock installs c as the clock of an unstarted broker.
func withClock(b *Broker, c *fakeClock) {
	b.now = c.Now
	b.sleep = c.sleep
}

var portRE = regexp.MustCompile(`(127\.0\.0\.\d+):\d+`)

// matching returns the lines logged whose message starts with one of prefixes,
// in order, with the client ports replaced by PORT.
func (l *logSink) matching(prefixes ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range l.lines {
		_, msg, _ := strings.Cut(line, " ")
		for _, p := range prefixes {
			if strings.HasPrefix(msg, p) {
				out = append(out, portRE.ReplaceAllString(line, "$1:PORT"))
				break
			}
		}
	}
	return out
}

// dialFrom connects an MQTT 5 client from the local address ip (127.0.0.x).
func dialFrom(t *testing.T, b *Broker, ip, user, pass, id string) (*client, *paho.Connack, error) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	conn, err := d.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatalf("dial %s from %s: %v", b.Addr(), ip, err)
	}
	return dialConn(t, conn, user, pass, id)
}
