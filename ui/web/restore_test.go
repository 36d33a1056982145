package web

import (
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"vakt/storage"
)

// A restore over the API: only an admin with the CSRF token, only a backup file,
// only while disarmed; a garbage file is refused and nothing is staged; a good
// backup is staged byte for byte and the restart asked for once, after the answer.
func TestRestoreRefusalsAndStaging(t *testing.T) {
	saved := testConfig(t)
	s := startSystem(t, saved)
	if err := s.store.SaveConfig(saved, nil); err != nil {
		t.Fatal(err)
	}
	a := s.login(t, "alice", "alice-pass")
	b := s.login(t, "bob", "bob-pass")
	code, backup := a.raw("GET", "/api/v1/backup", nil, "", "")
	if code != http.StatusOK {
		t.Fatalf("backup: %d", code)
	}
	staged := storage.StagedRestore(s.store.Path())
	const octet = "application/octet-stream"
	post := func(c *client, body, contentType, csrf string) (int, errBody) {
		t.Helper()
		code, data := c.raw("POST", "/api/v1/backup/restore?name=../x/vakt-backup-1.db", body, contentType, csrf)
		var e errBody
		_ = json.Unmarshal(data, &e)
		return code, e
	}
	for _, tc := range []struct {
		name              string
		c                 *client
		body, ct, csrf    string
		code              int
		kind, msgStarting string
	}{
		{"no CSRF token", a, string(backup), octet, "", 403, "csrf", "missing or wrong X-CSRF-Token"},
		{"not an admin", b, string(backup), octet, b.csrf, 403, "denied", "only an admin may do this"},
		{"JSON", a, `{"file":"x"}`, "application/json", a.csrf, 415, "invalid", "the body must be the backup file"},
		{"garbage", a, strings.Repeat("not a database ", 1000), octet, a.csrf, 400, "invalid", "vakt-backup-1.db: storage: stage restore: not a usable backup: "},
		{"empty", a, "", octet, a.csrf, 400, "invalid", "vakt-backup-1.db: storage: stage restore: not a usable backup: the file is empty"},
		{"a truncated backup", a, string(backup[:len(backup)/2]), octet, a.csrf, 400, "invalid", "vakt-backup-1.db: storage: stage restore: not a usable backup: "},
	} {
		code, e := post(tc.c, tc.body, tc.ct, tc.csrf)
		if code != tc.code || e.Error != tc.kind || !strings.HasPrefix(e.Message, tc.msgStarting) {
			t.Errorf("%s: %d %+v, want %d %s %q…", tc.name, code, e, tc.code, tc.kind, tc.msgStarting)
		}
	}
	// Armed: refused, and why.
	if code := a.do("POST", "/api/v1/arm", map[string]any{"mode": "night"}, nil); code != http.StatusOK {
		t.Fatalf("arm: %d", code)
	}
	code, e := post(a, string(backup), octet, a.csrf)
	same(t, "armed", []any{code, e}, []any{409, errBody{Error: "not_allowed", Message: "the system is armed_night: disarm (and end any alarm) first; " +
		"a restore restarts the hub, which must not happen while it guards the house (nothing was changed)"}})
	if _, err := os.Stat(staged); !os.IsNotExist(err) || s.restarts.Load() != 0 {
		t.Fatalf("refusals staged something (%v) or restarted (%d)", err, s.restarts.Load())
	}
	if code := a.do("POST", "/api/v1/disarm", map[string]any{"code": "111111"}, nil); code != http.StatusOK {
		t.Fatalf("disarm: %d", code)
	}

	var ok map[string]any
	code, data := a.raw("POST", "/api/v1/backup/restore?name=../x/vakt-backup-1.db", string(backup), octet, a.csrf)
	if err := json.Unmarshal(data, &ok); err != nil {
		t.Fatal(err)
	}
	same(t, "restore", []any{code, ok}, []any{202, map[string]any{"message": "vakt-backup-1.db staged (" + strconv.Itoa(len(backup)) + " bytes)", "restarting": true}})
	// The staged file is the backup, opened once as a store to be checked.
	st, err := storage.Open(staged, storage.Options{})
	if err != nil {
		t.Fatalf("staged file: %v", err)
	}
	cfg, _, _, err := st.LoadConfig()
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	same(t, "staged configuration", cfg, saved)
	if n := s.restarts.Load(); n != 1 {
		t.Fatalf("restarts asked for: %d", n)
	}
	same(t, "journal", s.journal(t), []string{
		"restart system hub resumed in state disarmed",
		"armed night Alice web 127.0.0.1",
		"disarmed Alice web 127.0.0.1",
	})
}
