// Command vakt is a home-alarm hub: zones, arming, users and codes, an event log in
// one bbolt file, and an embedded MQTT broker for Zigbee2MQTT and other devices.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"vakt/hub"
	"vakt/hub/uplink"
	"vakt/hub/uplink/receiver"
	"vakt/hub/uplink/sia"
	"vakt/sensors/broker"
	"vakt/sensors/mqttdev"
	"vakt/storage"
	"vakt/storage/bootcfg"
	"vakt/ui/mqttapi"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "vakt:", err)
		}
		os.Exit(2)
	}
}

// run is the whole program: it returns when ctx is cancelled (after an orderly
// shutdown) or with the first error that prevents starting.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "version":
			fmt.Fprintln(stdout, "vakt", versionString())
			return nil
		case "user":
			return userCmd(args[1:], stdin, stdout, stderr)
		case "config":
			return configCmd(args[1:], stdin, stdout, stderr)
		case "receiver":
			return receiverCmd(ctx, args[1:], stdout, stderr)
		case "uplink":
			return uplinkCmd(ctx, args[1:], stdout, stderr)
		}
		return fmt.Errorf("unknown command %q (commands: version, user add, config export, config import, receiver, uplink test)", args[0])
	}
	opt, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	return serve(ctx, opt, stdout, stderr)
}

func versionString() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	return v
}

type options struct {
	boot bootcfg.File
	demo bool
	// ready, when set, receives the bound addresses once the hub serves (tests).
	ready func(addrs map[string]string)
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("vakt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "boot configuration file (YAML)")
	data := fs.String("data", "", "data directory (default ./vakt-data)")
	httpAddr := fs.String("http", "", "web listener address (default :8080)")
	mqttAddr := fs.String("mqtt", "", "MQTT listener address (default :1883)")
	demo := fs.Bool("demo", false, "simulate a few zones and a siren, to watch the system work without hardware")
	logLevel := fs.String("log-level", "", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	boot := bootcfg.Defaults()
	if *cfgPath != "" {
		var err error
		if boot, err = bootcfg.Load(*cfgPath); err != nil {
			return options{}, err
		}
	}
	for _, o := range []struct{ dst, v *string }{{&boot.Data, data}, {&boot.HTTP, httpAddr}, {&boot.MQTT.Listen, mqttAddr}, {&boot.LogLevel, logLevel}} {
		if *o.v != "" {
			*o.dst = *o.v
		}
	}
	if err := boot.Validate(); err != nil {
		return options{}, err
	}
	return options{boot: boot, demo: *demo}, nil
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// openStore makes sure the data directory is writable and opens the database in it.
func openStore(dir string) (*storage.Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("data directory %s: %w", dir, err)
	}
	probe, err := os.CreateTemp(dir, ".write-test-*")
	if err != nil {
		return nil, fmt.Errorf("data directory %s is not writable: %w", dir, err)
	}
	probe.Close()
	os.Remove(probe.Name())
	st, err := storage.Open(filepath.Join(dir, "vakt.db"), storage.Options{})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// lateInputs lets components built before the hub feed it once it exists.
type lateInputs struct{ h *hub.Hub }

func (l *lateInputs) Input(ctx context.Context, in hub.Input) error { return l.h.Input(ctx, in) }

func serve(ctx context.Context, opt options, stdout, stderr io.Writer) error {
	boot := opt.boot
	log := newLogger(stderr, boot.LogLevel)
	loc := time.Local
	if boot.Timezone != "" {
		var err error
		if loc, err = time.LoadLocation(boot.Timezone); err != nil {
			return fmt.Errorf("timezone %q: %w", boot.Timezone, err)
		}
	}

	store, err := openStore(boot.Data)
	if err != nil {
		return err
	}
	defer store.Close()
	cfg, saved, err := store.LoadConfig()
	if err != nil {
		return err
	}
	if !saved {
		cfg = hub.Config{Settings: hub.DefaultSettings()}
		if err := store.SaveConfig(cfg); err != nil {
			return err
		}
	}
	if opt.demo {
		cfg, err = demoConfig(cfg)
		if err != nil {
			return err
		}
		if len(boot.MQTT.Users) == 0 {
			boot.MQTT.Users = []bootcfg.MQTTUser{{Name: "demo", Password: "demo", Admin: true}}
		}
		fmt.Fprintln(stdout, `Demo: simulated zones open and close on vakt/demo/<zone>; the siren is vakt/demo/siren.
  MQTT login demo/demo; the demo user's PIN is 123456. Try:
  mosquitto_sub -u demo -P demo -t 'vakt/#' -v
  mosquitto_pub -u demo -P demo -t vakt/command -m '{"command":"ARM_AWAY","code":"123456"}'`)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("stored configuration in %s is invalid: %w", store.Path(), err)
	}
	state, hasState, err := store.LoadState()
	if err != nil {
		return err
	}
	if len(boot.MQTT.Users) == 0 && !boot.MQTT.AllowAnonymous {
		log.Warn("mqtt: no users configured, so no device can connect; add mqtt.users to a config file (-config)")
	}
	if len(cfg.Users) == 0 {
		fmt.Fprintf(stdout, "No users yet. Create the first admin (with the hub stopped):\n  vakt user add -data %s -name YourName -role admin\n", boot.Data)
	}

	// Listeners first: a port in use stops the start before anything runs.
	httpLn, err := net.Listen("tcp", boot.HTTP)
	if err != nil {
		return fmt.Errorf("web listener %s: %w", boot.HTTP, err)
	}
	defer httpLn.Close()
	brk, err := broker.New(brokerConfig(boot.MQTT), store, log)
	if err != nil {
		return err
	}
	if err := brk.Start(ctx); err != nil {
		return err
	}
	defer brk.Close()
	bus := brokerBus{b: brk}

	late := &lateInputs{}
	outputs := mqttdev.NewOutputs(bus, late, cfg.Outputs, strings.TrimSuffix(boot.MQTT.BaseTopic, "/")+"/output", log)
	hopt := hub.Options{Config: cfg, Journal: store, Outputs: outputs, Log: log, Location: loc}
	if hasState {
		hopt.State = &state
	}
	var up *uplink.Uplink
	if len(boot.Uplink.Paths) > 0 {
		if up, err = uplink.New(boot.Uplink, store, late, log); err != nil {
			return err
		}
		hopt.Waker = up
	} else {
		log.Warn("uplink: no monitoring centre configured; alarms are local only")
	}
	h := hub.New(hopt)
	late.h = h
	zones := mqttdev.NewZones(bus, h, log)
	api := mqttapi.New(boot.MQTT.BaseTopic, bus, h, log)

	runCtx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	goRun := func(name string, f func(context.Context) error) {
		wg.Go(func() {
			if err := f(runCtx); err != nil {
				log.Error(name+" stopped", "err", err)
			}
		})
	}
	goRun("hub", h.Run)
	goRun("outputs", outputs.Run)
	goRun("zones", zones.Run)
	if err := zones.Bind(runCtx, cfg.Zones); err != nil {
		cancel()
		wg.Wait()
		return err
	}
	unsub, err := api.Start(runCtx)
	if err != nil {
		cancel()
		wg.Wait()
		return err
	}
	defer unsub()
	goRun("mqtt api", api.Run)
	if up != nil {
		goRun("uplink", up.Run)
	}
	goRun("retention", func(ctx context.Context) error { return prune(ctx, store, h, log) })
	if opt.demo {
		goRun("demo", func(ctx context.Context) error { return simulate(ctx, bus, cfg.Zones, log) })
	}

	srv := &http.Server{Handler: httpHandler(h, up), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("web server stopped", "err", err)
		}
	}()
	log.Info("vakt started", "version", versionString(), "data", boot.Data, "http", httpLn.Addr().String(),
		"mqtt", addrString(brk.Addr()), "state", h.Snapshot().State.Name, "zones", len(cfg.Zones), "demo", opt.demo)
	if opt.ready != nil {
		opt.ready(map[string]string{"http": httpLn.Addr().String(), "mqtt": addrString(brk.Addr())})
	}

	<-ctx.Done()
	log.Info("vakt stopping")
	shut, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	_ = srv.Shutdown(shut)
	cancel()
	wg.Wait()
	return nil
}

func addrString(a net.Addr) string {
	if a == nil {
		return "off"
	}
	return a.String()
}

func brokerConfig(m bootcfg.MQTT) broker.Config {
	c := broker.Config{Addr: m.Listen, TLSAddr: m.TLSListen, TLSCert: m.TLSCert, TLSKey: m.TLSKey,
		WSAddr: m.WSListen, AllowAnonymous: m.AllowAnonymous}
	if c.Addr == "off" {
		c.Addr = ""
	}
	for _, u := range m.Users {
		c.Users = append(c.Users, broker.User{Name: u.Name, Password: u.Password, Read: u.Read, Write: u.Write, Admin: u.Admin})
	}
	return c
}

// brokerBus adapts the broker to the bus the MQTT adapters use.
type brokerBus struct{ b *broker.Broker }

func (bb brokerBus) Publish(topic string, payload []byte, retain bool) error {
	return bb.b.Publish(topic, payload, retain, 1)
}

func (bb brokerBus) Subscribe(filter string, fn func(mqttdev.Message)) (func(), error) {
	return bb.b.Watch(filter, func(m broker.Message) { fn(mqttdev.Message(m)) })
}

func httpHandler(h *hub.Hub, up *uplink.Uplink) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		s := h.Snapshot()
		body := map[string]any{"status": "ok", "state": s.State.Name, "storage": "ok"}
		code := http.StatusOK
		if up != nil {
			paths := up.Status()
			body["uplink"] = paths
			for _, p := range paths {
				if p.State == uplink.StateLost {
					body["status"] = "degraded"
				}
			}
		}
		if s.StorageError != "" {
			body["status"], body["storage"] = "degraded", s.StorageError
			code = http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(body)
	})
	return mux
}

// prune applies the retention policy at start and then daily.
func prune(ctx context.Context, store *storage.Store, h *hub.Hub, log *slog.Logger) error {
	for {
		s := h.Snapshot().Config.Settings
		n, err := store.Prune(time.Now(), storage.Retention{MaxEvents: s.RetentionEvents, MaxAge: s.RetentionAge.D(), KeepMandatory: 1000})
		if err != nil {
			log.Error("retention: prune failed", "err", err)
		} else if n > 0 {
			log.Info("retention: pruned events", "removed", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(24 * time.Hour):
		}
	}
}

// demoConfig adds simulated zones, a siren and a demo user to a configuration
// without zones. Nothing of it is stored.
func demoConfig(cfg hub.Config) (hub.Config, error) {
	if len(cfg.Zones) > 0 {
		return cfg, nil
	}
	topic := func(id string) *hub.MQTTZone { return &hub.MQTTZone{Topic: "vakt/demo/" + id} }
	cfg.Zones = []hub.Zone{
		{ID: "front_door", Name: "Front door", Number: 1, Type: hub.ZoneEntryExit, MQTT: topic("front_door"), Chime: true},
		{ID: "kitchen_window", Name: "Kitchen window", Number: 2, Type: hub.ZonePerimeter, MQTT: topic("kitchen_window")},
		{ID: "hall_motion", Name: "Hall motion", Number: 3, Type: hub.ZoneFollower, MQTT: topic("hall_motion")},
		{ID: "living_motion", Name: "Living room motion", Number: 4, Type: hub.ZoneInstant, MQTT: topic("living_motion")},
		{ID: "smoke", Name: "Smoke detector", Number: 5, Type: hub.ZoneFire, MQTT: topic("smoke")},
	}
	cfg.Outputs = append(cfg.Outputs,
		hub.Output{ID: "demo_siren", Name: "Demo siren", Kind: hub.OutputSiren, MQTT: &hub.MQTTOutput{Topic: "vakt/demo/siren", On: "ON", Off: "OFF"}},
		hub.Output{ID: "demo_sounder", Name: "Demo sounder", Kind: hub.OutputSounder, MQTT: &hub.MQTTOutput{Topic: "vakt/demo/sounder", On: "ON", Off: "OFF"}})
	if len(cfg.Users) == 0 {
		hash, err := hub.HashSecret("123456", hub.DefaultHashParams)
		if err != nil {
			return cfg, err
		}
		cfg.Users = []hub.User{{ID: "demo", Name: "Demo user", Number: 1, Role: hub.RoleAdmin, PINHash: hash}}
	}
	return cfg, nil
}

// simulate opens and closes the demo's door, window and motion zones now and then.
func simulate(ctx context.Context, bus brokerBus, zones []hub.Zone, log *slog.Logger) error {
	var movable []hub.Zone
	for _, z := range zones {
		if z.MQTT != nil && strings.HasPrefix(z.MQTT.Topic, "vakt/demo/") && !z.Type.Is24h() {
			movable = append(movable, z)
		}
	}
	if len(movable) == 0 {
		return nil
	}
	for {
		z := movable[rand.IntN(len(movable))]
		wait := func(d time.Duration) bool {
			select {
			case <-ctx.Done():
				return false
			case <-time.After(d):
				return true
			}
		}
		if !wait(time.Duration(8+rand.IntN(12)) * time.Second) {
			return nil
		}
		log.Info("demo: zone opens", "zone", z.ID)
		_ = bus.Publish(z.MQTT.Topic, []byte("ON"), true)
		if !wait(2 * time.Second) {
			return nil
		}
		log.Info("demo: zone closes", "zone", z.ID)
		_ = bus.Publish(z.MQTT.Topic, []byte("OFF"), true)
	}
}

// ---- subcommands ----

func userCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		return errors.New("usage: vakt user add -name NAME [-role admin|user|guest] [-data DIR] [-password] (PIN read from standard input)")
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
	cfg, _, err := store.LoadConfig()
	if err != nil {
		return err
	}
	cfg.Settings = cfg.Settings.WithDefaults()
	in := bufio.NewScanner(stdin)
	fmt.Fprintf(stdout, "PIN (%d digits): ", cfg.Settings.PINLength)
	if !in.Scan() {
		return errors.New("user add: no PIN on standard input")
	}
	pin := strings.TrimSpace(in.Text())
	if err := hub.CheckPIN(pin, cfg.Settings.PINLength); err != nil {
		return fmt.Errorf("user add: %w", err)
	}
	u := hub.User{ID: *id, Name: *name, Role: hub.Role(*role), Number: 1}
	for _, o := range cfg.Users {
		if o.ID == u.ID {
			return fmt.Errorf("user add: user %q exists", u.ID)
		}
		if verifyAny(o, pin) {
			return errors.New("user add: that PIN is taken; choose another")
		}
		u.Number = max(u.Number, o.Number+1)
	}
	if u.PINHash, err = hub.HashSecret(pin, hub.DefaultHashParams); err != nil {
		return err
	}
	if *withPassword {
		fmt.Fprint(stdout, "\nWeb password: ")
		if !in.Scan() || len(strings.TrimSpace(in.Text())) < 8 {
			return errors.New("user add: a web password needs at least 8 characters")
		}
		if u.PasswordHash, err = hub.HashSecret(strings.TrimSpace(in.Text()), hub.DefaultHashParams); err != nil {
			return err
		}
	}
	cfg.Users = append(cfg.Users, u)
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("user add: %w", err)
	}
	if err := store.SaveConfig(cfg); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nadded %s %q (id %s, user number %d)\n", u.Role, u.Name, u.ID, u.Number)
	return nil
}

// verifyAny reports whether pin is any of u's codes.
func verifyAny(u hub.User, pin string) bool {
	return hub.VerifySecret(u.PINHash, pin) || hub.VerifySecret(u.DuressHash, pin)
}

func configCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "export" && args[0] != "import") {
		return errors.New("usage: vakt config export [-data DIR] | vakt config import [-data DIR] FILE (- for standard input)")
	}
	fs := flag.NewFlagSet("vakt config "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "./vakt-data", "data directory")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	store, err := openStore(*data)
	if err != nil {
		return fmt.Errorf("config %s: %w (is the hub running? stop it first)", args[0], err)
	}
	defer store.Close()
	if args[0] == "export" {
		cfg, _, err := store.LoadConfig()
		if err != nil {
			return err
		}
		return bootcfg.WriteDomain(stdout, cfg)
	}
	if fs.NArg() != 1 {
		return errors.New("config import: name one file (- for standard input)")
	}
	r := stdin
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("config import: %w", err)
		}
		defer f.Close()
		r = f
	}
	cfg, err := bootcfg.ReadDomain(r)
	if err != nil {
		return fmt.Errorf("config import %s: %w (nothing was changed)", fs.Arg(0), err)
	}
	if err := store.SaveConfig(cfg); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %d zones, %d users, %d outputs\n", len(cfg.Zones), len(cfg.Users), len(cfg.Outputs))
	return nil
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
		if err := bootcfg.DecodeStrict(b, &rf); err != nil {
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
	r, err := receiver.New(cfg, log)
	if err != nil {
		return err
	}
	if err := r.Start(ctx); err != nil {
		return err
	}
	defer r.Close()
	log.Info("receiver listening", "tcp", addrString(r.TCPAddr()), "udp", addrString(r.UDPAddr()), "accounts", len(cfg.Accounts))
	enc := json.NewEncoder(stdout)
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-r.Events():
			if !ok {
				return nil
			}
			if *asJSON {
				if err := enc.Encode(e); err != nil {
					return fmt.Errorf("receiver: %w", err)
				}
				continue
			}
			fmt.Fprintln(stdout, e.String())
		}
	}
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
	boot, err := bootcfg.Load(*cfgPath)
	if err != nil {
		return err
	}
	if len(boot.Uplink.Paths) == 0 {
		return fmt.Errorf("uplink test: %s configures no uplink paths", *cfgPath)
	}
	up, err := uplink.New(boot.Uplink, nil, nil, newLogger(stderr, "warn"))
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
