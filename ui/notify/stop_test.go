package notify

import (
	"context"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// logLines is a log that keeps its lines without the time, and passes each on
// to seen when set.
type logLines struct {
	mu   sync.Mutex
	b    strings.Builder
	seen chan string
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen != nil {
		l.seen <- string(p)
	}
	return l.b.Write(p)
}

func (l *logLines) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Split(strings.TrimSuffix(l.b.String(), "\n"), "\n")
}

func (l *logLines) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
}

// start runs s; the channel is closed when Run returns.
func start(t *testing.T, s *Sender) (context.CancelFunc, chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return cancel, done
}

func returned(t *testing.T, done chan struct{}, limit time.Duration) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(limit):
		t.Fatalf("Run did not return within %s", limit)
	}
}

// At a stop, what is queued is delivered, alarms first and in order
// otherwise, though the run's context ends at once (as the hub's does): the
// request on its way finishes, and Run returns when the queue is empty. A
// notice that comes after is lost, counted and logged.
func TestStopDeliversTheQueue(t *testing.T) {
	r := newReceiver(t)
	r.hold = make(chan struct{})
	var log logLines
	done, ch := results()
	s := NewSender(Target{Name: "hook", URL: r.srv.URL}, Options{Done: done, Log: log.logger()})
	cancel, ended := start(t, s)
	s.Enqueue(notice(1, false))
	if seq := <-r.arrived; seq != 1 {
		t.Fatalf("first request %d", seq)
	}
	for _, n := range []Notice{notice(2, false), notice(3, true), notice(4, false), notice(5, true)} {
		s.Enqueue(n)
	}
	s.Stop(time.Now().Add(time.Minute))
	cancel()
	s.Enqueue(notice(6, true)) // after the alarms queued, before the others
	close(r.hold)
	returned(t, ended, 30*time.Second)
	s.Enqueue(notice(7, true))
	got := wait(t, ch, 7)
	lost := ErrLost.Error()
	if want := []result{{1, ""}, {3, ""}, {5, ""}, {6, ""}, {2, ""}, {4, ""}, {7, lost}}; !reflect.DeepEqual(got, want) {
		t.Errorf("results %v, want %v", got, want)
	}
	if got, want := r.requests(), []string{"1:200", "3:200", "5:200", "6:200", "2:200", "4:200"}; !reflect.DeepEqual(got, want) {
		t.Errorf("requests %v, want %v", got, want)
	}
	if got, want := s.Stats(), (Stats{Sent: 6, Lost: 1}); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
	want := []string{
		`level=INFO msg="notify: stopped with every notification delivered" target=hook`,
		`level=WARN msg="notify: stopped; a notification lost" target=hook event=alarm seq=7 lost=1`,
	}
	if got := log.lines(); !reflect.DeepEqual(got, want) {
		t.Errorf("log\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A target that hangs does not hold a stop past its deadline, though each
// request may take a minute: the request on its way is cut short there, and it
// and the queue are lost, counted and logged with their journal numbers.
func TestStopHangingTarget(t *testing.T) {
	r := newReceiver(t)
	r.hold = make(chan struct{})
	t.Cleanup(func() { close(r.hold) }) // before the server closes
	var log logLines
	done, ch := results()
	s := NewSender(Target{Name: "stuck", URL: r.srv.URL}, Options{Timeout: time.Minute, Done: done, Log: log.logger()})
	cancel, ended := start(t, s)
	s.Enqueue(notice(1, false))
	<-r.arrived
	s.Enqueue(notice(2, false))
	s.Enqueue(notice(3, true))
	const bound = 200 * time.Millisecond
	stopped := time.Now()
	s.Stop(stopped.Add(bound))
	cancel()
	returned(t, ended, 30*time.Second)
	// Past the bound, but well before the request's own minute.
	if took := time.Since(stopped); took < bound || took > 20*time.Second {
		t.Errorf("Run returned %s after the stop, bound %s", took, bound)
	}
	lost := ErrLost.Error()
	if got, want := wait(t, ch, 3), []result{{1, lost}, {3, lost}, {2, lost}}; !reflect.DeepEqual(got, want) {
		t.Errorf("results %v, want %v", got, want)
	}
	if got, want := s.Stats(), (Stats{Lost: 3}); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
	want := []string{`level=WARN msg="notify: stopped with notifications not delivered" target=stuck lost=3 alarms=1 seqs="[1 3 2]"`}
	if got := log.lines(); !reflect.DeepEqual(got, want) {
		t.Errorf("log\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A target waiting out its backoff when the stop comes is tried once more at
// once; a failure then is not retried when the backoff would end past the
// deadline, and Run returns without waiting for it.
func TestStopRetriesOnceAtMost(t *testing.T) {
	for _, c := range []struct {
		name     string
		statuses []int
		want     []result
		requests []string
		stats    Stats
	}{
		{"back", []int{503}, []result{{1, ""}}, []string{"1:503", "1:200"},
			Stats{Sent: 1, Retries: 1, Failures: [NumReasons]uint64{ReasonHTTP5xx: 1}}},
		{"down", []int{503, 502}, []result{{1, ErrLost.Error()}}, []string{"1:503", "1:502"},
			Stats{Lost: 1, Retries: 1, Failures: [NumReasons]uint64{ReasonHTTP5xx: 2}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newReceiver(t, c.statuses...)
			done, ch := results()
			log := logLines{seen: make(chan string, 16)}
			s := NewSender(Target{Name: "hook", URL: r.srv.URL}, Options{RetryMin: time.Hour, Done: done, Log: log.logger()})
			cancel, ended := start(t, s)
			s.Enqueue(notice(1, true))
			// The first attempt fails; the next is in an hour.
			if l := <-log.seen; !strings.Contains(l, "delivery failed, retrying") {
				t.Fatalf("log %s", l)
			}
			s.Stop(time.Now().Add(time.Minute))
			cancel()
			returned(t, ended, 30*time.Second)
			if got := wait(t, ch, 1); !reflect.DeepEqual(got, c.want) {
				t.Errorf("results %v, want %v", got, c.want)
			}
			if got := r.requests(); !reflect.DeepEqual(got, c.requests) {
				t.Errorf("requests %v, want %v", got, c.requests)
			}
			if got := s.Stats(); got != c.stats {
				t.Errorf("stats %+v, want %+v", got, c.stats)
			}
		})
	}
}
