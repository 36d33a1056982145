package web

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"vakt/hub"
	"vakt/sensors/camera/camtest"
	"vakt/storage"
)

// browser starts a headless Chromium for the test. Without Chromium the test is
// skipped, except under CI, where scripts/deps installs it.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no Chromium: scripts/deps installs it")
		}
		t.Skip("no Chromium on this machine (scripts/deps installs it)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("lang", "en-GB"), chromedp.WindowSize(1280, 900))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelB(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// run runs browser actions with a deadline, failing the test with what was asked.
func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, actions...); err != nil {
		body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("%s: %v\npage text: %.600s", what, err, body)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// waitText waits until the element's text is want.
func waitText(sel, want string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](`(() => { const e = document.querySelector(`+quote(sel)+`); return !!e && e.textContent.trim() === `+quote(want)+`; })()`,
		chromedp.WithPollingInterval(20*time.Millisecond))
}

// waitJS waits until the expression is true.
func waitJS(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(20*time.Millisecond))
}

func quote(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}

// shots saves a screenshot of the page at a phone's and a desktop's width into
// VAKT_SCREENSHOTS (default the test's temporary directory), as PNG.
func shots(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("VAKT_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	for _, w := range []int64{360, 1280} {
		run(t, ctx, "viewport "+name, chromedp.EmulateViewport(w, 800))
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+"-"+map[int64]string{360: "phone", 1280: "desktop"}[w]+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run(t, ctx, "viewport", chromedp.EmulateViewport(1280, 900))
}

// A homeowner's evening, in a real browser: log in, arm away and watch the exit
// countdown, the door opens while armed and the alarm arrives live, disarm with
// the PIN pad, find it all in the event log, and switch to Swedish.
func TestBrowserKeypad(t *testing.T) {
	s := startSystem(t, testConfig(t))
	ctx := browser(t)
	hubCtx := context.Background()
	tick := func() {
		if err := s.h.Input(hubCtx, hub.Tick{}); err != nil {
			t.Fatal(err)
		}
	}

	run(t, ctx, "open the app", chromedp.Navigate(s.srv.URL), chromedp.WaitVisible(chromedp.ID("login-form")))
	shots(t, ctx, "login")
	run(t, ctx, "wrong password",
		chromedp.SendKeys(chromedp.ID("login-user"), "alice"),
		chromedp.SendKeys(chromedp.ID("login-password"), "wrong"),
		chromedp.Click(chromedp.ID("login-submit")),
		waitText("#login-error", "Wrong code"))
	run(t, ctx, "log in",
		waitJS(`(document.getElementById("login-password").value = "") === ""`),
		chromedp.SendKeys(chromedp.ID("login-password"), "alice-pass"),
		chromedp.Click(chromedp.ID("login-submit")),
		waitText("#state", "Disarmed"),
		waitText("#ready-away", "Ready"))
	shots(t, ctx, "home")

	// A fault arrives live, in words, with since when and what to do.
	siren := hub.FaultID{Kind: hub.FaultOutput, Subject: "siren"}
	if err := s.h.Input(hubCtx, hub.Fault{ID: siren, Active: true}); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "trouble", waitJS(`(() => { const li = document.querySelector('li[data-fault="output:siren"]');
		return !!li && li.textContent === "Output failed: siren" + "since " + new Date("2026-11-30T20:00:00Z").toLocaleString("en-GB") +
			"A siren or output does not answer. Check its power and connection."; })()`))
	if err := s.h.Input(hubCtx, hub.Fault{ID: siren, Active: false}); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "trouble gone", waitText("#faults", "No trouble"))

	run(t, ctx, "arm away", chromedp.Click(chromedp.CSS(`button[data-arm="away"]`)),
		waitText("#state", "Leave now"), waitText("#countdown", "Exit delay: 30 s"))
	s.advance(12 * time.Second)
	run(t, ctx, "the countdown runs with the hub's clock", waitJS(`document.querySelector("#countdown").textContent !== ""`))
	s.advance(18 * time.Second)
	tick()
	run(t, ctx, "armed, live", waitText("#state", "Armed away"), waitText("#alarm-zone", "Armed by Alice"))

	if err := s.h.Input(hubCtx, hub.Sensor{Zone: "door", Signal: hub.SigOpen}); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "entry delay, live", waitText("#state", "Entry: disarm now"), waitText("#countdown", "Disarm within 45 s"))
	s.advance(45 * time.Second)
	tick()
	run(t, ctx, "the alarm, live", waitText("#state", "ALARM"), waitText("#alarm-zone", "Alarm: Front door"))
	shots(t, ctx, "alarm")

	var digits []chromedp.Action[chromedp.Void]
	for _, d := range "111111" {
		digits = append(digits, chromedp.Click(chromedp.CSS(`button[data-digit="`+string(d)+`"]`)))
	}
	run(t, ctx, "disarm with the PIN pad", append(digits, waitText("#pin-display", "••••••"),
		chromedp.Click(chromedp.ID("pin-ok")), waitText("#state", "Disarmed"), waitText("#message", "Disarmed"))...)
	if st := s.h.Snapshot().State.Name; st != hub.Disarmed {
		t.Fatalf("hub state %s", st)
	}

	// The log shows every event of the journal, newest first, each once.
	evs, _, err := s.store.Events(storage.EventQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range evs {
		want = append(want, string(e.Type))
	}
	same(t, "journal", want, []string{"disarmed", "alarm_cancel", "alarm_report_withheld", "alarm", "entry_delay", "zone_open",
		"armed", "arming", "fault_restore", "fault", "code_rejected", "restart"})
	run(t, ctx, "the event log", chromedp.Click(chromedp.ID("nav-events")),
		waitJS(fmt.Sprintf(`document.querySelectorAll("#events-body tr").length === %d`, len(want))))
	same(t, "event log rows", eval[[]string](t, ctx, `[...document.querySelectorAll("#events-body tr")].map(r => r.dataset.type)`), want)
	// The timeline: the door's opening, and the armed period from arming to disarm.
	run(t, ctx, "the timeline", waitJS(`!!document.querySelector("#timeline canvas") && document.getElementById("timeline").dataset.armed === "1" &&
		document.getElementById("timeline").dataset.zones === "door"`))
	shots(t, ctx, "events")

	run(t, ctx, "filter by type", chromedp.SendKeys(chromedp.ID("f-type"), "armed"), chromedp.Click(chromedp.ID("f-apply")),
		waitJS(`[...document.querySelectorAll("#events-body tr")].map(r => r.dataset.type).join(" ") === "armed"`))

	if err := s.h.Input(hubCtx, hub.Sensor{Zone: "door", Signal: hub.SigClose}); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "switch to Swedish", waitJS(`(document.getElementById("lang").value = "sv") === "sv"`),
		waitJS(`document.querySelector("#lang").dispatchEvent(new Event("change"))`),
		waitText("#nav-events", "Händelser"), chromedp.Click(chromedp.ID("nav-home")), waitText("#state", "Avlarmat"),
		waitText("#ready-away", "Klart"), waitJS(`document.documentElement.lang === "sv"`))
	shots(t, ctx, "home-sv")

	// The language is remembered; logging out shows the login again.
	run(t, ctx, "reload", chromedp.Reload(), waitText("#state", "Avlarmat"),
		chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("login-form")), waitText("#login-submit", "Logga in"))
}

// The first start in a real browser: the setup code creates the admin, who adds
// a user and changes a delay.
func TestBrowserOnboardingUsersSettings(t *testing.T) {
	cfg := testConfig(t)
	cfg.Users = nil
	s := startSystem(t, cfg)
	ctx := browser(t)
	run(t, ctx, "onboarding", chromedp.Navigate(s.srv.URL), chromedp.WaitVisible(chromedp.ID("onboarding-form")),
		waitJS(`document.getElementById("view-login").hidden && document.getElementById("nav").hidden`))
	shots(t, ctx, "onboarding")
	run(t, ctx, "create the admin",
		chromedp.SendKeys(chromedp.ID("ob-code"), s.web.SetupCode()),
		chromedp.SendKeys(chromedp.ID("ob-name"), "Anna"),
		chromedp.SendKeys(chromedp.ID("ob-password"), "anna-password"),
		chromedp.SendKeys(chromedp.ID("ob-pin"), "246810"),
		chromedp.Click(chromedp.ID("ob-submit")),
		waitText("#state", "Disarmed"))
	run(t, ctx, "users", chromedp.Click(chromedp.ID("nav-users")),
		waitJS(`[...document.querySelectorAll("#users-body tr")].map(r => r.dataset.user).join() === "anna"`),
		chromedp.SendKeys(chromedp.ID("u-name"), "Bertil"),
		chromedp.SendKeys(chromedp.ID("u-pin"), "135791"),
		chromedp.Click(chromedp.ID("u-add")),
		waitJS(`[...document.querySelectorAll("#users-body tr")].map(r => r.dataset.user).join() === "anna,bertil"`))
	run(t, ctx, "a cleaner's one-time code, Mondays and Fridays 08–12",
		waitJS(`(document.getElementById("u-role").value = "guest", document.getElementById("u-role").dispatchEvent(new Event("change")), true)`),
		chromedp.WaitVisible(chromedp.ID("u-schedule")),
		chromedp.SendKeys(chromedp.ID("u-name"), "Cleaner"),
		chromedp.SendKeys(chromedp.ID("u-pin"), "975310"),
		chromedp.Click(chromedp.ID("u-onetime")),
		chromedp.Click(chromedp.CSS(`#u-days input[value="1"]`)),
		chromedp.Click(chromedp.CSS(`#u-days input[value="5"]`)),
		waitJS(`(document.getElementById("u-to").value = "12:00") === "12:00"`),
		chromedp.Click(chromedp.ID("u-add")),
		waitJS(`[...document.querySelectorAll("#users-body tr")].map(r => r.dataset.user).join() === "anna,bertil,cleaner"`))
	shots(t, ctx, "users")
	run(t, ctx, "settings page", chromedp.Click(chromedp.ID("nav-settings")), chromedp.WaitVisible(chromedp.ID("settings-form")))
	run(t, ctx, "settings",
		waitJS(`document.getElementById("s-exit-away")?.value === "30"`),
		waitJS(`(document.getElementById("s-exit-away").value = "45") === "45"`),
		waitJS(`document.getElementById("s-swinger")?.value === "3"`),
		waitJS(`(document.getElementById("s-swinger").value = "2") === "2"`),
		chromedp.Click(chromedp.ID("s-save")), waitText("#message", "Saved"))
	shots(t, ctx, "settings")
	got := s.h.Snapshot().Config
	if d := got.Settings.ExitDelay[hub.ModeAway].D(); d != 45*time.Second || got.Settings.SwingerLimit != 2 {
		t.Fatalf("exit delay away %s, swinger limit %d", d, got.Settings.SwingerLimit)
	}
	var names []string
	for _, u := range got.Users {
		names = append(names, u.Name+" "+string(u.Role))
	}
	same(t, "users", names, []string{"Anna admin", "Bertil user", "Cleaner guest"})
	c := got.Users[2]
	same(t, "cleaner", []any{c.OneTime, c.Schedule, c.PINHash != ""}, []any{true,
		[]hub.Window{{Days: []time.Weekday{time.Monday, time.Friday}, From: "08:00", To: "12:00"}}, true})
}

// A wall tablet: the keypad token's link opens the full-screen keypad, with no
// way to the rest of the app; it beeps through the exit delay and disarms with a
// PIN.
func TestBrowserKiosk(t *testing.T) {
	s := startSystem(t, testConfig(t))
	a := s.login(t, "alice", "alice-pass")
	var tk tokenInfo
	if st := a.do("POST", "/api/v1/tokens", map[string]any{"name": "Hall tablet", "scope": "keypad"}, &tk); st != http.StatusCreated {
		t.Fatalf("token: %d", st)
	}
	ctx := browser(t)
	run(t, ctx, "open the tablet's link", chromedp.Navigate(s.srv.URL+"/#/kiosk?token="+tk.Token),
		waitText("#state", "Disarmed"),
		waitJS(`location.hash === "#/kiosk" && localStorage.getItem("vakt.kiosk") === `+quote(tk.Token)),
		waitJS(`getComputedStyle(document.getElementById("nav")).display === "none" && getComputedStyle(document.getElementById("zones")).display === "none"`),
		waitJS(`["on", "unavailable"].includes(document.body.dataset.wakeLock)`))
	shots(t, ctx, "kiosk")
	run(t, ctx, "no way out", waitJS(`(location.hash = "#/events", true)`), waitJS(`location.hash === "#/kiosk"`),
		chromedp.WaitNotVisible(chromedp.ID("view-events")))
	run(t, ctx, "arm away and beep", chromedp.Click(chromedp.CSS(`button[data-arm="away"]`)),
		waitText("#countdown", "Exit delay: 30 s"), waitJS(`window.vaktBeeps >= 2`))
	var digits []chromedp.Action[chromedp.Void]
	for _, d := range "222222" {
		digits = append(digits, chromedp.Click(chromedp.CSS(`button[data-digit="`+string(d)+`"]`)))
	}
	run(t, ctx, "disarm with Bob's PIN", append(digits, chromedp.Click(chromedp.ID("pin-ok")), waitText("#state", "Disarmed"))...)
	same(t, "journal", s.journal(t)[2:], []string{"arming away Hall tablet web 127.0.0.1 30s", "disarmed Bob web 127.0.0.1"})
}

// A walk test from the app: started, each zone marked seen as it opens, ended,
// with the report in the journal.
func TestBrowserWalkTest(t *testing.T) {
	s := startSystem(t, testConfig(t))
	ctx := browser(t)
	run(t, ctx, "log in", chromedp.Navigate(s.srv.URL), chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("login-user"), "alice"), chromedp.SendKeys(chromedp.ID("login-password"), "alice-pass"),
		chromedp.Click(chromedp.ID("login-submit")), waitText("#state", "Disarmed"))
	run(t, ctx, "start", chromedp.Click(chromedp.ID("walk-start")),
		waitJS(`document.getElementById("service-state").textContent.startsWith("Walk test: open every zone. Seen 0 of 3")`))
	if err := s.h.Input(context.Background(), hub.Sensor{Zone: "door", Signal: hub.SigOpen}); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "the door seen, live",
		waitJS(`document.getElementById("service-state").textContent.startsWith("Walk test: open every zone. Seen 1 of 3")`),
		waitJS(`[...document.querySelectorAll("#zones li")].map(li => li.dataset.zone + " " + [...li.querySelectorAll(".badge")].map(b => b.textContent).join(",")).join("; ") ===
			"door open,seen; living closed,not yet; =cmd closed,not yet"`))
	shots(t, ctx, "walk-test")
	run(t, ctx, "end", chromedp.Click(chromedp.ID("walk-stop")), waitText("#message", "Walk test ended"),
		waitText("#service-state", ""))
	j := s.journal(t)
	same(t, "journal", j[1:], []string{"walk_test_start Alice web 127.0.0.1", "zone_open door sensor door",
		"walk_test_zone door sensor door", "walk_test_end Alice web 127.0.0.1 not seen: living, =cmd"})
}

// The guided self-test page ticks its steps live and saves the result.
func TestBrowserSelfTest(t *testing.T) {
	s := startSystem(t, testConfig(t))
	ctx := browser(t)
	steps := `[...document.querySelectorAll("#st-steps li")].map(li => li.dataset.step + (li.className ? ":" + li.className : "")).join(" ")`
	run(t, ctx, "log in", chromedp.Navigate(s.srv.URL+"/#/self-test"), chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("login-user"), "bob"), chromedp.SendKeys(chromedp.ID("login-password"), "bob-pass"),
		chromedp.Click(chromedp.ID("login-submit")), chromedp.WaitVisible(chromedp.ID("st-begin")))
	run(t, ctx, "begin", chromedp.Click(chromedp.ID("st-begin")),
		// No monitoring centre here: its two steps do not apply.
		waitJS(steps+` === "told test_report:skipped armed left entry alarm siren centre_ack:skipped disarmed"`),
		chromedp.Click(chromedp.ID("st-told")),
		waitJS(steps+` === "told:done test_report:skipped armed left entry alarm siren centre_ack:skipped disarmed"`),
		chromedp.Click(chromedp.ID("st-arm")),
		waitJS(steps+` === "told:done test_report:skipped armed:done left entry alarm siren centre_ack:skipped disarmed"`))
	shots(t, ctx, "self-test")
	run(t, ctx, "finish", chromedp.Click(chromedp.ID("st-finish")), waitText("#st-result", "Not passed: saved in the event log"))
	j := s.journal(t)
	same(t, "result", j[len(j)-1], "self_test Bob web 127.0.0.1 not passed: done: told, armed; missing: left, entry, alarm, siren, disarmed")
}

// --- the automated accessibility check ---

// axeScript is axe-core, the accessibility checker, as scripts/deps installs it
// for the tests (never part of the product). Without it the test is skipped,
// except under CI=true, where it must run.
func axeScript(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
	path := filepath.Join(dir, ".cache", "axe", "node_modules", "axe-core", "axe.min.js")
	b, err := os.ReadFile(path)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("axe-core is not installed (%v): scripts/deps installs it", err)
		}
		t.Skipf("axe-core is not installed (%v): run scripts/deps to check accessibility", err)
	}
	return string(b)
}

// axeFinding is one serious or critical violation on one page.
type axeFinding struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// axeCheck runs axe-core on the page as it is, at a phone's 360 px, and returns
// its serious and critical violations, one line each, named by page.
func axeCheck(t *testing.T, ctx context.Context, script, page string) []string {
	t.Helper()
	run(t, ctx, "viewport 360", chromedp.EmulateViewport(360, 800))
	defer run(t, ctx, "viewport", chromedp.EmulateViewport(1280, 900))
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if loaded, _ := chromedp.Run(tctx, chromedp.Evaluate[bool](`typeof window.axe === "object"`)); !loaded {
		run(t, tctx, "inject axe-core", chromedp.Evaluate[chromedp.Void](script))
	}
	found, err := chromedp.Run(tctx, chromedp.Evaluate[[]axeFinding](`(async () => {
		const r = await axe.run(document, { resultTypes: ["violations"] });
		return r.violations.filter(v => v.impact === "serious" || v.impact === "critical")
			.map(v => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(" ")) }));
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe on %s: %v", page, err)
	}
	var out []string
	for _, f := range found {
		out = append(out, fmt.Sprintf("%s: %s %s (%s): %s", page, f.Impact, f.ID, f.Help, strings.Join(f.Nodes, ", ")))
	}
	return out
}

// Every page at 360 px passes axe-core with no serious or critical violation:
// onboarding, login, home (with trouble, and during a walk test: the service
// box), events, settings, users, cameras (a live view playing) and the wall
// tablet.
func TestBrowserAccessibility(t *testing.T) {
	script := axeScript(t)
	ctx := browser(t)
	var found []string
	check := func(page string) { found = append(found, axeCheck(t, ctx, script, page)...) }

	cfg := testConfig(t)
	cfg.Users = nil
	fresh := startSystem(t, cfg)
	run(t, ctx, "onboarding", chromedp.Navigate(fresh.srv.URL), chromedp.WaitVisible(chromedp.ID("onboarding-form")))
	check("onboarding")

	// Outputs, so that Settings lists them: one that agrees, one wanted on.
	cfg = testConfig(t)
	cfg.Outputs = []hub.Output{{ID: "siren", Name: "Outdoor siren", Kind: hub.OutputSiren}, {ID: "chime", Name: "Chime", Kind: hub.OutputChime}}
	cam := testCamera(t, "porch", camtest.Start(t, camtest.Options{}).URL, true, "door")
	runCamera(t, cam)
	lv := newLiveView(t, cam)
	s := startSystem(t, cfg, webOnly(lv.options), func(_ *hub.Options, w *Options) {
		if w != nil {
			w.Outputs = func() []OutputState {
				return []OutputState{{ID: "siren", Bound: "mqtt test/siren", Feedback: true, Known: true}, {ID: "chime", On: true}}
			}
		}
	})
	lv.sys = s
	hubCtx := context.Background()
	run(t, ctx, "login", chromedp.Navigate(s.srv.URL), chromedp.WaitVisible(chromedp.ID("login-form")))
	check("login")
	if err := s.h.Input(hubCtx, hub.Sensor{Zone: "living", Signal: hub.SigLowBattery}); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "log in", chromedp.SendKeys(chromedp.ID("login-user"), "alice"), chromedp.SendKeys(chromedp.ID("login-password"), "alice-pass"),
		chromedp.Click(chromedp.ID("login-submit")), waitJS(`document.getElementById("state").dataset.state === "disarmed"`), waitJS(`document.querySelectorAll("#faults li").length > 0`))
	check("home and trouble")
	run(t, ctx, "walk test", chromedp.Click(chromedp.ID("walk-start")), waitJS(`document.getElementById("service-state").textContent.startsWith("Walk test")`))
	check("service (walk test)")
	run(t, ctx, "end the walk test", chromedp.Click(chromedp.ID("walk-stop")), waitText("#service-state", ""))
	run(t, ctx, "events", chromedp.Click(chromedp.ID("nav-events")), waitJS(`document.querySelectorAll("#events-body tr").length > 0`))
	check("events")
	run(t, ctx, "settings", chromedp.Click(chromedp.ID("nav-settings")), waitJS(`document.getElementById("s-exit-away")?.value === "30"`),
		waitJS(`document.querySelectorAll("#outputs-list li").length === 2`))
	check("settings")
	run(t, ctx, "users", chromedp.Click(chromedp.ID("nav-users")), waitJS(`document.querySelectorAll("#users-body tr").length === 3`))
	check("users")
	run(t, ctx, "cameras", chromedp.Click(chromedp.ID("nav-cameras")), waitJS(`liveViews.size === 1`), waitJS(framesDecoded))
	check("cameras")
	run(t, ctx, "one camera", chromedp.Click(chromedp.CSS(`#cameras-grid a[href="#/cameras/porch"]`)), waitJS(`document.querySelectorAll("#camera-one video").length === 1`),
		waitJS(`liveViews.size === 1`))
	check("one camera")

	a := s.login(t, "alice", "alice-pass")
	var tk tokenInfo
	if st := a.do("POST", "/api/v1/tokens", map[string]any{"name": "Hall tablet", "scope": "keypad"}, &tk); st != http.StatusCreated {
		t.Fatalf("token: %d", st)
	}
	run(t, ctx, "kiosk", chromedp.Navigate(s.srv.URL+"/#/kiosk?token="+tk.Token), waitText("#state", "Disarmed"),
		waitJS(`location.hash === "#/kiosk"`))
	check("kiosk")
	if len(found) > 0 {
		t.Fatalf("accessibility violations (serious or critical):\n%s", strings.Join(found, "\n"))
	}
}
