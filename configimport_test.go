package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	ctx := context.Background()
	export := func() string {
		var out strings.Builder
		if err := run(ctx, []string{"config", "export", "-data", data}, nil, &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	imp := func(body string, flags ...string) (string, error) {
		var out strings.Builder
		args := append(append([]string{"config", "import", "-data", data}, flags...), "-")
		err := run(ctx, args, strings.NewReader(body), &out, io.Discard)
		return out.String(), err
	}
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
