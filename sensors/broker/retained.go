package broker

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/storage"
	"github.com/mochi-mqtt/server/v2/packets"
)

// RetainedStore persists retained messages. msg is the broker's own encoding and is
// opaque to the store. The broker calls PutRetained and DeleteRetained from one
// goroutine of its own, never from a client's, and ListRetained once in Start.
type RetainedStore interface {
	PutRetained(topic string, msg []byte) error
	DeleteRetained(topic string) error
	ListRetained() (map[string][]byte, error)
}

// retainedFormat is the first byte of an encoded retained message.
const retainedFormat = 1

// Encoded retained message, all integers as (u)varints:
//
//	byte    format (1)
//	byte    QoS
//	byte    flags: bit 0 = payload format indicator present
//	byte    payload format indicator
//	varint  created, unix seconds
//	string  origin client id
//	string  content type
//	string  response topic
//	bytes   correlation data
//	uvarint number of user properties, then key and value strings of each
//	rest    payload
//
// A string or bytes field is a uvarint length and the bytes. The topic is the
// store's key and is not repeated. Message expiry is not kept: retained messages
// never expire.
func encodeRetained(pk packets.Packet) []byte {
	p := pk.Properties
	b := make([]byte, 0, 32+len(pk.Origin)+len(p.ContentType)+len(p.ResponseTopic)+len(p.CorrelationData)+len(pk.Payload))
	var flags byte
	if p.PayloadFormatFlag {
		flags |= 1
	}
	b = append(b, retainedFormat, pk.FixedHeader.Qos, flags, p.PayloadFormat)
	b = binary.AppendVarint(b, pk.Created)
	b = appendBytes(b, []byte(pk.Origin))
	b = appendBytes(b, []byte(p.ContentType))
	b = appendBytes(b, []byte(p.ResponseTopic))
	b = appendBytes(b, p.CorrelationData)
	b = binary.AppendUvarint(b, uint64(len(p.User)))
	for _, u := range p.User {
		b = appendBytes(b, []byte(u.Key))
		b = appendBytes(b, []byte(u.Val))
	}
	return append(b, pk.Payload...)
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// decodeRetained restores a message stored under topic.
func decodeRetained(topic string, data []byte) (storage.Message, error) {
	var m storage.Message
	if err := checkTopic(topic); err != nil {
		return m, err
	}
	r := reader{b: data}
	if f := r.byte(); f != retainedFormat {
		if r.err != nil {
			return m, r.err
		}
		return m, fmt.Errorf("unknown format %d", f)
	}
	qos := r.byte()
	flags := r.byte()
	format := r.byte()
	created := r.varint()
	origin := string(r.bytes())
	contentType := string(r.bytes())
	responseTopic := string(r.bytes())
	correlation := r.bytes()
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)) {
		r.err = errors.New("truncated")
	}
	var user []packets.UserProperty
	for i := uint64(0); i < n && r.err == nil; i++ {
		k := string(r.bytes())
		v := string(r.bytes())
		user = append(user, packets.UserProperty{Key: k, Val: v})
	}
	if r.err != nil {
		return m, r.err
	}
	if qos > 2 {
		return m, fmt.Errorf("bad QoS %d", qos)
	}
	payload := r.b
	if len(payload) == 0 {
		return m, errors.New("empty payload")
	}
	m = storage.Message{
		TopicName: topic,
		Payload:   bytes.Clone(payload),
		Origin:    origin,
		Created:   created,
		FixedHeader: packets.FixedHeader{
			Type:   packets.Publish,
			Retain: true,
			Qos:    qos,
		},
		Properties: storage.MessageProperties{
			CorrelationData:   bytes.Clone(correlation),
			User:              user,
			ContentType:       contentType,
			ResponseTopic:     responseTopic,
			PayloadFormat:     format,
			PayloadFormatFlag: flags&1 != 0,
		},
	}
	return m, nil
}

// reader decodes the fields of an encoded message; the first error sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errors.New("truncated")
	}
	r.b = nil
}

func (r *reader) byte() byte {
	if r.err != nil || len(r.b) < 1 {
		r.fail()
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// retainHook keeps retained messages forever, within the size limits, and hands
// them to the persister. A retained message on a command topic is delivered (with
// its retain flag, so the hub ignores it as a command) but never kept. Its methods
// run on client goroutines and do no I/O: encoding and queueing only.
type retainHook struct {
	mqtt.HookBase
	store    RetainedStore // nil: nothing is persisted
	p        *persister
	log      *slog.Logger
	commands map[string]bool // topics whose retained messages are never kept
	// commandRule, when set, names more such topics.
	commandRule func(topic string) bool
	maxTotal    int // payload bytes of all retained messages
	maxTopic    int // payload bytes of one retained message
	srv         func() *mqtt.Server
	refused     *summaries

	mu    sync.Mutex
	sizes map[string]int // topic → payload bytes of its retained message
	total int
}

func (h *retainHook) ID() string { return "vakt-retained" }

func (h *retainHook) Provides(b byte) bool {
	switch b {
	case mqtt.OnPublish, mqtt.OnRetainMessage:
		return true
	case mqtt.OnRetainedExpired, mqtt.StoredRetainedMessages:
		return h.store != nil
	}
	return false
}

// OnPublish drops the message expiry of a retained publish (an MQTT v5 property),
// so that no retained message ever expires, and turns a retained publish that
// would exceed the limits into a plain one: it is delivered, not kept, and the
// topic keeps its previous retained message.
func (h *retainHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if !pk.FixedHeader.Retain {
		return pk, nil
	}
	pk.Expiry = 0
	pk.Properties.MessageExpiryInterval = 0
	if h.command(pk.TopicName) {
		return pk, nil // delivered retained, removed again by OnRetainMessage
	}
	n := len(pk.Payload)
	h.mu.Lock()
	old := h.sizes[pk.TopicName]
	fits := n <= h.maxTopic && h.total-old+n <= h.maxTotal
	switch {
	case n == 0:
		delete(h.sizes, pk.TopicName)
		h.total -= old
	case fits:
		h.sizes[pk.TopicName] = n
		h.total += n - old
	}
	total := h.total
	h.mu.Unlock()
	if n == 0 || fits {
		return pk, nil
	}
	pk.FixedHeader.Retain = false
	if ok, suppressed := h.refused.allow("retain\x00" + pk.TopicName); ok {
		h.log.Warn("mqtt retained message too large to keep; delivered without retaining",
			"topic", short(pk.TopicName), "client", short(cl.ID), "bytes", n,
			"max_message_bytes", h.maxTopic, "retained_bytes", total, "max_retained_bytes", h.maxTotal,
			"also_refused_last_minute", suppressed)
	}
	return pk, nil
}

// OnRetainMessage queues the new retained message of a topic, or its removal when
// the payload is empty. On a command topic it removes the message again at once.
func (h *retainHook) OnRetainMessage(cl *mqtt.Client, pk packets.Packet, r int64) {
	if h.command(pk.TopicName) {
		if len(pk.Payload) == 0 {
			return
		}
		if srv := h.srv(); srv != nil {
			srv.Topics.RetainMessage(packets.Packet{TopicName: pk.TopicName})
		}
		if ok, suppressed := h.refused.allow("command\x00" + pk.TopicName); ok {
			h.log.Warn("mqtt retained message on a command topic not kept", "topic", short(pk.TopicName),
				"client", short(cl.ID), "user", short(string(cl.Properties.Username)),
				"also_refused_last_minute", suppressed)
		}
		return
	}
	if h.p == nil {
		return
	}
	if len(pk.Payload) == 0 {
		h.p.enqueue(pk.TopicName, nil)
		return
	}
	h.p.enqueue(pk.TopicName, encodeRetained(pk))
}

// OnRetainedExpired keeps the store in step should mochi ever drop a retained
// message on its own.
func (h *retainHook) OnRetainedExpired(topic string) {
	h.log.Warn("mqtt retained message expired", "topic", topic)
	h.p.enqueue(topic, nil)
}

// StoredRetainedMessages loads the retained messages from the store; mochi calls it
// in Serve, before any listener accepts. A message that cannot be decoded is
// logged and skipped; a store that cannot be read fails the start. A message on a
// command topic is removed from the store. Messages beyond the size limits are
// left in the store but not loaded (logged).
func (h *retainHook) StoredRetainedMessages() ([]storage.Message, error) {
	all, err := h.store.ListRetained()
	if err != nil {
		return nil, fmt.Errorf("reading retained messages from the store: %w", err)
	}
	out := make([]storage.Message, 0, len(all))
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, topic := range slices.Sorted(maps.Keys(all)) {
		if h.command(topic) {
			h.log.Warn("mqtt retained message on a command topic removed from the store", "topic", topic)
			h.p.enqueue(topic, nil)
			continue
		}
		m, err := decodeRetained(topic, all[topic])
		if err != nil {
			h.log.Warn("mqtt stored retained message unreadable, skipped", "topic", topic, "error", err)
			continue
		}
		n := len(m.Payload)
		if n > h.maxTopic || h.total+n > h.maxTotal {
			h.log.Warn("mqtt stored retained message beyond the size limits, not loaded", "topic", topic,
				"bytes", n, "max_message_bytes", h.maxTopic, "max_retained_bytes", h.maxTotal)
			continue
		}
		h.sizes[topic] = n
		h.total += n
		out = append(out, m)
	}
	h.log.Info("mqtt retained messages restored", "count", len(out), "bytes", h.total)
	return out, nil
}

// persister writes retained messages to the store from one goroutine, so that a
// slow disk never holds up a client. Only the latest state of each topic is kept
// while waiting. A write that fails is logged and retried with backoff (unless a
// newer state of the topic came in meanwhile); the broker keeps working meanwhile.
type persister struct {
	store    RetainedStore
	log      *slog.Logger
	retryMin time.Duration
	retryMax time.Duration

	mu      sync.Mutex
	pending map[string][]byte // topic → encoded message; nil = delete
	closed  bool
	lastErr error

	wake chan struct{}
	stop chan struct{}
	done chan struct{}
}

func newPersister(store RetainedStore, log *slog.Logger) *persister {
	p := &persister{
		store:    store,
		log:      log,
		retryMin: 2 * time.Second,
		retryMax: time.Minute,
		pending:  map[string][]byte{},
		wake:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	return p
}

func (p *persister) start() { go p.run() }

// enqueue records the new state of topic; data nil means the topic has no retained
// message any more.
func (p *persister) enqueue(topic string, data []byte) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.log.Warn("mqtt retained message not persisted: broker closed", "topic", topic)
		return
	}
	p.pending[topic] = data
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *persister) run() {
	defer close(p.done)
	var (
		failing  bool
		backoff  = p.retryMin
		timer    *time.Timer
		retry    <-chan time.Time
		lastLoud time.Time
	)
	for {
		select {
		case <-p.stop:
			if timer != nil {
				timer.Stop()
			}
			if n, err := p.flush(); err != nil {
				p.log.Error("mqtt retained messages could not be persisted before closing; they are lost on restart",
					"failed", n, "error", err)
			}
			return
		case <-p.wake:
			// Let the goroutines readied by the same publish (a siren's connection)
			// run first: the disk can wait, a siren cannot.
			runtime.Gosched()
			if failing {
				continue // the retry timer writes everything pending
			}
		case <-retry:
			retry = nil
		}
		n, err := p.flush()
		switch {
		case err != nil:
			if !failing || time.Since(lastLoud) >= time.Minute {
				p.log.Error("mqtt retained messages could not be persisted; the broker keeps running, retrying",
					"failed", n, "error", err, "retry_in", backoff)
				lastLoud = time.Now()
			}
			failing = true
			timer = time.NewTimer(backoff)
			retry = timer.C
			backoff = min(2*backoff, p.retryMax)
		case failing:
			p.log.Info("mqtt retained messages are persisted again")
			failing = false
			backoff = p.retryMin
		}
	}
}

// flush writes everything pending. It returns how many writes failed and the first
// error; failed ones are queued again unless a newer state arrived.
func (p *persister) flush() (int, error) {
	p.mu.Lock()
	batch := p.pending
	p.pending = map[string][]byte{}
	p.mu.Unlock()
	if len(batch) == 0 {
		return 0, nil
	}
	failed := map[string][]byte{}
	var first error
	for _, topic := range slices.Sorted(maps.Keys(batch)) {
		data := batch[topic]
		var err error
		if data == nil {
			err = p.store.DeleteRetained(topic)
		} else {
			err = p.store.PutRetained(topic, data)
		}
		if err != nil {
			failed[topic] = data
			if first == nil {
				first = fmt.Errorf("topic %q: %w", topic, err)
			}
		}
	}
	if len(failed) == 0 {
		return 0, nil
	}
	p.mu.Lock()
	for topic, data := range failed {
		if _, newer := p.pending[topic]; !newer {
			p.pending[topic] = data
		}
	}
	p.lastErr = first
	p.mu.Unlock()
	return len(failed), first
}

// close writes what is pending one last time and stops the goroutine. It returns
// an error if some retained messages could not be persisted.
func (p *persister) close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.pending); n > 0 {
		return fmt.Errorf("broker: %d retained messages not persisted: %w", n, p.lastErr)
	}
	return nil
}

// command reports whether topic carries commands: its retained messages are
// never kept.
func (h *retainHook) command(topic string) bool {
	return h.commands[topic] || (h.commandRule != nil && h.commandRule(topic))
}
