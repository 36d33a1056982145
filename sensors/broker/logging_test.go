package broker

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"
)

func TestMochiLogsScrubbedAndQuiet(t *testing.T) {
	var buf bytes.Buffer
	base := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	l := newMochiLogger(base)

	l.Info("added hook", "hook", "x") // mochi's Info is Debug here: not shown at Info
	if buf.Len() != 0 {
		t.Fatalf("mochi info line shown: %s", buf.String())
	}
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}}
	pk.Connect.Password = []byte("hunter2")
	pk.Connect.Username = []byte("u")
	l.With("pk2", &pk).Warn("error processing packet", "pk", pk, slog.Group("g", "packet", pk), "password", "hunter2")
	out := buf.String()
	if strings.Contains(out, "hunter2") {
		t.Fatalf("password logged: %s", out)
	}
	if !strings.Contains(out, "type=Connect") || !strings.Contains(out, "level=WARN") || !strings.Contains(out, "component=mochi") {
		t.Fatalf("unexpected line: %s", out)
	}
}
