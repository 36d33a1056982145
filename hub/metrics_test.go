package hub

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

type memMetrics struct {
	mu    sync.Mutex
	calls []string
}

func (m *memMetrics) Switched(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, fmt.Sprintf("switched %s", d))
}

func (m *memMetrics) Committed(d time.Duration, n int, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, fmt.Sprintf("committed %s %d %v", d, n, err))
}

func (m *memMetrics) take() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.calls
	m.calls = nil
	return out
}

// Metrics hears of every input that switched outputs, and of every commit with
// its number of events; inputs that switch nothing are not timed.
func TestHubMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j, o, m := &memJournal{}, &memOutputs{}, &memMetrics{}
		h := New(Options{Config: hubConfig(t), Journal: j, Outputs: o, Location: time.UTC, Metrics: m})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = h.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()
		step := func(in Input, want ...string) {
			t.Helper()
			if err := h.Input(context.Background(), in); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			if got := m.take(); !slices.Equal(got, want) {
				t.Errorf("after %+v: %q, want %q", in, got, want)
			}
		}
		step(Tick{}, "committed 0s 1 <nil>") // the restart
		step(open_("window"), "committed 0s 1 <nil>")
		step(close_("window"), "committed 0s 1 <nil>")
		if err := h.Do(context.Background(), Request{Kind: CmdArm, Mode: ModeAway, Cred: Credential{Code: "222222"}, Via: ViaKeypad, Device: "kp1"}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		m.take()
		step(open_("living"), "switched 0s", "committed 0s 2 <nil>")
	})
}
