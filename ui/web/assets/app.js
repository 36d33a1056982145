// Vakt's web app: the keypad, the zones, the trouble list and the event log.
// It uses only the JSON API (/api/v1) and its live stream (server-sent events).
"use strict";

const T = {
  en: {
    nav_home: "Home", nav_events: "Events", logout: "Log out", language: "Language",
    reconnecting: "Connection lost: reconnecting…", login_title: "Log in", user: "User", password: "Password",
    login: "Log in", arm: "Arm", disarm_with_pin: "Disarm with your PIN", clear: "Clear", disarm: "Disarm",
    panic_hold: "Panic: hold 2 s", faults: "Trouble", zones: "Zones", events: "Events", type: "Type", zone: "Zone",
    since: "From", until: "To", filter: "Filter", csv: "Download CSV", time: "Time", event: "Event", who: "Who",
    via: "Via", more: "Older events", cancel: "Cancel", arm_anyway: "Arm anyway",
    st_disarmed: "Disarmed", st_arming: "Leave now", st_armed_away: "Armed away", st_armed_home: "Armed home",
    st_armed_night: "Armed night", st_armed_vacation: "Armed vacation", st_pending: "Entry: disarm now", st_triggered: "ALARM",
    m_away: "Away", m_home: "Home", m_night: "Night", m_vacation: "Vacation",
    ready: "Ready", not_ready: "Not ready", exit_in: "Exit delay: {s} s", entry_in: "Disarm within {s} s",
    alarm_in: "Alarm: {zone}", armed_by: "Armed by {who}", no_faults: "No trouble", no_events: "No events",
    r_open: "open", r_tamper: "tamper", r_offline: "offline", r_low_battery: "low battery", r_uplink_down: "monitoring centre unreachable",
    r_output_failed: "output failed", r_storage_failed: "storage failing",
    z_open: "open", z_closed: "closed", z_tamper: "tamper", z_offline: "offline", z_low_battery: "low battery",
    z_bypassed: "bypassed", z_isolated: "isolated", bypass: "Bypass", unbypass: "Include",
    f_uplink: "Monitoring centre path down", f_output: "Output failed", f_storage: "Storage failing",
    f_broker: "MQTT broker unreachable", f_mains: "Mains power lost", f_zigbee: "Zigbee bridge offline",
    force_q: "Not ready to arm {mode}: {reasons}. Those zones will be bypassed.", done: "Done",
    disarmed_ok: "Disarmed", armed_ok: "Arming {mode}", panic_sent: "Panic raised",
    e_bad_code: "Wrong code", e_locked: "Too many wrong codes: wait a minute", e_not_ready: "Not ready",
    e_unauthenticated: "Log in again", e_denied: "Not allowed", e_not_allowed: "Not possible now",
    e_csrf: "Reload the page", e_network: "The hub cannot be reached", enter_pin: "Enter your PIN first",
    nav_users: "Users", nav_settings: "Settings", welcome: "Welcome to Vakt",
    onboarding_intro: "Create the first administrator. The setup code is in the hub's log.", setup_code: "Setup code",
    your_name: "Your name", pin: "PIN", create_admin: "Create administrator", users: "Users", name: "Name", role: "Role",
    credentials: "Codes", add_user: "Add a user", role_user: "User", role_admin: "Admin", role_guest: "Guest", add: "Add",
    settings: "Settings", exit_delay: "Exit delay (s)", entry_delay: "Entry delay (s)", siren_duration: "Siren duration (s)",
    save: "Save", my_account: "My PIN and password", new_pin: "New PIN", new_password: "New password", remove: "Remove",
    saved: "Saved", remove_q: "Remove {name}?", has_pin: "PIN", has_password: "password", has_duress: "duress PIN",
    tokens: "Wall tablets and API tokens", scope: "Kind", scope_keypad: "Wall tablet", scope_read: "Read only",
    scope_control: "Control (as me)", token_once: "Copy it now: it is shown only once.", kiosk_link: "Open this link on the tablet",
    revoke: "Revoke", since_t: "since {t}", silent: "No activity for 30 days", flapping: "Flapping: {n} or more openings in the last hour",
    last_seen: "last activity {t}", never_seen: "never seen active",
    do_uplink: "The monitoring centre cannot be reached on this path. Check the internet connection; the hub keeps trying and keeps the reports.",
    do_uplink_clock: "The centre refuses the hub's clock or key. Check the time and the account's key.",
    do_output: "A siren or output does not answer. Check its power and connection.",
    do_storage: "The hub cannot write to its storage. Free space or replace the SD card; alarms still go out.",
    do_broker: "The MQTT broker cannot be reached. Check that it runs.",
    do_zigbee: "Zigbee2MQTT is offline. Check the Zigbee adapter and that Zigbee2MQTT runs and reaches the hub's MQTT broker.",
    f_zigbee_output: "Zigbee2MQTT sends no sensor states",
    do_zigbee_output: "Zigbee2MQTT is set to publish attributes only, so the hub hears no sensor. Set advanced.output: json (or attribute_and_json) in Zigbee2MQTT's configuration.",
    do_mains: "Mains power is off: the hub runs on its battery.", do_battery: "The backup battery is low: replace it.",
    do_gpio: "A wired input cannot be read. Check the wiring.", do_offline: "The detector is not heard. Check its battery and range.",
    do_tamper: "A cover is open or a device was moved.", do_low_battery: "Replace the detector's battery.",
    do_silent: "Is it dead, or blocked? Walk past it or test it.", do_flapping: "Check the magnet's gap or what the detector faces.",
    f_uplink_clock: "Centre refuses the clock", f_offline: "Not heard", f_tamper: "Tamper", f_low_battery: "Low battery",
    service: "Service", walk_start: "Start walk test", walk_stop: "End walk test", maint_start: "Start maintenance",
    maint_stop: "End maintenance", walk_running: "Walk test: open every zone. Seen {n} of {m}, until {t}.",
    maint_running: "Maintenance: tamper alarms are off until {t}.", z_seen: "seen", z_unseen: "not yet",
    walk_done: "Walk test ended", maint_done: "Maintenance ended",
    activity: "Activity", last_24h: "24 hours", last_7d: "7 days", armed_legend: "armed", openings: "openings",
    centre: "Monitoring centre", centre_test: "Send a test report", centre_none: "No monitoring centre is configured: alarms are local only.",
    path_ok: "working", path_failing: "failing", path_lost: "lost", path_unknown: "not tried yet", last_ack: "last answer {t}",
    queued: "{n} waiting", test_sent: "Test report queued", backup: "Backup",
    backup_download: "Download a backup of the database", config_download: "Download the configuration (YAML)",
    nav_selftest: "Self-test", selftest: "Self-test", selftest_intro: "Test the whole system the way the monitoring company does. Each step is ticked as the hub sees it.",
    st_told_box: "I have told the monitoring centre that this is a test", st_begin: "Begin", st_arm: "Arm away", st_finish: "Finish and save",
    stp_told: "Tell the monitoring centre", stp_test_report: "Send a test report; the centre answers", stp_armed: "Arm away",
    stp_left: "Leave within the exit delay", stp_entry: "Come back in through a door: the entry delay starts", stp_alarm: "Let the alarm go off",
    stp_siren: "Let the siren sound for 30 seconds", stp_centre_ack: "The centre acknowledges the alarm", stp_disarmed: "Disarm",
    stp_passed: "Passed: saved in the event log", stp_failed: "Not passed: saved in the event log",
    ev_restart: "restart", ev_armed: "armed", ev_arming: "arming", ev_disarmed: "disarmed", ev_alarm: "ALARM",
    ev_alarm_cancel: "alarm cancelled", ev_entry_delay: "entry delay", ev_zone_open: "zone opened", ev_zone_closed: "zone closed",
    ev_code_rejected: "wrong code", ev_lockout: "code entry locked", ev_fault: "fault", ev_fault_restore: "fault restored",
    ev_tamper: "tamper", ev_tamper_restore: "tamper restored", ev_device_offline: "device lost", ev_device_online: "device back",
    ev_low_battery: "low battery", ev_battery_ok: "battery OK", ev_bypass: "bypassed", ev_unbypass: "included again",
    ev_isolate: "isolated", ev_unisolate: "un-isolated", ev_config_changed: "configuration changed", ev_panic: "PANIC",
    ev_manual_test: "test report", ev_periodic_test: "periodic test report", ev_walk_test_start: "walk test started",
    ev_walk_test_end: "walk test ended", ev_walk_test_zone: "walk test: zone seen", ev_self_test: "self-test",
    ev_arm_refused: "arming refused", ev_arm_forced: "armed anyway", ev_siren_cutoff: "siren stopped",
    ev_maintenance_start: "maintenance started", ev_maintenance_end: "maintenance ended",
    ev_alarm_report_withheld: "alarm report withheld", ev_alarm_reported: "alarm reported",
    nav_devices: "Devices", devices: "Devices", model: "Model", power: "Power", availability: "Availability",
    last_seen_h: "Last seen", bound_to: "Bound to", no_devices: "No Zigbee devices known (is Zigbee2MQTT connected?)",
    isolate: "Isolate", unisolate: "Un-isolate", discovered: "not bound",
    duress_pin: "Duress PIN", tags: "Fob or tag ids", expires: "Expires", one_time: "One-time code (works once)",
    guest_schedule: "Guest: allowed", from_time: "from", to_time: "to", days: ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"],
    has_one_time: "one-time", until_d: "until {t}", swinger_limit: "Alarms per zone and arming period (swinger limit)",
  },
  sv: {
    nav_home: "Hem", nav_events: "Händelser", logout: "Logga ut", language: "Språk",
    reconnecting: "Anslutningen bröts: ansluter igen…", login_title: "Logga in", user: "Användare", password: "Lösenord",
    login: "Logga in", arm: "Larma", disarm_with_pin: "Larma av med din kod", clear: "Rensa", disarm: "Larma av",
    panic_hold: "Överfall: håll in 2 s", faults: "Fel", zones: "Zoner", events: "Händelser", type: "Typ", zone: "Zon",
    since: "Från", until: "Till", filter: "Filtrera", csv: "Ladda ner CSV", time: "Tid", event: "Händelse", who: "Vem",
    via: "Via", more: "Äldre händelser", cancel: "Avbryt", arm_anyway: "Larma ändå",
    st_disarmed: "Avlarmat", st_arming: "Gå ut nu", st_armed_away: "Larmat borta", st_armed_home: "Larmat hemma",
    st_armed_night: "Larmat natt", st_armed_vacation: "Larmat semester", st_pending: "Inpassering: larma av nu", st_triggered: "LARM",
    m_away: "Borta", m_home: "Hemma", m_night: "Natt", m_vacation: "Semester",
    ready: "Klart", not_ready: "Inte klart", exit_in: "Utpassering: {s} s", entry_in: "Larma av inom {s} s",
    alarm_in: "Larm: {zone}", armed_by: "Larmat av {who}", no_faults: "Inga fel", no_events: "Inga händelser",
    r_open: "öppen", r_tamper: "sabotage", r_offline: "ej ansluten", r_low_battery: "lågt batteri", r_uplink_down: "larmcentralen nås inte",
    r_output_failed: "utgång fungerar inte", r_storage_failed: "lagringen fungerar inte",
    z_open: "öppen", z_closed: "stängd", z_tamper: "sabotage", z_offline: "ej ansluten", z_low_battery: "lågt batteri",
    z_bypassed: "förbikopplad", z_isolated: "isolerad", bypass: "Förbikoppla", unbypass: "Ta med",
    f_uplink: "Förbindelsen till larmcentralen är nere", f_output: "Utgång fungerar inte", f_storage: "Lagringen fungerar inte",
    f_broker: "MQTT-brokern nås inte", f_mains: "Nätspänningen borta", f_zigbee: "Zigbee-bryggan är nere",
    force_q: "Inte klart att larma {mode}: {reasons}. De zonerna förbikopplas.", done: "Klart",
    disarmed_ok: "Avlarmat", armed_ok: "Larmar {mode}", panic_sent: "Överfallslarm skickat",
    e_bad_code: "Fel kod", e_locked: "För många fel koder: vänta en minut", e_not_ready: "Inte klart",
    e_unauthenticated: "Logga in igen", e_denied: "Inte tillåtet", e_not_allowed: "Går inte nu",
    e_csrf: "Ladda om sidan", e_network: "Centralen går inte att nå", enter_pin: "Slå din kod först",
    nav_users: "Användare", nav_settings: "Inställningar", welcome: "Välkommen till Vakt",
    onboarding_intro: "Skapa den första administratören. Installationskoden står i centralens logg.", setup_code: "Installationskod",
    your_name: "Ditt namn", pin: "Kod", create_admin: "Skapa administratör", users: "Användare", name: "Namn", role: "Roll",
    credentials: "Koder", add_user: "Lägg till användare", role_user: "Användare", role_admin: "Administratör", role_guest: "Gäst", add: "Lägg till",
    settings: "Inställningar", exit_delay: "Utpassering (s)", entry_delay: "Inpassering (s)", siren_duration: "Sirenens längd (s)",
    save: "Spara", my_account: "Min kod och mitt lösenord", new_pin: "Ny kod", new_password: "Nytt lösenord", remove: "Ta bort",
    saved: "Sparat", remove_q: "Ta bort {name}?", has_pin: "kod", has_password: "lösenord", has_duress: "överfallskod",
    tokens: "Väggplattor och API-nycklar", scope: "Sort", scope_keypad: "Väggplatta", scope_read: "Bara läsa",
    scope_control: "Styra (som jag)", token_once: "Kopiera den nu: den visas bara en gång.", kiosk_link: "Öppna länken på plattan",
    revoke: "Återkalla", since_t: "sedan {t}", silent: "Ingen aktivitet på 30 dagar", flapping: "Fladdrar: {n} eller fler öppningar senaste timmen",
    last_seen: "senast aktiv {t}", never_seen: "aldrig sedd aktiv",
    do_uplink: "Larmcentralen nås inte den här vägen. Kontrollera internetanslutningen; centralen försöker igen och sparar larmen.",
    do_uplink_clock: "Larmcentralen godtar inte klockan eller nyckeln. Kontrollera tiden och kontots nyckel.",
    do_output: "En siren eller utgång svarar inte. Kontrollera ström och anslutning.",
    do_storage: "Centralen kan inte skriva till lagringen. Frigör utrymme eller byt SD-kort; larmen går ändå fram.",
    do_broker: "MQTT-brokern nås inte. Kontrollera att den är igång.",
    do_zigbee: "Zigbee2MQTT är nere. Kontrollera Zigbee-adaptern och att Zigbee2MQTT kör och når hubbens MQTT-broker.",
    f_zigbee_output: "Zigbee2MQTT skickar inga sensortillstånd",
    do_zigbee_output: "Zigbee2MQTT är inställd på att bara publicera attribut, så hubben hör inga sensorer. Sätt advanced.output: json (eller attribute_and_json) i Zigbee2MQTT:s konfiguration.",
    do_mains: "Nätspänningen är borta: centralen går på batteri.", do_battery: "Reservbatteriet är svagt: byt det.",
    do_gpio: "En trådad ingång går inte att läsa. Kontrollera kablaget.", do_offline: "Detektorn hörs inte. Kontrollera batteri och räckvidd.",
    do_tamper: "Ett lock är öppet eller en enhet har flyttats.", do_low_battery: "Byt detektorns batteri.",
    do_silent: "Är den trasig eller skymd? Gå förbi den eller testa den.", do_flapping: "Kontrollera magnetens avstånd eller vad detektorn är riktad mot.",
    f_uplink_clock: "Centralen godtar inte klockan", f_offline: "Hörs inte", f_tamper: "Sabotage", f_low_battery: "Lågt batteri",
    service: "Service", walk_start: "Starta gångtest", walk_stop: "Avsluta gångtest", maint_start: "Starta underhåll",
    maint_stop: "Avsluta underhåll", walk_running: "Gångtest: öppna varje zon. Sett {n} av {m}, till {t}.",
    maint_running: "Underhåll: sabotagelarm är avstängda till {t}.", z_seen: "sedd", z_unseen: "inte än",
    walk_done: "Gångtestet avslutat", maint_done: "Underhållet avslutat",
    activity: "Aktivitet", last_24h: "24 timmar", last_7d: "7 dagar", armed_legend: "larmat", openings: "öppningar",
    centre: "Larmcentral", centre_test: "Skicka ett provlarm", centre_none: "Ingen larmcentral är inställd: larmen är bara lokala.",
    path_ok: "fungerar", path_failing: "fel", path_lost: "förlorad", path_unknown: "inte provad än", last_ack: "senaste svar {t}",
    queued: "{n} väntar", test_sent: "Provlarmet köat", backup: "Säkerhetskopia",
    backup_download: "Ladda ner en säkerhetskopia av databasen", config_download: "Ladda ner konfigurationen (YAML)",
    nav_selftest: "Självtest", selftest: "Självtest", selftest_intro: "Prova hela systemet som larmbolaget gör. Varje steg bockas av när centralen ser det.",
    st_told_box: "Jag har sagt till larmcentralen att det här är ett prov", st_begin: "Börja", st_arm: "Larma borta", st_finish: "Avsluta och spara",
    stp_told: "Säg till larmcentralen", stp_test_report: "Skicka ett provlarm; centralen svarar", stp_armed: "Larma borta",
    stp_left: "Gå ut inom utpasseringstiden", stp_entry: "Kom in genom en dörr: inpasseringen börjar", stp_alarm: "Låt larmet gå",
    stp_siren: "Låt sirenen ljuda i 30 sekunder", stp_centre_ack: "Larmcentralen kvitterar larmet", stp_disarmed: "Larma av",
    stp_passed: "Godkänt: sparat i händelseloggen", stp_failed: "Inte godkänt: sparat i händelseloggen",
    ev_restart: "omstart", ev_armed: "larmat", ev_arming: "larmar", ev_disarmed: "avlarmat", ev_alarm: "LARM",
    ev_alarm_cancel: "larm återkallat", ev_entry_delay: "inpassering", ev_zone_open: "zon öppnad", ev_zone_closed: "zon stängd",
    ev_code_rejected: "fel kod", ev_lockout: "kodinmatning spärrad", ev_fault: "fel", ev_fault_restore: "fel åtgärdat",
    ev_tamper: "sabotage", ev_tamper_restore: "sabotage återställt", ev_device_offline: "enhet förlorad", ev_device_online: "enhet tillbaka",
    ev_low_battery: "lågt batteri", ev_battery_ok: "batteri OK", ev_bypass: "förbikopplad", ev_unbypass: "medtagen igen",
    ev_isolate: "isolerad", ev_unisolate: "isolering hävd", ev_config_changed: "konfiguration ändrad", ev_panic: "ÖVERFALL",
    ev_manual_test: "provlarm", ev_periodic_test: "periodiskt provlarm", ev_walk_test_start: "gångtest startat",
    ev_walk_test_end: "gångtest avslutat", ev_walk_test_zone: "gångtest: zon sedd", ev_self_test: "självtest",
    ev_arm_refused: "larmning nekad", ev_arm_forced: "larmat ändå", ev_siren_cutoff: "sirenen tystnade",
    ev_maintenance_start: "underhåll startat", ev_maintenance_end: "underhåll avslutat",
    ev_alarm_report_withheld: "larmrapport hållen", ev_alarm_reported: "larm rapporterat",
    nav_devices: "Enheter", devices: "Enheter", model: "Modell", power: "Ström", availability: "Tillgänglighet",
    last_seen_h: "Senast hörd", bound_to: "Kopplad till", no_devices: "Inga Zigbee-enheter kända (är Zigbee2MQTT anslutet?)",
    isolate: "Isolera", unisolate: "Häv isolering", discovered: "inte kopplad",
    duress_pin: "Överfallskod", tags: "Bricka eller tagg", expires: "Upphör", one_time: "Engångskod (fungerar en gång)",
    guest_schedule: "Gäst: tillåten", from_time: "från", to_time: "till", days: ["sön", "mån", "tis", "ons", "tor", "fre", "lör"],
    has_one_time: "engångs", until_d: "till {t}", swinger_limit: "Larm per zon och larmperiod (swingerspärr)",
  },
};

const $ = (id) => document.getElementById(id);
let lang = localStorage.getItem("vakt.lang") || ((navigator.language || "en").toLowerCase().startsWith("sv") ? "sv" : "en");
let me = null;      // {user, csrf}
let status = null;  // the last status from the hub
let skew = 0;       // hub clock minus ours, ms
let stream = null;
let pin = "";
let eventsNext = 0;
const zoneNames = {};

function t(key, vars) {
  let s = (T[lang] && T[lang][key]) || T.en[key] || key;
  for (const [k, v] of Object.entries(vars || {})) s = s.replace("{" + k + "}", v);
  return s;
}

function applyLang() {
  document.documentElement.lang = lang;
  $("lang").value = lang;
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  if (status) renderStatus(status);
}

function say(text, error) {
  const m = $("message");
  m.textContent = text || "";
  m.className = error ? "error" : "";
}

async function api(method, path, body) {
  const opt = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    opt.headers["Content-Type"] = "application/json";
    opt.body = JSON.stringify(body);
  }
  if (method !== "GET" && me) opt.headers["X-CSRF-Token"] = me.csrf;
  let res;
  try {
    res = await fetch("/api/v1" + path, opt);
  } catch (e) {
    throw { error: "network", message: t("e_network") };
  }
  if (res.status === 204) return null;
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    if (res.status === 401 && path !== "/session") showLogin();
    throw data;
  }
  return data;
}

function errText(e) {
  const key = "e_" + (e && e.error);
  if (T.en[key]) {
    let s = t(key);
    if (e.reasons && e.reasons.length) s += ": " + e.reasons.map(reasonText).join(", ");
    return s;
  }
  return (e && e.message) || String(e);
}

function reasonText(r) {
  const what = t("r_" + r.reason);
  return r.zone ? (zoneNames[r.zone] || r.zone) + " " + what : what;
}

// --- views and routing ---

function show(view) {
  for (const v of ["onboarding", "login", "home", "events", "users", "settings", "selftest", "devices", "cameras", "camera"]) $("view-" + v).hidden = v !== view;
  leaveCameras(view);
  $("nav-cameras").hidden = !me || me.user.role === "guest";
  $("nav-cameras").toggleAttribute("aria-current", view === "cameras" || view === "camera");
  if (view === "cameras" || view === "camera") $("nav-cameras").setAttribute("aria-current", "page");
  $("nav").hidden = view === "login" || view === "onboarding";
  const admin = me && me.user.role === "admin";
  $("nav-users").hidden = !admin;
  $("nav-events").hidden = !me || me.user.role === "guest";
  $("nav-selftest").hidden = !me || me.user.role === "guest";
  $("nav-devices").hidden = !me || me.user.role === "guest";
  $("nav-home").toggleAttribute("aria-current", view === "home");
  $("nav-events").toggleAttribute("aria-current", view === "events");
  if (view === "home") $("nav-home").setAttribute("aria-current", "page");
  if (view === "events") $("nav-events").setAttribute("aria-current", "page");
}

function showLogin() {
  me = null;
  if (stream) { stream.close(); stream = null; }
  if (kiosk) { kioskLogin(); return; }
  show("login");
  $("login-user").focus();
}

let kiosk = false;

function route() {
  if (kiosk) {
    if (location.hash !== "#/kiosk") history.replaceState(null, "", "#/kiosk");
    show("home");
    return;
  }
  if (!me) return showLogin();
  if (location.hash === "#/users" && me.user.role === "admin") {
    show("users");
    loadUsers();
  } else if (location.hash === "#/devices" && me.user.role !== "guest") {
    show("devices");
    loadDevices();
  } else if (location.hash === "#/self-test" && me.user.role !== "guest") {
    show("selftest");
    loadSelfTest();
  } else if (location.hash === "#/cameras" && me.user.role !== "guest") {
    show("cameras");
    loadCameras();
  } else if (location.hash.startsWith("#/cameras/") && me.user.role !== "guest") {
    show("camera");
    loadCamera(decodeURIComponent(location.hash.slice("#/cameras/".length)));
  } else if (location.hash === "#/settings") {
    show("settings");
    loadSettings();
  } else if (location.hash === "#/events") {
    if (me.user.role === "guest") { location.hash = "#/"; return; }
    show("events");
    loadEvents(true);
    loadTimeline();
  } else {
    show("home");
  }
}

// --- the keypad ---

function stateKind(s) {
  if (s === "triggered") return "alarm";
  if (s === "arming" || s === "pending") return "delay";
  if (s && s.startsWith("armed")) return "armed";
  return "ok";
}

function renderStatus(s) {
  if (status && status.state !== s.state) say("");
  status = s;
  skew = new Date(s.now).getTime() - Date.now();
  for (const z of s.zones) zoneNames[z.id] = z.name || z.id;
  $("state").textContent = t("st_" + s.state);
  $("state").dataset.state = s.state;
  $("state-box").dataset.kind = stateKind(s.state);
  $("alarm-zone").textContent = s.state === "triggered" && s.alarm_zone ? t("alarm_in", { zone: zoneNames[s.alarm_zone] || s.alarm_zone })
    : s.armed_by && s.state.startsWith("armed") ? t("armed_by", { who: s.armed_by }) : "";
  tick();

  const modes = $("modes");
  modes.replaceChildren();
  const armable = s.state === "disarmed";
  $("arm-box").hidden = !armable;
  for (const m of s.modes) {
    const box = document.createElement("div");
    box.className = "mode";
    const b = document.createElement("button");
    b.type = "button";
    b.className = "primary";
    b.dataset.arm = m;
    b.textContent = t("m_" + m);
    b.addEventListener("click", () => arm(m));
    const reasons = s.ready[m] || [];
    const r = document.createElement("p");
    r.id = "ready-" + m;
    r.className = "ready" + (reasons.length ? " not" : "");
    r.textContent = reasons.length ? t("not_ready") + ": " + reasons.map(reasonText).join(", ") : t("ready");
    box.append(b, r);
    modes.append(box);
  }
  $("disarm-box").hidden = s.state === "disarmed";
  alarmCameras(s);

  if (me && !$("view-settings").hidden && me.user.role !== "guest") { loadUplink(); loadOutputs(); }
  if (me && !$("view-selftest").hidden) loadSelfTest();
  if (!me || me.user.role === "guest" || kiosk) renderFaults(s.faults.map((f) => ({ ...f, subject: f.subject })), [], []);
  else loadTrouble();

  const service = me && me.user.role !== "guest" && !kiosk;
  $("service-box").hidden = !service || s.state !== "disarmed";
  $("walk-start").hidden = s.walk_test;
  $("walk-stop").hidden = !s.walk_test;
  $("maint-start").hidden = s.maintenance;
  $("maint-stop").hidden = !s.maintenance;
  const lines = [];
  if (s.walk_test) lines.push(t("walk_running", { n: s.walk_test_seen.length, m: s.zones.length, t: when(s.walk_test_until) }));
  if (s.maintenance) lines.push(t("maint_running", { t: when(s.maintenance_until) }));
  $("service-state").textContent = lines.join(" ");

  const zones = $("zones");
  zones.replaceChildren();
  for (const z of s.zones) {
    const li = document.createElement("li");
    li.dataset.zone = z.id;
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = z.name || z.id;
    li.append(name);
    const badge = (key, cls) => {
      const b = document.createElement("span");
      b.className = "badge " + (cls || "");
      b.textContent = t("z_" + key);
      li.append(b);
    };
    badge(z.open ? "open" : "closed", z.open ? "bad" : "ok");
    if (z.tamper) badge("tamper", "bad");
    if (z.offline) badge("offline", "bad");
    if (z.low_battery) badge("low_battery", "bad");
    if (z.bypassed) badge("bypassed");
    if (z.isolated) badge("isolated");
    if (s.walk_test) badge(s.walk_test_seen.includes(z.id) ? "seen" : "unseen", s.walk_test_seen.includes(z.id) ? "ok" : "bad");
    zoneDeviceInfo(li, z.id);
    if (s.state === "disarmed" && me && me.user.role !== "guest") {
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.bypass = z.id;
      b.textContent = z.bypassed ? t("unbypass") : t("bypass");
      b.addEventListener("click", () => command(z.bypassed ? "/unbypass" : "/bypass", { zone: z.id }, t("done")));
      li.append(b);
      if (me.user.role === "admin") {
        const iso = document.createElement("button");
        iso.type = "button";
        iso.dataset.isolate = z.id;
        iso.textContent = z.isolated ? t("unisolate") : t("isolate");
        iso.addEventListener("click", () => command(z.isolated ? "/unisolate" : "/isolate", { zone: z.id }, t("done")));
        li.append(iso);
      }
    }
    zones.append(li);
  }
}

function when(t) { return new Date(t).toLocaleString(lang === "sv" ? "sv-SE" : "en-GB"); }

// --- a life-safety detector stuck active (fault "stuck") ---

Object.assign(T.en, {
  f_stuck: "Detector stuck active", r_detector_stuck: "detector stuck active",
  do_stuck: "The detector keeps reporting its alarm: it cannot report a new fire or leak until it clears. Air it out or dry it, check it, and test it; replace it if it stays stuck. Isolate its zone to arm meanwhile.",
});
Object.assign(T.sv, {
  f_stuck: "Detektor fastnat i larm", r_detector_stuck: "detektor fastnat i larm",
  do_stuck: "Detektorn fortsätter att rapportera larm: den kan inte larma om en ny brand eller läcka förrän den återställts. Vädra eller torka, kontrollera och testa den; byt den om den inte släpper. Förbikoppla zonen för att larma under tiden.",
});

// --- zones' devices: battery and last seen (GET /zones) ---

Object.assign(T.en, { battery_pct: "battery {n} %", seen_at: "seen {t}", link_q: "link {n}" });
Object.assign(T.sv, { battery_pct: "batteri {n} %", seen_at: "hörd {t}", link_q: "länk {n}" });

let zoneInfo = {};  // zone id -> its binding's device, from GET /zones
let zoneInfoAt = 0; // when it was fetched, ms

const loadZoneInfo = fresh(async () => {
  zoneInfoAt = Date.now();
  try {
    const list = await api("GET", "/zones");
    zoneInfo = {};
    for (const z of list) if (z.binding && z.binding.device) zoneInfo[z.id] = z.binding.device;
    if (status) renderStatus(status);
  } catch (e) { /* shown again at the next fetch */ }
});

// zoneDeviceInfo adds a zone's battery and last message to its line, and fetches
// them again when they are older than 30 s.
function zoneDeviceInfo(li, id) {
  if (me && me.user.role !== "guest" && !kiosk && Date.now() - zoneInfoAt > 30000) loadZoneInfo();
  const d = zoneInfo[id];
  if (!d) return;
  const parts = [];
  if (d.battery !== undefined) parts.push(t("battery_pct", { n: Math.round(d.battery) }));
  if (d.last_seen) parts.push(t("seen_at", { t: when(d.last_seen) }));
  if (d.link_quality !== undefined) parts.push(t("link_q", { n: d.link_quality }));
  if (!parts.length) return;
  const span = document.createElement("span");
  span.className = "device-info" + (d.battery_low ? " bad" : "");
  span.textContent = parts.join(" · ");
  li.append(span);
}

// renderFaults shows the trouble list: each fault in words, since when and what
// to do; then the silent detectors and the flapping zones.
function renderFaults(faults, silent, flapping) {
  const ul = $("faults");
  ul.replaceChildren();
  const item = (id, title, lines) => {
    const li = document.createElement("li");
    li.dataset.fault = id;
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = title;
    li.append(name);
    for (const l of lines.filter(Boolean)) {
      const p = document.createElement("span");
      p.className = "what";
      p.textContent = l;
      li.append(p);
    }
    ul.append(li);
  };
  for (const f of faults) {
    // Zigbee2MQTT's "attribute" output is a fault of its own kind for people.
    const kind = f.kind === "zigbee" && /\/output$/.test(f.subject || "") ? "zigbee_output" : f.kind;
    const title = (T.en["f_" + kind] ? t("f_" + kind) : kind) + (f.zone ? ": " + (zoneNames[f.zone] || f.zone) : f.subject ? ": " + f.subject : "");
    item(f.id, title, [f.since && t("since_t", { t: when(f.since) }), T.en["do_" + kind] && t("do_" + kind)]);
  }
  for (const z of silent) item("silent:" + z.zone, t("silent") + ": " + z.name, [z.last_activity ? t("last_seen", { t: when(z.last_activity) }) : t("never_seen"), t("do_silent")]);
  for (const z of flapping) item("flapping:" + z.zone, t("flapping", { n: z.opens_last_hour }) + ": " + z.name, [t("do_flapping")]);
  if (!ul.children.length) {
    const li = document.createElement("li");
    li.textContent = t("no_faults");
    ul.append(li);
  }
}

// fresh wraps a loader so that at most one runs at a time, and a call that comes
// while one runs makes it run once more after: the page never stays behind the
// status that asked for it, and answers never land out of order.
function fresh(load) {
  let busy = false, again = false;
  return async function () {
    if (busy) { again = true; return; }
    busy = true;
    try {
      do {
        again = false;
        await load();
      } while (again);
    } finally {
      busy = false;
    }
  };
}

const loadTrouble = fresh(async () => {
  try {
    const tr = await api("GET", "/trouble");
    renderFaults(tr.faults, tr.silent, tr.flapping);
  } catch (e) {
    /* the status's own list stays */
  }
});

// tick shows the exit or entry countdown with the hub's clock.
function tick() {
  if (!status) return;
  const now = Date.now() + skew;
  let text = "";
  if (status.state === "arming" && status.exit_deadline) {
    text = t("exit_in", { s: Math.max(0, Math.ceil((new Date(status.exit_deadline) - now) / 1000)) });
  } else if (status.state === "pending" && status.entry_deadline) {
    text = t("entry_in", { s: Math.max(0, Math.ceil((new Date(status.entry_deadline) - now) / 1000)) });
  }
  $("countdown").textContent = text;
}

async function command(path, body, ok) {
  try {
    const s = await api("POST", path, body);
    renderStatus(s);
    say(ok); // after the render: the state changed by this very command
    return true;
  } catch (e) {
    say(errText(e), true);
    return false;
  }
}

async function arm(mode, force) {
  const reasons = (status && status.ready[mode]) || [];
  if (reasons.length && !force) {
    $("force-text").textContent = t("force_q", { mode: t("m_" + mode), reasons: reasons.map(reasonText).join(", ") });
    const d = $("force-dialog");
    d.returnValue = "";
    d.onclose = () => { if (d.returnValue === "ok") arm(mode, true); };
    d.showModal();
    return;
  }
  await command("/arm", { mode, force: !!force }, t("armed_ok", { mode: t("m_" + mode) }));
}

function renderPin() {
  $("pin-display").textContent = "•".repeat(pin.length);
}

async function disarm() {
  if (!pin) { say(t("enter_pin"), true); return; }
  const code = pin;
  pin = "";
  renderPin();
  await command("/disarm", { code }, t("disarmed_ok"));
}

// The panic button acts when held for 2 s, so a brushing hand does not raise it.
function holdToPanic() {
  const b = $("panic");
  let timer = null;
  const start = (e) => {
    if (e.type === "keydown" && e.key !== "Enter" && e.key !== " ") return;
    if (timer) return;
    e.preventDefault();
    b.classList.add("holding");
    timer = setTimeout(() => { timer = null; b.classList.remove("holding"); command("/panic", {}, t("panic_sent")); }, 2000);
  };
  const stop = () => { clearTimeout(timer); timer = null; b.classList.remove("holding"); };
  b.addEventListener("pointerdown", start);
  b.addEventListener("keydown", start);
  for (const ev of ["pointerup", "pointerleave", "pointercancel", "keyup", "blur"]) b.addEventListener(ev, stop);
}

// --- the live stream ---

function connect() {
  if (stream) stream.close();
  stream = new EventSource("/api/v1/stream");
  stream.addEventListener("open", () => { $("offline").hidden = true; });
  stream.addEventListener("status", (e) => renderStatus(JSON.parse(e.data)));
  stream.addEventListener("event", (e) => {
    const ev = JSON.parse(e.data);
    if (!$("view-events").hidden && !filtered()) prependEvent(ev);
  });
  stream.addEventListener("error", async () => {
    $("offline").hidden = false;
    // The stream reconnects by itself; a session that ended needs a login.
    if (stream && stream.readyState === EventSource.CLOSED) {
      stream = null;
      setTimeout(async () => {
        try { me = await api("GET", "/session"); connect(); } catch (e) { if (e.error !== "unauthenticated") setTimeout(connect, 3000); }
      }, 2000);
    }
  });
}

// --- the event log ---

function filters() {
  const p = new URLSearchParams();
  for (const [id, key] of [["f-type", "type"], ["f-zone", "zone"], ["f-user", "user"], ["f-since", "since"], ["f-until", "until"]]) {
    const v = $(id).value.trim();
    if (v) p.set(key, v);
  }
  return p;
}

function filtered() { return [...filters().keys()].length > 0; }

function eventRow(ev) {
  const tr = document.createElement("tr");
  tr.dataset.seq = ev.seq;
  tr.dataset.type = ev.type;
  if (ev.class === "alarm") tr.className = "alarm";
  const who = ev.who || {};
  const cells = [new Date(ev.time).toLocaleString(lang === "sv" ? "sv-SE" : "en-GB"),
    (T.en["ev_" + ev.type] ? t("ev_" + ev.type) : ev.type.replaceAll("_", " ")) + (ev.detail ? " (" + ev.detail + ")" : ""),
    ev.zone ? (zoneNames[ev.zone] || ev.zone) : "", who.user_name || who.device || "", who.via || ""];
  for (const c of cells) {
    const td = document.createElement("td");
    td.textContent = c;
    tr.append(td);
  }
  linkClips(ev, tr);
  return tr;
}

function prependEvent(ev) {
  const body = $("events-body");
  if (body.querySelector(`tr[data-seq="${ev.seq}"]`)) return;
  const empty = body.querySelector("tr.empty");
  if (empty) empty.remove();
  body.prepend(eventRow(ev));
}

async function loadEvents(fresh) {
  const p = filters();
  $("events-csv").href = "/api/v1/events.csv?" + p.toString();
  if (!fresh && eventsNext) p.set("before", eventsNext);
  p.set("limit", "100");
  try {
    const page = await api("GET", "/events?" + p.toString());
    const body = $("events-body");
    if (fresh) body.replaceChildren();
    for (const ev of page.events) body.append(eventRow(ev));
    if (fresh && !page.events.length) {
      const tr = document.createElement("tr");
      tr.className = "empty";
      const td = document.createElement("td");
      td.colSpan = 5;
      td.textContent = t("no_events");
      tr.append(td);
      body.append(tr);
    }
    eventsNext = page.next;
    $("events-more").hidden = !page.next;
  } catch (e) {
    say(errText(e), true);
  }
}

// --- the activity timeline (uPlot) ---

let chart = null;
let tlRange = "24h";
const palette = ["#b45309", "#047857", "#7c3aed", "#be185d", "#0369a1", "#4d7c0f"];

async function loadTimeline() {
  if (typeof uPlot === "undefined") return;
  let tl;
  try {
    tl = await api("GET", "/timeline?range=" + tlRange);
  } catch (e) {
    return;
  }
  const from = new Date(tl.from).getTime() / 1000;
  const n = tl.zones.length ? tl.zones[0].counts.length : 0;
  const xs = Array.from({ length: n }, (_, i) => from + i * tl.bucket_seconds);
  const zones = tl.zones.filter((z) => z.counts.some((c) => c > 0)).slice(0, palette.length);
  const data = [xs, ...zones.map((z) => z.counts)];
  const armed = tl.armed.map((p) => [new Date(p.from).getTime() / 1000, new Date(p.to).getTime() / 1000]);
  const el = $("timeline");
  const opts = {
    width: Math.max(280, el.clientWidth || 600),
    height: 220,
    series: [{}, ...zones.map((z, i) => ({ label: z.name, stroke: palette[i], width: 2, paths: uPlot.paths.stepped({ align: 1 }) }))],
    axes: [{}, { label: t("openings") }],
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
    legend: { show: zones.length > 0 },
    hooks: {
      drawClear: [(u) => {
        const c = u.ctx;
        c.save();
        c.fillStyle = "rgba(30, 58, 138, 0.18)";
        for (const [a, b] of armed) {
          const x0 = u.valToPos(Math.max(a, xs[0] || a), "x", true), x1 = u.valToPos(b, "x", true);
          c.fillRect(x0, u.bbox.top, Math.max(1, x1 - x0), u.bbox.height);
        }
        c.restore();
      }],
    },
  };
  if (chart) chart.destroy();
  el.replaceChildren();
  chart = new uPlot(opts, data, el);
  el.dataset.armed = String(armed.length);
  el.dataset.zones = zones.map((z) => z.id).join(",");
}

// --- devices ---

async function loadDevices() {
  try {
    const doc = await api("GET", "/devices");
    const list = (doc && doc.devices) || [];
    $("devices-none").textContent = list.length ? "" : t("no_devices");
    // The zones a device can be adopted into (the status may not be here yet).
    const zones = me && me.user.role === "admin" ? (status || await api("GET", "/status")).zones : [];
    const body = $("devices-body");
    body.replaceChildren();
    for (const d of list) {
      const tr = document.createElement("tr");
      tr.dataset.ieee = d.ieee;
      const bound = [...(d.zones || []).map((z) => zoneNames[z] || z), ...(d.outputs || []), d.keypad || ""].filter(Boolean).join(", ") || t("discovered");
      for (const c of [d.friendly_name, [d.vendor, d.model].filter(Boolean).join(" "), d.power_source || "", d.lost ? t("z_offline") : !d.ready ? t("dev_not_ready") : d.availability || "",
        d.last_seen ? when(d.last_seen) : "", bound]) {
        const td = document.createElement("td");
        td.textContent = c;
        tr.append(td);
      }
      if (d.lost) tr.className = "alarm";
      if (d.last_error) {
        // What Zigbee2MQTT last said went wrong with it (until it is heard from again).
        const e = document.createElement("div");
        e.className = "device-error";
        e.textContent = t("z2m_error", { when: when(d.last_error.at), msg: d.last_error.message });
        tr.firstChild.append(e);
      }
      body.append(tr);
      if (me && me.user.role === "admin") body.append(adoptRow(d, doc, zones));
    }
  } catch (e) { say(errText(e), true); }
}

// --- adopting devices (admins) ---

Object.assign(T.en, {
  adopt: "Adopt", adopt_as: "As", release: "Release", property: "Property", default_prop: "default ({p})",
  as_zone: "zone", as_output: "output", as_keypad: "keypad", keypad_id: "Keypad id", release_q: "Release {name} from {what}?",
  checkin: "Check-in interval (e.g. 2h; empty: by power source)", clear_after: "Clear after (e.g. 2m; empty: when the device clears)",
  z2m_error: "Zigbee2MQTT error {when}: {msg}", dev_not_ready: "not ready (interview not done)", tamper_only: "none (its tamper only)", output_label: "Output", siren_mode: "Warning", mode_default: "default (burglar)", squawk: "Chirp at arming and disarming",
  sm_burglar: "burglar", sm_fire: "fire", sm_emergency: "emergency", sm_police_panic: "police panic", sm_fire_panic: "fire panic",
  sm_emergency_panic: "emergency panic",
});
Object.assign(T.sv, {
  adopt: "Koppla", adopt_as: "Som", release: "Koppla loss", property: "Egenskap", default_prop: "standard ({p})",
  as_zone: "zon", as_output: "utgång", as_keypad: "knappsats", keypad_id: "Knappsatsens id", release_q: "Koppla loss {name} från {what}?",
  checkin: "Incheckningsintervall (t.ex. 2h; tomt: efter strömkälla)", clear_after: "Återställ efter (t.ex. 2m; tomt: när enheten återställer)",
  z2m_error: "Fel i Zigbee2MQTT {when}: {msg}", dev_not_ready: "inte klar (intervjun ej klar)", tamper_only: "ingen (bara dess sabotage)", output_label: "Utgång", siren_mode: "Larmljud", mode_default: "standard (inbrott)", squawk: "Pip vid till- och frånkoppling",
  sm_burglar: "inbrott", sm_fire: "brand", sm_emergency: "nödläge", sm_police_panic: "överfall", sm_fire_panic: "brandlarm",
  sm_emergency_panic: "nödlarm",
});

// The properties a clear rule may take as cleared, and the warnings a siren
// can sound (a siren that names none takes them all).
const PULSE_PROPS = ["occupancy", "vibration", "presence", "tilt"];
const SIREN_MODES = ["burglar", "fire", "emergency", "police_panic", "fire_panic", "emergency_panic"];

// adoptRow is the row under a device: a form that adopts a discovered device
// as a zone, an output or a keypad, or a button that releases a bound one.
function adoptRow(d, doc, zones) {
  const tr = document.createElement("tr");
  tr.className = "adopt";
  tr.dataset.adopt = d.ieee;
  const td = document.createElement("td");
  td.colSpan = 6;
  tr.append(td);
  const bound = [...(d.zones || []).map((z) => t("as_zone") + " " + (zoneNames[z] || z)),
    ...(d.outputs || []).map((o) => t("as_output") + " " + o), ...(d.keypad ? [t("as_keypad") + " " + d.keypad] : [])];
  if (bound.length) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "release";
    b.textContent = t("release");
    b.onclick = async () => {
      if (!confirm(t("release_q", { name: d.friendly_name, what: bound.join(", ") }))) return;
      try {
        say((await api("DELETE", "/devices/" + encodeURIComponent(d.ieee) + "/binding")).message);
        loadDevices();
      } catch (e) { say((e && e.message) || errText(e), true); }
    };
    td.append(b);
    return tr;
  }
  const kinds = d.adoptable || [];
  if (!kinds.length) return tr;
  const form = document.createElement("form");
  form.className = "adopt-form";
  const field = (label, input) => {
    const l = document.createElement("label");
    l.append(label + " ", input);
    form.append(l);
    return input;
  };
  const select = (options) => {
    const sel = document.createElement("select");
    for (const [value, text] of options) sel.append(new Option(text, value));
    return sel;
  };
  const kind = field(t("adopt_as"), select(kinds.map((k) => [k, t("as_" + k)])));
  kind.name = "kind";
  const zone = field(t("zone"), select(zones.map((z) => [z.id, z.name || z.id])));
  zone.name = "zone";
  const props = d.zone_properties || [];
  const prop = field(t("property"), select([["", props.length ? t("default_prop", { p: props[0] }) : t("tamper_only")], ...props.map((p) => [p, p])]));
  prop.name = "property";
  const text = (name) => {
    const i = document.createElement("input");
    i.name = name;
    i.autocomplete = "off";
    i.spellcheck = false;
    return i;
  };
  const checkin = field(t("checkin"), text("checkin"));
  const clearAfter = field(t("clear_after"), text("clear_after"));
  const out = field(t("output_label"), select(((doc && doc.outputs) || []).map((o) => [o, o])));
  out.name = "output";
  const modes = SIREN_MODES.filter((m) => !(d.siren_modes || []).length || d.siren_modes.includes(m));
  const mode = field(t("siren_mode"), select([["", t("mode_default")], ...modes.map((m) => [m, t("sm_" + m)])]));
  mode.name = "mode";
  const squawk = document.createElement("input");
  squawk.type = "checkbox";
  squawk.name = "squawk";
  field(t("squawk"), squawk);
  const kp = field(t("keypad_id"), document.createElement("input"));
  kp.name = "keypad";
  kp.value = d.friendly_name.replace(/[^A-Za-z0-9_]+/g, "_").toLowerCase();
  const go = document.createElement("button");
  go.type = "submit";
  go.className = "primary";
  go.textContent = t("adopt");
  form.append(go);
  const shown = () => {
    const z = kind.value === "zone", o = kind.value === "output";
    zone.parentElement.hidden = prop.parentElement.hidden = checkin.parentElement.hidden = !z;
    // A clear rule only for a motion or vibration property named in the form.
    clearAfter.parentElement.hidden = !z || !PULSE_PROPS.includes(prop.value);
    out.parentElement.hidden = !o;
    mode.parentElement.hidden = !o || d.siren !== "ias_wd";
    squawk.parentElement.hidden = !o || !d.squawk;
    kp.parentElement.hidden = kind.value !== "keypad";
  };
  kind.onchange = prop.onchange = shown;
  shown();
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const given = (input, key) => (!input.parentElement.hidden && input.value.trim() ? { [key]: input.value.trim() } : {});
    const body = kind.value === "zone" ? { zone: zone.value, ...given(prop, "property"), ...given(checkin, "checkin"), ...given(clearAfter, "clear_after") }
      : kind.value === "output" ? { output: out.value, ...given(mode, "mode"), ...(squawk.checked && !squawk.parentElement.hidden ? { squawk: true } : {}) }
      : { keypad: kp.value };
    try {
      say((await api("POST", "/devices/" + encodeURIComponent(d.ieee) + "/adopt", body)).message);
      loadDevices();
    } catch (e) { say((e && e.message) || errText(e), true); }
  };
  td.append(form);
  return tr;
}

// --- the guided self-test ---

let stSince = Number(sessionStorage.getItem("vakt.selftest") || 0);

function renderSelfTest(v) {
  const ol = $("st-steps");
  ol.replaceChildren();
  for (const st of v.steps) {
    const li = document.createElement("li");
    li.dataset.step = st.id;
    li.className = st.skipped ? "skipped" : st.done ? "done" : "";
    li.textContent = (st.done ? "✓ " : "") + t("stp_" + st.id) + (st.at ? " (" + when(st.at) + ")" : "");
    ol.append(li);
  }
}

const loadSelfTest = fresh(async () => {
  const running = stSince > 0;
  for (const id of ["st-report", "st-arm", "st-finish"]) $(id).hidden = !running;
  $("st-begin").hidden = running;
  if (!running) { $("st-steps").replaceChildren(); return; }
  try {
    renderSelfTest(await api("GET", "/self-test?since=" + stSince + ($("st-told").checked ? "&told=true" : "")));
  } catch (e) { say(errText(e), true); }
});

// --- users and settings ---

function renderDays() {
  const span = $("u-days");
  if (span.children.length) { [...span.querySelectorAll("span")].forEach((el, i) => { el.textContent = t("days")[i]; }); return; }
  t("days").forEach((name, i) => {
    const l = document.createElement("label");
    const c = document.createElement("input");
    c.type = "checkbox";
    c.value = String(i);
    const sp = document.createElement("span");
    sp.textContent = name;
    l.append(c, sp);
    span.append(l);
  });
}

async function loadUsers() {
  renderDays();
  $("u-schedule").hidden = $("u-role").value !== "guest";
  try {
    const users = await api("GET", "/users");
    const body = $("users-body");
    body.replaceChildren();
    for (const u of users) {
      const tr = document.createElement("tr");
      tr.dataset.user = u.id;
      const codes = [u.has_pin && t("has_pin"), u.has_duress && t("has_duress"), u.has_password && t("has_password"),
        u.one_time && t("has_one_time"), u.expires && t("until_d", { t: when(u.expires) })].filter(Boolean).join(", ");
      for (const c of [u.name, t("role_" + u.role), codes]) {
        const td = document.createElement("td");
        td.textContent = c;
        tr.append(td);
      }
      const td = document.createElement("td");
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = t("remove");
      b.addEventListener("click", async () => {
        if (!confirm(t("remove_q", { name: u.name }))) return;
        try { await api("DELETE", "/users/" + encodeURIComponent(u.id)); say(t("saved")); loadUsers(); } catch (e) { say(errText(e), true); }
      });
      td.append(b);
      tr.append(td);
      body.append(tr);
    }
  } catch (e) {
    say(errText(e), true);
  }
}

const secs = (d) => Math.round(parseDuration(d));
// parseDuration reads a Go duration ("1m30s", "45s", "0s") as seconds.
function parseDuration(d) {
  let total = 0;
  for (const [, n, u] of String(d).matchAll(/([\d.]+)(h|ms|m|s)/g)) total += Number(n) * { h: 3600, m: 60, s: 1, ms: 0.001 }[u];
  return total;
}

async function loadTokens() {
  try {
    const list = await api("GET", "/tokens");
    const ul = $("tokens-list");
    ul.replaceChildren();
    for (const tk of list) {
      const li = document.createElement("li");
      li.dataset.token = tk.id;
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = tk.name;
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = t("scope_" + tk.scope);
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = t("revoke");
      b.addEventListener("click", async () => {
        if (!confirm(t("remove_q", { name: tk.name }))) return;
        try { await api("DELETE", "/tokens/" + encodeURIComponent(tk.id)); loadTokens(); } catch (e) { say(errText(e), true); }
      });
      li.append(name, badge, b);
      ul.append(li);
    }
  } catch (e) {
    say(errText(e), true);
  }
}

const loadUplink = fresh(async () => {
  try {
    const u = await api("GET", "/uplink");
    const ul = $("paths-list");
    ul.replaceChildren();
    $("centre-test").hidden = !u.configured || me.user.role !== "admin";
    if (!u.configured) {
      const li = document.createElement("li");
      li.textContent = t("centre_none");
      ul.append(li);
    }
    for (const p of u.paths) {
      const li = document.createElement("li");
      li.dataset.path = p.name;
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = p.name + (p.addr ? " (" + p.addr + ")" : "");
      const badge = document.createElement("span");
      badge.className = "badge " + (p.state === "ok" ? "ok" : p.state === "unknown" ? "" : "bad");
      badge.textContent = t("path_" + p.state);
      li.append(name, badge);
      const what = document.createElement("span");
      what.className = "what";
      what.textContent = [p.last_ack && t("last_ack", { t: when(p.last_ack) }), p.queue ? t("queued", { n: p.queue }) : "", p.last_error || ""].filter(Boolean).join(" · ");
      li.append(what);
      ul.append(li);
    }
  } catch (e) {
    /* shown next time */
  }
});

async function loadSettings() {
  $("settings-form").hidden = me.user.role !== "admin";
  $("tokens-box").hidden = me.user.role !== "admin";
  $("backup-box").hidden = me.user.role !== "admin";
  $("centre-box").hidden = me.user.role === "guest";
  $("outputs-box").hidden = me.user.role === "guest";
  if (me.user.role !== "guest") { loadUplink(); loadOutputs(); }
  $("token-new").hidden = true;
  if (me.user.role !== "admin") return;
  loadTokens();
  try {
    const s = await api("GET", "/settings");
    const body = $("delays-body");
    body.replaceChildren();
    for (const m of ["away", "home", "night", "vacation"]) {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.textContent = t("m_" + m);
      tr.append(th);
      for (const [kind, map] of [["exit", s.exit_delay], ["entry", s.entry_delay]]) {
        const td = document.createElement("td");
        const inp = document.createElement("input");
        inp.type = "number";
        inp.min = "0";
        inp.id = "s-" + kind + "-" + m;
        inp.setAttribute("aria-label", t(kind + "_delay") + " " + t("m_" + m));
        inp.value = secs(map[m] || "0s");
        td.append(inp);
        tr.append(td);
      }
      body.append(tr);
    }
    $("s-siren").value = secs(s.siren_duration);
    $("s-swinger").value = s.swinger_limit;
  } catch (e) {
    say(errText(e), true);
  }
}

async function saveSettings() {
  const exit = {}, entry = {};
  for (const m of ["away", "home", "night", "vacation"]) {
    exit[m] = $("s-exit-" + m).value + "s";
    entry[m] = $("s-entry-" + m).value + "s";
  }
  try {
    await api("PATCH", "/settings", { exit_delay: exit, entry_delay: entry, siren_duration: $("s-siren").value + "s",
      swinger_limit: Number($("s-swinger").value) });
    say(t("saved"));
  } catch (e) {
    say(errText(e), true);
  }
}

// --- the wall tablet (kiosk) ---

// The tablet keeps its keypad token (it may only arm, disarm with a code and
// raise panic) so that it logs in again by itself after the hub restarts.
async function kioskLogin() {
  const token = localStorage.getItem("vakt.kiosk");
  if (!token) { $("offline").hidden = false; return; }
  try {
    me = await api("POST", "/session", { token });
    $("offline").hidden = true;
    connect();
    route();
  } catch (e) {
    if (e.error === "unauthenticated") {
      localStorage.removeItem("vakt.kiosk"); // revoked
      say(t("e_unauthenticated"), true);
      return;
    }
    $("offline").hidden = false;
    setTimeout(kioskLogin, 3000);
  }
}

let wakeLock = null;
async function keepAwake() {
  if (!kiosk || document.visibilityState !== "visible") return;
  try {
    wakeLock = await navigator.wakeLock.request("screen");
    document.body.dataset.wakeLock = "on";
  } catch (e) {
    document.body.dataset.wakeLock = "unavailable";
  }
}

// Beeps during the exit and entry delays: one a second, two in the last ten.
let audio = null;
window.vaktBeeps = 0;
function beep() {
  window.vaktBeeps++;
  try {
    audio = audio || new AudioContext();
    const o = audio.createOscillator(), g = audio.createGain();
    o.frequency.value = 2600;
    g.gain.value = 0.2;
    o.connect(g).connect(audio.destination);
    o.start();
    o.stop(audio.currentTime + 0.08);
  } catch (e) { /* no audio here */ }
}
let lastBeep = 0;
function kioskTick() {
  if (!kiosk || !status || (status.state !== "arming" && status.state !== "pending")) return;
  const deadline = new Date(status.state === "arming" ? status.exit_deadline : status.entry_deadline).getTime();
  const left = deadline - (Date.now() + skew);
  const every = left <= 10000 ? 500 : 1000;
  if (left > 0 && Date.now() - lastBeep >= every) {
    lastBeep = Date.now();
    beep();
  }
}

async function startKiosk() {
  kiosk = true;
  document.body.classList.add("kiosk");
  const m = location.hash.match(/[?&]token=([^&]+)/);
  if (m) localStorage.setItem("vakt.kiosk", decodeURIComponent(m[1]));
  history.replaceState(null, "", "#/kiosk"); // the token leaves the address bar
  applyLang();
  keepAwake();
  document.addEventListener("visibilitychange", keepAwake);
  document.addEventListener("pointerdown", () => { if (audio) audio.resume(); }, { once: false });
  setInterval(kioskTick, 100);
  await kioskLogin();
}

// --- start ---

async function start() {
  if (location.hash.startsWith("#/kiosk")) return startKiosk();
  try {
    me = await api("GET", "/session");
  } catch (e) {
    me = null;
  }
  applyLang();
  if (!me) {
    try {
      const ob = await api("GET", "/onboarding");
      if (ob.needed) { show("onboarding"); $("ob-code").focus(); return; }
    } catch (e) { /* the login then */ }
  }
  if (me) connect();
  route();
}

document.addEventListener("DOMContentLoaded", () => {
  $("lang").addEventListener("change", () => {
    lang = $("lang").value;
    localStorage.setItem("vakt.lang", lang);
    applyLang();
    if (!$("view-events").hidden) loadEvents(true);
  });
  $("login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("login-error").textContent = "";
    try {
      me = await api("POST", "/session", { user: $("login-user").value, password: $("login-password").value });
      $("login-password").value = "";
      connect();
      route();
    } catch (err) {
      $("login-error").textContent = errText(err);
    }
  });
  $("onboarding-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("ob-error").textContent = "";
    try {
      me = await api("POST", "/onboarding", { code: $("ob-code").value, name: $("ob-name").value, password: $("ob-password").value, pin: $("ob-pin").value });
      $("ob-password").value = "";
      $("ob-pin").value = "";
      location.hash = "#/";
      connect();
      route();
    } catch (err) {
      $("ob-error").textContent = errText(err);
    }
  });
  $("user-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { name: $("u-name").value, role: $("u-role").value };
    if ($("u-pin").value) body.pin = $("u-pin").value;
    if ($("u-password").value) body.password = $("u-password").value;
    if ($("u-duress").value) body.duress_pin = $("u-duress").value;
    const tags = $("u-tags").value.split(",").map((x) => x.trim()).filter(Boolean);
    if (tags.length) body.tags = tags;
    if ($("u-expires").value) body.expires = new Date($("u-expires").value + "T23:59:59").toISOString();
    if ($("u-onetime").checked) body.one_time = true;
    if (body.role === "guest") {
      const days = [...document.querySelectorAll("#u-days input:checked")].map((c) => Number(c.value));
      if (days.length) body.schedule = [{ days, from: $("u-from").value, to: $("u-to").value }];
    }
    try {
      await api("POST", "/users", body);
      for (const id of ["u-name", "u-pin", "u-password", "u-duress", "u-tags", "u-expires"]) $(id).value = "";
      $("u-onetime").checked = false;
      say(t("saved"));
      loadUsers();
    } catch (err) {
      say(errText(err), true);
    }
  });
  $("settings-form").addEventListener("submit", (e) => { e.preventDefault(); saveSettings(); });
  $("u-role").addEventListener("change", () => { $("u-schedule").hidden = $("u-role").value !== "guest"; });
  $("st-begin").addEventListener("click", async () => {
    try {
      const v = await api("POST", "/self-test/start", {});
      stSince = v.since;
      sessionStorage.setItem("vakt.selftest", String(stSince));
      $("st-result").textContent = "";
      loadSelfTest();
    } catch (e) { say(errText(e), true); }
  });
  $("st-told").addEventListener("change", loadSelfTest);
  $("st-report").addEventListener("click", async () => {
    try { await api("POST", "/uplink/test", {}); say(t("test_sent")); } catch (e) { say(errText(e), true); }
  });
  $("st-arm").addEventListener("click", () => arm("away"));
  $("st-finish").addEventListener("click", async () => {
    try {
      const v = await api("POST", "/self-test/finish", { since: stSince, told: $("st-told").checked });
      renderSelfTest(v);
      $("st-result").textContent = v.passed ? t("stp_passed") : t("stp_failed");
      stSince = 0;
      sessionStorage.removeItem("vakt.selftest");
      for (const id of ["st-report", "st-arm", "st-finish"]) $(id).hidden = true;
      $("st-begin").hidden = false;
    } catch (e) { say(errText(e), true); }
  });
  $("centre-test").addEventListener("click", async () => {
    try { await api("POST", "/uplink/test", {}); say(t("test_sent")); setTimeout(loadUplink, 1000); } catch (e) { say(errText(e), true); }
  });
  $("token-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { name: $("t-name").value, scope: $("t-scope").value };
    if (body.scope === "control") body.user_id = me.user.id;
    try {
      const tk = await api("POST", "/tokens", body);
      $("t-name").value = "";
      $("token-value").textContent = tk.token;
      const link = $("token-link");
      link.hidden = tk.scope !== "keypad";
      link.href = location.origin + "/#/kiosk?token=" + encodeURIComponent(tk.token);
      link.textContent = t("kiosk_link");
      $("token-new").hidden = false;
      loadTokens();
    } catch (err) {
      say(errText(err), true);
    }
  });
  $("me-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = {};
    if ($("me-pin").value) body.pin = $("me-pin").value;
    if ($("me-password").value) body.password = $("me-password").value;
    try {
      await api("PATCH", "/users/" + encodeURIComponent(me.user.id), body);
      $("me-pin").value = "";
      $("me-password").value = "";
      say(t("saved"));
    } catch (err) {
      say(errText(err), true);
    }
  });
  $("logout").addEventListener("click", async () => {
    try { await api("DELETE", "/session"); } catch (e) { /* logged out anyway */ }
    showLogin();
  });
  for (const b of document.querySelectorAll("[data-digit]")) {
    b.addEventListener("click", () => { if (pin.length < 12) { pin += b.dataset.digit; renderPin(); } });
  }
  $("pin-clear").addEventListener("click", () => { pin = ""; renderPin(); });
  $("pin-ok").addEventListener("click", disarm);
  $("walk-start").addEventListener("click", () => command("/walk-test/start", {}, ""));
  $("walk-stop").addEventListener("click", () => command("/walk-test/stop", {}, t("walk_done")));
  $("maint-start").addEventListener("click", () => command("/maintenance/start", {}, ""));
  $("maint-stop").addEventListener("click", () => command("/maintenance/stop", {}, t("maint_done")));
  holdToPanic();
  $("events-filter").addEventListener("submit", (e) => { e.preventDefault(); loadEvents(true); });
  $("events-more").addEventListener("click", () => loadEvents(false));
  $("tl-24h").addEventListener("click", () => { tlRange = "24h"; loadTimeline(); });
  $("tl-7d").addEventListener("click", () => { tlRange = "7d"; loadTimeline(); });
  window.addEventListener("hashchange", () => { if (!kiosk && location.hash.startsWith("#/kiosk")) { startKiosk(); return; } route(); });
  setInterval(tick, 250);
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});
  start();
});

// --- settings: backup restore, configuration import and the outputs ---

Object.assign(T.en, {
  restore_file: "Restore from a backup file", restore: "Restore…", restore_ok: "Restore and restart",
  restore_hint: "The hub checks the file, keeps the current database in its snapshots and restarts to put the backup in place. Only while disarmed.",
  restore_q: "Restore the database from {file}? Everything since that backup is replaced (the current database is kept in the snapshots), and the hub restarts.",
  restore_checking: "Sending and checking the backup…", restarting: "The hub is restarting with the backup…",
  restored_login: "The hub restarted with the backup: log in again.",
  import_title: "Import a configuration", import_file: "Configuration file (YAML)", import: "Import",
  import_replace: "Replace: also remove the zones, users and outputs the file leaves out",
  import_need_replace: "To remove them, tick Replace and import again.",
  outputs: "Outputs", out_on: "on", out_off: "off", out_not_bound: "not bound: it can never sound",
  out_agrees: "device agrees", out_disagrees: "device disagrees", out_unknown: "no report from the device yet",
  out_failed: "failed since {t}", out_want: "wanted {level}", ev_restored: "restored from a backup",
  actions: "Actions", mode_h: "Mode",
});
Object.assign(T.sv, {
  restore_file: "Återställ från en säkerhetskopia", restore: "Återställ…", restore_ok: "Återställ och starta om",
  restore_hint: "Centralen kontrollerar filen, sparar den nuvarande databasen bland ögonblicksbilderna och startar om med säkerhetskopian. Bara när larmet är frånkopplat.",
  restore_q: "Återställa databasen från {file}? Allt sedan den säkerhetskopian ersätts (den nuvarande databasen sparas bland ögonblicksbilderna), och centralen startar om.",
  restore_checking: "Skickar och kontrollerar säkerhetskopian…", restarting: "Centralen startar om med säkerhetskopian…",
  restored_login: "Centralen har startat om med säkerhetskopian: logga in igen.",
  import_title: "Importera en konfiguration", import_file: "Konfigurationsfil (YAML)", import: "Importera",
  import_replace: "Ersätt: ta också bort de zoner, användare och utgångar som filen utelämnar",
  import_need_replace: "Kryssa i Ersätt och importera igen för att ta bort dem.",
  outputs: "Utgångar", out_on: "på", out_off: "av", out_not_bound: "inte kopplad: kan aldrig ljuda",
  out_agrees: "enheten stämmer", out_disagrees: "enheten stämmer inte", out_unknown: "inget besked från enheten ännu",
  out_failed: "fel sedan {t}", out_want: "önskad {level}", ev_restored: "återställd från säkerhetskopia",
  actions: "Åtgärder", mode_h: "Läge",
});

// errDetail is an error's kind in words and the hub's own message.
function errDetail(e) {
  if (!e || !e.message) return errText(e);
  return (T.en["e_" + e.error] ? t("e_" + e.error) + ": " : "") + e.message;
}

function restoreBackup() {
  const f = $("restore-file").files[0];
  if (!f) return;
  const d = $("restore-dialog");
  $("restore-text").textContent = t("restore_q", { file: f.name });
  d.returnValue = "";
  d.onclose = async () => {
    if (d.returnValue !== "ok") return;
    say(t("restore_checking"));
    let res;
    try {
      res = await fetch("/api/v1/backup/restore?name=" + encodeURIComponent(f.name), { method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/octet-stream", "X-CSRF-Token": me.csrf }, body: f });
    } catch (e) {
      say(t("e_network"), true);
      return;
    }
    const data = await res.json().catch(() => ({}));
    if (!res.ok) { say(errDetail(data), true); return; }
    $("restore-file").value = "";
    say(t("restarting"));
    waitForRestart();
  };
  d.showModal();
}

// waitForRestart waits for the hub to come back: the old one answers until it
// stops, the new one knows no session. Then the login.
async function waitForRestart() {
  for (;;) {
    await new Promise((r) => setTimeout(r, 1000));
    try {
      const r = await fetch("/api/v1/session", { credentials: "same-origin", cache: "no-store" });
      if (r.status === 401) break;
    } catch (e) { /* down meanwhile */ }
  }
  showLogin();
  say(t("restored_login"));
}

async function importConfig() {
  const f = $("import-file").files[0];
  const out = $("import-result");
  if (!f) return;
  const replace = $("import-replace").checked;
  out.className = "";
  out.textContent = "";
  let res;
  try {
    res = await fetch("/api/v1/config" + (replace ? "?replace=true" : ""), { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/yaml", "X-CSRF-Token": me.csrf }, body: await f.text() });
  } catch (e) {
    out.className = "error";
    out.textContent = t("e_network");
    return;
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    out.className = "error";
    out.textContent = errDetail(data) + (!replace && /would remove/.test(data.message || "") ? " " + t("import_need_replace") : "");
    return;
  }
  out.textContent = data.message;
  $("import-file").value = "";
  $("import-replace").checked = false;
  loadSettings();
}

// One fetch at a time, and one more after the newest status that came meanwhile.
let outputsBusy = false, outputsAgain = false;
async function loadOutputs() {
  if (!me || me.user.role === "guest") return;
  if (outputsBusy) { outputsAgain = true; return; }
  outputsBusy = true;
  outputsAgain = false;
  try {
    const list = await api("GET", "/outputs");
    const ul = $("outputs-list");
    ul.replaceChildren();
    $("outputs-box").hidden = list.length === 0;
    for (const o of list) {
      const li = document.createElement("li");
      li.dataset.output = o.id;
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = (o.name || o.id) + " (" + o.kind + ")";
      const want = document.createElement("span");
      want.className = "badge" + (o.want === "on" ? " on" : "");
      want.textContent = t("out_want", { level: t("out_" + o.want) });
      li.append(name, want);
      if (o.failed) {
        const bad = document.createElement("span");
        bad.className = "badge bad";
        bad.textContent = t("out_failed", { t: o.since ? when(o.since) : "?" });
        li.append(bad);
      }
      const what = document.createElement("span");
      what.className = "what";
      what.textContent = [o.bound || t("out_not_bound"), o.device !== "no_feedback" ? t("out_" + o.device) : "", o.failed ? o.detail : ""]
        .filter(Boolean).join(" · ");
      li.append(what);
      ul.append(li);
    }
  } catch (e) {
    /* shown next time */
  } finally {
    outputsBusy = false;
    if (outputsAgain) loadOutputs();
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("restore-form").addEventListener("submit", (e) => { e.preventDefault(); restoreBackup(); });
  $("import-form").addEventListener("submit", (e) => { e.preventDefault(); importConfig(); });
});

// --- alarm clips in the event log (clip events, GET /clips/{file}) and camera faults ---

Object.assign(T.en, {
  ev_clip: "alarm clip", ev_operator_view: "operator viewed the alarm", play_clip: "▶ clip {camera}", clip_gone: "clip removed (disk quota)",
  f_camera: "Camera without video", r_camera_fault: "camera without video",
  do_camera: "The camera sends no video: alarms in its zones get no clip and no live view. Check its power, network cable or Wi-Fi, and its user and password. Arming is not blocked: the detectors still protect.",
  f_device: "Device lost", r_device_lost: "device lost",
  do_device: "The device has not been heard from for longer than its check-in interval: a keypad that cannot arm, disarm or raise panic. Check its battery and that it is within reach of the Zigbee network; it restores by itself when heard again.",
});
Object.assign(T.sv, {
  ev_clip: "larmklipp", ev_operator_view: "operatör såg larmet", play_clip: "▶ klipp {camera}", clip_gone: "klippet borttaget (diskkvot)",
  f_camera: "Kamera utan bild", r_camera_fault: "kamera utan bild",
  do_camera: "Kameran skickar ingen video: larm i dess zoner får inget klipp och ingen livebild. Kontrollera ström, nätverkskabel eller wifi, och dess användare och lösenord. Larmning hindras inte: detektorerna skyddar fortfarande.",
  f_device: "Enhet borta", r_device_lost: "enhet borta",
  do_device: "Enheten har inte hörts av längre än sitt incheckningsintervall: en knappsats som inte kan larma, avlarma eller larma panik. Kontrollera batteriet och att den når Zigbee-nätet; felet återställs av sig självt när den hörs igen.",
});

// --- notification targets (ntfy, webhooks) that stopped taking notifications ---

Object.assign(T.en, {
  f_notify: "Notifications not delivered", r_notify_failed: "notifications not delivered",
  do_notify: "The push service or webhook has not taken a notification for minutes: phones get no alarms from the hub. Check that it runs and is reachable, and its address and token in the hub's configuration. Arming is not blocked and the monitoring centre still gets every alarm.",
});
Object.assign(T.sv, {
  f_notify: "Aviseringar levereras inte", r_notify_failed: "aviseringar levereras inte",
  do_notify: "Pushtjänsten eller webhooken har inte tagit emot någon avisering på flera minuter: telefonerna får inga larm från centralen. Kontrollera att den körs och går att nå, och dess adress och token i centralens konfiguration. Larmning hindras inte och larmcentralen får fortfarande alla larm.",
});

// clipButton plays a clip below its event; a clip pruned by the disk quota (404)
// says so instead.
function clipButton(clip) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "clip";
  b.dataset.file = clip.file;
  b.dataset.camera = clip.camera;
  b.textContent = t("play_clip", { camera: clip.camera });
  b.addEventListener("click", async () => {
    const url = "/api/v1/clips/" + encodeURIComponent(clip.file);
    let res;
    try {
      res = await fetch(url, { credentials: "same-origin", headers: { Range: "bytes=0-0" } });
    } catch (e) {
      say(t("e_network"), true);
      return;
    }
    if (res.status === 404) {
      const gone = document.createElement("span");
      gone.className = "clip-gone";
      gone.textContent = t("clip_gone");
      b.replaceWith(gone);
      return;
    }
    if (!res.ok) {
      say(res.status + " " + clip.file, true);
      return;
    }
    const v = document.createElement("video");
    v.controls = true;
    v.autoplay = true;
    v.muted = true;
    v.playsInline = true;
    v.src = url;
    v.className = "clip";
    b.replaceWith(v);
  });
  return b;
}

// linkClips puts a clip's play button on its clip event and on its alarm's
// event, whichever of the two is on the page second.
function linkClips(ev, tr) {
  const body = $("events-body");
  if (ev.type === "clip" && ev.clip && ev.clip.file) {
    tr.dataset.alarm = ev.clip.alarm || "";
    tr.cells[1].append(" ", clipButton(ev.clip));
    const alarm = ev.clip.alarm && body && body.querySelector(`tr[data-seq="${ev.clip.alarm}"]`);
    if (alarm) alarm.cells[1].append(" ", clipButton(ev.clip));
  } else if (ev.type === "alarm" && body) {
    for (const c of body.querySelectorAll(`tr[data-alarm="${ev.seq}"] button.clip`)) {
      tr.cells[1].append(" ", clipButton({ file: c.dataset.file, camera: c.dataset.camera }));
    }
  }
}
