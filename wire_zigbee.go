package main

import (
	"maps"
	"slices"

	"vakt/hub"
	"vakt/sensors/binding"
)

// zigbeeRemovals adds to an import's removals the Zigbee bindings of kept zones
// and outputs that the new file drops, and the keypads it drops.
func zigbeeRemovals(add func(kind string, oldIDs, newIDs []string),
	kept func(n int, id func(int) string, bound func(string) bool) []string,
	new hub.Config, oldSet, newSet binding.Set) {
	keptZones := func(s binding.Set) []string {
		return kept(len(new.Zones), func(i int) string { return new.Zones[i].ID },
			func(id string) bool { _, ok := s.Zigbee.Zones[id]; return ok })
	}
	keptOutputs := func(s binding.Set) []string {
		return kept(len(new.Outputs), func(i int) string { return new.Outputs[i].ID },
			func(id string) bool { _, ok := s.Zigbee.Outputs[id]; return ok })
	}
	add("the zigbee binding of zone(s)", keptZones(oldSet), keptZones(newSet))
	add("the zigbee binding of output(s)", keptOutputs(oldSet), keptOutputs(newSet))
	add("keypad(s)", slices.Sorted(maps.Keys(oldSet.Zigbee.Keypads)), slices.Sorted(maps.Keys(newSet.Zigbee.Keypads)))
}
