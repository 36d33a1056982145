package clips

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeDisk is a file system with a settable amount of free space that grows by
// what the clips directory loses.
type fakeDisk struct {
	mu    sync.Mutex
	dir   string
	base  int64 // free space with the directory as it was at the start
	start int64 // the directory's bytes at the start
	calls int
	after func(calls int) int64 // optional: base from the nth call on
}

func (d *fakeDisk) free() (int64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	base := d.base
	if d.after != nil {
		base = d.after(d.calls)
	}
	return base + d.start - dirBytes(d.dir), nil
}

func dirBytes(dir string) int64 {
	var n int64
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !e.Type().IsRegular() || filepath.Ext(e.Name()) != Ext {
			continue
		}
		if info, err := e.Info(); err == nil {
			n += info.Size()
		}
	}
	return n
}

// oldClips writes clips a (oldest) … d of 100 bytes each.
func oldClips(t *testing.T, dir string) {
	t.Helper()
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i, name := range []string{"a_1.mp4", "b_2.mp4", "c_3.mp4", "d_4.mp4"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, make([]byte, 100), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, base.Add(time.Duration(i)*time.Hour), base.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
}

func names(t *testing.T, w *Writer) []string {
	t.Helper()
	files, err := w.List()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		out = append(out, f.Name)
	}
	return out
}

// Below the reserve the oldest clips go, one at a time, until the disk has it.
func TestRoomDeletesOldestUntilTheReserveIsFree(t *testing.T) {
	dir := t.TempDir()
	oldClips(t, dir)
	disk := &fakeDisk{dir: dir, base: 850, start: 400}
	w, err := New(Config{Dir: dir, Reserve: 1000, Free: disk.free, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if !w.room("") {
		t.Fatal("no room")
	}
	if got, want := names(t, w), []string{"c_3.mp4", "d_4.mp4"}; !slices.Equal(got, want) {
		t.Errorf("left %v, want %v", got, want)
	}
	// Enough free: nothing goes.
	if !w.room("") || !slices.Equal(names(t, w), []string{"c_3.mp4", "d_4.mp4"}) {
		t.Errorf("left %v", names(t, w))
	}
}

// No room even with every clip gone: no clip is started, and the disk keeps
// what the journal needs.
func TestClipRefusedWhenTheDiskIsNearlyFull(t *testing.T) {
	cam, _ := liveCamera(t)
	dir := t.TempDir()
	oldClips(t, dir)
	disk := &fakeDisk{dir: dir, base: 100, start: 400}
	w, err := New(Config{Dir: dir, Reserve: 1000, Free: disk.free, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.Clip(t.Context(), cam, "alarm")
	if !errors.Is(err, ErrDiskFull) || err.Error() != "clips: front door: disk nearly full: less than 0 MiB free, kept for the journal" {
		t.Fatalf("err %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("dir holds %d entries, want none (every clip deleted for space, none written)", len(entries))
	}
}

// The disk fills while a clip is written: it ends at the next fragment with
// what it has, and is kept.
func TestClipEndsEarlyWhenTheDiskFills(t *testing.T) {
	cam, all := liveCamera(t)
	next(t, all)
	dir := t.TempDir()
	// Room at the start; from the second look on, none.
	disk := &fakeDisk{dir: dir, base: 1 << 30, after: func(calls int) int64 {
		if calls == 1 {
			return 1 << 30
		}
		return 0
	}}
	w, err := New(Config{Dir: dir, Post: 20 * time.Second, Reserve: 1 << 20, Free: disk.free, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := w.Clip(t.Context(), cam, "alarm")
	if err != nil {
		t.Fatal(err)
	}
	if c.Duration <= 0 || c.Duration >= 10*time.Second || c.Frames == 0 {
		t.Errorf("clip of %s, %d frames: want it cut at its first fragment", c.Duration, c.Frames)
	}
	if got := names(t, w); !slices.Equal(got, []string{c.Name}) {
		t.Errorf("clips %v, want only %s", got, c.Name)
	}
}

// A clip interrupted by a crash leaves its temporary file; the next start
// removes it (and nothing else).
func TestNewRemovesUnfinishedClips(t *testing.T) {
	dir := t.TempDir()
	oldClips(t, dir)
	for _, name := range []string{".clip-123", ".clip-456", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, 10), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := New(Config{Dir: dir, Logger: quietLogger()}); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if want := []string{"a_1.mp4", "b_2.mp4", "c_3.mp4", "d_4.mp4", "notes.txt"}; !slices.Equal(left, want) {
		t.Errorf("left %v, want %v", left, want)
	}
}
