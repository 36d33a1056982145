// Command vakt is a home-alarm hub: zones, arming, users and codes, an event log in
// one bbolt file, and an embedded MQTT broker for Zigbee2MQTT and other devices.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"vakt/hub"
	"vakt/hub/output"
	"vakt/hub/uplink"
	"vakt/sensors/broker"
	"vakt/sensors/mqttdev"
	"vakt/storage"
	"vakt/ui/metrics"
	"vakt/ui/mqttapi"
	"vakt/ui/web"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ignoreHangup(os.Stderr)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, errRestart) {
		err = reexec() // a restore from the web app: the next start puts it in place
	}
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0) // -h: the usage was printed
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vakt:", err)
		os.Exit(2)
	}
}

// ignoreHangup keeps the hub running on SIGHUP (a closed terminal, a log rotation
// script): an alarm does not stop because a session ended. Each one is logged.
func ignoreHangup(stderr io.Writer) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			fmt.Fprintln(stderr, "vakt: SIGHUP received and ignored; stop the hub with SIGTERM")
		}
	}()
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
		case "db":
			return dbCmd(args[1:], stdout, stderr)
		case "devices":
			return devicesCmd(ctx, args[1:], stdout, stderr)
		case "status":
			return statusCmd(ctx, args[1:], stdout, stderr)
		case "events":
			return eventsCmd(ctx, args[1:], stdout, stderr)
		}
		return fmt.Errorf("unknown command %q (vakt -h lists the commands)", args[0])
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
	boot bootFile
	demo bool
	// dataSet is true when -data was given.
	dataSet bool
	// ready, when set, receives the bound addresses once the hub serves (tests).
	ready func(addrs map[string]string)
	// gpio returns the GPIO chips; nil: the machine's (tests give a fake).
	gpio gpioChipsFunc
	// zigbeeClock is the Zigbee adapter's clock; zero: the real one (tests
	// give their own).
	zigbeeClock zigbeeClock
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("vakt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "boot configuration file (YAML)")
	data := fs.String("data", "", "data directory (default ./vakt-data)")
	httpAddr := fs.String("http", "", "web listener address (default :8080; off for none)")
	httpsAddr := fs.String("https", "", "web listener address with TLS (default :8443; off for none)")
	mqttAddr := fs.String("mqtt", "", "MQTT listener address (default :1883)")
	demo := fs.Bool("demo", false, "simulate a few zones and a siren, to watch the system work without hardware (without -data, in a temporary directory removed at exit)")
	logLevel := fs.String("log-level", "", "debug, info, warn or error")
	fs.Usage = func() { printUsage(stderr, fs) }
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	boot := bootDefaults()
	if *cfgPath != "" {
		var err error
		if boot, err = loadBoot(*cfgPath); err != nil {
			return options{}, err
		}
	}
	for _, o := range []struct{ dst, v *string }{{&boot.Data, data}, {&boot.HTTP, httpAddr}, {&boot.HTTPS, httpsAddr}, {&boot.MQTT.Listen, mqttAddr}, {&boot.LogLevel, logLevel}} {
		if *o.v != "" {
			*o.dst = *o.v
		}
	}
	if err := boot.Validate(); err != nil {
		return options{}, err
	}
	return options{boot: boot, demo: *demo, dataSet: *data != ""}, nil
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
	st, err := storage.Open(dbPath(dir), storage.Options{})
	if err != nil {
		return nil, damagedHint(dir, err)
	}
	return st, nil
}

// lateInputs lets the uplink, built before the hub, feed it once it exists.
type lateInputs struct{ h *hub.Hub }

func (l *lateInputs) Input(ctx context.Context, in hub.Input) error { return l.h.Input(ctx, in) }

// shutdownTimeout bounds the orderly shutdown: outputs off, journal flushed,
// "offline" published.
const shutdownTimeout = 5 * time.Second

func serve(ctx context.Context, opt options, stdout, stderr io.Writer) error {
	// restart stops the hub as SIGTERM does, and serve then returns errRestart.
	ctx, restart := context.WithCancelCause(ctx)
	defer restart(nil)
	boot := opt.boot
	log := newLogger(stderr, boot.LogLevel)
	loc := time.Local
	if boot.Timezone != "" {
		var err error
		if loc, err = time.LoadLocation(boot.Timezone); err != nil {
			return fmt.Errorf("timezone %q: %w", boot.Timezone, err)
		}
	}

	if opt.demo && !opt.dataSet {
		// A demo without -data leaves nothing behind: its state (an alarm, say)
		// must never turn up in a real start from the same directory.
		dir, err := os.MkdirTemp("", "vakt-demo-*")
		if err != nil {
			return fmt.Errorf("demo: temporary data directory: %w", err)
		}
		defer os.RemoveAll(dir)
		boot.Data = dir
	}
	applyRestore(boot.Data, log)
	store, err := openStore(boot.Data)
	if err != nil {
		return err
	}
	defer store.Close()
	cfg, set, saved, err := loadDomain(store)
	if err != nil {
		return err
	}
	if !saved {
		cfg = hub.Config{Settings: hub.DefaultSettings()}
		if err := saveDomain(store, cfg, set); err != nil {
			return err
		}
	}
	if opt.demo {
		cfg, set, err = demoConfig(cfg, set)
		if err != nil {
			return err
		}
		if len(boot.MQTT.Users) == 0 {
			boot.MQTT.Users = []bootMQTTUser{{Name: "demo", Password: "demo", Admin: true}}
		}
	}
	if err := validateDomain(cfg, set); err != nil {
		return fmt.Errorf("stored configuration in %s is invalid: %w", store.Path(), err)
	}
	state, hasState, err := store.LoadState()
	if err != nil {
		return err
	}
	if boot.MQTT.Broker == "" && len(boot.MQTT.Users) == 0 && !boot.MQTT.AllowAnonymous {
		log.Warn("mqtt: no users configured, so no device can connect; add mqtt.users to a config file (-config)")
	}

	// Listeners first: a port in use stops the start before anything runs.
	var httpLn, httpsLn net.Listener
	if boot.HTTP != "off" {
		if httpLn, err = net.Listen("tcp", boot.HTTP); err != nil {
			return fmt.Errorf("web listener %s: %w", boot.HTTP, err)
		}
		defer httpLn.Close()
	}
	var webTLS *tls.Config
	if boot.HTTPS != "off" {
		cert, fingerprint, made, err := webCert(boot)
		if err != nil {
			return err
		}
		if httpsLn, err = net.Listen("tcp", boot.HTTPS); err != nil {
			return fmt.Errorf("web listener %s: %w", boot.HTTPS, err)
		}
		defer httpsLn.Close()
		webTLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if made {
			log.Info("https: made a self-signed certificate for this hub; check that the browser shows this fingerprint", "sha256", fingerprint)
		} else {
			log.Info("https: certificate", "sha256", fingerprint)
		}
	}
	// The command line reaches the running hub through a socket only the hub's
	// own account may open.
	sockLn, err := listenLocal(localSocket(boot.Data))
	if err != nil {
		log.Warn("local socket: the command line cannot reach this hub", "err", err)
	} else {
		defer sockLn.Close()
	}

	// Build: the MQTT side's events (a subscription on the embedded broker, the
	// external broker's connection) reach the output driver, the MQTT API and the
	// hub, which exist before it starts.
	base := strings.TrimSuffix(boot.MQTT.BaseTopic, "/")
	events := &mqttEvents{}
	mq, err := newMQTTSide(boot.MQTT, base, append([]string{base + "/command"}, set.MQTT.CommandTopics()...), store, log, events)
	if err != nil {
		return err
	}
	bus := mq.dev
	late := &lateInputs{}
	reports := hub.NewReportQueue(store)
	live := newLiveBindings(set)
	hopt := hub.Options{Config: cfg, Journal: store, Reports: reports, Log: log, Location: loc,
		CommitDelay: 200 * time.Microsecond,
		// A change made while the hub runs (the web app) must keep the bindings
		// valid, or the next start would refuse the stored configuration.
		CheckConfig: func(c hub.Config) error { return live.get().Validate(c) }}
	var paths func() []uplink.PathStatus
	if hasState {
		hopt.State = &state
	}
	zoneIDs := map[string]bool{}
	for _, z := range cfg.Zones {
		zoneIDs[z.ID] = true
	}
	video, err := newVideoSide(boot.Video, boot.Data, zoneIDs, store, log)
	if err != nil {
		return err
	}
	if video != nil {
		defer video.closeLive() // at once if the start fails; it is closed earlier at an orderly stop
	}
	var up *uplink.Uplink
	if len(boot.Uplink.Paths) > 0 {
		if up, err = uplink.New(boot.Uplink, reports, late, log, uplink.WithSeqStore(uplink.SeqDir(boot.Data)),
			uplink.WithVerifyURL(video.verifyURL)); err != nil {
			return err
		}
		hopt.Waker = up
		paths = up.Status
	} else {
		log.Warn("uplink: no monitoring centre configured; alarms are local only")
	}
	// Each output is driven by the adapter that binds it; one that none binds is
	// a fault from the start.
	drv := mqttdev.NewOutputs(bus, set.MQTT.Outputs, base+"/output", log)
	drivers := map[string]output.Driver{}
	for id := range set.MQTT.Outputs {
		drivers[id] = drv
	}
	zb, err := newZigbeeSide(boot.MQTT, set.Zigbee, bus, log, opt.zigbeeClock)
	if err != nil {
		return err
	}
	zb.drivers(set.Zigbee, drivers)
	gp, err := newGPIOSide(set.GPIO, opt.gpio, log)
	if err != nil {
		return err
	}
	defer gp.stopOutputs()
	gp.addDrivers(drivers)
	keeper := output.New(cfg.Outputs, output.Options{Drivers: drivers, Status: drv.Status,
		Feedback: gp.feedback(zb.feedback(set.Zigbee, drv.HasFeedback)),
		Failed:   outputFaults(state), Log: log})
	hopt.Outputs = keeper
	mets := metrics.New(paths)
	hopt.Metrics = mets
	h := hub.New(hopt)
	mets.SetHub(h)
	if err := mets.ReadBackFrom(store); err != nil {
		log.Error("metrics: events missed after falling behind the hub will not be counted", "err", err)
	}
	late.h = h
	keeper.SetHub(h)
	api := mqttapi.New(base, mq.api, h, log)
	zones := mqttdev.NewZones(bus, h, log)
	events.subscribed = func(filters []string) {
		drv.Subscribed(keeper, filters)
		for _, f := range filters {
			if mqttdev.MatchTopic(f, api.Topic("event")) {
				api.Listening()
				break
			}
		}
	}
	// An external broker cannot tell when a device subscribes: every output is
	// sent its level again after each connection.
	eventsCtx, eventsDone := context.WithCancel(context.Background())
	events.up = func() {
		keeper.Resend(func(hub.Output) bool { return true })
		api.Listening()
		brokerFault(eventsCtx, h, log, nil)
	}
	events.down = func(err error) { brokerFault(eventsCtx, h, log, err) }
	zb.hook(events)

	if err := mq.start(ctx); err != nil {
		eventsDone()
		return err
	}
	defer mq.close()
	defer eventsDone()
	if opt.demo && mq.embedded {
		demoHint(stdout, mq.addr())
	}
	unsub, err := api.Start(ctx)
	if err != nil {
		return err
	}
	defer unsub()

	// Run, in the order the alarm path needs: the hub resumes the stored state,
	// the outputs take their levels, then the devices' messages flow in.
	hubCtx, stopHub := context.WithCancel(context.Background())
	defer stopHub()
	hubDone := make(chan error, 1)
	notes := newNotifySide(boot.Notify, video, loc, log)
	notes.subscribe(h, store) // before Run: no event of the start is missed
	mets.SetNotify(notes.targets())
	go func() { hubDone <- h.Run(hubCtx) }()
	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	goRun := func(name string, f func(context.Context) error) {
		wg.Go(func() {
			if err := f(runCtx); err != nil {
				log.Error(name+" stopped", "err", err)
			}
		})
	}
	goRun("outputs", keeper.Run)
	if mq.embedded { // a broker fault left from using an external broker ends here
		goRun("mqtt", func(ctx context.Context) error { brokerFault(ctx, h, log, nil); return nil })
	}
	if err := drv.Bind(keeper); err != nil {
		return err
	}
	defer drv.Close()
	if err := zones.Bind(runCtx, set.MQTT.Zones); err != nil {
		return err
	}
	defer zones.Close()
	if err := zb.start(runCtx, h, keeper, goRun); err != nil {
		return err
	}
	defer zb.close()
	gp.start(h, keeper)
	defer gp.stopInputs()
	goRun("mqtt api", api.Run)
	if up != nil {
		goRun("uplink", up.Run)
	}
	if video != nil {
		video.start(h, goRun)
	}
	notes.start(goRun)
	goRun("metrics", mets.Run)
	goRun("retention", func(ctx context.Context) error { return prune(ctx, store, h, log) })
	goRun("snapshots", func(ctx context.Context) error { return store.RunSnapshots(ctx, log) })
	if opt.demo {
		goRun("demo", func(ctx context.Context) error { return simulate(ctx, bus, cfg, set, log) })
	}

	recordRestore(runCtx, boot.Data, h, log)
	var uplinkStatus func() []uplink.PathStatus
	if up != nil {
		uplinkStatus = up.Status
	}
	var restore func(r io.Reader, name string, who hub.Actor) (string, error)
	if !opt.demo || opt.dataSet { // a demo in a temporary directory keeps nothing
		restore = (&restorer{data: boot.Data, h: h}).stage
	}
	wopt := web.Options{Restore: restore, Restart: func() { restart(errRestart) }, Outputs: outputStates(keeper, live.get),
		Uplink: uplinkStatus, Hub: h, Events: store, Health: health(h, up, store, reports), Devices: zb.devices, Metrics: mets.Handler(), Log: log,
		ExportConfig: func(w io.Writer) error { return writeDomain(w, h.Snapshot().Config, live.get()) },
		ImportConfig: func(ctx context.Context, y []byte, replace bool, who hub.Actor) (string, error) {
			return importRunning(ctx, h, store, live, zb, y, replace, who)
		},
		Zigbee: zigbeeDevices{zb, h, live},
		Zones:  func() map[string]web.ZoneBinding { return zb.zoneBindings(live) },
		Backup: store.Backup, Clips: video.clipStore(), Operator: video.operatorPage(), CameraAuth: video.cameraAuth()}
	if video != nil {
		wopt.Cameras, wopt.WHEP = video.cameraList, video.live
	}
	webApp := web.New(wopt)
	if code := webApp.SetupCode(); code != "" {
		fmt.Fprintf(stdout, "No users yet. Open the web app (http://%s/) and create the first admin with the setup code\n  %s\nor, with the hub stopped: vakt user add -data %s -name YourName -password\n",
			dialAddr(lnAddr(httpLn)), code, boot.Data)
	}
	goRun("web", webApp.Run)
	servers := []*http.Server{}
	for _, l := range []struct {
		ln  net.Listener
		tls *tls.Config
	}{{httpLn, nil}, {httpsLn, webTLS}} {
		if l.ln == nil {
			continue
		}
		srv := webApp.HTTPServer()
		srv.TLSConfig = l.tls
		servers = append(servers, srv)
		go func() {
			var err error
			if l.tls != nil {
				err = srv.ServeTLS(l.ln, "", "")
			} else {
				err = srv.Serve(l.ln)
			}
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("web server stopped", "err", err)
			}
		}()
	}
	local := webApp.HTTPServer()
	local.Handler, local.ConnContext = webApp.LocalHandler(), web.LocalConnContext
	if sockLn != nil {
		go func() {
			if err := local.Serve(sockLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("local socket stopped", "err", err)
			}
		}()
	}
	log.Info("vakt started", "version", versionString(), "data", boot.Data, "http", lnAddr(httpLn),
		"mqtt", mq.where(), "https", lnAddr(httpsLn), "state", h.Snapshot().State.Name, "zones", len(cfg.Zones), "demo", opt.demo)
	if opt.ready != nil {
		opt.ready(map[string]string{"http": lnAddr(httpLn), "https": lnAddr(httpsLn), "mqtt": mq.where(), "data": boot.Data})
	}

	select {
	case <-ctx.Done():
	case err := <-hubDone:
		cancel()
		wg.Wait()
		return fmt.Errorf("hub stopped: %w", err)
	}

	// Orderly shutdown, in reverse order, under one deadline: no more inputs, the
	// outputs off (the restart resumes what must sound), the journal flushed,
	// "offline" published, then the rest, while the notification targets
	// deliver their queues (up to notifyDrain).
	log.Info("vakt stopping")
	deadline, done := context.WithTimeout(context.Background(), shutdownTimeout)
	defer done()
	if video != nil {
		video.closeLive()         // the views end, recorded by the hub
		video.stopClips(deadline) // clips cut short, recorded too
	}
	zones.Close()
	zb.close()
	gp.stopInputs()
	keeper.Stop()
	gp.stopOutputs()
	stopHub()
	select {
	case err := <-hubDone:
		if err != nil {
			log.Error("hub: shutdown", "err", err)
		}
	case <-deadline.Done():
		log.Error("hub: journal not flushed before the shutdown deadline")
	}
	dl, _ := deadline.Deadline()
	notes.stop(dl) // the queued notifications go out while the rest stops
	api.Stop()
	cancel()
	stopped := make(chan struct{})
	go func() { wg.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-deadline.Done():
		log.Error("shutdown: components still running at the deadline")
	}
	webApp.Close()
	webCtx, webDone := context.WithTimeout(deadline, time.Second)
	defer webDone()
	for _, srv := range append(servers, local) {
		_ = srv.Shutdown(webCtx)
	}
	log.Info("vakt stopped")
	if errors.Is(context.Cause(ctx), errRestart) {
		log.Info("vakt restarting")
		return errRestart
	}
	return nil
}

// dialAddr turns a listen address into one to connect to: no host, or an
// unspecified one, is this machine.
func dialAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// lnAddr is a listener's address, "off" for none.
func lnAddr(ln net.Listener) string {
	if ln == nil {
		return "off"
	}
	return ln.Addr().String()
}

func addrString(a net.Addr) string {
	if a == nil {
		return "off"
	}
	return a.String()
}

func brokerConfig(m bootMQTT) broker.Config {
	c := broker.Config{Addr: m.Listen, TLSAddr: m.TLSListen, TLSCert: m.TLSCert, TLSKey: m.TLSKey,
		WSAddr: m.WSListen, AllowAnonymous: m.AllowAnonymous,
		MaxRetainedBytes: m.MaxRetainedBytes, MaxRetainedMessageBytes: m.MaxRetainedMessageBytes,
		MaxQueueMessages: m.MaxClientQueueMessages, MaxQueueBytes: m.MaxClientQueueBytes}
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

func (bb brokerBus) Subscribed(topic string) bool { return bb.b.Subscribed(topic) }

// apiBus adapts the broker to the bus of Vakt's own MQTT interface.
type apiBus struct{ b *broker.Broker }

func (ab apiBus) Publish(topic string, payload []byte, retain bool) error {
	return ab.b.Publish(topic, payload, retain, 1)
}

func (ab apiBus) Subscribe(filter string, fn func(mqttapi.Message)) (func(), error) {
	return ab.b.Watch(filter, func(m broker.Message) { fn(mqttapi.Message(m)) })
}

func (ab apiBus) Subscribed(topic string) bool { return ab.b.Subscribed(topic) }
