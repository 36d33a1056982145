package broker

import (
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
)

// Default bounds of a client's outbound queue, and how long a client may stay
// over them before it is disconnected.
const (
	DefaultMaxQueueMessages = 1000
	DefaultMaxQueueBytes    = 1 << 20
	queueGrace              = 10 * time.Second
	// flushTimeout bounds the writing of what is queued when a connection closes.
	flushTimeout = time.Second
	// writeBatch bounds the packets written in one system call: a busy client's
	// acknowledgements and messages leave together instead of one write each.
	writeBatch = 64
)

// errQueueFull is the write error of a message dropped because the client's
// queue is full.
var errQueueFull = errors.New("client's outbound queue is full")

// queuedConn is a client connection whose writes go through a queue bounded in
// messages and bytes, written to the socket by a goroutine of its own; so mochi's
// write loop never blocks on a client that does not read, and mochi's own queue
// stays short. A PUBLISH that does not fit is dropped (and, for QoS 1/2, taken out
// of the client's inflight messages); a client that keeps overflowing for
// queueGrace is disconnected through over. Other packets always fit: they are
// small and answer the client's own packets.
type queuedConn struct {
	net.Conn
	maxMsgs  int
	maxBytes int
	now      func() time.Time
	over     func(c *queuedConn, msgs, bytes int) // called once, on its own goroutine

	mu        sync.Mutex
	wake      *sync.Cond
	queue     [][]byte
	bytes     int // of queue and writing
	writing   int // packets being written to the socket
	overSince time.Time
	overDone  bool
	overflown bool // the queue has dropped a message at least once
	closing   bool
	err       error
	client    *mqtt.Client // set when the session is established
	done      chan struct{}
	closeOnce sync.Once
}

func newQueuedConn(c net.Conn, maxMsgs, maxBytes int, now func() time.Time, over func(*queuedConn, int, int)) *queuedConn {
	q := &queuedConn{Conn: c, maxMsgs: maxMsgs, maxBytes: maxBytes, now: now, over: over, done: make(chan struct{})}
	q.wake = sync.NewCond(&q.mu)
	go q.run()
	return q
}

func (q *queuedConn) setClient(cl *mqtt.Client) {
	q.mu.Lock()
	q.client = cl
	q.mu.Unlock()
}

// Write queues one packet (mochi writes one packet per call).
func (q *queuedConn) Write(p []byte) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return 0, q.err
	}
	if q.closing {
		return 0, net.ErrClosed
	}
	publish := len(p) > 0 && p[0]>>4 == 3
	if n := len(q.queue) + q.writing; publish && n > 0 && (n+1 > q.maxMsgs || q.bytes+len(p) > q.maxBytes) {
		q.drop(p)
		return 0, errQueueFull
	}
	q.queue = append(q.queue, append([]byte(nil), p...))
	q.bytes += len(p)
	q.wake.Signal()
	return len(p), nil
}

// drop handles a PUBLISH that does not fit; q.mu is held.
func (q *queuedConn) drop(p []byte) {
	if q.client != nil && p[0]&0x06 != 0 {
		if id, ok := publishID(p); ok && q.client.State.Inflight.Delete(id) {
			q.client.State.Inflight.IncreaseSendQuota()
		}
	}
	q.overflown = true
	if q.overSince.IsZero() {
		q.overSince = q.now()
		return
	}
	q.checkGrace()
}

// checkGrace disconnects the client once it has been over its bound for
// queueGrace; q.mu is held.
func (q *queuedConn) checkGrace() {
	if !q.overDone && q.now().Sub(q.overSince) >= queueGrace {
		q.overDone = true
		go q.over(q, len(q.queue)+q.writing, q.bytes)
	}
}

// full reports whether the queue is over its bound (it dropped a message and has
// not drained since). A message for a full queue is refused before mochi copies
// and encodes it, and counts towards the grace like a dropped one.
func (q *queuedConn) full() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.overSince.IsZero() {
		return false
	}
	q.checkGrace()
	return true
}

// hasOverflown reports whether the queue ever dropped a message.
func (q *queuedConn) hasOverflown() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.overflown
}

// publishID is the packet id of an encoded QoS 1/2 PUBLISH.
func publishID(p []byte) (uint16, bool) {
	i := 1
	for ; i < len(p) && i < 5; i++ {
		if p[i]&0x80 == 0 {
			break
		}
	}
	i++
	if i+2 > len(p) {
		return 0, false
	}
	n := int(binary.BigEndian.Uint16(p[i:]))
	i += 2 + n
	if i+2 > len(p) {
		return 0, false
	}
	return binary.BigEndian.Uint16(p[i:]), true
}

func (q *queuedConn) run() {
	defer close(q.done)
	var batch [][]byte
	for {
		q.mu.Lock()
		for len(q.queue) == 0 && !q.closing {
			q.wake.Wait()
		}
		if len(q.queue) == 0 {
			q.mu.Unlock()
			return
		}
		n := min(len(q.queue), writeBatch)
		batch = append(batch[:0], q.queue[:n]...)
		clear(q.queue[:n])
		q.queue = q.queue[n:]
		q.writing = n
		q.mu.Unlock()

		size := 0
		for _, p := range batch {
			size += len(p)
		}
		bufs := net.Buffers(batch)
		_, err := bufs.WriteTo(q.Conn) // one writev on a TCP connection
		clear(batch)

		q.mu.Lock()
		q.bytes = max(0, q.bytes-size)
		q.writing = 0
		if len(q.queue) < q.maxMsgs && q.bytes < q.maxBytes {
			q.overSince = time.Time{}
		}
		if err != nil {
			q.err = err
			q.queue, q.bytes = nil, 0
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
	}
}

// Close writes what is queued (for at most flushTimeout) and closes the socket.
func (q *queuedConn) Close() error {
	var err error
	q.closeOnce.Do(func() {
		q.mu.Lock()
		q.closing = true
		q.wake.Signal()
		q.mu.Unlock()
		_ = q.Conn.SetWriteDeadline(time.Now().Add(flushTimeout))
		<-q.done
		err = q.Conn.Close()
		q.mu.Lock()
		q.queue, q.bytes, q.writing = nil, 0, 0
		q.mu.Unlock()
	})
	return err
}

// abort closes the socket at once, dropping what is queued.
func (q *queuedConn) abort() {
	q.mu.Lock()
	q.queue, q.bytes = nil, 0
	q.mu.Unlock()
	_ = q.Conn.Close()
	_ = q.Close()
}

// queued reports the messages and bytes waiting.
func (q *queuedConn) queued() (int, int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.queue) + q.writing, q.bytes
}
