package uplink

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"vakt/hub"
)

func TestSeqDirNumbers(t *testing.T) {
	dir := SeqDir(t.TempDir())
	if n, err := dir.LoadSeq("primary"); n != 0 || err != nil {
		t.Errorf("no file: %d, %v", n, err)
	}
	name := dir.file("primary")
	for _, tc := range []struct {
		content string
		want    int
		err     bool
	}{
		{"0\n", 0, false},
		{"9999\n", 9999, false},
		{" 17 ", 17, false},
		{"-1\n", 0, true},
		{"10000\n", 0, true},
		{"x", 0, true},
	} {
		if err := os.WriteFile(name, []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		n, err := dir.LoadSeq("primary")
		want := ""
		if tc.err {
			want = fmt.Sprintf("uplink: sequence number file %s holds %q, not 0–9999", name, tc.content)
		}
		if got := fmt.Sprint(err); n != tc.want || tc.err && got != want || !tc.err && err != nil {
			t.Errorf("file %q: %d, %v; want %d, %q", tc.content, n, err, tc.want, want)
		}
	}
	if err := dir.SaveSeq("primary", 42); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(name); err != nil || string(b) != "42\n" {
		t.Errorf("saved %q, %v", b, err)
	}
	// Nothing but the file is left in the directory.
	if got := dirNames(t, string(dir)); !slices.Equal(got, []string{"uplink-primary.seq"}) {
		t.Errorf("directory holds %q", got)
	}
}

func TestSeqDirLost(t *testing.T) {
	dir := SeqDir(t.TempDir())
	load := func() bool {
		t.Helper()
		lost, err := dir.LoadLost("primary")
		if err != nil {
			t.Fatal(err)
		}
		return lost
	}
	var got []bool
	got = append(got, load())
	for _, lost := range []bool{true, true, false, false} {
		if err := dir.SaveLost("primary", lost); err != nil {
			t.Errorf("SaveLost(%v): %v", lost, err)
		}
		got = append(got, load())
	}
	if want := []bool{false, true, true, false, false}; !slices.Equal(got, want) {
		t.Errorf("lost states %v, want %v", got, want)
	}
	if got := dirNames(t, string(dir)); len(got) != 0 {
		t.Errorf("directory holds %q", got)
	}
}

// A directory that is gone: every error names what failed.
func TestSeqDirMissing(t *testing.T) {
	base := t.TempDir()
	dir := SeqDir(filepath.Join(base, "gone"))
	lostFile := dir.lostFile("primary")
	if err, want := dir.SaveLost("primary", true), fmt.Sprintf("uplink: save lost state %s: open %s: %v", lostFile, lostFile, syscall.ENOENT); fmt.Sprint(err) != want {
		t.Errorf("SaveLost(true): %v\nwant %s", err, want)
	}
	if err, want := dir.SaveLost("primary", false), fmt.Sprintf("uplink: clear lost state: open %s: %v", dir, syscall.ENOENT); fmt.Sprint(err) != want {
		t.Errorf("SaveLost(false): %v\nwant %s", err, want)
	}
	if lost, err := dir.LoadLost("primary"); lost || err != nil {
		t.Errorf("LoadLost: %v, %v", lost, err)
	}
	// A file where the directory should be.
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	notDir := SeqDir(file)
	if lost, err := notDir.LoadLost("primary"); lost || fmt.Sprint(err) != fmt.Sprintf("uplink: read lost state: stat %s: %v", notDir.lostFile("primary"), syscall.ENOTDIR) {
		t.Errorf("LoadLost: %v, %v", lost, err)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// brokenLost is a SeqStore and LostStore that cannot read or save lost states.
type brokenLost struct{}

func (brokenLost) LoadSeq(string) (int, error)   { return 0, nil }
func (brokenLost) SaveSeq(string, int) error     { return nil }
func (brokenLost) LoadLost(string) (bool, error) { return true, errors.New("permission denied") }
func (brokenLost) SaveLost(string, bool) error   { return errors.New("read-only file system") }

// A lost state that cannot be read counts as not lost, one that cannot be saved
// is still reported to the hub; both are logged.
func TestLostStoreFailing(t *testing.T) {
	e := newEnv(t, true)
	p := path("primary", reserveAddr(t))
	p.MissedPolls = 1
	e.run(Config{Paths: []Path{p}}, WithSeqStore(brokenLost{}))
	e.until("lost", time.Hour, func() bool { return len(e.hub.faultLog()) == 1 })
	// Raised by the failure, not taken over from before the start.
	want := hub.Fault{ID: hub.FaultID{Kind: hub.FaultUplinkPath, Subject: "primary"}, Point: 1, Active: true,
		Detail: fmt.Sprintf("no answer from %s after 1 attempts: connect to %s: connect: %v", p.Addr, p.Addr, syscall.ECONNREFUSED)}
	if got := e.hub.inputsCopy(); len(got) != 1 || got[0] != want {
		t.Errorf("inputs %+v\nwant   %+v", got, want)
	}
	var errs []string
	for _, l := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(l, "level=ERROR") && strings.Contains(l, "whether the path") {
			_, msg, _ := strings.Cut(l, "msg=")
			errs = append(errs, msg)
		}
	}
	wantErrs := []string{
		`"uplink: cannot read whether the path was lost; assuming not" side=uplink path=primary err="permission denied"`,
		`"uplink: cannot save whether the path is lost" side=uplink path=primary lost=true err="read-only file system"`,
	}
	if !slices.Equal(errs, wantErrs) {
		t.Errorf("errors logged %q\nwant %q", errs, wantErrs)
	}
}
