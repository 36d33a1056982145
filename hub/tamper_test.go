package hub

import (
	"slices"
	"testing"
	"time"
)

// A tamper restore (3383) is reported exactly when its tamper (1383) was: the centre's open
// tamper is always closed, and never closed when it was not opened.
func TestTamperRestorePairsWithItsReport(t *testing.T) {
	c := NewCore(testConfig())
	st := c.InitialState()
	var reports []int
	step := func(d time.Duration, in Input) {
		var fx []Effect
		st, fx = c.Apply(t0.Add(d), st, in)
		for _, e := range fx {
			if r, ok := e.(Record); ok {
				for _, rep := range r.Reports {
					if rep.Code == CodeSensorTamper {
						reports = append(reports, rep.Qualifier*1000+int(rep.Code))
					}
				}
			}
		}
	}
	step(0, Sensor{Zone: "door", Signal: SigTamper})                                    // reported: 1383
	step(30*time.Second, disarm(alice, RoleAdmin))                                      // the sounder stops
	step(time.Minute, Command{Kind: CmdMaintenanceStart, Who: alice, Role: RoleAdmin})  // maintenance begins
	step(2*time.Minute, Sensor{Zone: "door", Signal: SigTamperRestore})                 // its restore: 3383
	step(3*time.Minute, Sensor{Zone: "window", Signal: SigTamper})                      // suppressed: nothing
	step(4*time.Minute, Sensor{Zone: "window", Signal: SigTamperRestore})               // nothing
	step(5*time.Minute, Command{Kind: CmdMaintenanceStop, Who: alice, Role: RoleAdmin}) //
	step(6*time.Minute, Sensor{Zone: "lid", Signal: SigOpen})                           // tamper loop opens: 1383
	step(7*time.Minute, Sensor{Zone: "lid", Signal: SigClose})                          // and closes: 3383
	if want := []int{1383, 3383, 1383, 3383}; !slices.Equal(reports, want) {
		t.Errorf("reports %v, want %v", reports, want)
	}
}
