package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"vakt/hub"
)

// fakeDevices records adoptions and releases and answers as told.
type fakeDevices struct {
	mu    sync.Mutex
	calls []string
	err   error
}

func (f *fakeDevices) Adopt(_ context.Context, ieee string, r AdoptRequest, who hub.Actor) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("adopt %s %+v by %s", ieee, r, who.UserName))
	return "adopted " + ieee, f.err
}

func (f *fakeDevices) Release(_ context.Context, ieee string, who hub.Actor) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("release %s by %s", ieee, who.UserName))
	return "released " + ieee, f.err
}

func (f *fakeDevices) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

// Adopting and releasing a device: admins only, with the CSRF token and a JSON
// body; the request reaches the adapter's side as sent, its refusal is the
// mapped error.
func TestAdoptAndRelease(t *testing.T) {
	devs := &fakeDevices{}
	s := startSystem(t, testConfig(t), webOnly(func(o *Options) { o.Zigbee = devs }))
	alice, bob := s.login(t, "alice", "alice-pass"), s.login(t, "bob", "bob-pass")
	adopt := "/api/v1/devices/0x00158d0001a2b3c4/adopt"
	body := map[string]any{"zone": "door", "property": "contact", "checkin": "2h"}
	var ans map[string]string
	if code := bob.do("POST", adopt, body, nil); code != http.StatusForbidden {
		t.Errorf("a user adopts: %d", code)
	}
	if code, _ := alice.raw("POST", adopt, body, "application/json", ""); code != http.StatusForbidden {
		t.Errorf("no CSRF token: %d", code)
	}
	if code, _ := alice.raw("POST", adopt, "zone=door", "application/x-www-form-urlencoded", alice.csrf); code != http.StatusUnsupportedMediaType {
		t.Errorf("not JSON: %d", code)
	}
	if code := alice.do("POST", adopt, map[string]any{"zone": "door", "checkin": "soon"}, &ans); code != http.StatusBadRequest {
		t.Errorf("a bad check-in interval: %d %v", code, ans)
	}
	same(t, "calls refused before the adapter", devs.take(), []string(nil))
	ans = nil
	if code := alice.do("POST", adopt, body, &ans); code != http.StatusOK {
		t.Errorf("adopt: %d", code)
	}
	same(t, "answer", ans, map[string]string{"message": "adopted 0x00158d0001a2b3c4"})
	ans = nil
	if code := alice.do("DELETE", "/api/v1/devices/0x00158d0001a2b3c4/binding", nil, &ans); code != http.StatusOK {
		t.Errorf("release: %d", code)
	}
	same(t, "answer", ans, map[string]string{"message": "released 0x00158d0001a2b3c4"})
	devs.err = &hub.Error{Kind: hub.ErrNotAllowed, Msg: "zone door is bound to device 0x0000000000000001 already: release that one first (nothing was changed)"}
	var e map[string]any
	if code := alice.do("POST", adopt, map[string]any{"output": "siren", "mode": "fire"}, &e); code != http.StatusConflict {
		t.Errorf("a refused adoption: %d", code)
	}
	same(t, "refusal", e, map[string]any{"error": "not_allowed",
		"message": "zone door is bound to device 0x0000000000000001 already: release that one first (nothing was changed)"})
	same(t, "calls", devs.take(), []string{
		"adopt 0x00158d0001a2b3c4 {Zone:door Property:contact CheckIn:7200000000000 ClearAfter:0 Output: Mode: Squawk:false Keypad:} by Alice",
		"release 0x00158d0001a2b3c4 by Alice",
		"adopt 0x00158d0001a2b3c4 {Zone: Property: CheckIn:0 ClearAfter:0 Output:siren Mode:fire Squawk:false Keypad:} by Alice",
	})
}

// An admin adopts a discovered device in a real browser: the form offers what the
// device can be and the properties it exposes; the device then shows as bound,
// with a button that releases it.
func TestBrowserAdopt(t *testing.T) {
	devs := &fakeDevices{}
	doc := func() any {
		bound := []string{}
		for _, c := range devs.calls {
			if strings.HasPrefix(c, "adopt ") {
				bound = []string{"door"}
			}
		}
		return map[string]any{"base_topic": "zigbee2mqtt", "outputs": []string{"siren"}, "devices": []map[string]any{{
			"ieee": "0x00158d0001a2b3c4", "friendly_name": "front_door", "vendor": "Aqara", "model": "MCCGQ11LM", "ready": true,
			"power_source": "Battery", "zones": bound, "adoptable": []string{"zone"}, "zone_properties": []string{"contact", "vibration"},
		}}}
	}
	s := startSystem(t, testConfig(t), webOnly(func(o *Options) {
		o.Zigbee = devs
		o.Devices = func() any { devs.mu.Lock(); defer devs.mu.Unlock(); return doc() }
		o.Zones = func() map[string]ZoneBinding {
			return map[string]ZoneBinding{"door": {Adapter: "zigbee", Binding: map[string]string{"ieee": "0x00158d0001a2b3c4"},
				Device: map[string]any{"battery": 97, "battery_low": false, "last_seen": "2026-03-01T12:00:00Z", "link_quality": 87}}}
		}
	}))
	ctx := browser(t)
	run(t, ctx, "log in", chromedp.Navigate(s.srv.URL+"/#/devices"), chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("login-user"), "alice"), chromedp.SendKeys(chromedp.ID("login-password"), "alice-pass"),
		chromedp.Click(chromedp.ID("login-submit")), chromedp.WaitVisible(chromedp.ID("devices-body")),
		waitJS(`!!document.querySelector("tr[data-adopt] form")`))
	options := func(name string) string {
		return eval[string](t, ctx, `[...document.querySelector("tr[data-adopt] select[name=`+name+`]").options].map(o => o.value + "=" + o.text).join(", ")`)
	}
	same(t, "as", options("kind"), "zone=zone")
	same(t, "zones", options("zone"), "door=Front door, living=Living PIR, =cmd==HYPERLINK()")
	same(t, "properties", options("property"), "=default (contact), contact=contact, vibration=vibration")
	shots(t, ctx, "devices-adopt")
	run(t, ctx, "adopt", chromedp.SetValue(`tr[data-adopt] select[name=property]`, "contact"),
		chromedp.Click(`tr[data-adopt] button[type=submit]`), waitText("#message", "adopted 0x00158d0001a2b3c4"),
		waitJS(`[...document.querySelectorAll("#devices-body tr[data-ieee] td")].map(td => td.textContent).join("|") === "front_door|Aqara MCCGQ11LM|Battery|||Front door"`),
		chromedp.WaitVisible(`tr[data-adopt] button.release`))
	same(t, "calls", devs.take(), []string{"adopt 0x00158d0001a2b3c4 {Zone:door Property:contact CheckIn:0 ClearAfter:0 Output: Mode: Squawk:false Keypad:} by Alice"})
	// The zones on Home show the device's battery, last message and link.
	run(t, ctx, "home", chromedp.Navigate(s.srv.URL+"/#/"),
		waitJS(`(() => { const e = document.querySelector("#zones li[data-zone=door] .device-info");
			return !!e && e.textContent === "battery 97 % · seen " + new Date("2026-03-01T12:00:00Z").toLocaleString("en-GB") + " · link 87"; })()`))
	same(t, "zones without a Zigbee device", eval[int](t, ctx, `document.querySelectorAll("#zones .device-info").length`), 1)
}

// A device's last error from Zigbee2MQTT shows under its name. The adopt form
// has the binding's options: a zone's check-in interval and, for
// a motion or vibration property, its clear rule; a siren's warning (the modes
// the siren takes) and its squawk, when it has one. What is filled in reaches
// the adapter's side; the form reads in Swedish and passes axe-core (at 360 px,
// with the clear rule and the siren's fields shown).
func TestBrowserAdoptOptions(t *testing.T) {
	devs := &fakeDevices{}
	const motion, siren = "0x00124b0022d4e5f6", "0x0015bc001b02c3d4"
	s := startSystem(t, testConfig(t), webOnly(func(o *Options) {
		o.Zigbee = devs
		o.Devices = func() any {
			return map[string]any{"base_topic": "zigbee2mqtt", "outputs": []string{"siren"}, "devices": []map[string]any{
				{"ieee": motion, "friendly_name": "hall_motion", "vendor": "SONOFF", "model": "SNZB-03", "power_source": "Battery", "ready": true,
					"adoptable": []string{"zone"}, "zone_properties": []string{"occupancy"},
					"last_error": map[string]any{"at": "2026-03-01T12:00:00Z", "message": "Failed to configure 'hall_motion', attempt 1"}},
				{"ieee": siren, "friendly_name": "hall_siren", "vendor": "Develco", "model": "SIRZB-110", "power_source": "Mains (single phase)",
					"adoptable": []string{"output", "zone"}, "siren": "ias_wd", "squawk": true,
					"siren_modes": []string{"stop", "burglar", "fire", "emergency"}},
			}}
		}
	}))
	ctx := browser(t)
	row := func(ieee string) string { return `tr[data-adopt="` + ieee + `"] ` }
	// shown lists the form's visible fields as "label text=value".
	shown := func(ieee string) string {
		return eval[string](t, ctx, `[...document.querySelectorAll('`+row(ieee)+`label')].filter(l => !l.hidden)
			.map(l => l.firstChild.textContent.trim() + "=" + (l.querySelector("input[type=checkbox]") ? l.querySelector("input").checked : l.querySelector("input, select").value)).join(" | ")`)
	}
	set := func(sel, value string) chromedp.Action[chromedp.Void] {
		return waitJS(`(() => { const e = document.querySelector('` + sel + `'); e.value = "` + value + `";
			e.dispatchEvent(new Event("change")); return true; })()`)
	}
	run(t, ctx, "log in", chromedp.Navigate(s.srv.URL+"/#/devices"), chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("login-user"), "alice"), chromedp.SendKeys(chromedp.ID("login-password"), "alice-pass"),
		chromedp.Click(chromedp.ID("login-submit")), waitJS(`document.querySelectorAll("tr[data-adopt] form").length === 2`))
	same(t, "the devices' rows", eval[string](t, ctx, `[...document.querySelectorAll("#devices-body tr[data-ieee]")].map(tr => [...tr.cells].map(td => td.firstChild ? td.firstChild.textContent : "").join("|")).join(" / ")`),
		"hall_motion|SONOFF SNZB-03|Battery|||not bound / hall_siren|Develco SIRZB-110|Mains (single phase)|not ready (interview not done)||not bound")
	deviceError := func() string {
		return eval[string](t, ctx, `[...document.querySelectorAll("#devices-body .device-error")].map(e => e.textContent).join(" | ")`)
	}
	same(t, "Zigbee2MQTT's error", deviceError(), "Zigbee2MQTT error "+eval[string](t, ctx, `new Date("2026-03-01T12:00:00Z").toLocaleString("en-GB")`)+
		": Failed to configure 'hall_motion', attempt 1")
	same(t, "the motion sensor's form", shown(motion), "As=zone | Zone=door | Property= | Check-in interval (e.g. 2h; empty: by power source)=")
	run(t, ctx, "pick occupancy", set(row(motion)+"select[name=property]", "occupancy"))
	same(t, "with occupancy: the clear rule", shown(motion),
		"As=zone | Zone=door | Property=occupancy | Check-in interval (e.g. 2h; empty: by power source)= | Clear after (e.g. 2m; empty: when the device clears)=")
	run(t, ctx, "adopt the motion sensor", chromedp.SendKeys(row(motion)+"input[name=checkin]", "2h"),
		chromedp.SendKeys(row(motion)+"input[name=clear_after]", "2m"), chromedp.Click(row(motion)+"button[type=submit]"),
		waitText("#message", "adopted "+motion))
	same(t, "the siren's form", shown(siren), "As=output | Output=siren | Warning= | Chirp at arming and disarming=false")
	run(t, ctx, "as a zone", set(row(siren)+"select[name=kind]", "zone"))
	same(t, "the siren as a zone: its tamper only", shown(siren), "As=zone | Zone=door | Property= | Check-in interval (e.g. 2h; empty: by power source)=")
	same(t, "its property", eval[string](t, ctx, `[...document.querySelector('`+row(siren)+`select[name=property]').options].map(o => o.value + "=" + o.text).join(", ")`),
		"=none (its tamper only)")
	run(t, ctx, "as an output", set(row(siren)+"select[name=kind]", "output"))
	same(t, "the siren's warnings", eval[string](t, ctx, `[...document.querySelector('`+row(siren)+`select[name=mode]').options].map(o => o.value + "=" + o.text).join(", ")`),
		"=default (burglar), burglar=burglar, fire=fire, emergency=emergency")
	run(t, ctx, "adopt the siren", set(row(siren)+"select[name=mode]", "fire"), chromedp.Click(row(siren)+"input[name=squawk]"),
		chromedp.Click(row(siren)+"button[type=submit]"), waitText("#message", "adopted "+siren))
	same(t, "calls", devs.take(), []string{
		"adopt " + motion + " {Zone:door Property:occupancy CheckIn:7200000000000 ClearAfter:120000000000 Output: Mode: Squawk:false Keypad:} by Alice",
		"adopt " + siren + " {Zone: Property: CheckIn:0 ClearAfter:0 Output:siren Mode:fire Squawk:true Keypad:} by Alice",
	})

	run(t, ctx, "in Swedish", waitJS(`(document.getElementById("lang").value = "sv") === "sv"`),
		waitJS(`document.querySelector("#lang").dispatchEvent(new Event("change"))`),
		chromedp.Navigate(s.srv.URL+"/#/devices"), chromedp.Reload(), waitJS(`document.querySelectorAll("tr[data-adopt] form").length === 2`))
	run(t, ctx, "pick occupancy", set(row(motion)+"select[name=property]", "occupancy"))
	same(t, "the motion sensor's form in Swedish", shown(motion),
		"Som=zone | Zon=door | Egenskap=occupancy | Incheckningsintervall (t.ex. 2h; tomt: efter strömkälla)= | Återställ efter (t.ex. 2m; tomt: när enheten återställer)=")
	same(t, "Zigbee2MQTT's error in Swedish", deviceError(), "Fel i Zigbee2MQTT "+eval[string](t, ctx, `new Date("2026-03-01T12:00:00Z").toLocaleString("sv-SE")`)+
		": Failed to configure 'hall_motion', attempt 1")
	same(t, "the siren's form in Swedish", shown(siren), "Som=output | Utgång=siren | Larmljud= | Pip vid till- och frånkoppling=false")
	same(t, "the siren's warnings in Swedish", eval[string](t, ctx, `[...document.querySelector('`+row(siren)+`select[name=mode]').options].map(o => o.text).join(", ")`),
		"standard (inbrott), inbrott, brand, nödläge")
	// Last: without axe-core installed this skips.
	if found := axeCheck(t, ctx, axeScript(t), "devices"); len(found) > 0 {
		t.Errorf("accessibility:\n%s", strings.Join(found, "\n"))
	}
}
