package receiver

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"testing/iotest"

	"vakt/hub/uplink/sia"
)

// streamTokens cuts a TCP byte stream into frames the way serveConn does.
func streamTokens(t *testing.T, r io.Reader) [][]byte {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64), 2*sia.MaxFrame)
	sc.Split(sia.SplitFrames)
	var out [][]byte
	for sc.Scan() {
		if len(sc.Bytes()) > sia.MaxFrame {
			t.Fatalf("token of %d bytes", len(sc.Bytes()))
		}
		out = append(out, bytes.Clone(sc.Bytes()))
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("scanner: %v", err)
	}
	return out
}

// FuzzStreamFraming feeds a TCP byte stream to the receiver's framing and to its
// answer for every frame. The framing must not depend on how the stream arrives
// (all at once, or one byte per read), never yield an overlong token, and never
// lose a good frame that follows junk; every answer must be a frame that decodes.
func FuzzStreamFraming(f *testing.F) {
	good := string(handFrame(`"ADM-CID"0001R1L1#1234[#1234|1130 01 003]`))
	f.Add([]byte(good))
	f.Add([]byte(good + good))
	f.Add([]byte("junk\n" + good + "\x00\r\n"))
	f.Add(handFrame(`"SIA-DCS"0002#1234[#1234|Nri1BA3|AInbraak]`))
	f.Add(handFrame(`"SIA-DCS"0003#1234[#1234|Nid5CG1]`))
	f.Add(handFrame(`"NULL"0004R0L0#1234[]`))
	f.Add([]byte("\n\n\n\r\r\x00"))
	f.Add([]byte("\nAB0012\"NULL\"0001L#12[]\r"))
	r, err := New(Config{TCPAddr: "127.0.0.1:0", AllowUnknown: true,
		Output: func(context.Context, Event) error { return nil }}, nil)
	if err != nil {
		f.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	f.Fuzz(func(t *testing.T, stream []byte) {
		whole := streamTokens(t, bytes.NewReader(stream))
		bytewise := streamTokens(t, iotest.OneByteReader(bytes.NewReader(stream)))
		if !slices.EqualFunc(whole, bytewise, bytes.Equal) {
			t.Fatalf("framing depends on the reads:\nwhole    %q\nbytewise %q", whole, bytewise)
		}
		// A good frame after the stream (and a separating LF) is always found.
		tail := append(append(bytes.Clone(stream), '\n'), good...)
		if toks := streamTokens(t, bytes.NewReader(tail)); len(toks) == 0 || string(toks[len(toks)-1]) != good {
			t.Fatalf("good frame after %q lost: %q", stream, toks)
		}
		for _, tok := range whole {
			reply := r.handle(tok, "tcp", "127.0.0.1:1", log)
			if reply == nil {
				continue
			}
			if _, err := sia.Decode(reply, nil); err != nil {
				t.Fatalf("reply %q to %q does not decode: %v", reply, tok, err)
			}
		}
	})
}
