// Cameras (boot configuration "video"): always-on cameras keep their ring
// buffers, and an alarm in a zone writes a clip from each always-on camera
// linked to it into DATA/clips, recorded in the journal as a clip event. A
// camera without video is the hub's fault camera:<name>.

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"vakt/hub"
	"vakt/sensors/camera"
	"vakt/storage"
	"vakt/storage/clips"
	"vakt/ui/operator"
	"vakt/ui/web"
	"vakt/ui/webrtc"
)

// bootVideo configures the cameras and alarm clips.
type bootVideo struct {
	Cameras []bootCamera `yaml:"cameras"`
	// ClipSeconds is the video after the alarm in a clip (default 20).
	ClipSeconds int `yaml:"clip_seconds"`
	// ClipQuotaMB bounds the disk the clips use (default 2048); the oldest go first.
	ClipQuotaMB int64 `yaml:"clip_quota_mb"`
	// MediaListen is the one UDP address of all live-view media (default
	// 0.0.0.0:8189); forward this port for viewers outside the LAN.
	MediaListen string `yaml:"media_listen"`
	// PublicAddresses are the router's public IP addresses (NAT 1:1),
	// announced to viewers in addition to the hub's own.
	PublicAddresses []string `yaml:"public_addresses"`
	// ICEServers are optional STUN and TURN servers.
	ICEServers []bootICEServer `yaml:"ice_servers"`
	// MaxViews bounds the live views at once (default 16); MaxViewsPerViewer
	// one viewer's views of one camera (default 4).
	MaxViews          int `yaml:"max_views"`
	MaxViewsPerViewer int `yaml:"max_views_per_viewer"`
	// OperatorURL is where the monitoring centre's operator reaches this hub's
	// web port (https://home.example.net:8443); with it, a new alarm report
	// carries an operator link (DC-09 [V]). Empty: no link.
	OperatorURL string `yaml:"operator_url"`
	// OperatorMinutes is how long an operator link works after the alarm
	// (default 30), unless a disarm closes the incident first.
	OperatorMinutes int `yaml:"operator_minutes"`
}

// bootICEServer is a STUN or TURN server.
type bootICEServer struct {
	URLs       []string `yaml:"urls"` // stun:host:port, turn:host:port?transport=udp, turns:host:port
	Username   string   `yaml:"username"`
	Credential string   `yaml:"credential"`
}

// bootCamera is one camera.
type bootCamera struct {
	Name string `yaml:"name"` // letters, digits, - and _
	URL  string `yaml:"url"`  // rtsp://user:password@host:554/path
	// AlwaysOn keeps the camera connected with a ring buffer, for pre-alarm clips.
	AlwaysOn bool `yaml:"always_on"`
	// BufferSeconds is the ring buffer's length (default 10).
	BufferSeconds int      `yaml:"buffer_seconds"`
	Zones         []string `yaml:"zones"` // the zones it watches
}

var cameraName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// validate checks the video keys.
func (v bootVideo) validate() []error {
	var errs []error
	seen := map[string]bool{}
	for i, c := range v.Cameras {
		if !cameraName.MatchString(c.Name) {
			errs = append(errs, fmt.Errorf("video.cameras[%d]: name %q: use 1 to 64 letters, digits, - and _", i, c.Name))
		}
		if seen[c.Name] {
			errs = append(errs, fmt.Errorf("video.cameras[%d]: duplicate camera %q", i, c.Name))
		}
		seen[c.Name] = true
		if _, err := camera.New(c.config(), camera.Options{}); err != nil {
			errs = append(errs, fmt.Errorf("video.cameras[%d]: %w", i, err))
		}
		if c.BufferSeconds < 0 || c.BufferSeconds > 120 {
			errs = append(errs, fmt.Errorf("video.cameras[%d]: buffer_seconds %d is not between 0 and 120", i, c.BufferSeconds))
		}
	}
	if v.ClipSeconds < 0 || v.ClipSeconds > 600 {
		errs = append(errs, fmt.Errorf("video.clip_seconds %d is not between 0 and 600", v.ClipSeconds))
	}
	if v.ClipQuotaMB < 0 {
		errs = append(errs, fmt.Errorf("video.clip_quota_mb %d is negative", v.ClipQuotaMB))
	}
	if v.OperatorMinutes < 0 || v.OperatorMinutes > 24*60 {
		errs = append(errs, fmt.Errorf("video.operator_minutes %d is not between 0 and 1440", v.OperatorMinutes))
	}
	if v.OperatorURL != "" {
		if err := operator.CheckBaseURL(v.OperatorURL); err != nil {
			errs = append(errs, fmt.Errorf("video.operator_url: %w", err))
		}
	}
	return append(errs, v.validateLive()...)
}

// validateLive checks the live view's keys: the media address, the public
// addresses and the STUN/TURN servers.
func (v bootVideo) validateLive() []error {
	var errs []error
	if v.MaxViews < 0 || v.MaxViews > 256 {
		errs = append(errs, fmt.Errorf("video.max_views %d is not between 1 and 256 (0: the default, 16)", v.MaxViews))
	}
	if v.MaxViewsPerViewer < 0 || v.MaxViewsPerViewer > 256 {
		errs = append(errs, fmt.Errorf("video.max_views_per_viewer %d is not between 1 and 256 (0: the default, 4)", v.MaxViewsPerViewer))
	}
	if v.MediaListen != "" {
		host, port, err := net.SplitHostPort(v.MediaListen)
		n, perr := strconv.Atoi(port)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("video.media_listen %q: %w (want address:port, e.g. 0.0.0.0:8189)", v.MediaListen, err))
		case perr != nil || n < 0 || n > 65535:
			errs = append(errs, fmt.Errorf("video.media_listen %q: port %q is not a number from 0 to 65535", v.MediaListen, port))
		case host != "" && net.ParseIP(host) == nil:
			errs = append(errs, fmt.Errorf("video.media_listen %q: %q is not an IP address", v.MediaListen, host))
		}
	}
	for i, a := range v.PublicAddresses {
		if ip := net.ParseIP(a); ip == nil || ip.To4() == nil {
			errs = append(errs, fmt.Errorf("video.public_addresses[%d]: %q is not an IPv4 address", i, a))
		}
	}
	for i, is := range v.ICEServers {
		if len(is.URLs) == 0 {
			errs = append(errs, fmt.Errorf("video.ice_servers[%d]: urls is empty", i))
		}
		for _, u := range is.URLs {
			scheme, _, _ := strings.Cut(u, ":")
			switch {
			case scheme != "stun" && scheme != "turn" && scheme != "turns":
				errs = append(errs, fmt.Errorf("video.ice_servers[%d]: %q: the scheme must be stun, turn or turns", i, u))
			case scheme != "stun" && (is.Username == "" || is.Credential == ""):
				errs = append(errs, fmt.Errorf("video.ice_servers[%d]: %q: a TURN server needs a username and a credential", i, u))
			}
		}
	}
	return errs
}

// liveConfig is the WHEP server's configuration from the video keys.
func (v bootVideo) liveConfig() webrtc.Config {
	cfg := webrtc.Config{BasePath: web.CamerasBase, Authorize: web.AuthorizeCamera, UDPAddr: v.MediaListen, PublicIPs: v.PublicAddresses,
		MaxSessions: v.MaxViews, MaxPerViewer: v.MaxViewsPerViewer}
	for _, is := range v.ICEServers {
		cfg.ICEServers = append(cfg.ICEServers, webrtc.ICEServer{URLs: is.URLs, Username: is.Username, Credential: is.Credential})
	}
	return cfg
}

func (c bootCamera) config() camera.Config {
	return camera.Config{Name: c.Name, URL: c.URL, AlwaysOn: c.AlwaysOn,
		Buffer: time.Duration(c.BufferSeconds) * time.Second, Zones: c.Zones}
}

// videoSide is the running cameras and the clip writer.
type videoSide struct {
	cams  []*camera.Camera
	clips *clips.Writer
	log   *slog.Logger
	// live serves the live view; its views are recorded once the hub runs.
	live *webrtc.Server

	h      atomic.Pointer[hub.Hub] // set by start, before the cameras run
	events eventLog                // to find a resumed alarm's event
	op     *operator.Server        // the operator link; nil without operator_url

	// stopClip ends the clip writer (stopClips); clipsDone is closed once it
	// and its clips are done.
	stopMu    sync.Mutex
	stopClip  context.CancelFunc
	clipsDone chan struct{}

	mu       sync.Mutex
	clipping map[string]bool // cameras with a clip being written
	faulty   map[string]bool // the camera faults the hub was told of (or had at start)
}

// eventLog reads the journal.
type eventLog = storage.EventReader

// newVideoSide creates the cameras; nil when none are configured. events is the
// journal.
func newVideoSide(v bootVideo, data string, zones map[string]bool, events eventLog, log *slog.Logger) (*videoSide, error) {
	if len(v.Cameras) == 0 {
		return nil, nil
	}
	w, err := clips.New(clips.Config{Dir: filepath.Join(data, "clips"), Post: time.Duration(v.ClipSeconds) * time.Second,
		Quota: v.ClipQuotaMB << 20, Logger: log})
	if err != nil {
		return nil, err
	}
	vs := &videoSide{clips: w, log: log, events: events, clipping: map[string]bool{}, faulty: map[string]bool{}}
	for i, c := range v.Cameras {
		cam, err := camera.New(c.config(), camera.Options{Logger: log,
			OnState: func(st camera.State) { vs.cameraState(i+1, st) }})
		if err != nil {
			return nil, err
		}
		for _, z := range c.Zones {
			if !zones[z] {
				log.Warn("video: camera linked to a zone that does not exist", "camera", c.Name, "zone", z)
			}
		}
		if len(c.Zones) > 0 && !c.AlwaysOn {
			log.Warn("video: camera is not always_on, so alarms in its zones get no clip", "camera", c.Name)
		}
		vs.cams = append(vs.cams, cam)
	}
	lc := v.liveConfig()
	lc.Logger = log
	lc.Cameras = func(name string) (webrtc.Camera, bool) {
		i := slices.IndexFunc(vs.cams, func(c *camera.Camera) bool { return c.Name() == name })
		if i < 0 {
			return nil, false
		}
		return vs.cams[i], true
	}
	lc.OnView = vs.viewed
	// The centre's operator is never refused a live view for want of room.
	lc.Priority = operator.IsViewer
	if vs.live, err = webrtc.New(lc); err != nil {
		return nil, fmt.Errorf("video: live view: %w", err)
	}
	if v.OperatorURL != "" {
		key, err := operator.LoadKey(filepath.Join(data, "operator.key"))
		if err != nil {
			vs.closeLive()
			return nil, err
		}
		if vs.op, err = operator.New(v.operatorConfig(key, events, vs)); err != nil {
			vs.closeLive()
			return nil, err
		}
		vs.op.SetSessions(vs.live)
	}
	return vs, nil
}

// viewed records a finished live view as an event.
func (vs *videoSide) viewed(v webrtc.View) {
	h := vs.h.Load()
	if h == nil {
		vs.log.Error("video: camera view before the hub ran: not recorded", "camera", v.Camera, "who", v.Who)
		return
	}
	web.RecordViews(h, vs.log)(v)
}

// cameraList is each camera with its state, for the web app.
func (vs *videoSide) cameraList() []web.Camera {
	out := make([]web.Camera, 0, len(vs.cams))
	for _, cam := range vs.cams {
		cfg, st := cam.Config(), cam.State()
		state := map[camera.Status]string{camera.StatusIdle: web.CameraIdle, camera.StatusConnecting: web.CameraConnecting,
			camera.StatusStreaming: web.CameraStreaming, camera.StatusStopped: web.CameraOff}[st.Status]
		if st.Fault != "" {
			state = web.CameraStalled
		}
		out = append(out, web.Camera{Name: cfg.Name, Zones: slices.Clone(cfg.Zones), AlwaysOn: cfg.AlwaysOn, State: state, Fault: st.Fault})
	}
	return out
}

// closeLive ends the live views (recorded while the hub still runs) and closes
// the media port.
func (vs *videoSide) closeLive() {
	if err := vs.live.Close(); err != nil {
		vs.log.Error("video: close the live view", "err", err)
	}
}

// operatorConfig is the operator link's configuration; vs gives the cameras,
// the clips and the hub.
func (v bootVideo) operatorConfig(key []byte, events eventLog, vs *videoSide) operator.Config {
	return operator.Config{BaseURL: v.OperatorURL, Key: key, Window: time.Duration(v.OperatorMinutes) * time.Minute,
		Events: events, Cameras: vs.camerasOf, Clips: vs.clips, Hub: hubPoster{vs}, Log: vs.log}
}

// start runs the cameras, the clip trigger and the operator link's windows.
func (vs *videoSide) start(h *hub.Hub, goRun func(string, func(context.Context) error)) {
	vs.h.Store(h)
	if vs.op != nil {
		goRun("operator link", func(ctx context.Context) error { return vs.op.Run(ctx, h.Subscribe) })
	}
	vs.syncFaults(h)
	for _, cam := range vs.cams {
		goRun("camera "+cam.Name(), func(ctx context.Context) error {
			if err := cam.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		})
	}
	alarms := hub.NewFollow(h.Subscribe, 256)
	resumed := h.Snapshot().State
	if seen, err := storage.Top(vs.events); err != nil { // alarms up to it had their clips before this start
		vs.log.Error("video: cannot read the journal; alarms missed after falling behind the hub will get no clip", "err", err)
	} else {
		alarms.ReadBack(seen, storage.ReadBackFunc(vs.events, []hub.EventType{hub.EvAlarm}, clipCatchUp))
	}
	done := make(chan struct{})
	vs.clipsDone = done
	goRun("clips", func(ctx context.Context) error {
		ctx, stop := context.WithCancel(ctx)
		vs.stopMu.Lock()
		vs.stopClip = stop
		vs.stopMu.Unlock()
		defer close(done)
		var wg sync.WaitGroup // the clips being written
		defer wg.Wait()
		if resumed.Name == hub.Triggered && resumed.AlarmZone != "" {
			vs.resumedAlarm(ctx, &wg, resumed.AlarmZone)
		}
		onAlarms(ctx, alarms, vs.log, func(zone string, alarm uint64) { vs.clipAlarm(ctx, &wg, zone, alarm) })
		return nil
	})
}

// stopClips ends the clips being written, each with what it has, and waits
// (until deadline) for them to be recorded: called while the hub still runs, so
// that a clip cut short by a stop is in the journal too.
func (vs *videoSide) stopClips(deadline context.Context) {
	if vs.clipsDone == nil {
		return
	}
	vs.stopMu.Lock()
	if vs.stopClip != nil {
		vs.stopClip()
	}
	vs.stopMu.Unlock()
	select {
	case <-vs.clipsDone:
	case <-deadline.Done():
		vs.log.Error("video: clips still being written at the shutdown deadline")
	}
}

// onAlarms calls clip with the zone and journal number of each alarm in a zone
// until ctx ends (clipAlarm writes a clip from each always-on camera of the zone,
// one at a time per camera: a second alarm during a clip is in it already). When
// the hub drops it as too slow, it subscribes again, and with updates.ReadBack
// reads the alarms it missed from the journal first.
func onAlarms(ctx context.Context, updates *hub.Follow, log *slog.Logger, clip func(zone string, alarm uint64)) {
	updates.Run(ctx, func(u hub.Update) {
		for _, ev := range u.Events {
			if ev.Type == hub.EvAlarm && ev.Zone != "" {
				clip(ev.Zone, ev.Seq)
			}
		}
	}, func() {
		switch m := updates.Missed(); {
		case m == (hub.Missed{}):
			log.Error("video: fell behind the hub's updates; subscribing again (alarms in between get no clip)")
		case m.Err != nil:
			log.Error("video: fell behind the hub's updates and cannot read the journal; alarms in between get no clip", "err", m.Err)
		default:
			log.Warn("video: fell behind the hub's updates; subscribing again, the alarms in between read from the journal",
				"from", m.From, "to", m.To)
		}
	})
}

// clipCatchUp bounds how far back (in journal numbers) the clip trigger reads
// the alarms it missed.
const clipCatchUp = 10_000

// clipAlarm starts a clip from each always-on camera of zone that is not
// writing one already; alarm is the alarm event's journal number (0: unknown).
func (vs *videoSide) clipAlarm(ctx context.Context, wg *sync.WaitGroup, zone string, alarm uint64) {
	for _, cam := range vs.cams {
		cfg := cam.Config()
		if !cfg.AlwaysOn || !slices.Contains(cfg.Zones, zone) || !vs.begin(cam.Name()) {
			continue
		}
		wg.Go(func() {
			defer vs.end(cam.Name())
			c, err := vs.clips.Clip(ctx, cam, "alarm in zone "+zone)
			if err != nil {
				vs.log.Error("video: alarm clip not written", "camera", cam.Name(), "zone", zone, "err", err)
				return
			}
			vs.log.Info("video: alarm clip", "camera", cam.Name(), "zone", zone, "file", c.Path)
			start := c.Trigger.Add(-c.PreAlarm)
			in := hub.ClipSaved{Camera: cam.Name(), Zone: zone, Alarm: alarm, File: c.Name,
				Start: start, End: start.Add(c.Duration), Bytes: c.Bytes}
			// The hub is stopping when ctx is done; the clip is on disk anyway.
			if err := vs.h.Load().Input(context.WithoutCancel(ctx), in); err != nil {
				vs.log.Error("video: clip not recorded in the journal", "camera", cam.Name(), "file", c.Name, "err", err)
			}
		})
	}
}

// resumedAlarm clips an alarm that was going on when the hub stopped: the hub
// resumes it, and the cameras of its zone record what follows (their ring
// buffers start empty, so the clip has no pre-alarm part). The alarm event is
// the zone's newest alarm in the journal.
func (vs *videoSide) resumedAlarm(ctx context.Context, wg *sync.WaitGroup, zone string) {
	var alarm uint64
	evs, _, err := vs.events.Events(storage.EventQuery{Types: []hub.EventType{hub.EvAlarm}, Zone: zone, Limit: 1})
	switch {
	case err != nil:
		vs.log.Warn("video: the resumed alarm's event cannot be read; its clip is linked by zone and time", "zone", zone, "err", err)
	case len(evs) == 1:
		alarm = evs[0].Seq
	}
	vs.log.Info("video: the alarm goes on after the restart; recording its cameras", "zone", zone, "alarm", alarm)
	vs.clipAlarm(ctx, wg, zone, alarm)
}

// cameraState turns a camera's state into the hub's camera fault: raised when
// the camera reports a fault, cleared when frames flow again. A stopping camera
// (the hub stops) changes nothing.
func (vs *videoSide) cameraState(point int, st camera.State) {
	if st.Status == camera.StatusStopped {
		return
	}
	active := st.Fault != ""
	vs.mu.Lock()
	same := vs.faulty[st.Camera] == active
	vs.faulty[st.Camera] = active
	vs.mu.Unlock()
	h := vs.h.Load()
	if same || h == nil {
		return
	}
	detail := st.Fault
	if !active {
		detail = "video back"
	}
	f := hub.Fault{ID: hub.FaultID{Kind: hub.FaultCamera, Subject: st.Camera}, Active: active, Detail: detail, Point: point}
	if err := h.Post(context.Background(), f); err != nil {
		vs.log.Error("video: hub refused the camera fault", "camera", st.Camera, "err", err)
	}
}

// syncFaults starts from the camera faults the hub resumed: a camera still
// configured clears its fault when its first frames arrive; the fault of a
// camera no longer configured is cleared now.
func (vs *videoSide) syncFaults(h *hub.Hub) {
	for id, on := range h.Snapshot().State.Faults {
		if !on || id.Kind != hub.FaultCamera {
			continue
		}
		if slices.ContainsFunc(vs.cams, func(c *camera.Camera) bool { return c.Name() == id.Subject }) {
			vs.mu.Lock()
			vs.faulty[id.Subject] = true
			vs.mu.Unlock()
			continue
		}
		f := hub.Fault{ID: id, Active: false, Detail: "camera no longer configured"}
		if err := h.Post(context.Background(), f); err != nil {
			vs.log.Error("video: hub refused the camera fault", "camera", id.Subject, "err", err)
		}
	}
}

func (vs *videoSide) begin(cam string) bool {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	if vs.clipping[cam] {
		return false
	}
	vs.clipping[cam] = true
	return true
}

func (vs *videoSide) end(cam string) {
	vs.mu.Lock()
	delete(vs.clipping, cam)
	vs.mu.Unlock()
}

// clipStore is the clips the web app serves; nil without cameras.
func (vs *videoSide) clipStore() web.ClipStore {
	if vs == nil {
		return nil
	}
	return vs.clips
}

// camerasOf lists the cameras linked to zone.
func (vs *videoSide) camerasOf(zone string) []string {
	var out []string
	for _, c := range vs.cams {
		if slices.Contains(c.Config().Zones, zone) {
			out = append(out, c.Name())
		}
	}
	return out
}

// hubPoster records in the hub once it runs.
type hubPoster struct{ vs *videoSide }

func (p hubPoster) Input(ctx context.Context, in hub.Input) error {
	h := p.vs.h.Load()
	if h == nil {
		return errors.New("video: the hub is not running yet")
	}
	return h.Input(ctx, in)
}

// verifyURL is the operator link of a new alarm report ("" for none).
func (vs *videoSide) verifyURL(r hub.Report) string {
	if vs == nil || vs.op == nil {
		return ""
	}
	return vs.op.URL(r)
}

// operatorPage serves /operator/; nil without an operator link.
func (vs *videoSide) operatorPage() http.Handler {
	if vs == nil || vs.op == nil {
		return nil
	}
	return vs.op
}

// cameraAuth accepts operator tokens for the live view; nil without an
// operator link.
func (vs *videoSide) cameraAuth() func(r *http.Request, camera string) (string, bool) {
	if vs == nil || vs.op == nil {
		return nil
	}
	return vs.op.CameraAuth
}
