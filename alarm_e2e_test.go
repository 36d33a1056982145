package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"vakt/hub/uplink/receiver"
)

// onWithin subscribes a device to its command topic and checks that the level
// arrives within d of the subscription.
func onWithin(t *testing.T, addr, topic, want string, d time.Duration) {
	t.Helper()
	dev := dialMQTT(t, addr, "zigbee2mqtt", "z2m-pass")
	dev.sub(t, topic)
	subscribed := time.Now()
	select {
	case m := <-dev.msgs:
		if m.Topic != topic || string(m.Payload) != want {
			t.Fatalf("the device got %s %q, want %q", m.Topic, m.Payload, want)
		}
		if took := time.Since(subscribed); took > d {
			t.Errorf("the device got %q %s after subscribing, want within %s", want, took, d)
		}
	case <-time.After(d):
		t.Fatalf("the device got nothing within %s of subscribing to %s", d, topic)
	}
}

// After a kill -9 during an alarm, the restarted hub keeps the siren's level: a
// siren that reconnects after the restart hears ON as soon as it subscribes. The
// same when the entry delay expired while the hub was down.
func TestRestartedSirenHearsItsLevel(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hub processes")
	}
	entryDomain := strings.Replace(domainYAML, "exit_delay: {away: 30s, home: 30s, night: 0s, vacation: 30s}",
		"exit_delay: {away: 30s, home: 30s, night: 0s, vacation: 30s}\n  entry_delay: {night: 1s}", 1)
	tests := []struct {
		name, domain string
		drive        func(t *testing.T, c *mqttClient)
	}{
		{"alarm in progress", domainYAML, func(t *testing.T, c *mqttClient) {
			c.pub(t, "test/window", `{"contact":false}`, true)
			c.waitAll(t, "vakt/state", "triggered", "test/siren", "ON")
		}},
		{"entry delay expires while down", entryDomain, func(t *testing.T, c *mqttClient) {
			c.pub(t, "test/door", "ON", true)
			c.waitFor(t, "vakt/state", "pending")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, args := setupIn(t, t.TempDir(), tc.domain)
			cmd, addr := startHubProcess(t, args...)
			c := dialMQTT(t, addr, "tester", "tester-pass")
			c.sub(t, "vakt/state", "test/siren")
			c.pub(t, "test/window", `{"contact":true}`, true)
			c.pub(t, "vakt/command", `{"command":"ARM_NIGHT","code":"135790"}`, false)
			c.waitFor(t, "vakt/state", "armed_night")
			tc.drive(t, c)
			kill(t, cmd)
			time.Sleep(1500 * time.Millisecond) // past the entry delay's deadline

			_, addr = startHubProcess(t, args...)
			onWithin(t, addr, "test/siren", "ON", time.Second)
			c = dialMQTT(t, addr, "tester", "tester-pass")
			c.sub(t, "vakt/state", "vakt/event")
			// The start-up events are not lost to a client that comes after them.
			c.waitAll(t, "vakt/state", "triggered", "vakt/event", `"event":"restart"`)
		})
	}
}

// SIGTERM during an alarm: the siren is commanded OFF, vakt/status says offline,
// and the process exits 0 within 5 s. SIGHUP before it changes nothing.
func TestSIGTERMDuringAlarm(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hub processes")
	}
	_, args := setup(t)
	cmd, addr := startHubProcess(t, args...)
	c := dialMQTT(t, addr, "tester", "tester-pass")
	c.sub(t, "vakt/state", "test/siren", "vakt/status", "vakt/event")
	c.waitFor(t, "vakt/status", "online")
	c.pub(t, "test/window", `{"contact":true}`, true)
	c.pub(t, "vakt/command", `{"command":"ARM_NIGHT","code":"135790"}`, false)
	c.waitFor(t, "vakt/state", "armed_night")
	c.pub(t, "test/window", `{"contact":false}`, true)
	c.waitAll(t, "vakt/state", "triggered", "test/siren", "ON")

	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	c.pub(t, "vakt/command", `{"command":"ARM_AWAY","code":"135790"}`, false)
	c.waitFor(t, "vakt/event", "COMMAND_NOT_ALLOWED") // the hub still answers: it is triggered

	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	c.waitAll(t, "test/siren", "OFF", "vakt/status", "offline")
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the hub did not exit within 5 s of SIGTERM")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("shutdown took %s", took)
	}

	// The restart resumes the alarm by the restart rules.
	_, addr = startHubProcess(t, args...)
	onWithin(t, addr, "test/siren", "ON", time.Second)
}

// A data directory that fills up during an alarm: the report still reaches the
// centre, a storage fault is raised and reported, /healthz says so, nothing is
// cancelled that the centre did not get, and when space comes back the fault
// restores.
func TestDiskFullDuringAlarm(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a tmpfs")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", data, "tmpfs", 0, "size=4m"); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (needs root): %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(data, syscall.MNT_DETACH) })
	rcv := startReceiver(t, receiver.Account{ID: "4321"})
	domain := strings.Replace(domainYAML, "outputs:",
		"  - {id: hall, name: Hall, number: 3, type: instant, mqtt: {topic: test/hall}}\noutputs:", 1)
	_, args := setupFiles(t, dir, data, domain)
	f, err := os.OpenFile(filepath.Join(dir, "vakt.yaml"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "uplink:\n  paths:\n    - {addr: %q, network: tcp, account: \"4321\", poll: 1m}\n", rcv.TCPAddr().String())
	f.Close()

	p := startHub(t, args...)
	defer p.stop(t)
	c := dialMQTT(t, p.mqtt, "tester", "tester-pass")
	c.sub(t, "vakt/state", "test/siren")
	c.pub(t, "test/window", `{"contact":true}`, true)
	c.pub(t, "vakt/command", `{"command":"ARM_NIGHT","code":"135790"}`, false)
	c.waitFor(t, "vakt/state", "armed_night")
	waitCID(t, rcv, "3401 01 001")

	// Fill the disk.
	filler := filepath.Join(data, "filler")
	fill, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := fill.Write(chunk); err != nil {
			break
		}
	}
	fill.Close()
	// The database still has free pages: move a zone that is not armed in night
	// mode until a commit needs more space than there is.
	health := func() (int, map[string]any) {
		resp, err := sockGet(p.data, "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	z := dialMQTT(t, p.mqtt, "zigbee2mqtt", "z2m-pass")
	for i := 0; ; i++ {
		if code, _ := health(); code == http.StatusServiceUnavailable {
			break
		}
		if i == 20000 {
			t.Fatal("the journal never ran out of space")
		}
		z.pub(t, "test/hall", []string{"ON", "OFF"}[i%2], false)
	}

	c.pub(t, "test/window", `{"contact":false}`, true)
	c.waitAll(t, "test/siren", "ON", "vakt/state", "triggered")
	// The storage trouble and the burglary reach the centre.
	waitCIDs(t, rcv, "1300 01 000", "1131 01 002")
	if code, body := health(); code != http.StatusServiceUnavailable || body["status"] != "degraded" ||
		!strings.Contains(fmt.Sprint(body["storage"]), "no space") {
		t.Errorf("healthz %d %v", code, body)
	}
	c.pub(t, "vakt/command", `{"command":"DISARM","code":"135790"}`, false)
	waitCID(t, rcv, "1406 01 001") // the cancel, after the alarm it cancels
	waitCID(t, rcv, "1401 01 001")

	// Space comes back: the fault restores and the journal has everything.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitCID(t, rcv, "3300 01 000")
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := health()
		if code == http.StatusOK && body["storage"] == "ok" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthz still %d %v", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitCIDs reads receiver events until each Contact ID of want has arrived, in any order.
func waitCIDs(t *testing.T, r *receiver.Receiver, want ...string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	left := map[string]bool{}
	for _, w := range want {
		left[w] = true
	}
	var seen []string
	for len(left) > 0 {
		select {
		case e := <-r.Events():
			if e.ContactID != nil {
				s, _ := e.ContactID.Format()
				seen = append(seen, s)
				for w := range left {
					if strings.HasSuffix(s, w) {
						delete(left, w)
					}
				}
			}
		case <-deadline:
			t.Fatalf("receiver never got %q; got %q", want, seen)
		}
	}
}
