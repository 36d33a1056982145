// Cameras (boot configuration "video"): always-on cameras keep their ring
// buffers, and an alarm in a zone writes a clip from each always-on camera
// linked to it into DATA/clips.

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"time"

	"vakt/hub"
	"vakt/sensors/camera"
	"vakt/storage/clips"
)

// bootVideo configures the cameras and alarm clips.
type bootVideo struct {
	Cameras []bootCamera `yaml:"cameras"`
	// ClipSeconds is the video after the alarm in a clip (default 20).
	ClipSeconds int `yaml:"clip_seconds"`
	// ClipQuotaMB bounds the disk the clips use (default 2048); the oldest go first.
	ClipQuotaMB int64 `yaml:"clip_quota_mb"`
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
	return errs
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
	return vs, nil
}

// start runs the cameras and the clip trigger.
func (vs *videoSide) start(h *hub.Hub, goRun func(string, func(context.Context) error)) {
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
