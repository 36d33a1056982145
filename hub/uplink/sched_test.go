package uplink

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vakt/hub"
	"vakt/hub/uplink/receiver"
	"vakt/hub/uplink/sia"
)

// names lists frames as "NULL" or "<qualifier><code> z<zone>" (Contact ID), in
// order.
func names(t *testing.T, frames []sia.Message) []string {
	t.Helper()
	var out []string
	for _, m := range frames {
		if m.ID == sia.IDNull {
			out = append(out, "NULL")
			continue
		}
		c, err := sia.ParseContactID(m.Data)
		if err != nil {
			t.Fatalf("frame %v: %v", m, err)
		}
		out = append(out, fmt.Sprintf("%d%03d z%d", c.Qualifier, c.Code, c.Zone))
	}
	return out
}

// reportNames is names without the polls.
func reportNames(t *testing.T, frames []sia.Message) []string {
	t.Helper()
	return slices.DeleteFunc(names(t, frames), func(s string) bool { return s == "NULL" })
}

// countingOutbox is an Outbox that records how many reports were queued at each
// read of the head of the queue.
type countingOutbox struct {
	inner Outbox
	mu    sync.Mutex
	reads []int
}

func (c *countingOutbox) Outbox(limit int) ([]hub.Report, error) {
	n, err := c.inner.OutboxLen()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.reads = append(c.reads, n)
	c.mu.Unlock()
	return c.inner.Outbox(limit)
}

func (c *countingOutbox) AckReport(seq uint64) error { return c.inner.AckReport(seq) }
func (c *countingOutbox) OutboxLen() (int, error)    { return c.inner.OutboxLen() }

// A queue longer than the window is read in parts: the oldest window of reports,
// and the rest once fewer than half a window of them is left in memory; not after
// every delivery.
func TestQueueReadInParts(t *testing.T) {
	e := newEnv(t, true)
	out := &countingOutbox{inner: e.store}
	e.outbox = out
	rec := &recorder{}
	addr := e.recv(rec, "127.0.0.1:0", "", nil, nil).TCPAddr().String()
	const n = window + 44
	e.commit(burglaries(1, n, false)...)
	e.run(Config{Paths: []Path{path("primary", addr)}})
	e.until("delivered", time.Minute, func() bool { return e.queued() == 0 && len(rec.reports()) == n })
	// The second read comes when window/2-1 reports are left of the first window:
	// after window-(window/2-1) deliveries.
	want := []int{n, n - (window - (window/2 - 1))}
	out.mu.Lock()
	defer out.mu.Unlock()
	if !slices.Equal(out.reads, want) {
		t.Errorf("the outbox held %v reports at each read, want %v", out.reads, want)
	}
}

// A poll in flight on the backup does not hold back a report on the primary: the
// backup's receiver answers its first poll only once the primary has the report
// (or, should the report not come, after a grace period).
func TestPollOnBackupDoesNotHoldReports(t *testing.T) {
	const grace = 5 * time.Second
	e := newEnv(t, true)
	var mu sync.Mutex
	var order []string
	note := func(s string) {
		mu.Lock()
		order = append(order, s)
		mu.Unlock()
	}
	delivered := make(chan struct{})
	recP, recB := &recorder{}, &recorder{}
	p := e.recv(recP, "127.0.0.1:0", "", nil, func(m sia.Message) receiver.Reply {
		if m.ID == sia.IDADMCID {
			note("primary has the report")
			close(delivered)
		}
		return receiver.ReplyDefault
	}).TCPAddr().String()
	var first atomic.Bool
	b := e.recv(recB, "127.0.0.1:0", "", nil, func(m sia.Message) receiver.Reply {
		if m.ID == sia.IDNull && first.CompareAndSwap(false, true) {
			select {
			case <-delivered:
			case <-time.After(grace):
			}
			note("backup answers its poll")
		}
		return receiver.ReplyDefault
	}).TCPAddr().String()
	e.commit(burglaries(1, 1, false)...)
	e.run(Config{Paths: []Path{path("primary", p), path("backup", b)}})
	e.until("delivered", time.Minute, func() bool { return e.queued() == 0 && len(recB.nulls()) == 1 })
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"primary has the report", "backup answers its poll"}; !slices.Equal(order, want) {
		t.Errorf("order %q, want %q", order, want)
	}
}

// A report the primary refuses with DUH gets one attempt on the backup. When the
// backup does not answer it, it is dropped all the same, and not sent again.
func TestLastChanceUnanswered(t *testing.T) {
	e := newEnv(t, true)
	recP, recB := &recorder{}, &recorder{}
	zone := func(m sia.Message) int {
		c, err := sia.ParseContactID(m.Data)
		if err != nil {
			return 0
		}
		return c.Zone
	}
	p := e.recv(recP, "127.0.0.1:0", "", nil, func(m sia.Message) receiver.Reply {
		if zone(m) == 2 {
			return receiver.ReplyDUH
		}
		return receiver.ReplyDefault
	}).TCPAddr().String()
	b := e.recv(recB, "127.0.0.1:0", "", nil, func(m sia.Message) receiver.Reply {
		if zone(m) == 2 {
			return receiver.ReplyNone
		}
		return receiver.ReplyDefault
	}).TCPAddr().String()
	e.commit(burglaries(1, 3, false)...)
	e.run(Config{Paths: []Path{path("primary", p), path("backup", b)}})
	e.until("delivered or dropped", 10*time.Minute, func() bool {
		return e.queued() == 0 && len(logged(e, "report dropped")) == 1
	})
	e.runFor(time.Hour)
	if got, want := reportNames(t, recP.allFrames()), []string{"1130 z1", "1130 z2", "1130 z3"}; !slices.Equal(got, want) {
		t.Errorf("primary got %q, want %q", got, want)
	}
	if got, want := reportNames(t, recB.allFrames()), []string{"1130 z2"}; !slices.Equal(got, want) {
		t.Errorf("backup got %q, want %q", got, want)
	}
	drop := logged(e, "report dropped")
	why := fmt.Sprintf(`why="primary: DUH; backup: no answer from %s within 10s"`, b)
	if len(drop) != 1 || !strings.Contains(drop[0], "zone=2") || !strings.HasSuffix(drop[0], why) {
		t.Errorf("log %q, want the drop of zone 2, %s", drop, why)
	}
}

// A DUH is checked with a poll. When that poll fails (no answer, or NAK twice),
// the check tells nothing: the report stays queued and is sent again once the path
// answers, and is delivered.
func TestDUHCheckFails(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reply receiver.Reply // to the poll after the DUH
		polls int            // frames that poll takes
		want  []string       // every frame; after zone 3, the reports
	}{
		// The 354 (zone 0) of the clock fault the NAKs raise, and its restore, are
		// queued after the reports. How many polls go before them depends on how
		// long the hub takes to queue them while the clock runs, so after zone 3
		// only the reports count.
		{"no answer", receiver.ReplyNone, 1,
			[]string{"NULL", "1130 z1", "1130 z2", "NULL", "NULL", "1130 z2", "1130 z3"}},
		{"NAK twice", receiver.ReplyNAK, 2,
			[]string{"NULL", "1130 z1", "1130 z2", "NULL", "NULL", "NULL", "1130 z2", "1130 z3", "1354 z0", "3354 z0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, true)
			rec := &recorder{}
			var duh, failed atomic.Int32
			addr := e.recv(rec, "127.0.0.1:0", "", nil, func(m sia.Message) receiver.Reply {
				if c, err := sia.ParseContactID(m.Data); err == nil && c.Zone == 2 && duh.Add(1) == 1 {
					return receiver.ReplyDUH
				}
				if m.ID == sia.IDNull && duh.Load() == 1 && failed.Add(1) <= int32(tc.polls) {
					return tc.reply
				}
				return receiver.ReplyDefault
			}).TCPAddr().String()
			e.commit(burglaries(1, 3, false)...)
			e.run(Config{Paths: []Path{path("primary", addr)}})
			// Every report in want is accepted but the first of zone 2.
			accepted := len(slices.DeleteFunc(slices.Clone(tc.want), func(s string) bool { return s == "NULL" })) - 1
			e.until("delivered", time.Hour, func() bool { return e.queued() == 0 && len(rec.reports()) == accepted })
			got := names(t, rec.allFrames())
			if i := slices.Index(got, "1130 z3"); i >= 0 {
				got = append(got[:i+1], slices.DeleteFunc(got[i+1:], func(s string) bool { return s == "NULL" })...)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("receiver got %q\nwant %q", got, tc.want)
			}
			if d := logged(e, "report dropped"); len(d) != 0 {
				t.Errorf("log %q", d)
			}
		})
	}
}

// A path is lost after exactly missed_polls failures in a row; the log tells each
// change of state once, and the fault names the path's position and the count.
func TestLostAfterMissedPolls(t *testing.T) {
	e := newEnv(t, true)
	addr := reserveAddr(t)
	p := path("primary", addr)
	p.MissedPolls = 2
	e.run(Config{Paths: []Path{p}})
	e.until("lost", time.Hour, func() bool { return len(e.hub.faultLog()) == 1 })
	want := hub.Fault{ID: hub.FaultID{Kind: hub.FaultUplinkPath, Subject: "primary"}, Point: 1, Active: true,
		Detail: fmt.Sprintf("no answer from %s after 2 attempts: connect to %s: connect: connection refused", addr, addr)}
	if got := e.hub.inputsCopy(); len(got) != 1 || got[0] != want {
		t.Errorf("inputs %+v\nwant   %+v", got, want)
	}
	e.runFor(time.Hour)
	var changes []string
	for _, l := range logged(e, "uplink: path ") {
		if strings.HasPrefix(l, `"uplink: path failing"`) || strings.HasPrefix(l, `"uplink: path lost"`) {
			changes = append(changes, l[:strings.Index(l, " side=")])
		}
	}
	if want := []string{`"uplink: path failing"`, `"uplink: path lost"`}; !slices.Equal(changes, want) {
		t.Errorf("log %q, want %q", changes, want)
	}
	if n := len(logged(e, "uplink: send failed")); n < 2 {
		t.Errorf("%d failures while lost logged, want every one", n)
	}
}

// With report_both, Status counts per path the reports that path still has to
// deliver: here the primary has delivered them all, and the backup, failing but not
// yet lost (its receiver does not know the account), none.
func TestReportBothQueuePerPath(t *testing.T) {
	e := newEnv(t, true)
	recP, recB := &recorder{}, &recorder{}
	p := e.recv(recP, "127.0.0.1:0", "", nil, nil).TCPAddr().String()
	b := e.recv(recB, "127.0.0.1:0", "", nil, func(sia.Message) receiver.Reply { return receiver.ReplyDUH }).TCPAddr().String()
	backup := path("backup", b)
	backup.MissedPolls = MaxMissedPolls
	e.commit(burglaries(1, 3, false)...)
	u, _ := e.run(Config{Paths: []Path{path("primary", p), backup}, ReportBoth: true})
	e.until("primary delivered", time.Minute, func() bool {
		st := u.Status()
		return len(recP.reports()) == 3 && st[0].Queue == 0 && st[1].Queue == 3
	})
	// The backup's first poll may still be in flight.
	if st := u.Status(); st[0].State != StateOK || st[1].State == StateLost || e.queued() != 3 {
		t.Errorf("status %+v, %d queued", st, e.queued())
	}
}
