package hub

import (
	"fmt"
	"time"
)

// EvClip records an alarm clip written to disk: which camera, which file, the
// alarm it belongs to.
const EvClip EventType = "clip"

// ClipRef names an alarm clip: the camera, the file (a base name in the clips
// directory) and the alarm it shows.
type ClipRef struct {
	Camera string `json:"camera"`
	File   string `json:"file"`
	// Alarm is the journal number of the alarm event that made the clip; 0 when
	// not known (an alarm resumed at a restart).
	Alarm uint64 `json:"alarm,omitempty"`
	// Start and End are the first and last moments of video in the clip.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Bytes int64     `json:"bytes"`
}

// ClipSaved records that an alarm clip was written: an event of type clip, in
// the alarm class (kept as long as the alarm it shows), linked to the alarm by
// its zone, its time and, when known, the alarm event's number. Nothing else
// changes.
type ClipSaved struct {
	Camera string
	Zone   string // the alarm's zone
	Alarm  uint64 // the alarm event's journal number; 0 when not known
	File   string
	Start  time.Time
	End    time.Time
	Bytes  int64
}

func (ClipSaved) input() {}

func (s *step) clipSaved(c ClipSaved) {
	s.record(Event{Type: EvClip, Class: ClassAlarm, Zone: c.Zone, Who: Actor{Device: c.Camera, Via: ViaSystem},
		Detail: fmt.Sprintf("camera %s: %s", c.Camera, c.File),
		Clip:   &ClipRef{Camera: c.Camera, File: c.File, Alarm: c.Alarm, Start: c.Start.UTC(), End: c.End.UTC(), Bytes: c.Bytes}})
}
