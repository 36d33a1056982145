package broker

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// v311 is a bare MQTT 3.1.1 client (the protocol Zigbee2MQTT uses by default),
// built on mochi's packet encoder.
type v311 struct {
	t    *testing.T
	conn net.Conn
}

func dial311(t *testing.T, b *Broker, user, pass, id string) (*v311, byte) {
	t.Helper()
	return dial311With(t, &net.Dialer{}, b, user, pass, id)
}

// dial311With connects with d, e.g. one that shrinks the receive buffer.
func dial311With(t *testing.T, d *net.Dialer, b *Broker, user, pass, id string) (*v311, byte) {
	t.Helper()
	conn, err := d.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(wait))
	c := &v311{t: t, conn: conn}
	c.send(packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Connect},
		Connect: packets.ConnectParams{
			ProtocolName: []byte("MQTT"), Clean: true, Keepalive: 30, ClientIdentifier: id,
			UsernameFlag: true, Username: []byte(user), PasswordFlag: true, Password: []byte(pass),
		},
	})
	ack := make([]byte, 4)
	if _, err := io.ReadFull(conn, ack); err != nil {
		t.Fatalf("read CONNACK: %v", err)
	}
	if ack[0] != 0x20 || ack[1] != 2 {
		t.Fatalf("not a CONNACK: % x", ack)
	}
	return c, ack[3]
}

func (c *v311) send(pk packets.Packet) {
	c.t.Helper()
	pk.ProtocolVersion = 4
	var buf bytes.Buffer
	var err error
	switch pk.FixedHeader.Type {
	case packets.Connect:
		err = pk.ConnectEncode(&buf)
	case packets.Publish:
		err = pk.PublishEncode(&buf)
	case packets.Subscribe:
		err = pk.SubscribeEncode(&buf)
	}
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.conn.Write(buf.Bytes()); err != nil {
		c.t.Fatal(err)
	}
}

// read reads one packet and returns its first byte and its body.
func (c *v311) read() (byte, []byte) {
	c.t.Helper()
	var h [1]byte
	if _, err := io.ReadFull(c.conn, h[:]); err != nil {
		c.t.Fatalf("read: %v", err)
	}
	n, mul := 0, 1
	for {
		var b [1]byte
		if _, err := io.ReadFull(c.conn, b[:]); err != nil {
			c.t.Fatalf("read: %v", err)
		}
		n += int(b[0]&0x7f) * mul
		if b[0]&0x80 == 0 {
			break
		}
		mul *= 128
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c.conn, body); err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return h[0], body
}

// raw sends bytes as they are.
func (c *v311) raw(b ...byte) {
	c.t.Helper()
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

func TestMQTT311Client(t *testing.T) {
	b := newBroker(t, Config{}, nil, nil)
	hub := inline(t, b, "zigbee2mqtt/#")

	if _, rc := dial311(t, b, "zigbee2mqtt", "guess-42", "z2m-bad"); rc != 0x05 {
		t.Fatalf("wrong password: CONNACK return code %d, want 5 (not authorized)", rc)
	}
	c, rc := dial311(t, b, "zigbee2mqtt", "z2m-secret", "z2m-v3")
	if rc != 0 {
		t.Fatalf("CONNACK return code %d", rc)
	}
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish}, TopicName: "zigbee2mqtt/hall", Payload: []byte(`{"occupancy":true}`)})
	if m := recv(t, hub, "3.1.1 publish"); m.Topic != "zigbee2mqtt/hall" || m.Username != "zigbee2mqtt" || m.ClientID != "z2m-v3" {
		t.Fatalf("got %+v", m)
	}
}
