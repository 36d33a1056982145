package broker

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

var (
	// ErrNotStarted is returned by Publish before Start.
	ErrNotStarted = errors.New("broker: not started")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("broker: closed")
)

// sessionExpiry caps how long the session of a disconnected client (with its
// subscriptions and queued QoS 1/2 messages) is kept: one day.
const sessionExpiry = 24 * 60 * 60

// defaultSysInterval is the interval of the $SYS topics, in seconds.
const defaultSysInterval = 10

// Message is a message as an in-process subscriber sees it (Watch).
type Message struct {
	Topic    string
	Payload  []byte // shared with other subscribers: read only
	Retained bool   // the retain flag: a stored message, or a live publish with retain set
	ClientID string // the publishing client; "" for messages the hub published itself
	Username string // that client's user while it is connected; "" otherwise
}

// Broker is the embedded MQTT broker. Create it with New, start it with Start,
// stop it with Close; a Broker runs once.
type Broker struct {
	cfg         Config
	store       RetainedStore
	log         *slog.Logger
	acc         *access
	tls         *tls.Config
	maxPacket   uint32
	sysInterval int64
	// now and sleep are the clock of login throttling and log summaries; tests
	// replace them. sleep waits d unless stop closes first (then false).
	commands       map[string]bool
	maxQueueMsgs   int
	maxQueueBytes  int
	maxRetained    int
	maxRetainedMsg int
	now            func() time.Time
	sleep          func(stop <-chan struct{}, d time.Duration) bool
	stop           chan struct{} // closed by Close
	auth           *authHook     // set by Start
	house          sync.WaitGroup
	freeMu         sync.Mutex
	freed          time.Time // the last freeMemory

	srv     atomic.Pointer[mqtt.Server] // set by Start
	closed  atomic.Bool
	watchID atomic.Int64 // the last id Watch used, counting down from 0
	addrs   atomic.Pointer[map[string]net.Addr]

	subMu   sync.Mutex  // serialises Subscribe/Unsubscribe before Start with Start
	pending []inlineSub // subscriptions made before Start
	local   localSubs   // the in-process subscriptions mochi does not hold (see local)

	mu      sync.Mutex
	state   int
	lns     []*listener
	persist *persister
}

const (
	stateNew = iota
	stateRunning
	stateClosed
)

type inlineSub struct {
	filter string
	id     int
	fn     handler
}

// New checks cfg and prepares a broker; it opens no socket. store persists
// retained messages (nil: they live in memory only). log receives the broker's
// lines and mochi's own (nil: discarded). Errors name what is wrong: a duplicate
// user, an empty password, a bad topic filter, an unreadable TLS file.
func New(cfg Config, store RetainedStore, log *slog.Logger) (*Broker, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := validate(cfg); err != nil {
		return nil, err
	}
	tc, err := loadTLS(cfg)
	if err != nil {
		return nil, err
	}
	users := make([]User, len(cfg.Users))
	for i, u := range cfg.Users {
		u.Read = slices.Clone(u.Read)
		u.Write = slices.Clone(u.Write)
		users[i] = u
	}
	cfg.Users = users
	commands := map[string]bool{}
	for _, t := range cfg.CommandTopics {
		commands[t] = true
	}
	maxPacket := cfg.MaxPacketSize
	if maxPacket == 0 {
		maxPacket = MinPacketSize
	}
	return &Broker{
		cfg:            cfg,
		store:          store,
		log:            log,
		acc:            buildAccess(cfg),
		tls:            tc,
		maxPacket:      uint32(maxPacket),
		sysInterval:    defaultSysInterval,
		commands:       commands,
		maxQueueMsgs:   orDefault(cfg.MaxQueueMessages, DefaultMaxQueueMessages),
		maxQueueBytes:  orDefault(cfg.MaxQueueBytes, DefaultMaxQueueBytes),
		maxRetained:    orDefault(cfg.MaxRetainedBytes, DefaultMaxRetainedBytes),
		maxRetainedMsg: orDefault(cfg.MaxRetainedMessageBytes, DefaultMaxRetainedMessageBytes),
		now:            time.Now,
		sleep:          sleepUnlessClosed,
		stop:           make(chan struct{}),
	}, nil
}

// sleepUnlessClosed waits d; false if stop closes first.
func sleepUnlessClosed(stop <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-stop:
		return false
	}
}

// Start binds the listeners, restores the retained messages from the store,
// applies the subscriptions made before Start, and then accepts clients. It
// returns once the broker serves. A listener that cannot bind (a port in use) or a
// store that cannot be read fails Start with nothing left running; make a new
// Broker to try again. ctx bounds the start only: Close stops the broker.
func (b *Broker) Start(ctx context.Context) error {
	b.subMu.Lock()
	defer b.subMu.Unlock()
	b.mu.Lock()
	switch b.state {
	case stateRunning:
		b.mu.Unlock()
		return errors.New("broker: already started")
	case stateClosed:
		b.mu.Unlock()
		return ErrClosed
	}
	gate := make(chan struct{})
	srv, lns, persist, err := b.serve(ctx, gate)
	if err != nil {
		b.state = stateClosed
		b.closed.Store(true)
		b.mu.Unlock()
		return err
	}
	b.lns, b.persist = lns, persist
	b.state = stateRunning
	addrs := map[string]net.Addr{}
	for _, l := range lns {
		addrs[l.id] = l.ln.Addr()
	}
	b.addrs.Store(&addrs)
	b.srv.Store(srv)
	b.mu.Unlock()

	// Clients wait in the listen backlog until the gate opens, so a subscription
	// made before Start misses nothing.
	for _, s := range b.pending {
		if err := b.add(srv, s.filter, s.id, s.fn); err != nil {
			b.log.Error("mqtt in-process subscription failed", "filter", s.filter, "error", err)
		}
	}
	b.pending = nil
	close(gate)

	attrs := []any{"users", len(b.cfg.Users), "max_packet", b.maxPacket}
	for _, l := range lns {
		attrs = append(attrs, l.id, l.Address())
	}
	b.house.Go(b.housekeeping)
	b.log.Info("mqtt broker started", attrs...)
	if b.cfg.AllowAnonymous {
		b.log.Warn("mqtt anonymous clients are allowed and may read and write every topic")
	}
	b.warnCodeReaders()
	return nil
}

// warnCodeReaders logs, once per account, a non-admin user whose read list
// covers a topic that carries codes.
func (b *Broker) warnCodeReaders() {
	for _, u := range b.cfg.Users {
		if u.Admin {
			continue
		}
		var topics, filters []string
		for _, topic := range b.cfg.CodeTopics {
			for _, f := range u.Read {
				if covers(f, topic) {
					topics = append(topics, topic)
					filters = append(filters, f)
					break
				}
			}
		}
		if len(topics) > 0 {
			b.log.Warn("mqtt account may read topics that carry codes; remove them from its read list",
				"user", u.Name, "topics", topics, "read_filters", filters)
		}
	}
}

// errSlowClient stops a client that does not read its messages.
var errSlowClient = errors.New("outbound queue over its limit: the client does not read its messages")

// overflow disconnects a client whose outbound queue stayed over its bounds, and
// frees what it held.
func (b *Broker) overflow(q *queuedConn, msgs, bytes int) {
	q.mu.Lock()
	cl := q.client
	q.mu.Unlock()
	id, user := "", ""
	if cl != nil {
		id, user = cl.ID, string(cl.Properties.Username)
	}
	b.log.Warn("mqtt client disconnected: it does not read its messages", "client", short(id), "user", short(user),
		"remote", q.RemoteAddr().String(), "queued_messages", msgs, "queued_bytes", bytes,
		"max_messages", b.maxQueueMsgs, "max_bytes", b.maxQueueBytes)
	q.abort()
	if cl != nil {
		cl.Stop(errSlowClient)
		cl.ClearInflights()
	}
}

// freeMemory returns the memory a client that did not read left behind to the
// operating system at once, rather than over minutes; at most every 10 seconds.
func (b *Broker) freeMemory() {
	now := time.Now()
	b.freeMu.Lock()
	if now.Sub(b.freed) < 10*time.Second {
		b.freeMu.Unlock()
		return
	}
	b.freed = now
	b.freeMu.Unlock()
	debug.FreeOSMemory()
}

// orDefault is v, or def when v is 0.
func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// serve does the work of Start under b.mu.
func (b *Broker) serve(ctx context.Context, gate chan struct{}) (*mqtt.Server, []*listener, *persister, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, nil, err
	}
	var lns []*listener
	closeAll := func() {
		for _, l := range lns {
			l.Close(func(string) {})
		}
	}
	for _, spec := range []struct {
		id, addr string
		tc       *tls.Config
		ws       bool
	}{
		{"tcp", b.cfg.Addr, nil, false},
		{"tls", b.cfg.TLSAddr, b.tls, false},
		{"ws", b.cfg.WSAddr, nil, true},
	} {
		if spec.addr == "" {
			continue
		}
		l, err := bind(spec.id, spec.addr, spec.tc, spec.ws, gate, b.log)
		if err != nil {
			closeAll()
			return nil, nil, nil, err
		}
		l.wrap = func(c net.Conn) net.Conn {
			return newQueuedConn(c, b.maxQueueMsgs, b.maxQueueBytes, b.now, b.overflow)
		}
		lns = append(lns, l)
	}

	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumMessageExpiryInterval = 0 // 0: the broker expires nothing by age
	caps.MaximumPacketSize = b.maxPacket
	caps.MaximumSessionExpiryInterval = sessionExpiry
	caps.MaximumClientWritesPending = int32(b.maxQueueMsgs)
	srv := mqtt.New(&mqtt.Options{
		Capabilities:           caps,
		Logger:                 newMochiLogger(b.log),
		InlineClient:           true,
		SysTopicResendInterval: b.sysInterval,
		// One packet per write: the client's queue (queuedConn) counts packets.
		ClientNetWriteBufferSize: 1,
	})
	// mochi's own way of closing a listener's clients (Clients.GetByListener) takes
	// the clients' read lock twice; a client leaving in between waits for the write
	// lock, and both wait for ever. Close each listener's clients from one snapshot
	// of the clients instead.
	for _, l := range lns {
		l.closeClients = func(id string) {
			for _, cl := range srv.Clients.GetAll() {
				if cl.Net.Listener == id && !cl.Closed() {
					_ = srv.DisconnectClient(cl, packets.ErrServerShuttingDown)
				}
			}
		}
	}

	var persist *persister
	if b.store != nil {
		persist = newPersister(b.store, b.log)
	}
	auth := &authHook{
		acc:      b.acc,
		log:      b.log,
		throttle: newThrottle(b.now),
		refused:  newSummaries(b.now),
		sleep:    func(d time.Duration) bool { return b.sleep(b.stop, d) },
		srv:      func() *mqtt.Server { return srv },
		owners:   map[string]*mqtt.Client{},
	}
	b.auth = auth
	session := &sessionHook{log: b.log, onClient: b.cfg.OnClient, onSub: b.cfg.OnSubscribe, current: map[string]*mqtt.Client{}}
	session.setServer(srv)
	session.freeMemory = b.freeMemory
	fail := func(err error) (*mqtt.Server, []*listener, *persister, error) {
		closeAll()
		_ = srv.Close()
		if persist != nil {
			_ = persist.close()
		}
		return nil, nil, nil, err
	}
	for _, h := range []struct {
		hook mqtt.Hook
		conf any
	}{
		{auth, nil},
		// Before session: a delayed will's capture ends before OnClient hears of the
		// client's return.
		{&localHook{subs: &b.local, srv: func() *mqtt.Server { return srv }, pending: map[string]pendingWill{}}, nil},
		{session, nil},
		{&retainHook{store: b.store, p: persist, log: b.log, commands: b.commands, commandRule: b.cfg.CommandTopic,
			maxTotal: b.maxRetained, maxTopic: b.maxRetainedMsg, srv: func() *mqtt.Server { return srv },
			refused: newSummaries(b.now), sizes: map[string]int{}}, nil},
		{&retainGuard{}, nil}, // last: see retainGuard
	} {
		if err := srv.AddHook(h.hook, h.conf); err != nil {
			return fail(fmt.Errorf("broker: %w", err))
		}
	}
	for _, l := range lns {
		if err := srv.AddListener(l); err != nil {
			return fail(fmt.Errorf("broker: listener %s: %w", l.id, err))
		}
	}
	if persist != nil {
		persist.start()
	}
	// Serve restores the retained messages, then starts the listeners' goroutines,
	// which wait for the gate.
	if err := srv.Serve(); err != nil {
		return fail(fmt.Errorf("broker: start: %w", err))
	}
	if err := ctx.Err(); err != nil {
		_ = shutdown(srv, lns, persist)
		return nil, nil, nil, err
	}
	return srv, lns, persist, nil
}

// Close disconnects every client, closes the listeners, waits for the broker's
// goroutines and writes the retained messages still queued. It returns an error if
// some could not be persisted. Closing twice, or before Start, is fine.
func (b *Broker) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	state := b.state
	b.state = stateClosed
	b.closed.Store(true)
	if state != stateRunning {
		return nil
	}
	close(b.stop)
	b.house.Wait()
	err := shutdown(b.srv.Load(), b.lns, b.persist)
	b.log.Info("mqtt broker stopped")
	return err
}

// shutdown stops a server whose listeners' Serve goroutines were started.
func shutdown(srv *mqtt.Server, lns []*listener, persist *persister) error {
	_ = srv.Close() // closes each listener, which waits for its connections
	for _, l := range lns {
		<-l.serve
	}
	if persist != nil {
		return persist.close()
	}
	return nil
}

// housekeeping logs the summaries of refused logins that are due, once a minute.
func (b *Broker) housekeeping() {
	t := time.NewTicker(summaryEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.auth.sweep()
		case <-b.stop:
			return
		}
	}
}

// Addr is the address of the plain TCP listener while the broker runs, else nil.
func (b *Broker) Addr() net.Addr { return b.addr("tcp") }

// TLSAddr is the address of the TLS listener while the broker runs, else nil.
func (b *Broker) TLSAddr() net.Addr { return b.addr("tls") }

// WSAddr is the address of the websocket listener while the broker runs, else nil.
func (b *Broker) WSAddr() net.Addr { return b.addr("ws") }

func (b *Broker) addr(id string) net.Addr {
	if b.closed.Load() {
		return nil
	}
	if m := b.addrs.Load(); m != nil {
		return (*m)[id]
	}
	return nil
}

func (b *Broker) server() (*mqtt.Server, error) {
	if b.closed.Load() {
		return nil, ErrClosed
	}
	srv := b.srv.Load()
	if srv == nil {
		return nil, ErrNotStarted
	}
	return srv, nil
}

// Publish publishes a message from the hub itself, without ACL checks. qos limits
// the QoS of the deliveries to clients. With retain set the message is retained
// (and persisted), and an empty payload removes the topic's retained message.
// In-process subscribers matching the topic run before Publish returns, on the
// caller's goroutine. payload is copied.
func (b *Broker) Publish(topic string, payload []byte, retain bool, qos byte) error {
	srv, err := b.server()
	if err != nil {
		return err
	}
	if err := checkTopic(topic); err != nil {
		return err
	}
	if strings.HasPrefix(topic, "$") {
		return fmt.Errorf("broker: topic %q: topics starting with '$' are the broker's", topic)
	}
	if qos > 2 {
		return fmt.Errorf("broker: publish %q: QoS %d is not 0, 1 or 2", topic, qos)
	}
	if err := srv.Publish(topic, bytes.Clone(payload), retain, qos); err != nil {
		return fmt.Errorf("broker: publish %q: %w", topic, err)
	}
	return nil
}

// Subscribed reports whether anyone listens on topic: a network client, or an
// in-process subscriber (a simulated device).
func (b *Broker) Subscribed(topic string) bool {
	srv, err := b.server()
	if err != nil {
		return false
	}
	if b.local.matches(topic) {
		return true
	}
	subs := srv.Topics.Subscribers(topic)
	return len(subs.Subscriptions) > 0 || len(subs.Shared) > 0 || len(subs.InlineSubscriptions) > 0
}

// Subscribe adds an in-process subscription of the hub (no ACL) for filter under
// the id (zero or more); the same filter and id again replaces the handler. fn gets the topic,
// the payload and the retain flag: true for the retained messages replayed when
// subscribing and for live publishes that set retain.
//
// Handlers run concurrently: fn runs synchronously on the goroutine of whoever
// published the message (a client's connection goroutine, or the caller of
// Publish), on several goroutines at once when several publish, and the retained
// messages matching filter are replayed on the caller's goroutine before Subscribe
// returns. A message published before Subscribe was called may still be in
// delivery: fn can then run on that publisher's goroutine while Subscribe has not
// returned yet (a client's QoS 1 publish is acknowledged before it is delivered).
// So fn must not touch unsynchronised state, and must not block: hand the message
// off (a buffered channel with a non-blocking send, or a queue) and return.
// payload is shared and read only: copy it to keep it.
//
// Before Start the subscription is queued; Start applies it (with the restored
// retained messages) before any client can connect.
func (b *Broker) Subscribe(filter string, id int, fn func(topic string, payload []byte, retained bool)) error {
	if fn == nil {
		return errors.New("broker: subscribe: nil handler")
	}
	if id < 0 {
		return fmt.Errorf("broker: subscribe %q: id %d: ids below zero are Watch's", filter, id)
	}
	return b.subscribe(filter, id, func(_ *mqtt.Client, pk packets.Packet) {
		fn(pk.TopicName, pk.Payload, pk.FixedHeader.Retain)
	})
}

// Watch subscribes fn to filter like Subscribe, with the publishing client and its
// user in the Message, and returns a function that ends the subscription (calling
// it more than once is fine). The same rules apply to fn as for Subscribe. Watch
// picks its own subscription ids, all below zero.
func (b *Broker) Watch(filter string, fn func(Message)) (cancel func(), err error) {
	if fn == nil {
		return nil, errors.New("broker: subscribe: nil handler")
	}
	id := int(b.watchID.Add(-1))
	err = b.subscribe(filter, id, func(from *mqtt.Client, pk packets.Packet) {
		fn(b.message(from, pk))
	})
	if err != nil {
		return nil, err
	}
	var once sync.Once
	return func() { once.Do(func() { _ = b.Unsubscribe(filter, id) }) }, nil
}

// message is pk as Watch hands it over. from is the connection that published
// it, or nil: then the client is looked up by pk's origin.
func (b *Broker) message(from *mqtt.Client, pk packets.Packet) Message {
	m := Message{Topic: pk.TopicName, Payload: pk.Payload, Retained: pk.FixedHeader.Retain}
	if pk.Origin == "" || pk.Origin == mqtt.InlineClientId {
		return m
	}
	m.ClientID = pk.Origin
	if from != nil && from.ID == pk.Origin && !from.Closed() {
		m.Username = string(from.Properties.Username)
		return m
	}
	if srv := b.srv.Load(); srv != nil {
		if cl, ok := srv.Clients.Get(pk.Origin); ok && !cl.Closed() {
			m.Username = string(cl.Properties.Username)
		}
	}
	return m
}

func (b *Broker) subscribe(filter string, id int, fn handler) error {
	if err := checkFilter(filter); err != nil {
		return fmt.Errorf("broker: subscribe %q: %w", filter, err)
	}
	if mqtt.IsSharedFilter(filter) {
		return fmt.Errorf("broker: subscribe %q: shared subscriptions are for network clients", filter)
	}
	if b.closed.Load() {
		return ErrClosed
	}
	srv := b.srv.Load()
	if srv == nil {
		b.subMu.Lock()
		if srv = b.srv.Load(); srv == nil {
			b.pending = slices.DeleteFunc(b.pending, func(s inlineSub) bool { return s.filter == filter && s.id == id })
			b.pending = append(b.pending, inlineSub{filter: filter, id: id, fn: fn})
			b.subMu.Unlock()
			return nil
		}
		b.subMu.Unlock()
	}
	if err := b.add(srv, filter, id, fn); err != nil {
		return fmt.Errorf("broker: subscribe %q: %w", filter, err)
	}
	return nil
}

// add makes an in-process subscription on the running server and replays the
// retained messages matching filter to it.
func (b *Broker) add(srv *mqtt.Server, filter string, id int, fn handler) error {
	if !local(filter) {
		return srv.Subscribe(filter, id, func(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) { fn(nil, pk) })
	}
	b.local.set(filter, id, fn)
	for _, pk := range srv.Topics.Messages(filter) { // [MQTT-3.8.4-4]
		fn(nil, pk)
	}
	return nil
}

// Unsubscribe removes the in-process subscription of filter with the id. Removing
// one that does not exist, or unsubscribing after Close, is not an error.
func (b *Broker) Unsubscribe(filter string, id int) error {
	if err := checkFilter(filter); err != nil {
		return fmt.Errorf("broker: unsubscribe %q: %w", filter, err)
	}
	if b.closed.Load() {
		return nil
	}
	srv := b.srv.Load()
	if srv == nil {
		b.subMu.Lock()
		if srv = b.srv.Load(); srv == nil {
			b.pending = slices.DeleteFunc(b.pending, func(s inlineSub) bool { return s.filter == filter && s.id == id })
			b.subMu.Unlock()
			return nil
		}
		b.subMu.Unlock()
	}
	if local(filter) {
		b.local.remove(filter, id)
		return nil
	}
	if err := srv.Unsubscribe(filter, id); err != nil {
		return fmt.Errorf("broker: unsubscribe %q: %w", filter, err)
	}
	return nil
}
