package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// adoptDomain has a door, a kitchen fire zone, a motion zone bound over MQTT and
// a siren, none of them bound to a Zigbee device yet.
const adoptDomain = `
settings:
  exit_delay: {away: 30s, home: 30s, night: 0s, vacation: 30s}
zones:
  - {id: door, name: Door, number: 1, type: entry_exit}
  - {id: hall, name: Hall, number: 2, type: follower, mqtt: {topic: test/hall}}
outputs:
  - {id: siren, name: Siren, kind: siren}
`

// zigbeeEvents is the event log after seq as "type zone detail" lines, oldest
// first.
func zigbeeEvents(t *testing.T, data string, after uint64) ([]string, uint64) {
	t.Helper()
	var page struct {
		Events []struct {
			Seq    uint64 `json:"seq"`
			Type   string `json:"type"`
			Zone   string `json:"zone"`
			Detail string `json:"detail"`
			Who    struct {
				UserName string `json:"user_name"`
			} `json:"who"`
		} `json:"events"`
	}
	getJSON(t, data, "/api/v1/events?order=asc&limit=100&after="+itoa(after), &page)
	var out []string
	for _, e := range page.Events {
		out = append(out, strings.TrimSpace(e.Type+" "+e.Zone+" "+e.Who.UserName+" "+e.Detail))
		after = e.Seq
	}
	return out, after
}

// waitEvents waits for at least n events after seq.
func waitEvents(t *testing.T, data string, seq uint64, n int) ([]string, uint64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, last := zigbeeEvents(t, data, seq)
		if len(got) >= n || time.Now().After(deadline) {
			return got, last
		}
		<-time.After(20 * time.Millisecond) // the events come through MQTT and the journal
	}
}

// lastSeq is the newest event's sequence number.
func lastSeq(t *testing.T, data string) uint64 {
	t.Helper()
	var page struct {
		Events []struct {
			Seq uint64 `json:"seq"`
		} `json:"events"`
	}
	getJSON(t, data, "/api/v1/events?limit=1", &page)
	if len(page.Events) == 0 {
		t.Fatal("no events")
	}
	return page.Events[0].Seq
}

func itoa(n uint64) string { b, _ := json.Marshal(n); return string(b) }

// localStatus sends a request over the local socket and returns its status and
// the error document's message.
func localStatus(t *testing.T, data, method, path string, body any) (int, string) {
	t.Helper()
	resp, err := localRequest(context.Background(), data, method, path, body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct{ Error, Message string }
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &doc)
	return resp.StatusCode, doc.Error + ": " + doc.Message
}

// A device adopted while the hub runs drives its zone at once, from its cached
// state on: the whole event log says so, with who made the change; requests that
// do not check out change nothing; a released device no longer drives its zone;
// the binding survives a restart.
func TestAdoptWhileRunning(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the hub")
	}
	dir := t.TempDir()
	_, args := setupIn(t, dir, adoptDomain)
	if err := os.WriteFile(filepath.Join(dir, "vakt.yaml"), []byte(zigbeeBoot), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	ctx := context.Background()
	p := startHub(t, args...)
	defer func() {
		if p != nil {
			p.stop(t)
		}
	}()
	z2m := dialMQTT(t, p.mqtt, "zigbee2mqtt", "z2m-pass")
	z2m.pub(t, "zigbee2mqtt/bridge/state", `{"state":"online"}`, true)
	z2m.pub(t, "zigbee2mqtt/bridge/devices", z2mDevices(t), true)
	pollJSON(t, data, "/api/v1/devices", func(d devDoc) bool { return len(d.Devices) == 4 })
	// The door is open before anyone adopts it.
	door := `{"battery":100,"contact":%s,"linkquality":87,"voltage":3025}`
	z2m.pub(t, "zigbee2mqtt/front_door", strings.Replace(door, "%s", "false", 1), false)
	pollJSON(t, data, "/api/v1/devices", func(d devDoc) bool { return true })
	got, seq := waitEvents(t, data, 0, 2)
	expectEvents(t, "the start", got, "restart   resumed in state disarmed", "fault   output:siren: no adapter binds it: it can never sound")

	// Requests that do not check out: a clear error, nothing changed.
	for _, c := range []struct {
		ieee string
		body map[string]any
		code int
		msg  string
	}{
		{"0x00158d0001a2b3c4", map[string]any{"zone": "garage"}, 400, `invalid: zone "garage" is not configured (nothing was changed)`},
		{"0x00158d0001a2b3c4", map[string]any{"zone": "door", "property": "smoke"}, 400,
			`invalid: front_door (0x00158d0001a2b3c4) does not expose "smoke": it has contact (nothing was changed)`},
		{"0x00158d0001a2b3c4", map[string]any{"zone": "hall"}, 409,
			`not_allowed: zone hall is bound to another kind of device (MQTT or GPIO) already (nothing was changed)`},
		{"0x00158d0001a2b3c4", map[string]any{"output": "siren"}, 400,
			`invalid: front_door (0x00158d0001a2b3c4) is not a siren Vakt can drive: it has no warning or alarm to set (nothing was changed)`},
		{"0x00158d0001a2b3c4", map[string]any{"zone": "door", "output": "siren"}, 400,
			`invalid: say what the device becomes: one of zone, output or keypad (nothing was changed)`},
		{"0x0000000000000001", map[string]any{"zone": "door"}, 400,
			`invalid: device 0x0000000000000001 is not in Zigbee2MQTT's bridge/devices (is it paired, and Zigbee2MQTT connected?) (nothing was changed)`},
		{"0x00158d0001a2b3c4", map[string]any{"zone": "door", "clear_after": "2m"}, 400,
			`invalid: clear_after needs property set to one of occupancy, vibration, presence, tilt (a door contact or a smoke detector is never taken as closed) (nothing was changed)`},
		{"0x00158d0001a2b3c4", map[string]any{"zone": "door", "squawk": true}, 400,
			`invalid: property, checkin and clear_after go with a zone, mode and squawk with an output (nothing was changed)`},
		{"0x00158d0001a2b3c4", map[string]any{"output": "siren", "squawk": true}, 400,
			`invalid: front_door (0x00158d0001a2b3c4) has no squawk (nothing was changed)`},
		{"0x00158d0001a2b3c4", map[string]any{"zone": "door", "colour": "red"}, 400,
			`invalid: the body is not valid JSON for this request: json: unknown field "colour"`},
	} {
		code, msg := localStatus(t, data, http.MethodPost, "/api/v1/devices/"+c.ieee+"/adopt", c.body)
		if code != c.code || msg != c.msg {
			t.Errorf("adopt %s %v: %d %q\nwant %d %q", c.ieee, c.body, code, msg, c.code, c.msg)
		}
	}
	if code, msg := localStatus(t, data, http.MethodDelete, "/api/v1/devices/0x00158d0001a2b3c4/binding", nil); code != 400 ||
		msg != "invalid: device 0x00158d0001a2b3c4 is bound to nothing (nothing was changed)" {
		t.Errorf("release of an unbound device: %d %q", code, msg)
	}
	if got, _ := zigbeeEvents(t, data, seq); len(got) != 0 {
		t.Errorf("refused requests recorded %q", got)
	}

	// Adopted with the CLI over the local socket: in force at once, the open
	// door taken from the device's cached state.
	var out strings.Builder
	if err := run(ctx, []string{"devices", "adopt", "0x00158D0001A2B3C4", "-zone", "door", "-data", data}, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if want := "adopted 0x00158d0001a2b3c4 (front_door) as zone door, in force in the running hub\n"; out.String() != want {
		t.Errorf("adopt: %q, want %q", out.String(), want)
	}
	pollJSON(t, data, "/api/v1/status", func(s zoneDoc) bool { return s.open("door") })
	got, seq = waitEvents(t, data, seq, 2)
	expectEvents(t, "the adoption", got, "config_changed  console (root) zone door: zigbee none → 0x00158d0001a2b3c4", "zone_open door")

	// The siren adopted: driven at once, its fault restored.
	z2m.sub(t, "zigbee2mqtt/hall_siren/set")
	if code, msg := localStatus(t, data, http.MethodPost, "/api/v1/devices/0x0015bc001b02c3d4/adopt", map[string]any{"output": "siren"}); code != 200 {
		t.Fatalf("adopt the siren: %d %s", code, msg)
	}
	if got, want := z2m.next(t, 1), `zigbee2mqtt/hall_siren/set {"warning":{"duration":0,"level":"low","mode":"stop","strobe":false}}`; got[0] != want {
		t.Errorf("the adopted siren heard %q, want %q", got[0], want)
	}
	got, seq = waitEvents(t, data, seq, 2)
	expectEvents(t, "the siren's adoption", got, "config_changed  console (root) output siren: zigbee none → 0x0015bc001b02c3d4",
		"fault_restore   output:siren: the device agrees again")

	// It drives the alarm: closed, armed night, opened: the entry delay.
	z2m.pub(t, "zigbee2mqtt/front_door", strings.Replace(door, "%s", "true", 1), false)
	pollJSON(t, data, "/api/v1/status", func(s zoneDoc) bool { return !s.open("door") })
	if code, msg := localStatus(t, data, http.MethodPost, "/api/v1/arm", map[string]any{"mode": "night"}); code != 200 {
		t.Fatalf("arm: %d %s", code, msg)
	}
	z2m.pub(t, "zigbee2mqtt/front_door", strings.Replace(door, "%s", "false", 1), false)
	pollJSON(t, data, "/api/v1/status", func(s zoneDoc) bool { return s.State == "pending" })
	if code, msg := localStatus(t, data, http.MethodPost, "/api/v1/disarm", map[string]any{}); code != 200 {
		t.Fatalf("disarm: %d %s", code, msg)
	}
	got, seq = waitEvents(t, data, seq, 5)
	expectEvents(t, "the alarm path", got, "zone_closed door", "armed  console (root)", "zone_open door", "entry_delay door  30s",
		"disarmed  console (root)")

	// Released: the zone restores and hears the device no more.
	out.Reset()
	if err := run(ctx, []string{"devices", "release", "0x00158d0001a2b3c4", "-data", data}, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if want := "released 0x00158d0001a2b3c4 from zone door\n"; out.String() != want {
		t.Errorf("release: %q, want %q", out.String(), want)
	}
	got, seq = waitEvents(t, data, seq, 2)
	expectEvents(t, "the release", got, "config_changed  console (root) zone door: zigbee 0x00158d0001a2b3c4 → none", "zone_closed door")
	for _, contact := range []string{"true", "false"} { // closed and opened: no zone hears it
		before := lastSeen(t, data, "0x00158d0001a2b3c4")
		z2m.pub(t, "zigbee2mqtt/front_door", strings.Replace(door, "%s", contact, 1), false)
		pollJSON(t, data, "/api/v1/devices", func(d devDoc) bool { return d.seen("0x00158d0001a2b3c4") != before })
	}

	// Adopted again over the API, and the hub restarted: still bound.
	if code, msg := localStatus(t, data, http.MethodPost, "/api/v1/devices/0x00158d0001a2b3c4/adopt",
		map[string]any{"zone": "door", "property": "contact", "checkin": "2h"}); code != 200 {
		t.Fatalf("adopt: %d %s", code, msg)
	}
	got, seq = waitEvents(t, data, seq, 2)
	expectEvents(t, "the second adoption", got,
		"config_changed  console (root) zone door: zigbee none → 0x00158d0001a2b3c4 contact checkin 2h0m0s", "zone_open door")
	p.stop(t)
	p = startHub(t, args...)
	z2m = dialMQTT(t, p.mqtt, "zigbee2mqtt", "z2m-pass")
	pollJSON(t, data, "/api/v1/devices", func(d devDoc) bool { return len(d.Devices) == 4 })
	z2m.pub(t, "zigbee2mqtt/front_door", strings.Replace(door, "%s", "true", 1), false)
	pollJSON(t, data, "/api/v1/status", func(s zoneDoc) bool { return !s.open("door") })
	z2m.pub(t, "zigbee2mqtt/front_door", strings.Replace(door, "%s", "false", 1), false)
	pollJSON(t, data, "/api/v1/status", func(s zoneDoc) bool { return s.open("door") })
	got, _ = waitEvents(t, data, seq, 3)
	expectEvents(t, "after the restart", got, "restart   resumed in state disarmed", "zone_closed door", "zone_open door")
	// The zones resource: each zone's state, binding and device.
	var zoneList []map[string]any
	getJSON(t, data, "/api/v1/zones", &zoneList)
	if dev, ok := zoneList[0]["binding"].(map[string]any)["device"].(map[string]any); ok && dev["last_seen"] != nil {
		dev["last_seen"] = "(set)"
	}
	zj, _ := json.Marshal(zoneList)
	if want := `[{"binding":{"adapter":"zigbee","binding":{"checkin":"2h0m0s","ieee":"0x00158d0001a2b3c4","property":"contact"},` +
		`"device":{"battery":100,"battery_low":false,"ieee":"0x00158d0001a2b3c4","last_seen":"(set)","link_quality":87,"name":"front_door"}},` +
		`"id":"door","name":"Door","number":1,"open":true,"type":"entry_exit"},` +
		`{"binding":{"adapter":"mqtt","binding":{"topic":"test/hall"}},"id":"hall","name":"Hall","number":2,"type":"follower"}]`; string(zj) != want {
		t.Errorf("zones:\n%s\nwant:\n%s", zj, want)
	}
	out.Reset()
	if err := run(ctx, []string{"config", "export", "-data", data}, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	_, zones, _ := strings.Cut(out.String(), "\nzones:\n")
	zones, _, _ = strings.Cut(zones, "\nusers:")
	if want := `  - id: door
    name: Door
    number: 1
    type: entry_exit
    zigbee:
      ieee: "0x00158d0001a2b3c4"
      property: contact
      checkin: 2h0m0s
  - id: hall
    name: Hall
    number: 2
    type: follower
    mqtt:
      topic: test/hall`; zones != want {
		t.Errorf("export, zones:\n%s\nwant:\n%s", zones, want)
	}

	// A configuration import into the running hub changes Zigbee bindings too:
	// a removal needs -replace; the change is recorded and in force at once.
	file := filepath.Join(dir, "import.yaml")
	imp := func(text string, flags ...string) error {
		t.Helper()
		if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return run(ctx, append(append([]string{"config", "import", "-data", data}, flags...), file), nil, io.Discard, io.Discard)
	}
	unbound := strings.Replace(out.String(), "    zigbee:\n      ieee: \"0x00158d0001a2b3c4\"\n      property: contact\n      checkin: 2h0m0s\n", "", 1)
	if err := imp(unbound); err == nil || !strings.Contains(err.Error(), "it would remove the zigbee binding of zone(s) door; run it again with -replace") {
		t.Errorf("import without the door's binding: %v", err)
	}
	if err := imp(strings.Replace(out.String(), "checkin: 2h0m0s", "checkin: 3h", 1)); err != nil {
		t.Fatal(err)
	}
	seq = lastSeq(t, data)
	if err := imp(unbound, "-replace"); err != nil {
		t.Fatal(err)
	}
	got, _ = waitEvents(t, data, seq-1, 3)
	expectEvents(t, "the imports", got,
		"config_changed  console (root) zone door: zigbee 0x00158d0001a2b3c4 contact checkin 2h0m0s → 0x00158d0001a2b3c4 contact checkin 3h0m0s",
		"config_changed  console (root) zone door: zigbee 0x00158d0001a2b3c4 contact checkin 3h0m0s → none",
		"zone_closed door")
	z2m.pub(t, "zigbee2mqtt/front_door", strings.Replace(door, "%s", "true", 1), false)
	pollJSON(t, data, "/api/v1/devices", func(d devDoc) bool { return d.seen("0x00158d0001a2b3c4") != "" })
	if got, _ := zigbeeEvents(t, data, seq+1); len(got) != 1 {
		t.Errorf("after the import released the door: %q", got)
	}
}

func expectEvents(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events of %s:\n%s\nwant:\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

type zoneDoc struct {
	State string `json:"state"`
	Zones []struct {
		ID   string `json:"id"`
		Open bool   `json:"open"`
	} `json:"zones"`
}

func (d zoneDoc) open(id string) bool {
	for _, z := range d.Zones {
		if z.ID == id {
			return z.Open
		}
	}
	return false
}

type devDoc struct {
	Devices []struct {
		IEEE     string `json:"ieee"`
		LastSeen string `json:"last_seen"`
	} `json:"devices"`
}

func (d devDoc) seen(ieee string) string {
	for _, x := range d.Devices {
		if x.IEEE == ieee {
			return x.LastSeen
		}
	}
	return ""
}

func lastSeen(t *testing.T, data, ieee string) string {
	t.Helper()
	var d devDoc
	getJSON(t, data, "/api/v1/devices", &d)
	return d.seen(ieee)
}
