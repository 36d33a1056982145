package storage

import (
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"vakt/hub"
)

func TestPrune(t *testing.T) {
	// Each case commits events built from a class pattern (one letter per event, oldest
	// first, one minute apart from t0): r routine, f fault (routine), a alarm,
	// t tamper, m arming (mandatory). It prunes at now and checks the surviving seqs.
	now := t0.Add(time.Hour)
	tests := []struct {
		name        string
		pattern     string
		r           Retention
		wantRemoved int
		want        []uint64 // surviving seqs, ascending
	}{
		{"nothing to do", "rrmm", Retention{MaxEvents: 10, MaxAge: 24 * time.Hour}, 0, span(1, 4)},
		{"zero retention removes nothing", "rrrr", Retention{}, 0, span(1, 4)},
		{"count: oldest routine first", "rrrrr", Retention{MaxEvents: 2}, 3, []uint64{4, 5}},
		{"count: routine before older mandatory", "aamrrfrr", Retention{MaxEvents: 4}, 4, []uint64{1, 2, 3, 8}},
		{"count: then mandatory oldest first", "rarmrtm", Retention{MaxEvents: 2, KeepMandatory: -1}, 5, []uint64{6, 7}},
		{"count: keeps newest KeepMandatory", "amtarr", Retention{MaxEvents: 1, KeepMandatory: 2}, 4, []uint64{3, 4}},
		{"count: KeepMandatory beyond MaxEvents", "aaaaa", Retention{MaxEvents: 2, KeepMandatory: 4}, 1, span(2, 5)},
		{"count: default KeepMandatory keeps 1000", "aaarr", Retention{MaxEvents: 1}, 2, []uint64{1, 2, 3}},
		{"age: removes old events of every class", "rarmrr", Retention{MaxAge: 57 * time.Minute, KeepMandatory: -1}, 3, []uint64{4, 5, 6}},
		{"age: boundary is not older", "rrrr", Retention{MaxAge: 58 * time.Minute}, 2, []uint64{3, 4}},
		{"age: keeps newest KeepMandatory", "amrrtr", Retention{MaxAge: time.Minute, KeepMandatory: 2}, 4, []uint64{2, 5}},
		{"age then count, routine first", "rrarrr", Retention{MaxAge: 58 * time.Minute, MaxEvents: 2, KeepMandatory: -1}, 4, []uint64{3, 6}},
		{"age then count, mandatory last", "rrarrr", Retention{MaxAge: 58 * time.Minute, MaxEvents: 1, KeepMandatory: -1}, 5, []uint64{3}},
		{"age then count, mandatory too", "rraarr", Retention{MaxAge: 59 * time.Minute, MaxEvents: 1, KeepMandatory: -1}, 5, []uint64{4}},
	}
	classes := map[byte]hub.EventClass{'r': hub.ClassRoutine, 'f': hub.ClassFault, 'a': hub.ClassAlarm, 't': hub.ClassTamper, 'm': hub.ClassArming}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTest(t, "")
			// Event i (seq i+1) is 60-i minutes old.
			fill(t, s, len(tt.pattern), func(i int) hub.Event {
				return ev(now.Add(-time.Duration(60-i)*time.Minute), "x", classes[tt.pattern[i]])
			})
			removed, err := s.Prune(now, tt.r)
			if err != nil {
				t.Fatal(err)
			}
			evs, _, err := s.Events(EventQuery{Ascending: true, Limit: MaxLimit})
			if err != nil {
				t.Fatal(err)
			}
			if got := seqs(evs); removed != tt.wantRemoved || !slices.Equal(got, tt.want) {
				t.Errorf("removed %d, left %v; want %d, %v", removed, got, tt.wantRemoved, tt.want)
			}
			// A second prune has nothing left to do.
			if again, err := s.Prune(now, tt.r); again != 0 || err != nil {
				t.Errorf("second Prune = %d, %v", again, err)
			}
			checkIndexes(t, s)
		})
	}
}

// TestPruneLarge prunes across several transactions and checks the mandatory
// protection, the counts and the indexes.
func TestPruneLarge(t *testing.T) {
	s := openTest(t, "")
	const n = 5000
	// Every 10th event is an alarm: 500 mandatory, 4500 routine. Commit in big batches.
	var batch hub.Batch
	for i := range n {
		class := hub.ClassRoutine
		if i%10 == 0 {
			class = hub.ClassAlarm
		}
		batch.Events = append(batch.Events, ev(t0.Add(time.Duration(i)*time.Second), "x", class))
		if len(batch.Events) == 500 {
			commit(t, s, batch)
			batch.Events = nil
		}
	}
	// Keep 1000: all 500 mandatory stay, and the newest 500 routine.
	removed, err := s.Prune(t0, Retention{MaxEvents: 1000, KeepMandatory: 300})
	if err != nil || removed != 4000 {
		t.Fatalf("Prune = %d, %v; want 4000", removed, err)
	}
	var routineSeqs []uint64
	for seq := uint64(1); seq <= n; seq++ {
		if (seq-1)%10 != 0 {
			routineSeqs = append(routineSeqs, seq)
		}
	}
	oldestKept := routineSeqs[len(routineSeqs)-500]
	evs, _, _ := s.Events(EventQuery{Limit: MaxLimit})
	mand := 0
	for _, e := range evs {
		if e.Class.Mandatory() {
			mand++
		} else if e.Seq < oldestKept {
			t.Fatalf("routine event %d survived; the oldest kept should be %d", e.Seq, oldestKept)
		}
	}
	if len(evs) != 1000 || mand != 500 {
		t.Errorf("left %d events, %d mandatory; want 1000, 500", len(evs), mand)
	}
	// Down to 100: routine goes first, then mandatory down to the protected 300.
	removed, err = s.Prune(t0, Retention{MaxEvents: 100, KeepMandatory: 300})
	if err != nil || removed != 700 {
		t.Fatalf("Prune = %d, %v; want 700", removed, err)
	}
	evs, _, _ = s.Events(EventQuery{Limit: MaxLimit})
	for _, e := range evs {
		if !e.Class.Mandatory() {
			t.Fatalf("routine event %d survived", e.Seq)
		}
	}
	if len(evs) != 300 || evs[299].Seq != n-10*300+1 {
		t.Errorf("left %d events, oldest %d", len(evs), evs[len(evs)-1].Seq)
	}
	checkIndexes(t, s)
}

// checkIndexes verifies that the indexes and counts agree with the log.
func checkIndexes(t *testing.T, s *Store) {
	t.Helper()
	evs, _, err := s.Events(EventQuery{Limit: MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	var routine, mandatory uint64
	for _, e := range evs {
		if e.Class.Mandatory() {
			mandatory++
		} else {
			routine++
		}
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if r, m := getUint(meta, keyRoutineCount), getUint(meta, keyMandatoryCount); r != routine || m != mandatory {
			t.Errorf("counts %d routine, %d mandatory; log has %d, %d", r, m, routine, mandatory)
		}
		if n := tx.Bucket(bucketByClass).Stats().KeyN; n != len(evs) {
			t.Errorf("class index has %d entries, log %d", n, len(evs))
		}
		if n := tx.Bucket(bucketByTime).Stats().KeyN; n != len(evs) {
			t.Errorf("time index has %d entries, log %d", n, len(evs))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
