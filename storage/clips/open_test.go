package clips

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// Open opens only the clips List names: not other files, not paths, not a
// clip pruned meanwhile.
func TestOpenOnlyKnownClips(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "clips")
	w, err := New(Config{Dir: dir, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"clips/a_1.mp4": "clip a", "clips/notes.txt": "n", "clips/.clip-123": "tmp", "b.mp4": "outside"} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f, err := w.Open("a_1.mp4")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != "clip a" {
		t.Fatalf("read %q", b)
	}
	for _, name := range []string{"notes.txt", ".clip-123", "../b.mp4", "", ".", "a_1.mp4/", "/a_1.mp4"} {
		if f, err := w.Open(name); !errors.Is(err, fs.ErrNotExist) {
			if f != nil {
				f.Close()
			}
			t.Errorf("Open(%q): %v, want not exist", name, err)
		}
	}
	if err := os.Remove(filepath.Join(dir, "a_1.mp4")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Open("a_1.mp4"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("pruned clip: %v", err)
	}
}
