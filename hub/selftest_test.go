package hub

import (
	"reflect"
	"testing"
)

// A self-test's result is one event, passed or not, with its steps, and nothing
// else: no output, no report, no change of state.
func TestSelfTestResult(t *testing.T) {
	c := NewCore(coreConfig())
	st := c.InitialState()
	who := Actor{UserID: "alice", UserName: "Alice", UserNum: 1, Via: ViaWeb, Device: "10.0.0.5"}
	for _, tc := range []struct {
		in   SelfTestResult
		want string
	}{
		{SelfTestResult{Who: who, Passed: true, Detail: "armed, left in time"}, "passed: armed, left in time"},
		{SelfTestResult{Who: who, Detail: "missing: siren 30 s"}, "not passed: missing: siren 30 s"},
		{SelfTestResult{Who: who, Passed: true}, "passed"},
	} {
		next, fx := c.Apply(t0, st, tc.in)
		want := []Effect{Record{Event: Event{Time: t0, Type: EvSelfTest, Class: ClassArming, State: Disarmed, Who: who, Detail: tc.want}}}
		if !reflect.DeepEqual(fx, want) {
			t.Errorf("%+v:\n got %+v\nwant %+v", tc.in, fx, want)
		}
		if !reflect.DeepEqual(next, st) {
			t.Errorf("%+v changed the state", tc.in)
		}
	}
}
