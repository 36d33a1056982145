package web

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vakt/hub"
)

// gatedHub hands the test the cancel of each subscription of one size, with which
// it ends one as the hub ends a subscriber that falls behind (by closing its
// channel); every such subscription after the first waits for release to close.
type gatedHub struct {
	Hub
	size    int
	subs    chan func()
	release chan struct{}
	once    sync.Once
	n       atomic.Int32
}

func newGatedHub(size int) *gatedHub {
	return &gatedHub{size: size, subs: make(chan func(), 4), release: make(chan struct{})}
}

func (g *gatedHub) Subscribe(buf int) (<-chan hub.Update, func()) {
	if buf != g.size {
		return g.Hub.Subscribe(buf)
	}
	if g.n.Add(1) > 1 {
		<-g.release
	}
	ch, cancel := g.Hub.Subscribe(buf)
	g.subs <- cancel
	return ch, cancel
}

// free lets the subscriptions waiting be made; a test defers it, lest a
// subscription wait past its end.
func (g *gatedHub) free() { g.once.Do(func() { close(g.release) }) }

// drop ends the next subscription of the size.
func (g *gatedHub) drop(t *testing.T) {
	t.Helper()
	select {
	case cancel := <-g.subs:
		cancel()
	case <-time.After(10 * time.Second):
		t.Fatal("no subscription to drop")
	}
}

// An event stream the hub drops as too slow ends (the browser reconnects with
// Last-Event-ID and catches up from the journal), unlike the other followers of
// the hub's updates, which subscribe again.
func TestStreamEndsWhenDropped(t *testing.T) {
	g := newGatedHub(streamBuffer)
	s := startSystem(t, testConfig(t), webOnly(func(o *Options) { g.Hub = o.Hub; o.Hub = g }))
	a := s.login(t, "alice", "alice-pass")
	str := a.stream("")
	if m := str.next(t); m.Event != "status" {
		t.Fatalf("first message %q, want the status", m.Event)
	}
	g.drop(t)
	rest := make(chan string, 1)
	go func() {
		b, err := io.ReadAll(str.r)
		if err != nil {
			b = append(b, " (error: "+err.Error()+")"...)
		}
		rest <- string(b)
	}()
	select {
	case r := <-rest:
		if r != "" {
			t.Errorf("the stream sent %q after it was dropped, want its end", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stream goes on 10 s after the hub dropped it")
	}
	if n := g.n.Load(); n != 1 {
		t.Errorf("%d stream subscriptions, want 1", n)
	}
}

// The trouble page's tracker, dropped by the hub as too slow, reads the
// openings it missed from the journal: a zone that flapped meanwhile flaps.
func TestTroubleCatchesUpAfterDrop(t *testing.T) {
	g := newGatedHub(1024)
	s := startSystem(t, testConfig(t), webOnly(func(o *Options) { g.Hub = o.Hub; o.Hub = g }))
	defer g.free()
	a := s.login(t, "alice", "alice-pass")
	waitTrouble(t, a, func(v troubleView) bool { return !v.Known.IsZero() }) // the journal is read
	g.drop(t)
	ctx := context.Background()
	for range 20 {
		s.advance(time.Second)
		for _, sig := range []hub.Signal{hub.SigOpen, hub.SigClose} {
			if err := s.h.Input(ctx, hub.Sensor{Zone: "living", Signal: sig}); err != nil {
				t.Fatal(err)
			}
		}
	}
	g.free()
	v := waitTrouble(t, a, func(v troubleView) bool { return len(v.Flapping) == 1 })
	same(t, "trouble", v, troubleView{Faults: []troubleFault{}, Silent: []troubleZone{},
		Flapping: []troubleZone{{Zone: "living", Name: "Living PIR", LastActivity: t0.Add(20 * time.Second), Opens: 20}},
		Known:    t0})
	if n := g.n.Load(); n != 2 {
		t.Errorf("%d subscriptions of the tracker, want 2", n)
	}
}
