package storage

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"testing/synctest"
	"time"

	"vakt/hub"
)

// contents is what a test compares between a database and its copy.
func contents(t testing.TB, path string) (hub.Config, []hub.Event, []hub.Report) {
	t.Helper()
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer s.Close()
	cfg, _, _, err := s.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	evs, _, err := s.Events(EventQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Outbox(0)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, evs, out
}

func names(paths []string) []string {
	out := []string{}
	for _, p := range paths {
		out = append(out, filepath.Base(p))
	}
	return out
}

func TestSnapshotKeepsTheNewestSeven(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vakt.db")
	write(t, path, sampleDB(t))
	s := openTest(t, path)
	var want []string
	for i := range 9 {
		p, err := s.Snapshot(t0.Add(time.Duration(i)*time.Hour), "daily")
		if err != nil {
			t.Fatal(err)
		}
		if i >= 2 {
			want = append(want, p)
		}
	}
	got, err := Snapshots(path)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Snapshots = %q, %v; want %q", got, err, want)
	}
	if got, want := filepath.Base(want[6]), "vakt-20250301T200000.000Z-daily.db"; got != want {
		t.Errorf("name %q, want %q", got, want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	c1, e1, o1 := contents(t, path)
	c2, e2, o2 := contents(t, want[6])
	if !reflect.DeepEqual(c1, c2) || !reflect.DeepEqual(e1, e2) || !reflect.DeepEqual(o1, o2) || len(e1) != 300 {
		t.Error("the snapshot differs from the database")
	}
	if got := NewestGoodSnapshot(path); got != want[6] {
		t.Errorf("NewestGoodSnapshot = %q", got)
	}
	// A damaged newest snapshot is passed over.
	write(t, want[6], []byte("garbage"))
	if got := NewestGoodSnapshot(path); got != want[5] {
		t.Errorf("NewestGoodSnapshot with a damaged newest = %q, want %q", got, want[5])
	}
}

// blockingWriter blocks the first Write until release is closed.
type blockingWriter struct {
	started, release chan struct{}
	buf              bytes.Buffer
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	if w.started != nil {
		close(w.started)
		w.started = nil
		<-w.release
	}
	return w.buf.Write(p)
}

// TestSnapshotDoesNotHoldUpCommits: the journal commits while a snapshot is being
// written (a read transaction runs alongside writes).
func TestSnapshotDoesNotHoldUpCommits(t *testing.T) {
	s := openTest(t, "")
	commit(t, s, hub.Batch{Events: []hub.Event{ev(t0, "before", "")}})
	w := &blockingWriter{started: make(chan struct{}), release: make(chan struct{})}
	started := w.started
	done := make(chan error, 1)
	go func() { done <- s.snapshotTo(w) }()
	<-started
	for i := range 20 {
		commit(t, s, hub.Batch{Events: []hub.Event{ev(t0.Add(time.Duration(i)*time.Second), "during", "")}})
	}
	close(w.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The snapshot holds the state at its start: one event.
	snap := filepath.Join(t.TempDir(), "snap.db")
	write(t, snap, w.buf.Bytes())
	if _, evs, _ := contents(t, snap); !reflect.DeepEqual(seqs(evs), []uint64{1}) {
		t.Errorf("snapshot events %v, want [1]", seqs(evs))
	}
}

// TestRunSnapshotsDaily runs the daily schedule on a fake clock (synctest): a snapshot
// at start when there is none, then one a day; after a restart the schedule goes on
// from the newest snapshot.
func TestRunSnapshotsDaily(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "vakt.db")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	synctest.Test(t, func(t *testing.T) {
		start := time.Now().UTC()
		s, err := Open(path, Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		run := func(d time.Duration) {
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- s.RunSnapshots(ctx, log) }()
			time.Sleep(d)
			synctest.Wait()
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		name := func(d time.Duration) string { return snapshotName(start.Add(d), "daily") }
		run(3*24*time.Hour + time.Hour)
		got, _ := Snapshots(path)
		want := []string{name(0), name(24 * time.Hour), name(48 * time.Hour), name(72 * time.Hour)}
		if !reflect.DeepEqual(names(got), want) {
			t.Fatalf("after 3 days and 1 hour: %q, want %q", names(got), want)
		}
		// A restart 1 hour after the last snapshot takes the next one 23 hours later.
		run(22 * time.Hour)
		got, _ = Snapshots(path)
		if !reflect.DeepEqual(names(got), want) {
			t.Fatalf("after a restart and 22 hours: %q, want %q", names(got), want)
		}
		run(time.Hour)
		got, _ = Snapshots(path)
		want = append(want, name(96*time.Hour))
		if !reflect.DeepEqual(names(got), want) {
			t.Fatalf("a day after the last: %q, want %q", names(got), want)
		}
		_ = s.Close()
	})
}

func TestRestore(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "vakt.db")
	write(t, path, sampleDB(t))
	s := openTest(t, path)
	snap, err := s.Snapshot(t0, "daily")
	if err != nil {
		t.Fatal(err)
	}
	commit(t, s, hub.Batch{Events: []hub.Event{ev(t0, "after the snapshot", "")}})
	before := hashFile(t, path)

	// The hub runs: refused, nothing changed.
	if _, err := Restore(path, snap, t0.Add(time.Hour)); !errors.Is(err, ErrLocked) {
		t.Fatalf("Restore while open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if hashFile(t, path) != before {
		t.Fatal("a refused restore changed the file")
	}
	// A damaged source: refused, nothing changed.
	bad := filepath.Join(dir, "bad.db")
	write(t, bad, nil)
	if _, err := Restore(path, bad, t0.Add(time.Hour)); !errors.Is(err, ErrDamaged) {
		t.Fatalf("Restore from an empty file: %v", err)
	}
	if hashFile(t, path) != before {
		t.Fatal("a refused restore changed the file")
	}
	// A good snapshot: the current file is saved first, then replaced.
	old := mustRead(t, path)
	saved, err := Restore(path, snap, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(SnapshotDir(path), "vakt-20250301T130000.000Z-before-restore.db"); saved != want {
		t.Errorf("saved = %q, want %q", saved, want)
	}
	if !bytes.Equal(mustRead(t, saved), old) || !bytes.Equal(mustRead(t, path), mustRead(t, snap)) {
		t.Error("restore did not save the current file and copy the snapshot")
	}
	if all, _ := Snapshots(path); !reflect.DeepEqual(all, []string{snap, saved}) {
		t.Errorf("snapshots %q", all)
	}
	_, evs, _ := contents(t, path)
	if len(evs) != 300 {
		t.Errorf("restored file has %d events, want 300", len(evs))
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}
