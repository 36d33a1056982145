package main

import (
	"vakt/hub/output"
	"vakt/sensors/binding"
	"vakt/ui/web"
)

// outputStates tells the web app what drives each output and what the keeper
// knows of it now.
func outputStates(k *output.Keeper, bindings func() binding.Set) func() []web.OutputState {
	return func() []web.OutputState {
		var out []web.OutputState
		for _, st := range k.Outputs() {
			out = append(out, web.OutputState{ID: st.ID, Bound: boundTo(bindings(), st.ID), On: st.On,
				Feedback: st.Feedback, Known: st.Known, Reported: st.Reported, Detail: st.Detail})
		}
		return out
	}
}

// boundTo names what drives output id: its MQTT topic, Zigbee device or GPIO
// line; empty when nothing does.
func boundTo(set binding.Set, id string) string {
	if b, ok := set.MQTT.Outputs[id]; ok {
		return "mqtt " + b.Topic
	}
	if b, ok := set.Zigbee.Outputs[id]; ok {
		return "zigbee " + b.IEEE
	}
	if b, ok := set.GPIO.Outputs[id]; ok {
		chip := b.Chip
		if chip == "" {
			chip = "gpiochip0"
		}
		return "gpio " + chip + " line " + string(b.Line)
	}
	return ""
}
