package storage

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"vakt/hub"
)

// Outbox returns up to limit queued reports, oldest first (limit <= 0 returns all).
// The uplink calls it to find what to send; a report stays queued until AckReport.
// A queued report that does not decode is left out and recorded in Damaged. An error
// means the file could not be read.
func (s *Store) Outbox(limit int) ([]hub.Report, error) {
	var reports []hub.Report
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, v := c.First(); k != nil && (limit <= 0 || len(reports) < limit); k, v = c.Next() {
			var r hub.Report
			if len(k) != 8 || json.Unmarshal(v, &r) != nil {
				s.noteDamaged(bucketOutbox, k)
				continue
			}
			r.Seq = binary.BigEndian.Uint64(k)
			reports = append(reports, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: outbox: %w", err)
	}
	return reports, nil
}

// OutboxLen returns the number of queued reports (damaged ones included), for status
// pages and metrics. An error means the file could not be read.
func (s *Store) OutboxLen() (int, error) {
	var n int
	err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketOutbox).Stats().KeyN
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("storage: outbox len: %w", err)
	}
	return n, nil
}

// AckReport removes the report with outbox sequence seq. The uplink calls it after
// the receiving centre acknowledged the report, never before. An unknown seq (already
// acknowledged) is not an error. An error means the file could not be written and the
// report stays queued, so it will be sent again.
func (s *Store) AckReport(seq uint64) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOutbox).Delete(seqKey(seq))
	})
	if err != nil {
		return fmt.Errorf("storage: ack report %d: %w", seq, err)
	}
	return nil
}
