package uplink

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"vakt/hub"
	"vakt/hub/uplink/receiver"
	"vakt/hub/uplink/sia"
)

// BenchmarkRoundTrip measures one report: encode, send over loopback TCP, the
// receiver decodes and ACKs, the ACK is read and matched.
func BenchmarkRoundTrip(b *testing.B) {
	for _, bc := range []struct {
		name string
		key  string
	}{{"plain", ""}, {"aes128", hexKey}} {
		b.Run(bc.name, func(b *testing.B) {
			var key *sia.Key
			if bc.key != "" {
				key = mustKey(b, bc.key, sia.KeyHex)
			}
			r, err := receiver.New(receiver.Config{TCPAddr: "127.0.0.1:0",
				Accounts: []receiver.Account{{ID: "1234", Key: key}}}, nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := r.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			go func() {
				for range r.Events() {
				}
			}()
			defer r.Close()

			p := path("primary", r.TCPAddr().String())
			p.Key, p.KeyFormat = bc.key, sia.KeyHex
			cfg, err := Config{Paths: []Path{p}}.normalize()
			if err != nil {
				b.Fatal(err)
			}
			p = cfg.Paths[0]
			ps := &pathState{cfg: p}
			l := newLink(p, key, clock{now: time.Now, after: time.After}, nil, nil, slog.New(slog.DiscardHandler))
			defer l.close()
			ctx := context.Background()
			zone := 0
			b.ReportAllocs()
			for b.Loop() {
				zone = zone%999 + 1
				m, err := ps.reportMessage(hub.Report{Code: 130, Qualifier: 1, Partition: 1, Zone: zone})
				if err != nil {
					b.Fatal(err)
				}
				if res := l.exchange(ctx, m, 0); res.out != outACK {
					b.Fatalf("%v: %v", res.out, res.err)
				}
			}
		})
	}
}
