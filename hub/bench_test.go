package hub

import (
	"testing"
	"time"
)

// BenchmarkApplyAlarm measures the core's decision from a zone opening while armed to
// the siren effect.
func BenchmarkApplyAlarm(b *testing.B) {
	c := NewCore(testConfig())
	armed, _ := c.Apply(t0, c.InitialState(), arm(ModeNight))
	b.ReportAllocs()
	for b.Loop() {
		_, fx := c.Apply(t0.Add(time.Minute), armed, open_("window"))
		if _, ok := fx[0].(SetOutput); !ok {
			b.Fatalf("first effect %T", fx[0])
		}
	}
}

// BenchmarkReady measures the readiness computation done for every snapshot.
func BenchmarkReady(b *testing.B) {
	c := NewCore(testConfig())
	st, _ := c.Apply(t0, c.InitialState(), open_("window"))
	for b.Loop() {
		if len(c.Ready(st, ModeAway)) == 0 {
			b.Fatal("ready with an open window")
		}
	}
}
