package hub

import (
	"testing"
	"time"
)

// The wait before a commit is never shorter than asked, below a millisecond
// (the kernel's sleep) and from one (the runtime's).
func TestGatherWaitNotShort(t *testing.T) {
	for _, d := range []time.Duration{50 * time.Microsecond, 200 * time.Microsecond, 900 * time.Microsecond, time.Millisecond} {
		for range 5 {
			start := time.Now()
			gatherWait(d)
			if got := time.Since(start); got < d {
				t.Errorf("gatherWait(%s) returned after %s", d, got)
			}
		}
	}
}
