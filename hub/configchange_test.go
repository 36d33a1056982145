package hub

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// Changing the configuration while the hub runs: ChangeConfig, the description of
// a change, Config.Clone. The hub tests run in synctest bubbles (see hub_test.go),
// whose clock starts on Saturday 2000-01-01 00:00 UTC.

// restartEvent is the event a new hub records when it starts disarmed.
func restartEvent(at time.Time) Event {
	return Event{Seq: 1, Time: at, Type: EvRestart, Class: ClassFault, State: Disarmed, Who: hubActor,
		Detail: "resumed in state disarmed"}
}

// runHub runs a hub with cfg in the bubble until the test ends, and returns it
// once it has started, with its journal and outputs.
func runHub(t *testing.T, cfg Config) (*Hub, *memJournal, *memOutputs) {
	t.Helper()
	return runHubWith(t, Options{Config: cfg})
}

// runHubWith is runHub with more options; the journal and outputs are its own.
func runHubWith(t *testing.T, opt Options) (*Hub, *memJournal, *memOutputs) {
	t.Helper()
	j, o := &memJournal{}, &memOutputs{}
	opt.Journal, opt.Outputs = j, o
	h, stop := startWith(t, opt)
	t.Cleanup(stop)
	synctest.Wait()
	return h, j, o
}

// same returns a function that fails the test when the hub's configuration or
// state, or its journal, are not as they are now.
func same(t *testing.T, h *Hub, j *memJournal) func(when string) {
	snap := h.Snapshot()
	events, commits, _ := j.stored()
	return func(when string) {
		t.Helper()
		if s := h.Snapshot(); !reflect.DeepEqual(s.Config, snap.Config) || !reflect.DeepEqual(s.State, snap.State) {
			t.Errorf("%s: the snapshot changed: %+v", when, s)
		}
		if after, n, configs := j.stored(); !reflect.DeepEqual(after, events) || n != commits || configs != nil {
			t.Errorf("%s: the journal changed: %d commits (was %d), events %+v, configs %+v", when, n, commits, after, configs)
		}
	}
}

// addUser returns a change that adds a user with a PIN, hashed beforehand as the
// web API must (the change itself runs under the hub's lock).
func addUser(t *testing.T, h *Hub, u User, pin string) func(*Config) error {
	t.Helper()
	var err error
	if u.PINHash, err = HashPIN(h.Snapshot().Config.Users, pin, cheap); err != nil {
		t.Fatal(err)
	}
	return func(c *Config) error {
		c.Users = append(c.Users, u)
		return nil
	}
}

var dave = User{ID: "dave", Name: "Dave", Number: 5, Role: RoleUser}

// While disarmed: a setting changed, then a user added. Each change is one config_changed event, the snapshot and the journal show the
// new configuration, and both are in force at once: the new user's PIN arms, with
// the new exit delay.
func TestHubChangeConfigDisarmed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := hubConfig(t)
		h, j, _ := runHub(t, cfg)
		ctx := context.Background()
		t0 := time.Now().UTC()

		got, err := h.ChangeConfig(ctx, alice, func(c *Config) error {
			c.Settings.ExitDelay[ModeAway] = Duration(45 * time.Second)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := NewCore(cfg).Config().Clone()
		want.Settings.ExitDelay[ModeAway] = Duration(45 * time.Second)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ChangeConfig returned %+v, want %+v", got, want)
		}
		add := addUser(t, h, dave, "444444")
		if got, err = h.ChangeConfig(ctx, bob, add); err != nil {
			t.Fatal(err)
		}
		_ = add(&want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ChangeConfig returned %+v, want %+v", got, want)
		}
		if s := h.Snapshot(); !reflect.DeepEqual(s.Config, want) {
			t.Errorf("snapshot config %+v, want %+v", s.Config, want)
		}
		events, _, configs := j.stored()
		wantEvents := []Event{
			restartEvent(t0),
			{Seq: 2, Time: t0, Type: EvConfigChanged, Class: ClassArming, State: Disarmed, Who: alice,
				Detail: "exit delay away 30s → 45s"},
			{Seq: 3, Time: t0, Type: EvConfigChanged, Class: ClassArming, State: Disarmed, Who: bob,
				Detail: `user dave added: name "Dave", number 5, role user, PIN set`},
		}
		if !reflect.DeepEqual(events, wantEvents) {
			t.Errorf("events\n%+v\nwant\n%+v", events, wantEvents)
		}
		if len(configs) != 2 || !reflect.DeepEqual(configs[1], want) {
			t.Errorf("committed configurations %+v, want two, the last %+v", configs, want)
		}

		// Dave's PIN works at once, and arming away takes the new 45 s.
		if err := h.Do(ctx, Request{Kind: CmdArm, Mode: ModeAway, Cred: Credential{Code: "444444"}, Via: ViaKeypad, Device: "kp1"}); err != nil {
			t.Fatalf("arming with the new user's PIN: %v", err)
		}
		st := h.Snapshot().State
		if st.Name != Arming || st.ArmedBy.UserID != "dave" || !st.ExitDeadline.Equal(t0.Add(45*time.Second)) {
			t.Errorf("after arming: %s by %+v until %s", st.Name, st.ArmedBy, st.ExitDeadline)
		}
	})
}

// While armed: the change does not touch the alarm state, its event says the state,
// and the new user may disarm.
func TestHubChangeConfigArmed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, j, _ := runHub(t, hubConfig(t))
		ctx := context.Background()
		t0 := time.Now().UTC()
		if err := h.Do(ctx, Request{Kind: CmdArm, Mode: ModeNight, Cred: Credential{Code: "111111"}, Via: ViaAPI}); err != nil {
			t.Fatal(err)
		}
		before := h.Snapshot().State
		if before.Name != ArmedNight {
			t.Fatalf("state %s, want armed_night", before.Name)
		}
		add := addUser(t, h, dave, "444444")
		if _, err := h.ChangeConfig(ctx, alice, func(c *Config) error {
			c.Settings.SirenDuration = Duration(5 * time.Minute)
			return add(c)
		}); err != nil {
			t.Fatal(err)
		}
		if st := h.Snapshot().State; !reflect.DeepEqual(st, before) {
			t.Errorf("the change moved the state:\n%+v\nwas\n%+v", st, before)
		}
		events, _, _ := j.stored()
		last := events[len(events)-1]
		wantLast := Event{Seq: last.Seq, Time: t0, Type: EvConfigChanged, Class: ClassArming, State: ArmedNight, Who: alice,
			Detail: `siren duration 3m0s → 5m0s; user dave added: name "Dave", number 5, role user, PIN set`}
		if !reflect.DeepEqual(last, wantLast) {
			t.Errorf("last event %+v, want %+v", last, wantLast)
		}
		if err := h.Do(ctx, Request{Kind: CmdDisarm, Cred: Credential{Code: "444444"}, Via: ViaKeypad, Device: "kp1"}); err != nil {
			t.Fatalf("disarming with the new user's PIN: %v", err)
		}
		if st := h.Snapshot().State; st.Name != Disarmed {
			t.Errorf("state %s after the new user's disarm", st.Name)
		}
	})
}

// A refused change leaves everything as it was: the configuration, the snapshot,
// the journal. Refused are an invalid configuration, a change that locks the
// admins out, the change function's own error or panic, and a change by nobody.
func TestHubChangeConfigRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, j, _ := runHub(t, hubConfig(t))
		ctx := context.Background()
		unchanged := same(t, h, j)
		oops := errors.New("oops")
		tests := []struct {
			name   string
			who    Actor
			change func(*Config) error
			kind   ErrorKind
			msg    string
		}{
			{"invalid zone number", alice, func(c *Config) error {
				c.Zones[0].Number = 0
				c.Users[0].Name = "changed on the copy" // with the invalid zone: not applied
				return nil
			}, ErrInvalid, `hub: change config: invalid configuration: zones[0] "door": number 0 is outside 1–999`},
			{"two problems", alice, func(c *Config) error {
				c.Settings.PINLength = 5
				c.Users[1].Number = 1
				return nil
			}, ErrInvalid, `hub: change config: invalid configuration: settings: pin_length must be 4 or 6, not 5; users[1] "bob": number 1 is outside 1–999 or taken`},
			{"last admin removed", alice, func(c *Config) error {
				c.Users = c.Users[1:]
				return nil
			}, ErrNotAllowed, "hub: change config: the change leaves no admin who can log in or enter a code"},
			{"last admin demoted", alice, func(c *Config) error {
				c.Users[0].Role = RoleUser
				return nil
			}, ErrNotAllowed, "hub: change config: the change leaves no admin who can log in or enter a code"},
			{"last admin's PIN removed", alice, func(c *Config) error {
				c.Users[0].PINHash = ""
				return nil
			}, ErrNotAllowed, "hub: change config: the change leaves no admin who can log in or enter a code"},
			{"last admin expired", alice, func(c *Config) error {
				c.Users[0].Expires = time.Now()
				return nil
			}, ErrNotAllowed, "hub: change config: the change leaves no admin who can log in or enter a code"},
			{"the change's error", alice, func(c *Config) error {
				c.Settings.ExitDelay[ModeAway] = 0 // on the copy only
				return &Error{Kind: ErrDenied, Msg: "not yours"}
			}, ErrDenied, "hub: change config: not yours"},
			{"the change's plain error", alice, func(*Config) error { return oops }, ErrInternal, "hub: change config: oops"},
			{"the change panics", alice, func(c *Config) error {
				c.Users = nil
				panic("boom")
			}, ErrInternal, "hub: change config: the change panicked: boom"},
			{"by nobody", Actor{}, func(*Config) error { return nil }, ErrInvalid,
				"hub: change config: a change needs who makes it and what it is"},
			{"no change function", alice, nil, ErrInvalid, "hub: change config: a change needs who makes it and what it is"},
		}
		for _, tc := range tests {
			got, err := h.ChangeConfig(ctx, tc.who, tc.change)
			if KindOf(err) != tc.kind || err == nil || err.Error() != tc.msg {
				t.Errorf("%s: error %v (kind %s), want %q (kind %s)", tc.name, err, KindOf(err), tc.msg, tc.kind)
			}
			if !reflect.DeepEqual(got, Config{}) {
				t.Errorf("%s: returned %+v", tc.name, got)
			}
		}
		if _, err := h.ChangeConfig(ctx, alice, func(*Config) error { return oops }); !errors.Is(err, oops) {
			t.Errorf("the change's error is not wrapped: %v", err)
		}
		unchanged("after the refused changes")
		// The hub goes on.
		if err := h.Input(ctx, Sensor{Zone: "door", Signal: SigOpen}); err != nil || !h.Snapshot().State.Zones["door"].Open {
			t.Errorf("after the refusals: %v", err)
		}
	})
}

// The owner's check refuses a change too: a zone that the adapters' bindings name
// cannot be removed, another one can.
func TestHubChangeConfigOwnerCheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bound := func(c Config) error {
			if !slices.ContainsFunc(c.Zones, func(z Zone) bool { return z.ID == "door" }) {
				return errors.New(`mqtt: binding of zone "door", which is not configured`)
			}
			return nil
		}
		h, j, _ := runHubWith(t, Options{Config: hubConfig(t), CheckConfig: bound})
		ctx := context.Background()
		unchanged := same(t, h, j)
		remove := func(id string) func(*Config) error {
			return func(c *Config) error {
				c.Zones = slices.DeleteFunc(c.Zones, func(z Zone) bool { return z.ID == id })
				return nil
			}
		}
		_, err := h.ChangeConfig(ctx, alice, remove("door"))
		if want := `hub: change config: invalid configuration: mqtt: binding of zone "door", which is not configured`; KindOf(err) != ErrInvalid || err.Error() != want {
			t.Errorf("removing a bound zone: %v, want %q", err, want)
		}
		unchanged("after the refused change")
		got, err := h.ChangeConfig(ctx, alice, remove("hall"))
		if err != nil || slices.ContainsFunc(got.Zones, func(z Zone) bool { return z.ID == "hall" }) {
			t.Errorf("removing an unbound zone: %v, zones %+v", err, got.Zones)
		}
	})
}

// An admin may remove or demote themself once another admin can log in, and a
// system that had no usable admin may go on without one.
func TestHubChangeConfigAdmins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := hubConfig(t)
		cfg.Users[0].Role = RoleUser // alice: no admin at all
		h, j, _ := runHub(t, cfg)
		ctx := context.Background()
		if _, err := h.ChangeConfig(ctx, alice, func(c *Config) error {
			c.Users[1].Name = "Robert"
			return nil
		}); err != nil {
			t.Fatalf("a system without an admin: %v", err)
		}
		pw, err := HashSecret("correct horse", cheap)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.ChangeConfig(ctx, alice, func(c *Config) error {
			c.Users[0].Role = RoleAdmin
			c.Users[1].Role = RoleAdmin
			c.Users[1].PINHash = ""
			c.Users[1].PasswordHash = pw // bob logs in with a password only
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.ChangeConfig(ctx, alice, func(c *Config) error {
			c.Users = c.Users[1:]
			return nil
		}); err != nil {
			t.Fatalf("removing one of two admins: %v", err)
		}
		if _, err := h.ChangeConfig(ctx, bob, func(c *Config) error {
			c.Users[0].PasswordHash = ""
			return nil
		}); KindOf(err) != ErrNotAllowed {
			t.Errorf("the last admin's password removed: %v", err)
		}
		events, _, _ := j.stored()
		var details []string
		for _, e := range events[1:] {
			details = append(details, e.Detail)
		}
		wantDetails := []string{
			`user bob: name "Bob" → "Robert"`,
			"user alice: role user → admin; user bob: role user → admin; user bob: PIN removed; user bob: password set",
			`user alice removed (name "Alice")`,
		}
		if !slices.Equal(details, wantDetails) {
			t.Errorf("details\n%q\nwant\n%q", details, wantDetails)
		}
	})
}

// A zone removed while it is open is gone from the state and from the reasons
// not to arm; the new zones are in the state, closed.
func TestHubChangeConfigZoneRemovedWhileOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, j, _ := runHub(t, hubConfig(t))
		ctx := context.Background()
		t0 := time.Now().UTC()
		if err := h.Input(ctx, Sensor{Zone: "window", Signal: SigOpen}); err != nil {
			t.Fatal(err)
		}
		openWindow := []Reason{{Zone: "window", Reason: "open"}}
		if s := h.Snapshot(); !reflect.DeepEqual(s.Ready[ModeAway], openWindow) || !s.State.Zones["window"].Open {
			t.Fatalf("before: ready %+v", s.Ready)
		}
		if _, err := h.ChangeConfig(ctx, alice, func(c *Config) error {
			c.Zones = slices.DeleteFunc(c.Zones, func(z Zone) bool { return z.ID == "window" })
			c.Zones = append(c.Zones, Zone{ID: "garage", Name: "Garage", Number: 20, Type: ZonePerimeter})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		s := h.Snapshot()
		wantReady := map[Mode][]Reason{ModeAway: nil, ModeHome: nil, ModeNight: nil, ModeVacation: nil}
		if !reflect.DeepEqual(s.Ready, wantReady) {
			t.Errorf("ready %+v, want %+v", s.Ready, wantReady)
		}
		wantZones := map[string]ZoneState{}
		for _, z := range s.Config.Zones {
			wantZones[z.ID] = ZoneState{}
		}
		if _, ok := wantZones["window"]; ok || len(wantZones) != len(hubConfig(t).Zones) {
			t.Fatalf("configured zones %+v", s.Config.Zones)
		}
		if !reflect.DeepEqual(s.State.Zones, wantZones) {
			t.Errorf("zones %+v, want %+v", s.State.Zones, wantZones)
		}
		events, _, _ := j.stored()
		wantEvents := []Event{
			restartEvent(t0),
			{Seq: 2, Time: t0, Type: EvZoneOpen, Class: ClassRoutine, Zone: "window", State: Disarmed, Who: Actor{Device: "window", Via: ViaSensor}},
			{Seq: 3, Time: t0, Type: EvConfigChanged, Class: ClassArming, State: Disarmed, Who: alice,
				Detail: `zone window removed (name "Window"); zone garage added: name "Garage", number 20, type perimeter`},
		}
		if !reflect.DeepEqual(events, wantEvents) {
			t.Errorf("events\n%+v\nwant\n%+v", events, wantEvents)
		}
		// The stored state has the zones of the new configuration.
		j.mu.Lock()
		stored := j.state.Zones
		j.mu.Unlock()
		if !reflect.DeepEqual(stored, wantZones) {
			t.Errorf("stored zones %+v", stored)
		}
		// Signals of the removed zone are ignored; the new zone blocks arming.
		if err := h.Input(ctx, Sensor{Zone: "garage", Signal: SigOpen}); err != nil {
			t.Fatal(err)
		}
		if r := h.Snapshot().Ready[ModeHome]; !reflect.DeepEqual(r, []Reason{{Zone: "garage", Reason: "open"}}) {
			t.Errorf("ready home %+v", r)
		}
	})
}

// The zone that started a running entry delay cannot be removed: the delay would
// end in an alarm of a zone that is not there.
func TestHubChangeConfigEntryZoneKept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := hubConfig(t)
		cfg.Settings.ExitDelay = map[Mode]Duration{ModeAway: 0}
		h, _, _ := runHub(t, cfg)
		ctx := context.Background()
		if err := h.Do(ctx, Request{Kind: CmdArm, Mode: ModeAway, Cred: Credential{Code: "111111"}, Via: ViaAPI}); err != nil {
			t.Fatal(err)
		}
		if err := h.Input(ctx, Sensor{Zone: "door", Signal: SigOpen}); err != nil {
			t.Fatal(err)
		}
		if st := h.Snapshot().State; st.Name != Pending {
			t.Fatalf("state %s, want pending", st.Name)
		}
		_, err := h.ChangeConfig(ctx, alice, func(c *Config) error {
			c.Zones = c.Zones[1:]
			return nil
		})
		if KindOf(err) != ErrNotAllowed || err.Error() != "hub: change config: zone door started the entry delay that is running: disarm before removing it" {
			t.Errorf("removing the entry zone: %v", err)
		}
		// Another zone may go.
		if _, err := h.ChangeConfig(ctx, alice, func(c *Config) error {
			c.Zones = slices.DeleteFunc(c.Zones, func(z Zone) bool { return z.ID == "hall" })
			return nil
		}); err != nil {
			t.Errorf("removing another zone during the entry delay: %v", err)
		}
	})
}

// A change that changes nothing is answered with the configuration as it is and
// reaches neither the journal nor the subscribers.
func TestHubChangeConfigNoDifference(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, j, _ := runHub(t, hubConfig(t))
		ctx := context.Background()
		snap := h.Snapshot()
		unchanged := same(t, h, j)
		updates, cancel := h.Subscribe(10)
		defer cancel()
		got, err := h.ChangeConfig(ctx, alice, func(c *Config) error {
			c.Settings.SirenDuration = 0 // the default, which it is
			c.Users[0].Name = "Alice"
			return nil
		})
		if err != nil || !reflect.DeepEqual(got, snap.Config) {
			t.Errorf("ChangeConfig: %v, %+v", err, got)
		}
		if h.Snapshot() != snap {
			t.Errorf("the snapshot was replaced")
		}
		unchanged("after the change without a difference")
		synctest.Wait()
		select {
		case u := <-updates:
			t.Errorf("an update went out: %+v", u)
		default:
		}
	})
}

// While commits fail, changes are in force from memory and answered; the next good
// commit stores them, with the latest configuration, in one transaction with their
// events.
func TestHubChangeConfigWhileCommitsFail(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, j, _ := runHub(t, hubConfig(t))
		ctx := context.Background()
		t0 := time.Now().UTC()
		j.setFail(errors.New("disk full"))
		if _, err := h.ChangeConfig(ctx, alice, func(c *Config) error {
			c.Settings.ExitDelay[ModeAway] = Duration(45 * time.Second)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the storage fault is raised
		want, err := h.ChangeConfig(ctx, alice, addUser(t, h, dave, "444444"))
		if err != nil {
			t.Fatal(err)
		}
		s := h.Snapshot()
		if !reflect.DeepEqual(s.Config, want) || s.StorageError == "" || len(want.Users) != 5 || want.Settings.ExitDelay[ModeAway] != Duration(45*time.Second) {
			t.Errorf("while failing: storage error %q, config %+v", s.StorageError, s.Config)
		}
		if _, n, configs := j.stored(); n != 1 || configs != nil {
			t.Fatalf("while failing: %d commits, configs %+v", n, configs)
		}
		j.setFail(nil)
		// The next input's commit carries what is held; the restored storage
		// fault follows in a commit of its own.
		if err := h.Input(ctx, Sensor{Zone: "door", Signal: SigOpen}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		events, n, configs := j.stored()
		if n != 3 || len(configs) != 1 || !reflect.DeepEqual(configs[0], want) {
			t.Errorf("after the disk came back: %d commits, configs %+v, want one commit of %+v", n, configs, want)
		}
		var types []EventType
		var details []string
		for _, e := range events {
			types = append(types, e.Type)
			if e.Type == EvConfigChanged {
				details = append(details, e.Detail)
			}
		}
		wantTypes := []EventType{EvRestart, EvConfigChanged, EvFault, EvConfigChanged, EvZoneOpen, EvFaultRestore}
		wantDetails := []string{"exit delay away 30s → 45s", `user dave added: name "Dave", number 5, role user, PIN set`}
		if !slices.Equal(types, wantTypes) || !slices.Equal(details, wantDetails) {
			t.Errorf("events %v %q, want %v %q", types, details, wantTypes, wantDetails)
		}
		if events[1].Time != t0 || events[1].Who != alice || events[1].Seq != 2 {
			t.Errorf("the first change's event %+v", events[1])
		}
		if s := h.Snapshot(); s.StorageError != "" || !reflect.DeepEqual(s.Config, want) {
			t.Errorf("after the disk came back: storage error %q", s.StorageError)
		}
	})
}

// Outputs added or removed take effect at once: a new ready lamp is lit when the
// system is ready, and one that comes back shows the level of now.
func TestHubChangeConfigLamps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, _, o := runHub(t, hubConfig(t))
		ctx := context.Background()
		if got := o.list(); got != nil {
			t.Fatalf("outputs at start %v", got)
		}
		lamps := func(c *Config) error {
			c.Outputs = append(c.Outputs, Output{ID: "led", Name: "Ready LED", Kind: OutputReady},
				Output{ID: "fault-led", Name: "Fault LED", Kind: OutputFault})
			return nil
		}
		if _, err := h.ChangeConfig(ctx, alice, lamps); err != nil {
			t.Fatal(err)
		}
		if got, want := o.list(), []string{"ready-on", "fault-off"}; !slices.Equal(got, want) {
			t.Errorf("outputs %v, want %v", got, want)
		}
		if _, err := h.ChangeConfig(ctx, alice, func(c *Config) error { c.Outputs = nil; return nil }); err != nil {
			t.Fatal(err)
		}
		if err := h.Input(ctx, Sensor{Zone: "door", Signal: SigOpen}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.ChangeConfig(ctx, alice, lamps); err != nil {
			t.Fatal(err)
		}
		if got, want := o.list(), []string{"ready-on", "fault-off", "ready-off", "fault-off"}; !slices.Equal(got, want) {
			t.Errorf("outputs %v, want %v", got, want)
		}
	})
}

// After a change, the function that made it holds nothing of what the hub runs,
// and neither does the caller of ChangeConfig.
func TestHubChangeConfigNoSharing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, _, _ := runHub(t, hubConfig(t))
		ctx := context.Background()
		var kept *Config
		got, err := h.ChangeConfig(ctx, alice, func(c *Config) error {
			c.Settings.ArmWithoutCode = []string{"ha"}
			kept = c
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		snap := h.Snapshot().Config.Clone()
		kept.Settings.ArmWithoutCode[0] = "mallory"
		kept.Settings.ExitDelay[ModeAway] = 0
		kept.Users[0].Role = RoleGuest
		got.Settings.ArmWithoutCode[0] = "mallory"
		got.Zones[0].Type = ZoneFire
		if s := h.Snapshot().Config; !reflect.DeepEqual(s, snap) {
			t.Errorf("the configuration in force changed under the hub: %+v", s)
		}
	})
}

func TestDescribeConfigChange(t *testing.T) {
	base := func() Config {
		cfg := testConfig()
		cfg.Users[0].PINHash = "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$alicepin"
		cfg.Users[0].PasswordHash = "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$alicepw"
		cfg.Users[1].PINHash = "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$bobpin"
		cfg.Users[1].DuressHash = "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$bobduress"
		cfg.Users[1].Tags = []string{"fob-1"}
		cfg.Users[2].Schedule = []Window{{Days: []time.Weekday{time.Monday}, From: "08:00", To: "17:00"}}
		cfg.Outputs = []Output{{ID: "siren", Name: "Siren", Kind: OutputSiren}, {ID: "bell", Name: "Bell", Kind: OutputChime, Number: 4}}
		return cfg
	}
	tests := []struct {
		name   string
		change func(*Config)
		want   []string
	}{
		{"nothing", func(*Config) {}, nil},
		{"a default made explicit", func(c *Config) { c.Settings.SirenDuration = Duration(3 * time.Minute) }, nil},
		{"an explicit value made default", func(c *Config) { c.Settings.ExitDelay = nil }, []string{"exit delay night 0s → 30s"}},
		{"exit delay", func(c *Config) { c.Settings.ExitDelay[ModeAway] = Duration(45 * time.Second) },
			[]string{"exit delay away 30s → 45s"}},
		{"entry delay", func(c *Config) { c.Settings.EntryDelay[ModeVacation] = Duration(20 * time.Second) },
			[]string{"entry delay vacation 30s → 20s"}},
		{"settings", func(c *Config) {
			c.Settings.PINLength = 4
			c.Settings.LockoutDuration = Duration(5 * time.Minute)
			c.Settings.SwingerLimit = 5
			c.Settings.ArmWithoutCode = []string{"ha", "node red"}
		}, []string{"swinger limit 3 → 5", "PIN length 6 → 4", "lockout duration 1m30s → 5m0s", `arm without code none → "ha","node red"`}},
		{"user added", func(c *Config) {
			c.Users = append(c.Users, User{ID: "dave", Name: "Dave", Number: 5, Role: RoleGuest, PINHash: "$argon2id$x$davepin",
				PasswordHash: "$argon2id$x$davepw", Schedule: []Window{{Days: []time.Weekday{time.Saturday, time.Sunday}, From: "10:00", To: "12:30"}},
				Expires: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)})
		}, []string{`user dave added: name "Dave", number 5, role guest, PIN set, password set, schedule Sat/Sun 10:00–12:30, expires 2026-12-31T00:00:00Z`}},
		{"user added with nothing set", func(c *Config) { c.Users = append(c.Users, User{ID: "eve"}) }, []string{"user eve added"}},
		{"user removed", func(c *Config) { c.Users = slices.Delete(c.Users, 1, 2) }, []string{`user bob removed (name "Bob")`}},
		{"user renamed", func(c *Config) { c.Users[1].Name = "Robert" }, []string{`user bob: name "Bob" → "Robert"`}},
		{"user renumbered", func(c *Config) { c.Users[1].Number = 12 }, []string{"user bob: number 2 → 12"}},
		{"role", func(c *Config) { c.Users[1].Role = RoleAdmin }, []string{"user bob: role user → admin"}},
		{"PIN changed", func(c *Config) { c.Users[1].PINHash = "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$other" }, []string{"user bob: PIN changed"}},
		{"PIN set", func(c *Config) { c.Users[2].PINHash = "$argon2id$x$guspin" }, []string{"user gus: PIN set"}},
		{"PIN removed", func(c *Config) { c.Users[0].PINHash = "" }, []string{"user alice: PIN removed"}},
		{"duress code changed", func(c *Config) { c.Users[1].DuressHash = "$argon2id$x$new" }, []string{"user bob: duress code changed"}},
		{"password changed", func(c *Config) { c.Users[0].PasswordHash = "$argon2id$x$new" }, []string{"user alice: password changed"}},
		{"tags changed", func(c *Config) { c.Users[1].Tags = []string{"fob-1", "fob-2"} }, []string{"user bob: tags changed"}},
		{"tags removed", func(c *Config) { c.Users[1].Tags = nil }, []string{"user bob: tags removed"}},
		{"schedule", func(c *Config) {
			c.Users[2].Schedule = []Window{{Days: []time.Weekday{time.Monday, time.Tuesday}, From: "08:00", To: "18:00"},
				{Days: []time.Weekday{time.Saturday}, From: "10:00", To: "12:00"}}
		}, []string{"user gus: schedule Mon 08:00–17:00 → Mon/Tue 08:00–18:00, Sat 10:00–12:00"}},
		{"schedule removed", func(c *Config) { c.Users[2].Schedule = nil }, []string{"user gus: schedule Mon 08:00–17:00 → none"}},
		{"expiry", func(c *Config) { c.Users[2].Expires = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) },
			[]string{"user gus: expires never → 2026-01-02T03:04:05Z"}},
		{"users reordered", func(c *Config) { c.Users[0], c.Users[1] = c.Users[1], c.Users[0] }, []string{"users: order changed"}},
		{"zone added", func(c *Config) {
			c.Zones = append(c.Zones, Zone{ID: "garage", Name: "Garage", Number: 20, Type: ZoneInstant, Modes: []Mode{ModeAway, ModeNight},
				Delay: DelayDelayed, Chime: true})
		}, []string{`zone garage added: name "Garage", number 20, type instant, modes away,night, delay delayed, chime on`}},
		{"zone removed", func(c *Config) { c.Zones = c.Zones[1:] }, []string{`zone door removed (name "Front door")`}},
		{"zone changed", func(c *Config) {
			c.Zones[1] = Zone{ID: "window", Name: "Bay window", Number: 22, Type: ZoneInstant, Modes: []Mode{ModeAway}, Delay: DelayInstant, Chime: true}
		}, []string{`zone window: name "Window" → "Bay window"`, "zone window: number 2 → 22", "zone window: type perimeter → instant",
			"zone window: modes default → away", "zone window: delay default → instant", "zone window: chime off → on"}},
		{"zone's modes back to default", func(c *Config) { c.Zones[1].Modes = []Mode{}; c.Zones[0].Modes = nil }, nil},
		{"zones reordered", func(c *Config) { slices.Reverse(c.Zones) }, []string{"zones: order changed"}},
		{"output added", func(c *Config) {
			c.Outputs = append(c.Outputs, Output{ID: "flash", Name: "Strobe", Kind: OutputStrobe, Refresh: Duration(time.Minute)})
		}, []string{`output flash added: name "Strobe", kind strobe, refresh 1m0s`}},
		{"output removed", func(c *Config) { c.Outputs = c.Outputs[:1] }, []string{`output bell removed (name "Bell")`}},
		{"output changed", func(c *Config) {
			c.Outputs[1] = Output{ID: "bell", Name: "Chime", Kind: OutputSounder, Confirm: Duration(2 * time.Second)}
		}, []string{`output bell: name "Bell" → "Chime"`, "output bell: kind chime → sounder", "output bell: number 4 → default",
			"output bell: confirm default → 2s"}},
		{"outputs reordered", func(c *Config) { slices.Reverse(c.Outputs) }, []string{"outputs: order changed"}},
		{"one of each, in order", func(c *Config) {
			c.Outputs = nil
			c.Users[0].Role = RoleUser
			c.Zones[0].Chime = true
			c.Settings.ConfirmWindow = Duration(time.Hour)
		}, []string{"confirm window 30m0s → 1h0m0s", "zone door: chime off → on", "user alice: role admin → user",
			`output siren removed (name "Siren")`, `output bell removed (name "Bell")`}},
		{"a user replaced under the same number", func(c *Config) {
			c.Users[1] = User{ID: "robert", Name: "Bob", Number: 2, Role: RoleUser}
		}, []string{`user bob removed (name "Bob")`, `user robert added: name "Bob", number 2, role user`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := base()
			after := before.Clone()
			tc.change(&after)
			got := DescribeConfigChange(before, after)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
			if !reflect.DeepEqual(before, base()) {
				t.Errorf("DescribeConfigChange changed its argument")
			}
			for _, line := range got {
				if strings.Contains(line, "argon2id") || strings.Contains(line, "fob-") {
					t.Errorf("a secret in %q", line)
				}
			}
		})
	}
}

// Every field of the configuration shows in a description when it changes: a
// change of any field is recorded, and none is taken for no change.
func TestDescribeConfigChangeSeesEveryField(t *testing.T) {
	// other returns a value of v's type that differs from v.
	other := func(t *testing.T, v reflect.Value) reflect.Value {
		t.Helper()
		n := reflect.New(v.Type()).Elem()
		switch v.Kind() {
		case reflect.String:
			n.SetString(v.String() + "x")
		case reflect.Int, reflect.Int64:
			n.SetInt(v.Int() + 7)
		case reflect.Bool:
			n.SetBool(!v.Bool())
		case reflect.Slice:
			n.Set(reflect.Append(reflect.MakeSlice(v.Type(), 0, 1), reflect.New(v.Type().Elem()).Elem()))
			if v.Len() == 1 && reflect.DeepEqual(v.Index(0).Interface(), n.Index(0).Interface()) {
				n = reflect.MakeSlice(v.Type(), 0, 0)
			}
		case reflect.Map:
			n.Set(reflect.MakeMap(v.Type()))
			for _, k := range v.MapKeys() {
				n.SetMapIndex(k, v.MapIndex(k))
			}
			k := reflect.ValueOf(ModeNight)
			n.SetMapIndex(k, reflect.ValueOf(v.MapIndex(k).Interface().(Duration)+1))
		case reflect.Struct: // time.Time
			n.Set(reflect.ValueOf(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)))
		default:
			t.Fatalf("no other value for kind %s", v.Kind())
		}
		return n
	}
	base := coreConfig()
	base.Settings = base.Settings.WithDefaults()
	base.Tokens = []Token{
		{ID: "t1", Name: "Hall tablet", Scope: ScopeKeypad, Hash: strings.Repeat("1", 64)},
		{ID: "t2", Name: "Script", Scope: ScopeControl, UserID: "alice", Hash: strings.Repeat("2", 64), Created: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	lists := []string{"Settings", "Zones", "Users", "Outputs", "Tokens"}
	if n := reflect.TypeFor[Config]().NumField(); n != len(lists) {
		t.Fatalf("Config has %d fields, the test walks %d", n, len(lists))
	}
	for _, list := range lists {
		item := reflect.ValueOf(&base).Elem().FieldByName(list)
		if item.Kind() == reflect.Slice {
			item = item.Index(1)
		}
		for i := range item.NumField() {
			name := list + "." + item.Type().Field(i).Name
			if name == "Zones.ID" || name == "Users.ID" || name == "Outputs.ID" || name == "Tokens.ID" {
				continue // a new id is another item: added and removed
			}
			after := base.Clone()
			at := reflect.ValueOf(&after).Elem().FieldByName(list)
			if at.Kind() == reflect.Slice {
				at = at.Index(1)
			}
			f := at.Field(i)
			f.Set(other(t, f))
			if got := DescribeConfigChange(base, after); len(got) != 1 {
				t.Errorf("%s changed to %v: described as %q", name, f.Interface(), got)
			}
		}
	}
}

// A clone shares no slice and no map with its original.
func TestConfigClone(t *testing.T) {
	cfg := hubConfig(t)
	cfg.Settings.ArmWithoutCode = []string{"ha"}
	cfg.Zones[0].Modes = []Mode{ModeAway}
	cfg.Users[0].Tags = []string{"fob-9"}
	cfg.Outputs = []Output{{ID: "siren", Kind: OutputSiren}}
	c := cfg.Clone()
	if !reflect.DeepEqual(c, cfg) {
		t.Fatalf("the clone differs")
	}
	var walk func(path string, a, b reflect.Value)
	seen := 0
	walk = func(path string, a, b reflect.Value) {
		switch a.Kind() {
		case reflect.Slice, reflect.Map:
			if a.Len() == 0 {
				return
			}
			seen++
			if a.UnsafePointer() == b.UnsafePointer() {
				t.Errorf("%s is shared", path)
			}
			if a.Kind() == reflect.Map {
				return // maps of durations hold nothing more
			}
			for i := range a.Len() {
				walk(path+"[]", a.Index(i), b.Index(i))
			}
		case reflect.Struct:
			for i := range a.NumField() {
				if a.Type().Field(i).IsExported() {
					walk(path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i))
				}
			}
		}
	}
	walk("Config", reflect.ValueOf(cfg), reflect.ValueOf(c))
	if seen != 11 {
		t.Errorf("%d slices and maps looked at, want 11", seen)
	}
}
