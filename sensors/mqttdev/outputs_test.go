package mqttdev

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"vakt/hub"
	"vakt/hub/output"
)

// fakeBus records publishes and delivers to subscribers at once, as the embedded
// broker does for in-process subscribers.
type fakeBus struct {
	mu        sync.Mutex
	published []string
	subs      map[string][]func(Message)
	listening map[string]bool
	fail      error
}

func newBus() *fakeBus {
	return &fakeBus{subs: map[string][]func(Message){}, listening: map[string]bool{}}
}

func (b *fakeBus) Publish(topic string, payload []byte, retain bool) error {
	b.mu.Lock()
	if b.fail != nil {
		b.mu.Unlock()
		return b.fail
	}
	b.published = append(b.published, fmt.Sprintf("%s %s retain=%v", topic, payload, retain))
	var fns []func(Message)
	for f, s := range b.subs {
		if MatchTopic(f, topic) {
			fns = append(fns, s...)
		}
	}
	b.mu.Unlock()
	for _, fn := range fns {
		fn(Message{Topic: topic, Payload: payload, Retained: retain})
	}
	return nil
}

func (b *fakeBus) Subscribe(filter string, fn func(Message)) (func(), error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subs[filter] = append(b.subs[filter], fn)
	return func() { b.mu.Lock(); delete(b.subs, filter); b.mu.Unlock() }, nil
}

func (b *fakeBus) Subscribed(topic string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.listening[topic]
}

func (b *fakeBus) take() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.published
	b.published = nil
	return p
}

type keeperLog struct {
	mu   sync.Mutex
	feed []string
	sent []string
}

func (k *keeperLog) Feedback(id string, on bool) {
	k.mu.Lock()
	k.feed = append(k.feed, fmt.Sprint(id, " ", on))
	k.mu.Unlock()
}

func (k *keeperLog) Resend(match func(hub.Output) bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, o := range testOutputs {
		if match(o) {
			k.sent = append(k.sent, o.ID)
		}
	}
}

var testOutputs = []hub.Output{
	{ID: "tasmota", Kind: hub.OutputSiren},
	{ID: "z2m", Kind: hub.OutputSiren},
	{ID: "relay", Kind: hub.OutputStrobe},
	{ID: "gpio", Kind: hub.OutputSounder}, // bound by another adapter
}

var testBindings = map[string]OutputBinding{
	"tasmota": {Topic: "cmnd/siren/POWER", On: "ON", Off: "OFF", StateTopic: "stat/siren/POWER"},
	"z2m": {Topic: "zigbee2mqtt/siren/set", On: `{"warning":{"mode":"burglar"}}`, Off: `{"warning":{"mode":"stop"}}`,
		StateTopic: "zigbee2mqtt/siren", StateField: "alarm", StateOn: "true", StateOff: "false"},
	"relay": {Topic: "relay/strobe", On: "1", Off: "0"},
}

func TestOutputsDrive(t *testing.T) {
	b := newBus()
	o := NewOutputs(b, testBindings, "vakt/output", nil)
	for _, tc := range []struct {
		out     hub.Output
		l       output.Level
		want    []string
		wantErr string
	}{
		{testOutputs[0], output.On, []string{"cmnd/siren/POWER ON retain=false"}, ""},
		{testOutputs[0], output.Off, []string{"cmnd/siren/POWER OFF retain=false"}, ""},
		{testOutputs[1], output.On, []string{`zigbee2mqtt/siren/set {"warning":{"mode":"burglar"}} retain=false`}, ""},
		{testOutputs[2], output.Pulse, []string{"relay/strobe 1 retain=false"}, ""},
		// Not an MQTT output: routed here by mistake, so an error.
		{testOutputs[3], output.On, nil, "mqttdev: output gpio has no MQTT binding"},
	} {
		err := o.Drive(tc.out, tc.l)
		if got := fmt.Sprint(err); (err != nil || tc.wantErr != "") && got != tc.wantErr {
			t.Errorf("%s %s: error %v, want %q", tc.out.ID, tc.l, err, tc.wantErr)
		}
		if got := b.take(); !slices.Equal(got, tc.want) {
			t.Errorf("%s %s: published %q, want %q", tc.out.ID, tc.l, got, tc.want)
		}
	}
	o.Status("tasmota", true)
	if got := b.take(); !slices.Equal(got, []string{"vakt/output/tasmota ON retain=true"}) {
		t.Errorf("status %q", got)
	}
	b.fail = errors.New("broker: closed")
	if err := o.Drive(testOutputs[0], output.On); err == nil {
		t.Error("a failed publish is not an error")
	}
	b.fail = nil
	b.listening["relay/strobe"] = true
	var reach, feedback []bool
	for _, out := range testOutputs {
		reach = append(reach, o.Reachable(out))
		feedback = append(feedback, o.HasFeedback(out))
	}
	if want := []bool{false, false, true, false}; !slices.Equal(reach, want) {
		t.Errorf("reachable %v, want %v", reach, want)
	}
	if want := []bool{true, true, false, false}; !slices.Equal(feedback, want) {
		t.Errorf("feedback %v, want %v", feedback, want)
	}
}

func TestOutputsFeedbackAndResubscribe(t *testing.T) {
	b := newBus()
	o := NewOutputs(b, testBindings, "", nil)
	k := &keeperLog{}
	if err := o.Bind(k); err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct{ topic, payload string }{
		{"stat/siren/POWER", "ON"},
		{"stat/siren/POWER", "off"},
		{"stat/siren/POWER", "maybe"}, // ignored
		{"zigbee2mqtt/siren", `{"alarm":true,"battery":90}`},
		{"zigbee2mqtt/siren", `{"alarm":false}`},
		{"zigbee2mqtt/siren", `{"battery":90}`}, // no level: ignored
		{"zigbee2mqtt/siren", `not json`},
	} {
		_ = b.Publish(m.topic, []byte(m.payload), false)
	}
	want := []string{"tasmota true", "tasmota false", "z2m true", "z2m false"}
	if !slices.Equal(k.feed, want) {
		t.Errorf("feedback %q, want %q", k.feed, want)
	}
	// A device subscribes: outputs whose command topic its filters cover are resent.
	for _, tc := range []struct {
		filters []string
		want    []string
	}{
		{[]string{"cmnd/siren/POWER"}, []string{"tasmota"}},
		{[]string{"cmnd/+/POWER", "relay/#"}, []string{"tasmota", "relay"}},
		{[]string{"zigbee2mqtt/#"}, []string{"z2m"}},
		{[]string{"stat/siren/POWER"}, nil},
		{[]string{"#"}, []string{"tasmota", "z2m", "relay"}},
	} {
		k.sent = nil
		o.Subscribed(k, tc.filters)
		if !slices.Equal(k.sent, tc.want) {
			t.Errorf("subscribed %q: resent %q, want %q", tc.filters, k.sent, tc.want)
		}
	}
	o.Close()
	k.feed = nil
	_ = b.Publish("stat/siren/POWER", []byte("ON"), false)
	if len(k.feed) != 0 {
		t.Errorf("feedback after Close: %q", k.feed)
	}
}

func TestMatchTopic(t *testing.T) {
	for _, tc := range []struct {
		filter, topic string
		want          bool
	}{
		{"a/b", "a/b", true}, {"a/b", "a/c", false}, {"a/+", "a/b", true}, {"a/+", "a/b/c", false},
		{"a/#", "a", true}, {"a/#", "a/b/c", true}, {"#", "a/b", true}, {"+/+", "a/b", true},
		{"+", "a/b", false}, {"a/b/c", "a/b", false}, {"#", "$SYS/x", false}, {"$SYS/#", "$SYS/x", true},
	} {
		if got := MatchTopic(tc.filter, tc.topic); got != tc.want {
			t.Errorf("MatchTopic(%q, %q) = %v", tc.filter, tc.topic, got)
		}
	}
}

type posts struct {
	mu  sync.Mutex
	got []string
}

func (p *posts) Post(_ context.Context, in hub.Input) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := in.(hub.Sensor)
	p.got = append(p.got, s.Zone+" "+string(s.Signal))
	return nil
}

func TestZonesPostOnThePublishersGoroutine(t *testing.T) {
	b := newBus()
	p := &posts{}
	z := NewZones(b, p, nil)
	zones := map[string]ZoneBinding{
		"door": {Topic: "zigbee2mqtt/door", Field: "contact", Open: []string{"false"}, Closed: []string{"true"},
			TamperField: "tamper"},
		"pir": {Topic: "shellies/pir"},
	}
	if err := z.Bind(context.Background(), zones); err != nil {
		t.Fatal(err)
	}
	_ = b.Publish("zigbee2mqtt/door", []byte(`{"contact":false,"tamper":true}`), false)
	_ = b.Publish("shellies/pir", []byte("ON"), false)
	_ = b.Publish("shellies/pir", []byte("garbage"), false)
	// Posted before Publish returned: no queue in between.
	want := []string{"door open", "door tamper", "pir open"}
	if !slices.Equal(p.got, want) {
		t.Errorf("posted %q, want %q", p.got, want)
	}
	z.Close()
	_ = b.Publish("shellies/pir", []byte("OFF"), false)
	if len(p.got) != 3 {
		t.Errorf("posted after Close: %q", p.got)
	}
}

type countLog struct {
	mu sync.Mutex
	n  int
}

func (c *countLog) Enabled(context.Context, slog.Level) bool { return true }
func (c *countLog) Handle(context.Context, slog.Record) error {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return nil
}
func (c *countLog) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *countLog) WithGroup(string) slog.Handler      { return c }

// Garbage on a feedback topic is logged once until a level comes, not per message.
func TestFeedbackGarbageLoggedOnce(t *testing.T) {
	b := newBus()
	lg := &countLog{}
	o := NewOutputs(b, testBindings, "", slog.New(lg))
	k := &keeperLog{}
	if err := o.Bind(k); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"x", "y", "z", "ON", "w", "v"} {
		_ = b.Publish("stat/siren/POWER", []byte(p), false)
	}
	if lg.n != 2 || !slices.Equal(k.feed, []string{"tasmota true"}) {
		t.Errorf("%d log lines, feedback %q; want 2 and one level", lg.n, k.feed)
	}
}

// The broker keeps no retained message on these: every bound output's command
// topic, sorted, each once.
func TestCommandTopics(t *testing.T) {
	bs := Bindings{Outputs: map[string]OutputBinding{"a": {Topic: "relay/b"}, "b": {Topic: "relay/a"}, "c": {Topic: "relay/b"}}}
	if got, want := bs.CommandTopics(), []string{"relay/a", "relay/b"}; !slices.Equal(got, want) {
		t.Errorf("CommandTopics = %q, want %q", got, want)
	}
	if got := (Bindings{}).CommandTopics(); got != nil {
		t.Errorf("no outputs: %q", got)
	}
}
