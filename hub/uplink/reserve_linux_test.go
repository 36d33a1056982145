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
