package uplink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"runtime"
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

const (
	hexKey   = "000102030405060708090A0B0C0D0E0F"
	asciiKey = "ABCDABCDABCDABCDABCDABCD" // AES-192
)

func TestDeliverInOrder(t *testing.T) {
	for _, tc := range []struct {
		name    string
		network string
		key     string
		format  string
	}{
		{"tcp-plain", NetTCP, "", ""},
		{"tcp-aes128", NetTCP, hexKey, sia.KeyHex},
		{"udp-plain", NetUDP, "", ""},
		{"udp-aes192", NetUDP, asciiKey, sia.KeyASCII},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, true)
			var key *sia.Key
			if tc.key != "" {
				key = mustKey(t, tc.key, tc.format)
			}
			// When a report reaches the receiver, it must still be in the outbox: it
			// is deleted only after the ACK.
			var mu sync.Mutex
			queuedOnArrival := map[int]bool{}
			respond := func(m sia.Message) receiver.Reply {
				if m.ID != sia.IDADMCID {
					return receiver.ReplyDefault
				}
				c, err := sia.ParseContactID(m.Data)
				if err != nil {
					t.Errorf("receiver got %q: %v", m.Data, err)
				}
				q, err := e.store.Outbox(0)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				defer mu.Unlock()
				for _, r := range q {
					if r.Zone == c.Zone {
						queuedOnArrival[c.Zone] = true
					}
				}
				return receiver.ReplyDefault
			}
			rec := &recorder{}
			var addr string
			if tc.network == NetTCP {
				addr = e.recv(rec, "127.0.0.1:0", "", key, respond).TCPAddr().String()
			} else {
				addr = e.recv(rec, "", "127.0.0.1:0", key, respond).UDPAddr().String()
			}
			p := path("primary", addr)
			p.Network, p.Key, p.KeyFormat = tc.network, tc.key, tc.format
			e.commit(burglaries(1, 5, false)...)
			u, _ := e.run(Config{Paths: []Path{p}})
			e.until("5 reports delivered", time.Minute, func() bool { return len(rec.reports()) >= 5 && e.queued() == 0 })
			e.commit(burglaries(6, 8, true)...)
			e.until("8 reports delivered", time.Minute, func() bool { return len(rec.reports()) >= 8 && e.queued() == 0 })

			got := rec.reports()
			if z := zones(got); !equalInts(z, seq(1, 8)) {
				t.Errorf("zones arrived in order %v, want 1…8", z)
			}
			for _, ev := range got {
				if ev.Encrypted != (key != nil) || ev.Path != tc.network || ev.Duplicate {
					t.Errorf("event %s: encrypted %v, path %s, duplicate %v", ev, ev.Encrypted, ev.Path, ev.Duplicate)
				}
				if !ev.Message.Time.Equal(t0) {
					t.Errorf("timestamp %s, want %s", ev.Message.Time, t0)
				}
			}
			mu.Lock()
			for z := 1; z <= 8; z++ {
				if !queuedOnArrival[z] {
					t.Errorf("report of zone %d was no longer queued when the receiver got it", z)
				}
			}
			mu.Unlock()
			st := u.Status()
			if len(st) != 1 || st[0].State != StateOK || st[0].Queue != 0 || !st[0].LastAck.Equal(t0) || !st[0].Active ||
				st[0].LastError != "" {
				t.Errorf("status %+v", st)
			}
			// Sequence numbers: 0001 for the first poll, then one per message.
			var seqs []int
			for _, m := range rec.allFrames() {
				seqs = append(seqs, m.Seq)
			}
			if !equalInts(seqs, seq(1, 9)) {
				t.Errorf("sequence numbers %v, want 1…9", seqs)
			}
			// The start is logged with whether the path encrypts (never the key).
			if l := logged(e, `"uplink: path" `); len(l) != 1 || !strings.HasSuffix(l[0], fmt.Sprintf(" encrypted=%v", key != nil)) {
				t.Errorf("log %q", l)
			}
		})
	}
}

func TestSIADCS(t *testing.T) {
	e := newEnv(t, true)
	rec := &recorder{}
	addr := e.recv(rec, "127.0.0.1:0", "", nil, nil).TCPAddr().String()
	p := path("primary", addr)
	p.Protocol = "sia-dcs"
	p.Receiver, p.Line = "12", "3"
	// The reports carry the time they happened (ti, UTC): here hours before they
	// are sent, as after an outage.
	at := time.Date(2026, 11, 25, 3, 2, 0, 0, time.FixedZone("CET", 3600))
	e.commit(hub.Report{Code: 130, Qualifier: hub.QualNew, Partition: 1, Zone: 3, Alarm: true, Time: at},
		hub.Report{Code: 130, Qualifier: hub.QualRestore, Partition: 1, Zone: 3, Text: "Hall^[x]", Time: at.Add(75 * time.Second)},
		hub.Report{Code: 999, Qualifier: hub.QualNew}) // no SIA letters: cannot be sent
	e.run(Config{Paths: []Path{p}})
	// The dropped report leaves the queue before its log line is written.
	e.until("delivered", time.Minute, func() bool {
		return len(rec.reports()) >= 2 && e.queued() == 0 && strings.Contains(e.logs.String(), "report dropped")
	})
	got := rec.reports()
	if len(got) != 2 || got[0].SIA == nil || got[1].SIA == nil {
		t.Fatalf("got %v", got)
	}
	if d := got[0].Message.Data; d != "#1234|Nti02:02/ri1/BA003" {
		t.Errorf("data %q", d)
	}
	if d := got[1].Message.Data; d != "#1234|Nti02:03/ri1/BH003^Hallx^" {
		t.Errorf("data %q", d)
	}
	if m := got[0].Message; m.Receiver != "12" || m.Line != "3" || m.ID != sia.IDSIADCS {
		t.Errorf("header %+v", m)
	}
	if !strings.Contains(e.logs.String(), "report dropped") {
		t.Errorf("no log line for the report that cannot be sent")
	}
}

func TestNAKClockCorrection(t *testing.T) {
	e := newEnv(t, true)
	rec := &recorder{}
	ahead := 10 * time.Minute
	addr := e.recv(rec, "127.0.0.1:0", "", nil, nil, func(c *receiver.Config) {
		c.Now = func() time.Time { return e.clk.Now().Add(ahead) }
	}).TCPAddr().String()
	e.commit(burglaries(1, 1, false)...)
	u, _ := e.run(Config{Paths: []Path{path("primary", addr)}})
	e.until("delivered", time.Minute, func() bool { return len(rec.reports()) == 1 && e.queued() == 0 })

	frames := rec.allFrames()
	if len(frames) != 3 {
		t.Fatalf("frames %v", frames)
	}
	// The first frame (the start-up poll) carries our time and is NAKed; the resend
	// has the same sequence number and the receiver's time.
	if !frames[0].Time.Equal(t0) || frames[1].Seq != frames[0].Seq || !frames[1].Time.Equal(t0.Add(ahead)) {
		t.Errorf("first frames %v / %v", frames[0], frames[1])
	}
	if !frames[2].Time.Equal(t0.Add(ahead)) || frames[2].ID != sia.IDADMCID {
		t.Errorf("report frame %v", frames[2])
	}
	if st := u.Status()[0]; st.ClockOffset != ahead || st.State != StateOK {
		t.Errorf("status %+v", st)
	}
	// /healthz shows the offset in seconds and the last NAK; there was no DUH.
	b, err := json.Marshal(u.Status()[0])
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	json.Unmarshal(b, &got)
	want := map[string]any{"clock_offset_s": 600.0, "last_nak": map[string]any{"time": "2026-11-25T14:00:00Z",
		"reason": "timestamp or key refused for NULL (receiver time 2026-11-25T14:10:00Z)"}}
	for k := range got {
		if _, ok := want[k]; !ok {
			delete(got, k)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("status JSON %s\nwant %v", b, want)
	}
	if tr := transitions(e.hub.faultLog(), "uplink:primary:clock"); len(tr) != 0 {
		t.Errorf("clock fault %v", tr)
	}
	// The correction is logged once, as is the poll it got through; the report
	// after it needed none.
	var lines []string
	for _, l := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(l, "side=uplink") && (strings.Contains(l, "clock differs") || strings.Contains(l, "clock correction")) {
			_, msg, _ := strings.Cut(l, "msg=")
			lines = append(lines, msg)
		}
	}
	wantLines := []string{
		`"uplink: receiver clock differs, timestamps corrected" side=uplink path=primary offset=10m0s was=0s`,
		`"uplink: accepted after clock correction" side=uplink path=primary what=NULL offset=10m0s`,
	}
	if !slices.Equal(lines, wantLines) {
		t.Errorf("log %q\nwant %q", lines, wantLines)
	}
}

func TestNAKTwiceRaisesClockFault(t *testing.T) {
	e := newEnv(t, true)
	rec := &recorder{}
	var nak atomic.Bool
	nak.Store(true)
	addr := e.recv(rec, "127.0.0.1:0", "", nil, func(sia.Message) receiver.Reply {
		if nak.Load() {
			return receiver.ReplyNAK
		}
		return receiver.ReplyDefault
	}).TCPAddr().String()
	e.commit(burglaries(1, 1, false)...)
	u, _ := e.run(Config{Paths: []Path{path("primary", addr)}})
	e.until("clock fault", time.Hour, func() bool {
		return len(transitions(e.hub.faultLog(), "uplink:primary:clock")) == 1 && u.Status()[0].Failures > 0
	})
	if st := u.Status()[0]; st.State == StateOK || !strings.Contains(st.LastError, "NAK twice") {
		t.Errorf("status %+v", st)
	}
	nak.Store(false)
	e.until("delivered and fault cleared", time.Hour, func() bool {
		return len(transitions(e.hub.faultLog(), "uplink:primary:clock")) == 2 && e.queued() == 0 &&
			slices.Contains(codes(rec.reports()), 130)
	})
	// The hub queues a 354 for every uplink fault, and the restore.
	if c := codes(rec.reports()); c[0] != 130 {
		t.Errorf("codes %v", c)
	}
	// The resend after a NAK keeps the sequence number.
	if frames := rec.allFrames(); frames[0].Seq != frames[1].Seq || frames[0].Time != frames[1].Time {
		t.Errorf("first frames %v, %v", frames[0], frames[1])
	}
}

func TestDUH(t *testing.T) {
	duhZone := func(zone int) func(sia.Message) receiver.Reply {
		return func(m sia.Message) receiver.Reply {
			if c, err := sia.ParseContactID(m.Data); err == nil && c.Zone == zone {
				return receiver.ReplyDUH
			}
			return receiver.ReplyDefault
		}
	}
	framesOf := func(rec *recorder, zone int) int {
		n := 0
		for _, m := range rec.allFrames() {
			if c, err := sia.ParseContactID(m.Data); err == nil && c.Zone == zone {
				n++
			}
		}
		return n
	}

	t.Run("one path: dropped", func(t *testing.T) {
		e := newEnv(t, true)
		rec := &recorder{}
		addr := e.recv(rec, "127.0.0.1:0", "", nil, duhZone(2)).TCPAddr().String()
		e.commit(burglaries(1, 3, false)...)
		u, _ := e.run(Config{Paths: []Path{path("primary", addr)}})
		e.until("delivered", time.Minute, func() bool { return e.queued() == 0 })
		e.runFor(time.Hour)
		if z := zones(rec.reports()); !equalInts(z, []int{1, 3}) {
			t.Errorf("accepted zones %v", z)
		}
		if n := framesOf(rec, 2); n != 1 {
			t.Errorf("zone 2 sent %d times, want once", n)
		}
		if !strings.Contains(e.logs.String(), "report dropped") {
			t.Error("no log line about the dropped report")
		}
		if st := u.Status()[0]; st.State != StateOK || !strings.Contains(st.LastError, "DUH") {
			t.Errorf("status %+v", st)
		}
		st := u.Status()[0]
		want := Refusal{Time: t0, Reason: "DUH from " + addr + ": the receiver does not handle ADM-CID #1234|1130 01 002"}
		if st.LastNAK != nil || st.LastDUH == nil || *st.LastDUH != want {
			t.Errorf("last NAK %v, last DUH %+v; want none and %+v", st.LastNAK, st.LastDUH, want)
		}
	})

	t.Run("backup accepts", func(t *testing.T) {
		e := newEnv(t, true)
		recP, recB := &recorder{}, &recorder{}
		p := e.recv(recP, "127.0.0.1:0", "", nil, duhZone(2)).TCPAddr().String()
		b := e.recv(recB, "127.0.0.1:0", "", nil, nil).TCPAddr().String()
		e.commit(burglaries(1, 3, false)...)
		e.run(Config{Paths: []Path{path("primary", p), path("backup", b)}})
		e.until("delivered", time.Minute, func() bool { return e.queued() == 0 })
		if z := zones(recP.reports()); !equalInts(z, []int{1, 3}) {
			t.Errorf("primary accepted %v", z)
		}
		if z := zones(recB.reports()); !equalInts(z, []int{2}) {
			t.Errorf("backup accepted %v", z)
		}
	})

	t.Run("every path DUH: dropped", func(t *testing.T) {
		e := newEnv(t, true)
		recP, recB := &recorder{}, &recorder{}
		p := e.recv(recP, "127.0.0.1:0", "", nil, duhZone(2)).TCPAddr().String()
		b := e.recv(recB, "127.0.0.1:0", "", nil, duhZone(2)).TCPAddr().String()
		e.commit(burglaries(1, 3, false)...)
		e.run(Config{Paths: []Path{path("primary", p), path("backup", b)}, ReportBoth: true})
		e.until("delivered", time.Minute, func() bool { return e.queued() == 0 })
		e.runFor(time.Hour)
		if framesOf(recP, 2) != 1 || framesOf(recB, 2) != 1 {
			t.Errorf("zone 2 sent %d and %d times, want once per path", framesOf(recP, 2), framesOf(recB, 2))
		}
		for _, rec := range []*recorder{recP, recB} {
			if z := zones(rec.reports()); !equalInts(z, []int{1, 3}) {
				t.Errorf("accepted %v", z)
			}
		}
		if !strings.Contains(e.logs.String(), "report dropped") {
			t.Error("no log line about the dropped report")
		}
	})
}

func TestReceiverDownForHours(t *testing.T) {
	e := newEnv(t, true)
	rec := &recorder{}
	addr := reserveAddr(t)
	r := e.recv(rec, addr, "", nil, nil)
	u, _ := e.run(Config{Paths: []Path{path("primary", addr)}})
	e.until("path up", time.Minute, func() bool { return u.Status()[0].State == StateOK })

	r.Close()
	e.commit(burglaries(1, 5, false)...)
	e.runFor(30 * time.Minute)
	e.until("fault raised", 0, func() bool { return len(transitions(e.hub.faultLog(), "uplink:primary")) == 1 })
	e.commit(burglaries(6, 10, false)...)
	e.runFor(3 * time.Hour)
	e.commit(burglaries(11, 15, false)...)
	e.runFor(time.Hour)
	e.until("queue", 0, func() bool { return u.Status()[0].Queue == 16 })
	st := u.Status()[0]
	if st.State != StateLost || st.Queue != 16 || !strings.Contains(st.LastError, "refused") || st.Active {
		t.Errorf("status while down %+v", st)
	}
	if n := len(rec.reports()); n != 0 {
		t.Fatalf("%d reports arrived while the receiver was down", n)
	}

	e.recv(rec, addr, "", nil, nil)
	e.until("all delivered", time.Hour, func() bool { return e.queued() == 0 && len(rec.reports()) == 17 })
	// Oldest first: 1–5, the 354 of the lost path (zone 1: the primary), 6–15,
	// and the 354 restore queued when the path came back.
	got := rec.reports()
	wantZones := append(append(append(seq(1, 5), 1), seq(6, 15)...), 1)
	if z := zones(got); !equalInts(z, wantZones) {
		t.Errorf("zones %v, want %v", z, wantZones)
	}
	if c := codes(got); c[5] != 354 || c[16] != 354 || got[5].ContactID.Qualifier != 1 || got[16].ContactID.Qualifier != 3 {
		t.Errorf("codes %v", c)
	}
	if tr := transitions(e.hub.faultLog(), "uplink:primary"); len(tr) != 2 || tr[1] != "uplink:primary=false" {
		t.Errorf("faults %v", tr)
	}
	if st := u.Status()[0]; st.State != StateOK || st.Queue != 0 || st.Failures != 0 {
		t.Errorf("status after %+v", st)
	}
	for _, l := range []string{"path lost", "path up"} {
		if !strings.Contains(e.logs.String(), l) {
			t.Errorf("no log line %q", l)
		}
	}
}

func TestSilenceRetransmitsWithSameSeq(t *testing.T) {
	e := newEnv(t, true)
	rec := &recorder{}
	var withheld atomic.Int32
	addr := e.recv(rec, "127.0.0.1:0", "", nil, func(m sia.Message) receiver.Reply {
		if m.ID == sia.IDADMCID && withheld.Add(1) <= 2 {
			return receiver.ReplyNone
		}
		return receiver.ReplyDefault
	}).TCPAddr().String()
	e.commit(burglaries(1, 1, false)...)
	u, _ := e.run(Config{Paths: []Path{path("primary", addr)}})
	e.until("first timeout", time.Minute, func() bool { return u.Status()[0].Failures == 1 })
	if st := u.Status()[0]; st.State != StateFailing || !strings.Contains(st.LastError, "no answer") {
		t.Errorf("status %+v", st)
	}
	e.until("delivered", time.Hour, func() bool { return e.queued() == 0 })
	var seqs []int
	for _, m := range rec.allFrames() {
		if m.ID == sia.IDADMCID {
			seqs = append(seqs, m.Seq)
		}
	}
	if len(seqs) != 3 || seqs[0] != seqs[1] || seqs[1] != seqs[2] {
		t.Errorf("sequence numbers of the attempts %v", seqs)
	}
	if n := len(rec.reports()); n != 1 {
		t.Errorf("%d reports accepted", n)
	}
	if st := u.Status()[0]; st.State != StateOK || st.Failures != 0 {
		t.Errorf("status %+v", st)
	}
}

func TestFailoverAndBack(t *testing.T) {
	e := newEnv(t, true)
	recP, recB := &recorder{}, &recorder{}
	pAddr := reserveAddr(t)
	rp := e.recv(recP, pAddr, "", nil, nil)
	bAddr := e.recv(recB, "", "127.0.0.1:0", nil, nil).UDPAddr().String()
	backup := path("backup", bAddr)
	backup.Network = NetUDP
	u, _ := e.run(Config{Paths: []Path{path("primary", pAddr), backup}})
	e.commit(burglaries(1, 2, true)...)
	e.until("primary delivers", time.Minute, func() bool {
		return len(recP.reports()) == 2 && e.queued() == 0 && u.Status()[1].State == StateOK
	})
	if st := u.Status(); !st[0].Active || st[1].Active || st[1].State != StateOK {
		t.Errorf("status %+v", st)
	}

	rp.Close()
	e.commit(burglaries(3, 5, true)...)
	e.until("backup delivers", time.Hour, func() bool {
		return len(recB.reports()) == 4 && e.queued() == 0
	})
	gotB := recB.reports()
	// The 354 names the primary (zone 1).
	if z := zones(gotB); !equalInts(z, []int{3, 1, 4, 5}) && !equalInts(z, []int{3, 4, 5, 1}) {
		t.Errorf("backup got zones %v", z)
	}
	if !slices.Contains(codes(gotB), 354) {
		t.Errorf("the lost primary was not reported over the backup: %v", codes(gotB))
	}
	if st := u.Status(); st[0].State != StateLost || st[0].Active || !st[1].Active {
		t.Errorf("status %+v", st)
	}

	e.recv(recP, pAddr, "", nil, nil)
	e.until("fail back", time.Hour, func() bool {
		return u.Status()[0].State == StateOK && len(transitions(e.hub.faultLog(), "uplink:primary")) == 2
	})
	e.commit(burglaries(6, 7, true)...)
	e.until("primary delivers again", time.Hour, func() bool { return e.queued() == 0 && len(recP.reports()) >= 4 })
	if z := zones(recP.reports()); !equalInts(z[:2], []int{1, 2}) || !slices.Contains(z, 6) || !slices.Contains(z, 7) {
		t.Errorf("primary got zones %v", z)
	}
	if slices.Contains(zones(recB.reports()), 6) {
		t.Errorf("backup still used after fail-back")
	}
	if tr := transitions(e.hub.faultLog(), "uplink:primary"); !slices.Equal(tr, []string{"uplink:primary=true", "uplink:primary=false"}) {
		t.Errorf("faults %v", tr)
	}
	if tr := transitions(e.hub.faultLog(), "uplink:backup"); len(tr) != 0 {
		t.Errorf("backup faults %v", tr)
	}
	if !strings.Contains(e.logs.String(), "reports now go over backup") {
		t.Errorf("failover not logged")
	}
}

func TestReportBoth(t *testing.T) {
	e := newEnv(t, true)
	recP, recB := &recorder{}, &recorder{}
	pAddr := reserveAddr(t)
	rp := e.recv(recP, pAddr, "", nil, nil)
	b := e.recv(recB, "127.0.0.1:0", "", nil, nil).TCPAddr().String()
	u, _ := e.run(Config{Paths: []Path{path("primary", pAddr), path("backup", b)}, ReportBoth: true})
	e.commit(burglaries(1, 4, false)...)
	e.until("both deliver", time.Minute, func() bool {
		return len(recP.reports()) == 4 && len(recB.reports()) == 4 && e.queued() == 0
	})
	for _, rec := range []*recorder{recP, recB} {
		if z := zones(rec.reports()); !equalInts(z, seq(1, 4)) {
			t.Errorf("zones %v", z)
		}
	}
	if st := u.Status(); !st[0].Active || !st[1].Active {
		t.Errorf("status %+v", st)
	}
	// With the primary lost, the backup alone empties the queue.
	rp.Close()
	e.commit(burglaries(5, 6, false)...)
	e.until("backup alone", time.Hour, func() bool { return e.queued() == 0 && len(recB.reports()) >= 7 })
	if z := zones(recB.reports()); !slices.Contains(z, 5) || !slices.Contains(z, 6) {
		t.Errorf("backup zones %v", z)
	}
	// Both paths carried the reports from the start; the only change is the
	// primary's loss.
	if got, want := logged(e, "reports now go over"), []string{`"uplink: reports now go over backup" side=uplink before=primary,backup`}; !slices.Equal(got, want) {
		t.Errorf("log %q\nwant %q", got, want)
	}
}

// logged returns the messages and attributes of the uplink's log lines that
// contain s, in order.
func logged(e *env, s string) []string {
	var out []string
	for _, l := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(l, "side=uplink") && strings.Contains(l, s) {
			_, msg, _ := strings.Cut(l, "msg=")
			out = append(out, msg)
		}
	}
	return out
}

func TestAlarmsFirstWhenQueueLong(t *testing.T) {
	e := newEnv(t, true)
	rec := &recorder{}
	addr := e.recv(rec, "127.0.0.1:0", "", nil, nil).TCPAddr().String()
	reps := burglaries(1, 12, false)
	// A new alarm in zone 3 must wait for the earlier report of zone 3; the alarm
	// of zone 20 goes first.
	reps = append(reps, hub.Report{Code: 130, Qualifier: 1, Partition: 1, Zone: 3, Alarm: true},
		hub.Report{Code: 130, Qualifier: 1, Partition: 1, Zone: 20, Alarm: true})
	e.commit(reps...)
	e.run(Config{Paths: []Path{path("primary", addr)}})
	e.until("delivered", time.Minute, func() bool { return e.queued() == 0 })
	want := append(append([]int{20}, seq(1, 12)...), 3)
	if z := zones(rec.reports()); !equalInts(z, want) {
		t.Errorf("zones %v, want %v", z, want)
	}
}

func TestRestartWithFullOutbox(t *testing.T) {
	e := newEnv(t, true)
	addr := reserveAddr(t)
	cfg := Config{Paths: []Path{path("primary", addr)}}
	e.commit(burglaries(1, 30, false)...)
	_, stop := e.run(cfg)
	e.runFor(10 * time.Minute)
	e.until("the 354 of the lost path queued", 0, func() bool { return e.queued() == 31 })
	stop()
	rec := &recorder{}
	e.recv(rec, addr, "", nil, nil)
	e.run(cfg)
	e.until("delivered", time.Hour, func() bool { return e.queued() == 0 && len(rec.reports()) == 32 })
	want := append(append(seq(1, 30), 1), 1) // the primary's 354 and, after restart, its restore
	if z := zones(rec.reports()); !equalInts(z, want) {
		t.Errorf("zones %v, want %v", z, want)
	}
}

func TestPolls(t *testing.T) {
	e := newEnv(t, true)
	rec := &recorder{}
	addr := e.recv(rec, "127.0.0.1:0", "", nil, nil).TCPAddr().String()
	p := path("primary", addr)
	p.Poll = hub.Duration(30 * time.Second)
	e.run(Config{Paths: []Path{p}})
	e.runFor(45 * time.Second)
	e.commit(burglaries(1, 1, false)...) // at t0+45s: the next poll is due 30 s later
	e.runFor(2 * time.Minute)
	var times []time.Duration
	for _, ev := range rec.all() {
		times = append(times, ev.Time.Sub(t0))
	}
	want := []time.Duration{0, 30 * time.Second, 45 * time.Second, 75 * time.Second, 105 * time.Second, 135 * time.Second, 165 * time.Second}
	if !slices.Equal(times, want) {
		t.Errorf("messages at %v, want %v", times, want)
	}
	if n := len(rec.nulls()); n != 6 {
		t.Errorf("%d polls", n)
	}
}

func TestPeriodicTest(t *testing.T) {
	t.Run("daily", func(t *testing.T) {
		e := newEnv(t, true)
		rec := &recorder{}
		addr := e.recv(rec, "127.0.0.1:0", "", nil, nil).TCPAddr().String()
		e.run(Config{Paths: []Path{path("primary", addr)}, TestTime: "15:30"})
		e.runFor(90*time.Minute - time.Second)
		if n := e.hub.tests(); n != 0 {
			t.Fatalf("%d tests before 15:30", n)
		}
		e.runFor(time.Second)
		e.until("602 delivered", time.Minute, func() bool { return slices.Contains(codes(rec.reports()), 602) })
		e.runFor(24 * time.Hour)
		e.until("second test", 0, func() bool { return e.hub.tests() == 2 })
	})
	t.Run("interval", func(t *testing.T) {
		e := newEnv(t, true)
		rec := &recorder{}
		addr := e.recv(rec, "127.0.0.1:0", "", nil, nil).TCPAddr().String()
		e.run(Config{Paths: []Path{path("primary", addr)}, TestInterval: hub.Duration(4 * time.Hour)})
		e.runFor(8*time.Hour + time.Minute)
		e.until("tests delivered", 0, func() bool {
			return e.queued() == 0 && len(rec.reports()) == 2 && e.hub.tests() == 2
		})
		if c := codes(rec.reports()); !slices.Equal(c, []int{602, 602}) {
			t.Errorf("codes %v", c)
		}
	})
}

func TestManualTest(t *testing.T) {
	clk := newFakeClock(t0)
	e := newEnv(t, false)
	recP := &recorder{}
	up := e.recv(recP, "127.0.0.1:0", "", nil, nil).TCPAddr().String()
	cfg := Config{Paths: []Path{path("primary", up), path("backup", reserveAddr(t))}}
	u, err := New(cfg, nil, nil, e.log)
	if err != nil {
		t.Fatal(err)
	}
	res := u.Test(t.Context())
	if len(res) != 2 || res[0].Result != "ACK" || res[0].RTT <= 0 || res[0].Path != "primary" ||
		res[1].Result != "error" || !strings.Contains(res[1].Detail, "refused") || res[1].Addr != cfg.Paths[1].Addr {
		t.Errorf("results %+v", res)
	}
	if c := codes(recP.reports()); !slices.Equal(c, []int{601}) {
		t.Errorf("receiver got %v", c)
	}

	// A receiver that refuses with DUH, one that does not answer.
	e2 := newEnv(t, false)
	var withheld atomic.Bool
	duh := e2.recv(&recorder{}, "127.0.0.1:0", "", nil, func(sia.Message) receiver.Reply { return receiver.ReplyDUH }).TCPAddr().String()
	silent := e2.recv(&recorder{}, "", "127.0.0.1:0", nil, func(sia.Message) receiver.Reply {
		withheld.Store(true)
		return receiver.ReplyNone
	}, func(c *receiver.Config) { c.Now = clk.Now }).UDPAddr().String()
	bp := path("backup", silent)
	bp.Network = NetUDP
	// The clock moves by the backup's ACK timeout only: the primary's is longer.
	pp := path("primary", duh)
	pp.AckTimeout = hub.Duration(MaxAckTimeout)
	u2, err := New(Config{Paths: []Path{pp, bp}}, nil, nil, e2.log, WithClock(clk.Now, clk.After))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan []TestResult)
	go func() { done <- u2.Test(t.Context()) }()
	var res2 []TestResult
	deadline := time.After(realTimeout)
wait:
	for {
		select {
		case res2 = <-done:
			break wait
		case <-e2.kick:
			if withheld.Load() {
				clk.Advance(DefaultAckTimeout)
			}
		case <-deadline:
			t.Fatal("Test did not return")
		}
	}
	if res2[0].Result != "DUH" || res2[1].Result != "timeout" || !strings.Contains(res2[1].Detail, "no answer") {
		t.Errorf("results %+v", res2)
	}
}

func TestSourceAddress(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("127.0.0.2 is a loopback address on Linux only")
	}
	for _, network := range []string{NetTCP, NetUDP} {
		t.Run(network, func(t *testing.T) {
			e := newEnv(t, true)
			rec := &recorder{}
			r := e.recv(rec, "127.0.0.1:0", "127.0.0.1:0", nil, nil)
			addr := r.TCPAddr().String()
			if network == NetUDP {
				addr = r.UDPAddr().String()
			}
			p := path("primary", addr)
			p.Network, p.SourceAddr = network, "127.0.0.2"
			e.commit(burglaries(1, 1, false)...)
			e.run(Config{Paths: []Path{p}})
			e.until("delivered", time.Minute, func() bool { return len(rec.reports()) == 1 })
			host, _, err := net.SplitHostPort(rec.reports()[0].Remote)
			if err != nil || host != "127.0.0.2" {
				t.Errorf("receiver saw the report from %q", rec.reports()[0].Remote)
			}
		})
	}
}

func TestBindInterface(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("SO_BINDTODEVICE is Linux only")
	}
	e := newEnv(t, false)
	rec := &recorder{}
	addr := e.recv(rec, "127.0.0.1:0", "", nil, nil).TCPAddr().String()
	p := path("primary", addr)
	p.Interface = "lo"
	u, err := New(Config{Paths: []Path{p}}, nil, nil, e.log)
	if err != nil {
		t.Fatal(err)
	}
	res := u.Test(t.Context())[0]
	if res.Result != "ACK" {
		if strings.Contains(res.Detail, "operation not permitted") {
			t.Skip("binding to an interface needs CAP_NET_RAW: ", res.Detail)
		}
		t.Fatalf("result %+v", res)
	}
}

func TestStatusBeforeRun(t *testing.T) {
	u, err := New(Config{Paths: []Path{path("", "192.0.2.1:1234"), path("", "192.0.2.2:1234")}}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := u.Status()
	if len(st) != 2 || st[0].Name != "primary" || st[1].Name != "backup" || st[0].State != StateUnknown || !st[0].Active || st[1].Active {
		t.Errorf("status %+v", st)
	}
	u.Wake()
	u.Wake() // never blocks
	if err := u.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "outbox") {
		t.Errorf("Run without outbox: %v", err)
	}
}

func TestRunTwice(t *testing.T) {
	e := newEnv(t, true)
	u, stop := e.run(Config{Paths: []Path{path("primary", reserveAddr(t))}})
	e.until("running", time.Minute, func() bool { return u.Status()[0].Failures > 0 })
	if err := u.Run(context.Background()); err == nil {
		t.Error("second Run succeeded")
	}
	stop()
}

func TestSendOrder(t *testing.T) {
	r := func(zone int, code hub.Code, alarm bool) hub.Report {
		return hub.Report{Zone: zone, Code: code, Alarm: alarm, Qualifier: 1}
	}
	restore := func(zone int, code hub.Code) hub.Report { return hub.Report{Zone: zone, Code: code, Qualifier: 3} }
	name := func(q []hub.Report) string {
		var b strings.Builder
		for _, x := range q {
			k := "r"
			if x.Alarm {
				k = "A"
			} else if x.Qualifier == 3 {
				k = "R"
			}
			fmt.Fprintf(&b, "%s%d/%d ", k, x.Zone, x.Code)
		}
		return strings.TrimSpace(b.String())
	}
	filler := func(n int) []hub.Report {
		var out []hub.Report
		for i := range n {
			out = append(out, r(100+i, 570, false))
		}
		return out
	}
	for _, tc := range []struct {
		name string
		q    []hub.Report
		want string
	}{
		{"short queue keeps order", []hub.Report{r(1, 130, false), r(2, 130, true)}, "r1/130 A2/130"},
		{"long queue: alarm first",
			append(filler(10), r(2, 130, true)),
			"A2/130 r100/570 r101/570 r102/570 r103/570 r104/570 r105/570 r106/570 r107/570 r108/570 r109/570"},
		{"restore never overtakes its alarm",
			append(append([]hub.Report{r(5, 130, true), restore(5, 130)}, filler(9)...), r(6, 131, true)),
			"A5/130 A6/131 R5/130 r100/570 r101/570 r102/570 r103/570 r104/570 r105/570 r106/570 r107/570 r108/570"},
		{"alarm does not overtake a restore of the same zone and code",
			append(append(filler(9), restore(5, 130)), r(5, 130, true), r(7, 130, true)),
			"A7/130 r100/570 r101/570 r102/570 r103/570 r104/570 r105/570 r106/570 r107/570 r108/570 R5/130 A5/130"},
		// Eleven queued: the first alarm goes first; then ten are left, which go
		// oldest first, so the second alarm waits.
		{"priority ends at the threshold",
			append(filler(9), r(1, 130, true), r(2, 130, true)),
			"A1/130 r100/570 r101/570 r102/570 r103/570 r104/570 r105/570 r106/570 r107/570 r108/570 A2/130"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := name(sendOrder(tc.q, len(tc.q))); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
	if firstToSend(nil, 0) != -1 {
		t.Error("empty queue")
	}
}

func TestBackoff(t *testing.T) {
	p := &pathState{cfg: Path{Poll: hub.Duration(24 * time.Hour)}}
	var got []time.Duration
	for n := 1; n <= 10; n++ {
		got = append(got, p.backoff(n))
	}
	want := []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second,
		64 * time.Second, 128 * time.Second, 256 * time.Second, 5 * time.Minute, 5 * time.Minute}
	if !slices.Equal(got, want) {
		t.Errorf("backoff %v", got)
	}
	p.cfg.Poll = hub.Duration(30 * time.Second)
	if d := p.backoff(10); d != 30*time.Second {
		t.Errorf("backoff with 30 s polls %v", d)
	}
}

func TestQueueLongerThanWindow(t *testing.T) {
	e := newEnv(t, true)
	rec := &recorder{}
	addr := e.recv(rec, "127.0.0.1:0", "", nil, nil).TCPAddr().String()
	const n = window + 44
	e.commit(burglaries(1, n, false)...)
	e.run(Config{Paths: []Path{path("primary", addr)}})
	e.until("delivered", time.Minute, func() bool { return e.queued() == 0 && len(rec.reports()) == n })
	if z := zones(rec.reports()); !equalInts(z, seq(1, n)) {
		t.Errorf("zones out of order: %v", z)
	}
}

// A receiver that does not know the account answers DUH to everything. That is a
// path failure, not a reason to drop reports.
func TestUnknownAccountKeepsReports(t *testing.T) {
	e := newEnv(t, true)
	rec := &recorder{}
	var known atomic.Bool
	addr := e.recv(rec, "127.0.0.1:0", "", nil, func(m sia.Message) receiver.Reply {
		if !known.Load() {
			return receiver.ReplyDUH
		}
		return receiver.ReplyDefault
	}).TCPAddr().String()
	e.commit(burglaries(1, 3, false)...)
	u, _ := e.run(Config{Paths: []Path{path("primary", addr)}})
	e.runFor(30 * time.Minute)
	st := u.Status()[0]
	if st.State != StateLost || !strings.Contains(st.LastError, "DUH") || !strings.Contains(st.LastError, "account") {
		t.Errorf("status %+v", st)
	}
	// The three reports and the 354 the hub queues for the lost path.
	e.until("fault raised", 0, func() bool { return len(e.hub.faultLog()) > 0 && e.queued() == 4 })
	if tr := transitions(e.hub.faultLog(), "uplink:primary"); !slices.Equal(tr, []string{"uplink:primary=true"}) {
		t.Errorf("faults %v", tr)
	}
	// While the account is unknown, nothing but polls goes to the receiver.
	for _, m := range rec.allFrames() {
		if m.ID != sia.IDNull {
			t.Errorf("sent %v", m)
		}
	}
	// Once the centre knows the account, everything is delivered.
	known.Store(true)
	e.until("delivered", time.Hour, func() bool { return e.queued() == 0 && len(rec.reports()) == 5 })
	if z := zones(rec.reports()); !equalInts(z[:3], seq(1, 3)) {
		t.Errorf("zones %v", z)
	}
}

// A report refused together with everything else (the account was removed at the
// centre just as it was sent) is kept, and delivered once the centre takes it.
func TestDUHThenPathRefusesEverything(t *testing.T) {
	e := newEnv(t, true)
	rec := &recorder{}
	var refuseAll, fixed atomic.Bool
	addr := e.recv(rec, "127.0.0.1:0", "", nil, func(m sia.Message) receiver.Reply {
		if fixed.Load() {
			return receiver.ReplyDefault
		}
		if c, err := sia.ParseContactID(m.Data); err == nil && c.Zone == 2 {
			refuseAll.Store(true)
		}
		if refuseAll.Load() {
			return receiver.ReplyDUH
		}
		return receiver.ReplyDefault
	}).TCPAddr().String()
	e.commit(burglaries(1, 3, false)...)
	e.run(Config{Paths: []Path{path("primary", addr)}})
	e.until("path lost", time.Hour, func() bool { return len(transitions(e.hub.faultLog(), "uplink:primary")) == 1 })
	q, err := e.store.Outbox(0)
	if err != nil {
		t.Fatal(err)
	}
	var left []int
	for _, r := range q {
		if r.Code == 130 {
			left = append(left, r.Zone)
		}
	}
	if !equalInts(left, []int{2, 3}) {
		t.Errorf("zones still queued %v, want 2 and 3", left)
	}
	if strings.Contains(e.logs.String(), "report dropped") {
		t.Error("a report was dropped")
	}
	fixed.Store(true)
	e.until("delivered", time.Hour, func() bool { return e.queued() == 0 })
	if z := zones(rec.reports()); !equalInts(z[:3], seq(1, 3)) {
		t.Errorf("zones %v", z)
	}
}

// Sequence numbers go on across restarts and manual tests: a centre that drops
// repeated numbers must not drop the second test.
func TestSeqContinuesAcrossRestarts(t *testing.T) {
	e := newEnv(t, false)
	rec := &recorder{}
	addr := e.recv(rec, "127.0.0.1:0", "", nil, nil).TCPAddr().String()
	dir := SeqDir(t.TempDir())
	cfg := Config{Paths: []Path{path("primary", addr)}}
	var seqs []int
	for range 3 {
		u, err := New(cfg, nil, nil, e.log, WithSeqStore(dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range u.Test(t.Context()) {
			if r.Result != "ACK" {
				t.Fatalf("test %+v", r)
			}
			seqs = append(seqs, r.Seq)
		}
	}
	// Each start reserves a block of 100 numbers and goes on after the last
	// start's block.
	if want := []int{1, 101, 201}; !slices.Equal(seqs, want) {
		t.Errorf("sequence numbers %v, want %v", seqs, want)
	}
	var got []int
	for _, m := range rec.allFrames() {
		got = append(got, m.Seq)
	}
	if want := []int{1, 101, 201}; !slices.Equal(got, want) {
		t.Errorf("receiver saw %v, want %v", got, want)
	}
	// After 9999 comes 0001; a damaged file is logged and numbering goes on.
	if err := dir.SaveSeq("primary", 9999); err != nil {
		t.Fatal(err)
	}
	u, _ := New(cfg, nil, nil, e.log, WithSeqStore(dir))
	if r := u.Test(t.Context())[0]; r.Seq != 1 {
		t.Errorf("after 9999: %+v", r)
	}
	if err := os.WriteFile(dir.file("primary"), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	u, _ = New(cfg, nil, nil, e.log, WithSeqStore(dir))
	if r := u.Test(t.Context())[0]; r.Result != "ACK" || r.Seq != 1 {
		t.Errorf("damaged file: %+v", r)
	}
	if !strings.Contains(e.logs.String(), "cannot read the last sequence number") {
		t.Errorf("damaged file not logged:\n%s", e.logs)
	}
	if n, err := dir.LoadSeq("primary"); err != nil || n != 100 {
		t.Errorf("after the damaged file: %d, %v (want the block 1–100 reserved)", n, err)
	}
}

// A path's lost state survives a restart: the new uplink counts it lost and raises
// its fault at once (the hub may have lost it), not after missed_polls failures;
// the first answer clears it for good.
func TestLostSurvivesRestart(t *testing.T) {
	e := newEnv(t, true)
	dir := SeqDir(t.TempDir())
	addr := reserveAddr(t)
	cfg := Config{Paths: []Path{path("primary", addr)}}
	_, stop := e.run(cfg, WithSeqStore(dir))
	e.until("lost", 10*time.Minute, func() bool { return len(transitions(e.hub.faultLog(), "uplink:primary")) == 1 })
	stop()
	if lost, err := dir.LoadLost("primary"); err != nil || !lost {
		t.Fatalf("stored lost state %v, %v", lost, err)
	}

	// A new hub that knows nothing: the fault comes before any attempt fails.
	e.hub = &fakeHub{e: e, faults: map[string]bool{}}
	start := e.clk.Now()
	u, stop := e.run(cfg, WithSeqStore(dir))
	if st := u.Status()[0]; st.State != StateLost || st.Failures != 3 {
		t.Errorf("status at start %+v", st)
	}
	e.until("fault raised again", 0, func() bool { return len(e.hub.faultLog()) >= 1 })
	if got, want := e.hub.faultLog(), []string{"uplink:primary=true"}; !slices.Equal(got, want) {
		t.Errorf("faults %v, want %v", got, want)
	}
	// Zone 1 of the 354: the primary.
	want := hub.Fault{ID: hub.FaultID{Kind: hub.FaultUplinkPath, Subject: "primary"}, Point: 1, Active: true,
		Detail: "lost before the restart"}
	if got := e.hub.inputsCopy(); len(got) == 0 || got[0] != want {
		t.Errorf("inputs %+v, want first %+v", got, want)
	}
	if e.clk.Now() != start {
		t.Errorf("fault raised after %s, want at once", e.clk.Now().Sub(start))
	}
	stop()

	// The receiver answers: restored, and no longer lost after the next restart.
	rec := &recorder{}
	e.recv(rec, addr, "", nil, nil)
	e.run(cfg, WithSeqStore(dir))
	primary := func() []string {
		var out []string
		for _, l := range e.hub.faultLog() {
			if strings.HasPrefix(l, "uplink:primary=") {
				out = append(out, l)
			}
		}
		return out
	}
	e.until("restored", time.Hour, func() bool { return len(primary()) >= 3 })
	if got, want := primary(), []string{"uplink:primary=true", "uplink:primary=true", "uplink:primary=false"}; !slices.Equal(got, want) {
		t.Errorf("faults %v, want %v", got, want)
	}
	if lost, err := dir.LoadLost("primary"); err != nil || lost {
		t.Errorf("stored lost state after restore %v, %v", lost, err)
	}
}

// SIA text keeps printable ASCII (space to tilde) without ^ [ ] |, at most 32
// characters.
func TestSIAText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Front door", "Front door"},
		{" ~\x1f\x7f^[]|\u00e9x", " ~x"},
		{strings.Repeat("abcdefgh", 5), strings.Repeat("abcdefgh", 4)},
		{"\x00" + strings.Repeat("z", 40), strings.Repeat("z", 32)},
	} {
		if got := siaText(tc.in); got != tc.want {
			t.Errorf("siaText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Before Run, Status counts the reports already queued for every path.
func TestStatusBeforeRunCountsQueue(t *testing.T) {
	e := newEnv(t, true)
	e.commit(burglaries(1, 2, false)...)
	u, err := New(Config{Paths: []Path{path("", "192.0.2.1:1234"), path("", "192.0.2.2:1234")}}, e.store, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []PathStatus{
		{Name: "primary", Addr: "192.0.2.1:1234", State: StateUnknown, Queue: 2, Active: true},
		{Name: "backup", Addr: "192.0.2.2:1234", State: StateUnknown, Queue: 2},
	}
	if st := u.Status(); !reflect.DeepEqual(st, want) {
		t.Errorf("status %+v\nwant   %+v", st, want)
	}
}

// scriptedSeqs is a SeqStore whose first read fails, whose later reads find
// nothing stored, and which cannot save.
type scriptedSeqs struct {
	mu    sync.Mutex
	loads int
}

func (s *scriptedSeqs) LoadSeq(string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loads++
	if s.loads == 1 {
		return 0, errors.New("disk error")
	}
	return 0, nil
}

func (s *scriptedSeqs) SaveSeq(string, int) error { return errors.New("read-only file system") }

// A sequence number store that fails does not stop the messages, and the numbers
// go on in memory: a store found empty after a failed read does not start them
// again at 0001. Each failure is logged.
func TestSeqStoreFailing(t *testing.T) {
	e := newEnv(t, false)
	r := newRawReceiver(t, NetTCP, func(m sia.Message) ([]byte, bool) { return frame(t, sia.Ack(m, time.Time{})), false })
	u, err := New(Config{Paths: []Path{path("primary", r.addr)}}, nil, nil, e.log, WithSeqStore(&scriptedSeqs{}))
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int
	for range 3 {
		res := u.Test(t.Context())[0]
		if res.Result != "ACK" {
			t.Fatalf("result %+v", res)
		}
		seqs = append(seqs, res.Seq)
	}
	if !slices.Equal(seqs, []int{1, 2, 3}) {
		t.Errorf("sequence numbers %v, want 1, 2, 3", seqs)
	}
	var lines []string
	for _, l := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(l, "level=ERROR") {
			_, msg, _ := strings.Cut(l, "msg=")
			lines = append(lines, msg)
		}
	}
	want := []string{`"uplink: cannot read the last sequence number; continuing from the one in memory" path=primary err="disk error"`}
	for n := 1; n <= 3; n++ {
		want = append(want, fmt.Sprintf(`"uplink: cannot save the sequence number; it may be used again after a restart" path=primary seq=%d err="read-only file system"`, n))
	}
	if !slices.Equal(lines, want) {
		t.Errorf("log %q\nwant %q", lines, want)
	}
}

// report_both with a single path is the same as without it.
func TestReportBothOnePath(t *testing.T) {
	e := newEnv(t, true)
	rec := &recorder{}
	addr := e.recv(rec, "127.0.0.1:0", "", nil, nil).TCPAddr().String()
	e.commit(burglaries(1, 3, false)...)
	u, _ := e.run(Config{Paths: []Path{path("primary", addr)}, ReportBoth: true})
	e.until("delivered", time.Minute, func() bool { return e.queued() == 0 && len(rec.reports()) == 3 })
	if z := zones(rec.reports()); !equalInts(z, seq(1, 3)) {
		t.Errorf("zones %v", z)
	}
	if st := u.Status(); len(st) != 1 || !st[0].Active || st[0].Queue != 0 {
		t.Errorf("status %+v", st)
	}
	if got := logged(e, "reports now go over"); len(got) != 0 {
		t.Errorf("log %q", got)
	}
}
