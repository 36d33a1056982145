package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"vakt/hub"
	"vakt/storage"
)

// webClient is a browser on the hub's web port: a cookie jar and the session's
// CSRF token.
type webClient struct {
	t    *testing.T
	base string
	hc   *http.Client
	csrf string
}

func webLogin(t *testing.T, addr, user, password string) *webClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &webClient{t: t, base: "http://" + addr, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	var sv struct{ CSRF string }
	if code := c.do("POST", "/api/v1/session", "application/json", fmt.Sprintf(`{"user":%q,"password":%q}`, user, password), &sv); code != 200 {
		t.Fatalf("login: %d", code)
	}
	c.csrf = sv.CSRF
	return c
}

// do sends body (of contentType) with the CSRF token and decodes a JSON answer
// into out ([]byte: the raw body).
func (c *webClient) do(method, path, contentType, body string, out any) int {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("X-CSRF-Token", c.csrf)
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	switch o := out.(type) {
	case nil:
	case *[]byte:
		*o = data
	default:
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
	return res.StatusCode
}

// A backup restored over HTTP on the real binary: the hub checks it, restarts
// itself in the same process (a new exec, the same arguments), starts with the
// backup's configuration, keeps the database it replaced in the snapshots, and
// records who restored it from which file.
func TestRestoreFromTheWebRestartsTheHub(t *testing.T) {
	_, args := setup(t)
	data := args[3]
	if err := run(context.Background(), []string{"user", "passwd", "-data", data, "-id", "alice_admin", "-password"},
		strings.NewReader("admin-pass-1\n"), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	cmd, stderr := spawnHub(t, args...)
	// Every start of the process: its web address.
	starts := make(chan string, 4)
	var logMu strings.Builder
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logMu.WriteString(sc.Text() + "\n")
			if m := startedRe.FindStringSubmatch(sc.Text()); m != nil {
				starts <- m[2]
			}
		}
	}()
	started := func() string {
		t.Helper()
		select {
		case a := <-starts:
			return a
		case <-time.After(60 * time.Second):
			t.Fatal("the hub did not start in 60 s")
		}
		return ""
	}
	c := webLogin(t, started(), "alice_admin", "admin-pass-1")
	var backup []byte
	if code := c.do("GET", "/api/v1/backup", "", "", &backup); code != 200 {
		t.Fatalf("backup: %d", code)
	}
	// A change after the backup: the restore takes it back.
	if code := c.do("PATCH", "/api/v1/settings", "application/json", `{"exit_delay":{"away":"45s"}}`, nil); code != 200 {
		t.Fatalf("settings: %d", code)
	}
	var garbage map[string]any
	if code := c.do("POST", "/api/v1/backup/restore?name=junk.db", "application/octet-stream", "junk", &garbage); code != 400 {
		t.Fatalf("garbage: %d %v", code, garbage)
	}
	var ok map[string]any
	if code := c.do("POST", "/api/v1/backup/restore?name=vakt-backup-test.db", "application/octet-stream", string(backup), &ok); code != 202 {
		t.Fatalf("restore: %d %v", code, ok)
	}
	want := map[string]any{"restarting": true, "message": fmt.Sprintf("vakt-backup-test.db checked (%d bytes): the hub restarts now to put it in place; "+
		"the current database is kept in the snapshots", len(backup))}
	if !equalJSON(ok, want) {
		t.Fatalf("restore answered %v, want %v", ok, want)
	}

	// The same process starts again (its log goes on on the same pipe).
	c = webLogin(t, started(), "alice_admin", "admin-pass-1")
	var settings hub.Settings
	c.do("GET", "/api/v1/settings", "", "", &settings)
	if got := settings.ExitDelay[hub.ModeAway].D(); got != 30*time.Second {
		t.Fatalf("exit delay away after the restore: %v, want the backup's 30s", got)
	}
	var page struct{ Events []hub.Event }
	c.do("GET", "/api/v1/events?type=restored,config_changed", "", "", &page)
	var got []string
	for _, e := range page.Events {
		got = append(got, string(e.Type)+" | "+e.Who.String()+" | "+e.Detail)
	}
	snaps, err := storage.Snapshots(dbPath(data))
	if err != nil {
		t.Fatal(err)
	}
	var before string
	for _, s := range snaps {
		if strings.HasSuffix(s, "-before-restore.db") {
			before = s
		}
	}
	if before == "" {
		t.Fatalf("no before-restore snapshot in %q", snaps)
	}
	wantEvents := []string{fmt.Sprintf("restored | Alice Admin at 127.0.0.1 via web | database restored from vakt-backup-test.db (%d bytes, sha256 %.16s); "+
		"the previous database is kept as %s", len(backup), sha256hex(backup), filepath.Base(before))}
	if !equalJSON(got, wantEvents) {
		t.Fatalf("events after the restore:\n got %q\nwant %q", got, wantEvents)
	}
	// The database before the restore, with the change made after the backup.
	cp := filepath.Join(t.TempDir(), "before.db")
	if b, err := os.ReadFile(before); err != nil || os.WriteFile(cp, b, 0o600) != nil {
		t.Fatalf("copy %s: %v", before, err)
	}
	st, err := storage.Open(cp, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, _, err := st.LoadConfig()
	st.Close()
	if err != nil || cfg.Settings.ExitDelay[hub.ModeAway].D() != 45*time.Second {
		t.Fatalf("the database before the restore: %v, exit delay away %v, want 45s", err, cfg.Settings.ExitDelay[hub.ModeAway])
	}
	if _, err := os.Stat(restoreNotePath(data)); !os.IsNotExist(err) {
		t.Fatalf("the restore note is still there: %v", err)
	}

	if testing.Verbose() {
		defer func() { t.Log(logMu.String()) }()
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-logDone
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the restarted hub exited with %v; log:\n%s", err, logMu.String())
	}
}

func sha256hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
