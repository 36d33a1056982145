package uplink

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"vakt/hub"
	"vakt/hub/uplink/sia"
)

// Timing of the sender.
const (
	// firstRetry is the back-off after the first failure; it doubles up to
	// maxRetry, or the path's poll interval when that is shorter, so a lost path
	// is tried again at least once per poll interval.
	firstRetry = 2 * time.Second
	maxRetry   = 5 * time.Minute
	// storeRetry is the wait before reading the outbox again after a read error.
	storeRetry = 5 * time.Second
	// window is how many of the oldest queued reports the sender looks at.
	window = 256
)

// pathState is the sender's view of one path. All fields but link are owned by the
// scheduler goroutine.
type pathState struct {
	idx  int
	cfg  Path
	link *link

	busy       bool // an exchange is in flight
	busyReport bool // ... and it carries a report
	state      string
	failures   int
	retryAt    time.Time // after a failure: no attempt before
	lastSend   time.Time // the last message started; polls count from here
	needProbe  bool      // a NULL goes first: at start, before any report
	// staleCleared and clockCleared: the faults were cleared once since start.
	staleCleared bool
	clockCleared bool
	lostFault    bool // "uplink:<name>" raised
	lostAtStart  bool // lost before the restart (LostStore): raise the fault at Run
	clockFault   bool // "uplink:<name>:clock" raised
	lastAck      time.Time
	lastErr      string
	lastErrAt    time.Time
	dcSeq        map[uint64]int // outbox seq -> DC-09 seq of its last attempt here
}

func newPathState(i int, p Path, l *link) *pathState {
	return &pathState{idx: i, cfg: p, link: l, state: StateUnknown, needProbe: true, dcSeq: map[uint64]int{}}
}

func (p *pathState) lost() bool { return p.state == StateLost }

// backoff is the wait after the n-th failure in a row.
func (p *pathState) backoff(n int) time.Duration {
	limit := min(maxRetry, p.cfg.Poll.D())
	d := firstRetry
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// track is what the sender knows about one queued report, per path.
type track struct {
	acked []bool
	duh   []bool // refused with DUH, or cannot be written in the path's protocol
	tried []bool // attempted since lastChance was set
	// suspect: answered with DUH, and the path is being checked with a NULL. If
	// the NULL is accepted, the receiver refuses this report (duh); if not, it
	// refuses everything from this hub (an unknown account), which is a path
	// failure and no reason to drop the report.
	suspect []bool
	// lastChance: a path refused the report with DUH. Each other path gets one
	// attempt, at once; then the report leaves the outbox, delivered or not.
	lastChance bool
}

// job is one exchange in flight.
type job struct {
	p      *pathState
	report *hub.Report // nil for NULL
	start  time.Time
	res    result
}

// scheduler is Run's state: the cached head of the outbox, what each report
// reached, the paths, and the timers. Only Run's goroutine touches it.
type scheduler struct {
	u        *Uplink
	ctx      context.Context
	paths    []*pathState
	queue    []hub.Report // the oldest queued reports, oldest first
	queued   int          // the whole outbox
	tracks   map[uint64]*track
	dirty    bool      // read the outbox again
	reloadAt time.Time // after a read error
	nextTest time.Time
	testH    int
	testM    int
	inflight int
	again    bool // step again without waiting: something changed
	active   string
	results  chan *job
	jobs     sync.WaitGroup
}

func newScheduler(u *Uplink, ctx context.Context) *scheduler {
	s := &scheduler{u: u, ctx: ctx, paths: u.paths, tracks: map[uint64]*track{}, dirty: true,
		results: make(chan *job, len(u.paths))}
	if u.cfg.TestInterval == 0 {
		s.testH, s.testM, _ = parseClock(u.cfg.TestTime)
	}
	s.nextTest = s.testAfter(u.clk.now())
	for _, p := range s.paths {
		if p.lostAtStart {
			// The hub may have lost the fault with its state; raising it again is a
			// no-op if not.
			p.lostAtStart = false
			u.notes.push(hub.Fault{ID: hub.FaultID{Kind: hub.FaultUplinkPath, Subject: p.cfg.Name}, Point: p.idx + 1,
				Active: true, Detail: "lost before the restart"})
		}
	}
	s.active = s.paths[0].cfg.Name
	if u.cfg.ReportBoth && len(s.paths) > 1 {
		s.active += "," + s.paths[1].cfg.Name
	}
	return s
}

// testAfter is when the periodic test after now is due.
func (s *scheduler) testAfter(now time.Time) time.Time {
	if d := s.u.cfg.TestInterval.D(); d > 0 {
		return now.Add(d)
	}
	y, m, d := now.Date()
	t := time.Date(y, m, d, s.testH, s.testM, 0, 0, now.Location())
	if !t.After(now) {
		t = time.Date(y, m, d+1, s.testH, s.testM, 0, 0, now.Location())
	}
	return t
}

// step does everything that is due at now and returns when the next thing is due
// by the clock (zero: nothing scheduled).
func (s *scheduler) step(now time.Time) time.Time {
	var next time.Time
	soon := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	if s.dirty || !s.reloadAt.IsZero() && !now.Before(s.reloadAt) {
		s.reload(now)
	}
	if !s.reloadAt.IsZero() {
		soon(s.reloadAt)
	}
	if !now.Before(s.nextTest) {
		s.u.log.Info("uplink: periodic test due")
		s.u.notes.push(hub.TestReport{Who: hub.Actor{Via: hub.ViaSchedule}})
		s.nextTest = s.testAfter(now)
	}
	soon(s.nextTest)
	s.finalize()
	if s.u.cfg.ReportBoth {
		s.dispatchBoth(now, soon)
	} else {
		s.dispatchSingle(now, soon)
	}
	for _, p := range s.paths {
		if p.busy {
			continue
		}
		due := p.lastSend.Add(p.cfg.Poll.D())
		if p.needProbe || p.failures > 0 {
			due = p.retryAt
		}
		if now.Before(due) {
			soon(due)
			continue
		}
		s.dispatch(p, nil, now)
	}
	s.logActive()
	return next
}

// reload reads the head of the outbox.
func (s *scheduler) reload(now time.Time) {
	q, err := s.u.out.Outbox(window)
	if err == nil {
		var n int
		n, err = s.u.out.OutboxLen()
		s.queued = max(n, len(q))
	}
	if err != nil {
		s.u.log.Error("uplink: cannot read the outbox; trying again", "err", err, "in", storeRetry)
		s.reloadAt = now.Add(storeRetry)
		return
	}
	s.dirty, s.reloadAt = false, time.Time{}
	s.queue = q
	keep := make(map[uint64]bool, len(q))
	for _, r := range q {
		keep[r.Seq] = true
	}
	for seq := range s.tracks {
		if !keep[seq] {
			s.forget(seq)
		}
	}
}

func (s *scheduler) forget(seq uint64) {
	delete(s.tracks, seq)
	for _, p := range s.paths {
		delete(p.dcSeq, seq)
	}
}

func (s *scheduler) track(seq uint64) *track {
	t := s.tracks[seq]
	if t == nil {
		n := len(s.paths)
		t = &track{acked: make([]bool, n), duh: make([]bool, n), tried: make([]bool, n), suspect: make([]bool, n)}
		s.tracks[seq] = t
	}
	return t
}

// finished reports whether path i is done with the report t.
func (t *track) finished(i int) bool {
	return t.acked[i] || t.duh[i] || t.lastChance && t.tried[i]
}

// complete says whether a report may leave the outbox, and whether it was
// delivered (acknowledged by some path) or is dropped (refused everywhere).
func (s *scheduler) complete(t *track) (done, delivered bool) {
	anyAck := false
	all := true
	for i := range s.paths {
		anyAck = anyAck || t.acked[i]
		all = all && t.finished(i)
	}
	if t.lastChance && all {
		return true, anyAck
	}
	if !anyAck {
		return false, false
	}
	if !s.u.cfg.ReportBoth {
		return true, true
	}
	for i, p := range s.paths {
		if !t.finished(i) && !p.lost() {
			return false, false
		}
	}
	return true, true
}

// finalize deletes from the outbox every report that is complete.
func (s *scheduler) finalize() {
	removed := 0
	kept := s.queue[:0]
	for _, r := range s.queue {
		t := s.tracks[r.Seq]
		done, delivered := false, false
		if t != nil {
			done, delivered = s.complete(t)
		}
		if !done {
			kept = append(kept, r)
			continue
		}
		if err := s.u.out.AckReport(r.Seq); err != nil {
			s.u.log.Error("uplink: cannot remove a delivered report from the outbox; it stays queued", "report", r.Seq, "err", err)
			kept = append(kept, r)
			continue
		}
		if !delivered {
			s.u.log.Error("uplink: report dropped: no path accepts it", "report", r.Seq, "event", r.Event,
				"code", r.Code, "qualifier", r.Qualifier, "zone", r.Zone, "why", s.refusals(r.Seq))
		}
		s.forget(r.Seq)
		s.queued--
		removed++
	}
	clear(s.queue[len(kept):])
	s.queue = kept
	if removed > 0 && len(s.queue) < s.queued && len(s.queue) < window/2 {
		// More is queued than was read: read the next part.
		s.dirty = true
		s.again = true
	}
}

// refusals says why a dropped report was refused, per path.
func (s *scheduler) refusals(seq uint64) string {
	t := s.tracks[seq]
	var parts []string
	for i, p := range s.paths {
		switch {
		case t.duh[i]:
			parts = append(parts, p.cfg.Name+": DUH")
		case t.tried[i]:
			parts = append(parts, p.cfg.Name+": "+p.lastErr)
		}
	}
	return strings.Join(parts, "; ")
}

// dispatchSingle sends the next report over one path: the first path that is not
// lost (the primary unless it is lost), or any path when all are lost. One report
// is in flight at a time, so the centre gets them in order.
func (s *scheduler) dispatchSingle(now time.Time, soon func(time.Time)) {
	for _, p := range s.paths {
		if p.busyReport {
			return
		}
	}
	r, t := s.head(nil)
	if r == nil {
		return
	}
	for _, p := range s.carriers(t) {
		switch {
		case p.busy:
		case t.lastChance:
			s.dispatch(p, r, now)
			return
		case p.needProbe:
		case now.Before(p.retryAt):
			soon(p.retryAt)
		default:
			s.dispatch(p, r, now)
			return
		}
	}
}

// carriers are the paths that may carry a report next, in order of preference.
func (s *scheduler) carriers(t *track) []*pathState {
	if t.lastChance {
		for i, p := range s.paths {
			if !t.finished(i) {
				if t.suspect[i] {
					return nil // wait for the check
				}
				return []*pathState{p}
			}
		}
		return nil
	}
	for _, p := range s.paths {
		if !p.lost() {
			return []*pathState{p}
		}
	}
	return s.paths
}

// dispatchBoth sends on every path the next report that path has not delivered.
// A lost path skips reports while another path is up, and is probed with NULL.
func (s *scheduler) dispatchBoth(now time.Time, soon func(time.Time)) {
	allLost := true
	for _, p := range s.paths {
		allLost = allLost && p.lost()
	}
	for _, p := range s.paths {
		if p.busy {
			continue
		}
		r, t := s.head(func(r hub.Report, t *track) bool {
			if t.finished(p.idx) || t.suspect[p.idx] {
				return false
			}
			return t.lastChance || !p.lost() || allLost
		})
		switch {
		case r == nil:
		case t.lastChance:
			s.dispatch(p, r, now)
		case p.needProbe:
		case now.Before(p.retryAt):
			soon(p.retryAt)
		default:
			s.dispatch(p, r, now)
		}
	}
}

// head returns the report to send next among those ok accepts (nil: all).
func (s *scheduler) head(ok func(hub.Report, *track) bool) (*hub.Report, *track) {
	var cand []hub.Report
	for _, r := range s.queue {
		if ok != nil && !ok(r, s.track(r.Seq)) {
			continue
		}
		cand = append(cand, r)
	}
	i := firstToSend(cand, s.queued)
	if i < 0 {
		return nil, nil
	}
	r := cand[i]
	return &r, s.track(r.Seq)
}

// dispatch starts an exchange of r (nil: NULL) on p.
func (s *scheduler) dispatch(p *pathState, r *hub.Report, now time.Time) {
	m := sia.Message{ID: sia.IDNull}
	seq := 0
	if r != nil {
		var err error
		m, err = p.reportMessage(*r)
		if err != nil {
			t := s.track(r.Seq)
			t.duh[p.idx], t.lastChance = true, true
			s.u.log.Error("uplink: report cannot be sent on this path", "path", p.cfg.Name, "report", r.Seq,
				"code", r.Code, "protocol", p.cfg.Protocol, "err", err)
			s.again = true
			return
		}
		m.XData = s.u.verifyData(*r)
		seq = p.dcSeq[r.Seq]
	}
	j := &job{p: p, report: r, start: now}
	p.busy, p.busyReport = true, r != nil
	s.inflight++
	s.jobs.Go(func() {
		j.res = p.link.exchange(s.ctx, m, seq)
		s.results <- j
	})
}

// finish takes in the result of an exchange.
func (s *scheduler) finish(j *job, now time.Time) {
	p, res := j.p, j.res
	p.busy, p.busyReport = false, false
	s.inflight--
	if res.out == outStopped {
		return
	}
	p.lastSend = j.start
	var t *track
	what := "NULL"
	if r := j.report; r != nil {
		// The report may have left the outbox meanwhile (delivered on the other
		// path while this one is lost); then only the path's state matters.
		t = s.tracks[r.Seq]
		if t != nil {
			p.dcSeq[r.Seq] = res.seq
		}
		if t != nil && t.lastChance {
			t.tried[p.idx] = true
		}
		what = fmt.Sprintf("report %d (%d%03d zone %d)", r.Seq, r.Qualifier, r.Code, r.Zone)
	}
	log := s.u.log.With("path", p.cfg.Name)
	switch res.out {
	case outACK:
		s.answered(p, now, true)
		if j.report == nil {
			s.settleSuspects(p, true)
		}
		p.lastAck = now
		if res.naks > 0 {
			log.Info("uplink: accepted after clock correction", "what", what, "offset", p.link.Offset().String())
		}
		if j.report != nil {
			if t != nil {
				t.acked[p.idx] = true
			}
			// Debug, not info: a delivered duress or silent-panic report must not
			// show in the info log, and a gap in the numbers would tell as much.
			log.Debug("uplink: report delivered", "report", j.report.Seq, "event", j.report.Event,
				"code", j.report.Code, "qualifier", j.report.Qualifier, "zone", j.report.Zone,
				"seq", res.seq, "rtt", res.rtt.String())
		} else {
			log.Debug("uplink: poll answered", "seq", res.seq, "rtt", res.rtt.String())
		}
	case outDUH:
		p.lastErr, p.lastErrAt = res.err.Error(), now
		if j.report != nil {
			// Whether the receiver refuses this report or everything from this
			// hub, a NULL tells; it goes next on this path.
			if t != nil {
				t.suspect[p.idx] = true
			}
			p.needProbe = true
			log.Warn("uplink: receiver refuses report (DUH); checking the path with a poll", "what", what)
			break
		}
		s.failed(p, now, fmt.Errorf("%w (is the account known to the centre?)", res.err))
		s.settleSuspects(p, false)
	case outNAK:
		if j.report == nil {
			s.settleSuspects(p, false)
		}
		if !p.clockFault {
			p.clockFault = true
			s.u.notes.push(hub.Fault{ID: hub.FaultID{Kind: hub.FaultUplinkClock, Subject: p.cfg.Name}, Active: true, Detail: res.err.Error()})
			log.Error("uplink: receiver refuses the timestamp or key even after correction", "what", what, "err", res.err)
		}
		s.failed(p, now, res.err)
	default:
		if j.report == nil {
			s.settleSuspects(p, false)
		}
		s.failed(p, now, res.err)
	}
}

// settleSuspects ends the check of the reports p answered with DUH: accepted is
// whether p accepted the NULL sent after them. If it did, the receiver refuses
// those reports. If not, the path is failing: a report with a last chance has had
// it on p; any other is sent again as usual.
func (s *scheduler) settleSuspects(p *pathState, accepted bool) {
	for _, r := range s.queue {
		t := s.tracks[r.Seq]
		if t == nil || !t.suspect[p.idx] {
			continue
		}
		t.suspect[p.idx] = false
		switch {
		case accepted:
			t.duh[p.idx], t.lastChance = true, true
			s.u.log.Error("uplink: receiver refuses report (DUH); not sending it again on this path",
				"path", p.cfg.Name, "report", r.Seq, "code", r.Code, "qualifier", r.Qualifier, "zone", r.Zone)
		case t.lastChance:
			t.tried[p.idx] = true
		}
	}
}

// answered records an answer from p's receiver: the path is up.
func (s *scheduler) answered(p *pathState, now time.Time, ack bool) {
	log := s.u.log.With("path", p.cfg.Name)
	if p.state != StateOK {
		log.Info("uplink: path up", "was", p.state, "addr", p.cfg.Addr)
	}
	p.state, p.failures, p.retryAt, p.needProbe = StateOK, 0, time.Time{}, false
	lost := hub.FaultID{Kind: hub.FaultUplinkPath, Subject: p.cfg.Name}
	// After a restart the hub may still hold a fault from before, so each fault is
	// cleared once after start too: clearing a fault that is not set changes
	// nothing there.
	if p.lostFault || !p.staleCleared {
		if p.lostFault {
			// Stored before the hub hears of it, as when the path was lost.
			s.u.saveLost(p, false)
		}
		s.u.notes.push(hub.Fault{ID: lost, Point: p.idx + 1, Active: false, Detail: "receiver answers again"})
		if p.lostFault {
			log.Info("uplink: path restored", "addr", p.cfg.Addr)
		}
		p.lostFault, p.staleCleared = false, true
	}
	if ack && (p.clockFault || !p.clockCleared) {
		s.u.notes.push(hub.Fault{ID: hub.FaultID{Kind: hub.FaultUplinkClock, Subject: p.cfg.Name}, Active: false, Detail: "receiver accepts the timestamp"})
		p.clockFault, p.clockCleared = false, true
	}
}

// failed records a failed exchange on p.
func (s *scheduler) failed(p *pathState, now time.Time, err error) {
	p.failures++
	p.lastErr, p.lastErrAt = err.Error(), now
	wait := p.backoff(p.failures)
	p.retryAt = now.Add(wait)
	old := p.state
	if p.failures >= p.cfg.MissedPolls {
		p.state = StateLost
	} else {
		p.state = StateFailing
	}
	log := s.u.log.With("path", p.cfg.Name)
	if p.state != old {
		log.Warn("uplink: path "+p.state, "was", old, "failures", p.failures, "err", err)
	} else {
		log.Info("uplink: send failed", "failures", p.failures, "retry_in", wait.String(), "err", err)
	}
	if p.lost() && !p.lostFault {
		p.lostFault = true
		s.u.saveLost(p, true)
		s.u.notes.push(hub.Fault{ID: hub.FaultID{Kind: hub.FaultUplinkPath, Subject: p.cfg.Name}, Point: p.idx + 1, Active: true,
			Detail: fmt.Sprintf("no answer from %s after %d attempts: %v", p.cfg.Addr, p.failures, err)})
	}
}

// activePaths names the paths that carry reports now.
func (s *scheduler) activePaths() []bool {
	act := make([]bool, len(s.paths))
	for i, p := range s.paths {
		if !p.lost() {
			act[i] = true
			if !s.u.cfg.ReportBoth {
				break
			}
		}
	}
	return act
}

// logActive logs when the paths that carry reports change.
func (s *scheduler) logActive() {
	var names []string
	for i, a := range s.activePaths() {
		if a {
			names = append(names, s.paths[i].cfg.Name)
		}
	}
	cur := strings.Join(names, ",")
	if cur == s.active {
		return
	}
	if cur == "" {
		s.u.log.Error("uplink: every path is lost; reports wait in the outbox")
	} else {
		s.u.log.Warn("uplink: reports now go over "+cur, "before", s.active)
	}
	s.active = cur
}

// statuses is the Status of every path.
func (s *scheduler) statuses() []PathStatus {
	act := s.activePaths()
	st := make([]PathStatus, len(s.paths))
	for i, p := range s.paths {
		q := s.queued
		if s.u.cfg.ReportBoth {
			for _, r := range s.queue {
				if t := s.tracks[r.Seq]; t != nil && t.finished(i) {
					q--
				}
			}
		}
		st[i] = PathStatus{Name: p.cfg.Name, Addr: p.cfg.Addr, State: p.state, LastAck: p.lastAck,
			LastError: p.lastErr, LastErrorTime: p.lastErrAt, Failures: p.failures, Queue: q, Active: act[i]}
	}
	return st
}
