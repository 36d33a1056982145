package main

import (
	"testing"
)

// BenchmarkMQTTRoundTrip is the baseline: a message from one MQTT client through the
// embedded broker to another.
func BenchmarkMQTTRoundTrip(b *testing.B) {
	_, args := setup(b)
	p := startHub(b, args...)
	defer p.stop(b)
	tx := dialMQTT(b, p.mqtt, "tester", "tester-pass")
	rx := dialMQTT(b, p.mqtt, "zigbee2mqtt", "z2m-pass")
	rx.sub(b, "test/echo")
	for b.Loop() {
		tx.pub(b, "test/echo", "x", false)
		rx.waitFor(b, "test/echo", "x")
	}
}

// BenchmarkZoneToSiren measures the whole alarm path: a Zigbee2MQTT-style message on a
// zone's topic to the siren's ON message, through the broker, the zone adapter, the
// hub (outputs before the disk) and the output driver.
func BenchmarkZoneToSiren(b *testing.B) {
	_, args := setup(b)
	p := startHub(b, args...)
	defer p.stop(b)
	c := dialMQTT(b, p.mqtt, "tester", "tester-pass")
	z := dialMQTT(b, p.mqtt, "zigbee2mqtt", "z2m-pass")
	c.sub(b, "test/siren", "vakt/state")
	for b.Loop() {
		b.StopTimer()
		z.pub(b, "test/window", `{"contact":true}`, true)
		c.pub(b, "vakt/command", `{"command":"ARM_NIGHT","code":"135790"}`, false)
		c.waitFor(b, "vakt/state", "armed_night")
		b.StartTimer()
		z.pub(b, "test/window", `{"contact":false}`, true)
		c.waitFor(b, "test/siren", "ON")
		b.StopTimer()
		c.pub(b, "vakt/command", `{"command":"DISARM","code":"135790"}`, false)
		c.waitFor(b, "vakt/state", "disarmed")
		b.StartTimer()
	}
}
