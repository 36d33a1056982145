package uplink

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// SeqStore keeps each path's highest DC-09 sequence number that may have been used,
// so that the numbers go on across restarts and across `vakt uplink test` runs: a
// receiving centre that suppresses repeated numbers would otherwise drop the first
// messages after every start. The uplink reserves numbers in blocks of 100: it
// saves the block's last number before it sends the block's first message, and a
// restart goes on after it.
type SeqStore interface {
	// LoadSeq returns the highest number that may have been used on the path, 0
	// for none.
	LoadSeq(path string) (int, error)
	// SaveSeq records seq as the highest number that may be used on the path.
	SaveSeq(path string, seq int) error
}

// WithSeqStore continues each path's sequence numbers from s (see SeqStore).
// Without it every start begins at 0001.
func WithSeqStore(s SeqStore) Option {
	return func(o *options) { o.seqs = s }
}

// SeqDir is a SeqStore in a directory: one file per path, "uplink-<name>.seq",
// holding the number in decimal, replaced atomically (written, synced, renamed).
// It is a plain file rather than part of the database so that `vakt uplink test`
// can use it while the hub, which holds the database locked, runs.
type SeqDir string

func (d SeqDir) file(path string) string {
	return filepath.Join(string(d), "uplink-"+path+".seq")
}

// LoadSeq implements SeqStore. A missing file is 0; a damaged one is an error.
func (d SeqDir) LoadSeq(path string) (int, error) {
	name := d.file(path)
	b, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("uplink: read sequence number: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n < 0 || n > 9999 {
		return 0, fmt.Errorf("uplink: sequence number file %s holds %q, not 0–9999", name, b)
	}
	return n, nil
}

// SaveSeq implements SeqStore.
func (d SeqDir) SaveSeq(path string, seq int) error {
	name := d.file(path)
	tmp, err := os.CreateTemp(string(d), ".uplink-"+path+"-*.tmp")
	if err != nil {
		return fmt.Errorf("uplink: save sequence number %s: %w", name, err)
	}
	_, err = fmt.Fprintf(tmp, "%d\n", seq)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("uplink: save sequence number %s: %w", name, err)
	}
	return nil
}

// LostStore keeps whether a path is lost across restarts, so that after a restart
// (even a kill) the path counts as lost, and its fault is raised, at once — not
// only after missed_polls more failures. A SeqStore that also implements
// LostStore (SeqDir does) is used for it.
type LostStore interface {
	LoadLost(path string) (bool, error)
	SaveLost(path string, lost bool) error
}

// LoadLost implements LostStore: the path is lost while "uplink-<name>.lost" exists.
func (d SeqDir) LoadLost(path string) (bool, error) {
	_, err := os.Stat(d.lostFile(path))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("uplink: read lost state: %w", err)
}

// SaveLost implements LostStore.
func (d SeqDir) SaveLost(path string, lost bool) error {
	name := d.lostFile(path)
	if !lost {
		if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("uplink: clear lost state: %w", err)
		}
		if err := syncDir(string(d)); err != nil {
			return fmt.Errorf("uplink: clear lost state: %w", err)
		}
		return nil
	}
	f, err := os.Create(name)
	if err == nil {
		err = f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = syncDir(string(d))
	}
	if err != nil {
		return fmt.Errorf("uplink: save lost state %s: %w", name, err)
	}
	return nil
}

func (d SeqDir) lostFile(path string) string {
	return filepath.Join(string(d), "uplink-"+path+".lost")
}

// syncDir makes a file's creation or removal in dir durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
