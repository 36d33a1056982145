package hub

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// An open tamper zone (a panel lid, a tamper loop) is a tamper, not an open zone:
// that is the reason not to arm, and its closing records the tamper's restore.
func TestCoreTamperZoneReasons(t *testing.T) {
	runCases(t, []coreCase{
		{name: "an open tamper zone refuses arming as a tamper",
			moves: []move{
				{0, open_("lid"), lines(
					`out sounder on`,
					`event zone_open class=routine zone=lid state=disarmed who=lid/sensor`,
					`event tamper class=tamper zone=lid state=triggered who=lid/sensor`,
					`report 1383 zone=8 alarm`,
				)},
				{second, disarm(alice, RoleAdmin), lines(
					`out sounder off`,
					`event alarm_cancel class=alarm zone=lid state=triggered who=alice`,
					`report 1406 zone=1`,
					`result ok`,
				)},
				{2 * second, arm(ModeNight), lines(
					`event arm_refused class=arming mode=night state=disarmed who=alice reasons=lid:tamper`,
					`result not_ready reasons=lid:tamper`,
				)},
				{3 * second, close_("lid"), lines(
					`event zone_closed class=routine zone=lid state=disarmed who=lid/sensor`,
					`event tamper_restore class=tamper zone=lid state=disarmed who=lid/sensor`,
					`report 3383 zone=8`,
				)},
				{4 * second, arm(ModeNight), lines(
					`event armed class=arming mode=night state=armed_night who=alice`,
					`report 3401 zone=1`,
					`result ok`,
				)},
			},
			state: lines(`name=armed_night mode=night by=alice`)},
		{name: "a forced arming does not bypass an open tamper zone",
			moves: []move{
				{0, cmdBy(CmdMaintenanceStart, alice, RoleAdmin), lines(
					`event maintenance_start class=tamper state=disarmed who=alice detail="tamper alarms suppressed until 2026-11-26T04:00:00Z"`,
					`result ok`,
				)},
				{second, open_("lid"), lines(
					`event zone_open class=routine zone=lid state=disarmed who=lid/sensor`,
					`event tamper class=tamper zone=lid state=disarmed who=lid/sensor detail="suppressed: maintenance by Alice via api"`,
				)},
				{2 * second, open_("window"), lines(
					`event zone_open class=routine zone=window state=disarmed who=window/sensor`,
				)},
				{3 * second, force(ModeNight, alice, RoleAdmin), lines(
					`event maintenance_end class=tamper state=disarmed who=alice detail="ended by arming"`,
					`event arm_forced class=arming mode=night state=disarmed who=alice reasons=window:open,lid:tamper zones=window`,
					`report 1570 zone=2`,
					`event armed class=arming mode=night state=armed_night who=alice`,
					`report 3401 zone=1`,
					`result ok`,
				)},
			},
			state: lines(
				`name=armed_night mode=night by=alice`,
				`zone window open bypassed forced`,
				`zone lid open`,
			)},
	})
}

// A command without a code (an account in arm_without_code) arms a disarmed system
// and nothing else.
func TestCoreArmWithoutCode(t *testing.T) {
	ha := Actor{Device: "mqtt:homeassistant/ha", Via: ViaMQTT}
	noCode := func(m Mode, force bool) Command {
		return Command{Kind: CmdArm, Mode: m, Force: force, Who: ha, Source: "mqtt:homeassistant", NoCode: true}
	}
	runCases(t, []coreCase{
		{name: "arms a disarmed system, named by its account",
			moves: []move{
				{0, noCode(ModeNight, false), lines(
					`event armed class=arming mode=night state=armed_night who=mqtt:homeassistant/ha/mqtt`,
					`report 3401 zone=0`,
					`result ok`,
				)},
				{second, noCode(ModeHome, false), lines(
					`result not_allowed`,
				)},
			},
			state: lines(`name=armed_night mode=night by=mqtt:homeassistant/ha/mqtt`)},
		{name: "never forces",
			moves: []move{
				{0, open_("window"), lines(`event zone_open class=routine zone=window state=disarmed who=window/sensor`)},
				{second, noCode(ModeNight, true), lines(`result not_allowed`)},
			},
			state: lines(`name=disarmed`, `zone window open`)},
	})
}

// The hub's log lines of a refused and a forced arming name the zones and reasons;
// other lines have neither.
func TestHubLogsArmingReasons(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		log := slog.New(slog.NewTextHandler(&buf, nil))
		cfg := hubConfig(t)
		cfg.Settings.ExitDelay[ModeNight] = 0
		h := New(Options{Config: cfg, Journal: &memJournal{}, Outputs: &memOutputs{}, Location: time.UTC, Log: log})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = h.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()
		in := func(i Input) {
			if err := h.Input(context.Background(), i); err != nil {
				t.Fatal(err)
			}
		}
		in(Sensor{Zone: "window", Signal: SigOpen})
		in(Sensor{Zone: "hall", Signal: SigTamper})
		in(Command{Kind: CmdDisarm, Who: alice, Role: RoleAdmin})
		if err := h.Input(context.Background(), Command{Kind: CmdArm, Mode: ModeNight, Who: alice, Role: RoleAdmin}); KindOf(err) != ErrNotReady {
			t.Fatalf("arming: %v", err)
		}
		in(Command{Kind: CmdArm, Mode: ModeNight, Force: true, Who: alice, Role: RoleAdmin})
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			if strings.Contains(l, "type=arm") {
				got = append(got, regexp.MustCompile(`^time=\S+ `).ReplaceAllString(l, ""))
			}
		}
		want := []string{
			`level=INFO msg=event type=arm_refused zone="" state=disarmed who="Alice via api" detail="" reasons="window: open, hall: tamper"`,
			`level=INFO msg=event type=arm_forced zone="" state=disarmed who="Alice via api" detail="" reasons="window: open, hall: tamper" zones=window`,
			`level=INFO msg=event type=armed zone="" state=armed_night who="Alice via api" detail=""`,
		}
		if !slices.Equal(got, want) {
			t.Errorf("log lines:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
		}
	})
}
