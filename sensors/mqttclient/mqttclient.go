// Package mqttclient connects the hub to an existing MQTT broker (Mosquitto, say,
// with Zigbee2MQTT already pointed at it) instead of the embedded one. A Client
// is the same bus the MQTT adapters use over the embedded broker: Publish,
// Subscribe, Subscribed.
//
// The connection is kept by paho's autopaho: a lost connection is retried with
// backoff, forever. After every (re)connection, before OnUp is called, every
// subscription is made again (the session is not kept by the broker) and every
// retained publication of the hub (its state, attributes, status, the outputs'
// status) is published again, so that what the broker holds is the hub's
// latest word. A will (see Config.Will) is set on the connection, so that a
// crashed hub shows as offline.
//
// What differs from the embedded broker:
//   - Subscribed cannot know whether a device subscribes to a topic: it reports
//     whether the client is connected. Outputs are judged by their feedback and
//     refresh, and the keeper is asked (OnUp) to resend every output after each
//     reconnection.
//   - Messages carry no client id or user: the external broker does not tell
//     who published. Its own ACL must keep command topics from device accounts.
//   - Publish never blocks on the network: messages are queued and sent, in
//     order, by autopaho's goroutine, without waiting for each acknowledgement
//     (a broker that delays its acknowledgements, as Mosquitto does with Nagle's
//     algorithm on, would otherwise hold every message behind the one before). Without a connection a message that
//     is not retained is dropped, as the embedded broker drops a message nobody
//     subscribes to: Subscribed says false, so the keeper counts the outputs as
//     unreachable (a fault after its grace), and resends every level after the
//     reconnection. A retained one is kept and published on the next connection.
//   - Retained publications on a command topic (Config.CommandTopics) are
//     refused: a retained command would run again at every restart.
//
// Handlers given to Subscribe run on paho's receiving goroutine: they must hand
// off and return, as they must with the embedded broker.
package mqttclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/autopaho/queue/memory"
	"github.com/eclipse/paho.golang/paho"

	"vakt/sensors/mqttdev"
)

// Message is one MQTT message as a subscriber sees it. ClientID and Username
// are always empty: an external broker does not tell who published.
type Message struct {
	Topic    string
	Payload  []byte
	Retained bool
	ClientID string
	Username string
}

// Config configures a Client.
type Config struct {
	// URL of the broker: tcp:// or mqtt:// (default port 1883), mqtts://,
	// ssl:// or tls:// (TLS, default port 8883).
	URL      string
	Username string
	Password string
	// CAFile is a PEM file of the certificate authorities trusted for TLS;
	// empty means the system's.
	CAFile string
	// InsecureSkipVerify accepts any certificate of the broker (tests only).
	InsecureSkipVerify bool
	// ClientID identifies the hub to the broker; default "vakt".
	ClientID string
	// Will is published, retained, by the broker when the connection ends
	// without a proper disconnection (e.g. {"vakt/status", "offline"}).
	Will *Will
	// CommandTopics are topic filters that are never published retained.
	CommandTopics []string
	// Backoff is the wait before connection attempt n (n ≥ 1) after a failed
	// one; default an exponential backoff from 0.5 s up to 30 s.
	Backoff func(attempt int) time.Duration
	// KeepAlive is the MQTT keep-alive; default 20 s. A broker that vanishes
	// without closing the connection is noticed after about 1.5 times this.
	KeepAlive time.Duration
	// OnUp is called after every (re)connection, once the subscriptions are
	// made again and the retained publications queued. OnDown is called once
	// when the connection is lost or the first attempt fails, with the
	// error, and not again until OnUp. Both run on the client's own goroutine,
	// in order; they must not block for long.
	OnUp   func()
	OnDown func(err error)
}

// Will is a will message, published retained.
type Will struct {
	Topic   string
	Payload []byte
}

// sendTimeout bounds one publication, subscription or unsubscription.
const sendTimeout = 10 * time.Second

// ParseURL checks a broker URL and returns it with its port (1883, or 8883
// with TLS) and whether it uses TLS.
func ParseURL(s string) (u *url.URL, useTLS bool, err error) {
	u, err = url.Parse(s)
	if err != nil {
		return nil, false, fmt.Errorf("broker URL %q: %w", s, err)
	}
	port := "1883"
	switch strings.ToLower(u.Scheme) {
	case "tcp", "mqtt":
	case "mqtts", "ssl", "tls":
		useTLS, port = true, "8883"
	default:
		return nil, false, fmt.Errorf("broker URL %q: scheme must be tcp, mqtt, mqtts, ssl or tls", s)
	}
	if u.Hostname() == "" {
		return nil, false, fmt.Errorf("broker URL %q: no host", s)
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil {
		return nil, false, fmt.Errorf("broker URL %q: only scheme://host:port (user and password are keys of their own)", s)
	}
	if u.Port() == "" {
		u.Host = net.JoinHostPort(u.Hostname(), port)
	}
	return u, useTLS, nil
}

// Client is a connection to an external MQTT broker. Make it with New, start it
// with Start; Close stops it (its goroutines and the connection).
type Client struct {
	cfg Config
	url *url.URL
	tls *tls.Config
	log *slog.Logger

	mu        sync.Mutex
	cm        *autopaho.ConnectionManager
	up        bool  // the connection is up (subscriptions may still be restored)
	connected bool  // up, and every subscription restored
	gen       int   // changes of up
	downErr   error // why the connection is down
	filters   map[string]*filter
	byID      map[int]*filter
	nextID    int
	retained  map[string][]byte
	// queue holds the messages to send, in order; autopaho writes them as the
	// connection allows, without waiting for each acknowledgement.
	queue *memory.Queue

	kick   chan struct{}
	cancel context.CancelFunc
	done   sync.WaitGroup
}

// filter is one subscription on the broker, shared by every handler of it.
type filter struct {
	id       int
	handlers map[int]func(Message)
}

// New checks cfg and returns a client; nothing is connected before Start. log
// nil discards.
func New(cfg Config, log *slog.Logger) (*Client, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	u, useTLS, err := ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("mqttclient: %w", err)
	}
	c := &Client{cfg: cfg, url: u, log: log, filters: map[string]*filter{}, byID: map[int]*filter{},
		retained: map[string][]byte{}, queue: memory.New(), kick: make(chan struct{}, 1)}
	if c.cfg.ClientID == "" {
		c.cfg.ClientID = "vakt"
	}
	if c.cfg.KeepAlive <= 0 {
		c.cfg.KeepAlive = 20 * time.Second
	}
	if c.cfg.Backoff == nil {
		c.cfg.Backoff = autopaho.NewExponentialBackoff(500*time.Millisecond, 30*time.Second, time.Second, 2)
	}
	if useTLS {
		c.tls = &tls.Config{ServerName: u.Hostname(), InsecureSkipVerify: cfg.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, fmt.Errorf("mqttclient: CA file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("mqttclient: CA file %s: no PEM certificate in it", cfg.CAFile)
			}
			c.tls.RootCAs = pool
		}
	} else if cfg.CAFile != "" || cfg.InsecureSkipVerify {
		return nil, fmt.Errorf("mqttclient: broker URL %q is not TLS (mqtts://): a CA file or skipping verification means nothing", cfg.URL)
	}
	return c, nil
}

// Addr returns the broker's address, host:port.
func (c *Client) Addr() string { return c.url.Host }

// Start begins connecting, in the background: it does not wait for the
// broker. Close stops it.
func (c *Client) Start(ctx context.Context) error {
	inner, cancel := context.WithCancel(context.WithoutCancel(ctx))
	cfg := autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{c.url},
		TlsCfg:                        c.tls,
		KeepAlive:                     uint16(c.cfg.KeepAlive / time.Second),
		CleanStartOnInitialConnection: true,
		ReconnectBackoff:              c.cfg.Backoff,
		Queue:                         c.queue,
		ConnectTimeout:                sendTimeout,
		ConnectUsername:               c.cfg.Username,
		ConnectPassword:               []byte(c.cfg.Password),
		OnConnectionUp:                func(cm *autopaho.ConnectionManager, _ *paho.Connack) { c.setUp(cm, true, nil) },
		OnConnectionDown: func() bool {
			c.setUp(nil, false, errors.New("connection lost"))
			return true
		},
		OnConnectError: func(err error) { c.setUp(nil, false, err) },
		ClientConfig: paho.ClientConfig{
			ClientID: c.cfg.ClientID,
			OnPublishReceived: []func(paho.PublishReceived) (bool, error){
				func(pr paho.PublishReceived) (bool, error) { c.receive(pr.Packet); return true, nil },
			},
		},
	}
	if c.cfg.Will != nil {
		cfg.WillMessage = &paho.WillMessage{Topic: c.cfg.Will.Topic, Payload: c.cfg.Will.Payload, QoS: 1, Retain: true}
	}
	c.mu.Lock()
	c.cancel = cancel
	c.mu.Unlock()
	cm, err := autopaho.NewConnection(inner, cfg)
	if err != nil {
		cancel()
		return fmt.Errorf("mqttclient: connect %s: %w", c.url, err)
	}
	c.mu.Lock()
	c.cm = cm // OnConnectionUp may have set it already: the same one
	c.mu.Unlock()
	c.done.Go(func() { c.watch(inner) })
	return nil
}

// Close sends what is queued (within ctx's deadline), disconnects and stops
// the client's goroutines. Subscribers are not called after Close returns.
func (c *Client) Close(ctx context.Context) {
	c.mu.Lock()
	cm, cancel := c.cm, c.cancel
	c.mu.Unlock()
	if cm == nil {
		return
	}
	c.mu.Lock()
	up := c.up
	c.mu.Unlock()
	if up {
		select {
		case <-c.queue.WaitForEmpty():
		case <-ctx.Done():
			c.log.Warn("mqttclient: closing with messages not sent", "broker", c.url.Host)
		}
	}
	if err := cm.Disconnect(ctx); err != nil {
		c.log.Warn("mqttclient: disconnect", "broker", c.url.Host, "err", err)
	}
	cancel()
	c.done.Wait()
}

// setUp records a change of the connection, from autopaho's goroutines; cm is
// the connection manager when up.
func (c *Client) setUp(cm *autopaho.ConnectionManager, up bool, err error) {
	c.mu.Lock()
	if cm != nil {
		c.cm = cm
	}
	if !up {
		c.connected = false
	}
	c.up, c.downErr = up, err
	c.gen++
	c.mu.Unlock()
	poke(c.kick)
}

func poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// watch follows the connection: on each new one it restores the subscriptions
// and the retained publications and calls OnUp; on a loss, OnDown once.
func (c *Client) watch(ctx context.Context) {
	seen, downTold := 0, false
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.kick:
		}
		c.mu.Lock()
		gen, up, downErr, cm := c.gen, c.up, c.downErr, c.cm
		c.mu.Unlock()
		if gen == seen {
			continue
		}
		seen = gen
		if !up {
			if !downTold {
				downTold = true
				c.log.Warn("mqttclient: broker unreachable", "broker", c.url.Host, "err", downErr)
				if c.cfg.OnDown != nil {
					c.cfg.OnDown(downErr)
				}
			}
			continue
		}
		if err := c.restore(ctx, cm); err != nil {
			c.log.Warn("mqttclient: restoring subscriptions", "broker", c.url.Host, "err", err)
			continue // the connection is gone again: a new change follows
		}
		c.mu.Lock()
		current := c.gen == gen
		if current {
			c.connected = true
		}
		c.mu.Unlock()
		if !current {
			continue
		}
		downTold = false
		c.log.Info("mqttclient: connected", "broker", c.url.Host)
		if c.cfg.OnUp != nil {
			c.cfg.OnUp()
		}
	}
}

// restore subscribes every filter again and queues every retained publication.
func (c *Client) restore(ctx context.Context, cm *autopaho.ConnectionManager) error {
	c.mu.Lock()
	subs := make(map[string]int, len(c.filters))
	for f, s := range c.filters {
		subs[f] = s.id
	}
	c.mu.Unlock()
	for _, f := range slices.Sorted(maps.Keys(subs)) {
		if err := c.subscribe(ctx, cm, f, subs[f]); err != nil {
			var refused refusedError
			if !errors.As(err, &refused) {
				return err
			}
			c.log.Error("mqttclient: the broker refuses a subscription", "filter", f, "err", err)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range slices.Sorted(maps.Keys(c.retained)) {
		if err := c.enqueue(cm, &paho.Publish{Topic: t, Payload: c.retained[t], QoS: 1, Retain: true}); err != nil {
			return err
		}
	}
	return nil
}

// enqueue queues p for sending; c.mu is held, so that the queue's order is
// the order of the calls.
func (c *Client) enqueue(cm *autopaho.ConnectionManager, p *paho.Publish) error {
	if err := cm.PublishViaQueue(context.Background(), &autopaho.QueuePublish{Publish: p}); err != nil {
		return fmt.Errorf("mqttclient: publish %s: %w", p.Topic, err)
	}
	return nil
}

// refusedError is a subscription the broker answered with a failure code.
type refusedError struct{ code byte }

func (e refusedError) Error() string { return fmt.Sprintf("refused with reason code 0x%02x", e.code) }

func (c *Client) subscribe(ctx context.Context, cm *autopaho.ConnectionManager, f string, id int) error {
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	sa, err := cm.Subscribe(ctx, &paho.Subscribe{
		Subscriptions: []paho.SubscribeOptions{{Topic: f, QoS: 1}},
		Properties:    &paho.SubscribeProperties{SubscriptionIdentifier: &id},
	})
	if sa != nil && len(sa.Reasons) > 0 && sa.Reasons[0] >= 0x80 {
		return refusedError{code: sa.Reasons[0]}
	}
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", f, err)
	}
	return nil
}

// Publish queues a message for the broker (QoS 1). A retained message is also
// kept and published again after every reconnection (an empty payload removes
// the topic's retained message, and stops that). Without a connection a
// message that is not retained is dropped: nobody can hear it (Subscribed is
// false meanwhile).
func (c *Client) Publish(topic string, payload []byte, retain bool) error {
	if retain {
		for _, f := range c.cfg.CommandTopics {
			if mqttdev.MatchTopic(f, topic) {
				return fmt.Errorf("mqttclient: publish %s: a command topic is never published retained", topic)
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if retain {
		if len(payload) == 0 {
			delete(c.retained, topic)
		} else {
			c.retained[topic] = slices.Clone(payload)
		}
	}
	if !c.up {
		if !retain {
			c.log.Debug("mqttclient: not connected, message dropped", "topic", topic)
		}
		return nil
	}
	return c.enqueue(c.cm, &paho.Publish{Topic: topic, Payload: slices.Clone(payload), QoS: 1, Retain: retain})
}

// Subscribe calls fn with every message on a topic matching filter, and returns
// a function that ends this subscription (calling it more than once is fine).
// Without a connection the subscription is made on the next one.
func (c *Client) Subscribe(filter string, fn func(Message)) (cancel func(), err error) {
	if filter == "" {
		return nil, fmt.Errorf("mqttclient: subscribe: empty filter")
	}
	c.mu.Lock()
	f, existed := c.filters[filter]
	if !existed {
		c.nextID++
		f = newFilter(c.nextID)
		c.filters[filter], c.byID[f.id] = f, f
	}
	c.nextID++
	h := c.nextID
	f.handlers[h] = fn
	up, cm := c.up, c.cm
	c.mu.Unlock()
	if !existed && up && cm != nil {
		if err := c.subscribe(context.Background(), cm, filter, f.id); err != nil {
			var refused refusedError
			if errors.As(err, &refused) {
				c.remove(filter, h)
				return nil, fmt.Errorf("mqttclient: subscribe %s: %w", filter, err)
			}
			// The connection dropped: the next one subscribes.
			c.log.Warn("mqttclient: subscribe", "filter", filter, "err", err)
		}
	}
	var once sync.Once
	return func() { once.Do(func() { c.remove(filter, h) }) }, nil
}

func newFilter(id int) *filter { return &filter{id: id, handlers: map[int]func(Message){}} }

// remove ends handler h of filter; the last one unsubscribes on the broker.
func (c *Client) remove(name string, h int) {
	c.mu.Lock()
	f := c.filters[name]
	if f == nil {
		c.mu.Unlock()
		return
	}
	delete(f.handlers, h)
	last := len(f.handlers) == 0
	if last {
		delete(c.filters, name)
		delete(c.byID, f.id)
	}
	up, cm := c.up, c.cm
	c.mu.Unlock()
	if last && up && cm != nil {
		ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
		defer cancel()
		if _, err := cm.Unsubscribe(ctx, &paho.Unsubscribe{Topics: []string{name}}); err != nil {
			c.log.Debug("mqttclient: unsubscribe", "filter", name, "err", err)
		}
	}
}

// Subscribed reports whether the client is connected with every subscription
// in place. Whether a device listens on topic cannot be known on an external
// broker.
func (c *Client) Subscribed(string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connected
}

// receive hands a message to the handlers of the subscription it came by (its
// subscription identifier), or, without one, of every filter matching it.
func (c *Client) receive(p *paho.Publish) {
	m := Message{Topic: p.Topic, Payload: p.Payload, Retained: p.Retain}
	var fns []func(Message)
	c.mu.Lock()
	if p.Properties != nil && p.Properties.SubscriptionIdentifier != nil {
		if f := c.byID[*p.Properties.SubscriptionIdentifier]; f != nil {
			fns = f.fns()
		}
	} else {
		for name, f := range c.filters {
			if mqttdev.MatchTopic(name, p.Topic) {
				fns = append(fns, f.fns()...)
			}
		}
	}
	c.mu.Unlock()
	for _, fn := range fns {
		fn(m)
	}
}

func (f *filter) fns() []func(Message) {
	ids := slices.Sorted(maps.Keys(f.handlers))
	fns := make([]func(Message), 0, len(ids))
	for _, id := range ids {
		fns = append(fns, f.handlers[id])
	}
	return fns
}
