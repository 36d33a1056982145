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

	// With ReadBack: how Run reads what a drop made it miss, the newest event
	// number it has had, and what the last read-back found.
	read   ReadFunc
	seen   uint64
	missed Missed
}

// ReadFunc reads the journal for a Follow (storage.ReadBackFunc makes one): it
// gives fn, page by page and in order, the events numbered after after, as far
// as the newest when it is called. It returns the number it read up to, and,
// when it read only the newest part of what came, the last number it skipped.
type ReadFunc func(after uint64, fn func([]Event)) (to, skipped uint64, err error)

// Missed is what a Follow read back after its last drop: the events numbered
// From to To (those up to Skipped were too many to read back), or Err.
type Missed struct {
	From, To, Skipped uint64
	Err               error
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

// ReadBack has Run, after each drop, read the events it missed with read
// (updates of events only, no Snapshot) before the new subscription's, and leave
// out of the updates the events it has had already, so that fn gets each event
// once, in order. after is the number to start from: the journal's newest
// before the hub runs, so that nothing from before is read back. Call it before
// Run.
func (f *Follow) ReadBack(after uint64, read ReadFunc) {
	f.read, f.seen = read, after
}

// Missed is what Run read back after the last drop (see ReadBack); lost may log
// it.
func (f *Follow) Missed() Missed { return f.missed }

// Run calls fn with each update, in order, until ctx ends; then it ends the
// subscription (Stop). When the hub drops the subscription, Run subscribes again,
// reads back what it missed (ReadBack), and then calls lost (when not nil):
// without ReadBack the updates in between were missed, and a Snapshot read in
// lost is at least as new as the last of them.
func (f *Follow) Run(ctx context.Context, fn func(Update), lost func()) {
	defer f.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case u, ok := <-f.C():
			if !ok {
				f.Again()
				if f.read != nil {
					from := f.seen
					to, skipped, err := f.read(f.seen, func(page []Event) { fn(f.unseen(Update{Events: page})) })
					f.missed = Missed{From: from + 1, To: to, Skipped: skipped, Err: err}
					if err == nil {
						f.seen = max(f.seen, to)
					}
				}
				if lost != nil {
					lost()
				}
				continue
			}
			fn(f.unseen(u))
		}
	}
}

// unseen is u without the events the Follow has had (with ReadBack), and
// notes the newest it has now. The hub's update is shared with the other
// subscribers: the events are copied when some must go.
func (f *Follow) unseen(u Update) Update {
	if f.read == nil {
		return u
	}
	keep := u.Events[:0:0]
	copied := false
	for i, e := range u.Events {
		switch {
		case e.Seq != 0 && e.Seq <= f.seen:
			if !copied {
				keep, copied = append(keep, u.Events[:i]...), true
			}
		default:
			f.seen = max(f.seen, e.Seq)
			if copied {
				keep = append(keep, e)
			}
		}
	}
	if copied {
		u.Events = keep
	}
	return u
}
