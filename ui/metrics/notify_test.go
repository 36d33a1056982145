package metrics

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"vakt/hub"
	"vakt/ui/notify"
)

// notifyLines returns the vakt_notify lines of a scrape of the real handler.
func notifyLines(t *testing.T, m *Metrics) []string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	var out []string
	for l := range strings.SplitSeq(string(body), "\n") {
		if strings.HasPrefix(l, "vakt_notify") {
			out = append(out, l)
		}
	}
	return out
}

// target is a webhook on loopback answering with the statuses given in turn
// (200 once they run out); with hold, each request waits until the test ends.
func target(t *testing.T, hold bool, statuses ...int) (url string, arrived chan struct{}) {
	arrived = make(chan struct{}, 16)
	release := make(chan struct{})
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		arrived <- struct{}{}
		if hold {
			<-release
		}
		mu.Lock()
		status := 200
		if len(statuses) > 0 {
			status, statuses = statuses[0], statuses[1:]
		}
		mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // before the server closes
	return srv.URL, arrived
}

// lineWriter passes each log line on.
type lineWriter chan string

func (w lineWriter) Write(p []byte) (int, error) { w <- string(p); return len(p), nil }

// The notification targets' figures after a scripted run: a target that takes
// one, answers 500 then takes the next, and refuses the third with a 404; one
// that hangs with its queue overflowing, then stops; one down and in trouble
// since before a restart.
func TestNotifyMetrics(t *testing.T) {
	m := New(nil)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	run := func(s *notify.Sender) chan struct{} {
		done := make(chan struct{})
		wg.Go(func() { _ = s.Run(ctx); close(done) })
		return done
	}
	notice := func(seq uint64) notify.Notice {
		return notify.NewNotice(notify.Config{}, hub.Event{Seq: seq, Type: hub.EvZoneOpen, Class: hub.ClassRoutine}, "", "", nil)
	}

	hookURL, _ := target(t, false, 200, 500, 200, 404)
	finished := make(chan string, 16)
	hook := notify.NewSender(notify.Target{Name: "hook", URL: hookURL}, notify.Options{RetryMin: time.Millisecond,
		Done: func(n notify.Notice, err error) { finished <- fmt.Sprint(n.Seq, " ", err) }})
	slowURL, slowArrived := target(t, true)
	slow := notify.NewSender(notify.Target{Name: "slow", URL: slowURL}, notify.Options{Queue: 2, Timeout: time.Minute})
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	downLog := make(lineWriter, 16)
	down := notify.NewSender(notify.Target{Name: "down", URL: gone.URL}, notify.Options{RetryMin: time.Hour,
		Log: slog.New(slog.NewTextHandler(downLog, nil))})
	down.ResumeTrouble()
	m.SetNotify([]*notify.Sender{hook, slow, down})
	run(hook)
	slowDone := run(slow)
	run(down)

	for seq := range uint64(3) {
		hook.Enqueue(notice(seq + 1))
	}
	var got []string
	for range 3 {
		got = append(got, <-finished)
	}
	if want := []string{"1 <nil>", "2 <nil>", "3 refused: HTTP 404 Not Found"}; !slices.Equal(got, want) {
		t.Fatalf("hook: %q, want %q", got, want)
	}
	slow.Enqueue(notice(1))
	<-slowArrived // 1 is on its way; 2, 3 and 4 come, and 2 is dropped
	for seq := uint64(2); seq <= 4; seq++ {
		slow.Enqueue(notice(seq))
	}
	down.Enqueue(notice(1))
	if l := <-downLog; !strings.Contains(l, "delivery failed, retrying") {
		t.Fatalf("down: %s", l)
	}

	perTarget := func(name string, sent, network, h4, h5, refused, dropped, lost, queue, trouble int) []string {
		return []string{
			fmt.Sprintf(`vakt_notify_dropped_total{target="%s"} %d`, name, dropped),
			fmt.Sprintf(`vakt_notify_failures_total{reason="http_4xx",target="%s"} %d`, name, h4),
			fmt.Sprintf(`vakt_notify_failures_total{reason="http_5xx",target="%s"} %d`, name, h5),
			fmt.Sprintf(`vakt_notify_failures_total{reason="http_other",target="%s"} 0`, name),
			fmt.Sprintf(`vakt_notify_failures_total{reason="invalid",target="%s"} 0`, name),
			fmt.Sprintf(`vakt_notify_failures_total{reason="network",target="%s"} %d`, name, network),
			fmt.Sprintf(`vakt_notify_lost_total{target="%s"} %d`, name, lost),
			fmt.Sprintf(`vakt_notify_queue{target="%s"} %d`, name, queue),
			fmt.Sprintf(`vakt_notify_refused_total{target="%s"} %d`, name, refused),
			fmt.Sprintf(`vakt_notify_sent_total{target="%s"} %d`, name, sent),
			fmt.Sprintf(`vakt_notify_skipped_total{target="%s"} 0`, name),
			fmt.Sprintf(`vakt_notify_trouble{target="%s"} %d`, name, trouble),
		}
	}
	want := func(slowLost, slowQueue int) []string {
		all := [][]string{
			perTarget("down", 0, 1, 0, 0, 0, 0, 0, 0, 1),
			perTarget("hook", 2, 0, 1, 1, 1, 0, 0, 0, 0),
			perTarget("slow", 0, 0, 0, 0, 0, 1, slowLost, slowQueue, 0),
		}
		// Prometheus's order: by name, then by the labels' values.
		var out []string
		for i := range all[0] {
			for _, p := range all {
				out = append(out, p[i])
			}
		}
		return out
	}
	if got, want := notifyLines(t, m), want(0, 2); !slices.Equal(got, want) {
		t.Errorf("scrape:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The hanging target stops: the one on its way and the two queued are lost.
	slow.Stop(time.Now().Add(50 * time.Millisecond))
	<-slowDone
	if got, want := notifyLines(t, m), want(3, 0); !slices.Equal(got, want) {
		t.Errorf("scrape after the stop:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
