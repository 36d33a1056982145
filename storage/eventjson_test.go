package storage

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"vakt/hub"
)

// appendEvent writes exactly what json.Marshal writes, for every field set or not.
func TestAppendEventMatchesMarshal(t *testing.T) {
	at := time.Date(2026, 11, 30, 13, 0, 0, 123456789, time.UTC)
	cases := []hub.Event{
		{},
		{Seq: 1, Time: at, Type: hub.EvZoneOpen, Class: hub.ClassRoutine, Zone: "pir17", State: hub.ArmedNight,
			Who: hub.Actor{Device: "pir17", Via: hub.ViaSensor}},
		{Seq: 1<<64 - 1, Time: at.In(time.FixedZone("CET", 3600)), Type: hub.EvAlarm, Class: hub.ClassAlarm, Mode: hub.ModeAway,
			Who:    hub.Actor{UserID: "alice", UserName: "Alice <Å>", UserNum: 7, Device: "kp\"1\\", Via: hub.ViaKeypad},
			Detail: "line\nbreak & tab\t", Silent: true},
		{Time: at, Who: hub.Actor{UserNum: -3}},
		{Time: at, Detail: "bad utf-8 \xff here", Zone: "\u2028"},
		{Time: at, Reasons: []hub.Reason{{Zone: "door", Reason: "open"}}, Zones: []string{"a", "b"}},
		{Time: at, Type: hub.EvClip, Zone: "door", Clip: &hub.ClipRef{Camera: "porch", File: "porch_x.mp4", Alarm: 7, Start: at, End: at.Add(time.Second), Bytes: 9}},
		{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Time: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)},
	}
	for i, e := range cases {
		want, wantErr := json.Marshal(&e)
		got, err := appendEvent([]byte("prefix"), &e)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("case %d: error %v, json.Marshal's %v", i, err, wantErr)
		}
		if err == nil && string(got) != "prefix"+string(want) {
			t.Errorf("case %d:\n got %s\nwant prefix%s", i, got, want)
		}
	}
}

func FuzzAppendEvent(f *testing.F) {
	f.Add(uint64(5), int64(1700000000), 17, "zone_open", "routine", "pir", "night", "u", "Name", 3, "dev", "sensor", "detail", false)
	f.Fuzz(func(t *testing.T, seq uint64, sec int64, nsec int, typ, class, zone, mode, uid, uname string, unum int, dev, via, detail string, silent bool) {
		e := hub.Event{Seq: seq, Time: time.Unix(sec, int64(nsec)).UTC(), Type: hub.EventType(typ), Class: hub.EventClass(class),
			Zone: zone, Mode: hub.Mode(mode), State: hub.StateName(mode), Detail: detail, Silent: silent,
			Who: hub.Actor{UserID: uid, UserName: uname, UserNum: unum, Device: dev, Via: hub.Via(via)}}
		want, wantErr := json.Marshal(&e)
		got, err := appendEvent(nil, &e)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("error %v, json.Marshal's %v", err, wantErr)
		}
		if err == nil && string(got) != string(want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}

// A batch whose events overflow the commit's buffer many times over, some larger
// than a whole buffer, reads back event for event, with the time and class
// indexes agreeing.
func TestCommitLargeBatchReadsBack(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "vakt.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var b hub.Batch
	for i := range 3000 {
		e := ev(t0.Add(time.Duration(i)*time.Millisecond), hub.EvZoneOpen, hub.ClassRoutine)
		e.Seq = uint64(i + 1)
		e.Zone = fmt.Sprintf("zone%d", i%7)
		e.Detail = strings.Repeat("d", (i*37)%900)
		if i%500 == 0 {
			e.Detail = strings.Repeat("x", 100<<10) // bigger than the buffer
			e.Type, e.Class = hub.EvAlarm, hub.ClassAlarm
		}
		b.Events = append(b.Events, e)
	}
	if _, _, err := s.Commit(b); err != nil {
		t.Fatal(err)
	}
	var got []hub.Event
	for after := uint64(0); ; {
		page, _, err := s.Events(EventQuery{After: after, Ascending: true, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		got = append(got, page...)
		after = page[len(page)-1].Seq
	}
	if len(got) != len(b.Events) {
		t.Fatalf("%d events read back, want %d", len(got), len(b.Events))
	}
	for i := range got {
		want, _ := json.Marshal(b.Events[i])
		have, _ := json.Marshal(got[i])
		if string(have) != string(want) {
			t.Fatalf("event %d differs:\n got %.200s\nwant %.200s", i, have, want)
		}
	}
	alarms, _, err := s.Events(EventQuery{Class: hub.ClassAlarm, Ascending: true})
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, e := range alarms {
		seqs = append(seqs, e.Seq)
	}
	if want := []uint64{1, 501, 1001, 1501, 2001, 2501}; !slices.Equal(seqs, want) {
		t.Errorf("alarm class index: %v, want %v", seqs, want)
	}
	late, _, err := s.Events(EventQuery{Since: t0.Add(2999 * time.Millisecond), Ascending: true})
	if err != nil || len(late) != 1 || late[0].Seq != 3000 {
		t.Errorf("time index: %+v, %v", late, err)
	}
}
