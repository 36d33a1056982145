package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"vakt/hub"
	"vakt/storage"
)

// A restore from the web app: the backup is checked and staged next to the
// database (storage.StageRestore) with a note of who asked for it, the hub stops
// in order as on SIGTERM, and the process runs itself again with the same
// arguments (reexec). That start puts the backup in place before it opens the
// store (the database it replaces goes into the snapshots first), and once the
// hub runs, records the restore in the event log.

// errRestart is what serve returns when it stopped to restart itself.
var errRestart = errors.New("restart requested")

// reexec runs the program again in this process, with the same arguments and
// environment: `go run .` and a service manager both see the same process come
// back. It returns only on failure.
func reexec() error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	if err := syscall.Exec(exe, os.Args, os.Environ()); err != nil {
		return fmt.Errorf("restart: exec %s: %w", exe, err)
	}
	return nil
}

// restoreNote is the note staged with a backup: who asked, from which file, and
// once applied, where the replaced database was kept (or why nothing changed).
type restoreNote struct {
	Who    hub.Actor      `json:"who"`
	Name   string         `json:"name"`
	Staged storage.Staged `json:"staged"`
	At     time.Time      `json:"at"`
	Saved  string         `json:"saved,omitempty"`
	Failed string         `json:"failed,omitempty"`
}

func restoreNotePath(data string) string { return filepath.Join(data, "restore.json") }

// restorer stages backups for the running hub; one at a time.
type restorer struct {
	data   string
	h      *hub.Hub
	mu     sync.Mutex
	staged bool
}

// stage checks the backup read from r and stages it, with the note for the next
// start. It refuses while the system is not disarmed or an output sounds.
func (rs *restorer) stage(r io.Reader, name string, who hub.Actor) (string, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.staged {
		return "", &hub.Error{Kind: hub.ErrNotAllowed, Msg: "a restore is already under way: the hub is restarting"}
	}
	if err := disarmedForRestore(rs.h.Snapshot().State); err != nil {
		return "", err
	}
	staged, err := storage.StageRestore(dbPath(rs.data), r, checkBackup)
	if err != nil {
		if errors.Is(err, storage.ErrNotBackup) {
			return "", &hub.Error{Kind: hub.ErrInvalid, Msg: fmt.Sprintf("%s is not a backup this hub can use: %v (nothing was changed)", name, err)}
		}
		return "", err
	}
	note, err := json.Marshal(restoreNote{Who: who, Name: name, Staged: staged, At: time.Now().UTC()})
	if err == nil {
		err = os.WriteFile(restoreNotePath(rs.data), note, 0o600)
	}
	if err != nil {
		os.Remove(staged.Path)
		return "", fmt.Errorf("restore: note: %w (nothing was changed)", err)
	}
	rs.staged = true
	return fmt.Sprintf("%s checked (%d bytes): the hub restarts now to put it in place; the current database is kept in the snapshots", name, staged.Size), nil
}

// disarmedForRestore refuses a restore unless the system is disarmed and nothing
// sounds: a restore restarts the hub, and an armed system or an alarm must never
// stop for it.
func disarmedForRestore(st hub.State) error {
	if st.Name != hub.Disarmed || len(st.Sounding) > 0 {
		return &hub.Error{Kind: hub.ErrNotAllowed, Msg: fmt.Sprintf("the system is %s: disarm (and end any alarm) first; a restore restarts the hub, "+
			"which must not happen while it guards the house (nothing was changed)", st.Name)}
	}
	return nil
}

// checkBackup is what a staged backup must pass: a stored configuration this
// program starts with. A backup taken while armed or in an alarm is put back
// disarmed, as the system is when it is restored.
func checkBackup(st *storage.Store) error {
	cfg, set, ok, err := loadDomain(st)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("it holds no configuration")
	}
	if err := validateDomain(cfg, set); err != nil {
		return fmt.Errorf("its configuration is invalid: %w", err)
	}
	state, _, err := st.LoadState()
	if err != nil {
		return err
	}
	if state.Name != hub.Disarmed || len(state.Sounding) > 0 {
		if _, _, err := st.Commit(hub.Batch{State: hub.NewCore(cfg).InitialState()}); err != nil {
			return err
		}
	}
	return nil
}

// applyRestore puts a staged backup in place, before the store is opened: the
// current database is saved into the snapshots first. The staged file is used
// once: on failure it is renamed aside and the database is left as it was. The
// outcome is kept in the note until recordRestore logs it. It does nothing when
// no backup is staged.
func applyRestore(data string, log *slog.Logger) {
	staged := storage.StagedRestore(dbPath(data))
	if _, err := os.Stat(staged); err != nil {
		return
	}
	var note restoreNote
	if b, err := os.ReadFile(restoreNotePath(data)); err == nil {
		_ = json.Unmarshal(b, &note)
	}
	if note.Name == "" {
		note.Name = filepath.Base(staged)
	}
	fail := func(err error) {
		note.Failed = err.Error()
		aside := filepath.Join(data, "restore-failed-"+time.Now().UTC().Format("20060102T150405Z")+".db")
		if rerr := os.Rename(staged, aside); rerr != nil {
			os.Remove(staged)
		}
		log.Error("restore: not applied; the database is unchanged", "from", note.Name, "err", err)
	}
	if err := stillDisarmed(data); err != nil {
		fail(err)
	} else if saved, err := storage.Restore(dbPath(data), staged, time.Now()); err != nil {
		fail(err)
	} else {
		note.Saved = saved
		os.Remove(staged)
		log.Info("restore: database put back from a backup", "from", note.Name, "saved", saved)
	}
	if b, err := json.Marshal(note); err == nil {
		_ = os.WriteFile(restoreNotePath(data), b, 0o600)
	}
}

// stillDisarmed checks the stored state of the database about to be replaced:
// someone may have armed between the staging and the stop.
func stillDisarmed(data string) error {
	if _, err := os.Stat(dbPath(data)); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	st, err := storage.Open(dbPath(data), storage.Options{Timeout: 2 * time.Second})
	if err != nil {
		return err
	}
	defer st.Close()
	state, _, err := st.LoadState()
	if err != nil {
		return err
	}
	return disarmedForRestore(state)
}

// recordRestore records the outcome of a restore applied at this start in the
// event log, then forgets the note. It does nothing when there is none.
func recordRestore(ctx context.Context, data string, h *hub.Hub, log *slog.Logger) {
	b, err := os.ReadFile(restoreNotePath(data))
	if err != nil {
		return
	}
	var note restoreNote
	if err := json.Unmarshal(b, &note); err != nil {
		log.Error("restore: unreadable note", "err", err)
		os.Remove(restoreNotePath(data))
		return
	}
	if note.Saved == "" && note.Failed == "" {
		return // staged, not yet applied (a start that did not get this far)
	}
	detail := fmt.Sprintf("database restored from %s (%d bytes, sha256 %.16s); the previous database is kept as %s",
		note.Name, note.Staged.Size, note.Staged.SHA256, filepath.Base(note.Saved))
	if note.Failed != "" {
		detail = fmt.Sprintf("restore from %s not applied, the database is unchanged: %s", note.Name, note.Failed)
	}
	if note.Who == (hub.Actor{}) {
		note.Who = hub.Actor{Via: hub.ViaSystem, Device: "hub"}
	}
	if err := h.Input(ctx, hub.Restored{Who: note.Who, Detail: detail}); err != nil {
		log.Error("restore: recording the restore", "err", err)
		return
	}
	os.Remove(restoreNotePath(data))
}
