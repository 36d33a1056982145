package hub

import (
	"math/rand/v2"
	"testing"
	"time"
)

// Every step of a long random walk changes the state only as CanGo allows.
func TestTransitionsFollowTheTable(t *testing.T) {
	cfg := testConfig()
	cfg.Outputs = []Output{{ID: "siren", Name: "Siren", Kind: OutputSiren}}
	c := NewCore(cfg)
	r := rand.New(rand.NewPCG(7, 11))
	seen := map[[2]StateName]bool{}
	for run := 0; run < 50; run++ {
		st := c.InitialState()
		now := t0
		for i := 0; i < 400; i++ {
			now = now.Add(time.Duration(r.IntN(120)) * time.Second)
			in := inputFrom(cfg, byte(r.IntN(256)), byte(r.IntN(256)))
			next, _ := c.Apply(now, st, in)
			if !st.Name.CanGo(next.Name) {
				t.Fatalf("%s → %s on %#v, not in the table", st.Name, next.Name, in)
			}
			seen[[2]StateName{st.Name, next.Name}] = true
			st = next
		}
	}
	// The walk reaches the transitions that matter.
	for _, tr := range [][2]StateName{{Disarmed, Arming}, {Arming, ArmedAway}, {ArmedNight, Pending},
		{Pending, Triggered}, {Triggered, Disarmed}, {Disarmed, Triggered}} {
		if !seen[tr] {
			t.Errorf("the walk never took %s → %s", tr[0], tr[1])
		}
	}
}

func TestCanGo(t *testing.T) {
	for _, tc := range []struct {
		from, to StateName
		want     bool
	}{
		{Disarmed, Pending, false}, {Arming, Pending, true}, {Pending, ArmedAway, false},
		{Triggered, Arming, false}, {Triggered, Pending, false}, {Disarmed, ArmedHome, true},
		{ArmedAway, ArmedNight, true}, {Triggered, ArmedVacation, true}, {"bogus", Disarmed, false},
	} {
		if got := tc.from.CanGo(tc.to); got != tc.want {
			t.Errorf("%s → %s: %v", tc.from, tc.to, got)
		}
	}
}
