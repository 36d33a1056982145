package gpio

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"vakt/hub"
)

// posted is a fake hub: it records every input posted, in order.
type posted struct {
	mu  sync.Mutex
	got []string
}

func (p *posted) Post(_ context.Context, in hub.Input) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch in := in.(type) {
	case hub.Sensor:
		p.got = append(p.got, in.Zone+" "+string(in.Signal))
	case hub.Fault:
		p.got = append(p.got, fmt.Sprintf("fault %s=%v (%s)", in.ID, in.Active, in.Detail))
	default:
		p.got = append(p.got, fmt.Sprintf("%T", in))
	}
	return nil
}

// take returns what was posted since the last take.
func (p *posted) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.got
	p.got = nil
	return s
}

// logLines is a logger whose lines (without the time) a test can read.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

func (l *logLines) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
}

func (l *logLines) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := strings.TrimSpace(l.buf.String())
	l.buf.Reset()
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// header is a fake Raspberry Pi header: gpiochip0 with 28 lines named GPIO0…GPIO27.
func header() *Fake {
	f := NewFake()
	names := make([]string, 28)
	for i := range names {
		names[i] = fmt.Sprintf("GPIO%d", i)
	}
	f.AddChip("gpiochip0", names...)
	return f
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") || len(got) != len(want) {
		t.Fatalf("%s:\n got  %q\n want %q", what, got, want)
	}
}

var errIO = errorString("input/output error")

type errorString string

func (e errorString) Error() string { return string(e) }
