//go:build !linux

package hub

import "time"

// gatherWait waits d before a commit.
func gatherWait(d time.Duration) { time.Sleep(d) }
