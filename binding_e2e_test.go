package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"
)

// An output that no adapter binds can never sound: the running hub shows it as
// failed from the start (no boot grace), next to a bound siren that is not.
func TestUnboundOutputIsFailedAtStart(t *testing.T) {
	domain := domainYAML + "  - {id: sounder, name: Sounder, kind: sounder}\n"
	_, args := setupIn(t, t.TempDir(), domain)
	p := startHub(t, args...)
	defer p.stop(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var h struct {
			Status string   `json:"status"`
			Faults []string `json:"faults"`
		}
		resp, err := sockGet(p.data, "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&h)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if slices.Equal(h.Faults, []string{"output:sounder"}) && h.Status == "degraded" && resp.StatusCode == http.StatusOK {
			return
		}
		// Polled until the keeper's first check has posted the fault; any other
		// fault, or none by the deadline, is wrong.
		if len(h.Faults) > 0 || time.Now().After(deadline) {
			t.Fatalf("healthz %d %s %q; want degraded with the fault output:sounder only", resp.StatusCode, h.Status, h.Faults)
		}
	}
}
