package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"vakt/hub"
	"vakt/hub/uplink"
	"vakt/hub/uplink/receiver"
	"vakt/hub/uplink/sia"
	"vakt/sensors/binding"
	"vakt/storage"
)

func userCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	const usage = "usage: vakt user add -name NAME [-role admin|user|guest (default admin)] [-password] | list | passwd -id ID [-password] | remove -id ID  (each with [-data DIR]; PIN and password read from standard input, hidden on a terminal)"
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "add", "list", "passwd", "remove":
	default:
		return errors.New(usage)
	}
	// On the running hub first, over its local socket.
	if ran, err := userHot(context.Background(), args[0], args[1:], stdin, stdout, stderr); ran {
		return err
	}
	if args[0] != "add" {
		return userOffline(args[0], args[1:], stdin, stdout, stderr)
	}
	fs := flag.NewFlagSet("vakt user add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "./vakt-data", "data directory")
	name := fs.String("name", "", "the user's name")
	id := fs.String("id", "", "user id (default: the name in lower case)")
	role := fs.String("role", "admin", "admin, user or guest")
	withPassword := fs.Bool("password", false, "also read a web password (second line of input)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *name == "" {
		return errors.New("user add: -name is required")
	}
	if *id == "" {
		*id = strings.ToLower(strings.Join(strings.Fields(*name), "_"))
	}
	store, err := openStore(*data)
	if err != nil {
		return fmt.Errorf("user add: %w (is the hub running? stop it first)", err)
	}
	defer store.Close()
	cfg, set, _, err := loadDomain(store)
	if err != nil {
		return err
	}
	cfg.Settings = cfg.Settings.WithDefaults()
	roleSet := false
	fs.Visit(func(f *flag.Flag) { roleSet = roleSet || f.Name == "role" })
	if roleSet {
		fmt.Fprintf(stdout, "Role: %s\n", *role)
	} else {
		fmt.Fprintf(stdout, "Role: %s (the default; -role user or -role guest to change)\n", *role)
	}
	u := hub.User{ID: *id, Name: *name, Role: hub.Role(*role), Number: 1}
	for _, o := range cfg.Users {
		if o.ID == u.ID {
			return fmt.Errorf("user add: user %q exists", u.ID)
		}
		u.Number = max(u.Number, o.Number+1)
	}
	in := newSecretReader(stdin)
	if u.PINHash, err = readPIN(in, stdout, cfg.Users, cfg.Users, cfg.Settings.PINLength); err != nil {
		return fmt.Errorf("user add: %w", err)
	}
	if *withPassword {
		fmt.Fprint(stdout, "\nWeb password: ")
		pw, ok := in.read()
		if !ok || len(pw) < 8 {
			return errors.New("user add: a web password needs at least 8 characters")
		}
		if u.PasswordHash, err = hub.HashSecret(pw, hub.DefaultHashParams); err != nil {
			return err
		}
	}
	cfg.Users = append(cfg.Users, u)
	if err := validateDomain(cfg, set); err != nil {
		return fmt.Errorf("user add: %w", err)
	}
	if err := saveDomain(store, cfg, set); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nadded %s %q (id %s, user number %d)\n", u.Role, u.Name, u.ID, u.Number)
	return nil
}

// readPIN reads a new PIN from in and hashes it with the salt users share; others
// are the users whose PINs it must not equal.
func readPIN(in *secretReader, stdout io.Writer, users, others []hub.User, length int) (string, error) {
	fmt.Fprintf(stdout, "PIN (%d digits): ", length)
	pin, ok := in.read()
	if !ok {
		return "", errors.New("no PIN on standard input")
	}
	if err := hub.CheckPIN(pin, length); err != nil {
		return "", err
	}
	if _, _, taken := hub.Identify(others, hub.Credential{Code: pin}); taken {
		return "", errors.New("that PIN is taken; choose another")
	}
	return hub.HashPIN(users, pin, hub.DefaultHashParams)
}

// secretReader reads secrets, one a line: hidden as typed when standard input is a
// terminal, a plain line from a pipe (scripts).
type secretReader struct {
	fd   int // the terminal's file descriptor, or -1
	scan *bufio.Scanner
}

func newSecretReader(r io.Reader) *secretReader {
	if f, ok := r.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return &secretReader{fd: int(f.Fd())}
	}
	return &secretReader{fd: -1, scan: bufio.NewScanner(r)}
}

func (s *secretReader) read() (string, bool) {
	if s.fd >= 0 {
		b, err := term.ReadPassword(s.fd)
		return strings.TrimSpace(string(b)), err == nil
	}
	if !s.scan.Scan() {
		return "", false
	}
	return strings.TrimSpace(s.scan.Text()), true
}

func configCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "export" && args[0] != "import") {
		return errors.New("usage: vakt config export [-data DIR] | vakt config import [-data DIR] FILE (- for standard input)")
	}
	fs := flag.NewFlagSet("vakt config "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "./vakt-data", "data directory")
	replace := fs.Bool("replace", false, "import: allow removing zones, users and outputs")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if args[0] == "export" {
		// From the running hub first: a backup needs no downtime.
		resp, err := localRequest(context.Background(), *data, "GET", "/api/v1/config", nil)
		if err == nil {
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				return fmt.Errorf("config export: the hub answered %s", resp.Status)
			}
			_, err = io.Copy(stdout, resp.Body)
			return err
		}
		if !errors.Is(err, errNotRunning) {
			return fmt.Errorf("config export: %w", err)
		}
	}
	if args[0] == "import" && fs.NArg() == 1 {
		// Into the running hub first: in force at once, unless the bindings change.
		b, err := readImport(fs.Arg(0), stdin)
		if err != nil {
			return err
		}
		var res struct{ Message string }
		path := "/api/v1/config"
		if *replace {
			path += "?replace=true"
		}
		err = localDo(context.Background(), *data, "POST", path, rawBody{"application/yaml", b}, &res)
		if err == nil {
			fmt.Fprintln(stdout, res.Message)
			return nil
		}
		if !errors.Is(err, errNotRunning) {
			return fmt.Errorf("config import %s: %w", fs.Arg(0), err)
		}
		store, err := openStore(*data)
		if err != nil {
			return fmt.Errorf("config import: %w (is the hub running? stop it first)", err)
		}
		defer store.Close()
		return importData(store, fs.Arg(0), b, *replace, stdout)
	}
	store, err := openStore(*data)
	if err != nil {
		return fmt.Errorf("config %s: %w (is the hub running? stop it first)", args[0], err)
	}
	defer store.Close()
	if args[0] == "export" {
		cfg, set, _, err := loadDomain(store)
		if err != nil {
			return err
		}
		return writeDomain(stdout, cfg, set)
	}
	return configImport(store, fs.Args(), *replace, stdin, stdout)
}

// readImport reads the file to import (- for standard input).
func readImport(name string, stdin io.Reader) ([]byte, error) {
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("config import: %w", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("config import %s: read: %w (nothing was changed)", name, err)
	}
	return b, nil
}

// checkImport checks an imported configuration against the stored one: a file
// without users or tokens keeps the stored ones (kept says so), it must be valid,
// it must leave an admin who can disarm where there is one, and removing zones,
// users or outputs needs replace.
func checkImport(old hub.Config, oldSet binding.Set, cfg hub.Config, set binding.Set, hasUsers, replace bool, now time.Time) (hub.Config, string, error) {
	kept := ""
	if cfg.Tokens == nil {
		cfg.Tokens = old.Tokens
	}
	if !hasUsers {
		cfg.Users = old.Users
		kept = " (kept)"
		if err := validateDomain(cfg, set); err != nil {
			return cfg, "", fmt.Errorf("with the stored users: %w", err)
		}
	}
	if hasDisarmingAdmin(old, now) && !hasDisarmingAdmin(cfg, now) {
		return cfg, "", errors.New("it would leave no admin who can disarm (an admin with a PIN); nobody could disarm the system")
	}
	if removed := removals(old, cfg, oldSet, set); removed != "" && !replace {
		return cfg, "", fmt.Errorf("it would remove %s; run it again with -replace to confirm", removed)
	}
	return cfg, kept, nil
}

// configImport stores a domain configuration read from a file. A file without a users
// section keeps the stored users. It refuses (and changes nothing) when the file is
// empty, when the result would leave no admin who can disarm while one exists now,
// and, unless replace, when it would remove zones, users or outputs.
func configImport(store *storage.Store, args []string, replace bool, stdin io.Reader, stdout io.Writer) error {
	if len(args) != 1 {
		return errors.New("config import: name one file (- for standard input)")
	}
	name := args[0]
	b, err := readImport(name, stdin)
	if err != nil {
		return err
	}
	return importData(store, name, b, replace, stdout)
}

// importData stores the configuration b read from the file name, with the hub
// stopped.
func importData(store *storage.Store, name string, b []byte, replace bool, stdout io.Writer) error {
	cfg, set, hasUsers, err := parseDomain(b)
	if err != nil {
		return fmt.Errorf("config import %s: %w (nothing was changed)", name, err)
	}
	old, oldSet, _, err := loadDomain(store)
	if err != nil {
		return err
	}
	now := time.Now()
	cfg, kept, err := checkImport(old, oldSet, cfg, set, hasUsers, replace, now)
	if err != nil {
		return fmt.Errorf("config import %s: %w (nothing was changed)", name, err)
	}
	if _, err := store.Snapshot(now, "import"); err != nil {
		return fmt.Errorf("config import: %w (nothing was changed)", err)
	}
	if err := saveDomain(store, cfg, set); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %d zones, %d users%s, %d outputs\n", len(cfg.Zones), len(cfg.Users), kept, len(cfg.Outputs))
	if !hasDisarmingAdmin(cfg, now) {
		fmt.Fprintln(stdout, "No admin who can disarm yet: add one with `vakt user add -name NAME` (role admin is the default).")
	}
	return nil
}

// hasDisarmingAdmin reports whether c has an admin with a PIN who has not expired.
func hasDisarmingAdmin(c hub.Config, now time.Time) bool {
	for _, u := range c.Users {
		if u.Role == hub.RoleAdmin && u.PINHash != "" && (u.Expires.IsZero() || u.Expires.After(now)) {
			return true
		}
	}
	return false
}

// removals names the zones, users and outputs of old that new has not, by id, and
// the bindings of the zones and outputs that both have that new drops (a siren left
// without a binding can never sound).
func removals(old, new hub.Config, oldSet, newSet binding.Set) string {
	var parts []string
	add := func(kind string, oldIDs, newIDs []string) {
		var gone []string
		for _, id := range oldIDs {
			if !slices.Contains(newIDs, id) {
				gone = append(gone, id)
			}
		}
		if len(gone) > 0 {
			parts = append(parts, kind+" "+strings.Join(gone, ", "))
		}
	}
	ids := func(n int, id func(int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = id(i)
		}
		return out
	}
	add("zone(s)", ids(len(old.Zones), func(i int) string { return old.Zones[i].ID }),
		ids(len(new.Zones), func(i int) string { return new.Zones[i].ID }))
	add("user(s)", ids(len(old.Users), func(i int) string { return old.Users[i].ID }),
		ids(len(new.Users), func(i int) string { return new.Users[i].ID }))
	add("output(s)", ids(len(old.Outputs), func(i int) string { return old.Outputs[i].ID }),
		ids(len(new.Outputs), func(i int) string { return new.Outputs[i].ID }))
	// Bindings, of what is kept.
	kept := func(n int, id func(int) string, bound func(string) bool) []string {
		var out []string
		for i := range n {
			if bound(id(i)) {
				out = append(out, id(i))
			}
		}
		return out
	}
	keptZones := func(s binding.Set) []string {
		return kept(len(new.Zones), func(i int) string { return new.Zones[i].ID },
			func(id string) bool { _, ok := s.MQTT.Zones[id]; return ok })
	}
	keptOutputs := func(s binding.Set) []string {
		return kept(len(new.Outputs), func(i int) string { return new.Outputs[i].ID },
			func(id string) bool { _, ok := s.MQTT.Outputs[id]; return ok })
	}
	add("the mqtt binding of zone(s)", keptZones(oldSet), keptZones(newSet))
	add("the mqtt binding of output(s)", keptOutputs(oldSet), keptOutputs(newSet))
	zigbeeRemovals(add, kept, new, oldSet, newSet)
	gpioRemovals(add, new, oldSet, newSet)
	return strings.Join(parts, "; ")
}

// receiverFile is the configuration file of `vakt receiver`.
type receiverFile struct {
	TCP          string `yaml:"tcp"`
	UDP          string `yaml:"udp"`
	AllowUnknown bool   `yaml:"allow_unknown"`
	Accounts     []struct {
		ID          string       `yaml:"id"`
		Key         string       `yaml:"key"`
		KeyFormat   string       `yaml:"key_format"`
		Supervision hub.Duration `yaml:"supervision"`
	} `yaml:"accounts"`
}

// accountFlags collects repeated -account ID[:hex|ascii:KEY] flags.
type accountFlags []string

func (a *accountFlags) String() string     { return strings.Join(*a, ",") }
func (a *accountFlags) Set(v string) error { *a = append(*a, v); return nil }

// receiverCmd runs a DC-09 receiving centre until ctx is cancelled, printing each
// event as a line (or a JSON line with -json).
func receiverCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("vakt receiver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "receiver configuration file (YAML)")
	tcp := fs.String("tcp", "", "TCP listen address, e.g. :9000")
	udp := fs.String("udp", "", "UDP listen address, e.g. :9000")
	var accounts accountFlags
	fs.Var(&accounts, "account", "account to accept: ID, or ID:hex:KEY or ID:ascii:KEY (repeatable)")
	supervision := fs.Duration("supervision", 0, "expected poll interval of -account accounts (0: not supervised)")
	allowUnknown := fs.Bool("allow-unknown", false, "accept plaintext messages from unknown accounts")
	asJSON := fs.Bool("json", false, "print events as JSON lines")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var rf receiverFile
	if *cfgPath != "" {
		b, err := os.ReadFile(*cfgPath)
		if err != nil {
			return fmt.Errorf("receiver: %w", err)
		}
		if err := decodeStrict(b, &rf); err != nil {
			return fmt.Errorf("receiver: config %s: %w", *cfgPath, err)
		}
	}
	cfg := receiver.Config{TCPAddr: rf.TCP, UDPAddr: rf.UDP, AllowUnknown: rf.AllowUnknown || *allowUnknown,
		SupervisionTick: 5 * time.Second}
	if *tcp != "" {
		cfg.TCPAddr = *tcp
	}
	if *udp != "" {
		cfg.UDPAddr = *udp
	}
	add := func(id, format, key string, sup time.Duration) error {
		a := receiver.Account{ID: id, Supervision: sup}
		if key != "" {
			k, err := sia.ParseKey(key, format)
			if err != nil {
				return fmt.Errorf("receiver: account %s: %w", id, err)
			}
			a.Key = k
		}
		cfg.Accounts = append(cfg.Accounts, a)
		return nil
	}
	for _, a := range rf.Accounts {
		if err := add(a.ID, a.KeyFormat, a.Key, a.Supervision.D()); err != nil {
			return err
		}
	}
	for _, a := range accounts {
		parts := strings.SplitN(a, ":", 3)
		if len(parts) == 2 {
			return fmt.Errorf("receiver: -account %q: give ID or ID:FORMAT:KEY", a)
		}
		parts = append(parts, "", "")
		if err := add(parts[0], parts[1], parts[2], *supervision); err != nil {
			return err
		}
	}
	log := newLogger(stderr, "info")
	// Each event is written out before its message is ACKed: a slow reader of
	// stdout holds up the ACKs (the senders resend) instead of losing events.
	var outMu sync.Mutex
	enc := json.NewEncoder(stdout)
	cfg.Output = func(_ context.Context, e receiver.Event) error {
		outMu.Lock()
		defer outMu.Unlock()
		var err error
		if *asJSON {
			err = enc.Encode(e)
		} else {
			_, err = fmt.Fprintln(stdout, e.String())
		}
		if err != nil {
			return fmt.Errorf("receiver: write event: %w", err)
		}
		return nil
	}
	r, err := receiver.New(cfg, log)
	if err != nil {
		return err
	}
	if err := r.Start(ctx); err != nil {
		return err
	}
	log.Info("receiver listening", "tcp", addrString(r.TCPAddr()), "udp", addrString(r.UDPAddr()), "accounts", len(cfg.Accounts))
	<-ctx.Done()
	return r.Close()
}

// uplinkCmd implements `vakt uplink test`: a manual test report (Contact ID 601) on
// every configured path, with each path's answer printed.
func uplinkCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "test" {
		return errors.New("usage: vakt uplink test -config FILE")
	}
	fs := flag.NewFlagSet("vakt uplink test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "boot configuration file with the uplink paths")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *cfgPath == "" {
		return errors.New("uplink test: -config FILE is required (the receivers are in the boot configuration)")
	}
	boot, err := loadBoot(*cfgPath)
	if err != nil {
		return err
	}
	if len(boot.Uplink.Paths) == 0 {
		return fmt.Errorf("uplink test: %s configures no uplink paths", *cfgPath)
	}
	// The test takes the next sequence numbers of the running hub's paths, so a
	// centre that drops repeated numbers does not drop it.
	var opts []uplink.Option
	if st, err := os.Stat(boot.Data); err == nil && st.IsDir() {
		opts = append(opts, uplink.WithSeqStore(uplink.SeqDir(boot.Data)))
	}
	up, err := uplink.New(boot.Uplink, nil, nil, newLogger(stderr, "warn"), opts...)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	failed := 0
	for _, r := range up.Test(ctx) {
		line := fmt.Sprintf("%-8s %-22s %-7s %6.0f ms", r.Path, r.Addr, r.Result, float64(r.RTT.Microseconds())/1000)
		if r.Detail != "" {
			line += "  " + r.Detail
		}
		fmt.Fprintln(stdout, line)
		if r.Result != "ACK" {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("uplink test: %d path(s) did not acknowledge", failed)
	}
	return nil
}
