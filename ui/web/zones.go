package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// ZoneBinding is how a zone is bound to its device (Options.Zones): the adapter
// and its binding as the configuration writes it, and for a Zigbee device what
// is known of it (its battery, last message and link quality).
type ZoneBinding struct {
	Adapter string `json:"adapter"` // mqtt, zigbee, gpio
	Binding any    `json:"binding"`
	Device  any    `json:"device,omitempty"`
}

// zoneResource is a zone in GET /zones: the zone, its state flags from the
// hub's snapshot, its binding (null: no device binds it) and its device.
type zoneResource struct {
	zoneView
	Binding *ZoneBinding `json:"binding"`
}

// zones lists every zone with its state, binding and device.
func (s *Server) zones(c echo.Context) error {
	snap := s.opt.Hub.Snapshot()
	var bound map[string]ZoneBinding
	if s.opt.Zones != nil {
		bound = s.opt.Zones()
	}
	out := []zoneResource{}
	for _, z := range snap.Config.Zones {
		r := zoneResource{zoneView: zoneView{ID: z.ID, Name: z.Name, Number: z.Number, Type: z.Type, ZoneState: snap.State.Zones[z.ID]}}
		if b, ok := bound[z.ID]; ok {
			r.Binding = &b
		}
		out = append(out, r)
	}
	return c.JSON(http.StatusOK, out)
}
