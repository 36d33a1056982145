package main

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"vakt/hub"
	"vakt/hub/uplink"
	"vakt/storage"
)

// health answers /healthz: the state, every active fault, the journal, the
// uplink's paths. It answers 503 while the journal cannot be written, and says
// "degraded" while any fault is active or any zone's device is offline. The web
// server shows only the status to a request without a session.
func health(h *hub.Hub, up *uplink.Uplink, store *storage.Store, reports *hub.ReportQueue) func() (int, map[string]any) {
	return func() (int, map[string]any) {
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
		return code, body
	}
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
