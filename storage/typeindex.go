package storage

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"slices"

	bolt "go.etcd.io/bbolt"

	"vakt/hub"
)

// The index of events by type (bucketByType) lets a page of a rare type read only
// that type's events instead of walking the log: typePrefix(type) + seq(8) for
// every stored event, kept in the transaction that stores or removes it.

// typePrefix appends the index prefix of typ to b: its length (uvarint), then
// the type. Every key of one type starts with it, and with no other type's.
func typePrefix(b []byte, typ string) []byte {
	b = binary.AppendUvarint(b, uint64(len(typ)))
	return append(b, typ...)
}

// storedType reads the type of a stored event record.
func storedType(v []byte) (string, bool) {
	if v == nil {
		return "", false
	}
	var e struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(v, &e); err != nil {
		return "", false
	}
	return e.Type, true
}

// typeCursor walks one type's entries of the index in sequence order.
type typeCursor struct {
	c      *bolt.Cursor
	prefix []byte
	seq    uint64 // the current entry's; valid while ok
	ok     bool
}

func (tc *typeCursor) set(k []byte) {
	tc.ok = k != nil && len(k) == len(tc.prefix)+8 && bytes.HasPrefix(k, tc.prefix)
	if tc.ok {
		tc.seq = binary.BigEndian.Uint64(k[len(tc.prefix):])
	}
}

// typeWalk yields, newest first (or oldest first when ascending), the sequence
// numbers of the events of the given types within (after, before) (before 0: no
// bound), until yield returns false.
func typeWalk(tx *bolt.Tx, types []hub.EventType, after, before uint64, ascending bool, yield func(seq uint64) bool) {
	b := tx.Bucket(bucketByType)
	var cs []*typeCursor
	for _, typ := range types {
		prefix := typePrefix(nil, string(typ))
		if slices.ContainsFunc(cs, func(c *typeCursor) bool { return bytes.Equal(c.prefix, prefix) }) {
			continue
		}
		tc := &typeCursor{c: b.Cursor(), prefix: prefix}
		if ascending {
			k, _ := tc.c.Seek(append(slices.Clone(prefix), seqKey(after+1)...))
			tc.set(k)
		} else {
			upper := before
			if upper == 0 {
				upper = ^uint64(0)
			}
			k, _ := tc.c.Seek(append(slices.Clone(prefix), seqKey(upper)...))
			if k == nil {
				k, _ = tc.c.Last()
			} else {
				k, _ = tc.c.Prev()
			}
			tc.set(k)
		}
		cs = append(cs, tc)
	}
	for {
		var next *typeCursor
		for _, tc := range cs {
			if tc.ok && (next == nil || (ascending && tc.seq < next.seq) || (!ascending && tc.seq > next.seq)) {
				next = tc
			}
		}
		if next == nil || next.seq <= after || (before != 0 && next.seq >= before) {
			return
		}
		if !yield(next.seq) {
			return
		}
		var k []byte
		if ascending {
			k, _ = next.c.Next()
		} else {
			k, _ = next.c.Prev()
		}
		next.set(k)
	}
}
