//go:build !linux

package uplink

import (
	"errors"
	"syscall"
)

// checkInterface refuses interface binding, which needs Linux's SO_BINDTODEVICE.
func checkInterface(name string) error {
	return errors.New("interface " + name + ": binding to an interface is supported on Linux only; use source_addr")
}

func bindToDevice(iface string) func(network, address string, c syscall.RawConn) error {
	return func(string, string, syscall.RawConn) error { return checkInterface(iface) }
}
