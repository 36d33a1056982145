package mqttapi

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"vakt/hub"
	"vakt/sensors/broker"
	"vakt/storage"
)

// A whole system on loopback: the embedded broker, a hub on a bbolt file, the API,
// and an MQTT client that sees everything under vakt/. The hub's clock stands
// still unless the test moves it, so that the output of two runs can be compared
// whole.

var sysT0 = time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)

var cheap = hub.HashParams{Memory: 64, Time: 1, Threads: 1}

// logLines is an slog handler that keeps the text of every record at info level or
// above, without its time.
type logLines struct {
	mu    *sync.Mutex
	lines *[]string
	attrs []slog.Attr
}

func newLogLines() logLines { return logLines{mu: &sync.Mutex{}, lines: &[]string{}} }

func (l logLines) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelInfo }
func (l logLines) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
	for _, a := range l.attrs {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
	}
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
	l.mu.Lock()
	*l.lines = append(*l.lines, b.String())
	l.mu.Unlock()
	return nil
}
func (l logLines) WithAttrs(as []slog.Attr) slog.Handler {
	l.attrs = append(slices.Clone(l.attrs), as...)
	return l
}
func (l logLines) WithGroup(string) slog.Handler { return l }
func (l logLines) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := *l.lines
	*l.lines = nil
	return out
}

type nopOutputs struct{}

func (nopOutputs) Set(hub.OutputKind, bool, bool) {}

type system struct {
	clock atomic.Int64 // the hub's and the API's time, Unix nanoseconds
	h     *hub.Hub
	store *storage.Store
	logs  logLines
	msgs  chan *paho.Publish
	cl    *paho.Client
}

func sysConfig(t *testing.T) hub.Config {
	t.Helper()
	s := hub.DefaultSettings()
	s.ExitDelay = map[hub.Mode]hub.Duration{hub.ModeAway: 0, hub.ModeHome: 0, hub.ModeNight: 0,
		hub.ModeVacation: hub.Duration(10 * time.Minute)}
	s.EntryDelay = map[hub.Mode]hub.Duration{hub.ModeAway: hub.Duration(45 * time.Second),
		hub.ModeHome: hub.Duration(45 * time.Second), hub.ModeNight: hub.Duration(45 * time.Second),
		hub.ModeVacation: hub.Duration(45 * time.Second)}
	pin, err := hub.HashSecret("111111", cheap)
	if err != nil {
		t.Fatal(err)
	}
	duress, err := hub.HashSecret("999111", cheap)
	if err != nil {
		t.Fatal(err)
	}
	return hub.Config{Settings: s,
		Zones: []hub.Zone{
			{ID: "door", Name: "Front door", Number: 1, Type: hub.ZoneEntryExit},
			{ID: "living", Name: "Living PIR", Number: 2, Type: hub.ZoneInstant},
			{ID: "lid", Name: "Panel lid", Number: 3, Type: hub.ZoneTamper},
		},
		Users: []hub.User{{ID: "alice", Name: "Alice", Number: 1, Role: hub.RoleAdmin, PINHash: pin, DuressHash: duress}},
	}
}

// startSystem starts a system on cfg and connects the watching client as account;
// wrap (optional) stands between the API and the hub.
func startSystem(t *testing.T, cfg hub.Config, account string, wrap ...func(Hub) Hub) *system {
	t.Helper()
	store, err := storage.Open(filepath.Join(t.TempDir(), "vakt.db"), storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	quiet := slog.New(slog.DiscardHandler)
	brk, err := broker.New(broker.Config{Addr: "127.0.0.1:0",
		Users: []broker.User{{Name: account, Password: "pw", Admin: true}}}, store, quiet)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := brk.Start(ctx); err != nil {
		t.Fatal(err)
	}
	s := &system{store: store, logs: newLogLines(), msgs: make(chan *paho.Publish, 1024)}
	s.clock.Store(sysT0.UnixNano())
	now := func() time.Time { return time.Unix(0, s.clock.Load()).UTC() }
	log := slog.New(s.logs)
	s.h = hub.New(hub.Options{Config: cfg, Journal: store, Outputs: nopOutputs{}, Log: log, Now: now, Location: time.UTC})
	var h Hub = s.h
	for _, w := range wrap {
		h = w(h)
	}
	api := New("vakt", testBus{brk}, h, log)
	api.SetClock(now)
	unsub, err := api.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The client subscribes before anything else publishes: the broker's retained
	// store is not safe for a subscription racing a retained publish.
	conn, err := net.Dial("tcp", brk.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s.cl = paho.NewClient(paho.ClientConfig{Conn: conn, OnPublishReceived: []func(paho.PublishReceived) (bool, error){
		func(pr paho.PublishReceived) (bool, error) { s.msgs <- pr.Packet; return true, nil },
	}})
	cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer ccancel()
	if _, err := s.cl.Connect(cctx, &paho.Connect{ClientID: "watcher", Username: account, UsernameFlag: true,
		Password: []byte("pw"), PasswordFlag: true, KeepAlive: 30, CleanStart: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.cl.Subscribe(cctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "vakt/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	// The broker answers a subscription before it has read its retained messages
	// for it: the hub starts publishing once the three of Start have come.
	for retained := 0; retained < 3; {
		select {
		case m := <-s.msgs:
			if m.Retain {
				retained++
			}
		case <-cctx.Done():
			t.Fatal("the retained state, attributes and status did not come")
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.h.Run(ctx) })
	wg.Go(func() { _ = api.Run(ctx) })
	t.Cleanup(func() {
		_ = s.cl.Disconnect(&paho.Disconnect{})
		cancel()
		wg.Wait()
		unsub()
		brk.Close()
	})
	// The restart is committed and fanned out before this tick is answered.
	if err := s.h.Input(ctx, hub.Tick{}); err != nil {
		t.Fatal(err)
	}
	api.Listening()
	s.settle(t)
	return s
}

type testBus struct{ b *broker.Broker }

func (tb testBus) Publish(topic string, payload []byte, retain bool) error {
	return tb.b.Publish(topic, payload, retain, 1)
}
func (tb testBus) Subscribe(filter string, fn func(Message)) (func(), error) {
	return tb.b.Watch(filter, func(m broker.Message) { fn(Message(m)) })
}
func (tb testBus) Subscribed(topic string) bool { return tb.b.Subscribed(topic) }

// command publishes a command on vakt/command as the watching client.
func (s *system) command(t *testing.T, payload string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.cl.Publish(ctx, &paho.Publish{Topic: "vakt/command", Payload: []byte(payload), QoS: 1}); err != nil {
		t.Fatal(err)
	}
}

const marker = "MARKER"

// settle sends a marker command, which the API answers after everything before it,
// and returns every message published by the hub before that answer as "topic
// payload".
func (s *system) settle(t *testing.T) []string {
	t.Helper()
	s.command(t, marker)
	var got []string
	timeout := time.NewTimer(20 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case m := <-s.msgs:
			if m.Topic == "vakt/event" && strings.Contains(string(m.Payload), `unknown command \"`+marker+`\"`) {
				return got
			}
			if m.Topic != "vakt/command" { // what was sent, not what the hub told
				got = append(got, m.Topic+" "+string(m.Payload))
			}
		case <-timeout.C:
			t.Fatalf("no answer to the marker; got %q", got)
		}
	}
}
