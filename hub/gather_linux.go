package hub

import (
	"syscall"
	"time"
)

// gatherWait waits d before a commit. The runtime's own timers wake an idle
// process in whole milliseconds (200 µs becomes about 1.1 ms), which an alarm's
// report would wait for; below a millisecond the thread sleeps in the kernel
// instead, which keeps the wait at d plus the kernel's timer slack (50 µs).
func gatherWait(d time.Duration) {
	if d >= time.Millisecond {
		time.Sleep(d)
		return
	}
	ts := syscall.NsecToTimespec(d.Nanoseconds())
	for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
	}
}
