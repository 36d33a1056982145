package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"vakt/hub"
	"vakt/sensors/binding"
	"vakt/sensors/mqttdev"
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, body, wantErr string
	}{
		{"empty file keeps defaults", "", ""},
		{"full", "data: /x\nhttp: ':9'\nmqtt:\n  listen: ':1'\n  users:\n    - {name: z, password: p, read: ['a/#']}\n", ""},
		{"unknown key", "mqtt:\n  listn: ':1'\n", "listn"},
		{"user without password", "mqtt:\n  users:\n    - {name: z}\n", "password"},
		{"duplicate user", "mqtt:\n  users:\n    - {name: z, password: a}\n    - {name: z, password: b}\n", "duplicate"},
		{"tls without cert", "mqtt:\n  tls_listen: ':8883'\n", "tls_cert"},
		{"bad log level", "log_level: loud\n", "loud"},
		{"not yaml", "{{{", "config"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := loadBoot(write(strings.ReplaceAll(tc.name, " ", "_")+".yaml", tc.body))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if f.MQTT.BaseTopic != "vakt" || f.HTTP == "" {
					t.Errorf("defaults lost: %+v", f)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestDomainRoundTrip(t *testing.T) {
	in := hub.Config{Settings: hub.DefaultSettings(),
		Zones: []hub.Zone{{ID: "door", Name: "Door", Number: 1, Type: hub.ZoneEntryExit}},
		Users: []hub.User{{ID: "a", Name: "A", Number: 1, Role: hub.RoleGuest, PINHash: "$argon2id$x",
			Schedule: []hub.Window{{Days: []time.Weekday{time.Monday}, From: "08:00", To: "17:00"}}}},
	}
	in.Settings.ExitDelay[hub.ModeNight] = 0
	inSet := binding.Set{MQTT: mqttdev.Bindings{Zones: map[string]mqttdev.ZoneBinding{
		"door": {Topic: "z/door", Field: "contact", Open: []string{"false"}}}}}
	var buf bytes.Buffer
	if err := writeDomain(&buf, in, inSet); err != nil {
		t.Fatal(err)
	}
	out, outSet, err := readDomain(&buf)
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if out.Settings.ExitDelay[hub.ModeNight] != 0 || out.Settings.SirenDuration != in.Settings.SirenDuration {
		t.Errorf("settings changed: %+v", out.Settings)
	}
	if !reflect.DeepEqual(outSet, inSet) || out.Users[0].Schedule[0].From != "08:00" {
		t.Errorf("round trip lost fields: %+v %+v", out, outSet)
	}
}

func TestReadDomainRejects(t *testing.T) {
	for _, body := range []string{
		"zones:\n  - {id: a, name: A, number: 1, type: laser}\n",
		"zones:\n  - {id: a, name: A, number: 1, type: instant}\n  - {id: a, name: B, number: 2, type: instant}\n",
		"settings:\n  siren_duration: 20m\n",
		"settings:\n  entry_delay: {away: 60s}\n",
		"colour: blue\n",
	} {
		if _, _, err := readDomain(strings.NewReader(body)); err == nil {
			t.Errorf("accepted %q", body)
		}
	}
}

// The external broker's keys: what a good block gives, and every bad one's
// whole error.
func TestBootExternalBroker(t *testing.T) {
	f, err := parseBoot([]byte("mqtt:\n  broker: mqtts://mosquitto.lan\n  broker_username: vakt\n  broker_password: s3cret\n" +
		"  broker_ca_file: /etc/vakt/ca.pem\n  broker_client_id: vakt-house\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := bootDefaults().MQTT
	want.Broker, want.BrokerUsername, want.BrokerPassword = "mqtts://mosquitto.lan", "vakt", "s3cret"
	want.BrokerCAFile, want.BrokerClientID = "/etc/vakt/ca.pem", "vakt-house"
	if !reflect.DeepEqual(f.MQTT, want) {
		t.Fatalf("got %+v\nwant %+v", f.MQTT, want)
	}
	for _, tc := range []struct{ body, err string }{
		{"mqtt:\n  broker: http://x\n", `mqtt.broker: broker URL "http://x": scheme must be tcp, mqtt, mqtts, ssl or tls`},
		{"mqtt:\n  broker: tcp://x\n  broker_ca_file: ca.pem\n", "mqtt: broker_ca_file and broker_insecure_skip_verify need a TLS broker (mqtts://, ssl:// or tls://)"},
		{"mqtt:\n  broker: tcp://x\n  broker_insecure_skip_verify: true\n", "mqtt: broker_ca_file and broker_insecure_skip_verify need a TLS broker (mqtts://, ssl:// or tls://)"},
		{"mqtt:\n  broker_username: vakt\n", "mqtt: broker_username, broker_password, broker_ca_file, broker_insecure_skip_verify and broker_client_id need mqtt.broker"},
		{"mqtt:\n  broker: tcp://x\n  broker_password: p\n", "mqtt: broker_password needs broker_username"},
		{"mqtt:\n  broker: tcp://x\n  users:\n    - {name: z, password: p}\n  allow_anonymous: true\n",
			"mqtt: users, allow_anonymous, tls_listen and ws_listen configure the embedded broker, which is not started when mqtt.broker is set"},
	} {
		_, err := parseBoot([]byte(tc.body))
		if err == nil || err.Error() != tc.err {
			t.Errorf("%q:\n got %v\nwant %s", tc.body, err, tc.err)
		}
	}
}

func TestBootVideo(t *testing.T) {
	f, err := parseBoot([]byte("video:\n  clip_seconds: 30\n  clip_quota_mb: 512\n" +
		"  operator_url: https://home.example.net:8443\n  operator_minutes: 45\n  cameras:\n" +
		"    - {name: porch, url: \"rtsp://viewer:pw@192.168.1.20:554/stream1\", always_on: true, buffer_seconds: 15, zones: [front_door, hall]}\n" +
		"    - {name: garage-2, url: \"rtsps://cam.lan/live\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := bootVideo{ClipSeconds: 30, ClipQuotaMB: 512, OperatorURL: "https://home.example.net:8443", OperatorMinutes: 45, Cameras: []bootCamera{
		{Name: "porch", URL: "rtsp://viewer:pw@192.168.1.20:554/stream1", AlwaysOn: true, BufferSeconds: 15, Zones: []string{"front_door", "hall"}},
		{Name: "garage-2", URL: "rtsps://cam.lan/live"},
	}}
	if !reflect.DeepEqual(f.Video, want) {
		t.Fatalf("got %+v\nwant %+v", f.Video, want)
	}
	for _, tc := range []struct{ body, err string }{
		{"video:\n  cameras:\n    - {name: \"front door\", url: \"rtsp://h/x\"}\n", `video.cameras[0]: name "front door": use 1 to 64 letters, digits, - and _`},
		{"video:\n  cameras:\n    - {name: a, url: \"rtsp://h/x\"}\n    - {name: a, url: \"rtsp://h/y\"}\n", `video.cameras[1]: duplicate camera "a"`},
		{"video:\n  cameras:\n    - {name: a, url: \"http://viewer:pw@h/x\"}\n", `video.cameras[0]: camera a: url "http://viewer:xxxxx@h/x": scheme must be rtsp or rtsps`},
		{"video:\n  cameras:\n    - {name: a, url: \"rtsp://h/x\", buffer_seconds: 600}\n", "video.cameras[0]: buffer_seconds 600 is not between 0 and 120"},
		{"video:\n  clip_seconds: -1\n", "video.clip_seconds -1 is not between 0 and 600"},
		{"video:\n  clip_quota_mb: -5\n", "video.clip_quota_mb -5 is negative"},
		{"video:\n  operator_minutes: 2000\n", "video.operator_minutes 2000 is not between 0 and 1440"},
		{"video:\n  operator_url: home.example.net\n", `video.operator_url: operator: base URL "home.example.net" is not http(s)://host[:port]`},
		{"video:\n  operator_url: \"https://h/a[b]\"\n", `video.operator_url: operator: base URL "https://h/a[b]" holds a character DC-09 extended data cannot carry`},
		{"video:\n  cameras:\n    - {name: a, url: \"rtsp://h/x\", fps: 5}\n", "yaml: unmarshal errors:\n  line 3: field fps not found in type main.bootCamera"},
	} {
		_, err := parseBoot([]byte(tc.body))
		if err == nil || err.Error() != tc.err {
			t.Errorf("%q:\n got %v\nwant %s", tc.body, err, tc.err)
		}
	}
}
