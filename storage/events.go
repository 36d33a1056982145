package storage

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"vakt/hub"
)

// Class flags of the event indexes: routine events sort before mandatory ones.
const (
	flagRoutine   byte = 0
	flagMandatory byte = 1
)

func classFlag(c hub.EventClass) byte {
	if c.Mandatory() {
		return flagMandatory
	}
	return flagRoutine
}

// timeKeyLen is the length of an encoded event time.
const timeKeyLen = 12

// timeKey encodes t so that byte order is time order: Unix seconds with the sign bit
// flipped, then nanoseconds. It works for every time, the zero time included.
func timeKey(t time.Time) []byte {
	return appendTimeKey(make([]byte, 0, timeKeyLen+8), t)
}

// appendTimeKey appends timeKey(t) to b.
func appendTimeKey(b []byte, t time.Time) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(t.Unix())^(1<<63))
	return binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond()))
}

// Store is the hub's journal.
var _ hub.Journal = (*Store)(nil)

// Commit stores, in one transaction, the events and reports of one or more inputs,
// the latest state and, when b.Config is set, the domain configuration (in place of
// the stored one, as SaveConfig stores it), and when b.Bindings is set the
// adapters' bindings (otherwise they stay as they are). The
// hub's journal writer calls it from its own goroutine, never on the alarm path. An
// event or report with Seq set keeps that number (the hub numbers them); one with
// Seq 0 gets the next sequence number. Sequence numbers are never reused, not even
// after the events are pruned. On input, Report.Event is the index into b.Events of
// the event the report belongs to; on output it is that event's Seq. It returns
// the events and reports as stored; b is not modified (the events returned are
// b.Events itself when every one was numbered already).
//
// An error means nothing of the batch was stored (the transaction rolled back): the
// disk failed or is full, the store is closed, or a report refers to an event index
// outside b.Events.
func (s *Store) Commit(b hub.Batch) ([]hub.Event, []hub.Report, error) {
	for i, r := range b.Reports {
		if r.Event >= uint64(len(b.Events)) {
			return nil, nil, fmt.Errorf("storage: commit: report %d refers to event index %d, but the batch has %d events",
				i, r.Event, len(b.Events))
		}
	}
	state, err := json.Marshal(b.State)
	if err != nil {
		return nil, nil, fmt.Errorf("storage: commit: state: %w", err)
	}
	if b.Bindings != nil && !json.Valid(b.Bindings) {
		return nil, nil, fmt.Errorf("storage: commit: the bindings are not JSON")
	}
	var config []byte
	if b.Config != nil {
		if config, err = encodeConfig(*b.Config); err != nil {
			return nil, nil, fmt.Errorf("storage: commit: %w", err)
		}
	}
	// The caller's events are not modified: they are copied only when the journal
	// numbers one itself (the hub numbers its own, so ingest copies none).
	events, own := b.Events, false
	reports := slices.Clone(b.Reports)
	err = s.db.Update(func(tx *bolt.Tx) error {
		evb := tx.Bucket(bucketEvents)
		byClass := tx.Bucket(bucketByClass)
		byTime := tx.Bucket(bucketByTime)
		byType := tx.Bucket(bucketByType)
		meta := tx.Bucket(bucketMeta)
		evb.FillPercent, byClass.FillPercent, byTime.FillPercent = 1, 1, 1
		var routine, mandatory uint64
		// Keys and values are cut from one buffer: bbolt keeps the slices until the
		// commit, and one allocation per batch is cheaper than five per event.
		var buf []byte
		cut := func(from int) []byte { return buf[from:len(buf):len(buf)] }
		for i := range events {
			seq, err := nextSeq(evb, events[i].Seq)
			if err != nil {
				return err
			}
			if seq != events[i].Seq {
				if !own {
					events, own = slices.Clone(events), true
				}
				events[i].Seq = seq
			}
			e := &events[i]
			if cap(buf)-len(buf) < 512 {
				buf = make([]byte, 0, max(64<<10, 2*cap(buf)))
			}
			at := len(buf)
			if buf, err = appendEvent(buf, e); err != nil {
				return fmt.Errorf("event %d: %w", i, err)
			}
			v := cut(at)
			at = len(buf)
			buf = binary.BigEndian.AppendUint64(buf, seq)
			key := cut(at)
			flag := classFlag(e.Class)
			at = len(buf)
			buf = appendTimeKey(buf, e.Time)
			tk := cut(at)
			if err := evb.Put(key, v); err != nil {
				return err
			}
			at = len(buf)
			buf = append(append(buf, flag), key...)
			if err := byClass.Put(cut(at), tk); err != nil {
				return err
			}
			at = len(buf)
			buf = append(append(buf, tk...), key...)
			timeIdx := cut(at)
			at = len(buf)
			buf = append(buf, flag)
			if err := byTime.Put(timeIdx, cut(at)); err != nil {
				return err
			}
			at = len(buf)
			buf = append(typePrefix(buf, string(e.Type)), key...)
			if err := byType.Put(cut(at), nil); err != nil {
				return err
			}
			if flag == flagMandatory {
				mandatory++
			} else {
				routine++
			}
		}
		if routine > 0 {
			if err := putUint(meta, keyRoutineCount, getUint(meta, keyRoutineCount)+routine); err != nil {
				return err
			}
		}
		if mandatory > 0 {
			if err := putUint(meta, keyMandatoryCount, getUint(meta, keyMandatoryCount)+mandatory); err != nil {
				return err
			}
		}
		out := tx.Bucket(bucketOutbox)
		for i := range reports {
			r := &reports[i]
			seq, err := nextSeq(out, r.Seq)
			if err != nil {
				return err
			}
			r.Seq = seq
			r.Event = events[r.Event].Seq
			v, err := json.Marshal(r)
			if err != nil {
				return fmt.Errorf("report %d: %w", i, err)
			}
			if err := out.Put(seqKey(seq), v); err != nil {
				return err
			}
		}
		if config != nil {
			if err := tx.Bucket(bucketConfig).Put(keyConfig, config); err != nil {
				return err
			}
		}
		if b.Bindings != nil {
			if err := tx.Bucket(bucketConfig).Put(keyBindings, b.Bindings); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketState).Put(keyState, state)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("storage: commit: %w", err)
	}
	return events, reports, nil
}

// nextSeq returns the sequence number of a new record in b: want when the caller
// numbered it (the bucket's sequence then moves up to it), else the next one.
func nextSeq(b *bolt.Bucket, want uint64) (uint64, error) {
	if want == 0 {
		return b.NextSequence()
	}
	if want > b.Sequence() {
		if err := b.SetSequence(want); err != nil {
			return 0, err
		}
	}
	return want, nil
}

// Sequences returns the highest event and outbox sequence numbers ever assigned (0
// for a new store). The hub numbers what it commits from there. An error means the
// file could not be read.
func (s *Store) Sequences() (events, reports uint64, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		events = tx.Bucket(bucketEvents).Sequence()
		reports = tx.Bucket(bucketOutbox).Sequence()
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("storage: sequences: %w", err)
	}
	return events, reports, nil
}

// EventQuery selects events from the log. The zero value asks for the newest 100.
type EventQuery struct {
	// Before keeps only events with Seq < Before (0 = no bound): the paging cursor when
	// going back in time.
	Before uint64
	// After keeps only events with Seq > After: the cursor of a stream going forward.
	After uint64
	// Since (inclusive) and Until (exclusive) bound the event time; zero is unbounded.
	Since, Until time.Time
	// Types keeps events whose Type is one of these (empty = any).
	Types []hub.EventType
	// Zone keeps events of this zone (Event.Zone).
	Zone string
	// UserID keeps events done by this user (Event.Who.UserID).
	UserID string
	// Class keeps events of this class; a stored event without a class is routine.
	Class hub.EventClass
	// Limit is the page size: default 100, at most 1000.
	Limit int
	// Ascending returns the oldest first instead of the newest first.
	Ascending bool
}

// Query limits.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

func (q *EventQuery) match(e *hub.Event) bool {
	if len(q.Types) > 0 && !slices.Contains(q.Types, e.Type) {
		return false
	}
	if q.Zone != "" && e.Zone != q.Zone {
		return false
	}
	if q.UserID != "" && e.Who.UserID != q.UserID {
		return false
	}
	if q.Class != "" {
		c := e.Class
		if c == "" {
			c = hub.ClassRoutine
		}
		if c != q.Class {
			return false
		}
	}
	if !q.Since.IsZero() && e.Time.Before(q.Since) {
		return false
	}
	if !q.Until.IsZero() && !e.Time.Before(q.Until) {
		return false
	}
	return true
}

// prefilter is a cheap test on the stored JSON that rejects most records a query does
// not match without decoding them. Each group lists strings of which at least one must
// occur verbatim in the record. Only plain strings are used: encoding/json writes them
// byte for byte, so a record that matches always passes; records that pass are then
// decoded and matched exactly.
type prefilter [][][]byte

func (q *EventQuery) prefilter() prefilter {
	var p prefilter
	add := func(alts ...string) {
		var g [][]byte
		for _, a := range alts {
			if !plain(a) {
				return
			}
			g = append(g, []byte(a))
		}
		if len(g) > 0 {
			p = append(p, g)
		}
	}
	types := make([]string, len(q.Types))
	for i, t := range q.Types {
		types[i] = string(t)
	}
	add(types...)
	if q.Zone != "" {
		add(q.Zone)
	}
	if q.UserID != "" {
		add(q.UserID)
	}
	if q.Class != "" && q.Class != hub.ClassRoutine { // routine also matches an empty class
		add(string(q.Class))
	}
	return p
}

// plain reports whether s is non-empty printable ASCII that JSON encoders never escape.
func plain(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

func (p prefilter) pass(v []byte) bool {
	for _, g := range p {
		if !slices.ContainsFunc(g, func(s []byte) bool { return bytes.Contains(v, s) }) {
			return false
		}
	}
	return true
}

// Events returns one page of the event log that matches q, newest first unless
// q.Ascending. It is called by the API's event pages and streams. next is the cursor
// for the following page: pass it as q.Before (newest first) or q.After (Ascending),
// with the same filters; it is 0 when no more events match. A query with Types
// reads only those types' events, through the index by type; other filters are
// applied while the log is walked in sequence order, so a filter that matches
// rarely may walk much of the log.
//
// An event that is stored but does not decode is left out and recorded in Damaged; it
// does not fail the query. An error means the file could not be read.
func (s *Store) Events(q EventQuery) (events []hub.Event, next uint64, err error) {
	return s.events(q, true)
}

// events is Events; byType false walks the log even for a query with Types (the
// benchmark's baseline).
func (s *Store) events(q EventQuery, byType bool) (events []hub.Event, next uint64, err error) {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	pre := q.prefilter()
	// take decodes and matches one stored event; false when the page is full.
	take := func(k, v []byte, seq uint64) bool {
		if !pre.pass(v) {
			return true
		}
		var e hub.Event
		if err := json.Unmarshal(v, &e); err != nil {
			s.noteDamaged(bucketEvents, k)
			return true
		}
		e.Seq = seq
		if !q.match(&e) {
			return true
		}
		if len(events) == limit {
			next = events[limit-1].Seq
			return false
		}
		events = append(events, e)
		return true
	}
	if byType && len(q.Types) > 0 {
		if q.Ascending && q.After == math.MaxUint64 {
			return nil, 0, nil
		}
		err = s.db.View(func(tx *bolt.Tx) error {
			evb := tx.Bucket(bucketEvents)
			typeWalk(tx, q.Types, q.After, q.Before, q.Ascending, func(seq uint64) bool {
				k := seqKey(seq)
				v := evb.Get(k)
				if v == nil {
					return true // an entry without its event (never written so): skipped
				}
				return take(k, v, seq)
			})
			return nil
		})
		if err != nil {
			return nil, 0, fmt.Errorf("storage: events: %w", err)
		}
		return events, next, nil
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		var k, v []byte
		step := c.Prev
		switch {
		case q.Ascending:
			if q.After == math.MaxUint64 {
				return nil
			}
			k, v = c.Seek(seqKey(q.After + 1))
			step = c.Next
		case q.Before == 0:
			k, v = c.Last()
		default:
			if k, _ = c.Seek(seqKey(q.Before)); k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
		}
		for ; k != nil; k, v = step() {
			if len(k) != 8 {
				s.noteDamaged(bucketEvents, k)
				continue
			}
			seq := binary.BigEndian.Uint64(k)
			if seq <= q.After || (q.Before != 0 && seq >= q.Before) {
				break
			}
			if !take(k, v, seq) {
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("storage: events: %w", err)
	}
	return events, next, nil
}

// LastEventSeq returns the highest journal sequence number ever assigned (0 for a new
// store), whether or not that event was since pruned. A stream starts after it. An
// error means the file could not be read.
func (s *Store) LastEventSeq() (uint64, error) {
	var seq uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		seq = tx.Bucket(bucketEvents).Sequence()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("storage: last event seq: %w", err)
	}
	return seq, nil
}
