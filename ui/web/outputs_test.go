package web

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"vakt/hub"
	"vakt/hub/output"
)

// relays is a driver whose devices are always there.
type relays struct{}

func (relays) Drive(hub.Output, output.Level) error { return nil }
func (relays) Reachable(hub.Output) bool            { return true }

// The outputs resource, with a real output keeper: what drives each output, the
// level wanted, what the device says, and the output failed fault since when.
func TestOutputsList(t *testing.T) {
	cfg := testConfig(t)
	cfg.Outputs = []hub.Output{
		{ID: "siren", Name: "Outdoor siren", Kind: hub.OutputSiren},
		{ID: "strobe", Name: "Strobe", Kind: hub.OutputStrobe, Number: 7},
		{ID: "chime", Name: "Hall chime", Kind: hub.OutputChime},
	}
	k := output.New(cfg.Outputs, output.Options{Drivers: map[string]output.Driver{"siren": relays{}, "chime": relays{}},
		Feedback: func(o hub.Output) bool { return o.ID == "siren" }})
	bound := map[string]string{"siren": "mqtt test/siren", "chime": "gpio gpiochip0 line 17"}
	s := startSystem(t, cfg, func(h *hub.Options, w *Options) {
		if h != nil {
			h.Outputs = k
		}
		if w != nil {
			w.Outputs = func() []OutputState {
				var out []OutputState
				for _, st := range k.Outputs() {
					out = append(out, OutputState{ID: st.ID, Bound: bound[st.ID], On: st.On, Feedback: st.Feedback,
						Known: st.Known, Reported: st.Reported, Detail: st.Detail})
				}
				return out
			}
		}
	})
	updates, unsub := s.h.Subscribe(64)
	defer unsub()
	k.SetHub(s.h)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = k.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	// The strobe has no adapter: its fault comes from the keeper's first look.
	strobe := hub.FaultID{Kind: hub.FaultOutput, Subject: "strobe"}
	for !s.h.Snapshot().State.Faults[strobe] {
		select {
		case <-updates:
		case <-time.After(10 * time.Second):
			t.Fatal("no fault for the strobe")
		}
	}
	a := s.login(t, "alice", "alice-pass")
	var got []outputView
	if code := a.do("GET", "/api/v1/outputs", nil, &got); code != http.StatusOK {
		t.Fatalf("outputs: %d", code)
	}
	same(t, "outputs", got, []outputView{
		{ID: "siren", Name: "Outdoor siren", Kind: hub.OutputSiren, Number: 1, Bound: "mqtt test/siren", Want: "off", Device: "unknown"},
		{ID: "strobe", Name: "Strobe", Kind: hub.OutputStrobe, Number: 7, Want: "off", Device: "no_feedback", Failed: true, Since: t0,
			Detail: "no adapter binds it: it can never sound"},
		{ID: "chime", Name: "Hall chime", Kind: hub.OutputChime, Number: 3, Bound: "gpio gpiochip0 line 17", Want: "off", Device: "no_feedback"},
	})
	// The siren's device reports on while the hub wants it off.
	k.Feedback("siren", true)
	a.do("GET", "/api/v1/outputs", nil, &got)
	if got[0].Device != "disagrees" {
		t.Fatalf("siren reporting on: %+v", got[0])
	}
	k.Feedback("siren", false)
	a.do("GET", "/api/v1/outputs", nil, &got)
	if got[0].Device != "agrees" {
		t.Fatalf("siren reporting off: %+v", got[0])
	}
	// Guests see the keypad only.
	if code := s.login(t, "gus", "gus-pass").do("GET", "/api/v1/outputs", nil, nil); code != http.StatusForbidden {
		t.Fatalf("a guest's outputs: %d", code)
	}
}
