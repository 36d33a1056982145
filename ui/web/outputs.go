package web

import (
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"vakt/hub"
)

// OutputState is what the adapters and the output keeper know of one output
// (Options.Outputs).
type OutputState struct {
	ID string
	// Bound names what drives it ("mqtt siren/set", "zigbee 0x…", "gpio
	// gpiochip0 17"); empty: no adapter binds it.
	Bound string
	// On is the level the hub wants now.
	On bool
	// Feedback: the device reports its level; Known: it has since the start;
	// Reported: what it said last.
	Feedback, Known, Reported bool
	// Detail is why the keeper failed it, if it did.
	Detail string
}

// outputView is one output in GET /api/v1/outputs.
type outputView struct {
	ID     string         `json:"id"`
	Name   string         `json:"name"`
	Kind   hub.OutputKind `json:"kind"`
	Number int            `json:"number"`
	// Bound names what drives it; empty: nothing (it can never sound).
	Bound string `json:"bound"`
	// Want is the level the hub wants now: on or off.
	Want string `json:"want"`
	// Device is what the device says: agrees, disagrees, unknown (no report
	// yet) or no_feedback (it does not report its level).
	Device string `json:"device"`
	// Failed: the output's fault is active, since Since, for Detail.
	Failed bool      `json:"failed"`
	Since  time.Time `json:"since,omitzero"`
	Detail string    `json:"detail,omitempty"`
}

// outputs answers every configured output: what drives it, the level the hub
// wants, whether the device agrees, and the output failed fault with since when.
func (s *Server) outputs(c echo.Context) error {
	snap := s.opt.Hub.Snapshot()
	var live []OutputState
	if s.opt.Outputs != nil {
		live = s.opt.Outputs()
	}
	out := []outputView{}
	var faults []troubleFault
	for i, o := range snap.Config.Outputs {
		v := outputView{ID: o.ID, Name: o.Name, Kind: o.Kind, Number: o.Number, Want: "off", Device: "no_feedback"}
		if v.Number == 0 {
			v.Number = i + 1
		}
		if j := slices.IndexFunc(live, func(l OutputState) bool { return l.ID == o.ID }); j >= 0 {
			l := live[j]
			v.Bound, v.Detail = l.Bound, l.Detail
			if l.On {
				v.Want = "on"
			}
			switch {
			case !l.Feedback:
			case !l.Known:
				v.Device = "unknown"
			case l.Reported == l.On:
				v.Device = "agrees"
			default:
				v.Device = "disagrees"
			}
		} else if slices.Contains(snap.State.Sounding, o.Kind) {
			v.Want = "on"
		}
		id := hub.FaultID{Kind: hub.FaultOutput, Subject: o.ID}
		if v.Failed = snap.State.Faults[id]; v.Failed {
			faults = append(faults, troubleFault{ID: id.String()})
		} else {
			v.Detail = ""
		}
		out = append(out, v)
	}
	s.faultsSince(faults)
	for _, f := range faults {
		for i := range out {
			if out[i].Failed && string(hub.FaultOutput)+":"+out[i].ID == f.ID {
				out[i].Since = f.Since
				if out[i].Detail == "" {
					out[i].Detail = f.Detail
				}
			}
		}
	}
	return c.JSON(http.StatusOK, out)
}
