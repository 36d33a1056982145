package broker

import (
	"bytes"
	"sync"
	"sync/atomic"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// retainGuard makes mochi's retained store safe for a subscription that races a
// retained publish. mochi (v2.7.9) writes a topic's retained path under its own
// lock while a new subscriber's scan of the retained messages reads it without
// one: the race detector sees it, and a scan may read a torn value. The guard
// holds a write lock from a retained publish's last OnPublish (this hook is added
// last, so nothing can refuse the message after it) to its OnRetainMessage, which
// mochi calls right after storing it; and a read lock for a network client's
// subscription from OnSubscribed, after which mochi sends the retained messages,
// to OnPacketProcessed. Neither span blocks: the writes to a client only queue
// (queuedConn). In-process subscriptions (Broker.Subscribe) are not guarded: their
// handlers may publish, and they are made at start, before clients connect.
type retainGuard struct {
	mqtt.HookBase
	mu sync.RWMutex
	// held names the publish that holds the write lock: mochi also calls
	// OnRetainMessage for messages that never passed OnPublish (wills, $SYS).
	held    atomic.Pointer[retainKey]
	reading sync.Map // *mqtt.Client → true while it holds a read lock
}

type retainKey struct {
	cl    *mqtt.Client
	topic string
}

func (g *retainGuard) ID() string { return "vakt-retain-guard" }

func (g *retainGuard) Provides(b byte) bool {
	return bytes.IndexByte([]byte{mqtt.OnPublish, mqtt.OnRetainMessage, mqtt.OnSubscribed, mqtt.OnPacketProcessed}, b) >= 0
}

// OnPublish takes the write lock for a publish mochi is about to retain.
func (g *retainGuard) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if pk.FixedHeader.Retain && !pk.Ignore {
		g.mu.Lock()
		g.held.Store(&retainKey{cl, pk.TopicName})
	}
	return pk, nil
}

// OnRetainMessage lets go of the write lock: the message is stored.
func (g *retainGuard) OnRetainMessage(cl *mqtt.Client, pk packets.Packet, r int64) {
	if k := g.held.Load(); k != nil && k.cl == cl && k.topic == pk.TopicName {
		g.held.Store(nil)
		g.mu.Unlock()
	}
}

// OnSubscribed takes a read lock for a network client, held while mochi sends it
// the retained messages.
func (g *retainGuard) OnSubscribed(cl *mqtt.Client, pk packets.Packet, codes []byte) {
	if cl.Net.Inline {
		return
	}
	g.mu.RLock()
	g.reading.Store(cl, true)
}

// OnPacketProcessed lets go of a subscription's read lock.
func (g *retainGuard) OnPacketProcessed(cl *mqtt.Client, pk packets.Packet, err error) {
	if pk.FixedHeader.Type != packets.Subscribe {
		return
	}
	if _, ok := g.reading.LoadAndDelete(cl); ok {
		g.mu.RUnlock()
	}
}
