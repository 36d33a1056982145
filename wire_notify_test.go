package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"vakt/hub"
	"vakt/storage"
	"vakt/ui/notify"
)

// Notifications that fell behind the hub's updates read what they missed from
// the journal: each event of this start notified once, in order; none from
// before the start.
func TestNotifyCatchUpFromTheJournal(t *testing.T) {
	store, err := storage.Open(filepath.Join(t.TempDir(), "vakt.db"), storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	alarm := func(seq uint64) hub.Event {
		return hub.Event{Seq: seq, Time: time.Date(2026, 12, 1, 10, 0, int(seq), 0, time.UTC), Type: hub.EvAlarm,
			Class: hub.ClassAlarm, Zone: "z" + strconv.FormatUint(seq, 10)}
	}
	commit := func(seqs ...uint64) {
		t.Helper()
		var b hub.Batch
		for _, s := range seqs {
			b.Events = append(b.Events, alarm(s))
		}
		if _, _, err := store.Commit(b); err != nil {
			t.Fatal(err)
		}
	}
	commit(1, 2) // before this start
	hook := newHook(t)
	ns := newNotifySide(notify.Config{Targets: []notify.Target{{Name: "hook", URL: hook.srv.URL + "/n", Events: []string{"alarm"}}}},
		nil, time.UTC, slog.New(slog.DiscardHandler))
	h := hub.New(hub.Options{Config: hub.Config{Settings: hub.DefaultSettings()}, Journal: store})
	ns.subscribe(h, store)

	commit(3, 4, 5, 6)
	ns.feed(hub.Update{Events: []hub.Event{alarm(3), alarm(4)}})
	ns.catchUp(nil) // 5 and 6 were in updates the hub dropped
	ns.feed(hub.Update{Events: []hub.Event{alarm(6), alarm(7)}})
	ns.catchUp(nil) // nothing new in the journal
	// The last: a duplicate queued by the above would come before it.
	ns.feed(hub.Update{Events: []hub.Event{alarm(8)}})

	notified := func(ns *notifySide, want ...string) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- ns.senders[0].Run(ctx) }()
		defer func() { cancel(); <-done }()
		var zones []string
		for _, line := range hook.next(t, len(want)) {
			var n struct{ Zone string }
			if err := json.Unmarshal([]byte(line[strings.LastIndex(line, " | ")+3:]), &n); err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			zones = append(zones, n.Zone)
		}
		if !slices.Equal(zones, want) {
			t.Errorf("notified %v, want %v", zones, want)
		}
	}
	notified(ns, "z3", "z4", "z5", "z6", "z7", "z8")

	// Dropped before its first update: from the journal's newest at its start.
	ns2 := newNotifySide(notify.Config{Targets: []notify.Target{{Name: "hook", URL: hook.srv.URL + "/n", Events: []string{"alarm"}}}},
		nil, time.UTC, slog.New(slog.DiscardHandler))
	ns2.subscribe(h, store)
	commit(9)
	ns2.catchUp(nil)
	ns2.feed(hub.Update{Events: []hub.Event{alarm(10)}})
	notified(ns2, "z9", "z10")
}
