package receiver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"vakt/hub/uplink/sia"
)

// t0 is the receiver's clock at the start of every test.
var t0 = time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)

// clock is an injectable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func key(t testing.TB, s string) *sia.Key {
	t.Helper()
	k, err := sia.ParseKey(s, sia.KeyASCII)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// logWriter collects log lines for assertions.
type logWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *logWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

type fixture struct {
	r   *Receiver
	clk *clock
	log *logWriter
	k   *sia.Key // key of account 5678
}

// start runs a receiver on loopback with accounts 1234 (plain, supervised every
// minute) and 5678 (encrypted), and the test clock at t0.
func start(t *testing.T, edit func(*Config)) *fixture {
	t.Helper()
	f := &fixture{clk: &clock{t: t0}, log: &logWriter{}, k: key(t, "ABCDABCDABCDABCD")}
	cfg := Config{
		TCPAddr: "127.0.0.1:0",
		UDPAddr: "127.0.0.1:0",
		Accounts: []Account{
			{ID: "1234", Supervision: time.Minute},
			{ID: "5678", Key: f.k},
		},
		Now: f.clk.Now,
	}
	if edit != nil {
		edit(&cfg)
	}
	r, err := New(cfg, slog.New(slog.NewTextHandler(f.log, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	f.r = r
	return f
}

// tcpClient is a hand-built transmitter on one TCP connection.
type tcpClient struct {
	t  *testing.T
	c  net.Conn
	sc *bufio.Scanner
}

func (f *fixture) dial(t *testing.T) *tcpClient {
	t.Helper()
	c, err := net.Dial("tcp", f.r.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	sc := bufio.NewScanner(c)
	sc.Split(sia.SplitFrames)
	return &tcpClient{t: t, c: c, sc: sc}
}

func (c *tcpClient) write(p []byte) {
	c.t.Helper()
	if _, err := c.c.Write(p); err != nil {
		c.t.Fatal(err)
	}
}

// reply reads the next reply frame and decodes it with k.
func (c *tcpClient) reply(k *sia.Key) sia.Message {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if !c.sc.Scan() {
		c.t.Fatalf("no reply: %v", c.sc.Err())
	}
	m, err := sia.Decode(c.sc.Bytes(), func(string) *sia.Key { return k })
	if err != nil {
		c.t.Fatalf("reply %q: %v", c.sc.Bytes(), err)
	}
	return m
}

// udpSend sends one datagram and returns the decoded answer.
func (f *fixture) udpSend(t *testing.T, frame []byte, k *sia.Key) sia.Message {
	t.Helper()
	c, err := net.Dial("udp", f.r.UDPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(frame); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 8192)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	m, err := sia.Decode(buf[:n], func(string) *sia.Key { return k })
	if err != nil {
		t.Fatalf("reply %q: %v", buf[:n], err)
	}
	return m
}

func (f *fixture) event(t *testing.T) Event {
	t.Helper()
	select {
	case e := <-f.r.Events():
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
	return Event{}
}

func (f *fixture) noEvent(t *testing.T) {
	t.Helper()
	select {
	case e := <-f.r.Events():
		t.Fatalf("unexpected event %s", e)
	default:
	}
}

func encode(t testing.TB, m sia.Message, k *sia.Key) []byte {
	t.Helper()
	b, err := sia.Encode(m, k, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func cid(acct string, seq int, data string, at time.Time) sia.Message {
	return sia.Message{ID: sia.IDADMCID, Seq: seq, Receiver: "1", Line: "1", Account: acct, Data: data, Time: at}
}

func wantReply(t *testing.T, got sia.Message, id string, seq int, acct string) {
	t.Helper()
	if got.ID != id || got.Seq != seq || got.Account != acct {
		t.Fatalf("reply %v, want %s seq %d account %q", got, id, seq, acct)
	}
}

func TestTCPAck(t *testing.T) {
	f := start(t, nil)
	c := f.dial(t)

	m := cid("1234", 7, "#1234|1130 01 003", t0.Add(-2*time.Second))
	c.write(encode(t, m, nil))
	ack := c.reply(nil)
	if want := sia.Ack(m, t0); !ack.Equal(want) {
		t.Fatalf("ACK %v, want %v", ack, want)
	}
	e := f.event(t)
	if got, want := e.String(), "2026-11-25T21:00:00Z acct 1234 tcp seq 0007 ADM-CID 1 130 01 003 Burglary (zone 3)"; got != want {
		t.Errorf("event %q\nwant  %q", got, want)
	}
	if e.Kind != KindMessage || e.Duplicate || e.ContactID == nil || e.ContactID.Code != 130 || !e.Message.Equal(m) ||
		!strings.HasPrefix(e.Remote, "127.0.0.1:") {
		t.Errorf("event %+v", e)
	}

	// Encrypted, on the same connection: an encrypted ACK with the receiver's time.
	em := cid("5678", 8, "#5678|3401 01 005", t0.Add(5*time.Second))
	em.Encrypted = true
	c.write(encode(t, em, f.k))
	ack = c.reply(f.k)
	if want := sia.Ack(em, t0); !ack.Encrypted || !ack.Equal(want) {
		t.Fatalf("ACK %v, want %v", ack, want)
	}
	e = f.event(t)
	if got, want := e.String(), "2026-11-25T21:00:00Z acct 5678 tcp seq 0008 *ADM-CID 3 401 01 005 Armed by user (user 5)"; got != want {
		t.Errorf("event %q\nwant  %q", got, want)
	}
}

func TestUDPAck(t *testing.T) {
	f := start(t, nil)
	m := sia.Message{ID: sia.IDSIADCS, Seq: 2, Line: "0", Account: "1234", Data: "#1234|Nri1/BA003", Time: t0}
	ack := f.udpSend(t, encode(t, m, nil), nil)
	if want := sia.Ack(m, t0); !ack.Equal(want) {
		t.Fatalf("ACK %v, want %v", ack, want)
	}
	e := f.event(t)
	if e.Path != "udp" || e.SIA == nil || e.SIA.Code != "BA" || e.Text != "Burglary (zone 3)" {
		t.Errorf("event %+v", e)
	}
	if got, want := e.String(), "2026-11-25T21:00:00Z acct 1234 udp seq 0002 SIA-DCS BA ri1 003 Burglary (zone 3)"; got != want {
		t.Errorf("event %q\nwant  %q", got, want)
	}

	n := sia.Message{ID: sia.IDNull, Encrypted: true, Seq: 3, Line: "0", Account: "5678", Time: t0}
	ack = f.udpSend(t, encode(t, n, f.k), f.k)
	if !ack.Encrypted || !ack.Acknowledges(n) || !ack.Time.Equal(t0) {
		t.Fatalf("ACK %v", ack)
	}
	if e := f.event(t); e.Protocol != sia.IDNull || !e.Encrypted || e.Text != "link test" {
		t.Errorf("event %+v", e)
	}
}

func TestTimestampWindow(t *testing.T) {
	f := start(t, nil)
	c := f.dial(t)
	for i, tc := range []struct {
		off       time.Duration
		encrypted bool
		want      string
	}{
		{30 * time.Second, true, sia.IDNak},
		{-35 * time.Second, true, sia.IDAck},
		{-120 * time.Second, true, sia.IDNak},
		{20 * time.Second, true, sia.IDAck},
		{-41 * time.Second, false, sia.IDNak}, // plaintext with a timestamp: checked too
		{21 * time.Second, false, sia.IDNak},
	} {
		acct, k := "1234", (*sia.Key)(nil)
		if tc.encrypted {
			acct, k = "5678", f.k
		}
		m := cid(acct, 10+i, "#"+acct+"|1130 01 003", t0.Add(tc.off))
		m.Encrypted = tc.encrypted
		c.write(encode(t, m, k))
		got := c.reply(k)
		if got.ID != tc.want {
			t.Fatalf("offset %v: %v, want %s", tc.off, got, tc.want)
		}
		if got.ID == sia.IDNak {
			if want := sia.Nak(t0); !got.Equal(want) || got.Encrypted {
				t.Fatalf("NAK %v, want %v (with the receiver's time)", got, want)
			}
		}
	}
	// Plaintext without a timestamp is accepted.
	m := cid("1234", 20, "#1234|1602 00 000", time.Time{})
	c.write(encode(t, m, nil))
	wantReply(t, c.reply(nil), sia.IDAck, 20, "1234")

	// A wider window from the config.
	g := start(t, func(c *Config) { c.Window = Window{Past: 5 * time.Minute} })
	m = cid("1234", 21, "#1234|1130 01 003", t0.Add(-4*time.Minute))
	wantReply(t, g.udpSend(t, encode(t, m, nil), nil), sia.IDAck, 21, "1234")
	m = cid("1234", 22, "#1234|1130 01 003", t0.Add(21*time.Second))
	wantReply(t, g.udpSend(t, encode(t, m, nil), nil), sia.IDNak, 0, "")
}

func TestDuhAndNak(t *testing.T) {
	f := start(t, nil)
	c := f.dial(t)
	other := key(t, "XXXXXXXXXXXXXXXX")

	// Unknown account, plain and encrypted: DUH echoing the header.
	m := cid("9999", 1, "#9999|1130 01 003", t0)
	c.write(encode(t, m, nil))
	d := c.reply(nil)
	if want := sia.Duh(m); !d.Equal(want) {
		t.Fatalf("reply %v, want %v", d, want)
	}
	m.Encrypted, m.Seq = true, 2
	c.write(encode(t, m, other))
	wantReply(t, c.reply(nil), sia.IDDuh, 2, "9999")

	// Wrong key, or an encrypted frame for a plaintext-only account: NAK.
	m = cid("5678", 3, "#5678|1130 01 003", t0)
	m.Encrypted = true
	c.write(encode(t, m, other))
	wantReply(t, c.reply(nil), sia.IDNak, 0, "")
	m.Account, m.Seq = "1234", 4
	c.write(encode(t, m, other))
	wantReply(t, c.reply(nil), sia.IDNak, 0, "")

	// Plaintext for an account with a key: NAK.
	c.write(encode(t, cid("5678", 5, "#5678|1130 01 003", t0), nil))
	wantReply(t, c.reply(nil), sia.IDNak, 0, "")

	// Unknown message type, bad payloads: DUH.
	c.write(encode(t, sia.Message{ID: "SIA-FOO", Seq: 6, Account: "1234", Data: "x", Time: t0}, nil))
	wantReply(t, c.reply(nil), sia.IDDuh, 6, "1234")
	c.write(encode(t, cid("1234", 7, "#1234|9130 01 003", t0), nil))
	wantReply(t, c.reply(nil), sia.IDDuh, 7, "1234")
	c.write(encode(t, sia.Message{ID: sia.IDSIADCS, Seq: 8, Account: "1234", Data: "#1234|N", Time: t0}, nil))
	wantReply(t, c.reply(nil), sia.IDDuh, 8, "1234")
	c.write(encode(t, sia.Message{ID: sia.IDAck, Seq: 9, Account: "1234"}, nil))
	wantReply(t, c.reply(nil), sia.IDDuh, 9, "1234")

	// An event code the table does not know is still accepted.
	c.write(encode(t, cid("1234", 10, "#1234|1999 01 003", t0), nil))
	wantReply(t, c.reply(nil), sia.IDAck, 10, "1234")
	if e := f.event(t); e.Text != "Unknown event 999 (zone 3)" {
		t.Errorf("event %s", e)
	}
	f.noEvent(t)
	for _, s := range []string{"DUH: unknown account", "NAK: cannot decrypt", "plaintext message for an account with a key"} {
		if !strings.Contains(f.log.String(), s) {
			t.Errorf("log lacks %q", s)
		}
	}
	if strings.Contains(f.log.String(), "ABCDABCD") || strings.Contains(f.log.String(), "XXXXXXXX") {
		t.Error("a key appears in the log")
	}
}

func TestAllowUnknown(t *testing.T) {
	f := start(t, func(c *Config) { c.AllowUnknown = true })
	m := cid("4242", 1, "#4242|1130 01 003", t0)
	wantReply(t, f.udpSend(t, encode(t, m, nil), nil), sia.IDAck, 1, "4242")
	if e := f.event(t); e.Account != "4242" {
		t.Errorf("event %s", e)
	}
	m.Encrypted = true
	wantReply(t, f.udpSend(t, encode(t, m, f.k), nil), sia.IDNak, 0, "")
}

func TestGarbageThenGoodFrame(t *testing.T) {
	f := start(t, nil)
	c := f.dial(t)
	good := encode(t, cid("1234", 1, "#1234|1130 01 003", t0), nil)
	badCRC := bytes.Clone(good)
	badCRC[4] ^= 1
	c.write([]byte("hello world\r\n\x00\x01\x02 GET / HTTP/1.0\r\n\n\n\n"))
	c.write(badCRC)
	c.write([]byte("\n0000\r")) // a truncated frame
	c.write(good)
	wantReply(t, c.reply(nil), sia.IDAck, 1, "1234")
	if e := f.event(t); e.Seq != 1 {
		t.Errorf("event %s", e)
	}
	f.noEvent(t)
	// Garbage over UDP is dropped too; the next datagram is answered.
	u, err := net.Dial("udp", f.r.UDPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	u.Write([]byte("\x00\xff garbage"))
	u.Close()
	wantReply(t, f.udpSend(t, encode(t, cid("1234", 2, "#1234|1130 01 004", t0), nil), nil), sia.IDAck, 2, "1234")
}

func TestPartialAndBatchedWrites(t *testing.T) {
	f := start(t, nil)
	c := f.dial(t)
	a := encode(t, cid("1234", 1, "#1234|1130 01 003", t0), nil)
	b := encode(t, cid("1234", 2, "#1234|1131 01 004", t0), nil)
	// One frame split over three writes.
	c.write(a[:1])
	c.write(a[1:20])
	c.write(a[20:])
	wantReply(t, c.reply(nil), sia.IDAck, 1, "1234")
	// Two frames in one write, and the start of a third.
	e := encode(t, cid("1234", 3, "#1234|1132 01 005", t0), nil)
	c.write(append(bytes.Clone(b), e[:5]...))
	wantReply(t, c.reply(nil), sia.IDAck, 2, "1234")
	c.write(append(e[5:], a...))
	wantReply(t, c.reply(nil), sia.IDAck, 3, "1234")
	wantReply(t, c.reply(nil), sia.IDAck, 1, "1234")
	for _, want := range []int{1, 2, 3, 1} {
		if e := f.event(t); e.Seq != want {
			t.Fatalf("event %s, want seq %d", e, want)
		}
	}
}

func TestDuplicates(t *testing.T) {
	f := start(t, nil)
	c := f.dial(t)
	m := cid("1234", 5, "#1234|1130 01 003", t0)
	for range 2 {
		c.write(encode(t, m, nil))
		wantReply(t, c.reply(nil), sia.IDAck, 5, "1234")
	}
	if e := f.event(t); e.Duplicate {
		t.Errorf("first copy marked duplicate: %s", e)
	}
	if e := f.event(t); !e.Duplicate || !strings.HasSuffix(e.String(), "(duplicate)") {
		t.Errorf("second copy not marked duplicate: %s", e)
	}
	// A new message with the next seq is not; nor one that reuses a seq for
	// different data (a restarted sender).
	m.Seq = 6
	c.write(encode(t, m, nil))
	wantReply(t, c.reply(nil), sia.IDAck, 6, "1234")
	m.Data = "#1234|3130 01 003"
	c.write(encode(t, m, nil))
	wantReply(t, c.reply(nil), sia.IDAck, 6, "1234")
	for range 2 {
		if e := f.event(t); e.Duplicate {
			t.Errorf("marked duplicate: %s", e)
		}
	}
	// Over another path too.
	wantReply(t, f.udpSend(t, encode(t, m, nil), nil), sia.IDAck, 6, "1234")
	if e := f.event(t); !e.Duplicate {
		t.Errorf("UDP copy not marked duplicate: %s", e)
	}
}

func TestSupervision(t *testing.T) {
	f := start(t, func(c *Config) {
		c.Accounts = append(c.Accounts, Account{ID: "ABC", Supervision: 10 * time.Minute})
	})
	if got := f.r.CheckSupervision(t0.Add(2 * time.Minute)); len(got) != 0 {
		t.Fatalf("lost at exactly 2 intervals: %v", got)
	}
	lost := f.r.CheckSupervision(t0.Add(2*time.Minute + time.Second))
	if len(lost) != 1 || lost[0].Kind != KindLost || lost[0].Account != "1234" {
		t.Fatalf("lost = %v", lost)
	}
	if e := f.event(t); e.Kind != KindLost ||
		e.String() != "2026-11-25T21:02:01Z account 1234 lost: no frame for 2m1s, polls expected every 1m0s" {
		t.Errorf("event %q", e)
	}
	if !strings.Contains(f.log.String(), "account 1234 lost") {
		t.Errorf("log lacks the loss:\n%s", f.log)
	}
	// Once only.
	if got := f.r.CheckSupervision(t0.Add(10 * time.Minute)); len(got) != 0 {
		t.Fatalf("lost again: %v", got)
	}
	f.noEvent(t)

	// A poll brings it back, before the poll's own event.
	back := t0.Add(15 * time.Minute)
	f.clk.Set(back)
	n := sia.Message{ID: sia.IDNull, Seq: 1, Line: "0", Account: "1234", Time: back}
	wantReply(t, f.udpSend(t, encode(t, n, nil), nil), sia.IDAck, 1, "1234")
	if e := f.event(t); e.Kind != KindRestored || e.String() != "2026-11-25T21:15:00Z account 1234 restored" {
		t.Errorf("event %q", e)
	}
	if e := f.event(t); e.Kind != KindMessage || e.Protocol != sia.IDNull {
		t.Errorf("event %s", e)
	}
	if !strings.Contains(f.log.String(), "account 1234 restored") {
		t.Errorf("log lacks the restore")
	}
	// 1234 is fine until two minutes after the poll; ABC, never heard, is lost
	// twenty minutes after the start.
	if got := f.r.CheckSupervision(back.Add(2 * time.Minute)); len(got) != 0 {
		t.Fatalf("lost = %v", got)
	}
	if got := f.r.CheckSupervision(back.Add(3 * time.Minute)); len(got) != 1 || got[0].Account != "1234" {
		t.Fatalf("lost = %v", got)
	}
	if got := f.r.CheckSupervision(t0.Add(20*time.Minute + time.Second)); len(got) != 1 || got[0].Account != "ABC" {
		t.Fatalf("lost = %v", got)
	}
}

func TestSupervisionTicker(t *testing.T) {
	f := start(t, func(c *Config) { c.SupervisionTick = time.Millisecond })
	f.clk.Set(t0.Add(time.Hour))
	if e := f.event(t); e.Kind != KindLost || e.Account != "1234" {
		t.Errorf("event %s", e)
	}
}

func TestRespondHook(t *testing.T) {
	f := start(t, func(c *Config) {
		c.Respond = func(m sia.Message) Reply {
			switch m.Seq {
			case 1:
				return ReplyNAK
			case 2:
				return ReplyDUH
			case 3:
				return ReplyNone
			case 5:
				return ReplyACK // although the timestamp is far off
			}
			return ReplyDefault
		}
	})
	c := f.dial(t)
	send := func(seq int, at time.Time) {
		c.write(encode(t, cid("1234", seq, "#1234|1130 01 003", at), nil))
	}
	send(1, t0)
	wantReply(t, c.reply(nil), sia.IDNak, 0, "")
	send(2, t0)
	wantReply(t, c.reply(nil), sia.IDDuh, 2, "1234")
	send(3, t0) // silence: the next reply read belongs to seq 4
	send(4, t0)
	wantReply(t, c.reply(nil), sia.IDAck, 4, "1234")
	send(5, t0.Add(time.Hour))
	wantReply(t, c.reply(nil), sia.IDAck, 5, "1234")
	for _, want := range []int{4, 5} {
		if e := f.event(t); e.Seq != want {
			t.Errorf("event %s, want seq %d", e, want)
		}
	}
	f.noEvent(t)
}

// noReply checks that nothing answers within d: the sender's ACK timeout.
func (c *tcpClient) noReply(d time.Duration) {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 64)
	if n, err := c.c.Read(buf); err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
		c.t.Fatalf("read %q, %v; want no answer", buf[:n], err)
	}
	c.c.SetReadDeadline(time.Time{})
}

// A full event buffer holds up the ACK instead of dropping the event: the message
// is ACKed once the owner took an event and made room for it.
func TestFullEventBufferHoldsAck(t *testing.T) {
	f := start(t, func(c *Config) { c.EventBuffer = 1 })
	c := f.dial(t)
	c.write(encode(t, cid("1234", 1, "#1234|1130 01 003", t0), nil))
	wantReply(t, c.reply(nil), sia.IDAck, 1, "1234")
	c.write(encode(t, cid("1234", 2, "#1234|1130 01 004", t0), nil))
	c.noReply(200 * time.Millisecond)
	if e := f.event(t); e.Seq != 1 {
		t.Fatalf("first event %s", e)
	}
	// The ACK reads on the raw connection left nothing buffered, so start a
	// scanner afresh.
	c.sc = bufio.NewScanner(c.c)
	c.sc.Split(sia.SplitFrames)
	wantReply(t, c.reply(nil), sia.IDAck, 2, "1234")
	if e := f.event(t); e.Seq != 2 || e.Duplicate {
		t.Fatalf("second event %s", e)
	}
	f.noEvent(t)
}

// sender is a transmitter as a panel is one: each message is sent and resent
// after ackTimeout until its ACK comes; then it is deleted and the next one sent.
// It returns the sequence numbers in the order they were ACKed.
func sender(t *testing.T, addr string, n int, ackTimeout time.Duration) []int {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Error(err)
		return nil
	}
	defer c.Close()
	acks := make(chan int, 16)
	go func() {
		defer close(acks)
		sc := bufio.NewScanner(c)
		sc.Split(sia.SplitFrames)
		for sc.Scan() {
			m, err := sia.Decode(sc.Bytes(), nil)
			if err != nil || m.ID != sia.IDAck {
				t.Errorf("reply %q: %v", sc.Bytes(), err)
				continue
			}
			acks <- m.Seq
		}
	}()
	var acked []int
	for seq := 1; seq <= n; seq++ {
		frame := encode(t, cid("1234", seq, fmt.Sprintf("#1234|1130 01 %03d", seq%1000), t0), nil)
	send:
		for {
			if _, err := c.Write(frame); err != nil {
				t.Error(err)
				return acked
			}
			timer := time.NewTimer(ackTimeout)
			for {
				select {
				case got, ok := <-acks:
					if !ok {
						t.Error("connection closed")
						return acked
					}
					if got != seq {
						continue // the late ACK of an earlier copy
					}
					timer.Stop()
					acked = append(acked, seq)
					break send
				case <-timer.C:
					continue send
				}
			}
		}
	}
	return acked
}

// A slow output never loses an ACKed message: a sender with a short ACK timeout
// and an output that takes its events in bursts with pauses — every message the
// sender saw ACKed reached the output, in order, and nothing else did but
// retransmissions marked as duplicates.
func TestSlowOutputLosesNothing(t *testing.T) {
	const n = 300
	f := start(t, func(c *Config) { c.EventBuffer = 4 })
	done := make(chan []int)
	go func() { done <- sender(t, f.r.TCPAddr().String(), n, 5*time.Millisecond) }()
	var got []int
	var acked []int
	for acked == nil {
		select {
		case e := <-f.r.Events():
			if !e.Duplicate {
				got = append(got, e.Seq)
			}
			if len(got)%50 == 0 {
				// A pause of the output: the sender must wait, and resend.
				<-time.After(20 * time.Millisecond)
			}
		case acked = <-done:
		}
	}
	for len(got) < len(acked) {
		if e := f.event(t); !e.Duplicate {
			got = append(got, e.Seq)
		}
	}
	want := make([]int, n)
	for i := range want {
		want[i] = i + 1
	}
	if !slices.Equal(acked, want) {
		t.Fatalf("ACKed %v", acked)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("output got %v", got)
	}
}

// With Output, a message is ACKed only after Output returned nil: a blocked output
// holds the ACK, a failed one means no ACK, and the resent message is not a
// duplicate.
func TestOutputBlocksAck(t *testing.T) {
	gate := make(chan error)
	var mu sync.Mutex
	var out []string
	f := start(t, func(c *Config) {
		c.Output = func(ctx context.Context, e Event) error {
			select {
			case err := <-gate:
				if err != nil {
					return err
				}
			case <-ctx.Done():
				return ctx.Err()
			}
			mu.Lock()
			defer mu.Unlock()
			out = append(out, e.String())
			return nil
		}
	})
	c := f.dial(t)
	c.write(encode(t, cid("1234", 1, "#1234|1130 01 003", t0), nil))
	c.noReply(200 * time.Millisecond)
	gate <- errors.New("disk full")
	c.noReply(200 * time.Millisecond)
	c.write(encode(t, cid("1234", 1, "#1234|1130 01 003", t0), nil))
	gate <- nil
	c.sc = bufio.NewScanner(c.c)
	c.sc.Split(sia.SplitFrames)
	wantReply(t, c.reply(nil), sia.IDAck, 1, "1234")
	mu.Lock()
	got := slices.Clone(out)
	mu.Unlock()
	want := []string{"2026-11-25T21:00:00Z acct 1234 tcp seq 0001 ADM-CID 1 130 01 003 Burglary (zone 3)"}
	if !slices.Equal(got, want) {
		t.Errorf("output %q\nwant %q", got, want)
	}
	if lines := logLines(f.log.String(), "receiver: output failed"); len(lines) != 1 {
		t.Errorf("output failure logged %d times:\n%s", len(lines), f.log)
	}
	// Close does not wait for a blocked Output forever.
	c.write(encode(t, cid("1234", 2, "#1234|1130 01 004", t0), nil))
	c.noReply(50 * time.Millisecond)
	f.r.Close()
}

// logLines returns the log lines with message msg, without their time.
func logLines(log, msg string) []string {
	var lines []string
	for l := range strings.Lines(log) {
		if !strings.Contains(l, "msg=\""+msg+"\"") {
			continue
		}
		if _, rest, ok := strings.Cut(l, " "); ok && strings.HasPrefix(l, "time=") {
			l = rest
		}
		lines = append(lines, strings.TrimSuffix(l, "\n"))
	}
	return lines
}

func TestEventJSON(t *testing.T) {
	f := start(t, nil)
	m := cid("1234", 7, "#1234|1130 01 003", t0)
	f.udpSend(t, encode(t, m, nil), nil)
	b, err := json.Marshal(f.event(t))
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"kind": "message", "account": "1234", "protocol": "ADM-CID", "seq": 7.0,
		"path": "udp", "text": "Burglary (zone 3)", "time": "2026-11-25T21:00:00Z"} {
		if back[k] != want {
			t.Errorf("%s = %v, want %v in %s", k, back[k], want, b)
		}
	}
	if c, ok := back["contact_id"].(map[string]any); !ok || c["code"] != 130.0 || c["zone"] != 3.0 {
		t.Errorf("contact_id in %s", b)
	}
	if bytes.ContainsAny(b, "\n") {
		t.Error("not one line")
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Accounts: []Account{{ID: "1234"}}}, "no TCP or UDP address"},
		{Config{TCPAddr: ":0"}, "no accounts"},
		{Config{TCPAddr: ":0", Accounts: []Account{{ID: "12"}}}, `"12" is not 3–16 hex digits`},
		{Config{TCPAddr: ":0", Accounts: []Account{{ID: "abc"}, {ID: "ABC"}}}, "listed twice"},
		{Config{TCPAddr: ":0", Accounts: []Account{{ID: "1234", Supervision: -1}}}, "negative supervision"},
		{Config{TCPAddr: ":0", AllowUnknown: true, Window: Window{Past: -1}}, "negative timestamp window"},
	} {
		if _, err := New(tc.cfg, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestPortInUse(t *testing.T) {
	f := start(t, nil)
	for _, cfg := range []Config{
		{TCPAddr: f.r.TCPAddr().String(), AllowUnknown: true},
		{TCPAddr: "127.0.0.1:0", UDPAddr: f.r.UDPAddr().String(), AllowUnknown: true},
	} {
		r, err := New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = r.Start(t.Context())
		addr := cfg.UDPAddr
		if addr == "" {
			addr = cfg.TCPAddr
		}
		if err == nil || !strings.Contains(err.Error(), addr) {
			t.Errorf("Start on a used port: %v, want an error naming %s", err, addr)
		}
		r.Close()
	}
}

// receiverGoroutines counts goroutines running this package's code.
func receiverGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte("uplink/receiver.(*Receiver)")) {
			n++
		}
	}
	return n
}

// waitNoGoroutines waits, without sleeping, for goroutines that already
// signalled their end to be gone.
func waitNoGoroutines(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for receiverGoroutines() > 0 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines left:\n%s", buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
	}
}

func TestCloseStopsEverything(t *testing.T) {
	waitNoGoroutines(t)
	f := start(t, func(c *Config) { c.SupervisionTick = time.Hour })
	// Held connections, one mid-frame.
	c1 := f.dial(t)
	c1.write(encode(t, cid("1234", 1, "#1234|1130 01 003", t0), nil))
	wantReply(t, c1.reply(nil), sia.IDAck, 1, "1234")
	c2 := f.dial(t)
	c2.write([]byte("\n0000"))
	if receiverGoroutines() < 4 {
		t.Fatalf("only %d receiver goroutines while serving", receiverGoroutines())
	}
	if err := f.r.Close(); err != nil {
		t.Fatal(err)
	}
	waitNoGoroutines(t)
	// Events is closed after the last event.
	n := 0
	for range f.r.Events() {
		n++
	}
	if n != 1 {
		t.Errorf("%d events before close, want 1", n)
	}
	// The connections were closed by the receiver.
	c1.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c1.c.Read(make([]byte, 1)); err == nil {
		t.Error("connection still open after Close")
	}
	if err := f.r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := f.r.Start(context.Background()); err == nil {
		t.Error("Start after Close succeeded")
	}
	f.r.CheckSupervision(t0.Add(time.Hour)) // must not panic on the closed channel
}

func TestContextCancelStops(t *testing.T) {
	waitNoGoroutines(t)
	r, err := New(Config{TCPAddr: "127.0.0.1:0", UDPAddr: "127.0.0.1:0", AllowUnknown: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	addr := r.TCPAddr().String()
	cancel()
	// The listener goes away without Close; Close then only waits.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still listening after cancel")
		}
		runtime.Gosched()
	}
	r.Close()
	waitNoGoroutines(t)
	if _, ok := <-r.Events(); ok {
		t.Error("Events not closed")
	}
}

func TestReplyString(t *testing.T) {
	for r, want := range map[Reply]string{ReplyDefault: "default", ReplyACK: "ACK", ReplyNAK: "NAK",
		ReplyDUH: "DUH", ReplyNone: "none", Reply(9): "Reply(9)"} {
		if r.String() != want {
			t.Errorf("%d: %q", int(r), r.String())
		}
	}
}

func TestIdleTimeout(t *testing.T) {
	f := start(t, func(c *Config) { c.IdleTimeout = 50 * time.Millisecond })
	c := f.dial(t)
	c.write(encode(t, cid("1234", 1, "#1234|1130 01 003", t0), nil))
	wantReply(t, c.reply(nil), sia.IDAck, 1, "1234")
	// Silence: the receiver hangs up.
	c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read %d, %v; want the connection closed by the receiver", n, err)
	}
}

// Junk is logged once per source per JunkLogInterval, with the number of frames
// dropped; the rest is summed up at Close.
func TestJunkLoggedOncePerMinute(t *testing.T) {
	f := start(t, nil)
	c := f.dial(t)
	good := func(seq int) {
		t.Helper()
		c.write(encode(t, cid("1234", seq, "#1234|1130 01 003", f.clk.Now()), nil))
		wantReply(t, c.reply(nil), sia.IDAck, seq, "1234")
		f.event(t)
	}
	for range 5 {
		c.write([]byte("junk\n"))
	}
	good(1)
	f.clk.Set(t0.Add(59 * time.Second))
	c.write([]byte("more junk\n"))
	good(2)
	f.clk.Set(t0.Add(time.Minute))
	c.write([]byte("junk at 1m\n"))
	good(3)
	// A second connection from the same address counts with the first.
	c2 := f.dial(t)
	c2.write([]byte("junk again\n"))
	c2.write(encode(t, cid("1234", 4, "#1234|1130 01 003", f.clk.Now()), nil))
	wantReply(t, c2.reply(nil), sia.IDAck, 4, "1234")
	f.event(t)
	f.r.Close()
	got := logLines(f.log.String(), "receiver: dropped bad frames")
	want := []string{
		`level=WARN msg="receiver: dropped bad frames" source=127.0.0.1 frames=1 last_err="sia: malformed frame: does not start with LF: \"junk\"" last_frame="\"junk\""`,
		`level=WARN msg="receiver: dropped bad frames" source=127.0.0.1 frames=6 last_err="sia: malformed frame: does not start with LF: \"junk at 1m\"" last_frame="\"junk at 1m\""`,
		`level=WARN msg="receiver: dropped bad frames" source=127.0.0.1 frames=1 last_err="sia: malformed frame: does not start with LF: \"junk again\"" last_frame="\"junk again\""`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("log lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// handFrame builds a plain frame byte by byte as an independent transmitter does:
// no timestamp, R and L only when given, CRC-16/ARC computed here.
func handFrame(body string) []byte {
	var crc uint16
	for i := 0; i < len(body); i++ {
		crc ^= uint16(body[i])
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xA001
			} else {
				crc >>= 1
			}
		}
	}
	return []byte(fmt.Sprintf("\n%04X%04X%s\r", crc, len(body), body))
}

// SIA-DCS messages with text, area codes and id/ti modifiers, as an independent
// transmitter sends them, are ACKed with the text, area and user on the event; a
// frame whose SIA data really is broken gets DUH with the reason.
func TestIndependentTransmitterSIA(t *testing.T) {
	f := start(t, nil)
	c := f.dial(t)
	var got []string
	for i, data := range []string{
		"#1234|Nri1BA3|AInbraak",
		`#1234|Nri1BA3*"Inbraak"NM`,
		"#1234|AInbraak achterdeur",
		"#1234|Nid5CG1",
		"#1234|NOG2",
		"#1234|NCA1",
		"#1234|Nri1BV1",
		"#1234|NNL1",
		"#1234|Nti15:02/id3/ri1/BA3",
		"#1234|Nri1id7OP7",
	} {
		seq := i + 1
		c.write(handFrame(fmt.Sprintf(`"SIA-DCS"%04d#1234[%s]`, seq, data)))
		wantReply(t, c.reply(nil), sia.IDAck, seq, "1234")
		got = append(got, strings.TrimPrefix(f.event(t).String(), "2026-11-25T21:00:00Z acct 1234 tcp "))
	}
	want := []string{
		`seq 0001 SIA-DCS BA ri1 003 Burglary (zone 3) "Inbraak"`,
		`seq 0002 SIA-DCS BA ri1 003 Burglary (zone 3) "Inbraak"`,
		`seq 0003 SIA-DCS A Text message "Inbraak achterdeur"`,
		`seq 0004 SIA-DCS CG ri1 000 Armed stay (area 1, user 5)`,
		`seq 0005 SIA-DCS OG ri2 000 Disarmed from stay (area 2)`,
		`seq 0006 SIA-DCS CA ri1 000 Automatic arm (area 1)`,
		`seq 0007 SIA-DCS BV ri1 000 Confirmed burglary (area 1)`,
		`seq 0008 SIA-DCS NL ri1 000 SIA event NL (area 1)`,
		`seq 0009 SIA-DCS BA ri1 003 Burglary (zone 3, user 3) at 15:02`,
		`seq 0010 SIA-DCS OP ri1 007 Disarmed by user (user 7)`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	c.write(handFrame(`"SIA-DCS"0011#1234[#1234|Nri1BA3?x]`))
	wantReply(t, c.reply(nil), sia.IDDuh, 11, "1234")
	f.noEvent(t)
	lines := logLines(f.log.String(), "receiver: DUH")
	wantLines := []string{`level=WARN msg="receiver: DUH" path=tcp remote=` + c.c.LocalAddr().String() +
		` account=1234 id=SIA-DCS seq=11 why="sia: malformed frame: SIA data \"#1234|Nri1BA3?x\": unexpected '?' at 6"`}
	if !slices.Equal(lines, wantLines) {
		t.Errorf("log:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(wantLines, "\n"))
	}
}
