// Cameras (boot configuration "video"): always-on cameras keep their ring
// buffers, and an alarm in a zone writes a clip from each always-on camera
// linked to it into DATA/clips.

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
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
	"vakt/storage/clips"
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
	return append(errs, v.validateLive()...)
}

// validateLive checks the live view's keys: the media address, the public
// addresses and the STUN/TURN servers.
func (v bootVideo) validateLive() []error {
	var errs []error
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
	cfg := webrtc.Config{BasePath: web.CamerasBase, Authorize: web.AuthorizeCamera, UDPAddr: v.MediaListen, PublicIPs: v.PublicAddresses}
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
	hub  atomic.Pointer[hub.Hub]

	mu       sync.Mutex
	clipping map[string]bool // cameras with a clip being written
}

// newVideoSide creates the cameras; nil when none are configured.
func newVideoSide(v bootVideo, data string, zones map[string]bool, log *slog.Logger) (*videoSide, error) {
	if len(v.Cameras) == 0 {
		return nil, nil
	}
	w, err := clips.New(clips.Config{Dir: filepath.Join(data, "clips"), Post: time.Duration(v.ClipSeconds) * time.Second,
		Quota: v.ClipQuotaMB << 20, Logger: log})
	if err != nil {
		return nil, err
	}
	vs := &videoSide{clips: w, log: log, clipping: map[string]bool{}}
	for _, c := range v.Cameras {
		cam, err := camera.New(c.config(), camera.Options{Logger: log})
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
	if vs.live, err = webrtc.New(lc); err != nil {
		return nil, fmt.Errorf("video: live view: %w", err)
	}
	return vs, nil
}

// viewed records a finished live view as an event.
func (vs *videoSide) viewed(v webrtc.View) {
	h := vs.hub.Load()
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

// start runs the cameras and the clip trigger.
func (vs *videoSide) start(h *hub.Hub, goRun func(string, func(context.Context) error)) {
	vs.hub.Store(h)
	for _, cam := range vs.cams {
		goRun("camera "+cam.Name(), func(ctx context.Context) error {
			if err := cam.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		})
	}
	updates, cancel := h.Subscribe(256)
	goRun("clips", func(ctx context.Context) error {
		defer cancel()
		vs.onAlarms(ctx, updates)
		return nil
	})
}

// onAlarms writes a clip from each always-on camera of an alarm's zone, one at a
// time per camera (a second alarm during a clip is in it already).
func (vs *videoSide) onAlarms(ctx context.Context, updates <-chan hub.Update) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case u, ok := <-updates:
			if !ok {
				vs.log.Error("video: fell behind the hub's updates; alarms from now on get no clip")
				return
			}
			for _, ev := range u.Events {
				if ev.Type != hub.EvAlarm || ev.Zone == "" {
					continue
				}
				for _, cam := range vs.cams {
					cfg := cam.Config()
					if !cfg.AlwaysOn || !slices.Contains(cfg.Zones, ev.Zone) || !vs.begin(cam.Name()) {
						continue
					}
					wg.Go(func() {
						defer vs.end(cam.Name())
						c, err := vs.clips.Clip(ctx, cam, "alarm in zone "+ev.Zone)
						if err != nil {
							vs.log.Error("video: alarm clip not written", "camera", cam.Name(), "zone", ev.Zone, "err", err)
							return
						}
						vs.log.Info("video: alarm clip", "camera", cam.Name(), "zone", ev.Zone, "file", c.Path)
					})
				}
			}
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
