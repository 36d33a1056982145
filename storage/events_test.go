package storage

import (
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"vakt/hub"
)

// fill commits n events, one per batch, one minute apart from t0; make builds event i
// (0-based) and the store assigns seq i+1.
func fill(t testing.TB, s *Store, n int, make func(i int) hub.Event) {
	t.Helper()
	for i := range n {
		e := make(i)
		if e.Time.IsZero() {
			e.Time = t0.Add(time.Duration(i) * time.Minute)
		}
		commit(t, s, hub.Batch{Events: []hub.Event{e}})
	}
}

func span(from, to uint64) []uint64 {
	var out []uint64
	if from <= to {
		for i := from; i <= to; i++ {
			out = append(out, i)
		}
	} else {
		for i := from; i >= to; i-- {
			out = append(out, i)
		}
	}
	return out
}

func TestEventsPaging(t *testing.T) {
	s := openTest(t, "")
	const n = 250
	fill(t, s, n, func(i int) hub.Event { return ev(time.Time{}, "x", "") })
	for _, limit := range []int{1, 7, 100, 249, 250, 1000} {
		for _, asc := range []bool{false, true} {
			t.Run(fmt.Sprintf("limit=%d/ascending=%v", limit, asc), func(t *testing.T) {
				var got []uint64
				q := EventQuery{Limit: limit, Ascending: asc}
				for pages := 0; ; pages++ {
					if pages > n {
						t.Fatal("paging does not end")
					}
					evs, next, err := s.Events(q)
					if err != nil {
						t.Fatal(err)
					}
					if len(evs) > limit {
						t.Fatalf("page of %d > limit %d", len(evs), limit)
					}
					got = append(got, seqs(evs)...)
					if next == 0 {
						break
					}
					if len(evs) != limit || next != evs[len(evs)-1].Seq {
						t.Fatalf("next = %d after a page of %d ending at %d", next, len(evs), evs[len(evs)-1].Seq)
					}
					if asc {
						q.After = next
					} else {
						q.Before = next
					}
				}
				want := span(n, 1)
				if asc {
					want = span(1, n)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("walk = %v\nwant %v", got, want)
				}
			})
		}
	}
}

func TestEventsLimits(t *testing.T) {
	s := openTest(t, "")
	fill(t, s, 1200, func(i int) hub.Event { return ev(time.Time{}, "x", "") })
	for _, tt := range []struct{ limit, want int }{{0, 100}, {-5, 100}, {1000, 1000}, {5000, 1000}} {
		evs, next, err := s.Events(EventQuery{Limit: tt.limit})
		if err != nil || len(evs) != tt.want || next != evs[len(evs)-1].Seq {
			t.Errorf("Limit %d: %d events, next %d, err %v; want %d", tt.limit, len(evs), next, err, tt.want)
		}
	}
}

func TestEventsFilters(t *testing.T) {
	s := openTest(t, "")
	// Ten events, seq 1–10, one minute apart.
	type row struct {
		typ   hub.EventType
		class hub.EventClass
		zone  string
		user  string
	}
	rows := []row{
		{"armed", hub.ClassArming, "", "anna"},      // 1
		{"open", hub.ClassRoutine, "front", ""},     // 2
		{"alarm", hub.ClassAlarm, "front", ""},      // 3
		{"disarmed", hub.ClassArming, "", "bo"},     // 4
		{"tamper", hub.ClassTamper, "hall", ""},     // 5
		{"open", "", "hall", ""},                    // 6: no class means routine
		{"code_rejected", hub.ClassRoutine, "", ""}, // 7
		{"fault", hub.ClassFault, "", ""},           // 8
		{"armed", hub.ClassArming, "", "anna"},      // 9
		{"alarm", hub.ClassAlarm, "hall", "anna"},   // 10
	}
	fill(t, s, len(rows), func(i int) hub.Event {
		r := rows[i]
		e := ev(time.Time{}, r.typ, r.class)
		e.Zone = r.zone
		e.Who.UserID = r.user
		return e
	})
	at := func(seq int) time.Time { return t0.Add(time.Duration(seq-1) * time.Minute) }
	tests := []struct {
		name string
		q    EventQuery
		want []uint64
	}{
		{"all", EventQuery{}, span(10, 1)},
		{"type", EventQuery{Types: []hub.EventType{"alarm"}}, []uint64{10, 3}},
		{"types", EventQuery{Types: []hub.EventType{"armed", "disarmed"}}, []uint64{9, 4, 1}},
		{"zone", EventQuery{Zone: "hall"}, []uint64{10, 6, 5}},
		{"user", EventQuery{UserID: "anna"}, []uint64{10, 9, 1}},
		{"class", EventQuery{Class: hub.ClassArming}, []uint64{9, 4, 1}},
		{"class routine includes empty", EventQuery{Class: hub.ClassRoutine}, []uint64{7, 6, 2}},
		{"since inclusive", EventQuery{Since: at(8)}, []uint64{10, 9, 8}},
		{"until exclusive", EventQuery{Until: at(3)}, []uint64{2, 1}},
		{"since and until", EventQuery{Since: at(4), Until: at(6)}, []uint64{5, 4}},
		{"combined", EventQuery{Zone: "hall", Class: hub.ClassAlarm, UserID: "anna", Types: []hub.EventType{"alarm"}}, []uint64{10}},
		{"no match", EventQuery{Zone: "garage"}, nil},
		{"before", EventQuery{Before: 4}, []uint64{3, 2, 1}},
		{"before beyond the end", EventQuery{Before: 100, Types: []hub.EventType{"armed"}}, []uint64{9, 1}},
		{"after", EventQuery{After: 7}, []uint64{10, 9, 8}},
		{"before and after", EventQuery{After: 2, Before: 6}, []uint64{5, 4, 3}},
		{"ascending after", EventQuery{Ascending: true, After: 6}, []uint64{7, 8, 9, 10}},
		{"ascending after with filter", EventQuery{Ascending: true, After: 1, Types: []hub.EventType{"armed", "alarm"}}, []uint64{3, 9, 10}},
		{"ascending before", EventQuery{Ascending: true, Before: 3}, []uint64{1, 2}},
		{"ascending after the end", EventQuery{Ascending: true, After: 10}, nil},
		{"ascending after max", EventQuery{Ascending: true, After: ^uint64(0)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, next, err := s.Events(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := seqs(evs); !slices.Equal(got, tt.want) {
				t.Errorf("seqs = %v, want %v", got, tt.want)
			}
			if next != 0 {
				t.Errorf("next = %d, want 0", next)
			}
		})
	}

	// With a filter, next is set only when another matching event exists.
	evs, next, err := s.Events(EventQuery{Zone: "hall", Limit: 2})
	if err != nil || !slices.Equal(seqs(evs), []uint64{10, 6}) || next != 6 {
		t.Fatalf("first page = %v, next %d, %v", seqs(evs), next, err)
	}
	evs, next, err = s.Events(EventQuery{Zone: "hall", Limit: 2, Before: next})
	if err != nil || !slices.Equal(seqs(evs), []uint64{5}) || next != 0 {
		t.Fatalf("second page = %v, next %d, %v", seqs(evs), next, err)
	}
	evs, next, _ = s.Events(EventQuery{Types: []hub.EventType{"alarm"}, Limit: 2})
	if !slices.Equal(seqs(evs), []uint64{10, 3}) || next != 0 {
		t.Errorf("exactly full page = %v, next %d; want next 0", seqs(evs), next)
	}
}

func TestEventsEmptyStore(t *testing.T) {
	s := openTest(t, "")
	for _, q := range []EventQuery{{}, {Ascending: true}, {Before: 5}} {
		evs, next, err := s.Events(q)
		if err != nil || len(evs) != 0 || next != 0 {
			t.Errorf("Events(%+v) = %v, %d, %v", q, evs, next, err)
		}
	}
	if seq, err := s.LastEventSeq(); seq != 0 || err != nil {
		t.Errorf("LastEventSeq = %d, %v", seq, err)
	}
}

// TestConcurrentUse runs the alarm path, readers, the uplink and pruning at once; run
// with -race.
func TestConcurrentUse(t *testing.T) {
	s := openTest(t, "")
	const writers, perWriter = 4, 100
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				_, _, err := s.Commit(hub.Batch{
					Events:  []hub.Event{ev(t0.Add(time.Duration(i)*time.Second), "x", hub.ClassAlarm)},
					Reports: []hub.Report{{Event: 0, Zone: w}},
					State:   hub.State{Name: hub.Triggered},
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Add(3)
	go func() {
		defer readers.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, _, err := s.Events(EventQuery{Limit: 10}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	go func() {
		defer readers.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			out, err := s.Outbox(5)
			if err != nil {
				t.Error(err)
				return
			}
			for _, r := range out {
				if err := s.AckReport(r.Seq); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()
	go func() {
		defer readers.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := s.Prune(t0, Retention{MaxEvents: 50, KeepMandatory: 20}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	wg.Wait()
	close(stop)
	readers.Wait()

	if seq, _ := s.LastEventSeq(); seq != writers*perWriter {
		t.Errorf("LastEventSeq = %d, want %d", seq, writers*perWriter)
	}
	if _, err := s.Prune(t0, Retention{MaxEvents: 50, KeepMandatory: 20}); err != nil {
		t.Fatal(err)
	}
	evs, _, _ := s.Events(EventQuery{Limit: 1000})
	if len(evs) != 50 || evs[0].Seq != writers*perWriter {
		t.Errorf("after prune: %d events, newest %d", len(evs), evs[0].Seq)
	}
}

// TestEventsFilterText checks filters on values that JSON escapes and values that
// occur in other fields.
func TestEventsFilterText(t *testing.T) {
	s := openTest(t, "")
	rows := []struct{ zone, user, detail string }{
		{"kök & <hall>", "", ""},          // 1
		{"front", "", ""},                 // 2
		{"back", "front", "front door"},   // 3: "front" only outside Zone
		{"kök & <hall>", "åsa \"q\"", ""}, // 4
		{"front2", "", ""},                // 5
	}
	fill(t, s, len(rows), func(i int) hub.Event {
		e := ev(time.Time{}, "x", "")
		e.Zone, e.Who.UserID, e.Detail = rows[i].zone, rows[i].user, rows[i].detail
		return e
	})
	tests := []struct {
		q    EventQuery
		want []uint64
	}{
		{EventQuery{Zone: "kök & <hall>"}, []uint64{4, 1}},
		{EventQuery{Zone: "front"}, []uint64{2}},
		{EventQuery{UserID: "front"}, []uint64{3}},
		{EventQuery{UserID: "åsa \"q\""}, []uint64{4}},
		{EventQuery{Types: []hub.EventType{"y", "x"}, Zone: "back"}, []uint64{3}},
		{EventQuery{Types: []hub.EventType{"x\u2028"}}, nil},
	}
	for _, tt := range tests {
		evs, _, err := s.Events(tt.q)
		if err != nil || !slices.Equal(seqs(evs), tt.want) {
			t.Errorf("Events(%+v) = %v, %v; want %v", tt.q, seqs(evs), err, tt.want)
		}
	}
}
