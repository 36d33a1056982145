package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vakt/hub/uplink/receiver"
	"vakt/hub/uplink/sia"
)

func startReceiver(t *testing.T, accounts ...receiver.Account) *receiver.Receiver {
	t.Helper()
	r, err := receiver.New(receiver.Config{TCPAddr: "127.0.0.1:0", UDPAddr: "127.0.0.1:0", Accounts: accounts}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// waitCID reads receiver events until a Contact ID "QEEE GG ZZZ" has arrived.
func waitCID(t *testing.T, r *receiver.Receiver, want string) receiver.Event {
	t.Helper()
	deadline := time.After(20 * time.Second)
	var seen []string
	for {
		select {
		case e := <-r.Events():
			if e.ContactID != nil {
				s, _ := e.ContactID.Format()
				seen = append(seen, s)
				if strings.HasSuffix(s, want) {
					return e
				}
			}
		case <-deadline:
			t.Fatalf("receiver never got %q; got %q", want, seen)
		}
	}
}

// TestRunReportsToMonitoringCentre: the real hub, its uplink over TCP with AES, and a
// receiving centre on loopback. Arming, an alarm and the disarm reach the centre.
func TestRunReportsToMonitoringCentre(t *testing.T) {
	key, err := sia.ParseKey("000102030405060708090A0B0C0D0E0F", "hex")
	if err != nil {
		t.Fatal(err)
	}
	rcv := startReceiver(t, receiver.Account{ID: "4321", Key: key})
	dir, args := setup(t)
	boot := filepath.Join(dir, "vakt.yaml")
	extra := fmt.Sprintf(`
uplink:
  paths:
    - {addr: %q, network: tcp, account: "4321", key: "000102030405060708090A0B0C0D0E0F", key_format: hex, poll: 1m}
`, rcv.TCPAddr().String())
	f, err := os.OpenFile(boot, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString(extra)
	f.Close()

	p := startHub(t, args...)
	defer p.stop(t)
	c := dialMQTT(t, p.mqtt, "tester", "tester-pass")
	c.sub(t, "vakt/state")
	c.pub(t, "vakt/command", `{"command":"ARM_NIGHT","code":"135790"}`, false)
	c.waitFor(t, "vakt/state", "armed_night")
	e := waitCID(t, rcv, "3401 01 001") // armed by user 1
	if !e.Encrypted {
		t.Errorf("report not encrypted: %+v", e)
	}
	c.pub(t, "test/window", `{"contact":false}`, true)
	waitCID(t, rcv, "1131 01 002") // perimeter burglary, zone 2
	c.pub(t, "vakt/command", `{"command":"DISARM","code":"135790"}`, false)
	waitCID(t, rcv, "1406 01 001") // cancel by user 1
	waitCID(t, rcv, "1401 01 001") // disarmed by user 1

	resp, err := sockGet(p.data, "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var health struct {
		Uplink []struct {
			Name    string    `json:"name"`
			State   string    `json:"state"`
			LastAck time.Time `json:"last_ack"`
		} `json:"uplink"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&health); err != nil {
		t.Fatal(err)
	}
	if len(health.Uplink) != 1 || health.Uplink[0].State != "ok" || health.Uplink[0].LastAck.IsZero() {
		t.Errorf("uplink status %+v", health.Uplink)
	}

	// A manual test report from the API (here over the local socket, as the
	// console): the centre gets 601.
	if err := localDo(context.Background(), p.data, "POST", "/api/v1/uplink/test", map[string]any{}, nil); err != nil {
		t.Fatal(err)
	}
	waitCID(t, rcv, "1601 01 000") // manual test, user 0: the console
}

func TestUplinkTestCommand(t *testing.T) {
	rcv := startReceiver(t, receiver.Account{ID: "4321"})
	dir := t.TempDir()
	boot := filepath.Join(dir, "vakt.yaml")
	cfg := fmt.Sprintf("uplink:\n  paths:\n    - {addr: %q, network: udp, account: \"4321\"}\n    - {addr: \"127.0.0.1:1\", account: \"4321\", ack_timeout: 1s}\n",
		rcv.UDPAddr().String())
	if err := os.WriteFile(boot, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	err := run(context.Background(), []string{"uplink", "test", "-config", boot}, nil, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "1 path") {
		t.Errorf("err %v, want one failed path", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "primary") || !strings.Contains(lines[0], "ACK") ||
		!strings.Contains(lines[1], "backup") || strings.Contains(lines[1], "ACK") {
		t.Errorf("output:\n%s", out.String())
	}
	waitCID(t, rcv, "1601 00 000")
}
