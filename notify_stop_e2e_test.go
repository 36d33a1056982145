package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"vakt/hub"
)

// notifyMetrics polls the hub's /metrics over its local socket until its
// vakt_notify lines are want.
func notifyMetrics(t *testing.T, data string, want []string) {
	t.Helper()
	var got []string
	for deadline := time.Now().Add(20 * time.Second); ; {
		got = nil
		if res, err := sockGet(data, "/metrics"); err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			for l := range strings.SplitSeq(string(b), "\n") {
				if strings.HasPrefix(l, "vakt_notify") {
					got = append(got, l)
				}
			}
		}
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		<-time.After(20 * time.Millisecond) // the notices reach the queues from the hub's updates
	}
}

// At a stop, the queued notifications go out within the targets' share of the
// shutdown, alarms first: a target that answers gets them all; one that hangs
// loses its own, counted and logged with their journal numbers, and does not
// hold the stop past its deadline. /metrics shows the queues before.
func TestNotifyQueueDeliveredAtStop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the hub")
	}
	phone, stuck := newHook(t), newHook(t)
	phone.hold, stuck.hold = make(chan struct{}), make(chan struct{})
	var once sync.Once
	releasePhone := func() { once.Do(func() { close(phone.hold) }) }
	t.Cleanup(releasePhone) // before the servers close
	t.Cleanup(func() { close(stuck.hold) })
	dir, args := setup(t)
	const events = "[armed, disarmed, alarm, alarm_cancel, zone_open]"
	boot := bootYAML + fmt.Sprintf("notify:\n  targets:\n    - {name: phone, url: %q, events: %s}\n    - {name: stuck, url: %q, events: %s}\n",
		phone.srv.URL+"/phone", events, stuck.srv.URL+"/stuck", events)
	if err := os.WriteFile(filepath.Join(dir, "vakt.yaml"), []byte(boot), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &matchWriter{re: regexp.MustCompile(`msg="(notify: (?:delivering|stopped)[^"]*)" (.*)$`), ch: make(chan []string, 16)}
	p := startHubLog(t, logs, args...)
	stopped := false
	defer func() {
		if !stopped {
			p.stop(t)
		}
	}()

	// Armed: both targets hold that notification. An alarm in the window and
	// the disarm queue four more with each.
	c := alarmInWindow(t, p)
	c.pub(t, "vakt/command", `{"command":"DISARM","code":"135790"}`, false)
	c.waitFor(t, "vakt/state", "disarmed")
	var want []string
	for _, target := range []string{"phone", "stuck"} {
		want = append(want,
			`vakt_notify_dropped_total{target="`+target+`"} 0`,
			`vakt_notify_failures_total{reason="http_4xx",target="`+target+`"} 0`,
			`vakt_notify_failures_total{reason="http_5xx",target="`+target+`"} 0`,
			`vakt_notify_failures_total{reason="http_other",target="`+target+`"} 0`,
			`vakt_notify_failures_total{reason="invalid",target="`+target+`"} 0`,
			`vakt_notify_failures_total{reason="network",target="`+target+`"} 0`,
			`vakt_notify_lost_total{target="`+target+`"} 0`,
			`vakt_notify_queue{target="`+target+`"} 4`,
			`vakt_notify_refused_total{target="`+target+`"} 0`,
			`vakt_notify_sent_total{target="`+target+`"} 0`,
			`vakt_notify_skipped_total{target="`+target+`"} 0`,
			`vakt_notify_trouble{target="`+target+`"} 0`)
	}
	slices.Sort(want) // by name, then target
	notifyMetrics(t, p.data, want)
	var evs struct{ Events []hub.Event }
	sockJSON(t, p.data, "/api/v1/events?type="+strings.Trim(strings.ReplaceAll(events, " ", ""), "[]"), &evs)

	// The stop: the phone answers from the moment the targets are told.
	begun := time.Now()
	p.cancel()
	var lines []string
	for len(lines) < 3 {
		select {
		case m := <-logs.ch:
			lines = append(lines, m[1]+" "+m[2])
			if strings.HasPrefix(m[1], "notify: delivering") {
				releasePhone()
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("stop logs %q", lines)
		}
	}
	select {
	case err := <-p.done:
		stopped = true
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the hub did not stop")
	}
	if took := time.Since(begun); took > shutdownTimeout {
		t.Errorf("the stop took %s, more than %s", took, shutdownTimeout)
	}

	// What was queued, alarms first, after the one on its way.
	slices.SortFunc(evs.Events, func(a, b hub.Event) int { return int(a.Seq) - int(b.Seq) })
	order := []hub.Event{evs.Events[0]}
	for _, alarms := range []bool{true, false} {
		for _, e := range evs.Events[1:] {
			if (e.Class == hub.ClassAlarm) == alarms {
				order = append(order, e)
			}
		}
	}
	var delivered, seqs []string
	for _, e := range order {
		delivered = append(delivered, "200 "+string(e.Type))
		seqs = append(seqs, fmt.Sprint(e.Seq))
	}
	if want := []string{"200 armed", "200 alarm", "200 alarm_cancel", "200 zone_open", "200 disarmed"}; !reflect.DeepEqual(delivered, want) {
		t.Fatalf("events %v, want %v", delivered, want)
	}
	eventRe := regexp.MustCompile(`^(\d+) /phone .*"event":"(\w+)"`)
	var got []string
	for _, l := range phone.all() {
		m := eventRe.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("request %s", l)
		}
		got = append(got, m[1]+" "+m[2])
	}
	if !reflect.DeepEqual(got, delivered) {
		t.Errorf("delivered at the stop %v, want %v", got, delivered)
	}
	if got := stuck.all(); len(got) != 0 {
		t.Errorf("the hung target answered %q", got)
	}
	slices.Sort(lines[1:])
	// The targets get 2 s, less if the stop's own deadline comes sooner (a slow
	// journal flush on a busy machine): any share up to 2 s is right.
	withinRe := regexp.MustCompile(` within=(\S+)$`)
	if m := withinRe.FindStringSubmatch(lines[0]); m != nil {
		if d, err := time.ParseDuration(m[1]); err != nil || d <= 0 || d > 2*time.Second {
			t.Errorf("the targets' share of the stop: %s, want up to 2s", m[1])
		}
		lines[0] = withinRe.ReplaceAllString(lines[0], " within=(up to 2s)")
	}
	wantLines := []string{
		`notify: delivering the queued notifications before stopping queued=8 sending=2 within=(up to 2s)`,
		`notify: stopped with every notification delivered target=phone`,
		`notify: stopped with notifications not delivered target=stuck lost=5 alarms=2 seqs="[` + strings.Join(seqs, " ") + `]"`,
	}
	if !reflect.DeepEqual(lines, wantLines) {
		t.Errorf("stop logs\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(wantLines, "\n"))
	}
}
