package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vakt/hub"
)

// notice is a small notice: an alarm or a routine one, told apart by seq.
func notice(seq uint64, alarm bool) Notice {
	ev := hub.Event{Seq: seq, Time: t0, Type: hub.EvZoneOpen, Class: hub.ClassRoutine, Who: hub.Actor{Via: hub.ViaSystem}}
	if alarm {
		ev.Type, ev.Class = hub.EvAlarm, hub.ClassAlarm
	}
	return NewNotice(Config{}, ev, "", "", nil)
}

// receiver is a webhook on loopback answering with the statuses given in
// turn (200 once they run out); it records the seq of each request.
type receiver struct {
	srv      *httptest.Server
	mu       sync.Mutex
	statuses []int
	got      []string // "seq:status"
	arrived  chan uint64
	hold     chan struct{} // when set, each request waits for it to close
	onReq    func()
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	r := &receiver{statuses: statuses, arrived: make(chan uint64, 4096)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var n Notice
		if err := json.NewDecoder(req.Body).Decode(&n); err != nil {
			t.Errorf("body: %v", err)
		}
		r.arrived <- n.Seq
		if r.hold != nil {
			<-r.hold
		}
		r.mu.Lock()
		status := 200
		if len(r.statuses) > 0 {
			status, r.statuses = r.statuses[0], r.statuses[1:]
		}
		r.got = append(r.got, fmt.Sprintf("%d:%d", n.Seq, status))
		if r.onReq != nil {
			r.onReq()
		}
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

// run runs s until the test ends.
func run(t *testing.T, s *Sender) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

type result struct {
	seq uint64
	err string
}

// results collects Done's calls.
func results() (func(Notice, error), chan result) {
	ch := make(chan result, 4096)
	return func(n Notice, err error) {
		r := result{seq: n.Seq}
		if err != nil {
			r.err = err.Error()
		}
		ch <- r
	}, ch
}

func wait(t *testing.T, ch chan result, n int) []result {
	t.Helper()
	var out []result
	for len(out) < n {
		select {
		case r := <-ch:
			out = append(out, r)
		case <-time.After(20 * time.Second):
			t.Fatalf("only %v finished", out)
		}
	}
	return out
}

// 5xx and network errors are retried with backoff until the target takes the
// notice; a 4xx is logged and not retried.
func TestSenderRetriesAndRefusals(t *testing.T) {
	r := newReceiver(t, 302, 500, 503, 200, 400, 200) // a 302 without a Location is an answer too
	done, ch := results()
	s := NewSender(Target{Name: "hook", URL: r.srv.URL}, Options{RetryMin: time.Millisecond, RetryMax: 2 * time.Millisecond, Done: done})
	run(t, s)
	s.Enqueue(notice(1, true))
	s.Enqueue(notice(2, false))
	s.Enqueue(notice(3, false))
	got := wait(t, ch, 3)
	want := []result{{1, ""}, {2, "refused: HTTP 400 Bad Request"}, {3, ""}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("results %v, want %v", got, want)
	}
	if got, want := r.requests(), []string{"1:302", "1:500", "1:503", "1:200", "2:400", "3:200"}; !reflect.DeepEqual(got, want) {
		t.Errorf("requests %v, want %v", got, want)
	}
	if got, want := s.Stats(), (Stats{Sent: 2, Refused: 1, Retries: 3,
		Failures: [NumReasons]uint64{ReasonHTTPOther: 1, ReasonHTTP4xx: 1, ReasonHTTP5xx: 2}}); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}

	// A target that cannot be reached at all: retried too, until it is a
	// trouble; the clock moves a minute with each look at it.
	down := httptest.NewServer(http.NotFoundHandler())
	url := down.URL
	down.Close()
	var now atomic.Int64
	trouble := make(chan string, 1)
	var s2 *Sender
	s2 = NewSender(Target{Name: "gone", URL: url}, Options{RetryMin: time.Millisecond, RetryMax: time.Millisecond,
		TroubleAfter: 3 * time.Minute, Done: func(_ Notice, err error) {
			if !errors.Is(err, ErrLost) { // at the end of the test
				t.Errorf("delivered to a closed port: %v", err)
			}
		},
		Now: func() time.Time { return t0.Add(time.Duration(now.Add(int64(time.Minute)))) },
		OnTrouble: func(active bool, detail string) {
			trouble <- fmt.Sprint(active, " after ", s2.Stats().Retries, " attempts: ", detail)
		}})
	s2.Enqueue(notice(9, true))
	run(t, s2)
	select {
	case d := <-trouble:
		const want = "true after 4 attempts: no notification delivered for 3m0s: dial tcp " // then the address and the system's words
		if len(d) < len(want) || d[:len(want)] != want {
			t.Errorf("trouble %q, want %q...", d, want)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no trouble")
	}
}

// A target failing for TroubleAfter is a trouble, told once; its next
// delivery ends it. The clock moves a minute with each request.
func TestSenderTrouble(t *testing.T) {
	var now atomic.Int64
	r := newReceiver(t, 503, 503, 503, 503, 503, 503, 503, 200, 200)
	r.onReq = func() { now.Add(int64(time.Minute)) }
	var mu sync.Mutex
	var trouble []string
	done, ch := results()
	s := NewSender(Target{Name: "hook", URL: r.srv.URL}, Options{RetryMin: time.Millisecond, RetryMax: time.Millisecond,
		TroubleAfter: 5 * time.Minute, Done: done,
		Now: func() time.Time { return t0.Add(time.Duration(now.Load())) },
		OnTrouble: func(active bool, detail string) {
			mu.Lock()
			trouble = append(trouble, fmt.Sprintf("%v %s", active, detail))
			mu.Unlock()
		}})
	run(t, s)
	s.Enqueue(notice(1, true))
	s.Enqueue(notice(2, false))
	if got, want := wait(t, ch, 2), []result{{1, ""}, {2, ""}}; !reflect.DeepEqual(got, want) {
		t.Errorf("results %v, want %v", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"true no notification delivered for 5m0s: HTTP 503 Service Unavailable", "false delivered again"}
	if !reflect.DeepEqual(trouble, want) {
		t.Errorf("trouble %q, want %q", trouble, want)
	}
	if s.Trouble() {
		t.Error("still in trouble")
	}
}

// The queue keeps alarms first: when full, the oldest notice not of the alarm
// class goes, the new one when all others are alarms, the oldest alarm when
// all are alarms.
func TestQueueDropsOldestNonAlarm(t *testing.T) {
	s := NewSender(Target{Name: "hook", URL: "http://127.0.0.1:1"}, Options{Queue: 3})
	for _, n := range []Notice{notice(1, false), notice(2, true), notice(3, false), notice(4, true), // 1 goes
		notice(5, true),  // 3 goes
		notice(6, false), // itself
		notice(7, true),  // 2 goes
	} {
		s.Enqueue(n)
	}
	var seqs []uint64
	for _, n := range s.q {
		seqs = append(seqs, n.Seq)
	}
	if want := []uint64{4, 5, 7}; !reflect.DeepEqual(seqs, want) {
		t.Errorf("queue %v, want %v", seqs, want)
	}
	if got, want := s.Stats(), (Stats{Dropped: 4, Queued: 3}); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
}

// A flood of notices while the target hangs: Enqueue never waits, the queue
// stays bounded, the drops are counted, and what is kept is delivered in order
// once the target answers.
func TestSenderFloodNeverWaits(t *testing.T) {
	r := newReceiver(t)
	r.hold = make(chan struct{})
	done, ch := results()
	s := NewSender(Target{Name: "slow", URL: r.srv.URL}, Options{Queue: 8, Done: done})
	run(t, s)
	s.Enqueue(notice(1, false))
	if seq := <-r.arrived; seq != 1 {
		t.Fatalf("first request %d", seq)
	}
	// The target holds request 1; 1000 more come, every tenth an alarm.
	for i := uint64(2); i <= 1001; i++ {
		s.Enqueue(notice(i, i%10 == 0))
	}
	if got, want := s.Stats(), (Stats{Dropped: 992, Queued: 8, Sending: true}); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
	close(r.hold)
	got := wait(t, ch, 9)
	want := []result{{1, ""}, {930, ""}, {940, ""}, {950, ""}, {960, ""}, {970, ""}, {980, ""}, {990, ""}, {1000, ""}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
}

// min_interval: a notice of the same type and zone within it is skipped and
// counted; another zone, another type, an alarm, or the interval passed, goes.
func TestMinInterval(t *testing.T) {
	var now time.Time
	s := NewSender(Target{Name: "hook", URL: "http://127.0.0.1:1", MinInterval: time.Minute}, Options{Now: func() time.Time { return now }})
	open := func(seq uint64, zone string) Notice {
		return NewNotice(Config{}, hub.Event{Seq: seq, Type: hub.EvZoneOpen, Class: hub.ClassRoutine, Zone: zone}, "", "", nil)
	}
	now = t0
	s.Enqueue(open(1, "door"))
	now = t0.Add(30 * time.Second)
	s.Enqueue(open(2, "door"))   // skipped
	s.Enqueue(open(3, "window")) // another zone
	s.Enqueue(notice(4, true))   // an alarm
	s.Enqueue(notice(5, true))   // an alarm again
	now = t0.Add(61 * time.Second)
	s.Enqueue(open(6, "door"))
	var seqs []uint64
	for _, n := range s.q {
		seqs = append(seqs, n.Seq)
	}
	if want := []uint64{1, 3, 4, 5, 6}; !reflect.DeepEqual(seqs, want) {
		t.Errorf("queue %v, want %v", seqs, want)
	}
	if got, want := s.Stats(), (Stats{Skipped: 1, Queued: 5}); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
}

// A request that cannot be made (a URL the validation would refuse) is refused
// at once, its failure counted as invalid.
func TestSenderInvalidRequest(t *testing.T) {
	done, ch := results()
	s := NewSender(Target{Name: "bad", URL: "http://bad host/"}, Options{Done: done})
	run(t, s)
	s.Enqueue(notice(1, true))
	want := []result{{1, "refused: notify: target bad: its URL cannot be used"}}
	if got := wait(t, ch, 1); !reflect.DeepEqual(got, want) {
		t.Errorf("results %v, want %v", got, want)
	}
	if got, want := s.Stats(), (Stats{Refused: 1, Failures: [NumReasons]uint64{ReasonInvalid: 1}}); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
}
