package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a strings.Builder safe for a writer and a reader in two goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// demoRun is the demo running in serve, on loopback ports.
type demoRun struct {
	addrs          map[string]string // "http", "https", "mqtt", "data"
	stdout, stderr *syncBuffer
	stop           func() error // stops it and returns serve's error; once
}

// startDemo runs `vakt -demo` in process and waits until it serves; the test's
// cleanup stops it if the test did not.
func startDemo(t *testing.T) *demoRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &demoRun{stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	ready := make(chan map[string]string, 1)
	done := make(chan error, 1)
	opt, err := parseFlags([]string{"-demo", "-http", "127.0.0.1:0", "-https", "127.0.0.1:0", "-mqtt", "127.0.0.1:0"}, d.stderr)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	opt.ready = func(a map[string]string) { ready <- a }
	go func() { done <- serve(ctx, opt, d.stdout, d.stderr) }()
	var once sync.Once
	var stopErr error
	d.stop = func() error {
		once.Do(func() { cancel(); stopErr = <-done })
		return stopErr
	}
	t.Cleanup(func() { _ = d.stop() })
	select {
	case d.addrs = <-ready:
	case err := <-done:
		done <- err // for stop, in the cleanup
		t.Fatalf("demo stopped: %v\n%s", err, d.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not start")
	}
	return d
}

// TestDemoLeavesNothingBehind runs the demo without -data: it runs in a temporary
// directory that is gone after the stop, nothing is written to ./vakt-data, and its
// hint names the MQTT listener's actual host and port.
func TestDemoLeavesNothingBehind(t *testing.T) {
	t.Chdir(t.TempDir())
	d := startDemo(t)
	addrs, stdout, stderr := d.addrs, d.stdout, d.stderr
	m := regexp.MustCompile(`msg="vakt started" version=\S+ data=(\S+)`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no start line:\n%s", stderr.String())
	}
	data := m[1]
	if _, err := os.Stat(filepath.Join(data, "vakt.db")); err != nil {
		t.Fatalf("the demo's database: %v", err)
	}
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(addrs["mqtt"])
	conn := fmt.Sprintf("-h %s -p %s", host, port)
	want := fmt.Sprintf(`Demo: simulated zones open and close on vakt/demo/<zone>; the siren is vakt/demo/siren.
  Web app: user demo, password demo1234. MQTT login demo/demo; the demo user's PIN is 123456. Try:
  mosquitto_sub %[1]s -u demo -P demo -t 'vakt/#' -v
  mosquitto_pub %[1]s -u demo -P demo -t vakt/command -m '{"command":"ARM_AWAY","code":"123456"}'
`, conn)
	if host != "127.0.0.1" || port == "0" || stdout.String() != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout.String(), want)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("the demo's directory %s is still there: %v", data, err)
	}
	if _, err := os.Stat("vakt-data"); !os.IsNotExist(err) {
		t.Errorf("the demo wrote ./vakt-data: %v", err)
	}
}
