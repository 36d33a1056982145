package uplink

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vakt/hub/uplink/receiver"
	"vakt/hub/uplink/sia"
	"vakt/storage"
)

// The crash test runs an uplink in a child process (this test binary again, running
// TestCrashChild), kills it with SIGKILL while a report is in flight, and delivers
// the rest with a new uplink on the same store.
const (
	crashChildEnv = "VAKT_UPLINK_CRASH_CHILD"
	crashDBEnv    = "VAKT_UPLINK_CRASH_DB"
	crashAddrEnv  = "VAKT_UPLINK_CRASH_ADDR"
)

// TestCrashChild is the child process of TestCrash; it does nothing otherwise.
func TestCrashChild(t *testing.T) {
	if os.Getenv(crashChildEnv) != "1" {
		t.Skip("child process of TestCrash")
	}
	st, err := storage.Open(os.Getenv(crashDBEnv), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	u, err := New(Config{Paths: []Path{path("primary", os.Getenv(crashAddrEnv))}}, st, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	// The parent kills this process; the timeout only ends an orphan.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := u.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestCrash(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("needs SIGKILL")
	}
	const (
		n    = 20 // reports queued
		kill = 8  // the child dies when the receiver has the 8th
	)
	e := newEnv(t, false)
	e.commit(burglaries(1, n, false)...)
	dbPath := filepath.Join(e.dir, "vakt.db")
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}

	inFlight := make(chan struct{})
	killed := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(killed) }) }
	t.Cleanup(release)
	var frames atomic.Int32
	rec := &recorder{}
	r := e.recv(rec, "127.0.0.1:0", "", nil, func(m sia.Message) receiver.Reply {
		if m.ID == sia.IDADMCID && frames.Add(1) == kill {
			// The report has arrived and is recorded, but its ACK goes out only
			// after the sender is dead.
			close(inFlight)
			<-killed
		}
		return receiver.ReplyDefault
	})
	addr := r.TCPAddr().String()

	var out logBuf
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v")
	cmd.Env = append(os.Environ(), crashChildEnv+"=1", crashDBEnv+"="+dbPath, crashAddrEnv+"="+addr)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-inFlight:
	case <-time.After(realTimeout):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the child did not send %d reports; its output:\n%s", kill, out.String())
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	release()
	t.Logf("child killed with report %d in flight", kill)

	e.openStore()
	if q := e.queued(); q != n-kill+1 {
		t.Errorf("after the crash %d reports queued, want %d", q, n-kill+1)
	}
	e.run(Config{Paths: []Path{path("primary", addr)}})
	e.until("every report delivered", 0, func() bool { return e.queued() == 0 && len(rec.reports()) >= n })

	// The order of arrival: the receiver records the report in flight only as it
	// answers, after the child died, so its event may come after later ones.
	var got []int
	for _, m := range rec.allFrames() {
		if c, err := sia.ParseContactID(m.Data); err == nil && m.ID == sia.IDADMCID {
			got = append(got, c.Zone)
		}
	}
	t.Logf("zones in the order the receiver got them: %v", got)
	accepted := map[int]bool{}
	for _, z := range zones(rec.reports()) {
		accepted[z] = true
	}
	for z := 1; z <= n; z++ {
		if !accepted[z] {
			t.Errorf("report of zone %d not accepted", z)
		}
	}
	// Every report, in order; only the one in flight may come twice.
	var dedup []int
	dups := 0
	for i, z := range got {
		if i > 0 && z == got[i-1] {
			dups++
			if z != kill {
				t.Errorf("report of zone %d arrived twice", z)
			}
			continue
		}
		dedup = append(dedup, z)
	}
	if !equalInts(dedup, seq(1, n)) || dups > 1 {
		t.Errorf("zones arrived as %v", got)
	}
	if t.Failed() {
		t.Logf("child output:\n%s", out.String())
	}
}
