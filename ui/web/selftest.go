package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"vakt/hub"
	"vakt/storage"
)

// The guided self-test is the monitoring company's test ritual: tell the centre,
// send a test report, arm away, leave within the exit delay, open a door, let the
// siren sound 30 s, see the centre acknowledge the alarm, disarm. The hub ticks
// the steps from what it recorded since the test began (and the uplink's last
// answers); the result is saved as a self_test event.

// sirenTest is how long the siren must sound.
const sirenTest = 30 * time.Second

// selfTestStep is one step: done, and when.
type selfTestStep struct {
	ID   string    `json:"id"`
	Done bool      `json:"done"`
	At   time.Time `json:"at,omitzero"`
	// Skipped: the step does not apply (no monitoring centre).
	Skipped bool `json:"skipped,omitempty"`
}

type selfTestView struct {
	Since  uint64         `json:"since"`
	Steps  []selfTestStep `json:"steps"`
	Passed bool           `json:"passed"`
}

// selfTest works out the steps from the events after since.
func (s *Server) selfTest(since uint64, told bool) (selfTestView, error) {
	v := selfTestView{Since: since}
	var evs []hub.Event
	after := since
	for range 10 {
		page, next, err := s.opt.Events.Events(storage.EventQuery{After: after, Ascending: true, Limit: storage.MaxLimit})
		if err != nil {
			return v, err
		}
		evs = append(evs, page...)
		if next == 0 {
			break
		}
		after = next
	}
	var lastAck time.Time
	centre := s.opt.Uplink != nil
	if centre {
		for _, p := range s.opt.Uplink() {
			if p.LastAck.After(lastAck) {
				lastAck = p.LastAck
			}
		}
	}
	step := map[string]*selfTestStep{}
	order := []string{"told", "test_report", "armed", "left", "entry", "alarm", "siren", "centre_ack", "disarmed"}
	for _, id := range order {
		v.Steps = append(v.Steps, selfTestStep{ID: id})
	}
	for i := range v.Steps {
		step[v.Steps[i].ID] = &v.Steps[i]
	}
	mark := func(id string, at time.Time) {
		if st := step[id]; !st.Done {
			st.Done, st.At = true, at
		}
	}
	step["told"].Done = told
	var alarmAt time.Time
	for _, e := range evs {
		switch {
		case e.Type == hub.EvManualTest && (!centre || !lastAck.Before(e.Time)):
			mark("test_report", e.Time)
		case (e.Type == hub.EvArming || e.Type == hub.EvArmed) && e.Mode == hub.ModeAway:
			mark("armed", e.Time)
			if e.Type == hub.EvArmed {
				mark("left", e.Time)
			}
		case e.Type == hub.EvEntryDelay && step["left"].Done:
			mark("entry", e.Time)
		case e.Type == hub.EvAlarm && step["left"].Done && alarmAt.IsZero():
			mark("alarm", e.Time)
			alarmAt = e.Time
		case (e.Type == hub.EvDisarmed || e.Type == hub.EvSirenCutoff) && !alarmAt.IsZero():
			if e.Time.Sub(alarmAt) >= sirenTest {
				mark("siren", alarmAt.Add(sirenTest))
			}
			if e.Type == hub.EvDisarmed {
				mark("disarmed", e.Time)
			}
		}
	}
	if !alarmAt.IsZero() && !step["siren"].Done && s.opt.Hub.Snapshot().State.Name == hub.Triggered &&
		s.opt.Now().Sub(alarmAt) >= sirenTest {
		mark("siren", alarmAt.Add(sirenTest))
	}
	if !centre {
		step["test_report"].Skipped, step["centre_ack"].Skipped = true, true
	} else if !alarmAt.IsZero() && !lastAck.Before(alarmAt) {
		mark("centre_ack", lastAck)
	}
	v.Passed = true
	for _, st := range v.Steps {
		if !st.Done && !st.Skipped {
			v.Passed = false
		}
	}
	return v, nil
}

// selfTestStart answers the sequence number the test counts from: the newest
// event's.
func (s *Server) selfTestStart(c echo.Context) error {
	evs, _, err := s.opt.Events.Events(storage.EventQuery{Limit: 1})
	if err != nil {
		return err
	}
	var since uint64
	if len(evs) > 0 {
		since = evs[0].Seq
	}
	v, err := s.selfTest(since, false)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func sinceParam(c echo.Context, v string) (uint64, error) {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, apiError(http.StatusBadRequest, string(hub.ErrInvalid), "since must be the sequence number the test began at")
	}
	return n, nil
}

func (s *Server) selfTestGet(c echo.Context) error {
	since, err := sinceParam(c, c.QueryParam("since"))
	if err != nil {
		return err
	}
	v, err := s.selfTest(since, c.QueryParam("told") == "true")
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// selfTestFinish saves the result as an event and answers it.
func (s *Server) selfTestFinish(c echo.Context) error {
	var req struct {
		Since uint64 `json:"since"`
		Told  bool   `json:"told"`
	}
	if err := decode(c, &req); err != nil {
		return err
	}
	v, err := s.selfTest(req.Since, req.Told)
	if err != nil {
		return err
	}
	var done, missing []string
	for _, st := range v.Steps {
		switch {
		case st.Skipped:
		case st.Done:
			done = append(done, st.ID)
		default:
			missing = append(missing, st.ID)
		}
	}
	detail := "done: " + strings.Join(done, ", ")
	if len(done) == 0 {
		detail = "nothing done"
	}
	if len(missing) > 0 {
		detail += "; missing: " + strings.Join(missing, ", ")
	}
	if err := s.opt.Hub.Input(c.Request().Context(), hub.SelfTestResult{Who: actor(c), Passed: v.Passed, Detail: detail}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}
