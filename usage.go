package main

import (
	"flag"
	"fmt"
	"io"
)

// subcommands lists the commands of vakt, one line each, for -h and errors.
var subcommands = [][2]string{
	{"version", "print the version"},
	{"user add -name NAME", "add a user (role admin by default); reads the PIN"},
	{"user list", "list the users"},
	{"user passwd -id ID", "change a user's PIN (-password: the web password)"},
	{"user remove -id ID", "remove a user"},
	{"config export", "write the domain configuration (zones, users, outputs, settings, tokens) as YAML"},
	{"config import FILE", "check and store a domain configuration (removals need -replace)"},
	{"db check", "run a full consistency check of the database"},
	{"db backup FILE", "write a checked copy of the database (the hub may run)"},
	{"db restore FILE", "put a snapshot back in place of the database (hub stopped)"},
	{"uplink test -config FILE", "send a test report to every monitoring centre path"},
	{"receiver", "run a SIA DC-09 receiving centre that prints each event"},
	{"status", "the state, faults, readiness and zones (running hub, or the stored state)"},
	{"events -n N", "the newest events (-type, -zone, -user filters)"},
	{"devices", "list the Zigbee devices the running hub knows (-data DIR)"},
	{"devices adopt IEEE", "bind a Zigbee device: -zone ID, -output ID or -keypad ID (the hub may run)"},
	{"devices release IEEE", "unbind a Zigbee device from everything (running hub)"},
}

// printUsage writes the usage of vakt: the hub's flags and the subcommands.
func printUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, "Usage: vakt [flags]          run the hub")
	fmt.Fprintln(w, "       vakt COMMAND [flags]  (COMMAND -h for its flags)")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range subcommands {
		fmt.Fprintf(w, "  %-26s %s\n", c[0], c[1])
	}
	fmt.Fprintln(w, "\nFlags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
}
