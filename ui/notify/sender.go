package notify

import (
	"cmp"
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

// Reason is the class of a failed attempt.
type Reason int

// The reasons of a failed attempt.
const (
	ReasonNetwork   Reason = iota // no answer: connection refused or reset, unknown host, timeout
	ReasonHTTP4xx                 // a 4xx answer (408 and 429 retried, the others refused)
	ReasonHTTP5xx                 // a 5xx answer
	ReasonHTTPOther               // another answer that is not 2xx (1xx, 3xx)
	ReasonInvalid                 // the request could not be made (refused)
	NumReasons
)

var reasonNames = [NumReasons]string{"network", "http_4xx", "http_5xx", "http_other", "invalid"}

// String is the reason's name in the metrics.
func (r Reason) String() string { return reasonNames[r] }

// Stats counts what a Sender did.
type Stats struct {
	Sent     uint64             // delivered (2xx)
	Dropped  uint64             // dropped from a full queue
	Refused  uint64             // answered 4xx, not retried
	Retries  uint64             // attempts that failed and were tried again
	Skipped  uint64             // within the target's MinInterval of the one before
	Lost     uint64             // not delivered when the sender stopped
	Failures [NumReasons]uint64 // failed attempts by reason, retried or refused
	Queued   int                // waiting now (not the one being sent)
	Sending  bool               // one is being sent (or waits out its backoff)
	Trouble  bool               // the target is in trouble now
}

// ErrLost is what Done is told of a notice still queued or being sent when
// the sender stopped.
var ErrLost = errors.New("lost: the sender stopped before it was delivered")

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

	stopOnce sync.Once
	stopping chan struct{} // closed by Stop
	until    time.Time     // Stop's deadline
	finished bool          // Run has returned: what comes is lost
	sending  bool          // Run has taken a notice it has not finished with
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
	return &Sender{t: t, o: o, wake: make(chan struct{}, 1), stopping: make(chan struct{})}
}

// Name is the target's name.
func (s *Sender) Name() string { return s.t.Name }

// Target is the sender's target.
func (s *Sender) Target() Target { return s.t }

// Enqueue queues a notice without waiting. When the queue is full the oldest
// notice not of the alarm class is dropped (the new one, if all the others
// are alarms), or the oldest alarm when all are alarms. Once Stop was called
// an alarm goes after the alarms queued, before the others; once Run has
// returned, the notice is lost (counted and logged).
func (s *Sender) Enqueue(n Notice) {
	s.mu.Lock()
	if s.finished {
		s.stats.Lost++
		total := s.stats.Lost
		s.mu.Unlock()
		s.o.Log.Warn("notify: stopped; a notification lost", "target", s.t.Name, "event", n.Event, "seq", n.Seq,
			"lost", total)
		s.done(n, ErrLost)
		return
	}
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
	at := len(s.q)
	if n.Important() && s.isStopping() {
		if i := slices.IndexFunc(s.q, func(m Notice) bool { return !m.Important() }); i >= 0 {
			at = i
		}
	}
	s.q = slices.Insert(s.q, at, n)
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
	st.Sending, st.Trouble = s.sending, s.trouble
	return st
}

// Stop tells Run to deliver what is queued, the alarm class first (in order
// otherwise), until the deadline, and then to return: no attempt goes on, and
// none is retried, past it. Call it once the hub has stopped: from then on a
// trouble is neither raised nor cleared. Only the first call counts.
func (s *Sender) Stop(until time.Time) {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.until = until
		slices.SortStableFunc(s.q, func(a, b Notice) int { return cmp.Compare(rank(a), rank(b)) })
		close(s.stopping) // under the lock: an Enqueue sees the order and the stop together
		s.mu.Unlock()
	})
}

// rank orders the queue at a stop: alarms first.
func rank(n Notice) int {
	if n.Important() {
		return 0
	}
	return 1
}

func (s *Sender) isStopping() bool {
	select {
	case <-s.stopping:
		return true
	default:
		return false
	}
}

// Run delivers the queue, one notice at a time, until Stop (then until the
// queue is empty or Stop's deadline) or until ctx ends before Stop (then at
// once, the request on its way cut short). What is not delivered is lost
// (notifications live in memory only): counted, logged with the journal
// numbers, and told to Done with ErrLost.
func (s *Sender) Run(ctx context.Context) error {
	// The requests' context: cancelled when ctx ends before Stop, at Stop's
	// deadline after it, or when Run returns.
	req, abort := context.WithCancel(context.WithoutCancel(ctx))
	defer abort()
	go func() {
		select {
		case <-ctx.Done():
		case <-s.stopping:
		case <-req.Done():
			return
		}
		if s.isStopping() {
			s.mu.Lock()
			until := s.until
			s.mu.Unlock()
			dl, cancel := context.WithDeadline(req, until)
			<-dl.Done()
			cancel()
		}
		abort()
	}()
	for {
		n, ok := s.take()
		if !ok {
			if s.isStopping() {
				return s.finish(nil)
			}
			select {
			case <-req.Done():
				return s.finish(nil)
			case <-s.stopping:
			case <-s.wake:
			}
			continue
		}
		if !s.deliver(req, n) {
			return s.finish(&n)
		}
	}
}

// finish ends Run: cur (the notice being sent, if any) and what is queued are
// lost.
func (s *Sender) finish(cur *Notice) error {
	s.mu.Lock()
	var lost []Notice
	if cur != nil {
		lost = append(lost, *cur)
	}
	lost = append(lost, s.q...)
	s.q = nil
	s.finished, s.sending = true, false
	s.stats.Lost += uint64(len(lost))
	s.mu.Unlock()
	if len(lost) == 0 {
		if s.isStopping() {
			s.o.Log.Info("notify: stopped with every notification delivered", "target", s.t.Name)
		}
		return nil
	}
	seqs, alarms := make([]uint64, 0, len(lost)), 0
	for _, n := range lost {
		seqs = append(seqs, n.Seq)
		if n.Important() {
			alarms++
		}
	}
	s.o.Log.Warn("notify: stopped with notifications not delivered", "target", s.t.Name, "lost", len(lost),
		"alarms", alarms, "seqs", seqs)
	for _, n := range lost {
		s.done(n, ErrLost)
	}
	return nil
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
	s.sending = true
	return n, true
}

// errRefused is a 4xx answer: the request is wrong, sending it again does not help.
var errRefused = errors.New("refused")

// deliver sends n until it is delivered or refused; false when ctx ended
// first, or when, after Stop, the next attempt would come past the deadline.
func (s *Sender) deliver(ctx context.Context, n Notice) bool {
	wait := s.o.RetryMin
	for {
		reason, err := s.send(ctx, n)
		if err != nil {
			if ctx.Err() != nil {
				return false // cut short: not the target's failure
			}
			s.mu.Lock()
			s.stats.Failures[reason]++
			s.mu.Unlock()
		}
		switch {
		case err == nil:
			s.mu.Lock()
			s.stats.Sent++
			s.sending = false
			s.mu.Unlock()
			s.healthy()
			s.done(n, nil)
			return true
		case errors.Is(err, errRefused):
			s.mu.Lock()
			s.stats.Refused++
			s.sending = false
			s.mu.Unlock()
			s.o.Log.Error("notify: target refused a notification; not retried", "target", s.t.Name, "event", n.Event,
				"seq", n.Seq, "err", err)
			s.failed(err)
			s.done(n, err)
			return true
		}
		s.mu.Lock()
		stopping := s.isStopping()
		last := stopping && time.Until(s.until) <= wait
		if !last {
			s.stats.Retries++
		}
		s.mu.Unlock()
		if last {
			s.o.Log.Warn("notify: delivery failed; no time left to retry before the stop", "target", s.t.Name,
				"event", n.Event, "seq", n.Seq, "err", err)
			return false
		}
		s.o.Log.Warn("notify: delivery failed, retrying", "target", s.t.Name, "event", n.Event, "seq", n.Seq,
			"in", wait, "err", err)
		s.failed(err)
		// A Stop during the backoff makes the next attempt at once: the last
		// chance before the deadline.
		stop := s.stopping
		if stopping {
			stop = nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-stop:
			t.Stop()
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

// send makes one attempt; the reason classes a failure. Errors never name the
// URL (a webhook's path is often its secret).
func (s *Sender) send(ctx context.Context, n Notice) (Reason, error) {
	req, err := Request(s.t, n)
	if err != nil {
		return ReasonInvalid, fmt.Errorf("%w: %w", errRefused, err)
	}
	resp, err := s.o.Client.Do(req.WithContext(ctx))
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return ReasonNetwork, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return 0, nil
	case code >= 400 && code < 500 && code != http.StatusTooManyRequests && code != http.StatusRequestTimeout:
		return ReasonHTTP4xx, fmt.Errorf("%w: HTTP %s", errRefused, resp.Status)
	case code >= 400 && code < 500:
		return ReasonHTTP4xx, fmt.Errorf("HTTP %s", resp.Status)
	case code >= 500 && code < 600:
		return ReasonHTTP5xx, fmt.Errorf("HTTP %s", resp.Status)
	}
	return ReasonHTTPOther, fmt.Errorf("HTTP %s", resp.Status)
}

// failed notes a failure; once failures have lasted TroubleAfter, OnTrouble
// is told.
func (s *Sender) failed(err error) {
	if s.isStopping() {
		return // the hub has stopped: no fault is raised now
	}
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
	if s.isStopping() {
		return // the hub has stopped: the next start clears the fault
	}
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
