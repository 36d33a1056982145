package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"vakt/hub"
	"vakt/hub/uplink/receiver"
	"vakt/hub/uplink/sia"
	"vakt/sensors/camera/camtest"
)

// hook is a notification target on loopback: it records each request as
// "path | headers | body" with the times and journal numbers made stable, and
// answers with status (200 unless set).
type hook struct {
	srv     *httptest.Server
	mu      sync.Mutex
	status  int
	hold    chan struct{} // when set, each request waits until it is closed
	got     []string
	arrived chan string
}

var (
	stampRe = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Z]+`)
	isoRe   = regexp.MustCompile(`"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"`)
	seqRe   = regexp.MustCompile(`"seq":\d+,`)
)

func newHook(t *testing.T) *hook {
	h := &hook{status: 200, arrived: make(chan string, 1024)}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if h.hold != nil {
			<-h.hold
		}
		var hs []string
		for _, k := range []string{"Authorization", "Content-Type", "Title", "Priority", "Tags", "Click"} {
			if v := r.Header.Get(k); v != "" {
				hs = append(hs, k+"="+v)
			}
		}
		body := stampRe.ReplaceAllString(string(b), "TIME")
		body = isoRe.ReplaceAllString(body, `"time":"T"`)
		body = seqRe.ReplaceAllString(body, "")
		line := r.URL.Path + " | " + strings.Join(hs, " ") + " | " + body
		h.mu.Lock()
		status := h.status
		h.got = append(h.got, fmt.Sprintf("%d %s", status, line))
		h.mu.Unlock()
		w.WriteHeader(status)
		select {
		case h.arrived <- line:
		default: // a target retried for long: its lines are in got
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) setStatus(s int) {
	h.mu.Lock()
	h.status = s
	h.mu.Unlock()
}

// next returns the next n requests' lines.
func (h *hook) next(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	for len(out) < n {
		select {
		case l := <-h.arrived:
			out = append(out, l)
		case <-time.After(30 * time.Second):
			t.Fatalf("only %d of %d notifications: %q", len(out), n, out)
		}
	}
	return out
}

// none checks that no request came.
func (h *hook) none(t *testing.T) {
	t.Helper()
	select {
	case l := <-h.arrived:
		t.Errorf("unexpected notification %s", l)
	default:
	}
}

func (h *hook) all() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.got...)
}

// The real hub with three targets: an ntfy topic (default events), a JSON
// webhook (alarms, faults, arming) and one that goes down. An alarm, its cancel,
// a duress disarm and a silent panic (never notified), and a target down for
// trouble_after: the fault notify:<name> and its restore reach the others.
func TestNotificationsFromTheHub(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the hub")
	}
	saved := notifyRetry
	notifyRetry.min, notifyRetry.max = 10*time.Millisecond, 100*time.Millisecond
	t.Cleanup(func() { notifyRetry = saved })
	phone, ha, flaky := newHook(t), newHook(t), newHook(t)

	var users []hub.User
	bob := hub.User{ID: "bob"}
	var err error
	if bob.PINHash, err = hub.HashPIN(users, "246800", hub.DefaultHashParams); err != nil {
		t.Fatal(err)
	}
	if bob.DuressHash, err = hub.HashPIN([]hub.User{bob}, "864200", hub.DefaultHashParams); err != nil {
		t.Fatal(err)
	}
	domain := strings.Replace(domainYAML, "outputs:",
		"  - {id: button, name: Bedside button, number: 3, type: silent_panic, mqtt: {topic: test/button}}\noutputs:", 1) +
		"users:\n  - {id: bob, name: Bob, number: 2, role: user, pin_hash: \"" + bob.PINHash + "\", duress_hash: \"" + bob.DuressHash + "\"}\n"
	dir, args := setupIn(t, t.TempDir(), domain)
	boot := bootYAML + fmt.Sprintf(`log_level: debug
notify:
  name: Villa
  app_url: https://vakt.lan:8443
  trouble_after: 1s
  targets:
    - {name: phone, url: "%s/vakt-alarm", format: ntfy, headers: {Authorization: "Bearer tk_secret"}}
    - {name: ha, url: "%s/api/webhook/vakt-x", format: json, events: ["class:alarm", fault, fault_restore, armed]}
    - {name: flaky, url: "%s/flaky", events: [armed]}
`, phone.srv.URL, ha.srv.URL, flaky.srv.URL)
	if err := os.WriteFile(filepath.Join(dir, "vakt.yaml"), []byte(boot), 0o600); err != nil {
		t.Fatal(err)
	}
	silent := &matchWriter{re: regexp.MustCompile(`msg=event type=(duress|silent_panic) `), ch: make(chan []string, 4)}
	p := startHubLog(t, silent, args...)
	defer p.stop(t)
	c := dialMQTT(t, p.mqtt, "tester", "tester-pass")
	c.sub(t, "vakt/state")
	c.waitFor(t, "vakt/state", "disarmed")

	// Armed, an alarm in the window, disarmed: the alarm and its cancel.
	c.pub(t, "test/window", `{"contact":true,"tamper":false}`, true)
	c.pub(t, "vakt/command", `{"command":"ARM_NIGHT","code":"135790"}`, false)
	c.waitFor(t, "vakt/state", "armed_night")
	ha.next(t, 1)
	flaky.next(t, 1)
	c.pub(t, "test/window", `{"contact":false,"tamper":false}`, true)
	c.waitFor(t, "vakt/state", "triggered")
	phone.next(t, 1)
	ha.next(t, 1)
	c.pub(t, "vakt/command", `{"command":"DISARM","code":"135790"}`, false)
	c.waitFor(t, "vakt/state", "disarmed")
	phone.next(t, 1)
	ha.next(t, 1)

	// Armed again, then Bob's duress code disarms, and the silent panic
	// button: nothing of either is notified.
	c.pub(t, "test/window", `{"contact":true,"tamper":false}`, true)
	c.pub(t, "vakt/command", `{"command":"ARM_NIGHT","code":"135790"}`, false)
	c.waitFor(t, "vakt/state", "armed_night")
	ha.next(t, 1)
	flaky.next(t, 1)
	c.pub(t, "vakt/command", `{"command":"DISARM","code":"864200"}`, false)
	c.waitFor(t, "vakt/state", "disarmed")
	c.pub(t, "test/button", "ON", true)
	c.pub(t, "test/button", "OFF", true)
	// Both are in the journal before the trouble below (more than a second
	// later): had either been notified, it would have come before it.
	for _, typ := range []string{"duress", "silent_panic"} {
		if got := silent.await(t, typ, 30*time.Second)[1]; got != typ {
			t.Fatalf("%s, want %s", got, typ)
		}
	}

	// The flaky target fails from now on: the next arming is retried until
	// it has failed for a second, a trouble the others are told of, and
	// arming is not refused for it.
	flaky.setStatus(503)
	c.pub(t, "vakt/command", `{"command":"ARM_NIGHT","code":"135790"}`, false)
	c.waitFor(t, "vakt/state", "armed_night")
	ha.next(t, 1)
	phone.next(t, 1)
	ha.next(t, 1)
	flaky.setStatus(200)
	phone.next(t, 1)
	ha.next(t, 1)
	phone.none(t)
	ha.none(t)

	const (
		ntfy     = "200 /vakt-alarm | Authorization=Bearer tk_secret Content-Type=text/plain; charset=utf-8 Title=Villa: "
		click    = " Click=https://vakt.lan:8443 | "
		alice    = "Alice Admin at mqtt:tester/test-tester via mqtt"
		hubJSON  = `,"hub":"Villa","app_url":"https://vakt.lan:8443"`
		armed    = `{"event":"armed","class":"arming","who":"` + alice + `","time":"T","state":"armed_night"` + hubJSON + `,"title":"Villa: Armed night","message":"Armed night at TIME, by ` + alice + `. State: armed_night."}`
		haPost   = "200 /api/webhook/vakt-x | Content-Type=application/json | "
		haArmed  = haPost + armed
		down     = "notify:flaky: no notification delivered for 1s: HTTP 503 Service Unavailable"
		restored = "notify:flaky: delivered again"
	)
	wantPhone := []string{
		ntfy + "BURGLARY alarm - Window Priority=urgent Tags=rotating_light,alarm" + click + "BURGLARY alarm in Window at TIME, by window via sensor. State: triggered.",
		ntfy + "Alarm cancelled - Window Priority=default Tags=white_check_mark,alarm_cancel" + click + "Alarm cancelled in Window at TIME, by " + alice + ". State: triggered.",
		ntfy + "Trouble Priority=high Tags=warning,fault" + click + "Trouble at TIME, by hub via system. State: armed_night. " + down + ".",
		ntfy + "Trouble restored Priority=default Tags=white_check_mark,fault_restore" + click + "Trouble restored at TIME, by hub via system. State: armed_night. " + restored + ".",
	}
	if got := phone.all(); !reflect.DeepEqual(got, wantPhone) {
		t.Errorf("ntfy requests\n got %s\nwant %s", strings.Join(got, "\n"), strings.Join(wantPhone, "\n"))
	}
	wantHA := []string{
		haArmed,
		haPost + `{"event":"alarm","class":"alarm","zone":"window","zone_name":"Window","who":"window via sensor","time":"T","state":"triggered","detail":"burglary"` + hubJSON +
			`,"title":"Villa: BURGLARY alarm - Window","message":"BURGLARY alarm in Window at TIME, by window via sensor. State: triggered."}`,
		haPost + `{"event":"alarm_cancel","class":"alarm","zone":"window","zone_name":"Window","who":"` + alice + `","time":"T","state":"triggered"` + hubJSON +
			`,"title":"Villa: Alarm cancelled - Window","message":"Alarm cancelled in Window at TIME, by ` + alice + `. State: triggered."}`,
		haArmed,
		haArmed,
		haPost + `{"event":"fault","class":"fault","who":"hub via system","time":"T","state":"armed_night","detail":"` + down + `"` + hubJSON +
			`,"title":"Villa: Trouble","message":"Trouble at TIME, by hub via system. State: armed_night. ` + down + `."}`,
		haPost + `{"event":"fault_restore","class":"fault","who":"hub via system","time":"T","state":"armed_night","detail":"` + restored + `"` + hubJSON +
			`,"title":"Villa: Trouble restored","message":"Trouble restored at TIME, by hub via system. State: armed_night. ` + restored + `."}`,
	}
	if got := ha.all(); !reflect.DeepEqual(got, wantHA) {
		t.Errorf("webhook requests\n got %s\nwant %s", strings.Join(got, "\n"), strings.Join(wantHA, "\n"))
	}
	// The flaky target: the armed notification tried again and again while
	// it answered 503, then taken.
	flakyArmed := " /flaky | Content-Type=application/json | " + armed
	var gotFlaky []string
	for _, l := range flaky.all() {
		if len(gotFlaky) == 0 || gotFlaky[len(gotFlaky)-1] != l {
			gotFlaky = append(gotFlaky, l)
		}
	}
	if want := []string{"200" + flakyArmed, "503" + flakyArmed, "200" + flakyArmed}; !reflect.DeepEqual(gotFlaky, want) {
		t.Errorf("flaky requests (repeats collapsed)\n got %s\nwant %s", strings.Join(gotFlaky, "\n"), strings.Join(want, "\n"))
	}
}

// An alarm's notification carries the operator link, the very URL (same
// token) that goes to the monitoring centre in the report's [V] data.
func TestNotificationCarriesTheOperatorLink(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the hub and a camera")
	}
	key, err := sia.ParseKey("000102030405060708090A0B0C0D0E0F", "hex")
	if err != nil {
		t.Fatal(err)
	}
	rcv := startReceiver(t, receiver.Account{ID: "4321", Key: key})
	fake := camtest.Start(t, camtest.Options{User: "viewer", Pass: "pw", FPS: 25})
	phone, ha := newHook(t), newHook(t)
	dir, args := setup(t)
	writeVideoBoot(t, dir, fmt.Sprintf(`video:
  operator_url: https://home.example.net:8443
  cameras:
    - {name: garden, url: %q, always_on: true, buffer_seconds: 2, zones: [window]}
uplink:
  paths:
    - {addr: %q, network: tcp, account: "4321", key: "000102030405060708090A0B0C0D0E0F", key_format: hex, poll: 1m}
notify:
  targets:
    - {name: phone, url: "%s/vakt", format: ntfy, events: [alarm]}
    - {name: ha, url: "%s/hook", events: [alarm]}
`, fake.URL, rcv.TCPAddr().String(), phone.srv.URL, ha.srv.URL))
	p := startHub(t, args...)
	defer p.stop(t)
	fake.AwaitPublished(t, fake.Published()+25)
	alarmInWindow(t, p)
	xdata := fmt.Sprint(waitCID(t, rcv, "1131 01 002").Message.XData)
	link := strings.TrimPrefix(strings.TrimSuffix(xdata, "}]"), "[{V ")
	if !strings.HasPrefix(link, "https://home.example.net:8443/operator/") {
		t.Fatalf("xdata %q", xdata)
	}
	gotPhone, gotHA := phone.next(t, 1)[0], ha.next(t, 1)[0]
	wantPhone := "/vakt | Content-Type=text/plain; charset=utf-8 Title=Vakt: BURGLARY alarm - Window Priority=urgent Tags=rotating_light,alarm Click=" + link +
		" | BURGLARY alarm in Window at TIME, by window via sensor. State: triggered.\nCameras: " + link
	if gotPhone != wantPhone {
		t.Errorf("ntfy request\n got %q\nwant %q", gotPhone, wantPhone)
	}
	wantHA := `/hook | Content-Type=application/json | {"event":"alarm","class":"alarm","zone":"window","zone_name":"Window","who":"window via sensor",` +
		`"time":"T","state":"triggered","detail":"burglary","hub":"Vakt","operator_link":"` + link + `","title":"Vakt: BURGLARY alarm - Window",` +
		`"message":"BURGLARY alarm in Window at TIME, by window via sensor. State: triggered.\nCameras: ` + link + `"}`
	if gotHA != wantHA {
		t.Errorf("webhook request\n got %s\nwant %s", gotHA, wantHA)
	}
}

// A flood of events while one target hangs: the hub goes on (the arming after
// the flood reaches the other target), and the hung target's queue stays
// bounded: all but the one in flight and the 64 queued are dropped, counted.
func TestNotifyFloodWithAHungTarget(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the hub")
	}
	slow := newHook(t)
	slow.hold = make(chan struct{})
	t.Cleanup(func() { close(slow.hold) }) // before the server closes
	fast := newHook(t)
	dir, args := setup(t)
	boot := bootYAML + fmt.Sprintf(`notify:
  targets:
    - {name: slow, url: "%s/slow", events: [zone_open, zone_closed, armed]}
    - {name: fast, url: "%s/fast", events: [armed]}
`, slow.srv.URL, fast.srv.URL)
	if err := os.WriteFile(filepath.Join(dir, "vakt.yaml"), []byte(boot), 0o600); err != nil {
		t.Fatal(err)
	}
	drops := &matchWriter{re: regexp.MustCompile(`notify: queue full.* target=slow .*dropped=(\d+)`), ch: make(chan []string, 4096)}
	p := startHubLog(t, drops, args...)
	defer p.stop(t)
	c := dialMQTT(t, p.mqtt, "tester", "tester-pass")
	c.sub(t, "vakt/state")
	c.waitFor(t, "vakt/state", "disarmed")
	const toggles = 150
	for i := range toggles {
		c.pub(t, "test/window", fmt.Sprintf(`{"contact":%v}`, i%2 == 1), true)
	}
	c.pub(t, "vakt/command", `{"command":"ARM_NIGHT","code":"135790"}`, false)
	c.waitFor(t, "vakt/state", "armed_night")
	if got := fast.next(t, 1)[0]; !strings.HasPrefix(got, `/fast | Content-Type=application/json | {"event":"armed"`) {
		t.Fatalf("fast target got %s", got)
	}
	var evs struct{ Events []hub.Event }
	sockJSON(t, p.data, "/api/v1/events?type=zone_open,zone_closed,armed&limit=1000", &evs)
	n := len(evs.Events)
	if n < toggles/2 {
		t.Fatalf("only %d events from %d toggles", n, toggles)
	}
	// Every notice but the one in flight and the 64 queued is dropped, each
	// drop logged with the count so far (the log comes through a pipe: the
	// last line may still be on its way).
	want := fmt.Sprint(n - 1 - 64)
	var counts []string
	for len(counts) == 0 || counts[len(counts)-1] != want {
		select {
		case m := <-drops.ch:
			counts = append(counts, m[1])
		case <-time.After(30 * time.Second):
			t.Fatalf("drop counts %v, want the last %s (of %d notices)", counts, want, n)
		}
	}
	for i, c := range counts {
		if c != fmt.Sprint(i+1) {
			t.Fatalf("drop counts %v, want 1 to %s", counts, want)
		}
	}
	select {
	case m := <-drops.ch:
		t.Errorf("one more drop: %s", m[0])
	default:
	}
	if got := slow.all(); len(got) != 0 {
		t.Errorf("the hung target answered %q", got)
	}
}

// A target's trouble outlives a restart: still configured, its next delivery
// restores it; no longer configured, the start clears it.
func TestNotifyFaultAcrossRestarts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the hub")
	}
	saved := notifyRetry
	notifyRetry.min, notifyRetry.max = 10*time.Millisecond, 100*time.Millisecond
	t.Cleanup(func() { notifyRetry = saved })
	ha, phone := newHook(t), newHook(t)
	gone := httptest.NewServer(http.NotFoundHandler())
	closed := gone.URL
	gone.Close()
	dir, args := setup(t)
	boot := func(phoneURL string, withPhone bool) {
		t.Helper()
		b := bootYAML + fmt.Sprintf("notify:\n  trouble_after: 1s\n  targets:\n    - {name: ha, url: %q, events: [fault, fault_restore]}\n", ha.srv.URL+"/hook")
		if withPhone {
			b += fmt.Sprintf("    - {name: phone, url: %q, events: [armed, disarmed]}\n", phoneURL+"/phone")
		}
		if err := os.WriteFile(filepath.Join(dir, "vakt.yaml"), []byte(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	trouble := func(p *hubProc) []string {
		var tr struct{ Faults []struct{ ID, Detail string } }
		sockJSON(t, p.data, "/api/v1/trouble", &tr)
		var out []string
		for _, f := range tr.Faults {
			out = append(out, f.Detail) // the raising event's detail, which names the fault
		}
		return out
	}
	arm := func(p *hubProc, cmd, state string) {
		c := dialMQTT(t, p.mqtt, "tester", "tester-pass")
		c.sub(t, "vakt/state")
		c.pub(t, "test/window", `{"contact":true}`, true)
		c.pub(t, "vakt/command", `{"command":"`+cmd+`","code":"135790"}`, false)
		c.waitFor(t, "vakt/state", state)
	}
	const down = "notify:phone: no notification delivered for 1s: "

	// The phone's service is down: a trouble.
	boot(closed, true)
	p := startHub(t, args...)
	arm(p, "ARM_NIGHT", "armed_night")
	first := ha.next(t, 1)[0]
	p.stop(t)
	// Back, at another address: the trouble is still there after the start,
	// until the phone takes the disarm.
	boot(phone.srv.URL, true)
	p = startHub(t, args...)
	if got := trouble(p); len(got) != 1 || !strings.HasPrefix(got[0], down) {
		t.Errorf("trouble after the restart %q", got)
	}
	arm(p, "DISARM", "disarmed")
	ha.next(t, 1)
	if got := trouble(p); len(got) != 0 {
		t.Errorf("trouble after the delivery %q", got)
	}
	// Down again, then taken out of the configuration: the start clears it.
	phone.setStatus(503)
	arm(p, "ARM_NIGHT", "armed_night")
	ha.next(t, 1)
	p.stop(t)
	boot("", false)
	p = startHub(t, args...)
	defer p.stop(t)
	ha.next(t, 1)
	if got := trouble(p); len(got) != 0 {
		t.Errorf("trouble after the target went %q", got)
	}
	hook := "200 /hook | Content-Type=application/json | "
	fault := func(event, state, detail, title string) string {
		return hook + `{"event":"` + event + `","class":"fault","who":"hub via system","time":"T","state":"` + state + `","detail":"` + detail +
			`","hub":"Vakt","title":"Vakt: ` + title + `","message":"` + title + ` at TIME, by hub via system. State: ` + state + `. ` + detail + `."}`
	}
	dial := strings.Split(first, `"detail":"`)[1][len(down):]
	dial = dial[:strings.Index(dial, `"`)]
	want := []string{
		fault("fault", "armed_night", down+dial, "Trouble"),
		fault("fault_restore", "disarmed", "notify:phone: delivered again", "Trouble restored"),
		fault("fault", "armed_night", down+"HTTP 503 Service Unavailable", "Trouble"),
		fault("fault_restore", "armed_night", "notify:phone: target no longer configured", "Trouble restored"),
	}
	if got := ha.all(); !reflect.DeepEqual(got, want) {
		t.Errorf("webhook requests\n got %s\nwant %s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
