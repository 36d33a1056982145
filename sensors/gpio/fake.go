package gpio

import (
	"fmt"
	"sync"
	"time"
)

// Fake is an in-memory GPIO chip set for tests, behaving as the kernel does
// where the adapters depend on it: a requested line is busy for others; an
// input's level is the wire's level when driven, the bias's when left floating;
// edges are reported only once a level has been stable for the debounce period
// (timed with the time package, so tests run it under testing/synctest); active
// low inverts levels; an output's read-back is the level it drives unless the
// test sticks it. Every method is safe for concurrent use.
type Fake struct {
	mu    sync.Mutex
	chips map[string]*fakeChip
}

type fakeChip struct {
	lines []*fakeLine
}

type fakeLine struct {
	name string
	// The wire: driven (to high) or floating; a test sets it.
	driven, high bool
	held         string // another consumer holds the line
	req          *Request
	stable       bool // debounced physical level, as last reported
	timer        *time.Timer
	gen          int // bumps on every request and release: stale timers do nothing
	out          bool
	stuck        *bool // read-back stuck at this physical level
	failWrite    error
	failRead     error
	setAt        time.Time  // when an output's level last changed
	emit         sync.Mutex // keeps one line's events in order
}

// NewFake returns a fake with no chips.
func NewFake() *Fake { return &Fake{chips: map[string]*fakeChip{}} }

// AddChip adds a chip whose lines have names (one per line; "" for none).
func (f *Fake) AddChip(chip string, names ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := &fakeChip{}
	for _, n := range names {
		c.lines = append(c.lines, &fakeLine{name: n})
	}
	f.chips[chip] = c
}

// line finds a line; f.mu is held.
func (f *Fake) line(chip string, id LineID) (*fakeLine, error) {
	c, ok := f.chips[chip]
	if !ok {
		return nil, fmt.Errorf("gpio: open %s: %w", chip, ErrNoChip)
	}
	if n, ok := id.Offset(); ok {
		if n >= len(c.lines) {
			return nil, fmt.Errorf("gpio: %s:%s: %w: the chip has %d lines", chip, id, ErrNoLine, len(c.lines))
		}
		return c.lines[n], nil
	}
	for _, l := range c.lines {
		if l.name == string(id) {
			return l, nil
		}
	}
	return nil, fmt.Errorf("gpio: %s:%s: find line by name: %w", chip, id, ErrNoLine)
}

func (f *Fake) must(chip string, id LineID) *fakeLine {
	l, err := f.line(chip, id)
	if err != nil {
		panic(err)
	}
	return l
}

// Request implements Chips.
func (f *Fake) Request(r Request) (Line, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, err := f.line(r.Chip, r.Line)
	if err != nil {
		return nil, err
	}
	where := r.Chip + ":" + string(r.Line)
	if l.req != nil || l.held != "" {
		return nil, fmt.Errorf("gpio: request %s: %w", where, ErrBusy)
	}
	l.req = &r
	l.gen++
	l.out = r.Output
	if r.Output {
		l.high = r.Initial != r.ActiveLow
		l.driven = true
	} else {
		l.stable = l.level()
	}
	return &fakeHandle{f: f, l: l, gen: l.gen, where: where}, nil
}

// level is the wire's physical level; f.mu is held.
func (l *fakeLine) level() bool {
	if l.driven {
		return l.high
	}
	return l.req != nil && l.req.Bias == BiasPullUp
}

// Set drives the wire of an input line high or low, as a contact does. An
// event follows once the level has been stable for the line's debounce period.
func (f *Fake) Set(chip string, line LineID, high bool) { f.wire(chip, line, true, high, false) }

// Float leaves an input's wire floating (a cut wire): the level is the bias's.
func (f *Fake) Float(chip string, line LineID) { f.wire(chip, line, false, false, false) }

// SetQuiet changes the wire's level and loses the edge: no event, ever, for
// this change (the level reads right).
func (f *Fake) SetQuiet(chip string, line LineID, high bool) { f.wire(chip, line, true, high, true) }

// Edge changes the wire's level with the debounce period already over: the
// event goes out at once, on the caller's goroutine, as the kernel's event
// reaches the adapter at the end of the debounce period.
func (f *Fake) Edge(chip string, line LineID, high bool) {
	f.mu.Lock()
	l := f.must(chip, line)
	l.driven, l.high = true, high
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	f.settle(l, l.gen) // unlocks
}

func (f *Fake) wire(chip string, line LineID, driven, high, quiet bool) {
	f.mu.Lock()
	l := f.must(chip, line)
	l.driven, l.high = driven, high
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	if l.req == nil || l.out {
		f.mu.Unlock()
		return
	}
	if quiet {
		l.stable = l.level()
		f.mu.Unlock()
		return
	}
	gen := l.gen
	if d := l.req.Debounce; d > 0 {
		var t *time.Timer
		t = time.AfterFunc(d, func() {
			f.mu.Lock()
			if l.timer != t {
				f.mu.Unlock()
				return
			}
			l.timer = nil
			f.settle(l, gen)
		})
		l.timer = t
		f.mu.Unlock()
		return
	}
	f.settle(l, gen)
}

// settle reports the wire's level if it differs from the last reported one.
// f.mu is held on entry and released.
func (f *Fake) settle(l *fakeLine, gen int) {
	if l.req == nil || l.gen != gen || l.out || l.level() == l.stable {
		f.mu.Unlock()
		return
	}
	l.stable = l.level()
	active := l.stable != l.req.ActiveLow
	h := l.req.OnEdge
	l.emit.Lock()
	f.mu.Unlock()
	defer l.emit.Unlock()
	if h != nil {
		h(active)
	}
}

// Hold makes another consumer hold a line: requests for it fail as busy.
func (f *Fake) Hold(chip string, line LineID, consumer string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.must(chip, line).held = consumer
}

// Release ends another consumer's hold.
func (f *Fake) Release(chip string, line LineID) { f.Hold(chip, line, "") }

// Level returns a line's physical level (an output's as driven).
func (f *Fake) Level(chip string, line LineID) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.must(chip, line).level()
}

// Requested reports whether the line is requested by this process.
func (f *Fake) Requested(chip string, line LineID) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.must(chip, line).req != nil
}

// Changed returns when an output line's level last changed.
func (f *Fake) Changed(chip string, line LineID) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.must(chip, line).setAt
}

// FailWrites makes writes to a line fail with err (nil heals).
func (f *Fake) FailWrites(chip string, line LineID, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.must(chip, line).failWrite = err
}

// FailReads makes reads of a line fail with err (nil heals).
func (f *Fake) FailReads(chip string, line LineID, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.must(chip, line).failRead = err
}

// Stick makes an output's read-back show a physical level whatever is driven
// (a welded relay, a shorted driver); Unstick heals.
func (f *Fake) Stick(chip string, line LineID, high bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.must(chip, line).stuck = &high
}

// Unstick ends Stick.
func (f *Fake) Unstick(chip string, line LineID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.must(chip, line).stuck = nil
}

type fakeHandle struct {
	f     *Fake
	l     *fakeLine
	gen   int
	where string
}

func (h *fakeHandle) Value() (bool, error) {
	h.f.mu.Lock()
	defer h.f.mu.Unlock()
	l := h.l
	if l.gen != h.gen || l.req == nil {
		return false, fmt.Errorf("gpio: read %s: released", h.where)
	}
	if l.failRead != nil {
		return false, fmt.Errorf("gpio: read %s: %w", h.where, l.failRead)
	}
	phys := l.stable
	if l.out {
		phys = l.high
		if l.stuck != nil {
			phys = *l.stuck
		}
	}
	return phys != l.req.ActiveLow, nil
}

func (h *fakeHandle) Set(active bool) error {
	h.f.mu.Lock()
	defer h.f.mu.Unlock()
	l := h.l
	switch {
	case l.gen != h.gen || l.req == nil:
		return fmt.Errorf("gpio: write %s: released", h.where)
	case !l.out:
		return fmt.Errorf("gpio: write %s: an input line", h.where)
	case l.failWrite != nil:
		return fmt.Errorf("gpio: write %s: %w", h.where, l.failWrite)
	}
	high := active != l.req.ActiveLow
	if high != l.high {
		l.high, l.setAt = high, time.Now()
	}
	return nil
}

func (h *fakeHandle) Close() error {
	h.f.mu.Lock()
	l := h.l
	if l.gen != h.gen || l.req == nil {
		h.f.mu.Unlock()
		return nil
	}
	l.req = nil
	l.gen++
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	if l.out {
		l.driven = false
	}
	h.f.mu.Unlock()
	// Wait for an event being delivered: none comes after Close.
	l.emit.Lock()
	defer l.emit.Unlock()
	return nil
}
