package uplink

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"vakt/hub/uplink/receiver"
	"vakt/hub/uplink/sia"
)

// rawReceiver is a receiving centre that answers each frame with whatever bytes
// the test chooses, to show how the uplink reads answers that the receiver package
// never sends: replies for other messages, junk, a closed connection.
type rawReceiver struct {
	t      *testing.T
	addr   string
	answer func(m sia.Message) (reply []byte, hangUp bool)

	mu     sync.Mutex
	frames []rawFrame
	conns  map[string]int // remote address -> connection number, from 1
}

// rawFrame is one frame the raw receiver got, and over which connection (TCP) or
// from which local port of the sender (UDP), numbered from 1 in order of
// appearance.
type rawFrame struct {
	Conn int
	ID   string
	Seq  int
	Data string
}

func (r *rawReceiver) record(remote string, m sia.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, ok := r.conns[remote]
	if !ok {
		n = len(r.conns) + 1
		r.conns[remote] = n
	}
	r.frames = append(r.frames, rawFrame{Conn: n, ID: m.ID, Seq: m.Seq, Data: m.Data})
}

func (r *rawReceiver) got() []rawFrame {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]rawFrame(nil), r.frames...)
}

func newRawReceiver(t *testing.T, network string, answer func(m sia.Message) ([]byte, bool)) *rawReceiver {
	t.Helper()
	r := &rawReceiver{t: t, answer: answer, conns: map[string]int{}}
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	if network == NetUDP {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pc.Close() })
		r.addr = pc.LocalAddr().String()
		wg.Go(func() {
			buf := make([]byte, 64<<10)
			for {
				n, from, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				m, err := sia.Decode(bytes.TrimLeft(buf[:n], "\x00"), nil)
				if err != nil {
					t.Errorf("raw receiver: %v", err)
					continue
				}
				r.record(from.String(), m)
				if reply, _ := answer(m); reply != nil {
					pc.WriteTo(reply, from)
				}
			}
		})
		return r
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	var conns sync.Map
	t.Cleanup(func() {
		ln.Close()
		conns.Range(func(c, _ any) bool { c.(net.Conn).Close(); return true })
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Store(c, true)
			wg.Go(func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				sc.Split(sia.SplitFrames)
				for sc.Scan() {
					m, err := sia.Decode(sc.Bytes(), nil)
					if err != nil {
						t.Errorf("raw receiver: %v", err)
						continue
					}
					r.record(c.RemoteAddr().String(), m)
					reply, hangUp := answer(m)
					if reply != nil {
						c.Write(reply)
					}
					if hangUp {
						return
					}
				}
			})
		}
	})
	return r
}

// frame encodes a plain reply.
func frame(t *testing.T, m sia.Message) []byte {
	t.Helper()
	b, err := sia.Encode(m, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// manualTest runs Test on one plain TCP path to addr, without Run.
func manualTest(t *testing.T, p Path) TestResult {
	t.Helper()
	e := newEnv(t, false)
	u, err := New(Config{Paths: []Path{p}}, nil, nil, e.log)
	if err != nil {
		t.Fatal(err)
	}
	return u.Test(t.Context())[0]
}

// Answers are matched to the message sent: by sequence number, and by account when
// the answer carries one. Each case answers with two frames at once; the first is
// for another message unless the case says otherwise, so the second decides.
func TestAnswersMatched(t *testing.T) {
	other := func(m sia.Message, f func(*sia.Message)) sia.Message {
		f(&m)
		return m
	}
	for _, tc := range []struct {
		name   string
		answer func(m sia.Message) []sia.Message
		want   string
	}{
		{"ACK with another account", func(m sia.Message) []sia.Message {
			return []sia.Message{other(sia.Ack(m, time.Time{}), func(a *sia.Message) { a.Account = "9999" }), sia.Duh(m)}
		}, "DUH"},
		{"ACK with another number", func(m sia.Message) []sia.Message {
			return []sia.Message{other(sia.Ack(m, time.Time{}), func(a *sia.Message) { a.Seq = m.Seq + 1 }), sia.Duh(m)}
		}, "DUH"},
		{"ACK without account is ours", func(m sia.Message) []sia.Message {
			return []sia.Message{other(sia.Ack(m, time.Time{}), func(a *sia.Message) { a.Account = "" }), sia.Duh(m)}
		}, "ACK"},
		{"ACK with the account in lower case is ours", func(m sia.Message) []sia.Message {
			return []sia.Message{other(sia.Ack(m, time.Time{}), func(a *sia.Message) { a.Account = "abc1" }), sia.Duh(m)}
		}, "ACK"},
		{"DUH with another number", func(m sia.Message) []sia.Message {
			return []sia.Message{other(sia.Duh(m), func(d *sia.Message) { d.Seq = m.Seq + 1 }), sia.Ack(m, time.Time{})}
		}, "ACK"},
		{"DUH without number is ours", func(m sia.Message) []sia.Message {
			return []sia.Message{other(sia.Duh(m), func(d *sia.Message) { d.Seq = 0 }), sia.Ack(m, time.Time{})}
		}, "DUH"},
		{"a message that is no answer", func(m sia.Message) []sia.Message {
			return []sia.Message{{ID: sia.IDNull, Seq: m.Seq, Receiver: "0", Line: "0", Account: m.Account}, sia.Duh(m)}
		}, "DUH"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRawReceiver(t, NetTCP, func(m sia.Message) ([]byte, bool) {
				var b []byte
				for _, a := range tc.answer(m) {
					b = append(b, frame(t, a)...)
				}
				return b, false
			})
			p := path("primary", r.addr)
			p.Account = "ABC1"
			if res := manualTest(t, p); res.Result != tc.want || res.Seq != 1 {
				t.Errorf("result %+v, want %s for message 1", res, tc.want)
			}
		})
	}
}

// Junk in front of an answer is skipped, however long.
func TestJunkBeforeAnswer(t *testing.T) {
	junk := bytes.Repeat([]byte("x"), 2*sia.MaxBody)
	r := newRawReceiver(t, NetTCP, func(m sia.Message) ([]byte, bool) {
		return append(append(junk, '\n'), frame(t, sia.Ack(m, time.Time{}))...), false
	})
	if res := manualTest(t, path("primary", r.addr)); res.Result != "ACK" {
		t.Errorf("result %+v", res)
	}
}

// How an exchange fails is said in a few words, without the socket addresses Go's
// errors carry.
func TestExchangeErrors(t *testing.T) {
	t.Run("closed by the receiver", func(t *testing.T) {
		r := newRawReceiver(t, NetTCP, func(sia.Message) ([]byte, bool) { return nil, true })
		res := manualTest(t, path("primary", r.addr))
		want := TestResult{Path: "primary", Addr: r.addr, Result: "error", RTT: res.RTT, Seq: 1,
			Detail: "connection to " + r.addr + ": closed by the receiver"}
		if res != want {
			t.Errorf("result %+v\nwant   %+v", res, want)
		}
		if got := r.got(); !slices.Equal(got, []rawFrame{{Conn: 1, ID: sia.IDADMCID, Seq: 1, Data: "#1234|1601 00 000"}}) {
			t.Errorf("receiver got %+v", got)
		}
	})
	t.Run("refused", func(t *testing.T) {
		addr := reserveAddr(t)
		res := manualTest(t, path("primary", addr))
		want := TestResult{Path: "primary", Addr: addr, Result: "error", Seq: 1,
			Detail: fmt.Sprintf("connect to %s: connect: %v", addr, syscall.ECONNREFUSED)}
		if res != want {
			t.Errorf("result %+v\nwant   %+v", res, want)
		}
	})
}

// After an ACK timeout a TCP connection is closed and the next attempt opens a new
// one (the receiver may be stuck on the old one); a UDP socket is kept. The
// retransmission keeps its number.
func TestTimeoutReconnects(t *testing.T) {
	for _, tc := range []struct {
		network string
		conns   []int // the connection (TCP) or source port (UDP) of each frame
	}{
		{NetTCP, []int{1, 1, 2}},
		{NetUDP, []int{1, 1, 1}},
	} {
		t.Run(tc.network, func(t *testing.T) {
			e := newEnv(t, true)
			var withheld atomic.Bool
			r := newRawReceiver(t, tc.network, func(m sia.Message) ([]byte, bool) {
				defer e.poke()
				if m.ID == sia.IDADMCID && withheld.CompareAndSwap(false, true) {
					e.mu.Lock()
					e.silence++
					e.mu.Unlock()
					return nil, false
				}
				return frame(t, sia.Ack(m, time.Time{})), false
			})
			p := path("primary", r.addr)
			p.Network = tc.network
			e.commit(burglaries(1, 1, false)...)
			e.run(Config{Paths: []Path{p}})
			e.until("delivered", time.Minute, func() bool { return e.queued() == 0 })
			report := "#1234|1130 01 001"
			want := []rawFrame{
				{Conn: tc.conns[0], ID: sia.IDNull, Seq: 1},
				{Conn: tc.conns[1], ID: sia.IDADMCID, Seq: 2, Data: report},
				{Conn: tc.conns[2], ID: sia.IDADMCID, Seq: 2, Data: report},
			}
			if got := r.got(); !slices.Equal(got, want) {
				t.Errorf("receiver got %+v\nwant %+v", got, want)
			}
		})
	}
}

// A manual test that the receiver NAKs for its clock says by how much the
// timestamps were corrected, and the next one needs no correction; one that is
// cancelled is an error.
func TestManualTestDetails(t *testing.T) {
	e := newEnv(t, true)
	ahead := 10 * time.Minute
	addr := e.recv(&recorder{}, "127.0.0.1:0", "", nil, nil, func(c *receiver.Config) {
		c.Now = func() time.Time { return e.clk.Now().Add(ahead) }
	}).TCPAddr().String()
	u, err := New(Config{Paths: []Path{path("primary", addr)}}, nil, nil, e.log, WithClock(e.clk.Now, e.clk.After))
	if err != nil {
		t.Fatal(err)
	}
	res := u.Test(t.Context())[0]
	want := TestResult{Path: "primary", Addr: addr, Result: "ACK", Seq: 1,
		Detail: "accepted after a NAK; timestamps corrected by 10m0s"}
	if res != want {
		t.Errorf("result %+v\nwant   %+v", res, want)
	}
	// The correction stays: the next test needs none.
	res = u.Test(t.Context())[0]
	want = TestResult{Path: "primary", Addr: addr, Result: "ACK", Seq: 2}
	if res != want {
		t.Errorf("result %+v\nwant   %+v", res, want)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res = u.Test(ctx)[0]
	// Cancelled before or after it took the link.
	before := TestResult{Path: "primary", Addr: addr, Result: "error", Detail: "context canceled"}
	after := TestResult{Path: "primary", Addr: addr, Result: "error", Seq: 3,
		Detail: "connect to " + addr + ": operation was canceled"}
	if res != before && res != after {
		t.Errorf("cancelled: %+v\nwant   %+v\nor     %+v", res, before, after)
	}
}
