package notify

import (
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"vakt/hub"
)

var t0 = time.Date(2026, 3, 1, 22, 15, 0, 0, time.UTC)

func fireAlarm() hub.Event {
	return hub.Event{Seq: 41, Time: t0, Type: hub.EvAlarm, Class: hub.ClassAlarm, Zone: "kitchen",
		State: hub.Triggered, Who: hub.Actor{Device: "kitchen", Via: hub.ViaSensor}, Detail: "fire"}
}

func TestNewNotice(t *testing.T) {
	stockholm, err := time.LoadLocation("Europe/Stockholm")
	if err != nil {
		t.Fatal(err)
	}
	c := Config{Name: "Home", AppURL: "https://vakt.lan:8443"}
	got := NewNotice(c, fireAlarm(), "Kök", "https://vakt.example/operator/tok", stockholm)
	want := Notice{Event: hub.EvAlarm, Class: hub.ClassAlarm, Seq: 41, Zone: "kitchen", ZoneName: "Kök",
		Who: "kitchen via sensor", Time: t0, State: hub.Triggered, Detail: "fire", Hub: "Home",
		AppURL: "https://vakt.lan:8443", OperatorLink: "https://vakt.example/operator/tok",
		Title:   "Home: FIRE alarm - Kök",
		Message: "FIRE alarm in Kök at 2026-03-01 23:15:00 CET, by kitchen via sensor. State: triggered.\nCameras: https://vakt.example/operator/tok"}
	if got != want {
		t.Errorf("notice\n got %+v\nwant %+v", got, want)
	}
	disarm := hub.Event{Seq: 42, Time: t0, Type: hub.EvDisarmed, Class: hub.ClassArming, State: hub.Disarmed,
		Who: hub.Actor{UserName: "Alice", Device: "hall", Via: hub.ViaKeypad}}
	got = NewNotice(Config{}, disarm, "", "", nil)
	want = Notice{Event: hub.EvDisarmed, Class: hub.ClassArming, Seq: 42, Who: "Alice at hall via keypad", Time: t0,
		State: hub.Disarmed, Hub: "Vakt", Title: "Vakt: Disarmed",
		Message: "Disarmed at 2026-03-01 22:15:00 UTC, by Alice at hall via keypad. State: disarmed."}
	if got != want {
		t.Errorf("notice\n got %+v\nwant %+v", got, want)
	}
}

// request renders a request as its method, URL, sorted headers and body.
func request(t *testing.T, r *http.Request) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	sb.WriteString(r.Method + " " + r.URL.String() + "\n")
	for _, k := range sortedKeys(r.Header) {
		if k == "Accept-Encoding" || k == "Content-Length" {
			continue // set by the transport
		}
		sb.WriteString(k + ": " + strings.Join(r.Header[k], ",") + "\n")
	}
	sb.WriteString("\n" + string(b))
	return sb.String()
}

func TestRequestFormats(t *testing.T) {
	n := NewNotice(Config{Name: "Home", AppURL: "https://vakt.lan"}, fireAlarm(), "Kök", "https://vakt.example/operator/tok", nil)
	ntfy := Target{Name: "phone", URL: "http://ntfy.lan/vakt", Format: FormatNtfy, Headers: map[string]string{"Authorization": "Bearer tk_x"}}
	r, err := Request(ntfy, n)
	if err != nil {
		t.Fatal(err)
	}
	want := "POST http://ntfy.lan/vakt\n" +
		"Authorization: Bearer tk_x\n" +
		"Click: https://vakt.example/operator/tok\n" +
		"Content-Type: text/plain; charset=utf-8\n" +
		"Priority: urgent\n" +
		"Tags: fire,alarm\n" +
		"Title: =?UTF-8?b?SG9tZTogRklSRSBhbGFybSAtIEvDtms=?=\n" +
		"User-Agent: Vakt\n" +
		"\n" + n.Message
	if got := request(t, r); got != want {
		t.Errorf("ntfy request\n got %q\nwant %q", got, want)
	}

	restore := NewNotice(Config{Name: "Home", AppURL: "https://vakt.lan"}, hub.Event{Seq: 50, Time: t0, Type: hub.EvFaultRestore,
		Class: hub.ClassFault, State: hub.Disarmed, Who: hub.Actor{Via: hub.ViaSystem}, Detail: "mains:psu"}, "", "", nil)
	r, err = Request(ntfy, restore)
	if err != nil {
		t.Fatal(err)
	}
	want = "POST http://ntfy.lan/vakt\n" +
		"Authorization: Bearer tk_x\n" +
		"Click: https://vakt.lan\n" +
		"Content-Type: text/plain; charset=utf-8\n" +
		"Priority: default\n" +
		"Tags: white_check_mark,fault_restore\n" +
		"Title: Home: Trouble restored\n" +
		"User-Agent: Vakt\n" +
		"\n" + "Trouble restored at 2026-03-01 22:15:00 UTC, by system via system. State: disarmed. mains:psu."
	if got := request(t, r); got != want {
		t.Errorf("ntfy request\n got %q\nwant %q", got, want)
	}

	hook := Target{Name: "ha", URL: "http://ha.lan:8123/api/webhook/vakt-x", Format: FormatJSON}
	r, err = Request(hook, n)
	if err != nil {
		t.Fatal(err)
	}
	want = "POST http://ha.lan:8123/api/webhook/vakt-x\n" +
		"Content-Type: application/json\n" +
		"User-Agent: Vakt\n" +
		"\n" + `{"event":"alarm","class":"alarm","seq":41,"zone":"kitchen","zone_name":"Kök","who":"kitchen via sensor",` +
		`"time":"2026-03-01T22:15:00Z","state":"triggered","detail":"fire","hub":"Home","app_url":"https://vakt.lan",` +
		`"operator_link":"https://vakt.example/operator/tok","title":"Home: FIRE alarm - Kök",` +
		`"message":"FIRE alarm in Kök at 2026-03-01 22:15:00 UTC, by kitchen via sensor. State: triggered.\nCameras: https://vakt.example/operator/tok"}`
	if got := request(t, r); got != want {
		t.Errorf("json request\n got %s\nwant %s", got, want)
	}
}

func TestWants(t *testing.T) {
	evs := []hub.Event{
		{Type: hub.EvAlarm, Class: hub.ClassAlarm},
		{Type: hub.EvDuress, Class: hub.ClassAlarm, Silent: true},
		{Type: hub.EvSilentPanic, Class: hub.ClassAlarm, Silent: true},
		{Type: hub.EvSilentPanic, Class: hub.ClassAlarm}, // never, even unmarked
		{Type: hub.EvArmed, Class: hub.ClassArming},
		{Type: hub.EvFault, Class: hub.ClassFault},
		{Type: hub.EvZoneOpen, Class: hub.ClassRoutine},
		{Type: hub.EvPanic, Class: hub.ClassAlarm},
	}
	for _, tc := range []struct {
		events []string
		want   []bool
	}{
		{nil, []bool{true, false, false, false, false, true, false, true}},
		{[]string{"class:alarm", "armed"}, []bool{true, false, false, false, true, false, false, true}},
		{[]string{"zone_open"}, []bool{false, false, false, false, false, false, true, false}},
	} {
		var got []bool
		for _, ev := range evs {
			got = append(got, Target{Events: tc.events}.Wants(ev))
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("events %v: wants %v, want %v", tc.events, got, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	good := Config{AppURL: "https://vakt.lan", Targets: []Target{
		{Name: "phone", URL: "https://ntfy.lan/vakt", Format: "ntfy", Events: []string{"alarm", "class:fault", "armed"}},
		{Name: "ha", URL: "http://ha.lan:8123/api/webhook/x", Headers: map[string]string{"Authorization": "Bearer x"}},
	}}
	if err := good.Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
	bad := Config{AppURL: "vakt.lan", TroubleAfter: time.Millisecond, Targets: []Target{
		{Name: "", URL: "ftp://x/secret-path", Format: "xml"},
		{Name: "a b", URL: "http://", Events: []string{"duress", "class:nope", "alarms"}},
		{Name: "ha", URL: "https://ha.lan/secret-path", Headers: map[string]string{"Bad: x": "1", "X-Ok": "a\nb"}},
		{Name: "ha", URL: "https://ha.lan", MinInterval: -time.Second},
	}}
	got := strings.Split(bad.Validate().Error(), "\n")
	want := []string{
		`notify.app_url: scheme "" is not http or https`,
		`notify.trouble_after 1ms is less than 1s`,
		`notify.targets[0]: name is required`,
		`notify.targets[0]: url: scheme "ftp" is not http or https`,
		`notify.targets[0]: format "xml" is not json or ntfy`,
		`notify.targets[1]: name "a b" has a colon or a space`,
		`notify.targets[1]: url: has no host`,
		`notify.targets[1]: events: "duress" is silent and never notified`,
		`notify.targets[1]: events: "class:nope": unknown class (alarm, tamper, arming, fault, routine)`,
		`notify.targets[1]: events: "alarms": unknown event type`,
		`notify.targets[2]: headers: "Bad: x" is not a valid header`,
		`notify.targets[2]: headers: "X-Ok" is not a valid header`,
		`notify.targets[3]: duplicate name "ha"`,
		`notify.targets[3]: min_interval -1s is negative`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors\n got %q\nwant %q", got, want)
	}
}

func sortedKeys(h http.Header) []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
