package storage

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"vakt/hub"
)

// pages reads every page of q, through the index or by walking the log, and
// returns the sequence numbers in order with each page's cursor.
func pages(t *testing.T, s *Store, q EventQuery, byType bool) []string {
	t.Helper()
	var out []string
	for range 1000 {
		evs, next, err := s.events(q, byType)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			out = append(out, fmt.Sprint(e.Seq, " ", e.Type))
		}
		out = append(out, fmt.Sprint("next ", next))
		if next == 0 {
			return out
		}
		if q.Ascending {
			q.After = next
		} else {
			q.Before = next
		}
	}
	t.Fatal("paging does not end")
	return nil
}

// The index by type answers exactly what walking the log answers, for every kind
// of query, after commits and a prune, and after a migration from schema 2
// built it for a file that had none.
func TestTypeIndexMatchesTheLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vakt.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	types := []hub.EventType{"zone_open", "zone_closed", "alarm", "armed", "a", "ab", "fault"}
	for i := range 30 {
		var b hub.Batch
		for j := range 100 {
			typ := types[rng.IntN(len(types))]
			class := hub.ClassRoutine
			if typ == "alarm" || typ == "armed" {
				class = hub.ClassArming
			}
			e := ev(t0.Add(time.Duration(i*100+j)*time.Second), typ, class)
			e.Zone = fmt.Sprint("z", rng.IntN(4))
			b.Events = append(b.Events, e)
		}
		commit(t, s, b)
	}
	if _, err := s.Prune(t0, Retention{MaxEvents: 2000, KeepMandatory: -1}); err != nil {
		t.Fatal(err)
	}
	queries := []EventQuery{
		{Types: []hub.EventType{"alarm"}},
		{Types: []hub.EventType{"a"}, Limit: 7},
		{Types: []hub.EventType{"ab", "a", "ab"}, Limit: 50},
		{Types: []hub.EventType{"fault", "armed"}, Zone: "z2", Limit: 10},
		{Types: []hub.EventType{"zone_open"}, Ascending: true, Limit: 33},
		{Types: []hub.EventType{"zone_open", "alarm"}, Ascending: true, After: 1500, Limit: 20},
		{Types: []hub.EventType{"zone_closed"}, Before: 2500, After: 1200},
		{Types: []hub.EventType{"nothing"}},
		{Types: []hub.EventType{"alarm"}, Since: t0.Add(2000 * time.Second), Until: t0.Add(2500 * time.Second)},
	}
	check := func(when string) {
		t.Helper()
		// One entry per stored event, none for a removed one.
		var events, entries int
		_ = s.db.View(func(tx *bolt.Tx) error {
			events, entries = tx.Bucket(bucketEvents).Stats().KeyN, tx.Bucket(bucketByType).Stats().KeyN
			return nil
		})
		if events != 2000 || entries != events {
			t.Fatalf("%s: %d events, %d index entries", when, events, entries)
		}
		for _, q := range queries {
			want := pages(t, s, q, false)
			if got := pages(t, s, q, true); !slices.Equal(got, want) {
				t.Fatalf("%s: %+v:\n index %q\n  walk %q", when, q, got, want)
			}
			if len(want) < 2 && q.Types[0] != "nothing" {
				t.Fatalf("%s: %+v finds nothing: a weak test", when, q)
			}
		}
	}
	check("after commits and a prune")
	// A schema 2 file: the index was not there.
	s.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketByType); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keySchema, []byte("2"))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if s, err = Open(path, Options{NoSync: true}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check("after the migration from schema 2")
}
