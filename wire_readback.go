// Reading back from the journal what a follower of the hub's updates missed
// when the hub dropped it as too slow.

package main

import (
	"vakt/hub"
	"vakt/storage"
)

// journalTop is the number of the newest event in the journal (0: none).
func journalTop(j eventLog) (uint64, error) {
	newest, _, err := j.Events(storage.EventQuery{Limit: 1})
	if err != nil || len(newest) == 0 {
		return 0, err
	}
	return newest[0].Seq, nil
}

// readBack gives fn, page by page and in order, the journal's events of the
// given types (nil: all) numbered after after, as far as the newest now. When
// more than limit numbers came since, it reads only the newest limit of them and
// returns the last number it skipped (else 0). read is the number it read up to.
func readBack(j eventLog, after uint64, types []hub.EventType, limit uint64, fn func([]hub.Event)) (read, skipped uint64, err error) {
	top, err := journalTop(j)
	if err != nil || top <= after {
		return after, 0, err
	}
	if top-after > limit {
		after = top - limit
		skipped = after
	}
	for after < top {
		page, _, err := j.Events(storage.EventQuery{After: after, Types: types, Ascending: true, Limit: storage.MaxLimit})
		if err != nil {
			return after, skipped, err
		}
		if len(page) == 0 {
			break
		}
		fn(page)
		after = page[len(page)-1].Seq
	}
	return max(after, top), skipped, nil
}
