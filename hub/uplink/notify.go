package uplink

import (
	"context"
	"log/slog"
	"sync"

	"vakt/hub"
)

// notifier hands inputs (faults, periodic test requests) to the hub in order, on its
// own goroutine, so that the sender never waits for the hub.
type notifier struct {
	h   Hub
	log *slog.Logger

	mu  sync.Mutex
	q   []hub.Input
	sig chan struct{}
}

func newNotifier(h Hub, log *slog.Logger) *notifier {
	return &notifier{h: h, log: log, sig: make(chan struct{}, 1)}
}

// push queues in for the hub; it never blocks.
func (n *notifier) push(in hub.Input) {
	if n.h == nil {
		n.log.Debug("uplink: no hub to tell", "input", in)
		return
	}
	n.mu.Lock()
	n.q = append(n.q, in)
	n.mu.Unlock()
	select {
	case n.sig <- struct{}{}:
	default:
	}
}

// run delivers queued inputs until ctx is cancelled; what is still queued then is
// logged and dropped.
func (n *notifier) run(ctx context.Context) {
	for {
		n.mu.Lock()
		q := n.q
		n.q = nil
		n.mu.Unlock()
		for i, in := range q {
			if err := n.h.Input(ctx, in); err != nil {
				if ctx.Err() != nil {
					n.log.Warn("uplink: stopping; not passed to the hub", "inputs", len(q)-i)
					return
				}
				n.log.Error("uplink: hub refused input", "input", in, "err", err)
			}
		}
		select {
		case <-n.sig:
		case <-ctx.Done():
			n.mu.Lock()
			left := len(n.q)
			n.mu.Unlock()
			if left > 0 {
				n.log.Warn("uplink: stopping; not passed to the hub", "inputs", left)
			}
			return
		}
	}
}
