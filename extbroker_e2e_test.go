package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"vakt/sensors/mqttclient/mosquittotest"
)

// useBroker points the boot configuration in dir at an external broker.
func useBroker(t *testing.T, dir, url string) {
	t.Helper()
	boot := fmt.Sprintf("mqtt:\n  broker: %s\n  broker_username: vakt\n  broker_password: hub-pass\n", url)
	if err := os.WriteFile(filepath.Join(dir, "vakt.yaml"), []byte(boot), 0o600); err != nil {
		t.Fatal(err)
	}
}

// healthFaults returns /healthz's status and faults.
func healthFaults(t *testing.T, data string) (string, []string) {
	t.Helper()
	var h struct {
		Status string   `json:"status"`
		Faults []string `json:"faults"`
	}
	resp, err := sockGet(data, "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return h.Status, h.Faults
}

// waitHealth polls /healthz until its status and faults are want (a real process
// and a real broker: no clock to drive), failing on any list not in allowed.
func waitHealth(t *testing.T, data, wantStatus string, want []string, allowed ...[]string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, faults := healthFaults(t, data)
		if status == wantStatus && slices.Equal(faults, want) {
			return
		}
		ok := false
		for _, a := range allowed {
			ok = ok || slices.Equal(faults, a)
		}
		if !ok || time.Now().After(deadline) {
			t.Fatalf("healthz %s %q; want %s %q", status, faults, wantStatus, want)
		}
		time.Sleep(50 * time.Millisecond) // polling a process's state
	}
}

// The hub uses an existing Mosquitto instead of its embedded broker: a zone
// message sounds the siren through it; when the broker goes away the broker
// fault is raised, and when it comes back the hub reconnects, subscribes again,
// the siren is commanded ON again (the alarm still sounds) and the fault is
// restored. Killed, the hub's will says it is offline.
func TestExternalBrokerAlarmAndOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker and a hub process")
	}
	srv := mosquittotest.Start(t, mosquittotest.Options{Users: map[string]string{
		"vakt": "hub-pass", "tester": "tester-pass", "zigbee2mqtt": "z2m-pass"}})
	dir, args := setup(t)
	useBroker(t, dir, srv.URL())
	cmd, data, mqttAddr := startHubChild(t, args...)
	if mqttAddr != srv.Addr() {
		t.Fatalf("the hub says MQTT is %s, want the broker %s", mqttAddr, srv.Addr())
	}

	c := dialMQTT(t, srv.Addr(), "tester", "tester-pass")
	c.sub(t, "vakt/state", "vakt/status", "test/siren")
	c.waitAll(t, "vakt/state", "disarmed", "vakt/status", "online")
	waitHealth(t, data, "ok", []string{})
	z := dialMQTT(t, srv.Addr(), "zigbee2mqtt", "z2m-pass")
	z.pub(t, "test/window", `{"contact":true}`, true)
	c.pub(t, "vakt/command", `{"command":"ARM_NIGHT","code":"135790"}`, false)
	c.waitFor(t, "vakt/state", "armed_night")
	z.pub(t, "test/window", `{"contact":false}`, true)
	c.waitAll(t, "test/siren", "ON", "vakt/state", "triggered")

	srv.Stop()
	waitHealth(t, data, "degraded", []string{"broker"}, []string{})

	srv.Restart()
	// The siren, back on the broker before the hub (whose next attempt waits at
	// least half a second), hears ON again.
	siren := dialMQTT(t, srv.Addr(), "zigbee2mqtt", "z2m-pass")
	siren.sub(t, "test/siren")
	c = dialMQTT(t, srv.Addr(), "tester", "tester-pass")
	c.sub(t, "vakt/state", "vakt/status", "vakt/output/siren")
	// Retained publications are published again (the broker kept none).
	c.waitAll(t, "vakt/state", "triggered", "vakt/status", "online", "vakt/output/siren", "ON")
	siren.waitFor(t, "test/siren", "ON")
	waitHealth(t, data, "ok", []string{}, []string{"broker"})
	// Subscribed again: a command is heard.
	c.pub(t, "vakt/command", `{"command":"DISARM","code":"135790"}`, false)
	siren.waitFor(t, "test/siren", "OFF")
	c.waitFor(t, "vakt/state", "disarmed")

	// A crash: the broker publishes the hub's will.
	kill(t, cmd)
	c.waitFor(t, "vakt/status", "offline")
}

// A broker fault stored while an external broker was unreachable ends when the
// hub goes back to its embedded broker.
func TestBrokerFaultClearedWithEmbeddedBroker(t *testing.T) {
	dir, args := setup(t)
	embedded, err := os.ReadFile(filepath.Join(dir, "vakt.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close() // nothing listens there: every attempt is refused
	useBroker(t, dir, "tcp://"+closed)
	p := startHub(t, args...)
	waitHealth(t, p.data, "degraded", []string{"broker"}, []string{})
	p.stop(t)

	if err := os.WriteFile(filepath.Join(dir, "vakt.yaml"), embedded, 0o600); err != nil {
		t.Fatal(err)
	}
	p = startHub(t, args...)
	defer p.stop(t)
	waitHealth(t, p.data, "ok", []string{}, []string{"broker"})
}
