package uplink

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"vakt/hub/uplink/sia"
)

// reserveAddr returns a loopback TCP address that stays reserved for the test: a
// socket with SO_REUSEADDR is bound to it but does not listen. Connections to it
// are refused, and the kernel hands the port to no other socket, except to a
// listener that sets SO_REUSEADDR too, as Go's do: a receiver started on it. So a
// receiver can stop and start again on the address while other processes run tests.
func reserveAddr(t *testing.T) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*unix.SockaddrInet4).Port))
}

// An interface name must fit the kernel's IFNAMSIZ with its NUL: 15 characters.
func TestInterfaceNameLength(t *testing.T) {
	if err := checkInterface(strings.Repeat("i", unix.IFNAMSIZ-1)); err != nil {
		t.Errorf("15 characters: %v", err)
	}
	name := strings.Repeat("i", unix.IFNAMSIZ)
	want := `interface "` + name + `": longer than 15 characters`
	if err := checkInterface(name); err == nil || err.Error() != want {
		t.Errorf("16 characters: %v, want %s", err, want)
	}
}

// A path bound to an interface that does not exist cannot connect, and says why.
func TestBindMissingInterface(t *testing.T) {
	r := newRawReceiver(t, NetTCP, func(m sia.Message) ([]byte, bool) { return frame(t, sia.Ack(m, time.Time{})), false })
	p := path("primary", r.addr)
	p.Interface = "vakt-none0"
	res := manualTest(t, p)
	detail := func(err error) string {
		return "connect to " + r.addr + ": bind to interface vakt-none0 (needs CAP_NET_RAW): " + err.Error()
	}
	// Without CAP_NET_RAW the kernel refuses before it looks for the interface.
	if res.Result != "error" || res.Detail != detail(unix.ENODEV) && res.Detail != detail(unix.EPERM) {
		t.Errorf("result %+v, want error: %s", res, detail(unix.ENODEV))
	}
	if got := r.got(); len(got) != 0 {
		t.Errorf("receiver got %+v", got)
	}
}

// A receiver that does not complete the TCP handshake: the connection attempt ends
// after the ACK timeout, and says so.
func TestConnectTimeout(t *testing.T) {
	// A listener with a backlog of 0 queues one connection; the kernel drops the
	// handshakes that come after it.
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*unix.SockaddrInet4).Port))
	first, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { first.Close() })

	e := newEnv(t, true)
	armed := make(chan time.Duration, 4)
	after := func(d time.Duration) <-chan time.Time {
		ch := e.clk.After(d)
		armed <- d
		return ch
	}
	u, err := New(Config{Paths: []Path{path("primary", addr)}}, nil, nil, e.log, WithClock(e.clk.Now, after))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan TestResult, 1)
	go func() { done <- u.Test(t.Context())[0] }()
	select {
	case d := <-armed:
		if d != DefaultAckTimeout {
			t.Errorf("connect timeout %s, want %s", d, DefaultAckTimeout)
		}
	case <-time.After(realTimeout):
		t.Fatal("no connect timeout armed")
	}
	e.clk.Advance(DefaultAckTimeout)
	var res TestResult
	select {
	case res = <-done:
	case <-time.After(realTimeout):
		t.Fatal("Test did not return")
	}
	want := TestResult{Path: "primary", Addr: addr, Result: "error", Seq: 1,
		Detail: "connect to " + addr + ": no connection within 10s"}
	if res != want {
		t.Errorf("result %+v\nwant   %+v", res, want)
	}
}
