package main

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"time"

	"vakt/hub"
	"vakt/sensors/broker"
	"vakt/sensors/mqttclient"
	"vakt/sensors/mqttdev"
	"vakt/sensors/zigbee"
	"vakt/storage"
	"vakt/ui/mqttapi"
)

// mqttSide is the hub's MQTT: the embedded broker, or a client of an existing
// broker (mqtt.broker). The choice between them is made here and nowhere else;
// the adapters see only the buses.
type mqttSide struct {
	// embedded: the embedded broker runs.
	embedded bool
	dev      mqttdev.Bus
	api      mqttapi.Bus
	// addr is the embedded broker's listener (nil when off or external).
	addr func() net.Addr
	// where is what the log says: the listener, or the external broker.
	where func() string
	start func(ctx context.Context) error
	close func()
}

// mqttEvents are told what happens on the MQTT side; set them before start.
type mqttEvents struct {
	// subscribed: a network client of the embedded broker subscribed to filters.
	subscribed func(filters []string)
	// up: the external broker is (again) connected, every subscription made
	// again; down: it is unreachable.
	up   func()
	down func(err error)
}

// newMQTTSide builds the embedded broker, or the client of the external one.
// commandTopics are the topics never published retained.
func newMQTTSide(m bootMQTT, base string, commandTopics []string, store *storage.Store, log *slog.Logger, ev *mqttEvents) (*mqttSide, error) {
	if m.Broker != "" {
		c, err := mqttclient.New(mqttclient.Config{URL: m.Broker, Username: m.BrokerUsername, Password: m.BrokerPassword,
			CAFile: m.BrokerCAFile, InsecureSkipVerify: m.BrokerInsecureSkipVerify, ClientID: m.BrokerClientID,
			Will:          &mqttclient.Will{Topic: base + "/status", Payload: []byte("offline")},
			CommandTopics: append(slices.Clone(commandTopics), zigbeeBase(m)+"/#"), // never retained under Zigbee2MQTT's topics
			OnUp:          func() { ev.up() },
			OnDown:        func(err error) { ev.down(err) },
		}, log)
		if err != nil {
			return nil, err
		}
		return &mqttSide{dev: clientBus{c}, api: clientAPIBus{c},
			addr:  func() net.Addr { return nil },
			where: func() string { return c.Addr() },
			start: c.Start,
			close: func() {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				c.Close(ctx)
			}}, nil
	}
	bcfg := brokerConfig(m)
	bcfg.OnSubscribe = func(_, _ string, filters []string) { ev.subscribed(filters) }
	bcfg.CodeTopics = []string{base + "/command"}
	bcfg.CommandTopics = commandTopics
	bcfg.CommandTopic = func(t string) bool { return zigbee.CommandTopic(zigbeeBase(m), t) }
	brk, err := broker.New(bcfg, store, log)
	if err != nil {
		return nil, err
	}
	return &mqttSide{embedded: true, dev: brokerBus{b: brk}, api: apiBus{b: brk},
		addr:  brk.Addr,
		where: func() string { return addrString(brk.Addr()) },
		start: brk.Start,
		close: func() { _ = brk.Close() }}, nil
}

// brokerFault raises or clears the fault of an unreachable external broker.
func brokerFault(ctx context.Context, h *hub.Hub, log *slog.Logger, err error) {
	f := hub.Fault{ID: hub.FaultID{Kind: hub.FaultBroker}, Active: err != nil}
	if err != nil {
		f.Detail = err.Error()
	}
	if perr := h.Post(ctx, f); perr != nil && ctx.Err() == nil {
		log.Error("mqtt: broker fault not recorded", "err", perr)
	}
}

// clientBus adapts the external broker's client to the bus the MQTT adapters use.
type clientBus struct{ c *mqttclient.Client }

func (cb clientBus) Publish(topic string, payload []byte, retain bool) error {
	return cb.c.Publish(topic, payload, retain)
}

func (cb clientBus) Subscribe(filter string, fn func(mqttdev.Message)) (func(), error) {
	return cb.c.Subscribe(filter, func(m mqttclient.Message) { fn(mqttdev.Message(m)) })
}

func (cb clientBus) Subscribed(topic string) bool { return cb.c.Subscribed(topic) }

// clientAPIBus adapts the external broker's client to the bus of Vakt's own MQTT
// interface.
type clientAPIBus struct{ c *mqttclient.Client }

func (ca clientAPIBus) Publish(topic string, payload []byte, retain bool) error {
	return ca.c.Publish(topic, payload, retain)
}

func (ca clientAPIBus) Subscribe(filter string, fn func(mqttapi.Message)) (func(), error) {
	return ca.c.Subscribe(filter, func(m mqttclient.Message) { fn(mqttapi.Message(m)) })
}

func (ca clientAPIBus) Subscribed(topic string) bool { return ca.c.Subscribed(topic) }
