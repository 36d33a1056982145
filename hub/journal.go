package hub

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"time"
)

// Journal stores what the core decided. The hub's journal writer calls Commit from
// its own goroutine, never on the alarm path, with the records of one or more
// inputs grouped into one transaction: their events, the reports they queue for the
// monitoring centre, the latest state, and the latest configuration when one of
// them changed it (Batch.Config). Events and reports come with their
// sequence numbers assigned (Seq; the hub numbers them in order, after
// Sequences); Report.Event is the index in b.Events of the event the report
// belongs to. An error means nothing of the batch was stored: the disk is full or
// failing, or the store is closed. The writer keeps the batch in memory and tries
// again, together with whatever follows.
type Journal interface {
	// Commit stores b in one transaction. It must not modify b.Events: the hub
	// hands the same events on once they are stored.
	Commit(b Batch) ([]Event, []Report, error)
	// Sequences returns the last event and report sequence numbers ever assigned,
	// so numbering goes on after a restart. It is called once, at start.
	Sequences() (events, reports uint64, err error)
}

// Journal writer limits.
const (
	// maxPending bounds the events kept in memory while the disk lags or fails.
	// Past it, the oldest events that no report refers to are dropped, routine
	// ones first, alarm events never; each drop is counted and logged.
	maxPending = 20_000
	// highWater is the queue length past which Post, after applying its input,
	// waits for the writer to take the queue: a device that floods the hub is
	// slowed down (MQTT back-pressure) instead of its events being dropped. The
	// input's outputs were switched before the wait.
	highWater = 10_000
	// defaultStorageRetry is how often a failed commit is tried again when no
	// new input comes to carry it.
	defaultStorageRetry = 2 * time.Second
)

// item is what one input left for the journal: its events and reports (numbered),
// whether it changed the state, and the caller waiting for it, if any. The state
// itself is taken once per commit (writer.take).
type item struct {
	events  []Event
	reports []Report // Report.Event is the Seq of its event
	changed bool     // the state differs from the item before
	// switched: the input switched outputs (Metrics).
	switched bool
	config   *Config // the configuration after a change (ChangeConfig); nil for none
	// bindings are the adapters' bindings after a change
	// (ChangeConfigAndBindings), opaque here; nil for none.
	bindings json.RawMessage
	result   error
	reply    chan error // nil: nobody waits
}

// writer is the journal writer: one goroutine (run) that takes every item queued
// since its last commit and commits them in one transaction, in order. The hub
// starts it in Run and stops it with close.
type writer struct {
	j       Journal
	reports *ReportQueue
	log     *slog.Logger
	retry   time.Duration
	gather  time.Duration // Options.CommitDelay
	// take returns the queued items and the state after the last of them, with the
	// configuration it was decided by (the hub takes them under its lock, so they
	// agree).
	take func() ([]*item, State, *Core)
	// deliver hands committed (or, on failure, memory-only) items downstream:
	// fan-out, uplink, replies. events are the items' events in order (nil:
	// deliver gathers them). storageErr is "" after a good commit.
	deliver func(items []*item, events []Event, st State, c *Core, storageErr string)
	// storage tells the hub that the journal started or stopped failing.
	storage func(failing bool, detail string)
	metrics Metrics // optional

	mu      sync.Mutex
	queue   []*item
	pending int // events queued
	closing bool
	dropped int           // events dropped from memory since the last good commit
	drained chan struct{} // closed when the writer takes a queue that was over highWater
	wake    chan struct{}
	done    chan struct{}

	// Owned by run.
	backlog []*item // delivered from memory after a failed commit, not yet stored
	failing bool
}

func newWriter(j Journal, reports *ReportQueue, log *slog.Logger, retry time.Duration) *writer {
	if retry <= 0 {
		retry = defaultStorageRetry
	}
	return &writer{j: j, reports: reports, log: log, retry: retry, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// enqueue hands an item to the writer. It never waits for the disk.
func (w *writer) enqueue(it *item) bool {
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		return false
	}
	w.queue = append(w.queue, it)
	w.pending += len(it.events)
	if w.pending > maxPending {
		w.pending -= w.trim(w.queue, w.pending-maxPending*9/10)
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return true
}

// trim drops up to n events from items, oldest first: first routine events, then
// any but alarm events, never one a report refers to. It returns how many it
// dropped. w.mu is held.
func (w *writer) trim(items []*item, n int) int {
	dropped := 0
	for _, keep := range []func(Event) bool{
		func(e Event) bool { return e.Class.Mandatory() || e.Class == ClassFault },
		func(e Event) bool { return e.Class == ClassAlarm },
	} {
		for _, it := range items {
			if dropped >= n {
				break
			}
			it.events = slices.DeleteFunc(it.events, func(e Event) bool {
				if dropped >= n || keep(e) || slices.ContainsFunc(it.reports, func(r Report) bool { return r.Event == e.Seq }) {
					return false
				}
				dropped++
				return true
			})
		}
	}
	if dropped > 0 {
		w.log.Error("hub: journal behind; events dropped from memory", "dropped", dropped)
		w.dropped += dropped
	}
	return dropped
}

// room returns nil when the queue, with waiting more inputs not yet applied, is
// below highWater, else a channel that is closed when the writer takes the queue.
func (w *writer) room(waiting int) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pending+waiting < highWater || w.closing {
		return nil
	}
	if w.drained == nil {
		w.drained = make(chan struct{})
	}
	return w.drained
}

// takeQueue takes the queued items. The hub calls it from take, with its lock held.
func (w *writer) takeQueue() []*item {
	w.mu.Lock()
	defer w.mu.Unlock()
	items := w.queue
	w.queue, w.pending = nil, 0
	if w.drained != nil {
		close(w.drained)
		w.drained = nil
	}
	return items
}

// close stops taking items, writes what is queued and returns when done or when
// ctx ends (the disk hangs).
func (w *writer) close(ctx context.Context) error {
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("hub: journal not flushed: %w", ctx.Err())
	}
}

func (w *writer) run() {
	defer close(w.done)
	for {
		items, st, core := w.take()
		w.mu.Lock()
		closing := w.closing
		w.mu.Unlock()
		if len(items) > 0 || len(w.backlog) > 0 {
			w.commit(items, st, core)
		}
		if closing {
			w.mu.Lock()
			empty := len(w.queue) == 0
			w.mu.Unlock()
			if empty {
				return
			}
			continue
		}
		var retry <-chan time.Time
		if len(w.backlog) > 0 {
			retry = time.After(w.retry)
		}
		select {
		case <-w.wake:
			// The input that woke us also readied the goroutine that writes its
			// siren command to the device; the scheduler would run us first. Let
			// it go ahead: the disk can wait, a siren cannot.
			runtime.Gosched()
			if w.gather > 0 {
				gatherWait(w.gather)
			}
		case <-retry:
		}
	}
}

// commit writes the backlog, items and st in one transaction and delivers items.
// The backlog keeps its configuration changes: a retry stores the latest of them.
func (w *writer) commit(items []*item, st State, core *Core) {
	group := append(slices.Clone(w.backlog), items...)
	dirty := len(w.backlog) > 0
	for _, it := range items {
		if len(it.events) > 0 || it.changed || it.config != nil || it.bindings != nil {
			dirty = true
		}
	}
	var err error
	var written, skipped []uint64
	var events []Event // items' events, delivered after the commit
	if dirty && len(group) > 0 {
		var b Batch
		n := 0
		for _, it := range group {
			n += len(it.events)
		}
		b.Events = make([]Event, 0, n)
		for _, it := range group {
			b.Events = append(b.Events, it.events...)
		}
		// The items come last in the group: their events are the batch's tail,
		// which the journal does not modify.
		mine := 0
		for _, it := range items {
			mine += len(it.events)
		}
		events = b.Events[n-mine:]
		for _, it := range group {
			for _, r := range it.reports {
				if w.reports != nil && w.reports.acked(r.Seq) {
					skipped = append(skipped, r.Seq)
					continue
				}
				// Events are numbered in order, so b.Events is sorted by Seq.
				i, ok := slices.BinarySearchFunc(b.Events, r.Event, func(e Event, seq uint64) int { return cmp.Compare(e.Seq, seq) })
				if !ok {
					continue // cannot happen: trim keeps events with reports
				}
				r.Event = uint64(i)
				b.Reports = append(b.Reports, r)
				written = append(written, r.Seq)
			}
		}
		for _, it := range group {
			if it.config != nil {
				b.Config = it.config // the latest change wins
			}
			if it.bindings != nil {
				b.Bindings = it.bindings
			}
		}
		b.State = st
		start := time.Now()
		_, _, err = w.j.Commit(b)
		if w.metrics != nil {
			w.metrics.Committed(time.Since(start), len(b.Events), err)
		}
	}
	if err != nil {
		if !w.failing {
			w.log.Error("hub: journal commit failed; alarms go on and reports are sent from memory", "err", err)
		}
		if w.reports != nil {
			var rs []Report
			for _, it := range items {
				rs = append(rs, it.reports...)
			}
			w.reports.hold(rs)
		}
		w.backlog = append(w.backlog, items...)
		n := 0
		for _, it := range w.backlog {
			n += len(it.events)
		}
		if n > maxPending {
			w.mu.Lock()
			w.trim(w.backlog, n-maxPending*9/10)
			w.mu.Unlock()
		}
		w.deliver(items, events, st, core, err.Error())
		if !w.failing {
			w.failing = true
			w.storage(true, err.Error())
		}
		return
	}
	hadBacklog := len(w.backlog) > 0
	w.backlog = nil
	if w.reports != nil && (hadBacklog || len(skipped) > 0 || w.reports.hasDeletes()) {
		w.reports.written(written)
		w.reports.forgetAcked(skipped)
	}
	w.deliver(items, events, st, core, "")
	if w.failing {
		w.failing = false
		detail := "the journal is written again"
		w.mu.Lock()
		if w.dropped > 0 {
			detail += fmt.Sprintf("; %d events could not be kept", w.dropped)
		}
		w.dropped = 0
		w.mu.Unlock()
		w.log.Info("hub: " + detail)
		w.storage(false, detail)
	}
}
