package broker

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// connectTimeout is how long a new connection may take to send its CONNECT packet
// (including the TLS handshake). After CONNECT, mochi's keepalive deadline applies.
const connectTimeout = 10 * time.Second

// listener is a mochi listener on a socket bound by Start, so that a port in use
// fails Start with the address and ":0" reveals its port. It keeps track of its
// connections: closing it closes every connection, also one that never sent
// CONNECT, and waits until mochi has let go of all of them.
type listener struct {
	id    string // mochi listener id: "tcp", "tls" or "ws"
	ln    net.Listener
	ws    bool
	log   *slog.Logger
	gate  <-chan struct{} // closed when Start has finished; accepting waits for it
	stop  chan struct{}   // closed by Close
	serve chan struct{}   // closed when Serve returns

	mu        sync.Mutex
	closed    bool
	conns     map[net.Conn]struct{}
	http      *http.Server
	establish listeners.EstablishFn
	wg        sync.WaitGroup // one per connection handed to mochi
	// wrap, if set, wraps each connection before it is handed to mochi.
	wrap func(net.Conn) net.Conn
	// closeClients, if set, disconnects the listener's clients at Close in place
	// of the function mochi passes.
	closeClients func(id string)
}

var _ listeners.Listener = (*listener)(nil)

// bind opens a listener socket on addr, with TLS when tc is set.
func bind(id, addr string, tc *tls.Config, ws bool, gate <-chan struct{}, lg *slog.Logger) (*listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Err != nil {
			err = oe.Err
		}
		return nil, fmt.Errorf("broker: cannot listen on %s (mqtt %s): %w", addr, id, err)
	}
	if tc != nil {
		ln = tls.NewListener(ln, tc)
	}
	return &listener{
		id:    id,
		ln:    ln,
		ws:    ws,
		log:   lg,
		gate:  gate,
		stop:  make(chan struct{}),
		serve: make(chan struct{}),
		conns: map[net.Conn]struct{}{},
	}, nil
}

func (l *listener) ID() string       { return l.id }
func (l *listener) Address() string  { return l.ln.Addr().String() }
func (l *listener) Protocol() string { return l.id }

// Init is called by mochi's AddListener; the socket is already bound.
func (l *listener) Init(*slog.Logger) error { return nil }

// Serve accepts connections until Close. mochi runs it on a goroutine of its own.
func (l *listener) Serve(establish listeners.EstablishFn) {
	defer close(l.serve)
	select {
	case <-l.gate:
	case <-l.stop:
		return
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.establish = establish
	if l.ws {
		l.http = &http.Server{
			Handler:           l,
			ReadHeaderTimeout: connectTimeout,
			ErrorLog:          log.New(io.Discard, "", 0),
		}
	}
	l.mu.Unlock()

	if l.ws {
		err := l.http.Serve(l.ln)
		if err != nil && !errors.Is(err, http.ErrServerClosed) && !l.isClosed() {
			l.log.Error("mqtt listener stopped", "listener", l.id, "address", l.Address(), "error", err)
		}
		return
	}
	var delay time.Duration
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if l.isClosed() {
				return
			}
			if isTemporary(err) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				l.log.Warn("mqtt accept failed, retrying", "listener", l.id, "error", err, "retry_in", delay)
				select {
				case <-time.After(delay):
					continue
				case <-l.stop:
					return
				}
			}
			l.log.Error("mqtt listener stopped", "listener", l.id, "address", l.Address(), "error", err)
			return
		}
		delay = 0
		l.handle(c, establish)
	}
}

// isTemporary reports accept errors worth retrying, such as running out of file
// descriptors.
func isTemporary(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	var t interface{ Temporary() bool }
	var to interface{ Timeout() bool }
	return errors.As(err, &t) && t.Temporary() || errors.As(err, &to) && to.Timeout()
}

func (l *listener) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// track registers a connection; false if the listener is closed.
func (l *listener) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.conns[c] = struct{}{}
	l.wg.Add(1)
	return true
}

func (l *listener) untrack(c net.Conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
	_ = c.Close()
	l.wg.Done()
}

// handle hands a TCP or TLS connection to mochi on a new goroutine.
func (l *listener) handle(c net.Conn, establish listeners.EstablishFn) {
	if !l.track(c) {
		_ = c.Close()
		return
	}
	go func() {
		defer l.untrack(c)
		l.run(c, establish)
	}()
}

// run gives the connection to mochi, which returns when the client is gone.
func (l *listener) run(c net.Conn, establish listeners.EstablishFn) {
	_ = c.SetReadDeadline(time.Now().Add(connectTimeout))
	mc := c
	if l.wrap != nil {
		mc = l.wrap(c)
		defer mc.Close()
	}
	err := establish(l.id, mc)
	switch {
	case errors.Is(err, packets.ErrPacketTooLarge):
		l.log.Warn("mqtt connection dropped: packet larger than the maximum packet size",
			"listener", l.id, "remote", c.RemoteAddr().String())
	case err != nil:
		l.log.Debug("mqtt connection ended", "listener", l.id, "remote", c.RemoteAddr().String(), "error", err)
	}
}

var upgrader = websocket.Upgrader{
	Subprotocols: []string{"mqtt", "mqttv3.1"},
	// Browsers' cross-origin connections are allowed like in other brokers: clients
	// still have to log in.
	CheckOrigin: func(*http.Request) bool { return true },
}

// ServeHTTP upgrades a websocket request and serves MQTT over it on the request's
// goroutine.
func (l *listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered with an HTTP error
	}
	c := &wsConn{Conn: ws.NetConn(), ws: ws}
	if !l.track(c) {
		_ = c.Close()
		return
	}
	defer l.untrack(c)
	l.mu.Lock()
	establish := l.establish
	l.mu.Unlock()
	l.run(c, establish)
}

// Close stops accepting, disconnects this listener's clients (mochi's closeClients
// sends them DISCONNECT), closes every connection and waits until mochi is done
// with them.
func (l *listener) Close(closeClients listeners.CloseFn) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	close(l.stop)
	hs := l.http
	l.mu.Unlock()

	if hs != nil {
		_ = hs.Close()
	}
	_ = l.ln.Close()
	if l.closeClients != nil {
		closeClients = l.closeClients
	}
	closeClients(l.id)

	l.mu.Lock()
	for c := range l.conns {
		_ = c.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
}

// wsConn is MQTT over a websocket as a net.Conn: each write is one binary message,
// reads run across message boundaries. mochi serialises writes per client.
type wsConn struct {
	net.Conn // the underlying connection, for addresses and deadlines
	ws       *websocket.Conn
	r        io.Reader // current message, or nil
}

func (c *wsConn) Read(p []byte) (int, error) {
	for {
		if c.r == nil {
			op, r, err := c.ws.NextReader()
			if err != nil {
				return 0, err
			}
			if op != websocket.BinaryMessage {
				return 0, errors.New("websocket: MQTT needs binary messages")
			}
			c.r = r
		}
		n, err := c.r.Read(p)
		if errors.Is(err, io.EOF) {
			c.r = nil
			if n == 0 {
				continue
			}
			err = nil
		}
		return n, err
	}
}

func (c *wsConn) Write(p []byte) (int, error) {
	if err := c.ws.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (c *wsConn) Close() error { return c.ws.Close() }
