package uplink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"vakt/hub"
)

// hubFunc is a Hub made of a function.
type hubFunc func(context.Context, hub.Input) error

func (f hubFunc) Input(ctx context.Context, in hub.Input) error { return f(ctx, in) }

// The notifier passes every input on in order; one the hub refuses is logged, and
// the rest still go.
func TestNotifierOrderAndErrors(t *testing.T) {
	var logs logBuf
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	inputs := []hub.Input{
		hub.Fault{ID: hub.FaultID{Kind: hub.FaultUplinkPath, Subject: "primary"}, Active: true},
		hub.TestReport{Who: hub.Actor{Via: hub.ViaSchedule}},
		hub.Fault{ID: hub.FaultID{Kind: hub.FaultUplinkPath, Subject: "primary"}, Active: false},
	}
	var mu sync.Mutex
	var got []hub.Input
	all := make(chan struct{})
	n := newNotifier(hubFunc(func(_ context.Context, in hub.Input) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, in)
		if len(got) == len(inputs) {
			close(all)
		}
		if _, ok := in.(hub.TestReport); ok {
			return errors.New("no reports now")
		}
		return nil
	}), log)
	for _, in := range inputs {
		n.push(in)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.run(ctx); close(done) }()
	select {
	case <-all:
	case <-time.After(realTimeout):
		t.Fatal("inputs not passed on")
	}
	cancel()
	<-done
	mu.Lock()
	if !slices.EqualFunc(got, inputs, func(a, b hub.Input) bool { return a == b }) {
		t.Errorf("hub got %v, want %v", got, inputs)
	}
	mu.Unlock()
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		_, msg, _ := strings.Cut(l, "msg=")
		lines = append(lines, msg)
	}
	// Nothing was left at the stop, so nothing more is logged.
	want := []string{fmt.Sprintf(`"uplink: hub refused input" input="%+v" err="no reports now"`, inputs[1])}
	if !slices.Equal(lines, want) {
		t.Errorf("log %q\nwant %q", lines, want)
	}
}

// Inputs still queued when the uplink stops are logged with their number.
func TestNotifierStopsWithInputsLeft(t *testing.T) {
	var logs logBuf
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	var n *notifier
	n = newNotifier(hubFunc(func(ctx context.Context, in hub.Input) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// Two more arrive while the hub takes this one, and the uplink stops.
		n.push(in)
		n.push(in)
		cancel()
		return nil
	}), log)
	n.push(hub.TestReport{})
	n.run(ctx)
	if s := logs.String(); !strings.Contains(s, `msg="uplink: stopping; not passed to the hub" inputs=2`) {
		t.Errorf("log:\n%s", s)
	}
}

// Stopped while the hub takes an input: that input and the ones after it are
// counted as not passed on.
func TestNotifierStopsMidBatch(t *testing.T) {
	var logs logBuf
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	var got []hub.Input
	n := newNotifier(hubFunc(func(ctx context.Context, in hub.Input) error {
		got = append(got, in)
		if len(got) == 2 {
			cancel()
			return ctx.Err()
		}
		return nil
	}), log)
	inputs := []hub.Input{hub.TestReport{}, hub.TestReport{Manual: true}, hub.TestReport{}}
	for _, in := range inputs {
		n.push(in)
	}
	n.run(ctx)
	if !slices.EqualFunc(got, inputs[:2], func(a, b hub.Input) bool { return a == b }) {
		t.Errorf("hub got %v, want %v", got, inputs[:2])
	}
	if s := logs.String(); !strings.Contains(s, `msg="uplink: stopping; not passed to the hub" inputs=2`) ||
		strings.Count(s, "\n") != 1 {
		t.Errorf("log:\n%s", s)
	}
}
