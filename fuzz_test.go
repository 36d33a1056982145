package main

import (
	"bytes"
	"testing"
)

// FuzzParseDomain feeds the domain configuration decoder (config import) arbitrary
// bytes: it returns a configuration or an error, never panics, and what it accepts
// exports, and the export imports and exports to the same text.
func FuzzParseDomain(f *testing.F) {
	f.Add([]byte(domainYAML))
	f.Add([]byte(domainYAML + "users: []\n"))
	f.Add([]byte("settings: {siren_duration: 90s, pin_length: 4}\n"))
	f.Add([]byte("users:\n  - {id: a, name: A, number: 1, role: admin, pin_hash: x}\n"))
	f.Add([]byte("zones: [{id: z, name: Z, number: 1, type: fire, modes: [away]}]\n"))
	f.Add([]byte("~\n"))
	f.Add([]byte("zones: [{id: z, name: Z, number: 1, type: fire, mqtt: {topic: t}}]\noutputs: [{id: o, name: O, kind: siren, mqtt: {topic: t, state_topic: s}}]\n"))
	f.Add([]byte("outputs: [{id: o, name: O, kind: siren, mqtt: {topic: c, \"on\": \"1\", \"off\": \"0\", state_topic: c}}]\n"))
	f.Add([]byte(gpioE2EDomain))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, set, _, err := parseDomain(b)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := writeDomain(&buf, cfg, set); err != nil {
			t.Fatalf("export of an accepted configuration: %v", err)
		}
		again, againSet, _, err := parseDomain(buf.Bytes())
		if err != nil {
			t.Fatalf("the export of an accepted configuration is refused: %v\n%s", err, buf.Bytes())
		}
		var buf2 bytes.Buffer
		if err := writeDomain(&buf2, again, againSet); err != nil {
			t.Fatal(err)
		}
		if buf.String() != buf2.String() {
			t.Fatalf("export and import changed the configuration:\n%s\n%s", buf.String(), buf2.String())
		}
	})
}

// FuzzParseBoot feeds the boot configuration decoder arbitrary bytes: a configuration
// or an error, never a panic; what it accepts validates.
func FuzzParseBoot(f *testing.F) {
	f.Add([]byte(bootYAML))
	f.Add([]byte("data: /var/lib/vakt\nhttp: ':8080'\nlog_level: warn\nmqtt: {listen: 'off'}\n"))
	f.Add([]byte("mqtt:\n  tls_listen: ':8883'\n  tls_cert: a\n  tls_key: b\n"))
	f.Add([]byte("uplink:\n  paths: []\n"))
	f.Add([]byte("mqtt: {listn: x}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		boot, err := parseBoot(b)
		if err != nil {
			return
		}
		if err := boot.Validate(); err != nil {
			t.Fatalf("accepted, but does not validate: %v", err)
		}
	})
}
