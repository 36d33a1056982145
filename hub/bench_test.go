package hub

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkApplyAlarm measures the core's decision from a zone opening while armed to
// the siren effect.
func BenchmarkApplyAlarm(b *testing.B) {
	c := NewCore(testConfig())
	armed, _ := c.Apply(t0, c.InitialState(), arm(ModeNight))
	b.ReportAllocs()
	for b.Loop() {
		_, fx := c.Apply(t0.Add(time.Minute), armed, open_("window"))
		if _, ok := fx[0].(SetOutput); !ok {
			b.Fatalf("first effect %T", fx[0])
		}
	}
}

// BenchmarkReady measures the readiness computation done for every snapshot.
func BenchmarkReady(b *testing.B) {
	c := NewCore(testConfig())
	st, _ := c.Apply(t0, c.InitialState(), open_("window"))
	for b.Loop() {
		if len(c.Ready(st, ModeAway)) == 0 {
			b.Fatal("ready with an open window")
		}
	}
}

// BenchmarkPostToSiren measures the hub's part of the alarm path with 100 more
// zones configured: from Post of a zone opening while armed to the siren's Set.
func BenchmarkPostToSiren(b *testing.B) {
	for _, n := range []int{0, 100} {
		b.Run(fmt.Sprintf("zones+%d", n), func(b *testing.B) { benchPostToSiren(b, n) })
	}
}

func benchPostToSiren(b *testing.B, extra int) {
	cfg := testConfig()
	for i := range extra {
		cfg.Zones = append(cfg.Zones, Zone{ID: "pir" + string(rune('a'+i/26)) + string(rune('a'+i%26)), Name: "PIR",
			Number: 100 + i, Type: ZoneInstant})
	}
	o := &firstOn{}
	h := New(Options{Config: cfg, Journal: &disk{}, Outputs: o})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = h.Run(ctx) }()
	if err := h.Input(ctx, Command{Kind: CmdArm, Mode: ModeNight, Who: alice, Role: RoleAdmin}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		o.on.Store(false)
		_ = h.Post(ctx, Sensor{Zone: "window", Signal: SigOpen})
		for !o.on.Load() { // applied by the journal writer if it held the actor just then
			runtime.Gosched()
		}
		b.StopTimer()
		_ = h.Input(ctx, Command{Kind: CmdDisarm, Who: alice, Role: RoleAdmin})
		_ = h.Input(ctx, Sensor{Zone: "window", Signal: SigClose})
		_ = h.Input(ctx, Command{Kind: CmdArm, Mode: ModeNight, Who: alice, Role: RoleAdmin})
		b.StartTimer()
	}
}

type firstOn struct{ on atomic.Bool }

func (o *firstOn) Set(kind OutputKind, on, _ bool) {
	if kind == OutputSiren && on {
		o.on.Store(true)
	}
}
