package hub

import "context"

// SubscribeFunc subscribes to the hub's updates: Hub.Subscribe, or the method of
// the same shape of a narrower interface a consumer holds the hub by.
type SubscribeFunc func(buf int) (<-chan Update, func())

// Follow is a subscription to the hub's updates that is made again when the hub
// drops it as too slow, for a consumer that must keep following the hub for its
// whole run. A Follow is used by one goroutine at a time.
type Follow struct {
	subscribe SubscribeFunc
	buf       int
	ch        <-chan Update
	cancel    func()
}

// NewFollow subscribes now, with room for buf updates: a Follow made before the
// hub runs sees the updates of the restart itself.
func NewFollow(subscribe SubscribeFunc, buf int) *Follow {
	f := &Follow{subscribe: subscribe, buf: buf}
	f.ch, f.cancel = subscribe(buf)
	return f
}

// C returns the channel of the current subscription, subscribing anew after
// Stop. The hub closes it when it drops the subscription: call Again then. C of
// a nil Follow is nil: a select case that never fires.
func (f *Follow) C() <-chan Update {
	if f == nil {
		return nil
	}
	if f.ch == nil {
		f.ch, f.cancel = f.subscribe(f.buf)
	}
	return f.ch
}

// Again subscribes again after the hub dropped the subscription (C was found
// closed); C returns the new channel. The updates in between are lost: a
// Snapshot read after Again is at least as new as the last of them.
func (f *Follow) Again() {
	f.cancel()
	f.ch, f.cancel = f.subscribe(f.buf)
}

// Stop ends the subscription; a later C or Run subscribes anew.
func (f *Follow) Stop() {
	if f.ch != nil {
		f.cancel()
		f.ch, f.cancel = nil, nil
	}
}

// Run calls fn with each update, in order, until ctx ends; then it ends the
// subscription (Stop). When the hub drops the subscription, Run subscribes again
// and then calls lost (when not nil): the updates in between were missed, and a
// Snapshot read in lost is at least as new as the last of them.
func (f *Follow) Run(ctx context.Context, fn func(Update), lost func()) {
	defer f.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case u, ok := <-f.C():
			if !ok {
				f.Again()
				if lost != nil {
					lost()
				}
				continue
			}
			fn(u)
		}
	}
}
