package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hubArgsEnv makes the test binary run the hub instead of the tests, so a test can
// kill a real process with SIGKILL.
const hubArgsEnv = "VAKT_TEST_HUB_ARGS"

// cpuProfileEnv names a file for a CPU profile of the hub's child process, written
// when it stops (VAKT_TEST_CPUPROFILE=/tmp/hub.prof FIGURES=3 scripts/bench).
const cpuProfileEnv = "VAKT_TEST_CPUPROFILE"

// traceEnv names a file for an execution trace of the hub's child process, written
// when it stops (VAKT_TEST_TRACE=/tmp/hub.trace FIGURES=2 N=400 scripts/bench;
// then go tool trace -pprof=sched /tmp/hub.trace shows where goroutines waited
// to run).
const traceEnv = "VAKT_TEST_TRACE"

// recordTo records what start records (a CPU profile, an execution trace) into
// the file path until the returned func is called; with no path it does nothing.
func recordTo(path, what string, start func(io.Writer) error, stop func()) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		os.Stderr.WriteString("vakt: " + what + ": " + err.Error() + "\n")
		return func() {}
	}
	if err := start(f); err != nil {
		os.Stderr.WriteString("vakt: " + what + ": " + err.Error() + "\n")
		f.Close()
		return func() {}
	}
	return func() { stop(); f.Close() }
}

func TestMain(m *testing.M) {
	if args := os.Getenv(hubArgsEnv); args != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		ignoreHangup(os.Stderr)
		stopProfile := recordTo(os.Getenv(cpuProfileEnv), "cpu profile", pprof.StartCPUProfile, pprof.StopCPUProfile)
		stopTrace := recordTo(os.Getenv(traceEnv), "trace", trace.Start, trace.Stop)
		heapProfileOnSignal(os.Getenv(heapProfileEnv))
		err := run(ctx, strings.Split(args, "\x1f"), os.Stdin, os.Stdout, os.Stderr)
		stop()
		stopProfile()
		stopTrace()
		if errors.Is(err, errRestart) {
			err = reexec() // as main does: the same arguments and environment
		}
		if err != nil {
			os.Stderr.WriteString("vakt: " + err.Error() + "\n")
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startHubProcess runs the hub in a child process and waits until it serves.
func startHubProcess(t *testing.T, args ...string) (cmd *exec.Cmd, mqttAddr string) {
	t.Helper()
	cmd, _, mqttAddr = startHubChild(t, args...)
	return cmd, mqttAddr
}

// spawnHub runs the hub with args in a child process (this test binary) and
// returns its log; the test's cleanup kills it if the test did not stop it.
func spawnHub(t *testing.T, args ...string) (*exec.Cmd, io.Reader) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), hubArgsEnv+"="+strings.Join(args, "\x1f"))
	return spawn(t, cmd)
}

func spawn(t *testing.T, cmd *exec.Cmd) (*exec.Cmd, io.Reader) {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, stderr
}

// startHubChild runs the hub in a child process and returns its data directory
// (where its local socket is) and MQTT address once it serves.
func startHubChild(t *testing.T, args ...string) (cmd *exec.Cmd, data, mqttAddr string) {
	t.Helper()
	cmd, stderr := spawnHub(t, args...)
	data, mqttAddr = waitStarted(t, stderr)
	return cmd, data, mqttAddr
}

// startProductHub builds the hub as a user does (`go build`) and runs that
// binary: for figures of the process itself, whose resident memory counts the
// binary's pages, and the test binary carries the tests' code and libraries too.
func startProductHub(t *testing.T, args ...string) (cmd *exec.Cmd, mqttAddr string) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "vakt")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd, stderr := spawn(t, exec.Command(bin, args...))
	_, mqttAddr = waitStarted(t, stderr)
	return cmd, mqttAddr
}

// waitStarted reads a hub's log until it serves and returns its data directory
// and MQTT address.
func waitStarted(t *testing.T, stderr io.Reader) (data, mqttAddr string) {
	t.Helper()
	addrs := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := startedRe.FindStringSubmatch(sc.Text()); m != nil {
				addrs <- m[1:]
			}
		}
	}()
	select {
	case a := <-addrs:
		return a[0], a[2]
	case <-time.After(30 * time.Second):
		t.Fatal("hub process did not start")
	}
	return "", ""
}

func kill(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

// TestKillRestartRules kills the hub process with SIGKILL in each state and checks the
// state after a restart on the same data directory, as the restart rules say.
func TestKillRestartRules(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hub processes")
	}
	tests := []struct {
		name  string
		drive func(t *testing.T, c *mqttClient)
		want  string // state after the restart
		check func(t *testing.T, c *mqttClient)
	}{
		{name: "armed stays armed", want: "armed_night",
			drive: func(t *testing.T, c *mqttClient) {
				c.pub(t, "vakt/command", `{"command":"ARM_NIGHT","code":"135790"}`, false)
				c.waitFor(t, "vakt/state", "armed_night")
			}},
		{name: "exit delay restarts", want: "arming",
			drive: func(t *testing.T, c *mqttClient) {
				c.pub(t, "vakt/command", `{"command":"ARM_AWAY","code":"135790"}`, false)
				c.waitFor(t, "vakt/state", "arming")
			}},
		{name: "entry delay resumes", want: "pending",
			drive: func(t *testing.T, c *mqttClient) {
				c.pub(t, "vakt/command", `{"command":"ARM_NIGHT","code":"135790"}`, false)
				c.waitFor(t, "vakt/state", "armed_night")
				c.pub(t, "test/door", "ON", true)
				c.waitFor(t, "vakt/state", "pending")
			}},
		{name: "alarm resumes", want: "triggered",
			drive: func(t *testing.T, c *mqttClient) {
				c.pub(t, "vakt/command", `{"command":"ARM_NIGHT","code":"135790"}`, false)
				c.waitFor(t, "vakt/state", "armed_night")
				c.pub(t, "test/window", `{"contact":false}`, true)
				c.waitAll(t, "vakt/state", "triggered", "test/siren", "ON")
			},
			check: func(t *testing.T, c *mqttClient) { c.waitFor(t, "vakt/output/siren", "ON") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, args := setup(t)
			cmd, addr := startHubProcess(t, args...)
			c := dialMQTT(t, addr, "tester", "tester-pass")
			c.sub(t, "vakt/state", "test/siren")
			c.pub(t, "test/window", `{"contact":true}`, true)
			c.waitFor(t, "vakt/state", "disarmed")
			tc.drive(t, c)
			kill(t, cmd)

			_, addr = startHubProcess(t, args...)
			c = dialMQTT(t, addr, "tester", "tester-pass")
			c.sub(t, "vakt/attributes", "vakt/output/#")
			got := c.waitFor(t, "vakt/attributes", `"state":"`)
			if !strings.Contains(got, `"state":"`+tc.want+`"`) {
				t.Fatalf("after restart: %s, want state %s", got, tc.want)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}
