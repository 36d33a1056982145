package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

func TestHelpListsCommands(t *testing.T) {
	var out strings.Builder
	err := run(context.Background(), []string{"-h"}, nil, io.Discard, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run -h: %v", err)
	}
	head, _, ok := strings.Cut(out.String(), "\nFlags:\n")
	want := `Usage: vakt [flags]          run the hub
       vakt COMMAND [flags]  (COMMAND -h for its flags)

Commands:
  version                    print the version
  user add -name NAME        add a user (role admin by default); reads the PIN
  user list                  list the users
  user passwd -id ID         change a user's PIN (-password: the web password)
  user remove -id ID         remove a user
  config export              write the domain configuration (zones, users, outputs, settings, tokens) as YAML
  config import FILE         check and store a domain configuration (removals need -replace)
  db check                   run a full consistency check of the database
  db backup FILE             write a checked copy of the database (the hub may run)
  db restore FILE            put a snapshot back in place of the database (hub stopped)
  uplink test -config FILE   send a test report to every monitoring centre path
  receiver                   run a SIA DC-09 receiving centre that prints each event
  status                     the state, faults, readiness and zones (running hub, or the stored state)
  events -n N                the newest events (-type, -zone, -user filters)
  devices                    list the Zigbee devices the running hub knows (-data DIR)
  devices adopt IEEE         bind a Zigbee device: -zone ID, -output ID or -keypad ID (the hub may run)
  devices release IEEE       unbind a Zigbee device from everything (running hub)
`
	if !ok || head != want {
		t.Errorf("usage:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestUserAddSaysRole: the role is stated (the default said so), and a PIN is read
// from a pipe for scripts (a terminal would hide it).
func TestUserAddSaysRole(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	ctx := context.Background()
	for _, tc := range []struct {
		args []string
		in   string
		want string
	}{
		{[]string{"-name", "Alice"}, "135790\n",
			"Role: admin (the default; -role user or -role guest to change)\nPIN (6 digits): \nadded admin \"Alice\" (id alice, user number 1)\n"},
		{[]string{"-name", "Bob", "-role", "user"}, "246801\n",
			"Role: user\nPIN (6 digits): \nadded user \"Bob\" (id bob, user number 2)\n"},
	} {
		var out strings.Builder
		args := append([]string{"user", "add", "-data", data}, tc.args...)
		if err := run(ctx, args, strings.NewReader(tc.in), &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		if out.String() != tc.want {
			t.Errorf("%v: %q, want %q", tc.args, out.String(), tc.want)
		}
	}
}
