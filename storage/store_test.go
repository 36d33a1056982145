package storage

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"vakt/hub"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func openTest(t testing.TB, path string) *Store {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "vakt.db")
	}
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func ev(at time.Time, typ hub.EventType, class hub.EventClass) hub.Event {
	return hub.Event{Time: at, Type: typ, Class: class, Who: hub.Actor{Via: hub.ViaSystem}}
}

func commit(t testing.TB, s *Store, b hub.Batch) ([]hub.Event, []hub.Report) {
	t.Helper()
	evs, reps, err := s.Commit(b)
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return evs, reps
}

func seqs(evs []hub.Event) []uint64 {
	out := []uint64{}
	for _, e := range evs {
		out = append(out, e.Seq)
	}
	return out
}

func TestCommitAssignsSeqsAndLinksReports(t *testing.T) {
	s := openTest(t, "")
	b := hub.Batch{
		Events: []hub.Event{ev(t0, "armed", hub.ClassArming), ev(t0, "open", hub.ClassRoutine), ev(t0, "alarm", hub.ClassAlarm)},
		Reports: []hub.Report{
			{Event: 2, Code: 130, Qualifier: hub.QualNew, Zone: 3, Alarm: true, Time: t0},
			{Event: 0, Code: 401, Qualifier: hub.QualRestore, Time: t0},
		},
		State: hub.State{Name: hub.Triggered, Mode: hub.ModeAway},
	}
	orig := hub.Batch{Events: append([]hub.Event(nil), b.Events...), Reports: append([]hub.Report(nil), b.Reports...), State: b.State}
	evs, reps := commit(t, s, b)
	if got := seqs(evs); !reflect.DeepEqual(got, []uint64{1, 2, 3}) {
		t.Errorf("event seqs = %v, want [1 2 3]", got)
	}
	if reps[0].Seq != 1 || reps[0].Event != 3 || reps[1].Seq != 2 || reps[1].Event != 1 {
		t.Errorf("reports = %+v, want seq 1→event 3, seq 2→event 1", reps)
	}
	if !reflect.DeepEqual(b, orig) {
		t.Errorf("Commit modified its input")
	}

	// The next batch continues both sequences.
	evs, reps = commit(t, s, hub.Batch{Events: []hub.Event{ev(t0, "x", "")}, Reports: []hub.Report{{Event: 0}}})
	if evs[0].Seq != 4 || reps[0].Seq != 3 || reps[0].Event != 4 {
		t.Errorf("second batch: event %d, report %+v; want event 4, report 3→4", evs[0].Seq, reps[0])
	}
	// The stored values match what Commit returned.
	out, err := s.Outbox(0)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 3 || out[0].Event != 3 || out[0].Code != 130 || out[2].Event != 4 {
		t.Errorf("outbox = %+v", out)
	}
	stored, _, err := s.Events(EventQuery{Ascending: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 4 || stored[2].Type != "alarm" || stored[2].Seq != 3 {
		t.Errorf("stored events = %+v", stored)
	}
}

func TestCommitBadReportIndexStoresNothing(t *testing.T) {
	s := openTest(t, "")
	commit(t, s, hub.Batch{Events: []hub.Event{ev(t0, "a", "")}, State: hub.State{Name: hub.Disarmed}})
	_, _, err := s.Commit(hub.Batch{
		Events:  []hub.Event{ev(t0, "b", "")},
		Reports: []hub.Report{{Event: 1}},
		State:   hub.State{Name: hub.Triggered},
	})
	if err == nil || !strings.HasPrefix(err.Error(), "storage: commit:") {
		t.Fatalf("err = %v, want a storage: commit error", err)
	}
	if seq, _ := s.LastEventSeq(); seq != 1 {
		t.Errorf("LastEventSeq = %d, want 1", seq)
	}
	if st, _, _ := s.LoadState(); st.Name != hub.Disarmed {
		t.Errorf("state = %q, want disarmed", st.Name)
	}
	if n, _ := s.OutboxLen(); n != 0 {
		t.Errorf("OutboxLen = %d", n)
	}
}

func fullState() hub.State {
	admin := hub.Actor{UserID: "u1", UserName: "Anna", UserNum: 1, Device: "kp1", Via: hub.ViaKeypad}
	return hub.State{
		Name:          hub.Pending,
		Mode:          hub.ModeNight,
		Prev:          hub.ArmedNight,
		ExitDeadline:  t0.Add(30 * time.Second),
		EntryDeadline: t0.Add(45*time.Second + 123456789),
		EntryZone:     "front",
		AlarmStart:    t0.Add(time.Minute),
		SirenUntil:    t0.Add(4 * time.Minute),
		Sounding:      []hub.OutputKind{hub.OutputSiren, hub.OutputStrobe},
		AlarmZone:     "hall",
		ArmedBy:       admin,
		Zones: map[string]hub.ZoneState{
			"front": {Open: true, Alarms: 2, Latched: true},
			"hall":  {Tamper: true, Bypassed: true, Forced: true},
			"attic": {Offline: true, LowBattery: true, Isolated: true},
		},
		Lockout:     hub.Lockout{Failures: 3, WindowStart: t0, Until: t0.Add(90 * time.Second)},
		WalkTest:    &hub.WalkTest{By: admin, Until: t0.Add(15 * time.Minute), Seen: map[string]bool{"front": true}},
		Maintenance: &hub.Maintenance{By: admin, Until: t0.Add(8 * time.Hour)},
		Faults:      map[hub.FaultID]bool{{Kind: hub.FaultUplinkPath, Subject: "primary"}: true, {Kind: hub.FaultStorage}: true},
	}
}

func TestStateRoundTrip(t *testing.T) {
	stockholm := time.FixedZone("CET", 3600)
	tests := []struct {
		name  string
		state hub.State
	}{
		{"empty", hub.State{Name: hub.Disarmed}},
		{"full", fullState()},
		{"local time", hub.State{Name: hub.Pending, EntryDeadline: time.Date(2025, 7, 1, 9, 0, 0, 5, stockholm)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTest(t, "")
			if _, ok, err := s.LoadState(); ok || err != nil {
				t.Fatalf("LoadState on a new store: ok=%v err=%v", ok, err)
			}
			commit(t, s, hub.Batch{State: tt.state})
			got, ok, err := s.LoadState()
			if err != nil || !ok {
				t.Fatalf("LoadState: ok=%v err=%v", ok, err)
			}
			if !got.EntryDeadline.Equal(tt.state.EntryDeadline) {
				t.Errorf("EntryDeadline = %v, want %v", got.EntryDeadline, tt.state.EntryDeadline)
			}
			got.EntryDeadline, tt.state.EntryDeadline = time.Time{}, time.Time{}
			if !reflect.DeepEqual(got, tt.state) {
				t.Errorf("state round trip:\n got %+v\nwant %+v", got, tt.state)
			}
		})
	}
}

func TestConfigRoundTrip(t *testing.T) {
	s := openTest(t, "")
	if _, b, ok, err := s.LoadConfig(); ok || err != nil || b != nil {
		t.Fatalf("LoadConfig on a new store: bindings=%s ok=%v err=%v", b, ok, err)
	}
	cfg := testConfig()
	if err := s.SaveConfig(cfg, json.RawMessage(testBindings)); err != nil {
		t.Fatal(err)
	}
	got, b, ok, err := s.LoadConfig()
	if err != nil || !ok || !reflect.DeepEqual(got, cfg) || string(b) != testBindings {
		t.Fatalf("LoadConfig = %+v, %s, %v, %v; want %+v", got, b, ok, err, cfg)
	}
	// Without bindings, none are kept; bindings that are not JSON change nothing.
	if err := s.SaveConfig(cfg, nil); err != nil {
		t.Fatal(err)
	}
	if _, b, _, err := s.LoadConfig(); b != nil || err != nil {
		t.Errorf("bindings after saving none: %s %v", b, err)
	}
	if err := s.SaveConfig(hub.Config{}, json.RawMessage("{")); err == nil || err.Error() != "storage: save config: the bindings are not JSON" {
		t.Errorf("SaveConfig with damaged bindings: %v", err)
	}
	if got, _, _, _ := s.LoadConfig(); !reflect.DeepEqual(got, cfg) {
		t.Errorf("a refused SaveConfig changed the config: %+v", got)
	}
}

// testBindings are bindings as an adapter writes them: opaque to the store.
const testBindings = `{"mqtt":{"zones":{"front":{"topic":"zigbee2mqtt/front"}}}}`

func testConfig() hub.Config {
	return hub.Config{
		Settings: hub.DefaultSettings(),
		Zones:    []hub.Zone{{ID: "front", Name: "Front door", Number: 1, Type: hub.ZoneEntryExit}},
		Users: []hub.User{{ID: "u1", Name: "Anna", Number: 1, Role: hub.RoleAdmin, PINHash: "$argon2id$x",
			Schedule: []hub.Window{{Days: []time.Weekday{time.Monday}, From: "08:00", To: "17:00"}}, Expires: t0}},
		Outputs: []hub.Output{{ID: "siren", Name: "Siren", Kind: hub.OutputSiren}},
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vakt.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	st := fullState()
	if err := s.SaveConfig(cfg, json.RawMessage(testBindings)); err != nil {
		t.Fatal(err)
	}
	commit(t, s, hub.Batch{
		Events:  []hub.Event{ev(t0, "armed", hub.ClassArming), ev(t0.Add(time.Second), "alarm", hub.ClassAlarm)},
		Reports: []hub.Report{{Event: 1, Code: 130, Time: t0}},
		State:   st,
	})
	if err := s.PutRetained("vakt/state", []byte("armed_away")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	s = openTest(t, path)
	if s.Path() != path {
		t.Errorf("Path = %q", s.Path())
	}
	if got, b, ok, err := s.LoadConfig(); err != nil || !ok || !reflect.DeepEqual(got, cfg) || string(b) != testBindings {
		t.Errorf("config after reopen: %s %v %v", b, ok, err)
	}
	if got, ok, err := s.LoadState(); err != nil || !ok || !reflect.DeepEqual(got, st) {
		t.Errorf("state after reopen: %v %v\n got %+v", ok, err, got)
	}
	evs, _, err := s.Events(EventQuery{})
	if err != nil || !reflect.DeepEqual(seqs(evs), []uint64{2, 1}) || evs[0].Type != "alarm" {
		t.Errorf("events after reopen: %+v %v", evs, err)
	}
	out, err := s.Outbox(10)
	if err != nil || len(out) != 1 || out[0].Seq != 1 || out[0].Event != 2 || !out[0].Time.Equal(t0) {
		t.Errorf("outbox after reopen: %+v %v", out, err)
	}
	ret, err := s.ListRetained()
	if err != nil || !reflect.DeepEqual(ret, map[string][]byte{"vakt/state": []byte("armed_away")}) {
		t.Errorf("retained after reopen: %q %v", ret, err)
	}
}

func TestSeqsNeverReused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vakt.db")
	s := openTest(t, path)
	for i := range 10 {
		commit(t, s, hub.Batch{Events: []hub.Event{ev(t0.Add(time.Duration(i)*time.Second), "x", hub.ClassAlarm)},
			Reports: []hub.Report{{Event: 0}}})
	}
	n, err := s.Prune(t0.Add(time.Hour), Retention{MaxAge: time.Minute, KeepMandatory: -1})
	if err != nil || n != 10 {
		t.Fatalf("Prune = %d, %v; want 10", n, err)
	}
	out, _ := s.Outbox(0)
	for _, r := range out {
		if err := s.AckReport(r.Seq); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTest(t, path)
	if seq, err := s.LastEventSeq(); seq != 10 || err != nil {
		t.Errorf("LastEventSeq after prune and reopen = %d, %v; want 10", seq, err)
	}
	evs, reps := commit(t, s, hub.Batch{Events: []hub.Event{ev(t0, "y", "")}, Reports: []hub.Report{{Event: 0}}})
	if evs[0].Seq != 11 || reps[0].Seq != 11 || reps[0].Event != 11 {
		t.Errorf("after prune and reopen: event %d, report %+v; want 11, 11→11", evs[0].Seq, reps[0])
	}
}

func TestOutbox(t *testing.T) {
	s := openTest(t, "")
	for i := range 5 {
		commit(t, s, hub.Batch{Events: []hub.Event{ev(t0, "x", "")}, Reports: []hub.Report{{Event: 0, Code: hub.Code(100 + i)}}})
	}
	tests := []struct {
		name  string
		ack   []uint64
		limit int
		want  []int // codes, oldest first
		len   int
	}{
		{"all", nil, 0, []int{100, 101, 102, 103, 104}, 5},
		{"limit", nil, 2, []int{100, 101}, 5},
		{"ack oldest", []uint64{1}, 2, []int{101, 102}, 4},
		{"ack middle and unknown", []uint64{3, 3, 99}, 0, []int{101, 103, 104}, 3},
		{"ack the rest", []uint64{2, 4, 5}, 0, nil, 0},
	}
	for _, tt := range tests {
		for _, seq := range tt.ack {
			if err := s.AckReport(seq); err != nil {
				t.Fatalf("%s: AckReport(%d): %v", tt.name, seq, err)
			}
		}
		got, err := s.Outbox(tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		var codes []int
		for i, r := range got {
			codes = append(codes, int(r.Code))
			if i > 0 && r.Seq <= got[i-1].Seq {
				t.Errorf("%s: outbox not oldest first: %+v", tt.name, got)
			}
		}
		if !reflect.DeepEqual(codes, tt.want) {
			t.Errorf("%s: codes = %v, want %v", tt.name, codes, tt.want)
		}
		if n, err := s.OutboxLen(); n != tt.len || err != nil {
			t.Errorf("%s: OutboxLen = %d, %v; want %d", tt.name, n, err, tt.len)
		}
	}
}

func TestRetained(t *testing.T) {
	s := openTest(t, "")
	msg := []byte("on")
	if err := s.PutRetained("a/b", msg); err != nil {
		t.Fatal(err)
	}
	msg[0] = 'X' // the store keeps its own copy
	if err := s.PutRetained("a/c", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRetained("a/c", []byte("2")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRetained("", []byte("x")); err == nil {
		t.Error("PutRetained with an empty topic: no error")
	}
	if err := s.DeleteRetained("a/none"); err != nil {
		t.Errorf("DeleteRetained of an unknown topic: %v", err)
	}
	got, err := s.ListRetained()
	if err != nil || !reflect.DeepEqual(got, map[string][]byte{"a/b": []byte("on"), "a/c": []byte("2")}) {
		t.Fatalf("ListRetained = %q, %v", got, err)
	}
	if err := s.DeleteRetained("a/b"); err != nil {
		t.Fatal(err)
	}
	got, _ = s.ListRetained()
	if len(got) != 1 || string(got["a/c"]) != "2" {
		t.Errorf("after delete: %q", got)
	}
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vakt.db")
	openTest(t, path)
	s, err := Open(path, Options{Timeout: 50 * time.Millisecond})
	if err == nil {
		_ = s.Close()
		t.Fatal("second Open succeeded")
	}
	if !errors.Is(err, ErrLocked) || !errors.Is(err, berrors.ErrTimeout) {
		t.Errorf("err = %v; want ErrLocked and bbolt's ErrTimeout", err)
	}
	want := "storage: open " + path + ": database is locked by another process"
	if err.Error() != want {
		t.Errorf("message = %q, want %q", err.Error(), want)
	}
}

func TestOpenRefusesForeignFiles(t *testing.T) {
	random := make([]byte, 64<<10)
	_, _ = rand.Read(random)
	foreign := func(t *testing.T, path string) {
		db, err := bolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucket([]byte("retained"))
			if err != nil {
				return err
			}
			if err := b.Put([]byte("k"), []byte("v")); err != nil {
				return err
			}
			_, err = tx.CreateBucket([]byte("somebody-else"))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		_ = db.Close()
	}
	newer := func(t *testing.T, path string) {
		s := openTest(t, path)
		err := s.db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(keySchema, []byte("99"))
		})
		if err != nil {
			t.Fatal(err)
		}
		_ = s.Close()
	}
	tests := []struct {
		name    string
		prepare func(t *testing.T, path string)
		msg     string
	}{
		{"text", func(t *testing.T, path string) { write(t, path, []byte("hello, I am not a database\n")) }, "not a valid database file"},
		{"random", func(t *testing.T, path string) { write(t, path, random) }, "not a valid database file"},
		{"zeros", func(t *testing.T, path string) { write(t, path, make([]byte, 16<<10)) }, "not a valid database file"},
		{"another program's bbolt file", foreign, "another program"},
		{"newer schema", newer, "newer than this program"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "vakt.db")
			tt.prepare(t, path)
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			s, err := Open(path, Options{})
			if err == nil {
				_ = s.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, ErrNotDatabase) || !strings.Contains(err.Error(), tt.msg) ||
				!strings.HasPrefix(err.Error(), "storage: open "+path+": ") {
				t.Errorf("err = %v; want ErrNotDatabase saying %q", err, tt.msg)
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, after) {
				t.Error("the file was changed")
			}
		})
	}
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestDamagedRecords(t *testing.T) {
	s := openTest(t, "")
	for i := range 5 {
		commit(t, s, hub.Batch{Events: []hub.Event{ev(t0.Add(time.Duration(i)*time.Second), "x", "")},
			Reports: []hub.Report{{Event: 0, Code: hub.Code(i)}}})
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketEvents).Put(seqKey(3), []byte(`{"seq":3,"time":"not a time"`)); err != nil {
			return err
		}
		return tx.Bucket(bucketOutbox).Put(seqKey(2), []byte{0xff, 0x00})
	})
	if err != nil {
		t.Fatal(err)
	}
	evs, next, err := s.Events(EventQuery{})
	if err != nil || next != 0 || !reflect.DeepEqual(seqs(evs), []uint64{5, 4, 2, 1}) {
		t.Errorf("Events = %v, %d, %v; want [5 4 2 1]", seqs(evs), next, err)
	}
	out, err := s.Outbox(0)
	if err != nil || len(out) != 4 || out[1].Seq != 3 {
		t.Errorf("Outbox = %+v, %v", out, err)
	}
	if n, keys := s.Damaged(); n != 2 || !reflect.DeepEqual(keys, []string{"events/3", "outbox/2"}) {
		t.Errorf("Damaged = %d %q", n, keys)
	}
	// Reading again does not count the same record twice.
	_, _, _ = s.Events(EventQuery{})
	if n, _ := s.Damaged(); n != 2 {
		t.Errorf("Damaged after a second read = %d", n)
	}
	// Pruning works from the indexes and removes the damaged event too.
	if n, err := s.Prune(t0, Retention{MaxEvents: 1, KeepMandatory: -1}); n != 4 || err != nil {
		t.Errorf("Prune = %d, %v; want 4", n, err)
	}

	err = s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketState).Put(keyState, []byte("{")); err != nil {
			return err
		}
		return tx.Bucket(bucketConfig).Put(keyConfig, []byte(`{"zones":7}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.LoadState(); err == nil || ok {
		t.Errorf("LoadState of a damaged state: ok=%v err=%v", ok, err)
	}
	if _, _, ok, err := s.LoadConfig(); err == nil || ok {
		t.Errorf("LoadConfig of a damaged config: ok=%v err=%v", ok, err)
	}
}

func TestClosedStore(t *testing.T) {
	s := openTest(t, "")
	_ = s.Close()
	if _, _, err := s.Commit(hub.Batch{}); err == nil || !strings.HasPrefix(err.Error(), "storage: commit: ") {
		t.Errorf("Commit on a closed store: %v", err)
	}
	if _, _, err := s.Events(EventQuery{}); err == nil {
		t.Error("Events on a closed store: no error")
	}
}
