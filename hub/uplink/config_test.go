package uplink

import (
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"vakt/hub"
)

func TestConfigDefaults(t *testing.T) {
	c, err := Config{Paths: []Path{{Addr: "arc.example.com:12300", Account: "1234"},
		{Addr: "[2001:db8::1]:12300", Account: "5678", Network: "UDP", Protocol: "sia-dcs"}}}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	p := c.Paths[0]
	if p.Name != "primary" || p.Network != NetTCP || p.Protocol != "ADM-CID" || p.Receiver != "0" || p.Line != "0" ||
		p.Poll.D() != DefaultPoll || p.AckTimeout.D() != DefaultAckTimeout || p.MissedPolls != DefaultMissedPolls {
		t.Errorf("defaults %+v", p)
	}
	if b := c.Paths[1]; b.Name != "backup" || b.Network != NetUDP || b.Protocol != "SIA-DCS" {
		t.Errorf("backup %+v", b)
	}
	if c.TestTime != "03:00" {
		t.Errorf("test time %q", c.TestTime)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := Path{Addr: "127.0.0.1:12300", Account: "1234"}
	with := func(f func(*Path)) Config {
		p := ok
		f(&p)
		return Config{Paths: []Path{p}}
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // "" = valid
	}{
		{"minimal", with(func(*Path) {}), ""},
		{"hex key", with(func(p *Path) { p.Key, p.KeyFormat = strings.Repeat("ab", 16), "hex" }), ""},
		{"ascii key 256", with(func(p *Path) { p.Key, p.KeyFormat = strings.Repeat("k", 32), "ascii" }), ""},
		{"no paths", Config{}, "no paths"},
		{"three paths", Config{Paths: []Path{ok, ok, ok}}, "3 paths, at most 2"},
		{"duplicate names", Config{Paths: []Path{{Name: "a", Addr: ok.Addr, Account: "1234"},
			{Name: "a", Addr: ok.Addr, Account: "1234"}}}, `both named "a"`},
		{"no addr", with(func(p *Path) { p.Addr = "" }), "addr missing"},
		{"addr without port", with(func(p *Path) { p.Addr = "arc.example.com" }), "not host:port"},
		{"addr bad port", with(func(p *Path) { p.Addr = "arc.example.com:http" }), "port"},
		{"addr port 0", with(func(p *Path) { p.Addr = "arc.example.com:0" }), "port"},
		{"addr no host", with(func(p *Path) { p.Addr = ":12300" }), "no host"},
		{"network", with(func(p *Path) { p.Network = "sctp" }), "network"},
		{"protocol", with(func(p *Path) { p.Protocol = "CID" }), "protocol"},
		{"account", with(func(p *Path) { p.Account = "12" }), "account"},
		{"account missing", with(func(p *Path) { p.Account = "" }), "account missing"},
		{"receiver", with(func(p *Path) { p.Receiver = "XYZ" }), "receiver"},
		{"line", with(func(p *Path) { p.Line = "1234567" }), "line"},
		{"hex key too short", with(func(p *Path) { p.Key, p.KeyFormat = "abcd", "hex" }), "hex key has 4 characters"},
		{"hex key not hex", with(func(p *Path) { p.Key, p.KeyFormat = strings.Repeat("zz", 16), "hex" }), "not a hex digit"},
		{"ascii key length", with(func(p *Path) { p.Key, p.KeyFormat = "short", "ascii" }), "ascii key has 5 bytes"},
		{"key without format", with(func(p *Path) { p.Key = strings.Repeat("ab", 16) }), "key format missing"},
		{"source addr", with(func(p *Path) { p.SourceAddr = "eth0" }), "source_addr"},
		{"poll too short", with(func(p *Path) { p.Poll = hub.Duration(5 * time.Second) }), "poll 5s outside 10s–24h"},
		{"poll too long", with(func(p *Path) { p.Poll = hub.Duration(25 * time.Hour) }), "poll"},
		{"ack timeout", with(func(p *Path) { p.AckTimeout = hub.Duration(time.Hour) }), "ack_timeout"},
		{"missed polls", with(func(p *Path) { p.MissedPolls = -1 }), "missed_polls"},
		{"test time", Config{Paths: []Path{ok}, TestTime: "25:00"}, "test_time"},
		{"test time format", Config{Paths: []Path{ok}, TestTime: "3:00"}, "test_time"},
		{"test interval", Config{Paths: []Path{ok}, TestInterval: hub.Duration(time.Second)}, "test_interval"},
		{"both test settings", Config{Paths: []Path{ok}, TestTime: "04:00", TestInterval: hub.Duration(4 * time.Hour)}, "not both"},
		{"interval alone", Config{Paths: []Path{ok}, TestInterval: hub.Duration(4 * time.Hour)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.want != "" && err == nil:
				t.Errorf("no error, want %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Errorf("error %q, want %q", err, tc.want)
			}
			if err != nil {
				for _, p := range tc.cfg.Paths {
					if len(p.Key) >= 16 && strings.Contains(err.Error(), p.Key) {
						t.Errorf("error quotes the key: %v", err)
					}
				}
			}
		})
	}
}

func TestConfigInterface(t *testing.T) {
	err := Config{Paths: []Path{{Addr: "127.0.0.1:1", Account: "1234", Interface: "an-interface-name-too-long"}}}.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	if runtime.GOOS == "linux" && !strings.Contains(err.Error(), "longer than") {
		t.Errorf("error %v", err)
	}
}

func TestPathNeverShowsKey(t *testing.T) {
	p := Path{Name: "primary", Addr: "127.0.0.1:1", Account: "1234", Key: "SECRETSECRETSECR", KeyFormat: "ascii"}
	var b logBuf
	slog.New(slog.NewTextHandler(&b, nil)).Info("x", "path", p)
	slog.New(slog.NewJSONHandler(&b, nil)).Info("x", "path", p)
	if s := b.String() + p.String(); strings.Contains(s, "SECRET") {
		t.Errorf("key shown: %s", s)
	}
}
