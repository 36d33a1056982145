package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"vakt/hub"
	"vakt/storage"
)

// localSocket is the running hub's socket for the command line, in its data
// directory.
func localSocket(dataDir string) string { return filepath.Join(dataDir, "vakt.sock") }

// listenLocal listens on the local socket, replacing one left by a hub that was
// killed (the database's lock has already shown that no other hub runs on this
// directory). Only the hub's own account may open it.
func listenLocal(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		_ = os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("chmod %s: %w", path, err)
	}
	return ln, nil
}

// errNotRunning says that no hub answers on the data directory's socket: the
// commands that can then read the database do so.
var errNotRunning = errors.New("the hub is not running")

// localGet asks the hub running on dataDir for path (the web API's) and decodes
// the JSON answer into v. It returns errNotRunning when no hub answers.
func localGet(ctx context.Context, dataDir, path string, v any) error {
	return localDo(ctx, dataDir, http.MethodGet, path, nil, v)
}

// localDo sends a request to the hub running on dataDir (body, when not nil, as
// JSON) and decodes the JSON answer into v (nil: none expected). A refusal comes
// back as an error with the hub's message. It returns errNotRunning when no hub
// answers.
func localDo(ctx context.Context, dataDir, method, path string, body, v any) error {
	resp, err := localRequest(ctx, dataDir, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s: read: %w", path, err)
	}
	if resp.StatusCode >= 300 && path != "/healthz" {
		var e struct{ Message string }
		_ = json.Unmarshal(data, &e)
		return fmt.Errorf("%s", or(e.Message, resp.Status))
	}
	if v == nil {
		return nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// localRequest sends a request over the local socket; the caller closes the body.
func localRequest(ctx context.Context, dataDir, method, path string, body any) (*http.Response, error) {
	sock := localSocket(dataDir)
	hc := &http.Client{Transport: &http.Transport{ResponseHeaderTimeout: 30 * time.Second,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}}}
	var r io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case rawBody:
		r, ctype = bytes.NewReader(b.data), b.contentType
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://vakt"+path, r)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := hc.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return nil, errNotRunning
		}
		return nil, fmt.Errorf("%s: %w", sock, err)
	}
	return resp, nil
}

// rawBody is a request body sent as it is (a YAML file), not as JSON.
type rawBody struct {
	contentType string
	data        []byte
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// dataFlag adds -data (default the boot configuration's data directory) and
// -config to fs; the returned function gives the directory after parsing.
func dataFlag(fs *flag.FlagSet) func() (string, error) {
	cfgPath := fs.String("config", "", "boot configuration file (YAML), for the data directory")
	data := fs.String("data", "", "data directory (default the boot configuration's, ./vakt-data)")
	return func() (string, error) {
		if *data != "" {
			return *data, nil
		}
		boot := bootDefaults()
		if *cfgPath != "" {
			var err error
			if boot, err = loadBoot(*cfgPath); err != nil {
				return "", err
			}
		}
		return boot.Data, nil
	}
}

// statusView is the part of /api/v1/status the command line prints.
type statusView struct {
	State         hub.StateName             `json:"state"`
	ExitDeadline  time.Time                 `json:"exit_deadline"`
	EntryDeadline time.Time                 `json:"entry_deadline"`
	AlarmZone     string                    `json:"alarm_zone"`
	Ready         map[hub.Mode][]hub.Reason `json:"ready"`
	Faults        []struct {
		ID string `json:"id"`
	} `json:"faults"`
	Zones []struct {
		ID string `json:"id"`
		hub.ZoneState
	} `json:"zones"`
}

// statusCmd prints the state, the faults, what is in the way of each mode and
// every zone that is not quiet: from the running hub, or from the database when
// the hub is stopped.
func statusCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("vakt status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := dataFlag(fs)
	asJSON := fs.Bool("json", false, "print the hub's JSON document")
	if err := fs.Parse(args); err != nil {
		return err
	}
	data, err := dir()
	if err != nil {
		return err
	}
	var v statusView
	err = localGet(ctx, data, "/api/v1/status", &v)
	running := err == nil
	if errors.Is(err, errNotRunning) {
		v, err = storedStatus(data)
	}
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(v)
	}
	where := "running"
	if !running {
		where = "stopped; the state as stored"
	}
	fmt.Fprintf(stdout, "State: %s (hub %s)\n", v.State, where)
	if v.AlarmZone != "" {
		fmt.Fprintf(stdout, "Alarm zone: %s\n", v.AlarmZone)
	}
	for _, d := range []struct {
		name string
		at   time.Time
	}{{"Exit delay ends", v.ExitDeadline}, {"Entry delay ends", v.EntryDeadline}} {
		if !d.at.IsZero() {
			fmt.Fprintf(stdout, "%s: %s\n", d.name, d.at.Local().Format(time.DateTime))
		}
	}
	faults := []string{}
	for _, f := range v.Faults {
		faults = append(faults, f.ID)
	}
	fmt.Fprintf(stdout, "Faults: %s\n", orNone(faults))
	for _, m := range hub.Modes {
		if rs, ok := v.Ready[m]; ok {
			var s []string
			for _, r := range rs {
				s = append(s, r.String())
			}
			ready := "ready"
			if len(s) > 0 {
				ready = "not ready: " + strings.Join(s, ", ")
			}
			fmt.Fprintf(stdout, "Arm %s: %s\n", m, ready)
		}
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ZONE\tSTATE")
	for _, z := range v.Zones {
		fmt.Fprintf(tw, "%s\t%s\n", z.ID, zoneWords(z.ZoneState))
	}
	return tw.Flush()
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func zoneWords(z hub.ZoneState) string {
	w := []string{"closed"}
	if z.Open {
		w[0] = "open"
	}
	for _, f := range []struct {
		on   bool
		word string
	}{{z.Tamper, "tamper"}, {z.Offline, "offline"}, {z.LowBattery, "low battery"}, {z.Bypassed, "bypassed"}, {z.Isolated, "isolated"}} {
		if f.on {
			w = append(w, f.word)
		}
	}
	return strings.Join(w, ", ")
}

// openStopped opens the database of a hub that is not running.
func openStopped(data string) (*storage.Store, error) {
	path := dbPath(data)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no hub answers on %s and there is no database: %w", localSocket(data), err)
	}
	store, err := storage.Open(path, storage.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("no hub answers on %s, and the database cannot be opened (is a hub running without its socket?): %w", localSocket(data), damagedHint(data, err))
	}
	return store, nil
}

// storedStatus reads the state from the database of a stopped hub.
func storedStatus(data string) (statusView, error) {
	store, err := openStopped(data)
	if err != nil {
		return statusView{}, err
	}
	defer store.Close()
	cfg, _, _, err := store.LoadConfig()
	if err != nil {
		return statusView{}, err
	}
	st, ok, err := store.LoadState()
	if err != nil {
		return statusView{}, err
	}
	if !ok {
		st.Name = hub.Disarmed
	}
	v := statusView{State: st.Name, ExitDeadline: st.ExitDeadline, EntryDeadline: st.EntryDeadline, AlarmZone: st.AlarmZone}
	for f, on := range st.Faults {
		if on {
			v.Faults = append(v.Faults, struct {
				ID string `json:"id"`
			}{f.String()})
		}
	}
	slices.SortFunc(v.Faults, func(a, b struct {
		ID string `json:"id"`
	}) int {
		return strings.Compare(a.ID, b.ID)
	})
	for _, z := range cfg.Zones {
		v.Zones = append(v.Zones, struct {
			ID string `json:"id"`
			hub.ZoneState
		}{z.ID, st.Zones[z.ID]})
	}
	return v, nil
}

// eventsCmd prints the newest events, oldest of them first: from the running hub,
// or from the database when it is stopped.
func eventsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("vakt events", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := dataFlag(fs)
	n := fs.Int("n", 20, "how many events (at most 1000)")
	typ := fs.String("type", "", "only these event types (comma separated)")
	zone := fs.String("zone", "", "only this zone's events")
	user := fs.String("user", "", "only this user's events (user id)")
	asJSON := fs.Bool("json", false, "print JSON, one event a line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	data, err := dir()
	if err != nil {
		return err
	}
	q := url.Values{"limit": {strconv.Itoa(min(max(*n, 1), storage.MaxLimit))}}
	for k, v := range map[string]string{"type": *typ, "zone": *zone, "user": *user} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var page struct {
		Events []hub.Event `json:"events"`
	}
	err = localGet(ctx, data, "/api/v1/events?"+q.Encode(), &page)
	if errors.Is(err, errNotRunning) {
		page.Events, err = storedEvents(data, q)
	}
	if err != nil {
		return fmt.Errorf("events: %w", err)
	}
	slices.Reverse(page.Events)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, e := range page.Events {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tEVENT\tZONE\tWHO\tVIA\tDETAIL")
	for _, e := range page.Events {
		who := e.Who.UserName
		if who == "" {
			who = e.Who.Device
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.Time.Local().Format(time.DateTime), e.Type, e.Zone, who, e.Who.Via, e.Detail)
	}
	return tw.Flush()
}

// storedEvents reads the events from the database of a stopped hub; like the API,
// it leaves the silent ones out.
func storedEvents(data string, q url.Values) ([]hub.Event, error) {
	store, err := openStopped(data)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	limit, _ := strconv.Atoi(q.Get("limit"))
	eq := storage.EventQuery{Limit: limit, Zone: q.Get("zone"), UserID: q.Get("user")}
	for _, t := range strings.Split(q.Get("type"), ",") {
		if t != "" {
			eq.Types = append(eq.Types, hub.EventType(t))
		}
	}
	evs, _, err := store.Events(eq)
	return slices.DeleteFunc(evs, func(e hub.Event) bool { return e.Silent }), err
}
