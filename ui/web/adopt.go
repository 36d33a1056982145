package web

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"vakt/hub"
)

// AdoptRequest is POST /api/v1/devices/{ieee}/adopt: the device becomes one of
// a zone (with its property and check-in interval, both optional), an output
// (with its warning mode) or a keypad.
type AdoptRequest struct {
	Zone     string       `json:"zone,omitempty"`
	Property string       `json:"property,omitempty"`
	CheckIn  hub.Duration `json:"checkin,omitempty"`
	// ClearAfter is a motion or vibration zone's clear rule.
	ClearAfter hub.Duration `json:"clear_after,omitempty"`
	Output     string       `json:"output,omitempty"`
	Mode       string       `json:"mode,omitempty"`
	// Squawk: the siren chirps at arming and disarming.
	Squawk bool   `json:"squawk,omitempty"`
	Keypad string `json:"keypad,omitempty"`
}

// Devices is what the devices routes need (optional, Options.Zigbee): adopting
// and releasing a device while the hub runs. Each answers a line for people,
// or an *hub.Error.
type Devices interface {
	Adopt(ctx context.Context, ieee string, r AdoptRequest, who hub.Actor) (string, error)
	Release(ctx context.Context, ieee string, who hub.Actor) (string, error)
}

// adopt binds a Zigbee device to a zone, an output or as a keypad (admins).
func (s *Server) adopt(c echo.Context) error {
	if s.opt.Zigbee == nil {
		return apiError(http.StatusNotFound, "not_found", "no Zigbee2MQTT adapter here")
	}
	var r AdoptRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	msg, err := s.opt.Zigbee.Adopt(c.Request().Context(), c.Param("ieee"), r, actor(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"message": msg})
}

// release unbinds a Zigbee device from everything it is bound to (admins).
func (s *Server) release(c echo.Context) error {
	if s.opt.Zigbee == nil {
		return apiError(http.StatusNotFound, "not_found", "no Zigbee2MQTT adapter here")
	}
	msg, err := s.opt.Zigbee.Release(c.Request().Context(), c.Param("ieee"), actor(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"message": msg})
}
