package zigbee

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"slices"
	"time"

	"vakt/hub"
)

// Panel is the hub as keypads see it: the code check (Do), the state, and its
// updates.
type Panel interface {
	Do(ctx context.Context, r hub.Request) error
	Snapshot() *hub.Snapshot
	Subscribe(buf int) (<-chan hub.Update, func())
}

// dedupeFor is how long a keypad's repeated transaction number is taken as a
// retry of the same request.
const dedupeFor = 10 * time.Second

type kpRequest struct {
	ieee, id, name string
	action, code   string
	transaction    *int
}

type kpSent struct {
	tx int
	at time.Time
}

type keypads struct {
	queue  chan kpRequest
	recent map[string]kpSent // last transaction by ieee
	mode   map[string]string // panel mode last sent, by ieee
	state  *hub.State        // the hub state last seen
	// refreshAt: an exit delay longer than a keypad can count (255 s) is sent
	// as 255 s and again from this time on (zero: none).
	refreshAt time.Time
}

// maxPanelDelay is the longest delay a keypad's panel status takes.
const maxPanelDelay = 255 * time.Second

func newKeypads() *keypads {
	return &keypads{queue: make(chan kpRequest, 16), recent: map[string]kpSent{}, mode: map[string]string{}}
}

// pub is a publish made after a.mu is released.
type pub struct {
	topic   string
	payload []byte
}

// keypadAction handles a keypad's action. a.mu is held.
func (a *Adapter) keypadAction(ieee string, r *dev, s StateMsg) {
	id := a.keypads[ieee]
	switch s.Action {
	case "disarm", "arm_day_zones", "arm_night_zones", "arm_all_zones", "emergency", "panic":
	default:
		return
	}
	if id == "" {
		a.warnOnce("keypad:"+ieee, "zigbee: action from a keypad that is not bound ignored", "ieee", ieee,
			"device", r.info.FriendlyName, "action", s.Action)
		return
	}
	now := a.now()
	if s.Transaction != nil {
		if last, ok := a.kp.recent[ieee]; ok && last.tx == *s.Transaction && now.Sub(last.at) < dedupeFor {
			a.log.Info("zigbee: keypad request repeated, ignored", "keypad", id, "transaction", *s.Transaction)
			return
		}
		a.kp.recent[ieee] = kpSent{*s.Transaction, now}
	}
	source := "keypad:" + ieee
	switch s.Action {
	case "emergency", "panic":
		a.log.Warn("zigbee: panic from keypad", "keypad", id, "device", r.info.FriendlyName)
		a.post(hub.Command{Kind: hub.CmdPanic, Who: hub.Actor{Device: id, Via: hub.ViaKeypad}, Source: source})
		return
	}
	req := kpRequest{ieee: ieee, id: id, name: r.info.FriendlyName, action: s.Action, code: s.Code, transaction: s.Transaction}
	select {
	case a.kp.queue <- req:
	default:
		a.log.Error("zigbee: keypad requests queue full, request dropped", "keypad", id, "action", s.Action)
	}
}

// kpDo checks a keypad's arm or disarm request with the hub and answers it.
func (a *Adapter) kpDo(ctx context.Context, r kpRequest) {
	req := hub.Request{Cred: hub.Credential{Code: r.code}, Via: hub.ViaKeypad, Device: r.id, Source: "keypad:" + r.ieee}
	if r.code == "" && r.transaction == nil {
		// A fob has no keys for a code: it acts as the user whose tags list its
		// IEEE address, through the same check (and lockout) as every credential.
		req.Cred, req.Via = hub.Credential{Tag: r.ieee}, hub.ViaFob
	}
	switch r.action {
	case "disarm":
		req.Kind = hub.CmdDisarm
	case "arm_all_zones":
		req.Kind, req.Mode = hub.CmdArm, hub.ModeAway
	case "arm_day_zones":
		req.Kind, req.Mode = hub.CmdArm, hub.ModeHome
	case "arm_night_zones":
		req.Kind, req.Mode = hub.CmdArm, hub.ModeNight
	}
	reply := r.action
	if req.Kind == hub.CmdDisarm && a.panel.Snapshot().State.Name == hub.Disarmed {
		reply = "already_disarmed"
	} else {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := a.panel.Do(ctx, req)
		cancel()
		if err != nil {
			reply = replyFor(err)
			a.log.Warn("zigbee: keypad request refused", "keypad", r.id, "action", r.action, "reply", reply, "err", err)
		}
	}
	if r.transaction == nil {
		return // a fob: Zigbee2MQTT answered it already
	}
	payload, _ := json.Marshal(map[string]any{"arm_mode": map[string]any{"mode": reply, "transaction": *r.transaction}})
	a.publish(a.base+"/"+r.name+"/set", payload)
}

// replyFor is the keypad's answer to a refused request.
func replyFor(err error) string {
	var he *hub.Error
	if errors.As(err, &he) {
		switch he.Kind {
		case hub.ErrNotReady:
			return "not_ready"
		case hub.ErrNotAllowed:
			return "not_ready"
		}
	}
	return "invalid_code"
}

func (a *Adapter) publish(topic string, payload []byte) {
	if err := a.bus.Publish(topic, payload, false); err != nil {
		a.log.Error("zigbee: publish", "topic", topic, "err", err)
	}
}

// panelMode is the keypad panel status for hub state st at now.
func panelMode(st hub.State, now time.Time) (mode string, delay int) {
	secs := func(t time.Time) int {
		return int(min(255, max(0, math.Ceil(t.Sub(now).Seconds()))))
	}
	switch st.Name {
	case hub.Disarmed:
		return "disarm", -1
	case hub.Arming:
		return "exit_delay", secs(st.ExitDeadline)
	case hub.ArmedAway, hub.ArmedVacation:
		return "arm_all_zones", -1
	case hub.ArmedHome:
		return "arm_day_zones", -1
	case hub.ArmedNight:
		return "arm_night_zones", -1
	case hub.Pending:
		return "entry_delay", secs(st.EntryDeadline)
	case hub.Triggered:
		return "in_alarm", -1
	}
	return "", -1
}

// kpState queues the panel status for every keypad whose status changed. a.mu
// is held.
func (a *Adapter) kpState(st hub.State) {
	if a.kp == nil {
		return
	}
	a.kp.state = &st
	now := a.now()
	mode, delay := panelMode(st, now)
	if mode == "" {
		return
	}
	a.kp.refreshAt = time.Time{}
	if mode == "exit_delay" && st.ExitDeadline.Sub(now) > maxPanelDelay {
		a.kp.refreshAt = st.ExitDeadline.Add(-maxPanelDelay)
	}
	for _, ieee := range slices.Sorted(maps.Keys(a.keypads)) {
		if a.kp.mode[ieee] == mode {
			continue
		}
		r := a.devs[ieee]
		if r == nil || r.info == nil || !r.info.Panel {
			continue
		}
		a.kp.mode[ieee] = mode
		am := map[string]any{"mode": mode}
		if delay >= 0 {
			am["delay"] = delay
		}
		payload, _ := json.Marshal(map[string]any{"arm_mode": am})
		a.pubs = append(a.pubs, pub{a.base + "/" + r.info.FriendlyName + "/set", payload})
	}
}

// kpRefresh sends the exit delay again once the time left fits a keypad, and
// returns when to look again (zero: nothing pending). a.mu is held.
func (a *Adapter) kpRefresh(now time.Time) time.Time {
	if a.kp == nil || a.kp.refreshAt.IsZero() || a.kp.state == nil {
		return time.Time{}
	}
	if now.Before(a.kp.refreshAt) {
		return a.kp.refreshAt
	}
	a.kpResendAll()
	return a.kp.refreshAt
}

// kpResendAll sends every keypad its panel status again (Zigbee2MQTT keeps it
// in memory only). a.mu is held.
func (a *Adapter) kpResendAll() {
	if a.kp == nil || a.kp.state == nil {
		return
	}
	clear(a.kp.mode)
	a.kpState(*a.kp.state)
}

// kpResendNew sends the panel status to keypads that had none (they were not in
// bridge/devices yet). a.mu is held.
func (a *Adapter) kpResendNew() {
	if a.kp != nil && a.kp.state != nil {
		a.kpState(*a.kp.state)
	}
}
