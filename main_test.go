package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"vakt/hub/uplink/sia"
)

// hubProc is one run of the real run(ctx, …) in a goroutine.
type hubProc struct {
	cancel context.CancelFunc
	done   chan error
	mqtt   string
	http   string
	data   string // the data directory, where the local socket is
	https  string
}

var startedRe = regexp.MustCompile(`msg="vakt started".* data=(\S+) http=(\S+) mqtt=(\S+) https=(\S+)`)

// sockGet sends a GET for path to the hub running on the data directory, over
// its local socket, as the command line does.
func sockGet(data, path string) (*http.Response, error) {
	return localRequest(context.Background(), data, http.MethodGet, path, nil)
}

// startHub runs the hub with args and waits for its "vakt started" log line.
func startHub(t testing.TB, args ...string) *hubProc {
	t.Helper()
	return startHubLog(t, nil, args...)
}

// startHubLog is startHub that also copies the hub's log to w (nil: nowhere).
func startHubLog(t testing.TB, w io.Writer, args ...string) *hubProc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	p := &hubProc{cancel: cancel, done: make(chan error, 1)}
	go func() {
		err := run(ctx, args, strings.NewReader(""), io.Discard, pw)
		pw.Close()
		p.done <- err
	}()
	addrs := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if w != nil {
				_, _ = io.WriteString(w, sc.Text()+"\n")
			}
			if m := startedRe.FindStringSubmatch(sc.Text()); m != nil {
				addrs <- m[1:]
			}
			if testing.Verbose() {
				t.Log(sc.Text())
			}
		}
	}()
	select {
	case a := <-addrs:
		p.data, p.http, p.mqtt, p.https = a[0], a[1], a[2], a[3]
	case err := <-p.done:
		t.Fatalf("hub did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("hub did not start in 30 s")
	}
	return p
}

func (p *hubProc) stop(t testing.TB) {
	t.Helper()
	p.cancel()
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("hub stopped with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("hub did not stop in 30 s")
	}
}

type mqttClient struct {
	c    *paho.Client
	msgs chan *paho.Publish
}

func dialMQTT(t testing.TB, addr, user, pass string) *mqttClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	mc := &mqttClient{msgs: make(chan *paho.Publish, 256)}
	mc.c = paho.NewClient(paho.ClientConfig{Conn: conn, OnPublishReceived: []func(paho.PublishReceived) (bool, error){
		func(pr paho.PublishReceived) (bool, error) { mc.msgs <- pr.Packet; return true, nil },
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ca, err := mc.c.Connect(ctx, &paho.Connect{ClientID: "test-" + user, Username: user, UsernameFlag: true,
		Password: []byte(pass), PasswordFlag: true, KeepAlive: 30, CleanStart: true})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	if ca.ReasonCode != 0 {
		t.Fatalf("connect refused: %d", ca.ReasonCode)
	}
	t.Cleanup(func() { _ = mc.c.Disconnect(&paho.Disconnect{}) })
	return mc
}

func (mc *mqttClient) sub(t testing.TB, topics ...string) {
	t.Helper()
	var opts []paho.SubscribeOptions
	for _, tp := range topics {
		opts = append(opts, paho.SubscribeOptions{Topic: tp, QoS: 1})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := mc.c.Subscribe(ctx, &paho.Subscribe{Subscriptions: opts}); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
}

func (mc *mqttClient) pub(t testing.TB, topic, payload string, retain bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := mc.c.Publish(ctx, &paho.Publish{Topic: topic, Payload: []byte(payload), QoS: 1, Retain: retain}); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

// waitFor reads messages until one on topic has a payload containing want.
func (mc *mqttClient) waitFor(t testing.TB, topic, want string) string {
	t.Helper()
	return mc.waitAll(t, topic, want)[0]
}

// waitAll reads messages until, for each pair of topic and wanted text, one has
// arrived, in any order (outputs and state are published by different goroutines).
func (mc *mqttClient) waitAll(t testing.TB, pairs ...string) []string {
	t.Helper()
	deadline := time.After(20 * time.Second)
	got := make([]string, len(pairs)/2)
	left := len(got)
	var seen []string
	for left > 0 {
		select {
		case m := <-mc.msgs:
			seen = append(seen, m.Topic+" "+string(m.Payload))
			for i := 0; i < len(pairs); i += 2 {
				if got[i/2] == "" && m.Topic == pairs[i] && strings.Contains(string(m.Payload), pairs[i+1]) {
					got[i/2] = string(m.Payload)
					left--
					break
				}
			}
		case <-deadline:
			t.Fatalf("waiting for %q; got %q; saw %q", pairs, got, seen)
		}
	}
	return got
}

const domainYAML = `
settings:
  exit_delay: {away: 30s, home: 30s, night: 0s, vacation: 30s}
zones:
  - {id: door, name: Door, number: 1, type: entry_exit, mqtt: {topic: test/door}}
  - {id: window, name: Window, number: 2, type: perimeter,
     mqtt: {topic: test/window, field: contact, open: ["false"], closed: ["true"], tamper_field: tamper}}
outputs:
  - {id: siren, name: Siren, kind: siren, mqtt: {topic: test/siren, "on": "ON", "off": "OFF"}}
`

const bootYAML = `
mqtt:
  users:
    - {name: tester, password: tester-pass, admin: true}
    - {name: zigbee2mqtt, password: z2m-pass, read: ["test/#", "vakt/command"], write: ["test/#", "vakt/command"]}
`

// setup writes the boot config, imports the domain config and adds an admin.
func setup(t testing.TB) (dir string, args []string) {
	t.Helper()
	return setupIn(t, t.TempDir(), domainYAML)
}

// setupIn is setup with the data directory dir/data and the domain configuration domain.
func setupIn(t testing.TB, dir, domain string) (string, []string) {
	t.Helper()
	return setupFiles(t, dir, filepath.Join(dir, "data"), domain)
}

func setupFiles(t testing.TB, dir, data, domainText string) (string, []string) {
	t.Helper()
	boot := filepath.Join(dir, "vakt.yaml")
	domain := filepath.Join(dir, "domain.yaml")
	if err := os.WriteFile(boot, []byte(bootYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(domain, []byte(domainText), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := run(ctx, []string{"config", "import", "-data", data, domain}, nil, io.Discard, io.Discard); err != nil {
		t.Fatalf("config import: %v", err)
	}
	if err := run(ctx, []string{"user", "add", "-data", data, "-name", "Alice Admin", "-role", "admin"},
		strings.NewReader("135790\n"), io.Discard, io.Discard); err != nil {
		t.Fatalf("user add: %v", err)
	}
	return dir, []string{"-config", boot, "-data", data, "-http", "127.0.0.1:0", "-https", "127.0.0.1:0", "-mqtt", "127.0.0.1:0"}
}

// TestRunAlarmAndRestart drives the real binary's run twice on one data directory:
// a zone opens over MQTT, the siren sounds, the hub is killed in the alarm, and after
// the restart the alarm resumes until a user disarms it over MQTT.
func TestRunAlarmAndRestart(t *testing.T) {
	_, args := setup(t)
	p := startHub(t, args...)
	c := dialMQTT(t, p.mqtt, "tester", "tester-pass")
	c.sub(t, "vakt/state", "vakt/event", "test/siren")
	c.waitFor(t, "vakt/state", "disarmed")

	c.pub(t, "test/window", `{"contact":true,"tamper":false}`, true)
	c.pub(t, "vakt/command", `{"command":"ARM_NIGHT","code":"000000"}`, false)
	c.waitFor(t, "vakt/event", "INVALID_CODE_PROVIDED")
	c.pub(t, "vakt/command", `{"command":"ARM_NIGHT","code":"135790"}`, false)
	ev := c.waitAll(t, "vakt/event", `"event":"armed"`, "vakt/state", "armed_night")[0]
	if !strings.Contains(ev, `"user_id":"alice_admin"`) || !strings.Contains(ev, "mqtt:tester/test-tester") {
		t.Errorf("armed event does not name the user and source: %s", ev)
	}

	z := dialMQTT(t, p.mqtt, "zigbee2mqtt", "z2m-pass")
	z.pub(t, "test/window", `{"contact":false,"tamper":false}`, true)
	c.waitAll(t, "test/siren", "ON", "vakt/state", "triggered")
	p.stop(t)

	p = startHub(t, args...)
	c = dialMQTT(t, p.mqtt, "tester", "tester-pass")
	c.sub(t, "vakt/state", "test/siren", "vakt/event", "vakt/output/siren")
	// The alarm resumed: outputs restart off, then the siren is driven on again.
	c.waitAll(t, "vakt/state", "triggered", "vakt/output/siren", "ON")
	c.pub(t, "vakt/command", `{"command":"DISARM","code":"135790"}`, false)
	c.waitAll(t, "test/siren", "OFF", "vakt/state", "disarmed", "vakt/event", `"event":"alarm_cancel"`)
	p.stop(t)

	// The event log kept everything across the restart.
	p = startHub(t, args...)
	defer p.stop(t)
	c = dialMQTT(t, p.mqtt, "tester", "tester-pass")
	c.sub(t, "vakt/state")
	c.waitFor(t, "vakt/state", "disarmed")
}

func TestRunStartErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(bad, []byte("mqtt:\n  listn: ':1883'\n"), 0o600)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	file := filepath.Join(dir, "file")
	_ = os.WriteFile(file, nil, 0o600)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown key in config", []string{"-config", bad}, "listn"},
		{"missing config", []string{"-config", filepath.Join(dir, "nope.yaml")}, "nope.yaml"},
		{"data dir is a file", []string{"-data", file, "-http", "127.0.0.1:0", "-https", "127.0.0.1:0", "-mqtt", "127.0.0.1:0"}, file},
		{"web port in use", []string{"-data", filepath.Join(dir, "d1"), "-http", busy.Addr().String(), "-https", "127.0.0.1:0", "-mqtt", "127.0.0.1:0"}, busy.Addr().String()},
		{"mqtt port in use", []string{"-data", filepath.Join(dir, "d2"), "-http", "127.0.0.1:0", "-https", "127.0.0.1:0", "-mqtt", busy.Addr().String()}, busy.Addr().String()},
		{"unknown subcommand", []string{"frobnicate"}, "frobnicate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := run(ctx, tc.args, strings.NewReader(""), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one naming %q", err, tc.want)
			}
		})
	}
}

func TestConfigImportRejectsBadFileAndKeepsOld(t *testing.T) {
	dir, _ := setup(t)
	data := filepath.Join(dir, "data")
	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(bad, []byte("zones:\n  - {id: x, name: X, number: 0, type: laser}\n"), 0o600)
	ctx := context.Background()
	err := run(ctx, []string{"config", "import", "-data", data, bad}, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "laser") {
		t.Fatalf("import of a bad file: %v", err)
	}
	var out strings.Builder
	if err := run(ctx, []string{"config", "export", "-data", data}, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "id: window") || !strings.Contains(out.String(), "alice_admin") {
		t.Errorf("old config lost:\n%s", out.String())
	}
	if strings.Contains(out.String(), "135790") {
		t.Errorf("export contains a PIN in clear")
	}
}

// lineWriter hands each written line to a channel.
type lineWriter struct{ lines chan string }

func (w lineWriter) Write(p []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		w.lines <- l
	}
	return len(p), nil
}

func TestReceiverCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out, errs := lineWriter{make(chan string, 100)}, lineWriter{make(chan string, 100)}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"receiver", "-tcp", "127.0.0.1:0", "-account", "1234",
			"-account", "5678:hex:000102030405060708090A0B0C0D0E0F"}, nil, out, errs)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("receiver: %v", err)
		}
	}()
	addr := receiverAddr(t, errs, done)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	key, _ := sia.ParseKey("000102030405060708090A0B0C0D0E0F", "hex")
	for i, m := range []struct {
		msg sia.Message
		key *sia.Key
	}{
		{sia.Message{ID: sia.IDADMCID, Seq: 1, Receiver: "0", Line: "0", Account: "1234", Data: "#1234|1130 01 003", Time: time.Now().UTC()}, nil},
		{sia.Message{ID: sia.IDADMCID, Encrypted: true, Seq: 2, Receiver: "0", Line: "0", Account: "5678", Data: "#5678|3401 01 002", Time: time.Now().UTC()}, key},
	} {
		frame, err := sia.Encode(m.msg, m.key, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Write(frame); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 512)
		n, err := conn.Read(buf)
		if err != nil || !strings.Contains(string(buf[:n]), "ACK") {
			t.Fatalf("frame %d: reply %q, %v", i, buf[:n], err)
		}
		select {
		case l := <-out.lines:
			want := []string{"acct 1234 tcp seq 0001 ADM-CID 1 130 01 003 Burglary", "acct 5678 tcp seq 0002 *ADM-CID 3 401 01 002"}[i]
			if !strings.Contains(l, want) {
				t.Errorf("line %q lacks %q", l, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no event line")
		}
	}
}

// receiverAddr waits for `vakt receiver` to log its TCP address on errs.
func receiverAddr(t *testing.T, errs lineWriter, done <-chan error) string {
	t.Helper()
	re := regexp.MustCompile(`receiver listening" tcp=(\S+)`)
	for {
		select {
		case l := <-errs.lines:
			if m := re.FindStringSubmatch(l); m != nil {
				return m[1]
			}
		case err := <-done:
			t.Fatalf("receiver stopped: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("receiver did not start")
		}
	}
}
