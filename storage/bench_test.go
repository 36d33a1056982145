package storage

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"vakt/hub"
)

// BenchmarkCommit measures the alarm path: one event, one report and the state per
// transaction. "sync" includes the fsync that makes a commit survive a power cut.
func BenchmarkCommit(b *testing.B) {
	for _, noSync := range []bool{false, true} {
		name := "sync"
		if noSync {
			name = "nosync"
		}
		b.Run(name, func(b *testing.B) {
			s, err := Open(filepath.Join(b.TempDir(), "vakt.db"), Options{NoSync: noSync})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			st := fullState()
			e := ev(t0, "alarm", hub.ClassAlarm)
			e.Zone, e.State, e.Who = "front", hub.Triggered, hub.Actor{Device: "front", Via: hub.ViaSensor}
			r := hub.Report{Event: 0, Time: t0, Code: 130, Qualifier: hub.QualNew, Partition: 1, Zone: 1, Alarm: true}
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := s.Commit(hub.Batch{Events: []hub.Event{e}, Reports: []hub.Report{r}, State: st}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCommitBatch measures ingest: batches of 1,000 zone events, numbered by
// the hub as it does, in one transaction each (no fsync: the figure is the CPU per
// event), into a log that already holds other types. ns/op is per event.
func BenchmarkCommitBatch(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "vakt.db"), Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	st := fullState()
	var seq uint64
	batch := func(n int, types ...hub.EventType) []hub.Event {
		evs := make([]hub.Event, n)
		for i := range evs {
			seq++
			evs[i] = ev(t0.Add(time.Duration(seq)*time.Millisecond), types[i%len(types)], hub.ClassRoutine)
			evs[i].Seq, evs[i].Zone, evs[i].State = seq, fmt.Sprintf("pir%d", i%100), hub.ArmedNight
			evs[i].Who = hub.Actor{Device: evs[i].Zone, Via: hub.ViaSensor}
		}
		return evs
	}
	for range 20 {
		if _, _, err := s.Commit(hub.Batch{Events: batch(1000, "armed", "disarmed", "zone_open", "zone_closed", "tamper"), State: st}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	const n = 1000
	for b.Loop() {
		b.StopTimer()
		evs := batch(n, hub.EvZoneOpen, hub.EvZoneClosed)
		b.StartTimer()
		if _, _, err := s.Commit(hub.Batch{Events: evs, State: st}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
}

// BenchmarkEventsPage reads one page of 100 from a log of 1,000,000 events (goal:
// ≤ 5 ms a page).
func BenchmarkEventsPage(b *testing.B) {
	const n = 1_000_000
	s, err := Open(filepath.Join(b.TempDir(), "vakt.db"), Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var batch hub.Batch
	for i := range n {
		e := ev(t0.Add(time.Duration(i)*time.Second), "open", hub.ClassRoutine)
		e.Zone = fmt.Sprintf("zone%d", i%20)
		if i%1000 == 0 {
			e.Type, e.Class = "alarm", hub.ClassAlarm
		}
		batch.Events = append(batch.Events, e)
		if len(batch.Events) == 1000 {
			if _, _, err := s.Commit(batch); err != nil {
				b.Fatal(err)
			}
			batch.Events = batch.Events[:0]
		}
	}
	// "rare type, walking the log" is the same query without the index by type
	// (the baseline, in the same run).
	for _, bc := range []struct {
		name   string
		q      EventQuery
		noType bool
	}{
		{"newest", EventQuery{}, false},
		{"middle", EventQuery{Before: n / 2}, false},
		{"ascending", EventQuery{Ascending: true, After: n / 2}, false},
		{"zone filter", EventQuery{Zone: "zone7"}, false},
		{"rare type", EventQuery{Types: []hub.EventType{"alarm"}}, false},
		{"rare type, walking the log", EventQuery{Types: []hub.EventType{"alarm"}}, true},
		{"rare type, middle", EventQuery{Types: []hub.EventType{"alarm"}, Before: n / 2}, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				evs, _, err := s.events(bc.q, !bc.noType)
				if err != nil || len(evs) != 100 {
					b.Fatalf("%d events, %v", len(evs), err)
				}
			}
		})
	}
}

// BenchmarkPrune removes half of a 100,000-event log by count.
func BenchmarkPrune(b *testing.B) {
	const n = 100_000
	for b.Loop() {
		b.StopTimer()
		s, err := Open(filepath.Join(b.TempDir(), "vakt.db"), Options{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		var batch hub.Batch
		for i := range n {
			class := hub.ClassRoutine
			if i%10 == 0 {
				class = hub.ClassArming
			}
			batch.Events = append(batch.Events, ev(t0.Add(time.Duration(i)*time.Second), "x", class))
			if len(batch.Events) == 1000 {
				if _, _, err := s.Commit(batch); err != nil {
					b.Fatal(err)
				}
				batch.Events = batch.Events[:0]
			}
		}
		b.StartTimer()
		removed, err := s.Prune(t0, Retention{MaxEvents: n / 2})
		if err != nil || removed != n/2 {
			b.Fatalf("removed %d, %v", removed, err)
		}
		b.StopTimer()
		_ = s.Close()
		b.StartTimer()
	}
}
