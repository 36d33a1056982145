package storage

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// dirNames lists the files in dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// StageRestore refuses anything but a usable backup and leaves nothing behind
// then; a backup is staged whole, with its size and hash, the database untouched.
func TestStageRestore(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "vakt.db")
	s, err := Open(db, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	var backup bytes.Buffer
	if err := s.Backup(&backup); err != nil {
		t.Fatal(err)
	}
	s.Close()
	before, _ := os.ReadFile(db)
	other := filepath.Join(t.TempDir(), "other.db")
	bdb, err := bolt.Open(other, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = bdb.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("photos")); return err })
	bdb.Close()
	otherBytes, _ := os.ReadFile(other)
	ok := func(*Store) error { return nil }
	refuse := func(*Store) error { return errors.New("no configuration") }
	for _, tc := range []struct {
		name  string
		file  []byte
		check func(*Store) error
		want  string
	}{
		{"empty", nil, ok, "the file is empty"},
		{"garbage", []byte(strings.Repeat("garbage ", 4096)), ok, "storage: open"},
		{"truncated", backup.Bytes()[:backup.Len()/2], ok, "storage: open"},
		{"another program's database", otherBytes, ok, "photos"},
		{"refused by the caller", backup.Bytes(), refuse, "no configuration"},
	} {
		_, err := StageRestore(db, bytes.NewReader(tc.file), tc.check)
		if !errors.Is(err, ErrNotBackup) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrNotBackup naming %q", tc.name, err, tc.want)
		}
		if got := dirNames(t, dir); !slices.Equal(got, []string{"vakt.db"}) {
			t.Fatalf("%s left %q", tc.name, got)
		}
	}
	st, err := StageRestore(db, bytes.NewReader(backup.Bytes()), ok)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(backup.Bytes())
	if want := (Staged{Path: StagedRestore(db), Size: int64(backup.Len()), SHA256: hex.EncodeToString(sum[:])}); st != want {
		t.Fatalf("staged %+v, want %+v", st, want)
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{"restore.db", "vakt.db"}) {
		t.Fatalf("files: %q", got)
	}
	if after, _ := os.ReadFile(db); !bytes.Equal(after, before) {
		t.Fatal("the database changed")
	}
	if _, err := Check(st.Path, 0); err != nil {
		t.Fatal(err)
	}
}
