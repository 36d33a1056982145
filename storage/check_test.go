package storage

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"vakt/hub"
)

// sampleDB writes a database with a configuration, a state, a few hundred events
// (so the log spans many pages) and an outbox, closes it and returns its bytes.
func sampleDB(t testing.TB) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vakt.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SaveConfig(testConfig(), nil); err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		b := hub.Batch{Events: []hub.Event{ev(t0.Add(time.Duration(i)*time.Second), "x", "")}, State: fullState()}
		if i%10 == 0 {
			b.Reports = []hub.Report{{Event: 0, Code: hub.Code(i)}}
		}
		if _, _, err := s.Commit(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func hashFile(t testing.TB, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestCheckSoundFile(t *testing.T) {
	good := sampleDB(t)
	path := filepath.Join(t.TempDir(), "vakt.db")
	write(t, path, good)
	res, err := Check(path, 0)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	want := CheckResult{Size: int64(len(good)), Pages: res.Pages, PageSize: os.Getpagesize()}
	if !reflect.DeepEqual(res, want) || res.Pages < 10 {
		t.Errorf("Check = %+v, want %+v with at least 10 pages", res, want)
	}
	if _, err := Check(filepath.Join(t.TempDir(), "none.db"), 0); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Check of a missing file: %v", err)
	}
}

// TestOpenDamagedFiles damages a real database file in the ways storage media and
// people do, and opens it: Open must refuse it with one line naming the file, never
// panic, and leave every byte as it was.
func TestOpenDamagedFiles(t *testing.T) {
	good := sampleDB(t)
	ps := os.Getpagesize()
	w := walker{f: bytes.NewReader(good), size: int64(len(good)), seen: map[uint64]bool{}}
	w.walk()
	if len(w.problems) > 0 {
		t.Fatal(w.problems)
	}
	pages := int(w.pgid)
	zero := func(b []byte, from, n int) []byte {
		b = bytes.Clone(b)
		clear(b[from : from+n])
		return b
	}
	tests := []struct {
		name string
		data []byte
		msg  string
	}{
		{"empty", nil, "the file is empty (0 bytes)"},
		{"one byte", good[:1], "not a bbolt file"},
		{"meta pages only", good[:2*ps], "the file is truncated"},
		{"truncated in the middle", good[:pages/2*ps], "the file is truncated"},
		{"last page in use missing", good[:(pages-1)*ps], "the file is truncated"},
		{"meta page 0 header damaged", flip(good, 0), "a meta page is damaged"},
		{"meta page 1 header damaged", flip(good, ps+8), "a meta page is damaged"},
		{"both meta pages zeroed", zero(zero(good, 0, ps), ps, ps), "both meta pages are damaged"},
	}
	for p := 2; p < pages; p++ {
		if !w.seen[uint64(p)] {
			continue // a free page: see TestOpenZeroedFreePage
		}
		tests = append(tests, struct {
			name string
			data []byte
			msg  string
		}{fmt.Sprintf("page %d zeroed", p), zero(good, p*ps, ps), ""})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "vakt.db")
			write(t, path, tt.data)
			before := hashFile(t, path)
			s, err := Open(path, Options{})
			if err == nil {
				_ = s.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, ErrDamaged) || !errors.Is(err, ErrNotDatabase) ||
				!strings.HasPrefix(err.Error(), "storage: open "+path+": not a valid database file (damaged: ") ||
				!strings.Contains(err.Error(), tt.msg) || strings.Contains(err.Error(), "\n") {
				t.Errorf("err = %v; want one line, ErrDamaged, saying %q", err, tt.msg)
			}
			if hashFile(t, path) != before {
				t.Error("the file was changed")
			}
			if _, err := Check(path, 0); !errors.Is(err, ErrDamaged) {
				t.Errorf("Check: %v", err)
			}
		})
	}
}

// TestOpenZeroedFreePage: a free page holds nothing, so zeroing it is no damage.
func TestOpenZeroedFreePage(t *testing.T) {
	good := sampleDB(t)
	ps := os.Getpagesize()
	w := walker{f: bytes.NewReader(good), size: int64(len(good)), seen: map[uint64]bool{}}
	w.walk()
	var free []int
	for p := 2; p <= int(w.pgid); p++ { // the free pages in use, and one past them
		if !w.seen[uint64(p)] {
			free = append(free, p)
		}
	}
	if len(free) == 0 {
		t.Fatal("the sample has no free page")
	}
	for _, p := range free {
		b := bytes.Clone(good)
		clear(b[p*ps : (p+1)*ps])
		path := filepath.Join(t.TempDir(), "vakt.db")
		write(t, path, b)
		s := openTest(t, path)
		evs, _, err := s.Events(EventQuery{Limit: 1000})
		if err != nil || len(evs) != 300 {
			t.Errorf("page %d zeroed: %d events, %v", p, len(evs), err)
		}
		commit(t, s, hub.Batch{Events: []hub.Event{ev(t0, "y", "")}})
	}
}

// TestOpenFlippedBytes flips one byte at a time across a real file. Each file is
// either refused (and left unchanged) or opened, read in full and written without a
// panic: damage in a value is reported by Damaged or a load error, never a crash.
func TestOpenFlippedBytes(t *testing.T) {
	good := sampleDB(t)
	dir := t.TempDir()
	// Every page's header (id, type, count) and first element, and a sparse sweep
	// of the rest.
	ps := os.Getpagesize()
	var offsets []int
	w := walker{f: bytes.NewReader(good), size: int64(len(good)), seen: map[uint64]bool{}}
	w.walk()
	for p := 0; p < int(w.pgid); p++ {
		for _, o := range []int{0, 8, 10, 17} {
			offsets = append(offsets, p*ps+o)
		}
	}
	for off := 5; off < int(w.pgid)*ps; off += 1021 {
		offsets = append(offsets, off)
	}
	var refused, opened int
	for _, off := range offsets {
		b := bytes.Clone(good)
		b[off] ^= 0x5a
		path := filepath.Join(dir, fmt.Sprintf("flip-%d.db", off))
		write(t, path, b)
		s, err := Open(path, Options{NoSync: true})
		if err != nil {
			if !errors.Is(err, ErrNotDatabase) {
				t.Fatalf("offset %d: err = %v", off, err)
			}
			if !bytes.Equal(b, mustRead(t, path)) {
				t.Fatalf("offset %d: a refused file was changed", off)
			}
			refused++
			continue
		}
		opened++
		_, _, _, _ = s.LoadConfig()
		_, _, _ = s.LoadState()
		_, _, _ = s.Events(EventQuery{Limit: 1000})
		_, _ = s.Outbox(0)
		if _, _, err := s.Commit(hub.Batch{Events: []hub.Event{ev(t0, "y", "")}}); err != nil {
			t.Errorf("offset %d: Commit after a clean check: %v", off, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		_ = os.Remove(path)
	}
	if refused == 0 || opened == 0 {
		t.Errorf("refused %d, opened %d: the sweep should meet both", refused, opened)
	}
}

func flip(b []byte, off int) []byte {
	b = bytes.Clone(b)
	b[off] ^= 0x5a
	return b
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
