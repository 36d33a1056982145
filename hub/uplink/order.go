package uplink

import "vakt/hub"

// PriorityThreshold is the queue length above which alarm reports are sent before
// routine ones.
const PriorityThreshold = 10

// firstToSend returns the index in q (oldest first) of the report to send next, or
// -1 when q is empty. queued is the length of the whole outbox, of which q may be
// the oldest part.
//
// Up to PriorityThreshold queued reports go oldest first. Beyond that, the oldest
// alarm report goes first, except that no report overtakes an earlier report of the
// same zone and event code: a restore never overtakes its alarm, and an alarm never
// overtakes the restore of an earlier alarm of the same zone.
func firstToSend(q []hub.Report, queued int) int {
	if len(q) == 0 {
		return -1
	}
	if queued <= PriorityThreshold {
		return 0
	}
	type key struct{ zone, code int }
	seen := make(map[key]bool)
	for i, r := range q {
		k := key{r.Zone, int(r.Code)}
		if r.Alarm && !seen[k] {
			return i
		}
		seen[k] = true
	}
	return 0
}

// sendOrder is the order in which q would be sent if nothing else arrived.
func sendOrder(q []hub.Report, queued int) []hub.Report {
	rest := append([]hub.Report(nil), q...)
	out := make([]hub.Report, 0, len(q))
	for len(rest) > 0 {
		i := firstToSend(rest, queued)
		out = append(out, rest[i])
		rest = append(rest[:i], rest[i+1:]...)
		queued--
	}
	return out
}
