package web

import (
	"io"
	"sync"
	"testing"
	"time"

	"vakt/hub"
)

// droppingHub is the hub whose subscriptions of the event streams' size the test
// can end as the hub ends a subscriber that falls behind: by closing its channel.
type droppingHub struct {
	Hub
	mu      sync.Mutex
	streams []func()
}

func (d *droppingHub) Subscribe(buf int) (<-chan hub.Update, func()) {
	ch, cancel := d.Hub.Subscribe(buf)
	if buf == streamBuffer {
		d.mu.Lock()
		d.streams = append(d.streams, cancel)
		d.mu.Unlock()
	}
	return ch, cancel
}

// drop closes the streams' subscriptions and returns how many there were.
func (d *droppingHub) drop() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, cancel := range d.streams {
		cancel()
	}
	n := len(d.streams)
	d.streams = nil
	return n
}

// An event stream the hub drops as too slow ends (the browser reconnects with
// Last-Event-ID and catches up from the journal), unlike the other consumers of
// the hub's updates, which subscribe again.
func TestStreamEndsWhenDropped(t *testing.T) {
	d := &droppingHub{}
	s := startSystem(t, testConfig(t), webOnly(func(o *Options) { d.Hub = o.Hub; o.Hub = d }))
	a := s.login(t, "alice", "alice-pass")
	str := a.stream("")
	if m := str.next(t); m.Event != "status" {
		t.Fatalf("first message %q, want the status", m.Event)
	}
	if n := d.drop(); n != 1 {
		t.Fatalf("%d stream subscriptions, want 1", n)
	}
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
}
