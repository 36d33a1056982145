package storage

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"vakt/hub"
)

// rawConfig returns the stored configuration as it is on disk.
func rawConfig(t *testing.T, s *Store) string {
	t.Helper()
	var v string
	if err := s.db.View(func(tx *bolt.Tx) error {
		v = string(tx.Bucket(bucketConfig).Get(keyConfig))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return v
}

// A batch with a configuration stores it with its events and state, in place of
// the stored one and as SaveConfig would, and leaves the bindings as they were; a
// batch without one, or one that fails, leaves the stored configuration alone.
func TestCommitStoresConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vakt.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	if err := s.SaveConfig(cfg, json.RawMessage(testBindings)); err != nil {
		t.Fatal(err)
	}
	next := testConfig()
	next.Settings.ExitDelay[hub.ModeAway] = hub.Duration(45 * time.Second)
	next.Users = append(next.Users, hub.User{ID: "u2", Name: "Bo", Number: 2, Role: hub.RoleUser, PINHash: "$argon2id$y"})
	changed := ev(t0, "config_changed", hub.ClassArming)
	changed.Detail = "exit delay away 30s → 45s"
	evs, _ := commit(t, s, hub.Batch{Events: []hub.Event{changed}, State: hub.State{Name: hub.Disarmed}, Config: &next})
	changed.Seq = 1
	if !reflect.DeepEqual(evs, []hub.Event{changed}) {
		t.Errorf("Commit returned %+v", evs)
	}
	check := func(when string, want hub.Config) {
		t.Helper()
		got, b, ok, err := s.LoadConfig()
		if err != nil || !ok || !reflect.DeepEqual(got, want) || string(b) != testBindings {
			t.Errorf("%s: LoadConfig = %+v, %s, %v, %v; want %+v with the bindings as they were", when, got, b, ok, err, want)
		}
	}
	check("after a commit with a configuration", next)
	if st, ok, err := s.LoadState(); err != nil || !ok || st.Name != hub.Disarmed {
		t.Errorf("LoadState = %+v, %v, %v", st, ok, err)
	}
	if stored, _, err := s.Events(EventQuery{}); err != nil || !reflect.DeepEqual(stored, []hub.Event{changed}) {
		t.Errorf("Events = %+v, %v", stored, err)
	}

	// The same bytes as SaveConfig writes.
	other := openTest(t, "")
	if err := other.SaveConfig(next, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := rawConfig(t, s), rawConfig(t, other); got != want {
		t.Errorf("stored by Commit:\n%s\nby SaveConfig:\n%s", got, want)
	}

	commit(t, s, hub.Batch{Events: []hub.Event{ev(t0, "armed", hub.ClassArming)}, State: hub.State{Name: hub.ArmedAway, Mode: hub.ModeAway}})
	check("after a commit without one", next)
	if _, _, err := s.Commit(hub.Batch{Events: []hub.Event{ev(t0, "x", "")}, Reports: []hub.Report{{Event: 1}}, Config: &cfg}); err == nil {
		t.Fatal("a commit with a bad report index succeeded")
	}
	check("after a failed commit", next)

	// On disk: a reopened store has it.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, path)
	check("after reopening", next)

	// A store that never had a configuration gets one, without bindings.
	fresh := openTest(t, "")
	commit(t, fresh, hub.Batch{Events: []hub.Event{changed}, Config: &next})
	if got, b, ok, err := fresh.LoadConfig(); err != nil || !ok || !reflect.DeepEqual(got, next) || b != nil {
		t.Errorf("a new store: LoadConfig = %+v, %s, %v, %v", got, b, ok, err)
	}
}

type nopOutputs struct{}

func (nopOutputs) Set(hub.OutputKind, bool, bool) {}

// A hub journalling to the store: a change made while it runs is on disk when
// ChangeConfig returns, the configuration with its event, the bindings untouched.
func TestHubChangeConfigStored(t *testing.T) {
	s := openTest(t, "")
	cfg := testConfig()
	cfg.Users[0].Expires = time.Time{}
	if err := s.SaveConfig(cfg, json.RawMessage(testBindings)); err != nil {
		t.Fatal(err)
	}
	cfg, _, _, err := s.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	h := hub.New(hub.Options{Config: cfg, Journal: s, Outputs: nopOutputs{}, Location: time.UTC})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	anna := hub.Actor{UserID: "u1", UserName: "Anna", UserNum: 1, Via: hub.ViaWeb}
	got, err := h.ChangeConfig(ctx, anna, func(c *hub.Config) error {
		c.Settings.EntryDelay[hub.ModeHome] = hub.Duration(15 * time.Second)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stored, b, ok, err := s.LoadConfig()
	if err != nil || !ok || !reflect.DeepEqual(stored, got) || string(b) != testBindings {
		t.Errorf("LoadConfig = %+v, %s, %v, %v; want %+v", stored, b, ok, err, got)
	}
	evs, _, err := s.Events(EventQuery{Types: []hub.EventType{hub.EvConfigChanged}})
	if err != nil || len(evs) != 1 || evs[0].Who != anna || evs[0].Detail != "entry delay home 30s → 15s" {
		t.Errorf("config events %+v, %v", evs, err)
	}
}
