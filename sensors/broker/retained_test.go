package broker

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

func TestRetainedEncoding(t *testing.T) {
	pk := packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish, Retain: true, Qos: 2},
		TopicName:   "zigbee2mqtt/door",
		Payload:     []byte(`{"contact":true}`),
		Origin:      "z2m",
		Created:     time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC).Unix(),
		Properties: packets.Properties{
			ContentType:       "application/json",
			ResponseTopic:     "reply/here",
			CorrelationData:   []byte{1, 2, 3},
			PayloadFormat:     1,
			PayloadFormatFlag: true,
			User:              []packets.UserProperty{{Key: "k", Val: "v"}, {Key: "k", Val: "w"}},
		},
	}
	data := encodeRetained(pk)
	m, err := decodeRetained(pk.TopicName, data)
	if err != nil {
		t.Fatal(err)
	}
	got := m.ToPacket()
	if got.TopicName != pk.TopicName || !bytes.Equal(got.Payload, pk.Payload) || got.Origin != pk.Origin ||
		got.Created != pk.Created || got.FixedHeader.Qos != 2 || !got.FixedHeader.Retain ||
		got.FixedHeader.Type != packets.Publish || got.Expiry != 0 {
		t.Fatalf("decoded %+v", got)
	}
	p := got.Properties
	if p.ContentType != "application/json" || p.ResponseTopic != "reply/here" || !bytes.Equal(p.CorrelationData, []byte{1, 2, 3}) ||
		p.PayloadFormat != 1 || !p.PayloadFormatFlag || len(p.User) != 2 || p.User[1].Val != "w" || p.MessageExpiryInterval != 0 {
		t.Fatalf("decoded properties %+v", p)
	}

	// Every truncation is an error, never a panic.
	for i := 0; i < len(data)-len(pk.Payload); i++ {
		if _, err := decodeRetained(pk.TopicName, data[:i]); err == nil {
			t.Fatalf("truncated to %d bytes decoded", i)
		}
	}
	for _, tc := range []struct {
		topic string
		data  []byte
	}{
		{"a/#", data},
		{"", data},
		{"a", append([]byte{2}, data[1:]...)},
		{"a", append([]byte{1, 3}, data[2:]...)},
	} {
		if _, err := decodeRetained(tc.topic, tc.data); err == nil {
			t.Errorf("decoded bad message %q %v", tc.topic, tc.data[:2])
		}
	}
}

func TestPersisterRetriesAndRecovers(t *testing.T) {
	store := newFakeStore()
	store.setFail(errDisk)
	sink := newLogSink()
	p := newPersister(store, slog.New(sink))
	p.retryMin, p.retryMax = 10*time.Millisecond, 20*time.Millisecond
	p.start()
	defer p.close()

	p.enqueue("a", []byte("1"))
	line := recv(t, sink.errors, "error line")
	if !strings.Contains(line, "disk on fire") {
		t.Fatalf("line %q", line)
	}
	// A newer state supersedes the failed one.
	p.enqueue("a", []byte("2"))
	store.setFail(nil)
	store.nextEvent(t, "put", "a")
	if err := p.close(); err != nil {
		t.Fatal(err)
	}
	if v, _ := store.get("a"); string(v) != "2" {
		t.Fatalf("stored %q, want the newest state", v)
	}
	if !strings.Contains(sink.all(), "persisted again") {
		t.Fatalf("recovery not logged:\n%s", sink.all())
	}
}

func TestPersisterFlushesOnClose(t *testing.T) {
	store := newFakeStore()
	p := newPersister(store, slog.New(slog.DiscardHandler))
	p.start()
	for i := 0; i < 100; i++ {
		p.enqueue("t", []byte{byte(i)})
	}
	p.enqueue("gone", []byte("x"))
	p.enqueue("gone", nil)
	if err := p.close(); err != nil {
		t.Fatal(err)
	}
	if v, _ := store.get("t"); len(v) != 1 || v[0] != 99 {
		t.Fatalf("stored %v, want the last state", v)
	}
	if _, ok := store.get("gone"); ok {
		t.Fatal("deleted topic stored")
	}
	p.enqueue("late", []byte("x")) // after close: logged and dropped, no panic
}
