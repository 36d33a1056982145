package main

import (
	"slices"

	"vakt/hub"
	"vakt/sensors/binding"
)

// gpioRemovals tells add, for the import check, the gpio bindings of the zones
// and outputs that new keeps but newSet drops, and the power inputs it drops.
func gpioRemovals(add func(kind string, oldIDs, newIDs []string), new hub.Config, oldSet, newSet binding.Set) {
	bound := func(ids []string, has func(string) bool) []string {
		var out []string
		for _, id := range ids {
			if has(id) {
				out = append(out, id)
			}
		}
		return out
	}
	var zones, outputs []string
	for _, z := range new.Zones {
		zones = append(zones, z.ID)
	}
	for _, o := range new.Outputs {
		outputs = append(outputs, o.ID)
	}
	zoneBound := func(s binding.Set) func(string) bool {
		return func(id string) bool { _, ok := s.GPIO.Zones[id]; return ok }
	}
	outBound := func(s binding.Set) func(string) bool {
		return func(id string) bool { _, ok := s.GPIO.Outputs[id]; return ok }
	}
	add("the gpio binding of zone(s)", bound(zones, zoneBound(oldSet)), bound(zones, zoneBound(newSet)))
	add("the gpio binding of output(s)", bound(outputs, outBound(oldSet)), bound(outputs, outBound(newSet)))
	power := func(s binding.Set) []string {
		var out []string
		for id, b := range s.GPIO.Zones {
			if b.Power() {
				out = append(out, id)
			}
		}
		slices.Sort(out)
		return out
	}
	add("power input(s)", power(oldSet), power(newSet))
}
