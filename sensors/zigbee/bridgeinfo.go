package zigbee

import (
	"encoding/json"

	"vakt/hub"
)

// Zigbee2MQTT's output mode. With advanced.output: attribute, Zigbee2MQTT
// publishes each property on a topic of its own and no JSON state: Vakt would
// hear nothing from any sensor. The retained bridge/info says the mode; while it
// is attribute, FaultBridge is raised with the subject "<base>/output" (every
// Zigbee device's state is unknown to Vakt), restored when it is json or
// attribute_and_json.

// outputFaultSubject is the subject of the fault of a wrong output mode.
func (a *Adapter) outputFaultSubject() string { return a.base + "/output" }

// bridgeInfo reads bridge/info. a.mu is held.
func (a *Adapter) bridgeInfo(payload []byte) {
	if len(payload) == 0 || len(payload) > MaxDevicesPayload {
		return
	}
	var info struct {
		Config struct {
			Advanced struct {
				Output *string `json:"output"`
			} `json:"advanced"`
		} `json:"config"`
	}
	if err := json.Unmarshal(payload, &info); err != nil {
		a.log.Warn("zigbee: bridge/info ignored", "err", err)
		return
	}
	out := info.Config.Advanced.Output
	if out == nil {
		return // not said: nothing to go by
	}
	bad := *out == "attribute"
	if bad == a.attrOnly {
		return
	}
	a.attrOnly = bad
	detail := "Zigbee2MQTT publishes JSON state (advanced.output: " + *out + ")"
	if bad {
		detail = "Zigbee2MQTT publishes no JSON state (advanced.output: attribute): Vakt hears no Zigbee sensor; set advanced.output: json"
		a.log.Error("zigbee: " + detail)
	} else {
		a.log.Info("zigbee: " + detail)
	}
	a.post(hub.Fault{ID: hub.FaultID{Kind: FaultBridge, Subject: a.outputFaultSubject()}, Active: bad, Detail: detail})
}
