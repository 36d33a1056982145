package storage

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"vakt/hub"
)

// oldConfig is a configuration as schema 1 stored it: each zone's and output's MQTT
// binding inside the entry.
const oldConfig = `{"settings":{"exit_delay":{"away":"30s"},"entry_delay":{},"siren_duration":"3m0s","swinger_limit":3,"pin_length":6,` +
	`"lockout_attempts":10,"lockout_window":"15m0s","lockout_duration":"1m30s","walk_test_timeout":"15m0s","maintenance_timeout":"8h0m0s",` +
	`"confirm_window":"30m0s","entry_report_delay":"30s","retention_events":200000,"retention_age":"43800h0m0s"},` +
	`"zones":[{"id":"front","name":"Front door","number":1,"type":"entry_exit","mqtt":{"topic":"zigbee2mqtt/front","field":"contact","open":["false"]}},` +
	`{"id":"hall","name":"Hall","number":2,"type":"follower"},` +
	`{"id":"pir","name":"PIR","number":3,"type":"instant","chime":true,"mqtt":{"topic":"shellies/pir"}}],` +
	`"users":[{"id":"u1","name":"Anna","number":1,"role":"admin","pin_hash":"$argon2id$x"}],` +
	`"outputs":[{"id":"siren","name":"Siren","kind":"siren","mqtt":{"topic":"cmnd/siren/POWER","on":"ON","off":"OFF","state_topic":"stat/siren/POWER"}},` +
	`{"id":"gpio","name":"Sounder","kind":"sounder"}]}`

// writeOldFile writes a database as the code of schema 1 left it: every bucket, the
// schema version 1, a configuration with bindings inside, an event and a state.
func writeOldFile(t *testing.T, path, config string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketMeta).Put(keySchema, []byte("1")); err != nil {
			return err
		}
		if err := tx.Bucket(bucketConfig).Put(keyConfig, []byte(config)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketState).Put(keyState, []byte(`{"name":"armed_away","mode":"away"}`)); err != nil {
			return err
		}
		return tx.Bucket(bucketEvents).Put(seqKey(1), []byte(`{"seq":1,"type":"armed","class":"arming"}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// rawValues reads bucket/key values of a closed database file, read-only.
func rawValues(t *testing.T, path string, want ...[2][]byte) []string {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out []string
	_ = db.View(func(tx *bolt.Tx) error {
		for _, w := range want {
			out = append(out, string(tx.Bucket(w[0]).Get(w[1])))
		}
		return nil
	})
	return out
}

// A file written by schema 1 opens: a snapshot of it is taken, the bindings move out
// of the configuration into their own value in one transaction, the schema becomes
// 2, and nothing else changes. A second open migrates nothing.
func TestMigrateBindingsOutOfConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vakt.db")
	writeOldFile(t, path, oldConfig)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, bindings, ok, err := s.LoadConfig()
	if err != nil || !ok {
		t.Fatalf("LoadConfig: %v %v", ok, err)
	}
	want := hub.Config{
		Settings: hub.Settings{ExitDelay: map[hub.Mode]hub.Duration{hub.ModeAway: hub.Duration(30 * time.Second)},
			EntryDelay: map[hub.Mode]hub.Duration{}, SirenDuration: hub.Duration(3 * time.Minute), SwingerLimit: 3,
			PINLength: 6, LockoutAttempts: 10, LockoutWindow: hub.Duration(15 * time.Minute),
			LockoutDuration: hub.Duration(90 * time.Second), WalkTestTimeout: hub.Duration(15 * time.Minute),
			MaintenanceTimeout: hub.Duration(8 * time.Hour), ConfirmWindow: hub.Duration(30 * time.Minute),
			EntryReportDelay: hub.Duration(30 * time.Second), RetentionEvents: 200000,
			RetentionAge: hub.Duration(43800 * time.Hour)},
		Zones: []hub.Zone{{ID: "front", Name: "Front door", Number: 1, Type: hub.ZoneEntryExit},
			{ID: "hall", Name: "Hall", Number: 2, Type: hub.ZoneFollower},
			{ID: "pir", Name: "PIR", Number: 3, Type: hub.ZoneInstant, Chime: true}},
		Users: []hub.User{{ID: "u1", Name: "Anna", Number: 1, Role: hub.RoleAdmin, PINHash: "$argon2id$x"}},
		Outputs: []hub.Output{{ID: "siren", Name: "Siren", Kind: hub.OutputSiren},
			{ID: "gpio", Name: "Sounder", Kind: hub.OutputSounder}},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("config\n got %+v\nwant %+v", cfg, want)
	}
	wantBindings := `{"mqtt":{"outputs":{"siren":{"topic":"cmnd/siren/POWER","on":"ON","off":"OFF","state_topic":"stat/siren/POWER"}},` +
		`"zones":{"front":{"topic":"zigbee2mqtt/front","field":"contact","open":["false"]},"pir":{"topic":"shellies/pir"}}}}`
	if string(bindings) != wantBindings {
		t.Errorf("bindings\n got %s\nwant %s", bindings, wantBindings)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The snapshot holds the file as it was; the file has the new layout, and the
	// state and the event log are untouched.
	snaps, err := Snapshots(path)
	if err != nil || len(snaps) != 1 || !strings.HasSuffix(snaps[0], "-before-migration.db") {
		t.Fatalf("snapshots %v, %v", snaps, err)
	}
	keys := [][2][]byte{{bucketMeta, keySchema}, {bucketConfig, keyConfig}, {bucketState, keyState}, {bucketEvents, seqKey(1)}}
	if got, want := rawValues(t, snaps[0], keys...), []string{"1", oldConfig, `{"name":"armed_away","mode":"away"}`,
		`{"seq":1,"type":"armed","class":"arming"}`}; !reflect.DeepEqual(got, want) {
		t.Errorf("snapshot\n got %q\nwant %q", got, want)
	}
	got := rawValues(t, path, keys...)
	if want := []string{"3", got[1], `{"name":"armed_away","mode":"away"}`, `{"seq":1,"type":"armed","class":"arming"}`}; !reflect.DeepEqual(got, want) || strings.Contains(got[1], "mqtt") {
		t.Errorf("after the migration\n got %q\nwant %q, the config without mqtt", got, want)
	}
	// Once only.
	s = openTest(t, path)
	if cfg2, b2, _, err := s.LoadConfig(); err != nil || !reflect.DeepEqual(cfg2, want) || string(b2) != wantBindings {
		t.Errorf("after a second open: %+v %s %v", cfg2, b2, err)
	}
	if snaps, _ := Snapshots(path); len(snaps) != 1 {
		t.Errorf("snapshots after a second open: %v", snaps)
	}
}

// A schema 1 file whose configuration does not decode is left as it was (LoadConfig
// reports it, as before); one without bindings gets none; one without a
// configuration opens.
func TestMigrateOddConfigs(t *testing.T) {
	for _, tc := range []struct {
		name, config string
		wantConfig   string
		wantErr      bool
	}{
		{"damaged", `{"zones":7}`, `{"zones":7}`, true},
		{"not JSON", `{`, `{`, true},
		{"no bindings", `{"zones":[{"id":"a","number":1,"type":"instant"}],"outputs":null}`,
			`{"zones":[{"id":"a","number":1,"type":"instant"}],"outputs":null}`, false},
		{"null bindings", `{"zones":[{"id":"a","mqtt":null}]}`, `{"zones":[{"id":"a"}]}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "vakt.db")
			writeOldFile(t, path, tc.config)
			s := openTest(t, path)
			_, b, ok, err := s.LoadConfig()
			if (err != nil) != tc.wantErr || ok == tc.wantErr || b != nil {
				t.Errorf("LoadConfig: bindings %s, ok %v, err %v", b, ok, err)
			}
			_ = s.Close()
			if got := rawValues(t, path, [2][]byte{bucketConfig, keyConfig}, [2][]byte{bucketMeta, keySchema}); !reflect.DeepEqual(got, []string{tc.wantConfig, "3"}) {
				t.Errorf("stored %q", got)
			}
		})
	}
	// No configuration at all.
	path := filepath.Join(t.TempDir(), "vakt.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			_, _ = tx.CreateBucket(name)
		}
		return tx.Bucket(bucketMeta).Put(keySchema, []byte("1"))
	})
	_ = db.Close()
	s := openTest(t, path)
	if _, b, ok, err := s.LoadConfig(); ok || err != nil || b != nil {
		t.Errorf("no config: %s %v %v", b, ok, err)
	}
	_ = s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}

// FuzzSplitBindings: whatever a schema 1 file holds as its configuration, the
// migration never panics, and what it writes is JSON that keeps everything but the
// mqtt blocks, which are all in the bindings.
func FuzzSplitBindings(f *testing.F) {
	for _, s := range []string{oldConfig, `{"zones":7}`, `{`, `{"zones":[{"id":"a","mqtt":null}]}`,
		`{"zones":[{"mqtt":{"topic":"t"}}],"outputs":[{"id":1,"mqtt":{}}]}`, `{"outputs":[{"id":"o","mqtt":[1]}],"zones":null}`,
		`null`, `[]`, `{"zones":[null]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		cfg, bindings, changed := splitBindings(v)
		if !changed {
			if cfg != nil || bindings != nil {
				t.Fatalf("unchanged, yet %q %q", cfg, bindings)
			}
			return
		}
		if !json.Valid(cfg) || (bindings != nil && !json.Valid(bindings)) {
			t.Fatalf("not JSON: %q %q", cfg, bindings)
		}
		// No entry keeps its mqtt block; the bindings hold at most one per block.
		for _, e := range entries(t, cfg) {
			if _, ok := e["mqtt"]; ok {
				t.Fatalf("an entry kept its mqtt block: %s", cfg)
			}
		}
		n := 0
		for _, e := range entries(t, v) {
			if m, ok := e["mqtt"]; ok && !bytes.Equal(bytes.TrimSpace(m), []byte("null")) {
				n++
			}
		}
		var got struct {
			MQTT map[string]map[string]json.RawMessage `json:"mqtt"`
		}
		if bindings != nil {
			if err := json.Unmarshal(bindings, &got); err != nil {
				t.Fatal(err)
			}
		}
		if m := len(got.MQTT["zones"]) + len(got.MQTT["outputs"]); m > n {
			t.Fatalf("%d bindings from %d blocks: %s", m, n, bindings)
		}
	})
}

// entries returns the zone and output entries of a configuration's JSON.
func entries(t *testing.T, v []byte) []map[string]json.RawMessage {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(v, &doc); err != nil {
		t.Fatalf("%v: %s", err, v)
	}
	var out []map[string]json.RawMessage
	for _, list := range []string{"zones", "outputs"} {
		var es []map[string]json.RawMessage
		if raw, ok := doc[list]; ok {
			if err := json.Unmarshal(raw, &es); err != nil {
				t.Fatalf("%s: %v", list, err)
			}
		}
		out = append(out, es...)
	}
	return out
}
