package main

import (
	"context"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"vakt/storage"
)

// The command line on a running hub, over its local socket: users are added,
// changed and removed, the configuration is exported and the database backed up
// without stopping it, and the event log names the console's account. Then, with
// the hub stopped, the same commands work on the file.
func TestCommandLineOnRunningHub(t *testing.T) {
	_, args := setup(t)
	p := startHub(t, args...)
	ctx := context.Background()
	cli := func(stdin string, a ...string) string {
		t.Helper()
		var out strings.Builder
		// -data goes after the command's words, before its other arguments.
		n := 1
		if a[0] != "events" && a[0] != "status" {
			n = 2
		}
		a = append(append(append([]string{}, a[:n]...), "-data", p.data), a[n:]...)
		if err := run(ctx, a, strings.NewReader(stdin), &out, io.Discard); err != nil {
			t.Fatalf("vakt %s: %v\n%s", strings.Join(a, " "), err, out.String())
		}
		return out.String()
	}
	if out := cli("246802\ncarol-password\n", "user", "add", "-name", "Carol", "-role", "user", "-password"); !strings.Contains(out, `added user "Carol" (id carol, user number 2) to the running hub`) {
		t.Fatalf("user add: %s", out)
	}
	cli("864202\n", "user", "passwd", "-id", "carol")
	list := cli("", "user", "list")
	same := func(what, got, want string) {
		t.Helper()
		if got != want {
			t.Fatalf("%s:\n%s\nwant:\n%s", what, got, want)
		}
	}
	same("user list", list, "ID           NAME         NUMBER  ROLE   PIN  PASSWORD\n"+
		"alice_admin  Alice Admin  1       admin  yes  no\n"+
		"carol        Carol        2       user   yes  yes\n")
	if y := cli("", "config", "export"); !strings.Contains(y, "id: carol") || !strings.Contains(y, "pin_hash: $argon2id$") {
		t.Fatalf("config export while running:\n%s", y)
	}
	// Import into the running hub: a setting changes at once; a new binding, or a
	// removal without -replace, is refused with nothing changed.
	y := cli("", "config", "export")
	dir := t.TempDir()
	write := func(name, text string) string {
		t.Helper()
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	if !strings.Contains(y, "swinger_limit: 3") || !strings.Contains(y, "topic: test/window") {
		t.Fatalf("export:\n%s", y)
	}
	if out := cli("", "config", "import", write("swinger.yaml", strings.Replace(y, "swinger_limit: 3", "swinger_limit: 2", 1))); !strings.Contains(out, "into the running hub") {
		t.Fatalf("import: %s", out)
	}
	for _, bad := range []struct{ file, text, err string }{
		{"topic.yaml", strings.Replace(y, "topic: test/window", "topic: test/other-window", 1), "changes how MQTT or GPIO devices are bound"},
		{"nocarol.yaml", strings.Replace(y, "id: carol", "id: carol2", 1), "it would remove user(s) carol; run it again with -replace"},
	} {
		var out strings.Builder
		err := run(ctx, []string{"config", "import", "-data", p.data, write(bad.file, bad.text)}, nil, &out, io.Discard)
		if err == nil || !strings.Contains(err.Error(), bad.err) {
			t.Errorf("import %s: %v", bad.file, err)
		}
	}
	backup := filepath.Join(t.TempDir(), "backup.db")
	if out := cli("", "db", "backup", backup); !strings.HasPrefix(out, "backed up the running hub to "+backup) {
		t.Fatalf("db backup: %s", out)
	}
	if _, err := storage.Check(backup, 0); err != nil {
		t.Fatalf("the backup: %v", err)
	}
	cli("", "user", "remove", "-id", "carol")
	me := "console"
	if u, err := user.Current(); err == nil {
		me = "console (" + u.Username + ")"
	}
	ev := cli("", "events", "-n", "4", "-type", "config_changed")
	lines := regexp.MustCompile(`(?m)^\d+\s+\S+ \S+\s+config_changed\s+(.*?)\s+web\s+(.*)$`).FindAllStringSubmatch(ev, -1)
	var got []string
	for _, l := range lines {
		got = append(got, l[1]+" | "+l[2])
	}
	same("events", strings.Join(got, "\n"), strings.Join([]string{
		me + ` | user carol added: name "Carol", number 2, role user, PIN set, password set`,
		me + " | user carol: PIN changed",
		me + " | swinger limit 3 → 2",
		me + ` | user carol removed (name "Carol")`,
	}, "\n"))
	p.stop(t)

	// The hub stopped: the file.
	same("user list, stopped", cli("", "user", "list"), "ID           NAME         NUMBER  ROLE   PIN  PASSWORD\nalice_admin  Alice Admin  1       admin  yes  no\n")
	var out strings.Builder
	err := run(ctx, []string{"user", "remove", "-id", "alice_admin", "-data", p.data}, nil, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "last admin") {
		t.Fatalf("removing the last admin offline: %v", err)
	}
	stopped := filepath.Join(t.TempDir(), "stopped.db")
	if out := cli("", "db", "backup", stopped); !strings.Contains(out, "to "+stopped) {
		t.Fatalf("db backup, stopped: %s", out)
	}
}
