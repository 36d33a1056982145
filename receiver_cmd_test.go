package main

import (
	"context"
	"errors"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"vakt/hub/uplink/sia"
)

// `vakt receiver` ACKs a message only once its line is written: with a reader of
// stdout that does not read, the sender gets no ACK (and keeps the event); once
// the line is read, the ACK comes. Nothing is dropped.
func TestReceiverCommandSlowOutput(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out, errs := lineWriter{make(chan string)}, lineWriter{make(chan string, 100)} // stdout blocks until read
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"receiver", "-tcp", "127.0.0.1:0", "-account", "1234"}, nil, out, errs)
	}()
	addr := receiverAddr(t, errs, done)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var lines []string
	for seq := 1; seq <= 3; seq++ {
		frame, err := sia.Encode(sia.Message{ID: sia.IDADMCID, Seq: seq, Receiver: "0", Line: "0", Account: "1234",
			Data: "#1234|1130 01 00" + string(rune('0'+seq)), Time: time.Now().UTC()}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Write(frame); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 512)
		_ = conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if n, err := conn.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("frame %d answered %q, %v before its line was written", seq, buf[:n], err)
		}
		select {
		case l := <-out.lines:
			_, rest, _ := strings.Cut(l, " ") // without the receiver's time
			lines = append(lines, rest)
		case <-time.After(10 * time.Second):
			t.Fatal("no event line")
		}
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("frame %d: no reply after its line was written: %v", seq, err)
		}
		m, err := sia.Decode(buf[:n], nil)
		if err != nil || m.ID != sia.IDAck || m.Seq != seq {
			t.Fatalf("frame %d: reply %q, %v", seq, buf[:n], err)
		}
	}
	want := []string{
		"acct 1234 tcp seq 0001 ADM-CID 1 130 01 001 Burglary (zone 1)",
		"acct 1234 tcp seq 0002 ADM-CID 1 130 01 002 Burglary (zone 2)",
		"acct 1234 tcp seq 0003 ADM-CID 1 130 01 003 Burglary (zone 3)",
	}
	if !slices.Equal(lines, want) {
		t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("receiver: %v", err)
	}
}
