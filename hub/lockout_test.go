package hub

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// Wrong codes are counted per source: one source cannot lock the others out, and
// all sources together are bounded by a global lock.

var (
	kp2 = Actor{Device: "kp2", Via: ViaKeypad}
	z2m = Actor{Device: "mqtt:zigbee2mqtt/z2m-1", Via: ViaMQTT}
	web = Actor{Device: "10.0.0.5", Via: ViaWeb}
)

// wrongFrom is a wrong code from who, counted against source (empty: the device).
func wrongFrom(who Actor, source string) Refused {
	return Refused{Who: who, Source: source, Reason: RefusedWrongCode, Detail: "wrong PIN"}
}

func rejectedBy(who string) string {
	return `event code_rejected class=tamper state=disarmed who=` + who + ` detail="wrong PIN"`
}

func TestCoreLockoutPerSource(t *testing.T) {
	two := func(c *Config) { c.Settings.LockoutAttempts = 2 } // six lock all sources
	runCases(t, []coreCase{
		{name: "a device account's wrong codes lock that account only",
			moves: []move{
				{0, wrongFrom(z2m, "mqtt:zigbee2mqtt"), lines(rejectedBy("mqtt:zigbee2mqtt/z2m-1/mqtt"))},
				{second, wrongFrom(z2m, "mqtt:zigbee2mqtt"), lines(
					rejectedBy("mqtt:zigbee2mqtt/z2m-1/mqtt"),
					`event lockout class=tamper state=disarmed who=mqtt:zigbee2mqtt/z2m-1/mqtt detail="code entry from mqtt:zigbee2mqtt refused for 1m30s"`,
					`report 1461 zone=0`,
				)},
				stateIs(
					`name=disarmed`,
					`lockout failures=2 window=+0s until zero`,
					`lockout mqtt:zigbee2mqtt failures=0 window=zero until +1m31s`,
				),
				// The owner's right code at a keypad works, and resets only the
				// keypad's count (it had none).
				{2 * second, Command{Kind: CmdArm, Mode: ModeNight, Who: bob, Role: RoleUser, ByCode: true}, lines(
					`event armed class=arming mode=night state=armed_night who=bob`,
					`report 3401 zone=2`,
					`result ok`,
				)},
				// At the lock's end the state says so, and the log.
				{time.Minute + 31*second, Tick{}, lines(
					`event lockout_end class=tamper state=armed_night who=system detail="code entry from mqtt:zigbee2mqtt allowed again"`,
				)},
			},
			tweak: two,
			state: lines(
				`name=armed_night mode=night by=bob`,
				`lockout failures=2 window=+0s until zero`,
			)},
		{name: "wrong codes spread over sources lock every interface",
			tweak: two,
			moves: []move{
				{0, wrongFrom(keypad, ""), lines(rejectedBy("kp1/keypad"))},
				{second, wrongFrom(kp2, ""), lines(rejectedBy("kp2/keypad"))},
				{2 * second, wrongFrom(web, ""), lines(rejectedBy("10.0.0.5/web"))},
				{3 * second, wrongFrom(z2m, "mqtt:zigbee2mqtt"), lines(rejectedBy("mqtt:zigbee2mqtt/z2m-1/mqtt"))},
				{4 * second, wrongFrom(Actor{Device: "10.0.0.6", Via: ViaWeb}, ""), lines(rejectedBy("10.0.0.6/web"))},
				{5 * second, wrongFrom(Actor{Device: "10.0.0.7", Via: ViaWeb}, ""), lines(
					rejectedBy("10.0.0.7/web"),
					`event lockout class=tamper state=disarmed who=10.0.0.7/web detail="code entry refused on every interface for 1m30s"`,
					`report 1461 zone=0`,
				)},
				stateIs(
					`name=disarmed`,
					`lockout failures=0 window=zero until +1m35s`,
					`lockout keypad:kp1 failures=1 window=+0s until zero`,
					`lockout keypad:kp2 failures=1 window=+1s until zero`,
					`lockout mqtt:zigbee2mqtt failures=1 window=+3s until zero`,
					`lockout web:10.0.0.5 failures=1 window=+2s until zero`,
					`lockout web:10.0.0.6 failures=1 window=+4s until zero`,
					`lockout web:10.0.0.7 failures=1 window=+5s until zero`,
				),
				{time.Minute, Tick{}, lines()},
				{time.Minute + 35*second, Tick{}, lines(
					`event lockout_end class=tamper state=disarmed who=system detail="code entry allowed again on every interface"`,
				)},
				// After the window, a source's stale count is forgotten at its next
				// wrong code.
				{20 * time.Minute, wrongFrom(keypad, ""), lines(rejectedBy("kp1/keypad"))},
			},
			state: lines(
				`name=disarmed`,
				`lockout failures=1 window=+20m0s until zero`,
				`lockout keypad:kp1 failures=1 window=+20m0s until zero`,
			)},
		{name: "a source that locks as the global count is reached: both logged and reported",
			tweak: two,
			moves: []move{
				{0, wrongFrom(kp2, ""), lines(rejectedBy("kp2/keypad"))},
				{second, wrongFrom(web, ""), lines(rejectedBy("10.0.0.5/web"))},
				{2 * second, wrongFrom(z2m, "mqtt:zigbee2mqtt"), lines(rejectedBy("mqtt:zigbee2mqtt/z2m-1/mqtt"))},
				{3 * second, wrongFrom(keypad, ""), lines(rejectedBy("kp1/keypad"))},
				{4 * second, wrongFrom(Actor{Device: "10.0.0.6", Via: ViaWeb}, ""), lines(rejectedBy("10.0.0.6/web"))},
				{5 * second, wrongFrom(keypad, ""), lines(
					rejectedBy("kp1/keypad"),
					`event lockout class=tamper state=disarmed who=kp1/keypad detail="code entry from keypad:kp1 refused for 1m30s"`,
					`report 1461 zone=0`,
					`event lockout class=tamper state=disarmed who=kp1/keypad detail="code entry refused on every interface for 1m30s"`,
					`report 1461 zone=0`,
				)},
				{time.Minute + 35*second, Tick{}, lines(
					`event lockout_end class=tamper state=disarmed who=system detail="code entry allowed again on every interface"`,
					`event lockout_end class=tamper state=disarmed who=system detail="code entry from keypad:kp1 allowed again"`,
				)},
			},
			// The sources' counts run on in their windows.
			state: lines(
				`name=disarmed`,
				`lockout keypad:kp2 failures=1 window=+0s until zero`,
				`lockout mqtt:zigbee2mqtt failures=1 window=+2s until zero`,
				`lockout web:10.0.0.5 failures=1 window=+1s until zero`,
				`lockout web:10.0.0.6 failures=1 window=+4s until zero`,
			)},
	})
}

func TestLockoutDeadlines(t *testing.T) {
	cfg := coreConfig()
	c := NewCore(cfg)
	st := c.InitialState()
	for i := range 10 {
		st, _ = c.Apply(t0.Add(time.Duration(i)*second), st, wrongFrom(z2m, "mqtt:zigbee2mqtt"))
	}
	// The lock's end is a deadline of the hub's timer.
	if got := c.NextDeadline(st); !got.Equal(t0.Add(99 * second)) {
		t.Errorf("next deadline %s, want +1m39s", off(got))
	}
	for _, tc := range []struct {
		source string
		at     time.Duration
		until  time.Duration // from t0; -1: not locked
	}{
		{"mqtt:zigbee2mqtt", 10 * second, 99 * second},
		{"mqtt:zigbee2mqtt", 99*second - 1, 99 * second},
		{"mqtt:zigbee2mqtt", 99 * second, -1},
		{"keypad:kp1", 10 * second, -1},
		{"web:10.0.0.5", 10 * second, -1},
	} {
		until, locked := st.Lockout.LockedFor(tc.source, t0.Add(tc.at))
		if want := tc.until >= 0; locked != want || locked && !until.Equal(t0.Add(tc.until)) {
			t.Errorf("%s at %s: locked=%v until %s, want locked=%v until %s", tc.source, off(t0.Add(tc.at)),
				locked, off(until), want, off(t0.Add(tc.until)))
		}
	}
	if got := st.Lockout.LockedSources(); !slices.Equal(got, []string{"mqtt:zigbee2mqtt"}) {
		t.Errorf("locked sources %v", got)
	}
}

// The finding: ten wrong codes on vakt/command from the zigbee2mqtt account locked
// the admin's right PIN on every interface. Now they lock that account only, until
// the lock ends, which the state shows at that moment.
func TestHubDeviceAccountCannotLockOwnerOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j, o := &memJournal{}, &memOutputs{}
		cfg := hubConfig(t)
		cfg.Settings.ExitDelay = map[Mode]Duration{}
		h, stop := start(t, cfg, nil, j, o)
		defer stop()
		ctx := context.Background()
		fromZ2M := func(code string) error {
			return h.Do(ctx, Request{Kind: CmdDisarm, Cred: Credential{Code: code}, Via: ViaMQTT,
				Device: "mqtt:zigbee2mqtt/z2m", Source: "mqtt:zigbee2mqtt"})
		}
		for i := range 10 {
			if err := fromZ2M("000000"); KindOf(err) != ErrBadCode {
				t.Fatalf("wrong code %d: %v", i, err)
			}
		}
		if err := fromZ2M("111111"); KindOf(err) != ErrLocked {
			t.Fatalf("the locked account's right code: %v", err)
		}
		// Another client id of the same account is the same source.
		err := h.Do(ctx, Request{Kind: CmdDisarm, Cred: Credential{Code: "111111"}, Via: ViaMQTT,
			Device: "mqtt:zigbee2mqtt/other", Source: "mqtt:zigbee2mqtt"})
		if KindOf(err) != ErrLocked {
			t.Fatalf("the locked account with another client id: %v", err)
		}
		if err := h.Do(ctx, Request{Kind: CmdArm, Mode: ModeNight, Cred: Credential{Code: "111111"}, Via: ViaKeypad, Device: "kp1"}); err != nil {
			t.Fatalf("the admin's right PIN at the keypad: %v", err)
		}
		if got := h.Snapshot().State.Lockout.LockedSources(); !slices.Equal(got, []string{"mqtt:zigbee2mqtt"}) {
			t.Errorf("locked sources %v", got)
		}
		time.Sleep(90 * time.Second)
		synctest.Wait()
		if got := h.Snapshot().State.Lockout.LockedSources(); len(got) != 0 {
			t.Errorf("still locked at the lock's end: %v", got)
		}
		var types []EventType
		var codes []Code
		for _, e := range j.events {
			types = append(types, e.Type)
		}
		for _, r := range j.reports {
			codes = append(codes, r.Code)
		}
		want := append([]EventType{EvRestart}, slices.Repeat([]EventType{EvCodeRejected}, 10)...)
		want = append(want, EvLockout, EvCodeRefusedLocked, EvCodeRefusedLocked, EvArming, EvArmed, EvLockoutEnd)
		if !slices.Equal(types, want) {
			t.Errorf("events %v\nwant %v", types, want)
		}
		if !slices.Equal(codes, []Code{CodeSystemReset, CodeWrongCode, CodeOpenClose}) {
			t.Errorf("reports %v", codes)
		}
		if err := fromZ2M("111111"); err != nil {
			t.Errorf("after the lock: %v", err)
		}
	})
}
