package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"vakt/sensors/camera/camtest"
	"vakt/ui/webrtc/whepclient"
)

// heapProfileEnv names a file for a heap profile of the hub's child process,
// written when the video figure has its viewers (VAKT_TEST_HEAPPROFILE=/tmp/heap.prof
// FIGURES=video scripts/bench).
const heapProfileEnv = "VAKT_TEST_HEAPPROFILE"

// heapProfileOnSignal writes a heap profile to path each time the process gets
// SIGUSR1; with no path it does nothing.
func heapProfileOnSignal(path string) {
	if path == "" {
		return
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR1)
	go func() {
		for range ch {
			f, err := os.Create(path)
			if err != nil {
				os.Stderr.WriteString("vakt: heap profile: " + err.Error() + "\n")
				continue
			}
			if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
				os.Stderr.WriteString("vakt: heap profile: " + err.Error() + "\n")
			}
			f.Close()
		}
	}()
}

// cpuTicks is a process's CPU time so far (utime + stime from /proc/PID/stat), in
// clock ticks of 10 ms (USER_HZ, 100 on Linux).
func cpuTicks(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// The fields after the command name (which may hold spaces) in parentheses.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	// f[0] is the state (field 3); utime and stime are fields 14 and 15.
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("/proc/%d/stat: %q", pid, b)
	}
	return ut + st
}

// cpuShare is the share of one core a process uses over d.
func cpuShare(t *testing.T, pid int, d time.Duration) float64 {
	t.Helper()
	before, start := cpuTicks(t, pid), time.Now()
	<-time.NewTimer(d).C
	after, took := cpuTicks(t, pid), time.Since(start)
	return float64(after-before) / 100 / took.Seconds()
}

// TestVideoFigure: the hub in a process of its own with one always-on camera, a
// fake RTSP camera in this process publishing 25 pictures a second at 4 Mbit/s
// (the test stream's small pictures padded with filler NAL units to a 1080p
// camera's bitrate: the hub forwards without decoding, so what costs it is the
// packets and bytes, not the resolution), its media port on loopback. Pion WHEP
// viewers in this process, posting over the hub's local socket, measure the hub
// from outside: its CPU with no viewer and with ten, its RSS with none, one and
// ten, the frames each viewer got, and the time from POST to the first complete
// keyframe over 20 viewers one after the other. VAKT_FIGURES=all or video.
func TestVideoFigure(t *testing.T) {
	if v := os.Getenv(figuresEnv); v != "all" && !strings.Contains(","+v+",", ",video,") {
		t.Skip("set " + figuresEnv + "=video (or all) to measure")
	}
	const fps, bitrate, viewers, window = 25, 4_000_000, 10, 10 * time.Second
	fake := camtest.Start(t, camtest.Options{FPS: fps, Bitrate: bitrate})
	dir, args := setup(t)
	// The viewers all come over the local socket as one console user.
	video := "video:\n  media_listen: 127.0.0.1:0\n  max_views: 64\n  max_views_per_viewer: 64\n  cameras:\n    - {name: garden, url: \"" + fake.URL + "\", always_on: true}\n"
	if err := os.WriteFile(filepath.Join(dir, "vakt.yaml"), []byte(bootYAML+video), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd, data, _ := startHubChild(t, args...)
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	pid := cmd.Process.Pid
	sock := localSocket(data)
	opts := whepclient.Options{Client: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}}}}
	const base, url = "http://vakt", "http://vakt/api/v1/cameras/garden/whep"
	watch := func() *whepclient.Viewer {
		v := whepclient.Dial(t, url, opts)
		if v.Resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", url, v.Resp.StatusCode, v.Answer)
		}
		return v
	}
	// The camera is connected and its buffer holds a keyframe once a first
	// viewer gets one; then the ring buffer (buffer_seconds, 10 s by default)
	// fills before anything is measured.
	warm := watch()
	warm.FirstKeyframe(t)
	warm.Close(t, base)
	fake.AwaitPublished(t, fake.Published()+11*fps)

	// (a, b) The camera alone, then with ten viewers.
	idleRSS := rssKB(t, pid, "VmRSS")
	idleHeap := goMemory(t, opts.Client)
	idleCPU := cpuShare(t, pid, window)
	var vs []*whepclient.Viewer
	var oneRSS int // with the first viewer
	var oneHeap heapFigures
	for i := range viewers {
		v := watch()
		v.FirstKeyframe(t)
		vs = append(vs, v)
		fake.AwaitPublished(t, fake.Published()+2*fps)
		if i == 0 {
			oneRSS = rssKB(t, pid, "VmRSS")
			oneHeap = goMemory(t, opts.Client)
		}
	}
	got := make([]uint64, viewers)
	var joinSkipped uint64 // RTP packets lost while joining (the keyframe group's burst)
	for i, v := range vs {
		got[i] = v.Frames()
		joinSkipped += v.Gaps()
	}
	published := fake.Published()
	busyCPU := cpuShare(t, pid, window)
	busyRSS := rssKB(t, pid, "VmRSS")
	busyHeap := goMemory(t, opts.Client)
	if os.Getenv(heapProfileEnv) != "" {
		if err := cmd.Process.Signal(syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
	}
	published = fake.Published() - published
	var skipped, late, missing, repeats uint64
	minGot, maxGot := uint64(1<<63), uint64(0)
	for i, v := range vs {
		got[i] = v.Frames() - got[i]
		minGot, maxGot = min(minGot, got[i]), max(maxGot, got[i])
		s, l, m, r := v.Packets()
		skipped, late, missing, repeats = skipped+s, late+l, missing+m, repeats+r
		v.Close(t, base)
	}

	// (c) POST to the first complete keyframe, one viewer after the other.
	var first stats
	for range 20 {
		v := watch()
		first.add(v.FirstKeyframe(t))
		v.Close(t, base)
	}

	perViewer := (busyCPU - idleCPU) / viewers
	fmt.Printf("\n| path | measured | baseline (same run) | ratio / goal |\n|---|---|---|---|\n")
	fmt.Printf("| live view: hub CPU, %d viewers of one camera at 4 Mbit/s, %d fps (%.0f s each) | %.1f%% of one core; %.2f%% per viewer | the camera alone, no viewer: %.1f%% | +%.1f%% for %d viewers (goal < 10%%) |\n",
		viewers, fps, window.Seconds(), busyCPU*100, perViewer*100, idleCPU*100, (busyCPU-idleCPU)*100, viewers)
	fmt.Printf("| live view: hub RSS with %d viewers | %s; +%s per viewer over one viewer, +%s over none | %s with the camera alone, %s with one viewer | (goal ≤ 2 MB per viewer) |\n",
		viewers, mb(busyRSS), mb((busyRSS-oneRSS)/(viewers-1)), mb((busyRSS-idleRSS)/viewers), mb(idleRSS), mb(oneRSS))
	fmt.Printf("| live view: the hub's Go memory (its /metrics) | with %d viewers: %s | the camera alone: %s; one viewer: %s | |\n",
		viewers, busyHeap, idleHeap, oneHeap)
	fmt.Printf("| live view: frames each viewer got in those %.0f s | %d to %d; RTP packets never received %d, lost and resent on NACK %d of %d lost (%d of them while joining), twice %d (all viewers) | %d published by the camera | (goal: all) |\n",
		window.Seconds(), minGot, maxGot, missing, late, skipped, joinSkipped, repeats, published)
	slices.Sort(first.d)
	fmt.Printf("| live view: POST to the first complete keyframe at the viewer, always-on camera, n %d one after the other | median %.1f ms, max %.1f ms | | (goal ≤ 1 s) |\n",
		len(first.d), ms(first.q(0.5)), ms(first.d[len(first.d)-1]))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// heapFigures is what the hub's Go runtime says of its memory (its /metrics).
type heapFigures struct {
	inUse, unreturned, stacks float64 // bytes; unreturned: freed, not yet given back to the system
	goroutines                int
}

func (h heapFigures) String() string {
	return fmt.Sprintf("heap in use %s, freed but not yet returned %s, stacks %s (%d goroutines)",
		mb(int(h.inUse/1024)), mb(int(h.unreturned/1024)), mb(int(h.stacks/1024)), h.goroutines)
}

// goMemory reads the hub's Go memory figures from /metrics.
func goMemory(t *testing.T, c *http.Client) heapFigures {
	t.Helper()
	resp, err := c.Get("http://vakt/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && strings.HasPrefix(f[0], "go_") {
			v, err := strconv.ParseFloat(f[1], 64)
			if err == nil {
				m[f[0]] = v
			}
		}
	}
	return heapFigures{inUse: m["go_memstats_heap_inuse_bytes"],
		unreturned: m["go_memstats_heap_idle_bytes"] - m["go_memstats_heap_released_bytes"],
		stacks:     m["go_memstats_stack_inuse_bytes"], goroutines: int(m["go_goroutines"])}
}
