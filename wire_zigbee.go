package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"vakt/hub"
	"vakt/hub/output"
	"vakt/sensors/binding"
	"vakt/sensors/mqttdev"
	"vakt/sensors/zigbee"
)

// zigbeeRemovals adds to an import's removals the Zigbee bindings of kept zones
// and outputs that the new file drops, and the keypads it drops.
func zigbeeRemovals(add func(kind string, oldIDs, newIDs []string),
	kept func(n int, id func(int) string, bound func(string) bool) []string,
	new hub.Config, oldSet, newSet binding.Set) {
	keptZones := func(s binding.Set) []string {
		return kept(len(new.Zones), func(i int) string { return new.Zones[i].ID },
			func(id string) bool { _, ok := s.Zigbee.Zones[id]; return ok })
	}
	keptOutputs := func(s binding.Set) []string {
		return kept(len(new.Outputs), func(i int) string { return new.Outputs[i].ID },
			func(id string) bool { _, ok := s.Zigbee.Outputs[id]; return ok })
	}
	add("the zigbee binding of zone(s)", keptZones(oldSet), keptZones(newSet))
	add("the zigbee binding of output(s)", keptOutputs(oldSet), keptOutputs(newSet))
	add("keypad(s)", slices.Sorted(maps.Keys(oldSet.Zigbee.Keypads)), slices.Sorted(maps.Keys(newSet.Zigbee.Keypads)))
}

// zigbeeBase is Zigbee2MQTT's base topic from the boot configuration.
func zigbeeBase(m bootMQTT) string {
	if b := strings.TrimSuffix(m.ZigbeeBaseTopic, "/"); b != "" {
		return b
	}
	return zigbee.DefaultBase
}

// zigbeeClock is the Zigbee adapter's clock: its supervision, stuck and clear
// rules run on it. Zero: the real one.
type zigbeeClock struct {
	now   func() time.Time
	after func(time.Duration) <-chan time.Time
}

// zigbeeSide is the Zigbee2MQTT adapter as the hub runs it. It is built even
// with nothing bound, so that `vakt devices` lists what Zigbee2MQTT knows before
// anything is adopted.
type zigbeeSide struct {
	a      *zigbee.Adapter
	base   string
	late   *lateHub
	keeper *output.Keeper // drives the sirens adopted while the hub runs
}

// newZigbeeSide builds the adapter for the bindings bs on bus. The hub comes
// later (start): the outputs keeper, which the hub needs, needs the adapter.
func newZigbeeSide(m bootMQTT, bs zigbee.Bindings, bus mqttdev.Bus, log *slog.Logger, clk zigbeeClock) (*zigbeeSide, error) {
	base := zigbeeBase(m)
	if base == "" || strings.ContainsAny(base, "+#") || strings.HasPrefix(base, "/") {
		return nil, fmt.Errorf("mqtt.zigbee_base_topic %q: a topic without wildcards is needed", m.ZigbeeBaseTopic)
	}
	late := &lateHub{}
	// The panel also for no keypads: one may be adopted while the hub runs.
	opt := zigbee.Options{Base: base, Keypads: bs.Keypads, Log: log, Panel: late, Now: clk.now, After: clk.after}
	a, err := zigbee.New(zigbeeBus{bus}, late, bs.Zones, bs.Outputs, opt)
	if err != nil {
		return nil, err
	}
	return &zigbeeSide{a: a, base: base, late: late}, nil
}

// drivers names the adapter as the driver of the outputs bound to sirens.
func (z *zigbeeSide) drivers(bs zigbee.Bindings, drivers map[string]output.Driver) {
	for id := range bs.Outputs {
		drivers[id] = z.a
	}
}

// feedback says which outputs report their level: Zigbee sirens as the adapter
// says, the rest as other says.
func (z *zigbeeSide) feedback(bs zigbee.Bindings, other func(hub.Output) bool) func(hub.Output) bool {
	return func(o hub.Output) bool {
		if _, ok := bs.Outputs[o.ID]; ok {
			return z.a.HasFeedback(o)
		}
		return other(o)
	}
}

// hook tells the adapter what happens on the MQTT side: a subscription on the
// embedded broker (Zigbee2MQTT subscribes after it says online), or a new
// connection to the external broker, which cannot tell about subscriptions, so
// sirens and keypads get their levels again on each. Call it after ev is set.
func (z *zigbeeSide) hook(ev *mqttEvents) {
	sub, up := ev.subscribed, ev.up
	ev.subscribed = func(filters []string) {
		sub(filters)
		z.a.Subscribed(filters)
	}
	ev.up = func() {
		up()
		z.a.Subscribed([]string{z.base + "/#"})
	}
}

// start gives the adapter the hub and the keeper, subscribes, and runs the
// supervision and the keypads with run.
func (z *zigbeeSide) start(ctx context.Context, h *hub.Hub, k *output.Keeper, run func(string, func(context.Context) error)) error {
	z.late.set(h)
	z.keeper = k
	z.a.Bind(k)
	if err := z.a.Start(ctx); err != nil {
		return err
	}
	run("zigbee", z.a.Run)
	return nil
}

// close ends the subscription: no more Zigbee inputs (before the keeper stops).
func (z *zigbeeSide) close() { z.a.Close() }

// devices is the /devices document: every device in Zigbee2MQTT's
// bridge/devices, bound or discovered.
func (z *zigbeeSide) devices() any {
	list := z.a.Status()
	if list == nil {
		list = []zigbee.DeviceStatus{}
	}
	// The outputs a siren can be adopted as.
	outputs := []string{}
	if h := z.late.get(); h != nil {
		for _, o := range h.Snapshot().Config.Outputs {
			outputs = append(outputs, o.ID)
		}
	}
	return map[string]any{"base_topic": z.base, "devices": list, "outputs": outputs}
}

// lateHub is the hub for an adapter built before it.
type lateHub struct {
	mu sync.Mutex
	h  *hub.Hub
}

func (l *lateHub) set(h *hub.Hub) { l.mu.Lock(); l.h = h; l.mu.Unlock() }

func (l *lateHub) get() *hub.Hub { l.mu.Lock(); defer l.mu.Unlock(); return l.h }

func (l *lateHub) Post(ctx context.Context, in hub.Input) error { return l.get().Post(ctx, in) }

func (l *lateHub) Do(ctx context.Context, r hub.Request) error { return l.get().Do(ctx, r) }

func (l *lateHub) Snapshot() *hub.Snapshot { return l.get().Snapshot() }

func (l *lateHub) Subscribe(buf int) (<-chan hub.Update, func()) { return l.get().Subscribe(buf) }

// zigbeeBus adapts the MQTT adapters' bus (the embedded broker or the external
// broker's client) to the Zigbee adapter's.
type zigbeeBus struct{ b mqttdev.Bus }

func (zb zigbeeBus) Publish(topic string, payload []byte, retain bool) error {
	return zb.b.Publish(topic, payload, retain)
}

func (zb zigbeeBus) Subscribe(filter string, fn func(zigbee.Message)) (func(), error) {
	return zb.b.Subscribe(filter, func(m mqttdev.Message) { fn(zigbee.Message(m)) })
}

// outputFaults are the outputs whose fault the stored state holds: the keeper
// restores each once its output works (an output adopted while the hub was
// stopped, say).
func outputFaults(st hub.State) []string {
	var ids []string
	for f, on := range st.Faults {
		if on && f.Kind == hub.FaultOutput {
			ids = append(ids, f.Subject)
		}
	}
	slices.Sort(ids)
	return ids
}
