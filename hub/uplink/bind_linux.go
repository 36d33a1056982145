package uplink

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// checkInterface validates an interface name for SO_BINDTODEVICE.
func checkInterface(name string) error {
	if len(name) >= unix.IFNAMSIZ {
		return fmt.Errorf("interface %q: longer than %d characters", name, unix.IFNAMSIZ-1)
	}
	return nil
}

// bindToDevice returns a dialer Control function that binds the socket to the
// network interface iface before it connects. The kernel requires CAP_NET_RAW.
func bindToDevice(iface string) func(network, address string, c syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, iface)
		})
		if err == nil {
			err = serr
		}
		if err != nil {
			return fmt.Errorf("bind to interface %s (needs CAP_NET_RAW): %w", iface, err)
		}
		return nil
	}
}
