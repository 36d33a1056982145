package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"vakt/storage"
)

func fileHash(t testing.TB, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestStartRefusesDamagedFile damages the database of a configured hub: the start
// stops with one line naming the file and the newest good snapshot, and the file
// keeps every byte.
func TestStartRefusesDamagedFile(t *testing.T) {
	dir, args := setup(t)
	data := filepath.Join(dir, "data")
	db := filepath.Join(data, "vakt.db")
	good, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := storage.Snapshots(db)
	if err != nil || len(snaps) != 1 {
		t.Fatalf("snapshots after the import: %q, %v", snaps, err)
	}
	ps := os.Getpagesize()
	tests := []struct {
		name   string
		data   []byte
		damage string
	}{
		{"empty", nil, "the file is empty (0 bytes)"},
		{"truncated", good[:3*ps], "the file is truncated"},
		{"zeroed root page", append(append(bytes.Clone(good[:3*ps]), make([]byte, ps)...), good[4*ps:]...), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(db, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			before := fileHash(t, db)
			err := run(context.Background(), args, strings.NewReader(""), io.Discard, io.Discard)
			if err == nil {
				t.Fatal("the hub started on a damaged file")
			}
			prefix := "storage: open " + db + ": not a valid database file (damaged: "
			suffix := fmt.Sprintf("; left unchanged); newest good snapshot: %s (stop the hub, then: vakt db restore -data %s %s)",
				snaps[0], data, snaps[0])
			msg := err.Error()
			if !strings.HasPrefix(msg, prefix) || !strings.HasSuffix(msg, suffix) || !strings.Contains(msg, tc.damage) ||
				strings.Contains(msg, "\n") {
				t.Errorf("error:\n%s\nwant one line: %s…%s…%s", msg, prefix, tc.damage, suffix)
			}
			if fileHash(t, db) != before {
				t.Error("the damaged file was changed")
			}
		})
	}
}

func TestDBCheckAndRestoreCommands(t *testing.T) {
	dir, args := setup(t)
	data := filepath.Join(dir, "data")
	db := filepath.Join(data, "vakt.db")
	ctx := context.Background()
	dbRun := func(a ...string) (string, error) {
		var out strings.Builder
		err := run(ctx, append([]string{"db"}, a...), nil, &out, io.Discard)
		return out.String(), err
	}
	out, err := dbRun("check", "-data", data)
	size, _ := os.Stat(db)
	res, _ := storage.Check(db, 0)
	want := fmt.Sprintf("ok: %s: %d pages of %d bytes in use, %d bytes\n", db, res.Pages, os.Getpagesize(), size.Size())
	if err != nil || out != want {
		t.Errorf("check of a sound file: %q, %v; want %q", out, err, want)
	}

	// While the hub runs, a restore is refused and changes nothing.
	snaps, _ := storage.Snapshots(db)
	p := startHub(t, args...)
	before, _ := os.Stat(db)
	out, err = dbRun("restore", "-data", data, snaps[0])
	if want := "db restore: " + db + " is in use: the hub is running; stop it first (nothing was changed)"; err == nil || err.Error() != want || out != "" {
		t.Errorf("restore while running: %q, %v; want %q", out, err, want)
	}
	if after, _ := os.Stat(db); !os.SameFile(before, after) {
		t.Error("a refused restore replaced the file")
	}
	p.stop(t)

	// A damaged file: check says what and fails; restore puts the snapshot back.
	if err := os.WriteFile(db, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	snaps, _ = storage.Snapshots(db)
	newest := snaps[len(snaps)-1]
	out, err = dbRun("check", "-data", data)
	if want := "damaged: " + db + ": 1 problem(s):\n  the file is empty (0 bytes)\n"; out != want {
		t.Errorf("check output %q, want %q", out, want)
	}
	if want := fmt.Sprintf("db check: %s is damaged; newest good snapshot: %s (stop the hub, then: vakt db restore -data %s %s)",
		db, newest, data, newest); err == nil || err.Error() != want {
		t.Errorf("check error %v, want %q", err, want)
	}
	out, err = dbRun("restore", "-data", data, newest)
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	after, _ := storage.Snapshots(db)
	saved := after[len(after)-1]
	if want := fmt.Sprintf("saved the previous file as %s\nrestored %s from %s\n", saved, db, newest); out != want {
		t.Errorf("restore output %q, want %q", out, want)
	}
	if b, _ := os.ReadFile(saved); len(b) != 0 {
		t.Error("the damaged file was not saved as it was")
	}
	p = startHub(t, args...)
	p.stop(t)
}
