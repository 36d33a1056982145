package broker

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/mochi-mqtt/server/v2/packets"
)

// mochiHandler passes mochi's own log records to the hub's handler, one level
// lower below Warn (mochi's Info lines, such as every hook and listener added,
// become Debug), and with packets reduced to a summary: a logged packet would show
// payloads and, for CONNECT, the password.
type mochiHandler struct {
	next slog.Handler
}

func newMochiLogger(l *slog.Logger) *slog.Logger {
	return slog.New(mochiHandler{next: l.Handler()}).With("component", "mochi")
}

func demote(l slog.Level) slog.Level {
	if l < slog.LevelWarn {
		return l - 4
	}
	return l
}

func (h mochiHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, demote(l))
}

func (h mochiHandler) Handle(ctx context.Context, r slog.Record) error {
	nr := slog.NewRecord(r.Time, demote(r.Level), r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		nr.AddAttrs(scrub(a))
		return true
	})
	return h.next.Handle(ctx, nr)
}

func (h mochiHandler) WithAttrs(as []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = scrub(a)
	}
	return mochiHandler{next: h.next.WithAttrs(out)}
}

func (h mochiHandler) WithGroup(name string) slog.Handler {
	return mochiHandler{next: h.next.WithGroup(name)}
}

// scrub replaces packets by a summary and hides anything keyed as a password.
func scrub(a slog.Attr) slog.Attr {
	a.Value = a.Value.Resolve()
	if strings.Contains(strings.ToLower(a.Key), "password") {
		return slog.String(a.Key, "[redacted]")
	}
	switch a.Value.Kind() {
	case slog.KindGroup:
		g := a.Value.Group()
		out := make([]slog.Attr, len(g))
		for i, x := range g {
			out[i] = scrub(x)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	case slog.KindAny:
		switch v := a.Value.Any().(type) {
		case packets.Packet:
			return slog.String(a.Key, summary(&v))
		case *packets.Packet:
			if v != nil {
				return slog.String(a.Key, summary(v))
			}
		}
	}
	return a
}

// summary describes a packet without payload or credentials.
func summary(pk *packets.Packet) string {
	s := fmt.Sprintf("type=%s", packets.PacketNames[pk.FixedHeader.Type])
	if pk.TopicName != "" {
		s += fmt.Sprintf(" topic=%q qos=%d retain=%t bytes=%d", pk.TopicName, pk.FixedHeader.Qos, pk.FixedHeader.Retain, len(pk.Payload))
	}
	if pk.PacketID != 0 {
		s += fmt.Sprintf(" id=%d", pk.PacketID)
	}
	return s
}
