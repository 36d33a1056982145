package storage

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"vakt/hub"
)

// ReadBack reads what came after a number, in order, of the types asked for,
// and only the newest numbers when more than its limit came.
func TestReadBack(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "vakt.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var b hub.Batch
	for seq := uint64(1); seq <= 2500; seq++ { // every tenth an alarm
		e := hub.Event{Seq: seq, Time: time.Unix(int64(seq), 0), Type: hub.EvZoneOpen, Class: hub.ClassRoutine, Zone: "hall"}
		if seq%10 == 0 {
			e.Type, e.Class = hub.EvAlarm, hub.ClassAlarm
		}
		b.Events = append(b.Events, e)
	}
	if _, _, err := s.Commit(b); err != nil {
		t.Fatal(err)
	}
	seqs := func(from, to, step uint64) []uint64 {
		var out []uint64
		for q := from; q <= to; q += step {
			out = append(out, q)
		}
		return out
	}
	for _, tc := range []struct {
		name          string
		after, limit  uint64
		types         []hub.EventType
		want          []uint64
		read, skipped uint64
	}{
		{"all after 5, three pages", 5, 10_000, nil, seqs(6, 2500, 1), 2500, 0},
		{"only the newest 100", 5, 100, nil, seqs(2401, 2500, 1), 2500, 2400},
		{"alarms after 1995", 1995, 10_000, []hub.EventType{hub.EvAlarm}, seqs(2000, 2500, 10), 2500, 0},
		{"alarms among the newest 35", 0, 35, []hub.EventType{hub.EvAlarm}, []uint64{2470, 2480, 2490, 2500}, 2500, 2465},
		{"nothing new", 2500, 10, nil, nil, 2500, 0},
	} {
		var got []uint64
		read, skipped, err := ReadBack(s, tc.after, tc.types, tc.limit, func(page []hub.Event) {
			for _, e := range page {
				got = append(got, e.Seq)
			}
		})
		if err != nil || !slices.Equal(got, tc.want) || read != tc.read || skipped != tc.skipped {
			t.Errorf("%s: read %v (%d of them) up to %d, skipped to %d, %v; want %d of them from %v, up to %d, skipped to %d",
				tc.name, got[:min(len(got), 5)], len(got), read, skipped, err, len(tc.want), tc.want[:min(len(tc.want), 5)], tc.read, tc.skipped)
		}
	}
}
