package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
)

// KeepSnapshots is how many snapshots are kept; older ones are removed.
const KeepSnapshots = 7

// SnapshotInterval is how often RunSnapshots takes a snapshot.
const SnapshotInterval = 24 * time.Hour

// snapshotTimeFormat makes names that sort by time: vakt-20250301T120000.000Z-daily.db.
const snapshotTimeFormat = "20060102T150405.000Z"

// SnapshotDir returns the directory that holds the snapshots of the database at
// dbPath: "snapshots" next to it.
func SnapshotDir(dbPath string) string {
	return filepath.Join(filepath.Dir(dbPath), "snapshots")
}

func snapshotName(at time.Time, reason string) string {
	return "vakt-" + at.UTC().Format(snapshotTimeFormat) + "-" + reason + ".db"
}

// snapshotTime parses the time out of a snapshot's file name.
func snapshotTime(name string) (time.Time, bool) {
	rest, ok := strings.CutPrefix(filepath.Base(name), "vakt-")
	if !ok || len(rest) < len(snapshotTimeFormat) {
		return time.Time{}, false
	}
	t, err := time.Parse(snapshotTimeFormat, rest[:len(snapshotTimeFormat)])
	return t, err == nil
}

// Snapshots lists the snapshots of the database at dbPath, oldest first.
func Snapshots(dbPath string) ([]string, error) {
	dir := SnapshotDir(dbPath)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("storage: snapshots %s: %w", dir, err)
	}
	var out []string
	for _, e := range entries {
		if _, ok := snapshotTime(e.Name()); ok && e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".db") {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	slices.Sort(out)
	return out, nil
}

// NewestGoodSnapshot returns the newest snapshot of the database at dbPath that passes
// Check, or "" when there is none.
func NewestGoodSnapshot(dbPath string) string {
	all, _ := Snapshots(dbPath)
	for _, p := range slices.Backward(all) {
		if _, err := Check(p, 0); err == nil {
			return p
		}
	}
	return ""
}

// Snapshot writes a consistent copy of the database into SnapshotDir, named by now
// and reason ("daily", "import", "restore"), and removes all but the newest
// KeepSnapshots. The copy is made inside a read transaction, which runs concurrently
// with the journal's commits, written to a temporary file, synced and renamed, so a
// snapshot file is always complete. It returns the snapshot's path.
func (s *Store) Snapshot(now time.Time, reason string) (string, error) {
	dir := SnapshotDir(s.path)
	path := filepath.Join(dir, snapshotName(now, reason))
	err := writeAtomic(path, func(w io.Writer) error { return s.snapshotTo(w) })
	if err != nil {
		return "", fmt.Errorf("storage: snapshot %s: %w", path, err)
	}
	if err := pruneSnapshots(s.path); err != nil {
		return path, err
	}
	return path, nil
}

// Backup writes a consistent copy of the whole database to w, while the hub runs
// (a read transaction: commits go on meanwhile). The copy is a database file that
// `vakt db restore` puts back.
func (s *Store) Backup(w io.Writer) error {
	if err := s.snapshotTo(w); err != nil {
		return fmt.Errorf("storage: backup: %w", err)
	}
	return nil
}

func (s *Store) snapshotTo(w io.Writer) error {
	return s.db.View(func(tx *bolt.Tx) error {
		_, err := tx.WriteTo(w)
		return err
	})
}

// writeAtomic writes a file by way of a synced temporary file in the same directory.
func writeAtomic(path string, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // harmless after the rename
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// pruneSnapshots removes all but the newest KeepSnapshots snapshots.
func pruneSnapshots(dbPath string) error {
	all, err := Snapshots(dbPath)
	if err != nil {
		return err
	}
	for _, p := range all[:max(0, len(all)-KeepSnapshots)] {
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("storage: remove old snapshot: %w", err)
		}
	}
	return nil
}

// RunSnapshots takes a snapshot when the newest one is SnapshotInterval old (or there
// is none), and then every SnapshotInterval, until ctx is cancelled. A failed snapshot
// is logged and tried again at the next interval; it never stops the hub.
func (s *Store) RunSnapshots(ctx context.Context, log *slog.Logger) error {
	for {
		next := time.Now()
		if all, _ := Snapshots(s.path); len(all) > 0 {
			if last, ok := snapshotTime(all[len(all)-1]); ok && !last.After(time.Now()) {
				next = last.Add(SnapshotInterval)
			}
		}
		timer := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
		path, err := s.Snapshot(time.Now(), "daily")
		if err != nil {
			log.Error("storage: daily snapshot failed", "err", err)
			// Try again in an interval, not in a tight loop.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(SnapshotInterval):
			}
			continue
		}
		log.Info("storage: snapshot written", "path", path)
	}
}

// lockFile takes the lock a running hub holds on its database file (bbolt's flock).
// It fails with ErrLocked when another process holds it. The caller closes the file.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, err
	}
	return f, nil
}

// Restore replaces the database at dbPath with the file from, with the hub stopped.
// It refuses when a running hub holds the file (ErrLocked) and when from does not pass
// Check. The current file, damaged or not, is first copied into SnapshotDir (reason
// "before-restore"); its path is returned.
func Restore(dbPath, from string, now time.Time) (saved string, err error) {
	fail := func(err error) (string, error) {
		return saved, fmt.Errorf("storage: restore %s from %s: %w", dbPath, from, err)
	}
	if _, err := Check(from, 0); err != nil {
		return fail(err)
	}
	cur, err := lockFile(dbPath)
	switch {
	case errors.Is(err, ErrLocked):
		return fail(fmt.Errorf("%w: the hub is running; stop it first", ErrLocked))
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fail(err)
	default:
		defer cur.Close()
		saved = filepath.Join(SnapshotDir(dbPath), snapshotName(now, "before-restore"))
		err := writeAtomic(saved, func(w io.Writer) error {
			_, err := io.Copy(w, io.NewSectionReader(cur, 0, 1<<62))
			return err
		})
		if err != nil {
			return fail(fmt.Errorf("save the current file: %w", err))
		}
	}
	src, err := os.Open(from)
	if err != nil {
		return fail(err)
	}
	defer src.Close()
	if err := writeAtomic(dbPath, func(w io.Writer) error { _, err := io.Copy(w, src); return err }); err != nil {
		return fail(err)
	}
	if err := pruneSnapshots(dbPath); err != nil {
		return saved, err
	}
	return saved, nil
}
