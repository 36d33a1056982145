package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"vakt/storage"
)

// dbPath is the database file in a data directory.
func dbPath(dir string) string { return filepath.Join(dir, "vakt.db") }

// damagedHint completes the error of a damaged database file with the newest good
// snapshot and how to put it back, on the same line.
func damagedHint(dir string, err error) error {
	if !errors.Is(err, storage.ErrNotDatabase) {
		return err
	}
	return fmt.Errorf("%w; %s", err, snapshotHint(dir))
}

func snapshotHint(dir string) string {
	snap := storage.NewestGoodSnapshot(dbPath(dir))
	if snap == "" {
		return "no good snapshot in " + storage.SnapshotDir(dbPath(dir))
	}
	return fmt.Sprintf("newest good snapshot: %s (stop the hub, then: vakt db restore -data %s %s)", snap, dir, snap)
}

// dbCmd implements `vakt db check` and `vakt db restore`.
func dbCmd(args []string, stdout, stderr io.Writer) error {
	usage := errors.New("usage: vakt db check [-data DIR] | vakt db backup [-data DIR] FILE | vakt db restore [-data DIR] FILE")
	if len(args) == 0 || (args[0] != "check" && args[0] != "restore" && args[0] != "backup") {
		return usage
	}
	fs := flag.NewFlagSet("vakt db "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "./vakt-data", "data directory")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	path := dbPath(*data)
	if args[0] == "backup" {
		if fs.NArg() != 1 {
			return usage
		}
		return dbBackup(context.Background(), *data, fs.Arg(0), stdout)
	}
	if args[0] == "check" {
		if fs.NArg() != 0 {
			return usage
		}
		res, err := storage.Check(path, 0)
		if err != nil && !errors.Is(err, storage.ErrDamaged) {
			return fmt.Errorf("db check: %w", err)
		}
		if err == nil {
			fmt.Fprintf(stdout, "ok: %s: %d pages of %d bytes in use, %d bytes\n", path, res.Pages, res.PageSize, res.Size)
			return nil
		}
		fmt.Fprintf(stdout, "damaged: %s: %d problem(s):\n", path, len(res.Problems))
		for _, p := range res.Problems {
			fmt.Fprintln(stdout, "  "+p)
		}
		return fmt.Errorf("db check: %s is damaged; %s", path, snapshotHint(*data))
	}
	if fs.NArg() != 1 {
		return usage
	}
	from := fs.Arg(0)
	saved, err := storage.Restore(path, from, time.Now())
	if err != nil {
		if errors.Is(err, storage.ErrLocked) {
			return fmt.Errorf("db restore: %s is in use: the hub is running; stop it first (nothing was changed)", path)
		}
		return fmt.Errorf("db restore: %w (nothing was changed)", err)
	}
	if saved != "" {
		fmt.Fprintf(stdout, "saved the previous file as %s\n", saved)
	}
	fmt.Fprintf(stdout, "restored %s from %s\n", path, from)
	return nil
}
