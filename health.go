package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"vakt/hub"
	"vakt/hub/uplink"
	"vakt/storage"
)

func httpHandler(h *hub.Hub, up *uplink.Uplink) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		s := h.Snapshot()
		body := map[string]any{"status": "ok", "state": s.State.Name, "storage": "ok"}
		code := http.StatusOK
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
