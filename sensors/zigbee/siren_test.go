package zigbee

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"vakt/hub"
	"vakt/hub/output"
)

func sirenOutputs() []hub.Output {
	return []hub.Output{
		{ID: "hall_siren", Kind: hub.OutputSiren},
		{ID: "garage_siren", Kind: hub.OutputSiren},
		{ID: "neo_siren", Kind: hub.OutputSounder},
	}
}

// The keeper drives Zigbee sirens through the adapter: an IAS WD warning with
// every field and an explicit duration (three refresh periods), stop, the
// Heiman's emergency-only warning, the Tuya siren's alarm; never retained.
func TestSirenPayloads(t *testing.T) {
	r := started(t)
	k := output.New(sirenOutputs(), output.Options{Driver: r.a, Feedback: r.a.HasFeedback, Now: r.clock.Now})
	r.a.Bind(k)
	k.Set(hub.OutputSiren, true, false)
	k.Set(hub.OutputSounder, true, false)
	expect(t, "on", r.bus.take(), []string{
		`zigbee2mqtt/hall_siren/set {"warning":{"duration":90,"level":"very_high","mode":"burglar","strobe":true}} retain=false`,
		`zigbee2mqtt/garage_siren/set {"warning":{"duration":90,"mode":"emergency","strobe":true}} retain=false`,
		`zigbee2mqtt/neo_siren/set {"alarm":true} retain=false`,
	})
	k.Set(hub.OutputSiren, false, false)
	k.Set(hub.OutputSounder, false, false)
	expect(t, "off", r.bus.take(), []string{
		`zigbee2mqtt/hall_siren/set {"warning":{"duration":0,"level":"low","mode":"stop","strobe":false}} retain=false`,
		`zigbee2mqtt/garage_siren/set {"warning":{"duration":0,"mode":"stop","strobe":false}} retain=false`,
		`zigbee2mqtt/neo_siren/set {"alarm":false} retain=false`,
	})
	expect(t, "inputs", r.hub.take(), nil)
}

func TestSirenBindingOptions(t *testing.T) {
	hall := Device{FriendlyName: "s", Siren: "ias_wd", SirenLevel: true, Squawk: true,
		SirenModes: []string{"stop", "burglar", "fire", "emergency"}}
	off := false
	for _, c := range []struct {
		d    Device
		b    OutputBinding
		l    output.Level
		want string
	}{
		{hall, OutputBinding{Mode: "fire", Level: "high", Strobe: &off, Duration: hub.Duration(5 * time.Minute)}, output.On,
			`{"warning":{"duration":300,"level":"high","mode":"fire","strobe":false}}`},
		// A duration shorter than the refresh would let the siren stop between commands.
		{hall, OutputBinding{Mode: "burglar", Level: "low", Duration: hub.Duration(5 * time.Second)}, output.On,
			`{"warning":{"duration":40,"level":"low","mode":"burglar","strobe":true}}`},
		{hall, OutputBinding{Mode: "burglar", Level: "high", Squawk: true}, output.Pulse,
			`{"squawk":{"level":"high","state":"system_is_armed","strobe":true}}`},
		{hall, OutputBinding{Mode: "burglar", Level: "high"}, output.Pulse, `null`},
		{Device{Siren: "start_off"}, OutputBinding{Mode: "burglar"}, output.On, `{"alarm":"START"}`},
		{Device{Siren: "start_off"}, OutputBinding{Mode: "burglar"}, output.Off, `{"alarm":"OFF"}`},
	} {
		p, err := SirenPayload(c.d, c.b, 30*time.Second, c.l)
		if err != nil || string(p) != c.want && !(p == nil && c.want == "null") {
			t.Errorf("%+v %v: got %s, %v; want %s", c.b, c.l, p, err, c.want)
		}
	}
	_, err := SirenPayload(Device{Vendor: "Aqara", Model: "MCCGQ11LM"}, OutputBinding{Mode: "burglar"}, 0, output.On)
	if want := "the device (Aqara MCCGQ11LM) is not a siren Vakt can drive: no warning or alarm to set"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

// A siren not in bridge/devices cannot be driven, and is unreachable. Before the
// first bridge/devices (just started) it is only unreachable: its level is sent
// when the list comes.
func TestSirenUnknown(t *testing.T) {
	r := newRig(t, nil, fixtureOutputs(), nil)
	if err := r.a.Drive(hub.Output{ID: "hall_siren"}, output.On); err != nil {
		t.Errorf("Drive before bridge/devices: %v", err)
	}
	expect(t, "sent before bridge/devices", r.bus.take(), nil)
	r.bus.send("zigbee2mqtt/bridge/devices", `[]`)
	err := r.a.Drive(hub.Output{ID: "hall_siren"}, output.On)
	if !errors.Is(err, ErrUnknownSiren) || err.Error() != "zigbee: output hall_siren (0x0015bc001b02c3d4): the siren is not in Zigbee2MQTT's bridge/devices" {
		t.Errorf("Drive: %v", err)
	}
	if r.a.Reachable(hub.Output{ID: "hall_siren"}) {
		t.Error("unknown siren reachable")
	}
	if !r.a.Reachable(hub.Output{ID: "gpio_bell"}) || r.a.Drive(hub.Output{ID: "gpio_bell"}, output.On) != nil {
		t.Error("an output not bound here is not this driver's")
	}
	r.bus.send("zigbee2mqtt/bridge/devices", string(allDevices(t)))
	r.bus.send("zigbee2mqtt/bridge/state", `{"state":"online"}`)
	if !r.a.Reachable(hub.Output{ID: "hall_siren"}) {
		t.Error("known siren unreachable")
	}
	r.bus.send("zigbee2mqtt/hall_siren/availability", `{"state":"offline"}`)
	if r.a.Reachable(hub.Output{ID: "hall_siren"}) {
		t.Error("siren offline for Zigbee2MQTT is reachable")
	}
	expect(t, "published", r.bus.take(), nil)
}

// keeperLog records what the adapter tells a keeper.
type keeperLog struct {
	mu  sync.Mutex
	log []string
}

func (k *keeperLog) Feedback(id string, on bool) {
	k.mu.Lock()
	k.log = append(k.log, fmt.Sprint("feedback ", id, " ", on))
	k.mu.Unlock()
}

func (k *keeperLog) Refused(id, detail string) {
	k.mu.Lock()
	k.log = append(k.log, "refused "+id+" "+detail)
	k.mu.Unlock()
}

func (k *keeperLog) Resend(match func(hub.Output) bool) {
	var ids []string
	for _, o := range append(sirenOutputs(), hub.Output{ID: "gpio_bell"}) {
		if match(o) {
			ids = append(ids, o.ID)
		}
	}
	k.mu.Lock()
	k.log = append(k.log, fmt.Sprint("resend ", ids))
	k.mu.Unlock()
}

func (k *keeperLog) take() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	p := k.log
	k.log = nil
	return p
}

// The Tuya siren's reported alarm is feedback; an IAS siren's alarm bit is not.
// Zigbee2MQTT coming online, or a siren coming online, has the keeper resend.
func TestSirenFeedbackAndResend(t *testing.T) {
	r := newRig(t, nil, fixtureOutputs(), nil)
	k := &keeperLog{}
	r.a.Bind(k)
	r.bus.send("zigbee2mqtt/bridge/devices", string(allDevices(t)))
	if !r.a.HasFeedback(hub.Output{ID: "neo_siren"}) || r.a.HasFeedback(hub.Output{ID: "hall_siren"}) {
		t.Error("HasFeedback: only the Tuya siren reports its level")
	}
	r.bus.send("zigbee2mqtt/bridge/state", `{"state":"online"}`)
	r.bus.send("zigbee2mqtt/neo_siren", loadFixtures(t)["neo_NASAB02B0_state"].Payload)
	r.bus.send("zigbee2mqtt/hall_siren", loadFixtures(t)["sirzb110_state"].Payload)
	r.bus.send("zigbee2mqtt/neo_siren", `{"alarm":false,"battery_low":false}`)
	r.bus.send("zigbee2mqtt/bridge/state", `{"state":"online"}`) // no change: nothing to resend
	r.bus.send("zigbee2mqtt/bridge/state", `{"state":"offline"}`)
	r.bus.send("zigbee2mqtt/bridge/state", `{"state":"online"}`)
	r.bus.send("zigbee2mqtt/hall_siren/availability", `{"state":"online"}`)
	expect(t, "keeper", k.take(), []string{
		"resend [hall_siren garage_siren neo_siren]", // the first bridge/devices
		"resend [hall_siren garage_siren neo_siren]",
		"feedback neo_siren true",
		"feedback neo_siren false",
		"resend [hall_siren garage_siren neo_siren]",
		"resend [hall_siren]",
	})
}

// Zigbee2MQTT subscribing to a siren's /set topic has the keeper resend.
func TestSubscribedResends(t *testing.T) {
	r := started(t)
	k := &keeperLog{}
	r.a.Bind(k)
	r.a.Subscribed([]string{"vakt/#", "zigbee2mqtt/+/get"})
	r.a.Subscribed([]string{"zigbee2mqtt/hall_siren/set"})
	r.a.Subscribed([]string{"zigbee2mqtt/#"})
	got := k.take()
	// The last resend covers every siren; its match is over a set, in any order.
	expect(t, "keeper", got, []string{"resend [hall_siren]", "resend [hall_siren garage_siren neo_siren]"})
	for _, c := range []struct {
		f, t string
		want bool
	}{
		{"zigbee2mqtt/#", "zigbee2mqtt/a b/c/set", true},
		{"zigbee2mqtt/+/set", "zigbee2mqtt/a/b/set", false},
		{"zigbee2mqtt/+/+/set", "zigbee2mqtt/a/b/set", true},
		{"zigbee2mqtt/a", "zigbee2mqtt/a/set", false},
		{"#", "x", true},
	} {
		if matchFilter(c.f, c.t) != c.want {
			t.Errorf("matchFilter(%q, %q) != %v", c.f, c.t, c.want)
		}
	}
}

// A failed /set shows only on bridge/logging: it is logged as an error and the
// keeper hears of it (the output fails until a command goes through); an info
// line or junk is nothing.
func TestSirenFailureLogged(t *testing.T) {
	r := started(t)
	k := &keeperLog{}
	r.a.Bind(k)
	r.bus.send("zigbee2mqtt/bridge/logging", loadFixtures(t)["logging_set_failed"].Payload)
	r.bus.send("zigbee2mqtt/bridge/logging", `{"level":"info","message":"Publish 'set' 'warning' to 'hall_siren' failed: x"}`)
	r.bus.send("zigbee2mqtt/bridge/logging", `not json`)
	expect(t, "inputs", r.hub.take(), nil)
	expect(t, "keeper", k.take(), []string{"refused hall_siren Zigbee2MQTT could not deliver warning: 'Error: ZCL command 0x0015bc001b02c3d4…"})
	logs := r.logs.take()
	if len(logs) != 1 || !strings.HasPrefix(logs[0], "ERROR zigbee: siren command failed in Zigbee2MQTT output=hall_siren device=hall_siren key=warning message=") {
		t.Errorf("logs %q", logs)
	}
}
