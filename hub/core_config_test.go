package hub

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// The configuration the core runs: its defaults, how missing settings are filled,
// what Validate refuses (at the limits), and the guests' schedules.

func TestDefaultSettings(t *testing.T) {
	d := func(x time.Duration) Duration { return Duration(x) }
	every := func(x time.Duration) map[Mode]Duration {
		return map[Mode]Duration{ModeAway: d(x), ModeHome: d(x), ModeNight: d(x), ModeVacation: d(x)}
	}
	want := Settings{
		ExitDelay:          every(30 * time.Second),
		EntryDelay:         every(30 * time.Second),
		SirenDuration:      d(3 * time.Minute),
		SwingerLimit:       3,
		PINLength:          6,
		LockoutAttempts:    10,
		LockoutWindow:      d(15 * time.Minute),
		LockoutDuration:    d(90 * time.Second),
		WalkTestTimeout:    d(15 * time.Minute),
		MaintenanceTimeout: d(8 * time.Hour),
		ConfirmWindow:      d(30 * time.Minute),
		EntryReportDelay:   d(30 * time.Second),
		MainsReportDelay:   d(time.Minute),
		RetentionEvents:    200_000,
		RetentionAge:       d(5 * 365 * 24 * time.Hour),
	}
	if got := DefaultSettings(); !reflect.DeepEqual(got, want) {
		t.Errorf("DefaultSettings()\n got %+v\nwant %+v", got, want)
	}
	if err := (Config{Settings: DefaultSettings()}).Validate(); err != nil {
		t.Errorf("the defaults do not validate: %v", err)
	}
}

func TestWithDefaults(t *testing.T) {
	// Nothing set: the defaults.
	if got := (Settings{}).WithDefaults(); !reflect.DeepEqual(got, DefaultSettings()) {
		t.Errorf("empty settings filled to %+v", got)
	}
	// Everything set: kept, and a mode given as 0s keeps no delay.
	set := Settings{
		ExitDelay:          map[Mode]Duration{ModeNight: 0, ModeAway: Duration(time.Minute)},
		EntryDelay:         map[Mode]Duration{ModeHome: Duration(10 * time.Second)},
		SirenDuration:      Duration(2 * time.Minute),
		SwingerLimit:       5,
		PINLength:          4,
		LockoutAttempts:    4,
		LockoutWindow:      Duration(time.Minute),
		LockoutDuration:    Duration(time.Hour),
		WalkTestTimeout:    Duration(time.Minute),
		MaintenanceTimeout: Duration(time.Hour),
		ConfirmWindow:      Duration(45 * time.Minute),
		EntryReportDelay:   Duration(time.Minute),
		MainsReportDelay:   Duration(10 * time.Minute),
		RetentionEvents:    7,
		RetentionAge:       Duration(time.Hour),
	}
	got := set.WithDefaults()
	want := set
	want.ExitDelay = map[Mode]Duration{ModeAway: Duration(time.Minute), ModeHome: Duration(30 * time.Second),
		ModeNight: 0, ModeVacation: Duration(30 * time.Second)}
	want.EntryDelay = map[Mode]Duration{ModeAway: Duration(30 * time.Second), ModeHome: Duration(10 * time.Second),
		ModeNight: Duration(30 * time.Second), ModeVacation: Duration(30 * time.Second)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("WithDefaults kept\n%+v\nwant\n%+v", got, want)
	}
	// The caller's maps are not changed.
	if len(set.ExitDelay) != 2 || len(set.EntryDelay) != 1 {
		t.Errorf("WithDefaults changed its input: %v %v", set.ExitDelay, set.EntryDelay)
	}
}

func TestDurationText(t *testing.T) {
	var d Duration
	if err := d.UnmarshalText([]byte("1m30s")); err != nil || d.D() != 90*time.Second {
		t.Errorf("1m30s: %v %v", d.D(), err)
	}
	if b, _ := d.MarshalText(); string(b) != "1m30s" {
		t.Errorf("marshal: %s", b)
	}
	if err := d.UnmarshalText([]byte("soon")); err == nil || !strings.Contains(err.Error(), `"soon"`) {
		t.Errorf("soon: %v", err)
	}
}

// validConfig is a configuration that uses every part Validate checks.
func validConfig() Config {
	cfg := coreConfig()
	cfg.Zones[1].Modes = []Mode{ModeAway, ModeNight}
	cfg.Users[2].Schedule = []Window{{Days: []time.Weekday{time.Monday}, From: "08:00", To: "17:00"}}
	cfg.Outputs[0].Refresh = Duration(time.Second)
	cfg.Outputs[0].Confirm = Duration(100 * time.Millisecond)
	cfg.Outputs[1].Number = 99
	return cfg
}

func TestValidate(t *testing.T) {
	if err := validConfig().Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	ms := func(m Mode, d time.Duration) map[Mode]Duration { return map[Mode]Duration{m: Duration(d)} }
	tests := []struct {
		name   string
		change func(c *Config)
		want   string // in the error; "" means valid
	}{
		// Settings, at and just past their limits.
		{"siren at its minimum", func(c *Config) { c.Settings.SirenDuration = Duration(MinSirenDuration) }, ""},
		{"siren below its minimum", func(c *Config) { c.Settings.SirenDuration = Duration(MinSirenDuration - 1) }, "siren_duration"},
		{"siren at its maximum", func(c *Config) { c.Settings.SirenDuration = Duration(MaxSirenDuration) }, ""},
		{"siren above its maximum", func(c *Config) { c.Settings.SirenDuration = Duration(MaxSirenDuration + 1) }, "siren_duration"},
		{"entry delay 0", func(c *Config) { c.Settings.EntryDelay = ms(ModeAway, 0) }, ""},
		{"entry delay negative", func(c *Config) { c.Settings.EntryDelay = ms(ModeAway, -1) }, "entry_delay away"},
		{"entry delay at its maximum", func(c *Config) { c.Settings.EntryDelay = ms(ModeAway, MaxEntryDelay) }, ""},
		{"entry delay above its maximum", func(c *Config) { c.Settings.EntryDelay = ms(ModeAway, MaxEntryDelay+1) }, "entry_delay away"},
		{"entry delay of an unknown mode", func(c *Config) { c.Settings.EntryDelay = ms("party", 0) }, `entry_delay: unknown mode "party"`},
		{"exit delay 0", func(c *Config) { c.Settings.ExitDelay = ms(ModeHome, 0) }, ""},
		{"exit delay negative", func(c *Config) { c.Settings.ExitDelay = ms(ModeHome, -1) }, "exit_delay home"},
		{"exit delay at its maximum", func(c *Config) { c.Settings.ExitDelay = ms(ModeHome, 10*time.Minute) }, ""},
		{"exit delay above its maximum", func(c *Config) { c.Settings.ExitDelay = ms(ModeHome, 10*time.Minute+1) }, "exit_delay home"},
		{"exit delay of an unknown mode", func(c *Config) { c.Settings.ExitDelay = ms("party", 0) }, `exit_delay: unknown mode "party"`},
		{"confirm window at its minimum", func(c *Config) { c.Settings.ConfirmWindow = Duration(30 * time.Minute) }, ""},
		{"confirm window below", func(c *Config) { c.Settings.ConfirmWindow = Duration(30*time.Minute - 1) }, "confirm_window"},
		{"confirm window at its maximum", func(c *Config) { c.Settings.ConfirmWindow = Duration(time.Hour) }, ""},
		{"confirm window above", func(c *Config) { c.Settings.ConfirmWindow = Duration(time.Hour + 1) }, "confirm_window"},
		{"entry report delay at its minimum", func(c *Config) { c.Settings.EntryReportDelay = Duration(30 * time.Second) }, ""},
		{"entry report delay below", func(c *Config) { c.Settings.EntryReportDelay = Duration(30*time.Second - 1) }, "entry_report_delay"},
		{"entry report delay at its maximum", func(c *Config) { c.Settings.EntryReportDelay = Duration(10 * time.Minute) }, ""},
		{"entry report delay above", func(c *Config) { c.Settings.EntryReportDelay = Duration(10*time.Minute + 1) }, "entry_report_delay"},
		{"mains report delay at its minimum", func(c *Config) { c.Settings.MainsReportDelay = Duration(MinMainsReportDelay) }, ""},
		{"mains report delay below", func(c *Config) { c.Settings.MainsReportDelay = Duration(MinMainsReportDelay - 1) }, "settings: mains_report_delay 9.999999999s is outside 10s–1h0m0s"},
		{"mains report delay negative", func(c *Config) { c.Settings.MainsReportDelay = Duration(-time.Second) }, "mains_report_delay -1s"},
		{"mains report delay at its maximum", func(c *Config) { c.Settings.MainsReportDelay = Duration(MaxMainsReportDelay) }, ""},
		{"mains report delay above", func(c *Config) { c.Settings.MainsReportDelay = Duration(MaxMainsReportDelay + 1) }, "mains_report_delay"},
		{"PIN length 4", func(c *Config) { c.Settings.PINLength = 4 }, ""},
		{"PIN length 5", func(c *Config) { c.Settings.PINLength = 5 }, "pin_length must be 4 or 6, not 5"},
		{"swinger limit 1", func(c *Config) { c.Settings.SwingerLimit = 1 }, ""},
		{"swinger limit negative", func(c *Config) { c.Settings.SwingerLimit = -1 }, "swinger_limit"},
		{"lockout after 1 attempt", func(c *Config) { c.Settings.LockoutAttempts = 1 }, ""},
		{"lockout attempts negative", func(c *Config) { c.Settings.LockoutAttempts = -1 }, "lockout_attempts"},
		{"lockout duration negative", func(c *Config) { c.Settings.LockoutDuration = -1 }, "lockout_attempts"},
		{"arm without code by an account", func(c *Config) { c.Settings.ArmWithoutCode = []string{"homeassistant"} }, ""},
		{"arm without code by an empty name", func(c *Config) { c.Settings.ArmWithoutCode = []string{""} }, `arm_without_code: account name ""`},
		{"arm without code by a spaced name", func(c *Config) { c.Settings.ArmWithoutCode = []string{" ha"} }, `arm_without_code: account name " ha"`},

		// Zones.
		{"zone without id", func(c *Config) { c.Zones[0].ID = "" }, "zones[0]: id is empty"},
		{"zone id twice", func(c *Config) { c.Zones[1].ID = "door" }, `zones[1] "door": duplicate id`},
		{"zone of unknown type", func(c *Config) { c.Zones[0].Type = "laser" }, `unknown type "laser"`},
		{"zone number 0", func(c *Config) { c.Zones[0].Number = 0 }, "number 0 is outside 1–999"},
		{"zone number 999", func(c *Config) { c.Zones[0].Number = 999 }, ""},
		{"zone number 1000", func(c *Config) { c.Zones[0].Number = 1000 }, "number 1000 is outside 1–999"},
		{"zone number twice", func(c *Config) { c.Zones[1].Number = 1 }, `number 1 is also zone "door"`},
		{"zone in an unknown mode", func(c *Config) { c.Zones[0].Modes = []Mode{"party"} }, `unknown mode "party"`},
		{"zone with an unknown delay", func(c *Config) { c.Zones[0].Delay = "later" }, `unknown delay "later"`},
		{"zone with delay instant", func(c *Config) { c.Zones[0].Delay = DelayInstant }, ""},

		// Tokens.
		{"keypad token", func(c *Config) {
			c.Tokens = []Token{{ID: "t", Name: "Hall", Scope: ScopeKeypad, Hash: strings.Repeat("a", 64)}}
		}, ""},
		{"control token", func(c *Config) {
			c.Tokens = []Token{{ID: "t", Name: "HA", Scope: ScopeControl, UserID: "alice", Hash: strings.Repeat("a", 64)}}
		}, ""},
		{"control token of nobody", func(c *Config) {
			c.Tokens = []Token{{ID: "t", Name: "HA", Scope: ScopeControl, UserID: "zed", Hash: strings.Repeat("a", 64)}}
		}, `tokens[0] "t": a control token needs an existing user (user_id "zed")`},
		{"keypad token of a user", func(c *Config) {
			c.Tokens = []Token{{ID: "t", Name: "Hall", Scope: ScopeKeypad, UserID: "alice", Hash: strings.Repeat("a", 64)}}
		}, `tokens[0] "t": a keypad token acts as itself, not as a user`},
		{"token of unknown scope", func(c *Config) {
			c.Tokens = []Token{{ID: "t", Name: "X", Scope: "root", Hash: strings.Repeat("a", 64)}}
		}, `unknown scope "root"`},
		{"token without hash", func(c *Config) { c.Tokens = []Token{{ID: "t", Name: "X", Scope: ScopeRead, Hash: "secret"}} }, "hash must be 64 lower-case hex digits"},
		{"token id twice", func(c *Config) {
			c.Tokens = []Token{{ID: "t", Name: "X", Scope: ScopeRead, Hash: strings.Repeat("a", 64)}, {ID: "t", Name: "Y", Scope: ScopeRead, Hash: strings.Repeat("b", 64)}}
		}, `tokens[1] "t": id and name are required, the id unique`},

		// Users.
		{"user without id", func(c *Config) { c.Users[0].ID = "" }, "users[0]: id and name are required"},
		{"user without name", func(c *Config) { c.Users[0].Name = "" }, "users[0]: id and name are required"},
		{"user id twice", func(c *Config) { c.Users[1].ID = "alice" }, `users[1] "alice": duplicate id`},
		{"user number 0", func(c *Config) { c.Users[0].Number = 0 }, "number 0 is outside 1–999 or taken"},
		{"user number 999", func(c *Config) { c.Users[0].Number = 999 }, ""},
		{"user number 1000", func(c *Config) { c.Users[0].Number = 1000 }, "number 1000 is outside 1–999 or taken"},
		{"user number twice", func(c *Config) { c.Users[1].Number = 1 }, `users[1] "bob": number 1 is outside 1–999 or taken`},
		{"one-time admin", func(c *Config) { c.Users[0].OneTime = true }, `users[0] "alice": an admin's code cannot be one-time`},
		{"one-time user", func(c *Config) { c.Users[1].OneTime = true }, ""},
		{"user of unknown role", func(c *Config) { c.Users[0].Role = "owner" }, `unknown role "owner"`},
		{"user with a bad schedule", func(c *Config) { c.Users[2].Schedule[0].To = "07:00" }, "schedule: window 08:00–07:00 ends before it starts"},
		{"two users with one PIN", func(c *Config) { c.Users[1].PINHash, c.Users[0].PINHash = "$argon2id$x", "$argon2id$x" }, `users[1] "bob": has the same code as user "alice"`},
		{"a duress code that is another user's PIN", func(c *Config) { c.Users[0].PINHash, c.Users[2].DuressHash = "$argon2id$y", "$argon2id$y" }, `users[2] "gus": has the same code as user "alice"`},
		{"a user's PIN as their own duress code", func(c *Config) { c.Users[1].PINHash, c.Users[1].DuressHash = "$argon2id$z", "$argon2id$z" }, `users[1] "bob": has the same code as user "bob"`},

		// Outputs.
		{"output without id", func(c *Config) { c.Outputs[0].ID = "" }, "outputs[0]: id is empty or duplicate"},
		{"output id twice", func(c *Config) { c.Outputs[1].ID = "outdoor" }, "outputs[1]: id is empty or duplicate"},
		{"output of unknown kind", func(c *Config) { c.Outputs[0].Kind = "horn" }, `unknown kind "horn"`},
		{"output number negative", func(c *Config) { c.Outputs[0].Number = -1 }, "number -1 is outside 1–99"},
		{"output number 100", func(c *Config) { c.Outputs[0].Number = 100 }, "number 100 is outside 1–99"},
		{"output refresh negative", func(c *Config) { c.Outputs[0].Refresh = -1 }, "refresh"},
		{"output refresh below 1s", func(c *Config) { c.Outputs[0].Refresh = Duration(time.Second - 1) }, "refresh 999.999999ms is below 1s"},
		{"output confirm negative", func(c *Config) { c.Outputs[0].Confirm = -1 }, "confirm"},
		{"output confirm below 100ms", func(c *Config) { c.Outputs[0].Confirm = Duration(100*time.Millisecond - 1) }, "is below 100ms"},
		{"output confirm 0 (the default)", func(c *Config) { c.Outputs[0].Confirm = 0 }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := validConfig()
			tc.change(&cfg)
			err := cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && err == nil:
				t.Errorf("accepted, want an error with %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Errorf("error %q, want one with %q", err, tc.want)
			case err != nil && strings.Count(err.Error(), "\n") > 0:
				t.Errorf("more than one problem reported: %v", err)
			}
		})
	}
	// Every problem is reported, not only the first.
	cfg := validConfig()
	cfg.Zones[0].ID = ""
	cfg.Users[0].Role = "owner"
	cfg.Outputs[0].Kind = "horn"
	if err := cfg.Validate(); err == nil || strings.Count(err.Error(), "\n") != 2 {
		t.Errorf("three problems: %v", err)
	}
}

func TestWindowBounds(t *testing.T) {
	tests := []struct {
		from, to string
		want     [2]time.Duration
		err      string
	}{
		{"08:00", "17:30", [2]time.Duration{8 * time.Hour, 17*time.Hour + 30*time.Minute}, ""},
		{"00:00", "00:01", [2]time.Duration{0, time.Minute}, ""},
		{"09:00", "09:00", [2]time.Duration{}, "ends before it starts"},
		{"09:01", "09:00", [2]time.Duration{}, "ends before it starts"},
		{"8h", "17:00", [2]time.Duration{}, `time "8h" is not HH:MM`},
		{"08:00", "5pm", [2]time.Duration{}, `time "5pm" is not HH:MM`},
	}
	for _, tc := range tests {
		from, to, err := Window{From: tc.from, To: tc.to}.bounds()
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || from != 0 || to != 0 {
				t.Errorf("%s–%s: %v %v %v, want error %q", tc.from, tc.to, from, to, err, tc.err)
			}
			continue
		}
		if err != nil || [2]time.Duration{from, to} != tc.want {
			t.Errorf("%s–%s: %v %v %v, want %v", tc.from, tc.to, from, to, err, tc.want)
		}
	}
}

func TestUserAllowed(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		berlin = time.FixedZone("CET", 3600)
	}
	// Monday 2026-11-23.
	mon := func(h, m, s int) time.Time { return time.Date(2026, 11, 23, h, m, s, 0, berlin) }
	guest := User{ID: "gus", Role: RoleGuest, Schedule: []Window{
		{Days: []time.Weekday{time.Sunday}, From: "00:00", To: "23:59"},
		{Days: []time.Weekday{time.Tuesday, time.Monday}, From: "08:00", To: "17:00"},
		{Days: []time.Weekday{time.Monday}, From: "bad", To: "23:00"}, // skipped
		{Days: []time.Weekday{time.Monday}, From: "18:30", To: "19:00"},
	}}
	tests := []struct {
		name string
		u    User
		now  time.Time
		want bool
	}{
		{"guest at the window's start", guest, mon(8, 0, 0), true},
		{"guest a second before it", guest, mon(7, 59, 59), false},
		{"guest half a minute into it", guest, mon(8, 0, 30), true},
		{"guest in a window starting at half past", guest, mon(18, 45, 0), true},
		{"guest a second before a window starting at half past", guest, mon(18, 29, 59), false},
		{"guest a second before its end", guest, mon(16, 59, 59), true},
		{"guest at its end", guest, mon(17, 0, 0), false},
		{"guest on another day at the same hour", guest, mon(12, 0, 0).AddDate(0, 0, 2), false},
		{"guest in a window of another day", guest, mon(12, 0, 0).AddDate(0, 0, -1), true},
		{"guest: local time counts, not UTC", guest, mon(8, 30, 0).UTC(), true},
		{"guest without a schedule", User{Role: RoleGuest}, mon(3, 0, 0), true},
		{"user outside the guest schedule", User{Role: RoleUser, Schedule: guest.Schedule}, mon(3, 0, 0), true},
		{"a second before expiry", User{Role: RoleAdmin, Expires: mon(12, 0, 0)}, mon(11, 59, 59), true},
		{"at expiry", User{Role: RoleAdmin, Expires: mon(12, 0, 0)}, mon(12, 0, 0), false},
		{"guest in schedule but expired", User{Role: RoleGuest, Schedule: guest.Schedule, Expires: mon(9, 0, 0)}, mon(10, 0, 0), false},
	}
	for _, tc := range tests {
		if got := tc.u.Allowed(tc.now, berlin); got != tc.want {
			t.Errorf("%s (%v): %v, want %v", tc.name, tc.now, got, tc.want)
		}
	}
}

func TestZoneTypesAndModes(t *testing.T) {
	h24 := map[ZoneType]bool{ZoneTamper: true, ZoneFire: true, ZonePanic: true, ZoneSilentPanic: true, ZoneWater: true, ZoneCO: true}
	undeniable := map[ZoneType]bool{ZonePanic: true, ZoneSilentPanic: true, ZoneFire: true, ZoneCO: true}
	for _, zt := range ZoneTypes {
		if !zt.Valid() || zt.Is24h() != h24[zt] || zt.undeniable() != undeniable[zt] {
			t.Errorf("%s: valid %v, 24h %v, undeniable %v", zt, zt.Valid(), zt.Is24h(), zt.undeniable())
		}
		z := Zone{Type: zt}
		for _, m := range Modes {
			want := h24[zt] || m == ModeAway || m == ModeVacation ||
				(zt == ZoneEntryExit || zt == ZonePerimeter) && (m == ModeHome || m == ModeNight)
			if zt == ZoneKeyswitch {
				want = false
			}
			if z.ActiveIn(m) != want {
				t.Errorf("a %s zone active in %s: %v", zt, m, !want)
			}
		}
	}
	if ZoneType("laser").Valid() || Mode("party").Valid() {
		t.Errorf("unknown type or mode valid")
	}
	own := Zone{Type: ZoneInstant, Modes: []Mode{ModeHome}}
	if !own.ActiveIn(ModeHome) || own.ActiveIn(ModeAway) {
		t.Errorf("a zone's own modes are not used")
	}
	for _, m := range Modes {
		if !m.Valid() || ArmedState(m) != StateName("armed_"+string(m)) {
			t.Errorf("mode %s", m)
		}
	}
	for c, want := range map[EventClass]bool{ClassAlarm: true, ClassTamper: true, ClassArming: true, ClassFault: false, ClassRoutine: false} {
		if c.Mandatory() != want {
			t.Errorf("%s mandatory: %v", c, !want)
		}
	}
}
