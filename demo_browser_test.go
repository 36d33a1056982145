package main

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The demo in a real browser, on the real binary's run with its embedded broker:
// log in as the demo user, set the home mode's exit delay to none in Settings,
// arm home, open the kitchen window over MQTT (as a sensor would) and see the
// alarm arrive live, disarm with the PIN pad, find the disarm in the log.
func TestDemoInBrowser(t *testing.T) {
	_, step, js := chromium(t)
	t.Chdir(t.TempDir())
	addrs := startDemo(t).addrs

	step("log in", chromedp.Navigate("http://"+addrs["http"]), chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("login-user"), "demo"), chromedp.SendKeys(chromedp.ID("login-password"), demoPassword),
		chromedp.Click(chromedp.ID("login-submit")), js(`document.getElementById("state").dataset.state !== ""`))
	step("no exit delay at home", chromedp.Click(chromedp.ID("nav-settings")), js(`document.getElementById("s-exit-home")?.value === "30"`),
		js(`(document.getElementById("s-exit-home").value = "0") === "0"`), chromedp.Click(chromedp.ID("s-save")),
		js(`document.getElementById("message").textContent === "Saved"`))
	// The simulator opens and closes zones now and then: arming may need "Arm
	// anyway" (the open zones are bypassed; the kitchen window is closed below).
	z := dialMQTT(t, addrs["mqtt"], "demo", "demo")
	z.pub(t, "vakt/demo/kitchen_window", "OFF", true)
	step("arm home", chromedp.Click(chromedp.ID("nav-home")), js(`document.getElementById("ready-home").textContent.startsWith("Ready") || true`),
		chromedp.Click(chromedp.CSS(`button[data-arm="home"]`)),
		js(`document.getElementById("force-dialog").open ? (document.getElementById("force-ok").click(), false) : document.getElementById("state").dataset.state === "armed_home"`))
	z.pub(t, "vakt/demo/kitchen_window", "ON", true)
	step("the alarm, live", js(`document.getElementById("state").textContent === "ALARM" && document.getElementById("alarm-zone").textContent === "Alarm: Kitchen window"`))
	var digits []chromedp.Action[chromedp.Void]
	for _, d := range "123456" {
		digits = append(digits, chromedp.Click(chromedp.CSS(`button[data-digit="`+string(d)+`"]`)))
	}
	step("disarm with the PIN pad", append(digits, chromedp.Click(chromedp.ID("pin-ok")),
		js(`document.getElementById("state").dataset.state === "disarmed"`))...)
	step("the log", chromedp.Click(chromedp.ID("nav-events")),
		js(`(() => { const r = document.querySelector("#events-body tr"); return !!r && r.dataset.type === "disarmed" && r.textContent.includes("Demo user"); })()`))
}

// chromium starts a headless Chromium for the test (skipped without one, except
// under CI) and returns its context, a step that runs actions with a deadline
// (failing the test with the page's text), and a poll for a JavaScript condition.
func chromium(t *testing.T) (context.Context, func(string, ...chromedp.Action[chromedp.Void]), func(string) chromedp.Action[chromedp.Void]) {
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
	bctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelB(); cancelA() })
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, done := context.WithTimeout(bctx, 20*time.Second)
		defer done()
		if err := chromedp.Do(sctx, actions...); err != nil {
			body, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body.innerText`))
			t.Fatalf("%s: %v\npage: %.500s", what, err, body)
		}
	}
	js := func(expr string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(20*time.Millisecond))
	}
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return bctx, step, js
}
