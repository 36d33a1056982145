package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"vakt/sensors/binding"
	"vakt/sensors/mqttdev"
	"vakt/storage"
)

// readmeDomain returns the domain configuration example of README.md.
func readmeDomain(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "### Domain configuration")
	_, rest, ok2 := strings.Cut(rest, "```yaml\n")
	body, _, ok3 := strings.Cut(rest, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md has no domain configuration example")
	}
	return body
}

func TestConfigImportGuards(t *testing.T) {
	dir, _ := setup(t)
	data := filepath.Join(dir, "data")
	export, imp := configCommands(t, data)
	original := export()
	refused := []struct {
		name, body string
		flags      []string
		want       string
	}{
		{"empty", "", nil, "config import -: the file is empty: it holds no settings, zones, users or outputs (nothing was changed)"},
		{"comments only", "# nothing\n\n", nil, "config import -: the file is empty: it holds no settings, zones, users or outputs (nothing was changed)"},
		{"users: [] leaves no admin", domainYAML + "users: []\n", []string{"-replace"},
			"config import -: it would leave no admin who can disarm (an admin with a PIN); nobody could disarm the system (nothing was changed)"},
		{"removes a zone and an output", "zones:\n  - {id: door, name: Door, number: 1, type: entry_exit, mqtt: {topic: test/door}}\n", nil,
			"config import -: it would remove zone(s) window; output(s) siren; run it again with -replace to confirm (nothing was changed)"},
		// A siren kept without its binding could never sound.
		{"removes bindings", "zones:\n  - {id: door, name: Door, number: 1, type: entry_exit}\n" +
			"  - {id: window, name: Window, number: 2, type: perimeter, mqtt: {topic: test/window}}\n" +
			"outputs:\n  - {id: siren, name: Siren, kind: siren}\n", nil,
			"config import -: it would remove the mqtt binding of zone(s) door; the mqtt binding of output(s) siren; " +
				"run it again with -replace to confirm (nothing was changed)"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			out, err := imp(tc.body, tc.flags...)
			if err == nil || err.Error() != tc.want || out != "" {
				t.Errorf("import: %q, %v; want %q", out, err, tc.want)
			}
			if got := export(); got != original {
				t.Errorf("the configuration changed:\n%s", got)
			}
		})
	}

	// Without a users section the users are kept.
	out, err := imp(domainYAML)
	if want := "imported 2 zones, 1 users (kept), 1 outputs\n"; err != nil || out != want {
		t.Errorf("import without users: %q, %v; want %q", out, err, want)
	}
	if got := export(); got != original {
		t.Errorf("the configuration changed:\n%s", got)
	}
	// With -replace a removal goes through.
	out, err = imp("zones:\n  - {id: door, name: Door, number: 1, type: entry_exit, mqtt: {topic: test/door}}\n", "-replace")
	if want := "imported 1 zones, 1 users (kept), 0 outputs\n"; err != nil || out != want {
		t.Errorf("import -replace: %q, %v; want %q", out, err, want)
	}
}

// TestConfigImportREADMEExample imports the README's example into a new system and
// over a configured one: it keeps the users either way.
func TestConfigImportREADMEExample(t *testing.T) {
	body := readmeDomain(t)
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "data")
	var out strings.Builder
	if err := run(ctx, []string{"config", "import", "-data", data, "-"}, strings.NewReader(body), &out, io.Discard); err != nil {
		t.Fatalf("import into a new system: %v", err)
	}
	want := "imported 5 zones, 0 users (kept), 1 outputs\n" +
		"No admin who can disarm yet: add one with `vakt user add -name NAME` (role admin is the default).\n"
	if out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
	dir, _ := setup(t)
	out.Reset()
	err := run(ctx, []string{"config", "import", "-replace", "-data", filepath.Join(dir, "data"), "-"}, strings.NewReader(body), &out, io.Discard)
	if want := "imported 5 zones, 1 users (kept), 1 outputs\n"; err != nil || out.String() != want {
		t.Errorf("import over a configured system: %q, %v; want %q", out.String(), err, want)
	}
}

// A data file written before the bindings moved out of the configuration (schema 1:
// each zone's and output's mqtt block inside it) is migrated when it is opened, and
// exports the same YAML as before: the bindings inline in their entries.
func TestOldDataFileKeepsItsBindings(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(data, 0o750); err != nil {
		t.Fatal(err)
	}
	const oldConfig = `{"settings":{},"zones":[` +
		`{"id":"door","name":"Door","number":1,"type":"entry_exit","mqtt":{"topic":"test/door"}},` +
		`{"id":"window","name":"Window","number":2,"type":"perimeter","mqtt":{"topic":"test/window","field":"contact","open":["false"],"closed":["true"],"tamper_field":"tamper"}},` +
		`{"id":"hall","name":"Hall","number":3,"type":"follower"}],"users":null,` +
		`"outputs":[{"id":"siren","name":"Siren","kind":"siren","mqtt":{"topic":"test/siren","on":"ON","off":"OFF"}},` +
		`{"id":"sounder","name":"Sounder","kind":"sounder"}]}`
	db, err := bolt.Open(dbPath(data), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range []string{"config", "state", "events", "outbox", "retained", "meta", "events_by_class", "events_by_time"} {
			if _, err := tx.CreateBucket([]byte(name)); err != nil {
				return err
			}
		}
		if err := tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte("1")); err != nil {
			return err
		}
		return tx.Bucket([]byte("config")).Put([]byte("config"), []byte(oldConfig))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := run(context.Background(), []string{"config", "export", "-data", data}, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var f binding.File
	if err := decodeStrict([]byte(out.String()), &f); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	cfg, set := f.Split()
	wantSet := binding.Set{MQTT: mqttdev.Bindings{
		Zones: map[string]mqttdev.ZoneBinding{"door": {Topic: "test/door"},
			"window": {Topic: "test/window", Field: "contact", Open: []string{"false"}, Closed: []string{"true"}, TamperField: "tamper"}},
		Outputs: map[string]mqttdev.OutputBinding{"siren": {Topic: "test/siren", On: "ON", Off: "OFF"}},
	}}
	if !reflect.DeepEqual(set, wantSet) {
		t.Errorf("bindings\n got %+v\nwant %+v", set, wantSet)
	}
	var ids []string
	for _, z := range cfg.Zones {
		ids = append(ids, z.ID)
	}
	for _, o := range cfg.Outputs {
		ids = append(ids, o.ID)
	}
	if want := []string{"door", "window", "hall", "siren", "sounder"}; !slices.Equal(ids, want) {
		t.Errorf("ids %q, want %q", ids, want)
	}
	if snaps, err := storage.Snapshots(dbPath(data)); err != nil || len(snaps) != 1 {
		t.Errorf("snapshots before the migration: %q, %v", snaps, err)
	}
}

// configCommands returns `vakt config export` and `vakt config import -` (with
// flags) on the data directory data.
func configCommands(t *testing.T, data string) (export func() string, imp func(body string, flags ...string) (string, error)) {
	ctx := context.Background()
	export = func() string {
		t.Helper()
		var out strings.Builder
		if err := run(ctx, []string{"config", "export", "-data", data}, nil, &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	imp = func(body string, flags ...string) (string, error) {
		var out strings.Builder
		args := append(append([]string{"config", "import", "-data", data}, flags...), "-")
		err := run(ctx, args, strings.NewReader(body), &out, io.Discard)
		return out.String(), err
	}
	return export, imp
}
