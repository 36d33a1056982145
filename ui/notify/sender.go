package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
)

// Options tune a Sender; zero values take the defaults.
type Options struct {
	// Client sends the requests; default one with Timeout per request.
	Client *http.Client
	// Timeout is each request's limit; default 10s.
	Timeout time.Duration
	// Queue is how many notices wait at most; default 64.
	Queue int
	// RetryMin and RetryMax bound the backoff between attempts: it doubles
	// from RetryMin up to RetryMax; default 1s and 1m.
	RetryMin, RetryMax time.Duration
	// TroubleAfter is how long the target may keep failing before OnTrouble
	// is told; default DefaultTroubleAfter.
	TroubleAfter time.Duration
	// OnTrouble is told when the target has failed for TroubleAfter (active,
	// with why) and when it delivers again (not active). Optional.
	OnTrouble func(active bool, detail string)
	// Done is told of each notice when it is finished with: delivered (nil) or
	// refused (the error). Optional.
	Done func(n Notice, err error)
	Now  func() time.Time // default time.Now
	Log  *slog.Logger
}

// Stats counts what a Sender did.
type Stats struct {
	Sent    uint64 // delivered (2xx)
	Dropped uint64 // dropped from a full queue
	Refused uint64 // answered 4xx, not retried
	Retries uint64 // attempts that failed and were tried again
	Skipped uint64 // within the target's MinInterval of the one before
	Queued  int    // waiting now
}

// Sender delivers one target's notices in order, one at a time, on its own
// goroutine (Run). Enqueue never blocks.
type Sender struct {
	t Target
	o Options

	mu      sync.Mutex
	q       []Notice
	stats   Stats
	wake    chan struct{}
	last    map[string]time.Time // event type and zone: when last queued (MinInterval)
	failing time.Time            // when the current run of failures began; zero when healthy
	trouble bool                 // OnTrouble was told of the failures
}

// NewSender makes the sender of target t.
func NewSender(t Target, o Options) *Sender {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: o.Timeout}
	}
	if o.Queue <= 0 {
		o.Queue = 64
	}
	if o.RetryMin <= 0 {
		o.RetryMin = time.Second
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = max(o.RetryMin, time.Minute)
	}
	if o.TroubleAfter <= 0 {
		o.TroubleAfter = DefaultTroubleAfter
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Sender{t: t, o: o, wake: make(chan struct{}, 1)}
}

// Name is the target's name.
func (s *Sender) Name() string { return s.t.Name }

// Target is the sender's target.
func (s *Sender) Target() Target { return s.t }

// Enqueue queues a notice without waiting. When the queue is full the oldest
// notice not of the alarm class is dropped (the new one, if all the others
// are alarms), or the oldest alarm when all are alarms.
func (s *Sender) Enqueue(n Notice) {
	s.mu.Lock()
	if s.t.MinInterval > 0 && !n.Important() {
		key, now := string(n.Event)+"/"+n.Zone, s.o.Now()
		if at, ok := s.last[key]; ok && now.Sub(at) < s.t.MinInterval {
			s.stats.Skipped++
			s.mu.Unlock()
			s.o.Log.Debug("notify: within min_interval, skipped", "target", s.t.Name, "event", n.Event, "zone", n.Zone)
			return
		}
		if s.last == nil || len(s.last) >= 1024 {
			s.last = map[string]time.Time{}
		}
		s.last[key] = now
	}
	s.q = append(s.q, n)
	var dropped *Notice
	if len(s.q) > s.o.Queue {
		i := 0
		for j, m := range s.q {
			if !m.Important() {
				i = j
				break
			}
		}
		d := s.q[i]
		dropped = &d
		s.q = append(s.q[:i], s.q[i+1:]...)
		s.stats.Dropped++
	}
	total := s.stats.Dropped
	s.mu.Unlock()
	if dropped != nil {
		s.o.Log.Warn("notify: queue full, a notification dropped", "target", s.t.Name, "event", dropped.Event,
			"seq", dropped.Seq, "dropped", total)
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Stats returns the counters.
func (s *Sender) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Queued = len(s.q)
	return st
}

// Run delivers the queue until ctx ends; what is still queued then is logged
// and lost (notifications live in memory only).
func (s *Sender) Run(ctx context.Context) error {
	for {
		n, ok := s.take()
		if !ok {
			select {
			case <-ctx.Done():
				return nil
			case <-s.wake:
				continue
			}
		}
		if !s.deliver(ctx, n) {
			s.o.Log.Warn("notify: stopping with notifications not delivered", "target", s.t.Name,
				"lost", s.Stats().Queued+1)
			return nil
		}
	}
}

// take removes the oldest notice from the queue.
func (s *Sender) take() (Notice, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.q) == 0 {
		return Notice{}, false
	}
	n := s.q[0]
	s.q = slices.Delete(s.q, 0, 1)
	return n, true
}

// errRefused is a 4xx answer: the request is wrong, sending it again does not help.
var errRefused = errors.New("refused")

// deliver sends n until it is delivered or refused; false when ctx ended first.
func (s *Sender) deliver(ctx context.Context, n Notice) bool {
	wait := s.o.RetryMin
	for {
		err := s.send(ctx, n)
		if ctx.Err() != nil {
			return false
		}
		switch {
		case err == nil:
			s.mu.Lock()
			s.stats.Sent++
			s.mu.Unlock()
			s.healthy()
			s.done(n, nil)
			return true
		case errors.Is(err, errRefused):
			s.mu.Lock()
			s.stats.Refused++
			s.mu.Unlock()
			s.o.Log.Error("notify: target refused a notification; not retried", "target", s.t.Name, "event", n.Event,
				"seq", n.Seq, "err", err)
			s.failed(err)
			s.done(n, err)
			return true
		}
		s.mu.Lock()
		s.stats.Retries++
		s.mu.Unlock()
		s.o.Log.Warn("notify: delivery failed, retrying", "target", s.t.Name, "event", n.Event, "seq", n.Seq,
			"in", wait, "err", err)
		s.failed(err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		wait = min(2*wait, s.o.RetryMax)
	}
}

func (s *Sender) done(n Notice, err error) {
	if s.o.Done != nil {
		s.o.Done(n, err)
	}
}

// send makes one attempt. Errors never name the URL (a webhook's path is
// often its secret).
func (s *Sender) send(ctx context.Context, n Notice) error {
	req, err := Request(s.t, n)
	if err != nil {
		return fmt.Errorf("%w: %w", errRefused, err)
	}
	resp, err := s.o.Client.Do(req.WithContext(ctx))
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests &&
		resp.StatusCode != http.StatusRequestTimeout:
		return fmt.Errorf("%w: HTTP %s", errRefused, resp.Status)
	}
	return fmt.Errorf("HTTP %s", resp.Status)
}

// failed notes a failure; once failures have lasted TroubleAfter, OnTrouble
// is told.
func (s *Sender) failed(err error) {
	now := s.o.Now()
	s.mu.Lock()
	if s.failing.IsZero() {
		s.failing = now
	}
	since := now.Sub(s.failing)
	raise := !s.trouble && since >= s.o.TroubleAfter
	if raise {
		s.trouble = true
	}
	s.mu.Unlock()
	if raise {
		detail := fmt.Sprintf("no notification delivered for %s: %v", since.Round(time.Second), err)
		s.o.Log.Error("notify: target failing", "target", s.t.Name, "for", since.Round(time.Second), "err", err)
		if s.o.OnTrouble != nil {
			s.o.OnTrouble(true, detail)
		}
	}
}

// healthy notes a delivery: a trouble ends.
func (s *Sender) healthy() {
	s.mu.Lock()
	clear := s.trouble
	s.failing, s.trouble = time.Time{}, false
	s.mu.Unlock()
	if clear {
		s.o.Log.Info("notify: target delivers again", "target", s.t.Name)
		if s.o.OnTrouble != nil {
			s.o.OnTrouble(false, "delivered again")
		}
	}
}

// Trouble reports whether the target is in trouble now.
func (s *Sender) Trouble() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.trouble
}

// ResumeTrouble takes up a trouble from before a restart: the next delivery
// clears it.
func (s *Sender) ResumeTrouble() {
	s.mu.Lock()
	s.trouble = true
	s.mu.Unlock()
}
