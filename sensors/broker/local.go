package broker

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// handler receives a message of an in-process subscription. from is the
// connection that published it when the broker knows it (a live publish), else
// nil (a retained message replayed, a will).
type handler func(from *mqtt.Client, pk packets.Packet)

// local reports whether the in-process subscription of filter is kept in the
// broker's own index (localSubs) rather than in mochi's: every filter whose first
// level is a plain name. A filter starting with a wildcard or '$' may match the
// $SYS topics, which mochi publishes without calling any hook, so it stays with
// mochi.
func local(filter string) bool {
	first, _, _ := strings.Cut(filter, "/")
	return first != "+" && first != "#" && !strings.HasPrefix(first, "$")
}

// localSubs is the broker's own index of in-process subscriptions (see local).
// mochi's index, asked for the subscribers of each publish, copies every matching
// in-process subscription into freshly made maps; on the zones' topics that was
// about a tenth of the broker's work under load. The broker delivers to these
// subscriptions from its hook instead (localHook), on the publisher's goroutine as
// mochi does, with one lookup in an immutable snapshot and no allocation.
//
// As in mochi's index, a message reaches each subscription id once, also when
// several of its filters match.
type localSubs struct {
	mu  sync.Mutex // serialises changes
	cur atomic.Pointer[localIndex]
}

// localIndex is a snapshot of the subscriptions; never changed once published.
type localIndex struct {
	exact map[string][]localSub // filters without wildcards, by filter
	wild  []localSub            // filters with '+' or '#'
}

type localSub struct {
	filter string
	id     int
	fn     handler
}

// set adds the subscription of filter with id, or replaces its handler.
func (l *localSubs) set(filter string, id int, fn handler) {
	l.change(func(x *localIndex) {
		s := localSub{filter: filter, id: id, fn: fn}
		if !strings.ContainsAny(filter, "+#") {
			x.exact[filter] = upsert(x.exact[filter], s)
			return
		}
		x.wild = upsert(x.wild, s)
	})
}

// remove ends the subscription of filter with id, if there is one.
func (l *localSubs) remove(filter string, id int) {
	l.change(func(x *localIndex) {
		same := func(s localSub) bool { return s.filter == filter && s.id == id }
		if !strings.ContainsAny(filter, "+#") {
			if subs := slices.DeleteFunc(x.exact[filter], same); len(subs) > 0 {
				x.exact[filter] = subs
			} else {
				delete(x.exact, filter)
			}
			return
		}
		x.wild = slices.DeleteFunc(x.wild, same)
	})
}

// change publishes a copy of the index as edit leaves it. The slices are copied
// too: a snapshot being read is never written to.
func (l *localSubs) change(edit func(x *localIndex)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	x := &localIndex{exact: map[string][]localSub{}}
	if old := l.cur.Load(); old != nil {
		for f, subs := range old.exact {
			x.exact[f] = slices.Clone(subs)
		}
		x.wild = slices.Clone(old.wild)
	}
	edit(x)
	l.cur.Store(x)
}

// upsert replaces the subscription with the same filter and id in subs, or
// appends s.
func upsert(subs []localSub, s localSub) []localSub {
	for i, o := range subs {
		if o.filter == s.filter && o.id == s.id {
			subs[i] = s
			return subs
		}
	}
	return append(subs, s)
}

// matches reports whether some subscription matches topic.
func (l *localSubs) matches(topic string) bool {
	x := l.cur.Load()
	if x == nil {
		return false
	}
	if len(x.exact[topic]) > 0 {
		return true
	}
	for _, s := range x.wild {
		if covers(s.filter, topic) {
			return true
		}
	}
	return false
}

// deliver runs the handler of each subscription matching pk's topic, once per
// subscription id.
func (l *localSubs) deliver(from *mqtt.Client, pk packets.Packet) {
	x := l.cur.Load()
	if x == nil {
		return
	}
	subs := x.exact[pk.TopicName]
	if len(x.wild) > 0 {
		var buf [8]localSub
		all := append(buf[:0], subs...)
		for _, s := range x.wild {
			if covers(s.filter, pk.TopicName) {
				all = append(all, s)
			}
		}
		subs = all
	}
	for i, s := range subs {
		if !seenID(subs[:i], s.id) {
			s.fn(from, pk)
		}
	}
}

// seenID reports whether one of subs has the id.
func seenID(subs []localSub, id int) bool {
	for _, s := range subs {
		if s.id == id {
			return true
		}
	}
	return false
}

// localHook delivers messages to the in-process subscriptions of localSubs: a
// publish once mochi has delivered it to the network clients (OnPublished; also
// the hub's own publishes), a will once it is sent.
//
// A delayed will (MQTT 5 will delay interval) is published by mochi's loop, which
// calls OnWillSent only when the client's session still exists. So each pending
// delayed will gets a temporary subscription in mochi's index on its topic
// (OnWill), which hands the will to localSubs when mochi publishes it and ends
// then, or when the client connects again (the will is cancelled).
type localHook struct {
	mqtt.HookBase
	subs *localSubs
	srv  func() *mqtt.Server

	mu      sync.Mutex
	nextID  int
	pending map[string]pendingWill // client id → its delayed will's capture
}

type pendingWill struct {
	topic string
	id    int
}

func (h *localHook) ID() string { return "vakt-local" }

func (h *localHook) Provides(b byte) bool {
	switch b {
	case mqtt.OnPublished, mqtt.OnWill, mqtt.OnWillSent, mqtt.OnSessionEstablished:
		return true
	}
	return false
}

// OnPublished delivers a publish that was not dropped.
func (h *localHook) OnPublished(cl *mqtt.Client, pk packets.Packet) {
	if !pk.Ignore {
		h.subs.deliver(cl, pk)
	}
}

// OnWillSent delivers a will sent at once; a delayed one came through its capture.
func (h *localHook) OnWillSent(cl *mqtt.Client, pk packets.Packet) {
	if pk.Connect.WillProperties.WillDelayInterval == 0 {
		h.subs.deliver(nil, pk)
	}
}

// OnWill sets up the capture of a delayed will whose topic an in-process
// subscription matches.
func (h *localHook) OnWill(cl *mqtt.Client, will mqtt.Will) (mqtt.Will, error) {
	if cl.Properties.Will.WillDelayInterval == 0 || !h.subs.matches(will.TopicName) {
		return will, nil
	}
	srv := h.srv()
	if srv == nil {
		return will, nil
	}
	h.mu.Lock()
	h.nextID++
	// Far below the ids Watch counts down from 0.
	w := pendingWill{topic: will.TopicName, id: math.MinInt + h.nextID}
	old, had := h.pending[cl.ID]
	h.pending[cl.ID] = w
	h.mu.Unlock()
	if had {
		_ = srv.Unsubscribe(old.topic, old.id)
	}
	origin, payload := cl.ID, bytes.Clone(will.Payload)
	_ = srv.Subscribe(w.topic, w.id, func(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
		// Only this will: not retained messages replayed now, not others' publishes.
		if pk.Origin != origin || pk.Connect.WillProperties.WillDelayInterval == 0 || !bytes.Equal(pk.Payload, payload) {
			return
		}
		if h.drop(origin, w) {
			h.subs.deliver(nil, pk)
		}
	})
	return will, nil
}

// OnSessionEstablished ends the capture of a delayed will that mochi cancelled:
// its client is back.
func (h *localHook) OnSessionEstablished(cl *mqtt.Client, _ packets.Packet) {
	h.mu.Lock()
	w, ok := h.pending[cl.ID]
	h.mu.Unlock()
	if ok {
		h.drop(cl.ID, w)
	}
}

// drop ends the capture w of the client's delayed will; false if it had ended.
func (h *localHook) drop(clientID string, w pendingWill) bool {
	h.mu.Lock()
	cur, ok := h.pending[clientID]
	ok = ok && cur == w
	if ok {
		delete(h.pending, clientID)
	}
	h.mu.Unlock()
	if ok {
		if srv := h.srv(); srv != nil {
			_ = srv.Unsubscribe(w.topic, w.id)
		}
	}
	return ok
}
