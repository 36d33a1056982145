package clips

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Open opens the clip named name for reading. Only a name that List returns is
// opened (a plain file name, never a path): anything else, and a clip pruned to
// stay within the quota, is fs.ErrNotExist.
func (w *Writer) Open(name string) (*os.File, error) {
	files, err := w.List()
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if f.Name == name {
			fh, err := os.Open(filepath.Join(w.cfg.Dir, f.Name))
			if err != nil {
				return nil, fmt.Errorf("clips: open %s: %w", f.Name, err)
			}
			return fh, nil
		}
	}
	return nil, fmt.Errorf("clips: %q: %w", name, fs.ErrNotExist)
}
