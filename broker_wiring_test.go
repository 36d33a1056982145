package main

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestRetainedCommandsNotKeptAcrossRestart: the hub passes its command topic and
// every output's command topic to the broker, which keeps no retained message on
// them; other retained messages survive the restart.
func TestRetainedCommandsNotKeptAcrossRestart(t *testing.T) {
	_, args := setup(t)
	p := startHub(t, args...)
	c := dialMQTT(t, p.mqtt, "tester", "tester-pass")
	c.pub(t, "vakt/command", `{"command":"DISARM","code":"135790"}`, true)
	c.pub(t, "test/siren", "ON", true)
	c.pub(t, "test/other", "kept", true)
	c.pub(t, "sentinel/end", "end", true)
	p.stop(t)

	p = startHub(t, args...)
	defer p.stop(t)
	c = dialMQTT(t, p.mqtt, "tester", "tester-pass")
	// One SUBSCRIBE: mochi replays the retained messages filter by filter, in order.
	c.sub(t, "test/#", "vakt/command", "sentinel/end")
	var got []string
	deadline := time.After(20 * time.Second)
	for {
		select {
		case m := <-c.msgs:
			if !m.Retain {
				continue // the hub's live output commands
			}
			got = append(got, fmt.Sprintf("%s %s", m.Topic, m.Payload))
		case <-deadline:
			t.Fatalf("no sentinel; got %q", got)
		}
		if len(got) > 0 && got[len(got)-1] == "sentinel/end end" {
			break
		}
	}
	if want := []string{"test/other kept", "sentinel/end end"}; !slices.Equal(got, want) {
		t.Fatalf("retained after restart %q, want %q", got, want)
	}
}
