package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// TestSlowClientBoundedAndDisconnected: a client that subscribes and never reads
// holds at most its queue's bound, in messages or in bytes, whatever is
// published; staying over the bound for 10 s disconnects it (logged with its
// name), and its queue is freed.
func TestSlowClientBoundedAndDisconnected(t *testing.T) {
	for _, tc := range []struct {
		name           string
		msgs, bytes    int
		payload        int
		wantQueued     int
		wantQueuedSize int
	}{
		// 1,000-byte payloads: PUBLISH of 1 + 2 + 2 + 13 + 1000 bytes.
		{"messages", 3, 1 << 20, 1000, 3, 3 * 1018},
		// 16 KiB payloads: 1 + 3 + 2 + 13 + 16384 bytes; a fourth is over 64 KiB.
		{"bytes", 100, 64 << 10, 16384, 3, 3 * 16403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := newLogSink()
			clk := newFakeClock()
			events := make(chan string, 10)
			b := newUnstarted(t, Config{MaxQueueMessages: tc.msgs, MaxQueueBytes: tc.bytes,
				OnClient: func(id, user string, connected bool) { events <- fmt.Sprint(id, " ", user, " ", connected) },
			}, nil, slog.New(sink))
			withClock(b, clk)
			if err := b.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			// A small receive buffer from the start (before the window opens), so
			// that the kernel holds little of what the client never reads.
			small := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
				var serr error
				err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
				return errors.Join(err, serr)
			}}
			c, rc := dial311With(t, small, b, "zigbee2mqtt", "z2m-secret", "slow")
			if rc != 0 {
				t.Fatalf("CONNACK %d", rc)
			}
			c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, PacketID: 1,
				Filters: packets.Subscriptions{{Filter: "zigbee2mqtt/#"}}})
			if h, _ := c.read(); h != 0x90 {
				t.Fatalf("got %#x, want SUBACK", h)
			}
			if got := recv(t, events, "connect"); got != "slow zigbee2mqtt true" {
				t.Fatalf("event %q", got)
			}
			cl, ok := b.srv.Load().Clients.Get("slow")
			if !ok {
				t.Fatal("client not registered")
			}
			q := cl.Net.Conn.(*queuedConn)
			// Publish at least 8 MB (more than the socket buffers hold), and on
			// until the client's queue has dropped a message: mochi's own queue in
			// front of it may drop some first when its writer lags. The bound holds
			// all along.
			payload := make([]byte, tc.payload)
			deadline := time.Now().Add(wait)
			for i := 0; ; i++ {
				if err := b.Publish("zigbee2mqtt/x", payload, false, 0); err != nil {
					t.Fatal(err)
				}
				n, size := q.queued()
				if n > tc.msgs || size > tc.bytes {
					t.Fatalf("queued %d messages, %d bytes; bound %d, %d", n, size, tc.msgs, tc.bytes)
				}
				q.mu.Lock()
				over := !q.overSince.IsZero()
				q.mu.Unlock()
				if over && i*tc.payload >= 8<<20 && n == tc.wantQueued && size == tc.wantQueuedSize {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the queue never filled: %d messages, %d bytes", n, size)
				}
			}
			if n, size := q.queued(); n != tc.wantQueued || size != tc.wantQueuedSize {
				t.Fatalf("queued %d messages, %d bytes; want %d, %d", n, size, tc.wantQueued, tc.wantQueuedSize)
			}
			select {
			case e := <-events:
				t.Fatalf("client event %q before its grace ended", e)
			default:
			}

			// The grace runs out. The kernel may still take a packet now and then
			// (its send buffer grows), which empties a place in the queue and ends
			// the grace: the client is disconnected once it has been over its bound
			// for the whole grace, so publish until the queue is over it again and
			// let the grace run out again, until the client is gone.
			var got string
		wait:
			for {
				clk.Advance(queueGrace)
				for {
					if err := b.Publish("zigbee2mqtt/x", payload, false, 0); err != nil {
						t.Fatal(err)
					}
					q.mu.Lock()
					over := !q.overSince.IsZero()
					q.mu.Unlock()
					if over || len(events) > 0 || time.Now().After(deadline) {
						break
					}
				}
				select {
				case got = <-events:
					break wait
				case <-time.After(100 * time.Millisecond):
				}
				if time.Now().After(deadline) {
					t.Fatal("timed out waiting for disconnect")
				}
			}
			if got != "slow zigbee2mqtt false" {
				t.Fatalf("event %q", got)
			}
			if n, size := q.queued(); n != 0 || size != 0 {
				t.Fatalf("after disconnect: %d messages, %d bytes still queued", n, size)
			}
			want := []string{fmt.Sprintf("WARN mqtt client disconnected: it does not read its messages client=slow user=zigbee2mqtt remote=127.0.0.1:PORT queued_messages=%d queued_bytes=%d max_messages=%d max_bytes=%d",
				tc.wantQueued, tc.wantQueuedSize, tc.msgs, tc.bytes)}
			if got := sink.matching("mqtt client disconnected: it does not"); !slices.Equal(got, want) {
				t.Fatalf("log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			// A client that reads gets everything meanwhile.
			r := mustDial(t, b, "zigbee2mqtt", "z2m-secret", "reader")
			r.mustSubscribe(t, "zigbee2mqtt/#", 0)
			for i := range 20 {
				if err := b.Publish("zigbee2mqtt/x", []byte{byte(i)}, false, 0); err != nil {
					t.Fatal(err)
				}
				if m := r.next(t, "message"); m.Payload[0] != byte(i) {
					t.Fatalf("message %d: %v", i, m.Payload)
				}
			}
		})
	}
}
