package webrtc

import (
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// pionLogs routes the WebRTC stack's own log lines to slog: its warnings and
// errors (mostly about peers that went away) at info, the rest at debug.
type pionLogs struct{ log *slog.Logger }

func (f pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{f.log.With("pion", scope)}
}

type pionLogger struct{ log *slog.Logger }

func (l pionLogger) Trace(msg string)                  { l.log.Debug(msg) }
func (l pionLogger) Tracef(f string, a ...interface{}) { l.log.Debug(fmt.Sprintf(f, a...)) }
func (l pionLogger) Debug(msg string)                  { l.log.Debug(msg) }
func (l pionLogger) Debugf(f string, a ...interface{}) { l.log.Debug(fmt.Sprintf(f, a...)) }
func (l pionLogger) Info(msg string)                   { l.log.Debug(msg) }
func (l pionLogger) Infof(f string, a ...interface{})  { l.log.Debug(fmt.Sprintf(f, a...)) }
func (l pionLogger) Warn(msg string)                   { l.log.Info(msg) }
func (l pionLogger) Warnf(f string, a ...interface{})  { l.log.Info(fmt.Sprintf(f, a...)) }
func (l pionLogger) Error(msg string)                  { l.log.Info(msg) }
func (l pionLogger) Errorf(f string, a ...interface{}) { l.log.Info(fmt.Sprintf(f, a...)) }
