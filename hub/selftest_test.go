package hub

import (
	"context"
	"reflect"
	"testing"
	"testing/synctest"
	"time"
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

// A restore is one event naming who and from what, and nothing else.
func TestRestoredIsOneEvent(t *testing.T) {
	c := NewCore(coreConfig())
	st := c.InitialState()
	who := Actor{UserID: "alice", UserName: "Alice", UserNum: 1, Via: ViaWeb, Device: "10.0.0.5"}
	next, fx := c.Apply(t0, st, Restored{Who: who, Detail: "from b.db"})
	want := []Effect{Record{Event: Event{Time: t0, Type: EvRestored, Class: ClassArming, State: Disarmed, Who: who, Detail: "from b.db"}}}
	if !reflect.DeepEqual(fx, want) {
		t.Errorf("got %+v\nwant %+v", fx, want)
	}
	if !reflect.DeepEqual(next, st) {
		t.Error("a restore's event changed the state")
	}
}

// A one-time code works once: the command goes through, then the hub removes the
// PIN, recorded as its own change, and the code is wrong from then on.
func TestOneTimeCode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := hubConfig(t)
		cfg.Users[1].OneTime = true // bob, PIN 222222
		j, o := &memJournal{}, &memOutputs{}
		h, stop := start(t, cfg, nil, j, o)
		defer stop()
		ctx := context.Background()
		arm := Request{Kind: CmdArm, Mode: ModeNight, Cred: Credential{Code: "222222"}, Via: ViaKeypad, Device: "kp1"}
		if err := h.Do(ctx, arm); err != nil {
			t.Fatal(err)
		}
		arm.Kind = CmdDisarm
		if err := h.Do(ctx, arm); KindOf(err) != ErrBadCode {
			t.Fatalf("the code again: %v", err)
		}
		synctest.Wait()
		var got []string
		evs, _, _ := j.stored()
		for _, e := range evs {
			got = append(got, string(e.Type)+" "+e.Who.String()+" "+e.Detail)
		}
		want := []string{
			"restart hub via system resumed in state disarmed",
			"armed Bob at kp1 via keypad ",
			"config_changed hub via system user bob: PIN removed; user bob: duress code removed",
			"code_rejected kp1 via keypad wrong PIN",
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("events:\n got %q\nwant %q", got, want)
		}
		if u := h.Snapshot().Config.Users[1]; u.PINHash != "" || !u.OneTime {
			t.Fatalf("bob after the use: %+v", u)
		}
	})
}

// A camera's live view is one routine event naming who watched which camera,
// from when, how long and why it ended, and nothing else.
func TestCameraViewIsOneEvent(t *testing.T) {
	c := NewCore(coreConfig())
	st := c.InitialState()
	who := Actor{UserID: "alice", UserName: "Alice", UserNum: 1, Via: ViaWeb, Device: "10.0.0.5"}
	for _, tc := range []struct {
		in   CameraView
		want string
	}{
		{CameraView{Who: who, Camera: "porch", Start: t0.Add(-65 * time.Second), Duration: 65*time.Second + 400*time.Millisecond, Ended: "viewer left"},
			"porch from 2026-11-25 19:58:55Z for 1m5s: viewer left"},
		{CameraView{Who: who, Camera: "yard", Start: t0, Duration: 0}, "yard from 2026-11-25 20:00:00Z for 0s"},
	} {
		next, fx := c.Apply(t0, st, tc.in)
		want := []Effect{Record{Event: Event{Time: t0, Type: EvCameraView, Class: ClassRoutine, State: Disarmed, Who: who, Detail: tc.want}}}
		if !reflect.DeepEqual(fx, want) {
			t.Errorf("%+v:\n got %+v\nwant %+v", tc.in, fx, want)
		}
		if !reflect.DeepEqual(next, st) {
			t.Errorf("%+v changed the state", tc.in)
		}
	}
}
