package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"vakt/hub"
	"vakt/hub/uplink"
	"vakt/storage"
)

// httpHandler serves /healthz: the state, every active fault, the journal, the
// uplink's paths. It answers 503 while the journal cannot be written, and says
// "degraded" while any fault is active or any zone's device is offline. /devices lists the Zigbee devices
// (devices' document).
func httpHandler(h *hub.Hub, up *uplink.Uplink, store *storage.Store, reports *hub.ReportQueue, devices func() any) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /devices", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(devices())
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		s := h.Snapshot()
		body := map[string]any{"status": "ok", "state": s.State.Name, "storage": "ok"}
		code := http.StatusOK
		faults := []string{}
		for f, on := range s.State.Faults {
			if on {
				faults = append(faults, f.String())
			}
		}
		slices.Sort(faults)
		body["faults"] = faults
		offline := []string{}
		for id, z := range s.State.Zones {
			if z.Offline {
				offline = append(offline, id)
			}
		}
		slices.Sort(offline)
		body["zones_offline"] = offline // devices lost or offline
		if len(faults) > 0 || len(offline) > 0 {
			body["status"] = "degraded"
		}
		journal := map[string]any{"held_reports": reports.Held()}
		if evs, reps, err := store.Sequences(); err == nil {
			journal["last_seq"], journal["last_report"] = evs, reps
		}
		body["journal"] = journal
		if up != nil {
			paths := up.Status()
			body["uplink"] = paths
			for _, p := range paths {
				if p.State == uplink.StateLost {
					body["status"] = "degraded"
				}
			}
		}
		if s.StorageError != "" {
			body["status"], body["storage"] = "degraded", s.StorageError
			code = http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(body)
	})
	return mux
}

// prune applies the retention policy at start and then daily.
func prune(ctx context.Context, store *storage.Store, h *hub.Hub, log *slog.Logger) error {
	for {
		s := h.Snapshot().Config.Settings
		n, err := store.Prune(time.Now(), storage.Retention{MaxEvents: s.RetentionEvents, MaxAge: s.RetentionAge.D(), KeepMandatory: 1000})
		if err != nil {
			log.Error("retention: prune failed", "err", err)
		} else if n > 0 {
			log.Info("retention: pruned events", "removed", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(24 * time.Hour):
		}
	}
}
