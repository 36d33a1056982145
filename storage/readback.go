package storage

import "vakt/hub"

// EventReader reads the journal's events (a *Store).
type EventReader interface {
	Events(q EventQuery) ([]hub.Event, uint64, error)
}

// Top is the number of the newest event in the journal (0: none).
func Top(r EventReader) (uint64, error) {
	newest, _, err := r.Events(EventQuery{Limit: 1})
	if err != nil || len(newest) == 0 {
		return 0, err
	}
	return newest[0].Seq, nil
}

// ReadBack is for a follower of the hub's updates that the hub dropped as too
// slow: it gives fn, page by page and in order, the journal's events of the given
// types (nil: all) numbered after after, as far as the newest now. When more than
// limit numbers came since, it reads only the newest limit of them and returns
// the last number it skipped (else 0). read is the number it read up to.
func ReadBack(r EventReader, after uint64, types []hub.EventType, limit uint64, fn func([]hub.Event)) (read, skipped uint64, err error) {
	top, err := Top(r)
	if err != nil || top <= after {
		return after, 0, err
	}
	if top-after > limit {
		after = top - limit
		skipped = after
	}
	for after < top {
		page, _, err := r.Events(EventQuery{After: after, Types: types, Ascending: true, Limit: MaxLimit})
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

// ReadBackFunc is ReadBack on r for a hub.Follow: the events of the given types
// (nil: all), the newest limit numbers at most.
func ReadBackFunc(r EventReader, types []hub.EventType, limit uint64) hub.ReadFunc {
	return func(after uint64, fn func([]hub.Event)) (uint64, uint64, error) {
		return ReadBack(r, after, types, limit, fn)
	}
}
