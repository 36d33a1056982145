package mqttapi

import (
	"context"
	"strings"
	"testing"

	"vakt/hub"
)

// cutHub lets the test end the API's subscription as the hub ends a subscriber
// that falls behind: by closing its channel.
type cutHub struct {
	Hub
	cut chan func() // the cancel of each subscription, in order
}

func (c cutHub) Subscribe(buf int) (<-chan hub.Update, func()) {
	ch, cancel := c.Hub.Subscribe(buf)
	c.cut <- cancel
	return ch, cancel
}

// An API the hub drops as too slow subscribes again and publishes the state
// (the updates it missed may have changed it), then goes on publishing.
func TestDroppedAPIRepublishes(t *testing.T) {
	c := cutHub{cut: make(chan func(), 4)}
	s := startSystem(t, sysConfig(t), "zigbee2mqtt", func(h Hub) Hub { c.Hub = h; return c })
	(<-c.cut)()
	got := s.settle(t)
	if err := s.h.Input(context.Background(), hub.Sensor{Zone: "living", Signal: hub.SigOpen}); err != nil {
		t.Fatal(err)
	}
	got = append(got, s.settle(t)...)
	const ready = `"ready":{"away":true,"home":true,"night":true,"vacation":true},"not_ready_reasons":{"away":null,"home":null,"night":null,"vacation":null}`
	want := []string{
		`vakt/state disarmed`,
		`vakt/attributes {"state":"disarmed","open_sensors":[],"bypassed_sensors":[],` + ready + `,"locked_out":false,"locked_out_sources":[]}`,
		`vakt/attributes {"state":"disarmed","open_sensors":["living"],"bypassed_sensors":[],"ready":{"away":false,"home":true,"night":true,"vacation":false},` +
			`"not_ready_reasons":{"away":[{"zone":"living","reason":"open"}],"home":null,"night":null,"vacation":[{"zone":"living","reason":"open"}]},"locked_out":false,"locked_out_sources":[]}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
	if n := len(c.cut); n != 1 {
		t.Errorf("%d subscriptions after the drop, want 1", n)
	}
}
