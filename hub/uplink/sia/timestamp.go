package sia

import (
	"fmt"
	"time"
)

// The receiver's timestamp window (DC-09 2013 draft 5.5.1.8/5.5.1.9): it accepts a
// message stamped ts when now−WindowPast ≤ ts ≤ now+WindowFuture.
const (
	WindowPast   = 40 * time.Second
	WindowFuture = 20 * time.Second
)

// timestampLen is the length of "_HH:MM:SS,MM-DD-YYYY".
const timestampLen = 20

// CheckTime checks ts against the standard window around now: it returns nil when
// now−40 s ≤ ts ≤ now+20 s, and otherwise an error wrapping ErrTimestamp that says
// by how much ts is off. A zero ts is missing and fails too.
func CheckTime(ts, now time.Time) error {
	return CheckTimeWindow(ts, now, WindowPast, WindowFuture)
}

// CheckTimeWindow is CheckTime with a window of past and future, both inclusive.
func CheckTimeWindow(ts, now time.Time, past, future time.Duration) error {
	if ts.IsZero() {
		return fmt.Errorf("%w: no timestamp", ErrTimestamp)
	}
	switch d := ts.Sub(now); {
	case d < -past:
		return fmt.Errorf("%w: %s is %s behind the receiver's %s (allowed %s)",
			ErrTimestamp, ts.UTC().Format(time.RFC3339), -d, now.UTC().Format(time.RFC3339), past)
	case d > future:
		return fmt.Errorf("%w: %s is %s ahead of the receiver's %s (allowed %s)",
			ErrTimestamp, ts.UTC().Format(time.RFC3339), d, now.UTC().Format(time.RFC3339), future)
	}
	return nil
}

// appendTimestamp appends "_HH:MM:SS,MM-DD-YYYY" for t in UTC.
func appendTimestamp(b []byte, t time.Time) []byte {
	t = t.UTC()
	return fmt.Appendf(b, "_%02d:%02d:%02d,%02d-%02d-%04d",
		t.Hour(), t.Minute(), t.Second(), int(t.Month()), t.Day(), t.Year())
}

// parseTimestamp parses exactly "_HH:MM:SS,MM-DD-YYYY" as UTC.
func parseTimestamp(s []byte) (time.Time, error) {
	if len(s) != timestampLen || s[0] != '_' || s[3] != ':' || s[6] != ':' || s[9] != ',' ||
		s[12] != '-' || s[15] != '-' {
		return time.Time{}, fmt.Errorf("timestamp %q is not _HH:MM:SS,MM-DD-YYYY", s)
	}
	num := func(p []byte) int {
		n := 0
		for _, c := range p {
			if !isDigit(c) {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	hh, mi, ss := num(s[1:3]), num(s[4:6]), num(s[7:9])
	mo, dd, yy := num(s[10:12]), num(s[13:15]), num(s[16:20])
	t := time.Date(yy, time.Month(mo), dd, hh, mi, ss, 0, time.UTC)
	if hh < 0 || mi < 0 || ss < 0 || mo < 0 || dd < 0 || yy < 0 ||
		t.Hour() != hh || t.Minute() != mi || t.Second() != ss ||
		int(t.Month()) != mo || t.Day() != dd || t.Year() != yy {
		return time.Time{}, fmt.Errorf("timestamp %q is not a valid date and time", s)
	}
	if t.IsZero() {
		// 00:00:00 on 1 January of year 1 is the zero Time, which Message uses for
		// "no timestamp"; no sender means it.
		return time.Time{}, fmt.Errorf("timestamp %q is the zero time", s)
	}
	return t, nil
}
