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

// subscriptions hands out its channels in turn as a hub's subscriptions; the
// test closes one to play the hub dropping a slow follower.
type subscriptions struct{ chans []chan hub.Update }

func (s *subscriptions) subscribe(int) (<-chan hub.Update, func()) {
	ch := s.chans[0]
	s.chans = s.chans[1:]
	return ch, func() {}
}

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
	hook := newHook(t)
	// notified follows subs (as the hub's updates; the last stays open) and checks
	// what the target was sent, in order. The last notification wanted comes last:
	// a duplicate would come before it.
	notified := func(subs []chan hub.Update, feed func(), want ...string) {
		t.Helper()
		ns := newNotifySide(notify.Config{Targets: []notify.Target{{Name: "hook", URL: hook.srv.URL + "/n", Events: []string{"alarm"}}}},
			nil, time.UTC, slog.New(slog.DiscardHandler))
		s := &subscriptions{chans: subs}
		ns.follow(s.subscribe, store)
		feed()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 2)
		go func() { ns.run(ctx); done <- nil }()
		go func() { done <- ns.senders[0].Run(ctx) }()
		defer func() { cancel(); <-done; <-done }()
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
	update := func(seqs ...uint64) hub.Update {
		var u hub.Update
		for _, s := range seqs {
			u.Events = append(u.Events, alarm(s))
		}
		return u
	}

	commit(1, 2) // before this start
	first, second := make(chan hub.Update, 4), make(chan hub.Update, 4)
	notified([]chan hub.Update{first, second}, func() {
		commit(3, 4, 5, 6)
		first <- update(3, 4)
		close(first) // 5 and 6 were in updates the hub dropped
		second <- update(6, 7)
		second <- update(8)
	}, "z3", "z4", "z5", "z6", "z7", "z8")

	// Dropped before its first update: from the journal's newest at its start.
	dropped, after := make(chan hub.Update, 4), make(chan hub.Update, 4)
	notified([]chan hub.Update{dropped, after}, func() {
		commit(9)
		close(dropped)
		after <- update(10)
	}, "z9", "z10")
}
