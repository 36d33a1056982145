package hub

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// describe names an update by its events, "type zone" each, and its state.
func describe(u Update) string {
	var s []string
	for _, e := range u.Events {
		s = append(s, string(e.Type)+" "+e.Zone)
	}
	return strings.Join(s, ", ") + " / " + string(u.Snapshot.State.Name)
}

// TestFollowResubscribes follows a real hub with room for one update and a
// consumer the test holds in its handler: every update reaches it in order until
// the hub drops it, lost is called once per drop, and the updates after the
// new subscription reach it again. At the end the hub has no subscriber left.
func TestFollowResubscribes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, stop := start(t, hubConfig(t), nil, &memJournal{}, &memOutputs{})
		defer stop()
		synctest.Wait() // the restart's update is out
		ctx, cancel := context.WithCancel(context.Background())
		got := make(chan string) // unbuffered: the consumer waits in fn until the test reads
		f := NewFollow(h.Subscribe, 1)
		done := make(chan struct{})
		go func() {
			defer close(done)
			f.Run(ctx, func(u Update) { got <- describe(u) }, func() { got <- "lost" })
		}()
		var seen []string
		read := func(n int) {
			for range n {
				seen = append(seen, <-got)
			}
		}
		input := func(s Signal) {
			t.Helper()
			if err := h.Input(context.Background(), Sensor{Zone: "window", Signal: s}); err != nil {
				t.Fatal(err)
			}
			synctest.Wait() // the consumer has taken what it can
		}
		for range 2 {
			input(SigOpen)  // taken: the consumer waits in fn with it
			input(SigClose) // the one update of room
			input(SigOpen)  // no room: dropped
			read(3)
			input(SigClose) // on the new subscription
			read(1)
		}
		cancel()
		<-done
		want := []string{
			"zone_open window / disarmed", "zone_closed window / disarmed", "lost", "zone_closed window / disarmed",
			"zone_open window / disarmed", "zone_closed window / disarmed", "lost", "zone_closed window / disarmed",
		}
		if !slices.Equal(seen, want) {
			t.Errorf("consumer saw\n%q\nwant\n%q", seen, want)
		}
		h.subMu.Lock()
		subs := len(h.subs)
		h.subMu.Unlock()
		if subs != 0 {
			t.Errorf("%d subscribers left after Run ended", subs)
		}
	})
}

// TestFollowBeforeRun: a Follow made before the hub runs sees the restart's
// update (here an alarm resumed from the stored state).
func TestFollowBeforeRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := hubConfig(t)
		st := State{Name: Triggered, Mode: ModeAway, AlarmZone: "window"}
		h := New(Options{Config: cfg, State: &st, Journal: &memJournal{}, Outputs: &memOutputs{}, Location: time.UTC})
		f := NewFollow(h.Subscribe, 16)
		defer f.Stop()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = h.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()
		u := <-f.C()
		if got, want := describe(u), "restart  / triggered"; got != want {
			t.Errorf("first update %q, want %q", got, want)
		}
	})
}

// fakeSubscriptions records what a Follow does with its subscriptions.
type fakeSubscriptions struct {
	log  []string
	subs []chan Update
}

func (s *fakeSubscriptions) subscribe(buf int) (<-chan Update, func()) {
	n := len(s.subs) + 1
	s.log = append(s.log, fmt.Sprintf("subscribe %d (%d)", n, buf))
	ch := make(chan Update, buf)
	s.subs = append(s.subs, ch)
	return ch, func() { s.log = append(s.log, fmt.Sprintf("cancel %d", n)) }
}

// TestFollowSubscriptions: each drop ends the old subscription before the new one
// is made and lost is called after it; the end of ctx ends the last one; Stop
// ends one and C makes the next; a nil Follow's C is nil.
func TestFollowSubscriptions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &fakeSubscriptions{}
		f := NewFollow(s.subscribe, 4)
		s.subs[0] <- Update{Events: []Event{{Seq: 1}}}
		close(s.subs[0])
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			f.Run(ctx, func(u Update) { s.log = append(s.log, fmt.Sprintf("update %d", u.Events[0].Seq)) },
				func() { s.log = append(s.log, "lost") })
		}()
		synctest.Wait()
		s.subs[1] <- Update{Events: []Event{{Seq: 2}}}
		s.subs[1] <- Update{Events: []Event{{Seq: 3}}}
		close(s.subs[1])
		synctest.Wait()
		s.subs[2] <- Update{Events: []Event{{Seq: 4}}}
		synctest.Wait()
		cancel()
		<-done
		f.Stop()                // ended already: nothing to do
		if f.C() != s.subs[3] { // subscribes anew
			t.Error("C after Stop is not the new subscription")
		}
		f.Stop()
		var none *Follow
		if none.C() != nil {
			t.Error("C of a nil Follow is not nil")
		}
		want := []string{"subscribe 1 (4)", "update 1", "cancel 1", "subscribe 2 (4)", "lost",
			"update 2", "update 3", "cancel 2", "subscribe 3 (4)", "lost", "update 4", "cancel 3",
			"subscribe 4 (4)", "cancel 4"}
		if !slices.Equal(s.log, want) {
			t.Errorf("log\n%q\nwant\n%q", s.log, want)
		}
	})
}

// TestFollowReadBack: after each drop the missed events are read back before
// the new subscription's; every event reaches fn once, in order, none from
// before the start; the hub's shared update is not modified; Missed says what
// was read back, or why not.
func TestFollowReadBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		journal := []Event{{Seq: 1}, {Seq: 2}, {Seq: 3}, {Seq: 4}, {Seq: 5}, {Seq: 6}} // 1 and 2 before the start
		var readErr error
		read := func(after uint64, fn func([]Event)) (uint64, uint64, error) {
			if readErr != nil {
				return after, 0, readErr
			}
			for _, e := range journal {
				if e.Seq > after {
					fn([]Event{e})
				}
			}
			return journal[len(journal)-1].Seq, 0, nil
		}
		s := &fakeSubscriptions{}
		f := NewFollow(s.subscribe, 4)
		f.ReadBack(2, read)
		shared := Update{Events: []Event{{Seq: 4}, {Seq: 5}, {Seq: 7}}}
		s.subs[0] <- Update{Events: []Event{{Seq: 3}}}
		close(s.subs[0]) // 4 to 6 dropped
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		var missed []Missed
		go func() {
			defer close(done)
			f.Run(ctx, func(u Update) {
				var seqs []string
				for _, e := range u.Events {
					seqs = append(seqs, fmt.Sprint(e.Seq))
				}
				s.log = append(s.log, "update "+strings.Join(seqs, ","))
			}, func() { missed = append(missed, f.Missed()); s.log = append(s.log, "lost") })
		}()
		synctest.Wait()
		s.subs[1] <- shared // 4 and 5 read back already
		s.subs[1] <- Update{Events: []Event{{Seq: 6}}}
		readErr = fmt.Errorf("disk")
		close(s.subs[1])
		synctest.Wait()
		s.subs[2] <- Update{Events: []Event{{Seq: 8}}}
		synctest.Wait()
		cancel()
		<-done
		want := []string{"subscribe 1 (4)", "update 3", "cancel 1", "subscribe 2 (4)",
			"update 4", "update 5", "update 6", "lost", "update 7", "update ", "cancel 2", "subscribe 3 (4)", "lost",
			"update 8", "cancel 3"}
		if !slices.Equal(s.log, want) {
			t.Errorf("log\n%q\nwant\n%q", s.log, want)
		}
		if got := []uint64{shared.Events[0].Seq, shared.Events[1].Seq, shared.Events[2].Seq}; !slices.Equal(got, []uint64{4, 5, 7}) {
			t.Errorf("the shared update became %v", got)
		}
		if want := []Missed{{From: 4, To: 6}, {From: 8, To: 7, Err: readErr}}; !slices.Equal(missed, want) {
			t.Errorf("missed %+v, want %+v", missed, want)
		}
	})
}
