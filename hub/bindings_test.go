package hub

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// ChangeConfigAndBindings: new bindings are stored in the commit of their
// config_changed event; a change that leaves the bindings as they are does not
// overwrite them; one that changes nothing records nothing; a refusal or a panic
// of the check records nothing either.
func TestHubChangeConfigAndBindings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, j, _ := runHub(t, hubConfig(t))
		ctx := context.Background()
		t0 := time.Now().UTC()
		binds := func() []string {
			j.mu.Lock()
			defer j.mu.Unlock()
			return slices.Clone(j.binds)
		}
		bind := func(lines []string, stored string, err error) func(Config) (BindingsChange, error) {
			return func(Config) (BindingsChange, error) {
				return BindingsChange{Lines: lines, Stored: []byte(stored)}, err
			}
		}

		// 1. A device adopted, the configuration unchanged.
		if _, err := h.ChangeConfigAndBindings(ctx, alice, nil, bind([]string{"zone hall: device pir1"}, `{"hall":"pir1"}`, nil)); err != nil {
			t.Fatal(err)
		}
		// 2. The configuration changed, the bindings not: they are not written.
		if _, err := h.ChangeConfigAndBindings(ctx, bob, func(c *Config) error {
			c.Settings.ExitDelay[ModeAway] = Duration(45 * time.Second)
			return nil
		}, bind(nil, `{"stale":"x"}`, nil)); err != nil {
			t.Fatal(err)
		}
		snap := h.Snapshot()
		_, commits, configs := j.stored()
		// 3. Nothing changed: nothing recorded.
		if _, err := h.ChangeConfigAndBindings(ctx, alice, nil, bind(nil, `{"other":"y"}`, nil)); err != nil {
			t.Fatal(err)
		}
		// 4. Refused, a check that panics, no check: ErrInvalid, nothing recorded.
		var refusals []string
		for _, check := range []func(Config) (BindingsChange, error){
			bind([]string{"zone hall: device pir2"}, `{"hall":"pir2"}`, errors.New("pir2 is bound already")),
			func(Config) (BindingsChange, error) { panic("boom") },
			nil,
		} {
			_, err := h.ChangeConfigAndBindings(ctx, alice, nil, check)
			refusals = append(refusals, string(KindOf(err))+": "+err.Error())
		}
		if want := []string{
			"invalid: hub: change bindings: pir2 is bound already",
			"invalid: hub: change bindings: the change of bindings panicked: boom",
			"invalid: hub: change bindings: a change of bindings needs its check",
		}; !reflect.DeepEqual(refusals, want) {
			t.Errorf("refusals\n%q\nwant\n%q", refusals, want)
		}
		synctest.Wait()
		if _, n, c := j.stored(); n != commits || len(c) != len(configs) || h.Snapshot() != snap {
			t.Errorf("the changes that change nothing: %d commits (was %d), %d configurations (was %d), snapshot replaced %v",
				n, commits, len(c), len(configs), h.Snapshot() != snap)
		}

		events, _, _ := j.stored()
		want := []Event{
			restartEvent(t0),
			{Seq: 2, Time: t0, Type: EvConfigChanged, Class: ClassArming, State: Disarmed, Who: alice, Detail: "zone hall: device pir1"},
			{Seq: 3, Time: t0, Type: EvConfigChanged, Class: ClassArming, State: Disarmed, Who: bob, Detail: "exit delay away 30s → 45s"},
		}
		if !reflect.DeepEqual(events, want) {
			t.Errorf("events\n%+v\nwant\n%+v", events, want)
		}
		if got, want := binds(), []string{`{"hall":"pir1"}`}; !reflect.DeepEqual(got, want) {
			t.Errorf("bindings committed %q, want %q", got, want)
		}
	})
}
