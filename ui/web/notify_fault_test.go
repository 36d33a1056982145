package web

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"

	"vakt/hub"
)

// In a real browser: a notification target's fault on the Trouble list in
// words, in English and in Swedish, with arming still ready; gone once
// restored.
func TestBrowserNotifyFault(t *testing.T) {
	s := startSystem(t, testConfig(t), func(*hub.Options, *Options) {})
	ctx := browser(t)
	input := func(in hub.Input) {
		t.Helper()
		if err := s.h.Input(context.Background(), in); err != nil {
			t.Fatal(err)
		}
	}
	run(t, ctx, "log in", chromedp.Navigate(s.srv.URL), chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("login-user"), "alice"), chromedp.SendKeys(chromedp.ID("login-password"), "alice-pass"),
		chromedp.Click(chromedp.ID("login-submit")), waitText("#state", "Disarmed"))
	id := hub.FaultID{Kind: hub.FaultNotify, Subject: "phones"}
	input(hub.Fault{ID: id, Active: true, Detail: "no notification delivered for 5m0s: HTTP 503 Service Unavailable"})
	const li = `document.querySelector('li[data-fault="notify:phones"]')`
	run(t, ctx, "notify fault", waitJS(`(() => { const li = `+li+`;
		return !!li && li.textContent.startsWith("Notifications not delivered: phones") && li.textContent.endsWith("the monitoring centre still gets every alarm."); })()`),
		waitText("#ready-away", "Ready"))
	run(t, ctx, "in Swedish", waitJS(`(document.getElementById("lang").value = "sv") === "sv"`),
		waitJS(`document.querySelector("#lang").dispatchEvent(new Event("change"))`),
		waitJS(`(() => { const li = `+li+`;
		return !!li && li.textContent.startsWith("Aviseringar levereras inte: phones") && li.textContent.endsWith("larmcentralen får fortfarande alla larm."); })()`),
		waitText("#ready-away", "Klart"))
	input(hub.Fault{ID: id, Active: false, Detail: "delivered again"})
	run(t, ctx, "restored", waitJS(`!`+li))
}
