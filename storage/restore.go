package storage

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// StagedRestore is the file, next to the database at dbPath, that holds a backup
// waiting to be put in place by the next start (StageRestore).
func StagedRestore(dbPath string) string {
	return filepath.Join(filepath.Dir(dbPath), "restore.db")
}

// Staged describes a backup staged for the next start.
type Staged struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// ErrNotBackup is the error of StageRestore for a file that is not a usable
// backup of this hub: not a database, damaged, another program's file, or one the
// caller's check refuses.
var ErrNotBackup = errors.New("not a usable backup")

// StageRestore writes the backup read from r next to the database at dbPath
// (StagedRestore), for the next start to put in place with Restore while the hub
// is stopped. The copy is checked as Restore checks a file (Check), then opened
// as a store and given to check (the caller's: a configuration it can start with;
// it may also write to the copy). Until all of that passed, the copy has a
// temporary name; on any error nothing is left behind and the error matches
// ErrNotBackup when the file is at fault. The database itself is not touched.
func StageRestore(dbPath string, r io.Reader, check func(*Store) error) (Staged, error) {
	fail := func(err error) (Staged, error) {
		return Staged{}, fmt.Errorf("storage: stage restore: %w", err)
	}
	dir := filepath.Dir(dbPath)
	f, err := os.CreateTemp(dir, ".restore-*.db")
	if err != nil {
		return fail(err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // harmless after the rename
	h := sha256.New()
	size, err := io.Copy(io.MultiWriter(f, h), r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fail(err)
	}
	if size == 0 {
		return fail(fmt.Errorf("%w: the file is empty", ErrNotBackup))
	}
	if _, err := Check(tmp, 0); err != nil {
		return fail(fmt.Errorf("%w: %w", ErrNotBackup, err))
	}
	st, err := Open(tmp, Options{})
	if err != nil {
		return fail(fmt.Errorf("%w: %w", ErrNotBackup, err))
	}
	err = check(st)
	if cerr := st.Close(); err == nil && cerr != nil {
		return fail(cerr)
	}
	if err != nil {
		return fail(fmt.Errorf("%w: %w", ErrNotBackup, err))
	}
	path := StagedRestore(dbPath)
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	if err := syncDir(dir); err != nil {
		return fail(err)
	}
	return Staged{Path: path, Size: size, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}
