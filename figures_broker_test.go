package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rssKB reads a memory figure (VmRSS, VmHWM) of a process, in KiB.
func rssKB(t *testing.T, pid int, field string) int {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

func mb(kb int) string { return fmt.Sprintf("%.1f MB", float64(kb)*1024/1e6) }

// TestBrokerMemoryFigure: the hub in a process of its own; a Zigbee2MQTT account
// subscribes to zigbee2mqtt/# and never reads while another client publishes
// 524 MB on zigbee2mqtt/x. It reports the hub's peak RSS over its resting RSS
// (goal ≤ 20 MB) and its RSS once the client has left. VAKT_FIGURES=all or mem.
func TestBrokerMemoryFigure(t *testing.T) {
	if v := os.Getenv(figuresEnv); v != "all" && !strings.Contains(","+v+",", ",mem,") {
		t.Skip("set " + figuresEnv + "=mem (or all) to measure")
	}
	dir := t.TempDir()
	boot := filepath.Join(dir, "vakt.yaml")
	limits := os.Getenv("VAKT_FIGURES_MQTT_LIMITS") // e.g. "max_client_queue_bytes: 1048576"
	if err := os.WriteFile(boot, []byte(`
mqtt:
  `+limits+`
  users:
    - {name: zigbee2mqtt, password: z2m-pass, read: ["zigbee2mqtt/#"], write: ["zigbee2mqtt/#"]}
    - {name: load, password: load-pass, read: ["zigbee2mqtt/#"], write: ["zigbee2mqtt/#"]}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd, _, mqttAddr := startHubChild(t, "-config", boot, "-data", filepath.Join(dir, "data"), "-http", "127.0.0.1:0", "-https", "127.0.0.1:0", "-mqtt", "127.0.0.1:0")
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	pid := cmd.Process.Pid

	// The client that never reads, with a small receive buffer from the start.
	small := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	slow, err := small.Dial("tcp", mqttAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if err := mqttConnect(slow, "z2m-bridge", "zigbee2mqtt", "z2m-pass"); err != nil {
		t.Fatal(err)
	}
	sub := mqttString([]byte{0, 1}, "zigbee2mqtt/#")
	if _, err := slow.Write(mqttPacket(0x82, append(sub, 0))); err != nil {
		t.Fatal(err)
	}
	suback := make([]byte, 5)
	if _, err := slow.Read(suback); err != nil {
		t.Fatal(err)
	}

	pub, err := net.Dial("tcp", mqttAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := mqttConnect(pub, "loader", "load", "load-pass"); err != nil {
		t.Fatal(err)
	}
	rest := rssKB(t, pid, "VmRSS")

	const size, count = 1_040_000, 504 // 524 MB
	payload := strings.Repeat("x", size)
	pk := mqttPacket(0x30, append(mqttString(nil, "zigbee2mqtt/x"), payload...))
	start := time.Now()
	for range count {
		if _, err := pub.Write(pk); err != nil {
			t.Fatal(err)
		}
	}
	// A ping answered means the broker has read everything before it.
	if _, err := pub.Write([]byte{0xC0, 0}); err != nil {
		t.Fatal(err)
	}
	pong := make([]byte, 2)
	if _, err := pub.Read(pong); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	peak := rssKB(t, pid, "VmHWM")
	during := rssKB(t, pid, "VmRSS")

	_ = slow.Close()
	// Sample the RSS once a second for up to two minutes after the client left.
	after := during
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for range 120 {
		<-tick.C
		after = rssKB(t, pid, "VmRSS")
		if after-rest < 5*1024 {
			break
		}
	}
	fmt.Printf("\n| path | measured | baseline (same run) | ratio / goal |\n|---|---|---|---|\n")
	fmt.Printf("| hub RSS while a client that never reads is sent 524 MB (%.1f s) | peak +%s, end +%s | %s at rest | (goal ≤ +20 MB) |\n",
		took.Seconds(), mb(peak-rest), mb(during-rest), mb(rest))
	fmt.Printf("| hub RSS after that client left | +%s | %s at rest | (goal: back to rest) |\n", mb(after-rest), mb(rest))
}
