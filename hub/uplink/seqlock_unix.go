//go:build unix

package uplink

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// LockSeq takes an exclusive lock on the path's numbers, shared by every process
// that uses the directory (the hub and `vakt uplink test`): an flock on
// "uplink-<name>.seq.lock", released by unlock or when the process ends.
func (d SeqDir) LockSeq(path string) (func(), error) {
	name := filepath.Join(string(d), "uplink-"+path+".seq.lock")
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("uplink: lock sequence numbers: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("uplink: lock sequence numbers %s: %w", name, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
