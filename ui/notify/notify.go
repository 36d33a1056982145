// Package notify sends the hub's events to push services and webhooks on the
// LAN: a JSON document to a webhook (Home Assistant, Node-RED, any HTTP
// endpoint) or a plain-text message with ntfy's headers (ntfy, and Gotify or
// others through ntfy-compatible gateways).
//
// Each target has its own queue and goroutine: a slow or dead target never holds
// up the hub or another target. Silent events (duress, silent panic) are never
// sent, whatever a target asks for, and nothing sent carries a code, a token's
// secret or a header of the configuration.
package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"vakt/hub"
)

// Formats of a target.
const (
	FormatJSON = "json" // POST application/json: a Notice
	FormatNtfy = "ntfy" // POST text/plain with ntfy's Title, Priority, Tags and Click headers
)

// DefaultEvents is what a target without events gets: alarms (fire and panic
// included), their cancel, tampers, and system faults with their restore.
var DefaultEvents = []string{string(hub.EvAlarm), string(hub.EvAlarmCancel), string(hub.EvPanic),
	string(hub.EvTamper), string(hub.EvFault), string(hub.EvFaultRestore)}

// DefaultTroubleAfter is how long a target may fail before it is a trouble.
const DefaultTroubleAfter = 5 * time.Minute

// Config is the notify section of the boot configuration.
type Config struct {
	// Name is the hub's name in the messages; default "Vakt".
	Name string `yaml:"name"`
	// AppURL is the web app's address as the receivers reach it, sent with every
	// notification (the Click of an ntfy message without an operator link).
	AppURL string `yaml:"app_url"`
	// TroubleAfter is how long a target may keep failing before it is a trouble
	// (fault notify:<name>); default 5m.
	TroubleAfter time.Duration `yaml:"trouble_after"`
	Targets      []Target      `yaml:"targets"`
}

// Target is one receiver of notifications.
type Target struct {
	Name   string `yaml:"name"`
	URL    string `yaml:"url"`
	Format string `yaml:"format"` // json (default) or ntfy
	// Events selects what is sent: event types ("alarm", "armed") or whole
	// classes ("class:fault"); default DefaultEvents.
	Events []string `yaml:"events"`
	// Headers are sent with every request (e.g. Authorization for ntfy or a
	// bearer token); never logged.
	Headers map[string]string `yaml:"headers"`
	// MinInterval, when set, skips a notification of the same event type and
	// zone as one queued less than MinInterval before (a zone opening all
	// day); alarm-class notifications always go.
	MinInterval time.Duration `yaml:"min_interval"`
}

// knownTypes is every event type a target may ask for. Duress and silent panic
// are not among them: they are never sent.
var knownTypes = []hub.EventType{hub.EvAccessDenied, hub.EvAlarm, hub.EvAlarmCancel, hub.EvAlarmConfirmed,
	hub.EvAlarmReportWithheld, hub.EvAlarmReported, hub.EvAlarmUnconfirmed, hub.EvArmForced, hub.EvArmRefused,
	hub.EvArmed, hub.EvArming, hub.EvCodeRefusedLocked, hub.EvCodeRejected, hub.EvCommandDenied, hub.EvDisarmed,
	hub.EvEntryDelay, hub.EvFault, hub.EvFaultRestore, hub.EvLockout, hub.EvLockoutEnd,
	hub.EvMaintenanceEnd, hub.EvMaintenanceStart, hub.EvPanic, hub.EvRestart, hub.EvSirenCutoff,
	hub.EvSwingerShutdown, hub.EvTamper, hub.EvTamperRestore, hub.EvWalkTestEnd, hub.EvWalkTestStart,
	hub.EvWalkTestTamper, hub.EvWalkTestZone, hub.EvDeviceOffline, hub.EvDeviceOnline, hub.EvLowBattery,
	hub.EvBatteryOk, hub.EvZoneOpen, hub.EvZoneClosed, hub.EvStorageEventsLost, hub.EvBypass, hub.EvUnbypass,
	hub.EvIsolate, hub.EvUnisolate, hub.EvManualTest, hub.EvPeriodicTest, hub.EvFaultReported, hub.EvSelfTest,
	hub.EvConfigChanged, hub.EvRestored, hub.EvCameraView, hub.EvClip, hub.EvOperatorView}

var knownClasses = []hub.EventClass{hub.ClassAlarm, hub.ClassTamper, hub.ClassArming, hub.ClassFault, hub.ClassRoutine}

// Validate checks the section; every problem is in the error.
func (c Config) Validate() error {
	var errs []error
	if c.AppURL != "" {
		if err := checkURL(c.AppURL); err != nil {
			errs = append(errs, fmt.Errorf("notify.app_url: %w", err))
		}
	}
	if c.TroubleAfter < 0 || c.TroubleAfter > 0 && c.TroubleAfter < time.Second {
		errs = append(errs, fmt.Errorf("notify.trouble_after %s is less than 1s", c.TroubleAfter))
	}
	names := map[string]bool{}
	for i, t := range c.Targets {
		at := fmt.Sprintf("notify.targets[%d]", i)
		switch {
		case t.Name == "":
			errs = append(errs, fmt.Errorf("%s: name is required", at))
		case strings.ContainsAny(t.Name, ": \t\n"):
			errs = append(errs, fmt.Errorf("%s: name %q has a colon or a space", at, t.Name))
		case names[t.Name]:
			errs = append(errs, fmt.Errorf("%s: duplicate name %q", at, t.Name))
		}
		names[t.Name] = true
		if err := checkURL(t.URL); err != nil {
			errs = append(errs, fmt.Errorf("%s: url: %w", at, err))
		}
		switch t.Format {
		case "", FormatJSON, FormatNtfy:
		default:
			errs = append(errs, fmt.Errorf("%s: format %q is not json or ntfy", at, t.Format))
		}
		for _, e := range t.Events {
			if err := checkEvent(e); err != nil {
				errs = append(errs, fmt.Errorf("%s: events: %w", at, err))
			}
		}
		if t.MinInterval < 0 {
			errs = append(errs, fmt.Errorf("%s: min_interval %s is negative", at, t.MinInterval))
		}
		for _, k := range slices.Sorted(maps.Keys(t.Headers)) {
			if v := t.Headers[k]; k == "" || strings.ContainsAny(k, ": \r\n") || strings.ContainsAny(v, "\r\n") {
				errs = append(errs, fmt.Errorf("%s: headers: %q is not a valid header", at, k))
			}
		}
	}
	return errors.Join(errs...)
}

// checkURL accepts http:// and https:// URLs with a host. The URL itself is
// not in the error: a webhook's path is often its secret.
func checkURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case s == "":
		return errors.New("is empty")
	case err != nil:
		return errors.New("cannot be parsed")
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("scheme %q is not http or https", u.Scheme)
	case u.Host == "":
		return errors.New("has no host")
	}
	return nil
}

func checkEvent(e string) error {
	if c, ok := strings.CutPrefix(e, "class:"); ok {
		if !slices.Contains(knownClasses, hub.EventClass(c)) {
			return fmt.Errorf("%q: unknown class (alarm, tamper, arming, fault, routine)", e)
		}
		return nil
	}
	switch hub.EventType(e) {
	case hub.EvDuress, hub.EvSilentPanic:
		return fmt.Errorf("%q is silent and never notified", e)
	}
	if !slices.Contains(knownTypes, hub.EventType(e)) {
		return fmt.Errorf("%q: unknown event type", e)
	}
	return nil
}

// Wants reports whether the target sends events of this type and class.
// Silent events are never wanted.
func (t Target) Wants(ev hub.Event) bool {
	if ev.Silent || ev.Type == hub.EvDuress || ev.Type == hub.EvSilentPanic {
		return false
	}
	events := t.Events
	if len(events) == 0 {
		events = DefaultEvents
	}
	for _, e := range events {
		if e == string(ev.Type) || e == "class:"+string(ev.Class) {
			return true
		}
	}
	return false
}

// Notice is one notification: what the JSON format sends, and what the ntfy
// format writes as text.
type Notice struct {
	Event    hub.EventType  `json:"event"`
	Class    hub.EventClass `json:"class"`
	Seq      uint64         `json:"seq,omitempty"` // the event's number in the journal
	Zone     string         `json:"zone,omitempty"`
	ZoneName string         `json:"zone_name,omitempty"`
	Who      string         `json:"who"`
	Time     time.Time      `json:"time"`
	State    hub.StateName  `json:"state,omitempty"`
	Detail   string         `json:"detail,omitempty"`
	Hub      string         `json:"hub"`
	AppURL   string         `json:"app_url,omitempty"`
	// OperatorLink is the alarm's operator link (live view and clips of the
	// zone's cameras), the same URL the monitoring centre gets.
	OperatorLink string `json:"operator_link,omitempty"`
	Title        string `json:"title"`
	Message      string `json:"message"`
}

// Important reports whether the notice is of the alarm class: kept first in a
// full queue.
func (n Notice) Important() bool { return n.Class == hub.ClassAlarm }

// NewNotice makes the notice of an event; zoneName is the zone's name ("" for
// none), link the operator link ("" for none), loc the hub's time zone for the
// message's text.
func NewNotice(c Config, ev hub.Event, zoneName, link string, loc *time.Location) Notice {
	name := c.Name
	if name == "" {
		name = "Vakt"
	}
	if loc == nil {
		loc = time.UTC
	}
	n := Notice{Event: ev.Type, Class: ev.Class, Seq: ev.Seq, Zone: ev.Zone, ZoneName: zoneName, Who: ev.Who.String(),
		Time: ev.Time.UTC(), State: ev.State, Detail: ev.Detail, Hub: name, AppURL: c.AppURL, OperatorLink: link}
	what := label(ev)
	where := zoneName
	if where == "" {
		where = ev.Zone
	}
	n.Title = name + ": " + what
	if where != "" {
		n.Title += " - " + where
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s", what)
	if where != "" {
		fmt.Fprintf(&b, " in %s", where)
	}
	fmt.Fprintf(&b, " at %s, by %s.", ev.Time.In(loc).Format("2006-01-02 15:04:05 MST"), n.Who)
	if ev.State != "" {
		fmt.Fprintf(&b, " State: %s.", ev.State)
	}
	if ev.Detail != "" && (ev.Type != hub.EvAlarm || ev.Detail != "burglary" && !hub.ZoneType(ev.Detail).Valid()) { // in the label
		fmt.Fprintf(&b, " %s.", strings.TrimSuffix(ev.Detail, "."))
	}
	if link != "" {
		fmt.Fprintf(&b, "\nCameras: %s", link)
	}
	n.Message = b.String()
	return n
}

// label is an event's words for people.
func label(ev hub.Event) string {
	switch ev.Type {
	case hub.EvAlarm:
		switch ev.Detail {
		case string(hub.ZoneFire):
			return "FIRE alarm"
		case string(hub.ZoneCO):
			return "Carbon monoxide alarm"
		case string(hub.ZoneWater):
			return "Water leak alarm"
		case string(hub.ZonePanic):
			return "PANIC alarm"
		}
		if strings.HasPrefix(ev.Detail, "burglary") {
			return "BURGLARY alarm"
		}
		return "ALARM"
	case hub.EvPanic:
		return "PANIC alarm"
	case hub.EvAlarmCancel:
		return "Alarm cancelled"
	case hub.EvTamper:
		return "Tamper"
	case hub.EvTamperRestore:
		return "Tamper restored"
	case hub.EvFault:
		return "Trouble"
	case hub.EvFaultRestore:
		return "Trouble restored"
	case hub.EvArmed:
		return "Armed " + string(ev.Mode)
	case hub.EvDisarmed:
		return "Disarmed"
	}
	s := strings.ReplaceAll(string(ev.Type), "_", " ")
	return strings.ToUpper(s[:1]) + s[1:]
}

// urgent reports whether an event is an alarm for ntfy's urgent priority.
func urgent(n Notice) bool { return n.Event == hub.EvAlarm || n.Event == hub.EvPanic }

// Request builds the HTTP request of a notice for target t.
func Request(t Target, n Notice) (*http.Request, error) {
	var body []byte
	h := http.Header{}
	switch t.Format {
	case FormatNtfy:
		body = []byte(n.Message)
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Title", mime.BEncoding.Encode("UTF-8", n.Title)) // ntfy decodes RFC 2047
		h.Set("Priority", priority(n))
		h.Set("Tags", strings.Join(tags(n), ","))
		switch {
		case n.OperatorLink != "":
			h.Set("Click", n.OperatorLink)
		case n.AppURL != "":
			h.Set("Click", n.AppURL)
		}
	default:
		var err error
		if body, err = json.Marshal(n); err != nil {
			return nil, fmt.Errorf("notify: encode: %w", err)
		}
		h.Set("Content-Type", "application/json")
	}
	for k, v := range t.Headers {
		h.Set(k, v)
	}
	req, err := http.NewRequest(http.MethodPost, t.URL, strings.NewReader(string(body)))
	if err != nil {
		return nil, fmt.Errorf("notify: target %s: its URL cannot be used", t.Name) // not err: it names the URL
	}
	req.Header = h
	req.Header.Set("User-Agent", "Vakt")
	return req, nil
}

// priority is ntfy's priority of a notice.
func priority(n Notice) string {
	switch {
	case urgent(n):
		return "urgent"
	case n.Event == hub.EvTamper || n.Event == hub.EvFault:
		return "high"
	case n.Class == hub.ClassRoutine:
		return "low"
	}
	return "default"
}

// tags are ntfy's tags of a notice: an emoji and the event type.
func tags(n Notice) []string {
	var emoji string
	switch {
	case n.Event == hub.EvAlarm && n.Detail == string(hub.ZoneFire):
		emoji = "fire"
	case urgent(n):
		emoji = "rotating_light"
	case n.Event == hub.EvTamper || n.Event == hub.EvFault:
		emoji = "warning"
	case n.Event == hub.EvAlarmCancel || n.Event == hub.EvFaultRestore || n.Event == hub.EvTamperRestore:
		emoji = "white_check_mark"
	case n.Event == hub.EvArmed:
		emoji = "lock"
	case n.Event == hub.EvDisarmed:
		emoji = "unlock"
	}
	if emoji == "" {
		return []string{string(n.Event)}
	}
	return []string{emoji, string(n.Event)}
}
