//go:build !linux

package uplink

import (
	"net"
	"testing"
)

// reserveAddr returns a loopback TCP address nobody listens on.
func reserveAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
