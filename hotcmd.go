package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"vakt/hub"
	"vakt/sensors/binding"
	"vakt/storage"
)

// dbBackup writes a consistent copy of the database to file: from the running hub
// over its local socket (no downtime), or from the file when the hub is stopped.
// The copy is checked before it gets its name.
func dbBackup(ctx context.Context, data, file string, stdout io.Writer) error {
	tmp, err := os.CreateTemp(filepath.Dir(file), ".vakt-backup-*")
	if err != nil {
		return fmt.Errorf("db backup: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	from := "the running hub"
	resp, err := localRequest(ctx, data, "GET", "/api/v1/backup", nil)
	switch {
	case errors.Is(err, errNotRunning):
		from = dbPath(data)
		store, err := openStopped(data)
		if err != nil {
			return fmt.Errorf("db backup: %w", err)
		}
		err = store.Backup(tmp)
		store.Close()
		if err != nil {
			return fmt.Errorf("db backup: %w", err)
		}
	case err != nil:
		return fmt.Errorf("db backup: %w", err)
	default:
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("db backup: the hub answered %s", resp.Status)
		}
		if _, err := io.Copy(tmp, resp.Body); err != nil {
			return fmt.Errorf("db backup: %w", err)
		}
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("db backup: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("db backup: %w", err)
	}
	res, err := storage.Check(tmp.Name(), 0)
	if err != nil {
		return fmt.Errorf("db backup: the copy does not check out: %w", err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("db backup: %w", err)
	}
	fmt.Fprintf(stdout, "backed up %s to %s (%d bytes, checked)\n", from, file, res.Size)
	return nil
}

// userHot runs the user commands on the running hub: list, add (also offline, in
// userCmd), passwd, remove. ran is false when no hub answers.
func userHot(ctx context.Context, cmd string, args []string, stdin io.Reader, stdout, stderr io.Writer) (ran bool, err error) {
	fs := flag.NewFlagSet("vakt user "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "./vakt-data", "data directory")
	id := fs.String("id", "", "the user's id")
	name := fs.String("name", "", "add: the user's name")
	role := fs.String("role", "admin", "add: admin, user or guest")
	withPassword := fs.Bool("password", false, "also read a web password (second line of input); passwd: only the password")
	if err := fs.Parse(args); err != nil {
		return true, err
	}
	var settings hub.Settings
	if err := localGet(ctx, *data, "/api/v1/settings", &settings); err != nil {
		if errors.Is(err, errNotRunning) {
			return false, nil
		}
		return true, fmt.Errorf("user %s: %w", cmd, err)
	}
	in := newSecretReader(stdin)
	secrets := func(pin bool) (map[string]any, error) {
		body := map[string]any{}
		if pin {
			fmt.Fprintf(stdout, "PIN (%d digits): ", settings.PINLength)
			p, ok := in.read()
			if !ok {
				return nil, errors.New("no PIN on standard input")
			}
			body["pin"] = p
		}
		if *withPassword {
			fmt.Fprint(stdout, "\nWeb password: ")
			pw, ok := in.read()
			if !ok {
				return nil, errors.New("no password on standard input")
			}
			body["password"] = pw
		}
		return body, nil
	}
	switch cmd {
	case "list":
		var users []struct {
			ID          string   `json:"id"`
			Name        string   `json:"name"`
			Number      int      `json:"number"`
			Role        hub.Role `json:"role"`
			HasPIN      bool     `json:"has_pin"`
			HasPassword bool     `json:"has_password"`
		}
		if err := localGet(ctx, *data, "/api/v1/users", &users); err != nil {
			return true, fmt.Errorf("user list: %w", err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tNUMBER\tROLE\tPIN\tPASSWORD")
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", u.ID, u.Name, u.Number, u.Role, yesNo(u.HasPIN), yesNo(u.HasPassword))
		}
		return true, tw.Flush()
	case "add":
		if *name == "" {
			return true, errors.New("user add: -name is required")
		}
		body, err := secrets(true)
		if err != nil {
			return true, fmt.Errorf("user add: %w", err)
		}
		body["name"], body["role"] = *name, *role
		if *id != "" {
			body["id"] = *id
		}
		var u struct {
			ID     string   `json:"id"`
			Number int      `json:"number"`
			Role   hub.Role `json:"role"`
		}
		if err := localDo(ctx, *data, "POST", "/api/v1/users", body, &u); err != nil {
			return true, fmt.Errorf("user add: %w", err)
		}
		fmt.Fprintf(stdout, "\nadded %s %q (id %s, user number %d) to the running hub\n", u.Role, *name, u.ID, u.Number)
		return true, nil
	case "passwd":
		if *id == "" {
			return true, errors.New("user passwd: -id is required")
		}
		body, err := secrets(!*withPassword)
		if err != nil {
			return true, fmt.Errorf("user passwd: %w", err)
		}
		if err := localDo(ctx, *data, "PATCH", "/api/v1/users/"+*id, body, nil); err != nil {
			return true, fmt.Errorf("user passwd: %w", err)
		}
		fmt.Fprintf(stdout, "\nchanged the %s of %s\n", map[bool]string{true: "password", false: "PIN"}[*withPassword], *id)
		return true, nil
	case "remove":
		if *id == "" {
			return true, errors.New("user remove: -id is required")
		}
		if err := localDo(ctx, *data, "DELETE", "/api/v1/users/"+*id, nil, nil); err != nil {
			return true, fmt.Errorf("user remove: %w", err)
		}
		fmt.Fprintf(stdout, "removed %s\n", *id)
		return true, nil
	}
	return true, fmt.Errorf("unknown user command %q", cmd)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// userOffline runs list, passwd and remove on the database of a stopped hub.
func userOffline(cmd string, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("vakt user "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "./vakt-data", "data directory")
	id := fs.String("id", "", "the user's id")
	withPassword := fs.Bool("password", false, "passwd: change the web password instead of the PIN")
	if err := fs.Parse(args); err != nil {
		return err
	}
	store, err := openStopped(*data)
	if err != nil {
		return fmt.Errorf("user %s: %w", cmd, err)
	}
	defer store.Close()
	cfg, set, _, err := loadDomain(store)
	if err != nil {
		return err
	}
	cfg.Settings = cfg.Settings.WithDefaults()
	if cmd == "list" {
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tNUMBER\tROLE\tPIN\tPASSWORD")
		for _, u := range cfg.Users {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", u.ID, u.Name, u.Number, u.Role, yesNo(u.PINHash != ""), yesNo(u.PasswordHash != ""))
		}
		return tw.Flush()
	}
	if *id == "" {
		return fmt.Errorf("user %s: -id is required", cmd)
	}
	i := -1
	for j, u := range cfg.Users {
		if u.ID == *id {
			i = j
		}
	}
	if i < 0 {
		return fmt.Errorf("user %s: no user %q", cmd, *id)
	}
	before := cfg.Clone()
	switch cmd {
	case "remove":
		cfg.Users = append(cfg.Users[:i:i], cfg.Users[i+1:]...)
		if !hasDisarmingAdmin(cfg, time.Now()) && hasDisarmingAdmin(before, time.Now()) {
			return fmt.Errorf("user remove: %s is the last admin who can disarm", *id)
		}
	case "passwd":
		in := newSecretReader(stdin)
		if *withPassword {
			fmt.Fprint(stdout, "Web password: ")
			pw, ok := in.read()
			if !ok || len(pw) < 8 {
				return errors.New("user passwd: a web password needs at least 8 characters")
			}
			if cfg.Users[i].PasswordHash, err = hub.HashSecret(pw, hub.DefaultHashParams); err != nil {
				return err
			}
		} else {
			others := append(append([]hub.User{}, cfg.Users[:i]...), cfg.Users[i+1:]...)
			if cfg.Users[i].PINHash, err = readPIN(in, stdout, cfg.Users, others, cfg.Settings.PINLength); err != nil {
				return fmt.Errorf("user passwd: %w", err)
			}
		}
	}
	if err := validateDomain(cfg, set); err != nil {
		return fmt.Errorf("user %s: %w", cmd, err)
	}
	if err := saveDomain(store, cfg, set); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%s: %s (hub stopped: in force at its next start)\n", *id, join(hub.DescribeConfigChange(before, cfg)))
	return nil
}

func join(lines []string) string {
	if len(lines) == 0 {
		return "no change"
	}
	out := lines[0]
	for _, l := range lines[1:] {
		out += "; " + l
	}
	return out
}

// importRunning imports a domain configuration into the running hub: checked as
// an import with the hub stopped is, snapshotted first, then in force at once and
// recorded as a change by who. Zigbee devices may be adopted and released by it
// (the adapter takes its new bindings at once); the other devices' bindings
// (MQTT topics, GPIO lines) cannot change while the hub runs: the adapters bound
// them at start.
func importRunning(ctx context.Context, h *hub.Hub, store *storage.Store, lb *liveBindings, zb *zigbeeSide, body []byte, replace bool, who hub.Actor) (string, error) {
	cfg, newSet, hasUsers, err := parseDomain(body)
	if err != nil {
		return "", &hub.Error{Kind: hub.ErrInvalid, Msg: err.Error() + " (nothing was changed)"}
	}
	set := lb.get()
	a, _ := json.Marshal(binding.Set{MQTT: set.MQTT, GPIO: set.GPIO})
	b, _ := json.Marshal(binding.Set{MQTT: newSet.MQTT, GPIO: newSet.GPIO})
	if !bytes.Equal(a, b) {
		return "", &hub.Error{Kind: hub.ErrNotAllowed, Msg: "the file changes how MQTT or GPIO devices are bound (topics, lines): " +
			"stop the hub and run vakt config import (nothing was changed)"}
	}
	now := time.Now()
	cfg, kept, err := checkImport(h.Snapshot().Config, set, cfg, newSet, hasUsers, replace, now)
	if err != nil {
		return "", &hub.Error{Kind: hub.ErrNotAllowed, Msg: err.Error() + " (nothing was changed)"}
	}
	if _, err := store.Snapshot(now, "import"); err != nil {
		return "", fmt.Errorf("config import: %w (nothing was changed)", err)
	}
	change := func(c *hub.Config) error { *c = cfg; return nil }
	a, _ = json.Marshal(set.Zigbee)
	b, _ = json.Marshal(newSet.Zigbee)
	if bytes.Equal(a, b) {
		if _, err := h.ChangeConfig(ctx, who, change); err != nil {
			return "", err
		}
	} else if _, _, err := zb.changeZigbee(ctx, h, lb, who, change, func(s *binding.Set) error {
		s.Zigbee = newSet.Zigbee
		return nil
	}); err != nil {
		return "", err
	}
	return fmt.Sprintf("imported %d zones, %d users%s, %d outputs into the running hub", len(cfg.Zones), len(cfg.Users), kept, len(cfg.Outputs)), nil
}
