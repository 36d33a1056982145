package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Retention bounds the event log. Zero fields mean no bound, except KeepMandatory.
type Retention struct {
	// MaxEvents is the most events to keep (0 = no count limit).
	MaxEvents int
	// MaxAge removes events whose time is older than now-MaxAge (0 = no age limit).
	MaxAge time.Duration
	// KeepMandatory is how many of the newest mandatory events (alarm, tamper, arming)
	// are never removed, even when that leaves more than MaxEvents events or events
	// older than MaxAge. 0 means DefaultKeepMandatory; a negative value protects none.
	KeepMandatory int
}

// DefaultKeepMandatory is the number of newest mandatory events Prune keeps by default.
const DefaultKeepMandatory = 1000

// pruneBatch is the most events one prune transaction removes, so that a large prune
// never holds the write lock (and delays the alarm path) for long.
const pruneBatch = 1000

// Prune removes events by r, and is called periodically (say hourly) and at start-up.
// Events older than MaxAge go first; then, while more than MaxEvents remain, the oldest
// routine events, and only when no routine event is left the oldest mandatory ones.
// The newest KeepMandatory mandatory events are never removed. Sequence numbers of
// removed events are not reused. Outbox entries are not touched.
//
// Prune works through indexes in transactions of at most 1000 removals, so the alarm
// path's commits interleave with a long prune and memory stays small. removed counts
// the events removed; on error, the transactions committed before it stay removed and
// are counted. An error means the file could not be read or written.
func (s *Store) Prune(now time.Time, r Retention) (removed int, err error) {
	keep := r.KeepMandatory
	switch {
	case keep == 0:
		keep = DefaultKeepMandatory
	case keep < 0:
		keep = 0
	}
	var cutoff []byte
	if r.MaxAge > 0 {
		cutoff = timeKey(now.Add(-r.MaxAge))
	}
	for {
		var n int
		err := s.db.Update(func(tx *bolt.Tx) error {
			var err error
			n, err = pruneStep(tx, cutoff, r.MaxEvents, keep, pruneBatch)
			return err
		})
		if err != nil {
			return removed, fmt.Errorf("storage: prune: %w", err)
		}
		removed += n
		if n < pruneBatch {
			return removed, nil
		}
	}
}

// victim is an event to remove, with what is needed to find it in every bucket.
type victim struct {
	seq  []byte // 8-byte key
	flag byte
	tk   []byte // time key
}

// pruneStep removes at most budget events in tx and returns how many it removed; fewer
// than budget means nothing more is due.
func pruneStep(tx *bolt.Tx, cutoff []byte, maxEvents, keep, budget int) (int, error) {
	byClass := tx.Bucket(bucketByClass)
	byTime := tx.Bucket(bucketByTime)
	meta := tx.Bucket(bucketMeta)

	// Mandatory events with a seq below mandLimit may go.
	mandLimit := mandatoryLimit(byClass, keep)

	removed := 0
	var victims []victim
	if cutoff != nil {
		c := byTime.Cursor()
		for k, v := c.First(); k != nil && len(victims) < budget; k, v = c.Next() {
			if len(k) != timeKeyLen+8 || len(v) != 1 {
				continue // not written by this package; leave it
			}
			if bytes.Compare(k[:timeKeyLen], cutoff) >= 0 {
				break
			}
			seq := k[timeKeyLen:]
			if v[0] == flagMandatory && binary.BigEndian.Uint64(seq) >= mandLimit {
				continue // protected
			}
			victims = append(victims, victim{seq: bytes.Clone(seq), flag: v[0], tk: bytes.Clone(k[:timeKeyLen])})
		}
		if err := removeEvents(tx, victims); err != nil {
			return 0, err
		}
		removed = len(victims)
	}

	if maxEvents > 0 && removed < budget {
		total := getUint(meta, keyRoutineCount) + getUint(meta, keyMandatoryCount)
		if total > uint64(maxEvents) {
			want := int(min(total-uint64(maxEvents), uint64(budget-removed)))
			victims = victims[:0]
			c := byClass.Cursor()
			for _, flag := range []byte{flagRoutine, flagMandatory} {
				for k, v := c.Seek([]byte{flag}); k != nil && len(victims) < want; k, v = c.Next() {
					if len(k) != 9 || k[0] != flag {
						break
					}
					if len(v) != timeKeyLen {
						continue
					}
					if flag == flagMandatory && binary.BigEndian.Uint64(k[1:]) >= mandLimit {
						break // the rest are protected
					}
					victims = append(victims, victim{seq: bytes.Clone(k[1:]), flag: flag, tk: bytes.Clone(v)})
				}
			}
			if err := removeEvents(tx, victims); err != nil {
				return 0, err
			}
			removed += len(victims)
		}
	}
	return removed, nil
}

// mandatoryLimit returns the seq of the keep-th newest mandatory event: older ones may
// be removed. It is 0 (none may go) when there are at most keep mandatory events.
func mandatoryLimit(byClass *bolt.Bucket, keep int) uint64 {
	if keep == 0 {
		return math.MaxUint64
	}
	c := byClass.Cursor()
	k, _ := c.Seek([]byte{flagMandatory + 1})
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	for i := 1; i < keep && k != nil && k[0] == flagMandatory; i++ {
		k, _ = c.Prev()
	}
	if k == nil || len(k) != 9 || k[0] != flagMandatory {
		return 0
	}
	// k is the keep-th newest; it stays, older ones may go.
	return binary.BigEndian.Uint64(k[1:])
}

// removeEvents deletes the events and their index entries and updates the counts.
func removeEvents(tx *bolt.Tx, victims []victim) error {
	if len(victims) == 0 {
		return nil
	}
	evb := tx.Bucket(bucketEvents)
	byClass := tx.Bucket(bucketByClass)
	byTime := tx.Bucket(bucketByTime)
	byType := tx.Bucket(bucketByType)
	meta := tx.Bucket(bucketMeta)
	var routine, mandatory uint64
	var key []byte
	for _, v := range victims {
		if typ, ok := storedType(evb.Get(v.seq)); ok {
			key = append(typePrefix(key[:0], typ), v.seq...)
			if err := byType.Delete(key); err != nil {
				return err
			}
		}
		if err := evb.Delete(v.seq); err != nil {
			return err
		}
		if err := byClass.Delete(append([]byte{v.flag}, v.seq...)); err != nil {
			return err
		}
		if err := byTime.Delete(append(bytes.Clone(v.tk), v.seq...)); err != nil {
			return err
		}
		if v.flag == flagMandatory {
			mandatory++
		} else {
			routine++
		}
	}
	if err := putUint(meta, keyRoutineCount, subFloor(getUint(meta, keyRoutineCount), routine)); err != nil {
		return err
	}
	return putUint(meta, keyMandatoryCount, subFloor(getUint(meta, keyMandatoryCount), mandatory))
}

func subFloor(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}
