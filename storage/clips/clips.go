// Package clips writes alarm clips: a camera's pre-alarm ring buffer plus the
// following seconds, as a fragmented MP4 (one fragment per picture group,
// mediacommon's fMP4 writer), into a directory kept under a disk quota by
// deleting the oldest clips first. A camera's Opus audio goes into the clip as a
// second track; G.711 audio does not (MP4 has no place for it without
// transcoding), so those clips are video only.
package clips

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"vakt/sensors/camera"

	"golang.org/x/sys/unix"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4"
)

// Defaults for Config.
const (
	DefaultPost  = 20 * time.Second
	DefaultQuota = 2 << 30 // 2 GiB
	// DefaultReserve is the free disk space clips leave for the journal.
	DefaultReserve = 256 << 20
	// Grace is how much longer than Post a clip waits, by the wall clock, for a
	// camera that stalls before it closes the clip with what it has.
	Grace = 10 * time.Second
	// Ext is the clips' file extension.
	Ext = ".mp4"
	// tmpPattern names a clip being written.
	tmpPattern = ".clip-*"
)

// Source is the camera a clip records from.
type Source interface {
	Name() string
	Subscribe(replay camera.Replay, queue int) *camera.Subscription
}

// Config configures a Writer.
type Config struct {
	// Dir holds the clips; it is created if missing.
	Dir string
	// Post is how much video after the trigger a clip holds (default 20 s).
	Post time.Duration
	// Quota bounds the bytes of all clips in Dir (default 2 GiB); after each clip
	// the oldest others are deleted until the rest fits.
	Quota int64
	// Reserve is the free space on Dir's file system that clips never take:
	// the journal and the alarm queue live on the same disk (default 256 MiB).
	// Below it the oldest clips go first; a clip that cannot be kept above it
	// ends early, or is not started.
	Reserve int64
	// Free tells the free bytes on Dir's file system (default statfs).
	Free   func() (int64, error)
	Logger *slog.Logger
	// Now is the wall clock (default time.Now).
	Now func() time.Time
}

// Writer writes clips.
type Writer struct {
	cfg Config
	log *slog.Logger
	mu  sync.Mutex // one prune at a time
}

// Clip describes a written clip.
type Clip struct {
	// Path is the clip's file; Name its base name.
	Path, Name     string
	Camera, Reason string
	// Trigger is when Clip was called; PreAlarm how much video before it the
	// clip holds, Duration the whole clip's length.
	Trigger            time.Time
	PreAlarm, Duration time.Duration
	Frames             int
	Bytes              int64
	// FirstSeq is the camera's Frame.Seq of the clip's first frame.
	FirstSeq uint64
	// AudioSamples counts the clip's audio packets (Opus only; 0 for a clip
	// without audio).
	AudioSamples int
}

// AudioSource is a Source with audio (a *camera.Camera is one): a camera's Opus
// audio goes into its clips.
type AudioSource interface {
	Source
	Audio() (a camera.Audio, known bool)
	SubscribeAudio(replay camera.Replay, queue int) *camera.Subscription
}

// New checks cfg and creates Dir.
func New(cfg Config) (*Writer, error) {
	if cfg.Dir == "" {
		return nil, errors.New("clips: no directory")
	}
	if cfg.Post <= 0 {
		cfg.Post = DefaultPost
	}
	if cfg.Quota <= 0 {
		cfg.Quota = DefaultQuota
	}
	if cfg.Reserve <= 0 {
		cfg.Reserve = DefaultReserve
	}
	if cfg.Free == nil {
		dir := cfg.Dir
		cfg.Free = func() (int64, error) { return freeBytes(dir) }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("clips: create %s: %w", cfg.Dir, err)
	}
	w := &Writer{cfg: cfg, log: cfg.Logger}
	if w.log == nil {
		w.log = slog.Default()
	}
	w.removeUnfinished()
	return w, nil
}

// Clip records cam's ring buffer and the next Post of video into a new file.
// It returns when the clip is complete (Post after the trigger, or sooner when
// ctx ends or the camera stalls for longer than Grace past Post: the clip then
// holds what arrived). A camera that delivers no video at all is an error and
// leaves no file.
func (w *Writer) Clip(ctx context.Context, cam Source, reason string) (Clip, error) {
	trigger := w.cfg.Now()
	name := cam.Name()
	var sub *camera.Subscription
	audio := false
	if ac, ok := cam.(AudioSource); ok {
		if a, _ := ac.Audio(); a.Codec == camera.AudioOpus {
			sub, audio = ac.SubscribeAudio(camera.ReplayAll, 4096), true
		}
	}
	if sub == nil {
		sub = cam.Subscribe(camera.ReplayAll, 4096)
	}
	defer sub.Close()

	if !w.room("") {
		return Clip{}, fmt.Errorf("clips: %s: %w: less than %d MiB free, kept for the journal", name, ErrDiskFull, w.cfg.Reserve>>20)
	}
	final := filepath.Join(w.cfg.Dir, fileName(name, trigger))
	tmp, err := os.CreateTemp(w.cfg.Dir, tmpPattern)
	if err != nil {
		return Clip{}, fmt.Errorf("clips: %s: %w", name, err)
	}
	keep := false
	defer func() {
		if !keep {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()

	enc := &encoder{f: tmp, audio: audio}
	deadline := time.NewTimer(w.cfg.Post + Grace)
	defer deadline.Stop()
	var triggerPTS time.Duration
	triggerSet := false
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-deadline.C:
			w.log.Warn("clips: camera stalled during the clip; closing it early", "camera", name)
			break loop
		case f, ok := <-sub.C():
			if !ok {
				break loop
			}
			if !triggerSet && f.Received.After(trigger) {
				// The first frame after the trigger; if the buffer was empty
				// it is also the clip's first.
				triggerPTS, triggerSet = f.PTS, true
			}
			if triggerSet && f.PTS-triggerPTS >= w.cfg.Post {
				break loop
			}
			before := enc.seq
			if err := enc.add(f); err != nil {
				return Clip{}, fmt.Errorf("clips: %s: %w", name, err)
			}
			if enc.seq != before && !w.room(tmp.Name()) {
				w.log.Warn("clips: the disk is nearly full; closing the clip early to keep the journal's space",
					"camera", name, "reserve_mib", w.cfg.Reserve>>20)
				break loop
			}
		case p, ok := <-sub.Audio():
			if ok && (!triggerSet || p.PTS-triggerPTS < w.cfg.Post) {
				enc.addAudio(p)
			}
		}
	}
	if enc.frames == 0 {
		return Clip{}, fmt.Errorf("clips: %s: the camera delivered no video", name)
	}
	if !triggerSet {
		triggerPTS = enc.lastPTS
	}
	// The audio that came with the last pictures.
	for drained := false; !drained; {
		select {
		case p, ok := <-sub.Audio():
			if ok && p.PTS < enc.lastPTS+enc.lastDur {
				enc.addAudio(p)
			}
			drained = !ok
		default:
			drained = true
		}
	}
	if err := enc.finish(); err != nil {
		return Clip{}, fmt.Errorf("clips: %s: %w", name, err)
	}
	if err := tmp.Sync(); err != nil {
		return Clip{}, fmt.Errorf("clips: %s: sync: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return Clip{}, fmt.Errorf("clips: %s: close: %w", name, err)
	}
	final = unusedName(final)
	if err := os.Rename(tmp.Name(), final); err != nil {
		return Clip{}, fmt.Errorf("clips: %s: %w", name, err)
	}
	keep = true
	c := Clip{
		Path: final, Name: filepath.Base(final), Camera: name, Reason: reason, Trigger: trigger,
		PreAlarm: triggerPTS - enc.firstPTS, Duration: enc.lastPTS - enc.firstPTS + enc.lastDur,
		Frames: enc.frames, Bytes: enc.bytes, FirstSeq: enc.firstSeq, AudioSamples: enc.audioSamples,
	}
	w.log.Info("clips: clip written", "camera", name, "reason", reason, "file", c.Name,
		"pre_alarm", c.PreAlarm, "duration", c.Duration, "bytes", c.Bytes)
	w.prune(final)
	return c, nil
}

// fileName is <camera>_<UTC time>.mp4, the camera name reduced to safe characters.
func fileName(cam string, t time.Time) string {
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, cam)
	return safe + "_" + t.UTC().Format("20060102T150405Z") + Ext
}

// unusedName adds -2, -3, ... when path exists.
func unusedName(path string) string {
	base := strings.TrimSuffix(path, Ext)
	p := path
	for i := 2; ; i++ {
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			return p
		}
		p = fmt.Sprintf("%s-%d%s", base, i, Ext)
	}
}

// File is a clip on disk.
type File struct {
	Name    string
	Size    int64
	ModTime time.Time
}

// List lists the clips in Dir, oldest first.
func (w *Writer) List() ([]File, error) {
	entries, err := os.ReadDir(w.cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("clips: list %s: %w", w.cfg.Dir, err)
	}
	var out []File
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), Ext) || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // deleted meanwhile
		}
		out = append(out, File{Name: e.Name(), Size: info.Size(), ModTime: info.ModTime()})
	}
	slices.SortFunc(out, func(a, b File) int {
		if c := a.ModTime.Compare(b.ModTime); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

// removeUnfinished deletes the temporary files of clips that a crash or a
// power cut interrupted (a clip becomes a .mp4 only once it is complete), so
// that they do not take the disk outside the quota for ever.
func (w *Writer) removeUnfinished() {
	tmps, err := filepath.Glob(filepath.Join(w.cfg.Dir, tmpPattern))
	if err != nil {
		return
	}
	for _, p := range tmps {
		info, err := os.Lstat(p)
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		if err := os.Remove(p); err != nil {
			w.log.Error("clips: remove an unfinished clip", "file", filepath.Base(p), "err", err)
			continue
		}
		w.log.Warn("clips: removed a clip left unfinished by a crash or power cut", "file", filepath.Base(p), "bytes", info.Size())
	}
}

// ErrDiskFull: the disk has no room for clips above the reserve.
var ErrDiskFull = errors.New("disk nearly full")

// room deletes the oldest clips other than keep (a clip being written: a
// temporary file, not in the list) until the file system has Reserve free; it
// says whether it has. A file system that cannot tell is taken as having room.
func (w *Writer) room(keep string) bool {
	free, err := w.cfg.Free()
	if err != nil {
		w.log.Warn("clips: free disk space unknown", "dir", w.cfg.Dir, "err", err)
		return true
	}
	if free >= w.cfg.Reserve {
		return true
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	files, err := w.List()
	if err != nil {
		w.log.Error("clips: list", "err", err)
		return false
	}
	for _, f := range files {
		if f.Name == filepath.Base(keep) {
			continue
		}
		if err := os.Remove(filepath.Join(w.cfg.Dir, f.Name)); err != nil {
			w.log.Error("clips: delete for disk space", "file", f.Name, "err", err)
			continue
		}
		w.log.Info("clips: deleted the oldest clip: the disk is nearly full", "file", f.Name, "reserve_mib", w.cfg.Reserve>>20)
		if free, err = w.cfg.Free(); err != nil || free >= w.cfg.Reserve {
			return true
		}
	}
	return false
}

// freeBytes is the space an unprivileged writer may use on dir's file system.
func freeBytes(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("clips: statfs %s: %w", dir, err)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// prune deletes the oldest clips other than keep until all fit the quota.
func (w *Writer) prune(keep string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	files, err := w.List()
	if err != nil {
		w.log.Error("clips: prune", "err", err)
		return
	}
	var total int64
	for _, f := range files {
		total += f.Size
	}
	for _, f := range files {
		if total <= w.cfg.Quota {
			return
		}
		if f.Name == filepath.Base(keep) {
			continue
		}
		if err := os.Remove(filepath.Join(w.cfg.Dir, f.Name)); err != nil {
			w.log.Error("clips: prune", "file", f.Name, "err", err)
			continue
		}
		total -= f.Size
		w.log.Info("clips: deleted the oldest clip to stay within the quota", "file", f.Name, "quota", w.cfg.Quota)
	}
	if total > w.cfg.Quota {
		w.log.Warn("clips: the newest clip alone exceeds the quota", "file", filepath.Base(keep), "quota", w.cfg.Quota)
	}
}

// encoder writes frames as fMP4: the init segment at the first keyframe, then
// one fragment per picture group. A sample's duration is known when the next
// frame arrives, so one frame waits.
type encoder struct {
	f        *os.File
	started  bool
	seq      uint32
	firstDTS time.Duration
	firstPTS time.Duration
	firstSeq uint64
	lastPTS  time.Duration
	lastDur  time.Duration
	pending  *camera.Frame
	part     []*fmp4.Sample
	partBase time.Duration // DTS of the part's first sample
	frames   int
	bytes    int64
	// audio (Opus), when the clip has it: track 2
	audio        bool
	early        []*camera.AudioPacket // before the first keyframe
	apending     *camera.AudioPacket
	apart        []*fmp4.Sample
	apartBase    time.Duration
	alastDur     time.Duration
	audioSamples int
}

const timeScale = 90000

func ticks(d time.Duration) int64 {
	return int64(d/time.Second)*timeScale + int64(d%time.Second)*timeScale/int64(time.Second)
}

func (e *encoder) add(f *camera.Frame) error {
	if !e.started {
		if !f.Key {
			return nil
		}
		var sps, pps []byte
		for _, n := range f.AU {
			switch h264.NALUType(n[0] & 0x1f) {
			case h264.NALUTypeSPS:
				sps = n
			case h264.NALUTypePPS:
				pps = n
			}
		}
		init := fmp4.Init{Tracks: []*fmp4.InitTrack{{ID: 1, TimeScale: timeScale, Codec: &mp4.CodecH264{SPS: sps, PPS: pps}}}}
		if e.audio {
			init.Tracks = append(init.Tracks, &fmp4.InitTrack{ID: 2, TimeScale: audioTimeScale, Codec: &mp4.CodecOpus{ChannelCount: 2}})
		}
		if err := e.write(init.Marshal); err != nil {
			return fmt.Errorf("init segment: %w", err)
		}
		e.started = true
		e.firstDTS, e.firstPTS, e.firstSeq = f.DTS, f.PTS, f.Seq
		early := e.early
		e.early = nil
		for _, p := range early {
			e.addAudio(p)
		}
	}
	if e.pending != nil {
		if err := e.sample(e.pending, f.DTS-e.pending.DTS); err != nil {
			return err
		}
	}
	if f.Key && len(e.part) > 0 {
		if err := e.flush(); err != nil {
			return err
		}
	}
	e.pending = f
	e.frames++
	e.lastPTS = f.PTS
	return nil
}

// sample appends f with its duration to the open fragment.
func (e *encoder) sample(f *camera.Frame, dur time.Duration) error {
	if len(e.part) == 0 {
		e.partBase = f.DTS
	}
	s := &fmp4.Sample{Duration: uint32(ticks(dur))}
	if err := s.FillH264(int32(ticks(f.PTS-f.DTS)), f.AU); err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	e.part = append(e.part, s)
	e.lastDur = dur
	return nil
}

func (e *encoder) flush() error {
	if len(e.part) == 0 {
		return nil
	}
	e.seq++
	part := fmp4.Part{SequenceNumber: e.seq, Tracks: []*fmp4.PartTrack{{
		ID: 1, BaseTime: uint64(ticks(e.partBase - e.firstDTS)), Samples: e.part,
	}}}
	if len(e.apart) > 0 {
		part.Tracks = append(part.Tracks, &fmp4.PartTrack{ID: 2, BaseTime: uint64(audioTicks(e.apartBase - e.firstDTS)), Samples: e.apart})
	}
	e.part, e.apart = nil, nil
	if err := e.write(part.Marshal); err != nil {
		return fmt.Errorf("fragment %d: %w", e.seq, err)
	}
	return nil
}

// finish writes the last frame (as long as the one before) and fragment.
func (e *encoder) finish() error {
	if e.pending != nil {
		dur := e.lastDur
		if dur <= 0 {
			dur = 40 * time.Millisecond
		}
		if err := e.sample(e.pending, dur); err != nil {
			return err
		}
		e.pending = nil
	}
	if e.apending != nil {
		e.audioSample(e.apending, e.alastDur)
		e.apending = nil
	}
	return e.flush()
}

func (e *encoder) write(marshal func(io.WriteSeeker) error) error {
	var buf seekablebuffer.Buffer
	if err := marshal(&buf); err != nil {
		return err
	}
	n, err := e.f.Write(buf.Bytes())
	e.bytes += int64(n)
	return err
}

const audioTimeScale = 48000

func audioTicks(d time.Duration) int64 {
	return int64(d/time.Second)*audioTimeScale + int64(d%time.Second)*audioTimeScale/int64(time.Second)
}

// addAudio adds one Opus packet as a sample of the audio track; packets from
// before the clip's first picture are left out. Like a frame, a packet waits
// for the next one, which gives its duration.
func (e *encoder) addAudio(p *camera.AudioPacket) {
	if !e.started {
		e.early = append(e.early, p)
		return
	}
	if p.PTS < e.firstPTS || (e.apending != nil && p.PTS <= e.apending.PTS) {
		return
	}
	if e.apending != nil {
		e.audioSample(e.apending, p.PTS-e.apending.PTS)
	}
	e.apending = p
}

func (e *encoder) audioSample(p *camera.AudioPacket, dur time.Duration) {
	if dur <= 0 {
		dur = 20 * time.Millisecond
	}
	if len(e.apart) == 0 {
		e.apartBase = p.PTS
	}
	e.apart = append(e.apart, &fmp4.Sample{Duration: uint32(audioTicks(dur)), Payload: p.RTP.Payload})
	e.alastDur = dur
	e.audioSamples++
}
