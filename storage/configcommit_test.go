package storage

import (
	"context"
	"encoding/json"
	"errors"
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

// storedHub runs a hub journalling to s, which gets the test configuration and
// bindings first; stop stops the hub.
func storedHub(t *testing.T, s *Store) (*hub.Hub, hub.Config, context.Context, func()) {
	t.Helper()
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
	return h, cfg, ctx, func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

type nopOutputs struct{}

func (nopOutputs) Set(hub.OutputKind, bool, bool) {}

// A hub journalling to the store: a change made while it runs is on disk when
// ChangeConfig returns, the configuration with its event, the bindings untouched.
func TestHubChangeConfigStored(t *testing.T) {
	s := openTest(t, "")
	h, _, ctx, stop := storedHub(t, s)
	defer stop()
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

// A change of bindings (a device adopted while the hub runs) is stored with its
// event in one commit; a refused one stores nothing and records nothing, and one
// that changes nothing records nothing.
func TestHubChangeBindingsStored(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vakt.db")
	s := openTest(t, path)
	h, cfg, ctx, stop := storedHub(t, s)
	anna := hub.Actor{UserID: "u1", UserName: "Anna", UserNum: 1, Via: hub.ViaWeb}
	const adopted = `{"zigbee":{"zones":{"front":{"ieee":"0x00158d0001a2b3c4"}}}}`
	var seen []hub.Config
	bind := func(lines []string, stored string, err error) func(hub.Config) (hub.BindingsChange, error) {
		return func(c hub.Config) (hub.BindingsChange, error) {
			seen = append(seen, c)
			return hub.BindingsChange{Lines: lines, Stored: json.RawMessage(stored)}, err
		}
	}
	_, err := h.ChangeConfigAndBindings(ctx, anna, nil, bind(nil, "", errors.New("zone front is bound already")))
	var he *hub.Error
	if !errors.As(err, &he) || he.Kind != hub.ErrInvalid || err.Error() != "hub: change bindings: zone front is bound already" {
		t.Errorf("a refused change: %v", err)
	}
	if _, err := h.ChangeConfigAndBindings(ctx, anna, nil, bind(nil, adopted, nil)); err != nil {
		t.Errorf("a change of nothing: %v", err)
	}
	line := "zone front: zigbee none → 0x00158d0001a2b3c4"
	if _, err := h.ChangeConfigAndBindings(ctx, anna, nil, bind([]string{line}, adopted, nil)); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 3 || !reflect.DeepEqual(seen[2], h.Snapshot().Config) {
		t.Errorf("bind saw %+v", seen)
	}
	stop()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, path)
	stored, b, ok, err := s.LoadConfig()
	if err != nil || !ok || !reflect.DeepEqual(stored, cfg) || string(b) != adopted {
		t.Errorf("LoadConfig = %+v, %s, %v, %v; want the configuration as it was with the new bindings", stored, b, ok, err)
	}
	evs, _, err := s.Events(EventQuery{Types: []hub.EventType{hub.EvConfigChanged}})
	if err != nil || len(evs) != 1 || evs[0].Who != anna || evs[0].Detail != line {
		t.Errorf("config events %+v, %v", evs, err)
	}
}
