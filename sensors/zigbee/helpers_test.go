package zigbee

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"vakt/hub"
)

// fixture is one message of the shared Zigbee2MQTT fixture file.
type fixture struct {
	Group     string `json:"group"`
	Name      string `json:"name"`
	Direction string `json:"direction"`
	Topic     string `json:"topic"`
	Retain    bool   `json:"retain"`
	Payload   string `json:"payload"`
}

func loadFixtures(t testing.TB) map[string]fixture {
	t.Helper()
	b, err := os.ReadFile("testdata/zigbee2mqtt-fixtures.json")
	if err != nil {
		t.Fatal(err)
	}
	var list []fixture
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	m := map[string]fixture{}
	for _, f := range list {
		m[f.Name] = f
	}
	return m
}

// allDevices is the fixtures' bridge/devices with the devices of the other
// fixtures added: one bridge/devices payload for every fixture topic.
func allDevices(t *testing.T) []byte { return allDevicesTB(t) }

func allDevicesTB(t testing.TB) []byte {
	t.Helper()
	var base, extra []json.RawMessage
	if err := json.Unmarshal([]byte(loadFixtures(t)["bridge_devices_abbrev"].Payload), &base); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("testdata/devices-extra.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &extra); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(append(base, extra...))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// IEEE addresses of the fixture devices.
const (
	ieeeFrontDoor   = "0x00158d0001a2b3c4"
	ieeeHallMotion  = "0x00124b0022d4e5f6"
	ieeeKeypad      = "0x0015bc002f00a1b2"
	ieeeHallSiren   = "0x0015bc001b02c3d4"
	ieeeBackDoor    = "0x00124b0022aaaa01"
	ieeeAqaraMotion = "0x00158d0002bbbb02"
	ieeeKitchenSmk  = "0x000d6f0011cccc03"
	ieeeHallSmoke   = "0x0015bc0031dddd04"
	ieeeGas         = "0x000d6f0012eeee05"
	ieeeLeak        = "0x00158d0003ffff06"
	ieeeVibration   = "0x00158d0004aaaa07"
	ieeeFob         = "0x9035eafffe111108"
	ieeeNeo         = "0xa4c1380000222209"
	ieeeGarageSiren = "0x000d6f0013333310"
)

// fixtureZones binds a zone to every sensor of the fixtures.
func fixtureZones() map[string]ZoneBinding {
	return map[string]ZoneBinding{
		"front_door":   {IEEE: ieeeFrontDoor},
		"back_door":    {IEEE: ieeeBackDoor},
		"hall_pir":     {IEEE: ieeeAqaraMotion},
		"kitchen_fire": {IEEE: ieeeKitchenSmk},
		"hall_fire":    {IEEE: ieeeHallSmoke, Property: "smoke"},
		"kitchen_gas":  {IEEE: ieeeGas},
		"sink":         {IEEE: ieeeLeak},
		"safe":         {IEEE: ieeeVibration},
		"keypad":       {IEEE: ieeeKeypad},
	}
}

func fixtureOutputs() map[string]OutputBinding {
	return map[string]OutputBinding{
		"hall_siren":   {IEEE: ieeeHallSiren},
		"neo_siren":    {IEEE: ieeeNeo},
		"garage_siren": {IEEE: ieeeGarageSiren, Mode: "fire"},
	}
}

func fixtureKeypads() map[string]KeypadBinding {
	return map[string]KeypadBinding{"hall_keypad": {IEEE: ieeeKeypad}, "bob": {IEEE: ieeeFob}}
}

// fakeBus records publishes and delivers to subscribers at once, on the
// publisher's goroutine, as the embedded broker does for in-process subscribers.
type fakeBus struct {
	mu        sync.Mutex
	published []string
	subs      map[string]func(Message)
	pubs      chan string // every publish, for tests that wait
}

func newBus() *fakeBus {
	return &fakeBus{subs: map[string]func(Message){}, pubs: make(chan string, 1000)}
}

// wait returns the next n publishes, and drops them from take's list.
func (b *fakeBus) wait(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	for range n {
		select {
		case p := <-b.pubs:
			out = append(out, p)
		case <-time.After(10 * time.Second):
			t.Fatalf("timed out waiting for a publish; got %q", out)
		}
	}
	b.mu.Lock()
	b.published = b.published[len(out):]
	b.mu.Unlock()
	return out
}

func (b *fakeBus) Publish(topic string, payload []byte, retain bool) error {
	b.mu.Lock()
	line := fmt.Sprintf("%s %s retain=%v", topic, payload, retain)
	b.published = append(b.published, line)
	b.pubs <- line
	var fns []func(Message)
	for f, fn := range b.subs {
		if matchTopic(f, topic) {
			fns = append(fns, fn)
		}
	}
	b.mu.Unlock()
	for _, fn := range fns {
		fn(Message{Topic: topic, Payload: payload, Retained: retain})
	}
	return nil
}

// send plays Zigbee2MQTT publishing a message.
func (b *fakeBus) send(topic, payload string) {
	b.mu.Lock()
	var fns []func(Message)
	for f, fn := range b.subs {
		if matchTopic(f, topic) {
			fns = append(fns, fn)
		}
	}
	b.mu.Unlock()
	for _, fn := range fns {
		fn(Message{Topic: topic, Payload: []byte(payload), ClientID: "z2m"})
	}
}

func (b *fakeBus) Subscribe(filter string, fn func(Message)) (func(), error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subs[filter] = fn
	return func() { b.mu.Lock(); delete(b.subs, filter); b.mu.Unlock() }, nil
}

func (b *fakeBus) take() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.published
	b.published = nil
	for range p {
		<-b.pubs
	}
	return p
}

func matchTopic(f, t string) bool {
	fs, ts := strings.Split(f, "/"), strings.Split(t, "/")
	for i, p := range fs {
		if p == "#" {
			return true
		}
		if i >= len(ts) || (p != "+" && p != ts[i]) {
			return false
		}
	}
	return len(fs) == len(ts)
}

// recHub records the inputs posted, in order, as text.
type recHub struct {
	mu  sync.Mutex
	ins []string
	ch  chan string
}

func newRecHub() *recHub { return &recHub{ch: make(chan string, 1000)} }

func (h *recHub) Post(_ context.Context, in hub.Input) error {
	s := describe(in)
	h.mu.Lock()
	h.ins = append(h.ins, s)
	h.mu.Unlock()
	h.ch <- s
	return nil
}

func (h *recHub) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.ins
	h.ins = nil
	for range p {
		<-h.ch
	}
	return p
}

// next waits for the next input (from another goroutine).
func (h *recHub) next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-h.ch:
		h.mu.Lock()
		h.ins = slices.Delete(h.ins, 0, 1)
		h.mu.Unlock()
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for a hub input")
		return ""
	}
}

func describe(in hub.Input) string {
	switch in := in.(type) {
	case hub.Sensor:
		return in.Zone + " " + string(in.Signal)
	case hub.Fault:
		return fmt.Sprintf("fault %s active=%v", in.ID, in.Active)
	case hub.Command:
		return fmt.Sprintf("command %s who=%s via=%s source=%s", in.Kind, in.Who.Device, in.Who.Via, in.Source)
	}
	return fmt.Sprintf("%T %+v", in, in)
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// logSink keeps log lines.
type logSink struct {
	mu    sync.Mutex
	lines []string
}

func (l *logSink) Enabled(context.Context, slog.Level) bool { return true }
func (l *logSink) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	l.mu.Lock()
	l.lines = append(l.lines, b.String())
	l.mu.Unlock()
	return nil
}
func (l *logSink) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logSink) WithGroup(string) slog.Handler      { return l }
func (l *logSink) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.lines
	l.lines = nil
	return p
}

// rig is an adapter on a fake bus with a recording hub.
type rig struct {
	a     *Adapter
	bus   *fakeBus
	hub   *recHub
	clock *clock
	logs  *logSink
	panel *fakePanel
}

func newRig(t *testing.T, zones map[string]ZoneBinding, outs map[string]OutputBinding, kps map[string]KeypadBinding) *rig {
	t.Helper()
	r := &rig{bus: newBus(), hub: newRecHub(), clock: newClock(), logs: &logSink{}, panel: newPanel()}
	a, err := New(r.bus, r.hub, zones, outs, Options{Keypads: kps, Panel: r.panel, Log: slog.New(r.logs), Now: r.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	r.a = a
	return r
}

// fakePanel answers keypad requests as a hub would: code "1234" is right.
type fakePanel struct {
	mu    sync.Mutex
	snap  *hub.Snapshot
	reqs  []hub.Request
	subs  []chan hub.Update
	ready bool
}

func newPanel() *fakePanel {
	return &fakePanel{snap: &hub.Snapshot{State: hub.State{Name: hub.Disarmed}}, ready: true}
}

func (p *fakePanel) Do(_ context.Context, r hub.Request) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reqs = append(p.reqs, r)
	if r.Cred.Code != "1234" {
		return &hub.Error{Kind: hub.ErrBadCode, Msg: "wrong code"}
	}
	if r.Kind == hub.CmdArm && !p.ready {
		return &hub.Error{Kind: hub.ErrNotReady, Msg: "not ready"}
	}
	return nil
}

func (p *fakePanel) Snapshot() *hub.Snapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.snap
}

func (p *fakePanel) Subscribe(buf int) (<-chan hub.Update, func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ch := make(chan hub.Update, buf)
	p.subs = append(p.subs, ch)
	return ch, func() {}
}

// set changes the state and tells subscribers.
func (p *fakePanel) set(st hub.State) {
	p.mu.Lock()
	p.snap = &hub.Snapshot{State: st}
	subs := slices.Clone(p.subs)
	p.mu.Unlock()
	for _, ch := range subs {
		ch <- hub.Update{Snapshot: &hub.Snapshot{State: st}}
	}
}

func hubOutput(id string) hub.Output { return hub.Output{ID: id, Kind: hub.OutputSiren} }

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
