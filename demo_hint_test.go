package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// The demo's hint works when pasted: its mosquitto_pub command, sent with its
// login, arms the demo system.
func TestDemoHintWorksWhenPasted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var mu sync.Mutex
	var stdout strings.Builder
	out := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return stdout.Write(p) })
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"-demo", "-data", t.TempDir(), "-http", "127.0.0.1:0", "-https", "127.0.0.1:0", "-mqtt", "127.0.0.1:0"},
			strings.NewReader(""), out, pw)
		pw.Close()
		done <- err
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := startedRe.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[3]
			}
		}
	}()
	var mqttAddr string
	select {
	case mqttAddr = <-addr:
	case err := <-done:
		t.Fatalf("demo did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not start in 30 s")
	}
	mu.Lock()
	hint := stdout.String()
	mu.Unlock()
	pub := regexp.MustCompile(`mosquitto_pub -h (\S+) -p (\d+) -u (\S+) -P (\S+) -t (\S+) -m '([^']*)'`).FindStringSubmatch(hint)
	sub := regexp.MustCompile(`mosquitto_sub -h (\S+) -p (\d+) -u (\S+) -P (\S+) -t '([^']*)'`).FindStringSubmatch(hint)
	if pub == nil || sub == nil {
		t.Fatalf("no mosquitto_sub and mosquitto_pub lines in the hint:\n%s", hint)
	}
	if pub[1] != sub[1] || pub[2] != sub[2] || pub[3] != sub[3] || pub[4] != sub[4] {
		t.Fatalf("two addresses or logins in the hint:\n%s", hint)
	}
	if hinted := net.JoinHostPort(pub[1], pub[2]); hinted != mqttAddr {
		t.Errorf("the hint names %s, the broker listens on %s", hinted, mqttAddr)
	}
	// One connection for both (dialMQTT's client id is the login's).
	mc := dialMQTT(t, net.JoinHostPort(pub[1], pub[2]), sub[3], sub[4])
	mc.sub(t, sub[5])
	// The simulated zones first open 8 s after the start: the system is ready now.
	mc.pub(t, pub[5], pub[6], false)
	mc.waitFor(t, "vakt/state", "arming")
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
