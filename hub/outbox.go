package hub

import (
	"slices"
	"sync"
)

// DurableOutbox is the persistent queue of reports that the journal fills (the
// store's outbox).
type DurableOutbox interface {
	Outbox(limit int) ([]Report, error)
	AckReport(seq uint64) error
	OutboxLen() (int, error)
}

// ReportQueue is the outbox the uplink reads: the durable outbox, plus the reports
// of batches whose commit failed, which are held in memory until the disk takes
// them. A full or failing disk therefore never keeps an alarm from the monitoring
// centre. Reports keep their sequence numbers whether they are held or stored, so
// the uplink sees one ordered queue.
//
// It is made once at start by main and shared by the hub's journal writer (which
// holds and releases reports) and the uplink (which reads and acknowledges); every
// method is safe for concurrent use.
type ReportQueue struct {
	durable DurableOutbox

	mu   sync.Mutex
	held []Report // not yet stored, oldest first
	// ackedHeld are held reports the centre acknowledged while the journal was
	// writing them: they are deleted from the durable outbox once written.
	ackedHeld map[uint64]bool
	// deletes are stored reports the centre acknowledged whose deletion failed
	// (the disk refused it): hidden from the uplink and deleted later.
	deletes map[uint64]bool
}

// NewReportQueue returns the queue over the durable outbox d.
func NewReportQueue(d DurableOutbox) *ReportQueue {
	return &ReportQueue{durable: d, ackedHeld: map[uint64]bool{}, deletes: map[uint64]bool{}}
}

// Outbox returns up to limit queued reports, oldest first (limit <= 0: all), the
// held ones included. When the durable outbox cannot be read, the held reports are
// returned anyway and the error only if there are none.
func (q *ReportQueue) Outbox(limit int) ([]Report, error) {
	q.mu.Lock()
	held := slices.Clone(q.held)
	hidden := len(q.deletes) > 0
	q.mu.Unlock()
	// The held reports are read before the durable ones: a report that moves from
	// memory to the disk in between is then seen twice (and deduplicated), never
	// missed.
	stored, err := q.durable.Outbox(limit)
	if err != nil && len(held) == 0 {
		return nil, err
	}
	if hidden {
		q.mu.Lock()
		stored = slices.DeleteFunc(stored, func(r Report) bool { return q.deletes[r.Seq] })
		q.mu.Unlock()
	}
	all := append(stored, held...)
	slices.SortFunc(all, func(a, b Report) int {
		switch {
		case a.Seq < b.Seq:
			return -1
		case a.Seq > b.Seq:
			return 1
		}
		return 0
	})
	all = slices.CompactFunc(all, func(a, b Report) bool { return a.Seq == b.Seq })
	if limit > 0 && len(all) > limit {
		all = all[:limit]
	}
	return all, nil
}

// OutboxLen returns the number of queued reports, held ones included.
func (q *ReportQueue) OutboxLen() (int, error) {
	q.mu.Lock()
	n := len(q.held) - len(q.deletes)
	q.mu.Unlock()
	m, err := q.durable.OutboxLen()
	if err != nil && n == 0 {
		return 0, err
	}
	return max(n+m, 0), nil
}

// AckReport removes a report the centre acknowledged: from memory if it is held,
// else from the durable outbox. A deletion the disk refuses is remembered and
// retried after the next good commit; the report is not offered again meanwhile.
func (q *ReportQueue) AckReport(seq uint64) error {
	q.mu.Lock()
	if i := slices.IndexFunc(q.held, func(r Report) bool { return r.Seq == seq }); i >= 0 {
		q.held = slices.Delete(q.held, i, i+1)
		q.ackedHeld[seq] = true
		q.mu.Unlock()
		return nil
	}
	q.mu.Unlock()
	if err := q.durable.AckReport(seq); err != nil {
		q.mu.Lock()
		q.deletes[seq] = true
		q.mu.Unlock()
	}
	return nil
}

// hold keeps reports whose commit failed, until written or acknowledged.
func (q *ReportQueue) hold(rs []Report) {
	if len(rs) == 0 {
		return
	}
	q.mu.Lock()
	q.held = append(q.held, rs...)
	q.mu.Unlock()
}

// acked reports whether a held report was acknowledged: the journal then leaves it
// out of the batch.
func (q *ReportQueue) acked(seq uint64) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.ackedHeld[seq]
}

// written tells the queue that these held reports are now stored. Any that were
// acknowledged meanwhile are deleted from the durable outbox, and so are earlier
// acknowledged reports whose deletion failed.
func (q *ReportQueue) written(seqs []uint64) {
	q.mu.Lock()
	var del []uint64
	for _, s := range seqs {
		if q.ackedHeld[s] {
			delete(q.ackedHeld, s)
			del = append(del, s)
		}
	}
	q.held = slices.DeleteFunc(q.held, func(r Report) bool { return slices.Contains(seqs, r.Seq) })
	for s := range q.deletes {
		del = append(del, s)
	}
	q.mu.Unlock()
	for _, s := range del {
		err := q.durable.AckReport(s)
		q.mu.Lock()
		if err != nil {
			q.deletes[s] = true
		} else {
			delete(q.deletes, s)
		}
		q.mu.Unlock()
	}
}

// hasDeletes reports whether acknowledged reports wait for their deletion.
func (q *ReportQueue) hasDeletes() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.deletes) > 0
}

// forgetAcked drops the acknowledgement marks of held reports that were left out
// of a written batch.
func (q *ReportQueue) forgetAcked(seqs []uint64) {
	q.mu.Lock()
	for _, s := range seqs {
		delete(q.ackedHeld, s)
	}
	q.mu.Unlock()
}

// Held is the number of reports held in memory (their commit failed), for health
// pages.
func (q *ReportQueue) Held() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.held)
}
