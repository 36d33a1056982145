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

// Every limit of the configuration is inclusive: the value at the limit is valid,
// one step beyond it is not.
func TestConfigLimits(t *testing.T) {
	ok := Path{Addr: "127.0.0.1:12300", Account: "1234"}
	with := func(f func(*Path)) Config {
		p := ok
		f(&p)
		return Config{Paths: []Path{p}}
	}
	interval := func(d time.Duration) Config { return Config{Paths: []Path{ok}, TestInterval: hub.Duration(d)} }
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // the whole error; "" = valid
	}{
		{"port 1", with(func(p *Path) { p.Addr = "127.0.0.1:1" }), ""},
		{"port 65535", with(func(p *Path) { p.Addr = "127.0.0.1:65535" }), ""},
		{"port 65536", with(func(p *Path) { p.Addr = "127.0.0.1:65536" }),
			`uplink: config: path "primary": addr "127.0.0.1:65536": port "65536" is not a number 1–65535`},
		{"poll 10s", with(func(p *Path) { p.Poll = hub.Duration(MinPoll) }), ""},
		{"poll 24h", with(func(p *Path) { p.Poll = hub.Duration(MaxPoll) }), ""},
		{"poll 24h1s", with(func(p *Path) { p.Poll = hub.Duration(MaxPoll + time.Second) }),
			`uplink: config: path "primary": poll 24h0m1s outside 10s–24h`},
		{"ack timeout 1s", with(func(p *Path) { p.AckTimeout = hub.Duration(MinAckTimeout) }), ""},
		{"ack timeout 2m", with(func(p *Path) { p.AckTimeout = hub.Duration(MaxAckTimeout) }), ""},
		{"ack timeout 999ms", with(func(p *Path) { p.AckTimeout = hub.Duration(MinAckTimeout - time.Millisecond) }),
			`uplink: config: path "primary": ack_timeout 999ms outside 1s–2m0s`},
		{"missed polls 1", with(func(p *Path) { p.MissedPolls = 1 }), ""},
		{"missed polls 20", with(func(p *Path) { p.MissedPolls = MaxMissedPolls }), ""},
		{"missed polls 21", with(func(p *Path) { p.MissedPolls = MaxMissedPolls + 1 }),
			`uplink: config: path "primary": missed_polls 21 outside 1–20`},
		{"test interval 1m", interval(MinTestInterval), ""},
		{"test interval 7d", interval(MaxTestInterval), ""},
		{"test interval 7d1s", interval(MaxTestInterval + time.Second),
			"uplink: config: test_interval 168h0m1s outside 1m0s–7d"},
		{"test interval 59s", interval(MinTestInterval - time.Second),
			"uplink: config: test_interval 59s outside 1m0s–7d"},
		// Receiver and line: 1–6 hex digits of either case.
		{"hex digits", with(func(p *Path) { p.Receiver, p.Line = "09afAF", "0" }), ""},
		{"seven hex digits", with(func(p *Path) { p.Receiver = "09afAF0" }),
			`uplink: config: path "primary": receiver "09afAF0" is not 1–6 hex digits`},
		{"g", with(func(p *Path) { p.Line = "g" }), `uplink: config: path "primary": line "g" is not 1–6 hex digits`},
		{"G", with(func(p *Path) { p.Line = "G" }), `uplink: config: path "primary": line "G" is not 1–6 hex digits`},
		// The neighbours of the digit and letter ranges in ASCII.
		{"/", with(func(p *Path) { p.Line = "/" }), `uplink: config: path "primary": line "/" is not 1–6 hex digits`},
		{":", with(func(p *Path) { p.Line = ":" }), `uplink: config: path "primary": line ":" is not 1–6 hex digits`},
		{"`", with(func(p *Path) { p.Line = "`" }), "uplink: config: path \"primary\": line \"`\" is not 1–6 hex digits"},
		{"@", with(func(p *Path) { p.Line = "@" }), `uplink: config: path "primary": line "@" is not 1–6 hex digits`},
		{"duplicate names", Config{Paths: []Path{{Name: "a", Addr: ok.Addr, Account: "1234"},
			{Name: "a", Addr: ok.Addr, Account: "1234"}}}, `uplink: config: paths 1 and 2 are both named "a"`},
		{"third path named by its position", Config{Paths: []Path{ok, ok, {Addr: ok.Addr, Account: "12"}}},
			"uplink: config: 3 paths, at most 2 (a primary and a backup)\n" +
				`path "path3": account "12" is not 3–16 hex digits`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if err := tc.cfg.Validate(); err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("error %q\nwant  %q", got, tc.want)
			}
		})
	}
}

func TestFmtDur(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{24 * time.Hour, "24h"},
		{36 * time.Hour, "36h"},
		{48 * time.Hour, "2d"},
		{49 * time.Hour, "49h"},
		{7 * 24 * time.Hour, "7d"},
		{90 * time.Minute, "1h30m0s"},
		{2 * time.Minute, "2m0s"},
	} {
		if got := fmtDur(tc.d); got != tc.want {
			t.Errorf("fmtDur(%s) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestPathDescriptions(t *testing.T) {
	plain := Path{Name: "primary", Addr: "127.0.0.1:1", Network: NetTCP, Protocol: "ADM-CID", Account: "1234"}
	keyed := plain
	keyed.Key, keyed.KeyFormat = "SECRETSECRETSECR", "ascii"
	for _, tc := range []struct {
		p         Path
		str, text string
	}{
		{plain, "primary tcp://127.0.0.1:1 ADM-CID account 1234 plain",
			"level=INFO msg=x path.name=primary path.addr=127.0.0.1:1 path.network=tcp path.protocol=ADM-CID path.account=1234\n"},
		{keyed, "primary tcp://127.0.0.1:1 ADM-CID account 1234 encrypted",
			"level=INFO msg=x path.name=primary path.addr=127.0.0.1:1 path.network=tcp path.protocol=ADM-CID path.account=1234 path.key=\"(set, ascii)\"\n"},
	} {
		if s := tc.p.String(); s != tc.str {
			t.Errorf("String %q, want %q", s, tc.str)
		}
		var b logBuf
		noTime := func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}
		slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{ReplaceAttr: noTime})).Info("x", "path", tc.p)
		if s := b.String(); s != tc.text {
			t.Errorf("log %q\nwant %q", s, tc.text)
		}
	}
}
