package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"vakt/hub"
	"vakt/storage"
)

// TestClipTriggerResubscribes holds the alarm-clip trigger in its first clip
// while the hub commits more updates than it has room for, one of them an alarm:
// the hub drops it. Once free, it subscribes again and reads that alarm from the
// journal, and a later alarm still starts a clip: one clip per alarm, in order.
func TestClipTriggerResubscribes(t *testing.T) {
	s, err := storage.Open(filepath.Join(t.TempDir(), "vakt.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cfg := hub.Config{Settings: hub.DefaultSettings(), Zones: []hub.Zone{
		{ID: "smoke", Name: "Smoke", Number: 1, Type: hub.ZoneFire},
		{ID: "hall", Name: "Hall", Number: 2, Type: hub.ZoneFire},
		{ID: "window", Name: "Window", Number: 3, Type: hub.ZonePerimeter},
		{ID: "attic", Name: "Attic", Number: 4, Type: hub.ZoneFire}}}
	lines := &matchWriter{re: regexp.MustCompile(`msg="(hub: subscriber too slow, dropped|video: [^"]*)"`), ch: make(chan []string, 16)}
	log := slog.New(slog.NewTextHandler(lines, nil))
	h := hub.New(hub.Options{Config: cfg, Journal: s, Outputs: &stampOutputs{}, Log: log})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hubDone := make(chan struct{})
	go func() { _ = h.Run(ctx); close(hubDone) }()
	defer func() { cancel(); <-hubDone }()

	clips := make(chan string) // unbuffered: the trigger waits in its clip until the test takes it
	trigger, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		f := hub.NewFollow(h.Subscribe, 1)
		f.ReadBack(0, storage.ReadBackFunc(s, []hub.EventType{hub.EvAlarm}, clipCatchUp))
		onAlarms(trigger, f, log, func(zone string, alarm uint64) {
			clips <- fmt.Sprintf("%s %d", zone, alarm)
		})
	}()
	input := func(zone string, sig hub.Signal) {
		t.Helper()
		if err := h.Input(ctx, hub.Sensor{Zone: zone, Signal: sig}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	take := func() {
		t.Helper()
		select {
		case c := <-clips:
			got = append(got, c)
		case <-time.After(10 * time.Second):
			t.Fatal("no clip started")
		}
	}
	// The alarm's update is taken (the trigger waits in its clip) or waits in
	// the one place of room; either way the second update after it, the hall's
	// alarm, has no room.
	input("smoke", hub.SigOpen)
	input("window", hub.SigOpen)
	input("hall", hub.SigOpen)
	take()
	take() // the hall's alarm, read from the journal
	var logged []string
	for len(logged) < 2 {
		select {
		case m := <-lines.ch:
			logged = append(logged, m[1])
		case <-time.After(10 * time.Second):
			t.Fatalf("log lines %q, want the drop and the trigger subscribing again", logged)
		}
	}
	input("attic", hub.SigOpen)
	take()
	stop()
	<-done

	alarms, _, err := s.Events(storage.EventQuery{Types: []hub.EventType{hub.EvAlarm}, Ascending: true})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range alarms {
		want = append(want, fmt.Sprintf("%s %d", e.Zone, e.Seq))
	}
	if len(want) != 3 || !slices.Equal(got, want) {
		t.Errorf("clips started for %q, want one for each of the alarms %q", got, want)
	}
	if w := []string{"hub: subscriber too slow, dropped",
		"video: fell behind the hub's updates; subscribing again, the alarms in between read from the journal"}; !slices.Equal(logged, w) {
		t.Errorf("log lines %q, want %q", logged, w)
	}
	select {
	case m := <-lines.ch:
		t.Errorf("another log line: %q", m[0])
	default:
	}
}
