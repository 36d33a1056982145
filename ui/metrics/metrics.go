// Package metrics exports the hub's figures in Prometheus's text format with
// client_golang: the state, the active faults, the uplink's paths and queue, the
// events by type, the alarm path's timings (an input to its outputs switched,
// a journal commit), and the notification targets' deliveries (SetNotify).
//
// The state, faults and paths are read from the hub at each scrape; the events
// are counted from the hub's updates by Run, which the owner starts and stops
// with its context; the timings come through hub.Options.Metrics. Silent events
// (duress, silent panic) are never counted: a scrape must not reveal them.
package metrics

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"vakt/hub"
	"vakt/hub/uplink"
	"vakt/storage"
)

// Hub is what the metrics read of the hub.
type Hub interface {
	Snapshot() *hub.Snapshot
	Subscribe(buf int) (<-chan hub.Update, func())
}

// Metrics is the registry and the hub's timing sink (hub.Metrics).
type Metrics struct {
	reg      *prometheus.Registry
	switched prometheus.Histogram
	commit   prometheus.Histogram
	commitN  prometheus.Histogram
	failed   prometheus.Counter
	events   *prometheus.CounterVec
	paths    func() []uplink.PathStatus
	// The subscription SetHub made, for Run.
	follow *hub.Follow
}

// New returns the metrics; paths (optional) gives the uplink's path states at
// each scrape. Set the hub with SetHub before the first scrape.
func New(paths func() []uplink.PathStatus) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	// Latency buckets from 50 µs to about 3 s: a siren's switch is sub-millisecond,
	// an SD card's commit can stall for seconds.
	buckets := prometheus.ExponentialBuckets(50e-6, 2, 17)
	m.switched = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "vakt_input_to_outputs_seconds",
		Help: "Time from an input reaching the hub to its outputs switched, for inputs that switched outputs.", Buckets: buckets})
	m.commit = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "vakt_journal_commit_seconds",
		Help: "Duration of one journal transaction (group commit).", Buckets: buckets})
	m.commitN = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "vakt_journal_commit_events",
		Help: "Events written by one journal transaction.", Buckets: prometheus.ExponentialBuckets(1, 4, 9)})
	m.failed = prometheus.NewCounter(prometheus.CounterOpts{Name: "vakt_journal_commit_failures_total",
		Help: "Journal transactions that failed (the storage fault)."})
	m.events = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vakt_events_total",
		Help: "Events recorded since the start, by type (silent events are not counted)."}, []string{"type"})
	m.reg.MustRegister(m.switched, m.commit, m.commitN, m.failed, m.events,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.paths = paths
	return m
}

// Switched records an input's time to its outputs (hub.Metrics).
func (m *Metrics) Switched(d time.Duration) { m.switched.Observe(d.Seconds()) }

// Committed records a journal transaction (hub.Metrics).
func (m *Metrics) Committed(d time.Duration, n int, err error) {
	m.commit.Observe(d.Seconds())
	m.commitN.Observe(float64(n))
	if err != nil {
		m.failed.Inc()
	}
}

// SetHub registers the collector of the hub's state, faults and paths, and
// subscribes to its events. Call it once, before the hub runs (so the restart's
// own events are counted) and before Handler serves.
func (m *Metrics) SetHub(h Hub) {
	m.reg.MustRegister(&stateCollector{h: h, paths: m.paths})
	m.follow = hub.NewFollow(h.Subscribe, 1024)
}

// ReadBackFrom has Run read from the journal r the events it misses when the
// hub drops its subscription as too slow. Call it after SetHub, before the hub
// runs: the events in r now are not counted.
func (m *Metrics) ReadBackFrom(r storage.EventReader) error {
	top, err := storage.Top(r)
	if err != nil {
		return fmt.Errorf("metrics: read the journal: %w", err)
	}
	m.follow.ReadBack(top, storage.ReadBackFunc(r, nil, readBackMax))
	return nil
}

// readBackMax bounds how far back (in journal numbers) Run reads what it missed.
const readBackMax = 20 * storage.MaxLimit

// Run counts the hub's events until ctx ends. A subscription the hub drops as
// too slow is made again, and the events in between are read from the journal
// (ReadBackFrom; without it they are not counted).
func (m *Metrics) Run(ctx context.Context) error {
	m.follow.Run(ctx, func(u hub.Update) {
		for _, e := range u.Events {
			if !e.Silent {
				m.events.WithLabelValues(string(e.Type)).Inc()
			}
		}
	}, nil)
	return nil
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

var (
	descState = prometheus.NewDesc("vakt_state", "1 for the hub's current state, 0 for the others.", []string{"state"}, nil)
	descFault = prometheus.NewDesc("vakt_fault_active", "1 for each active system fault.", []string{"fault"}, nil)
	descZone  = prometheus.NewDesc("vakt_zone", "1 when the zone's condition holds (open, tamper, offline, low_battery, bypassed, isolated).",
		[]string{"zone", "condition"}, nil)
	descReady = prometheus.NewDesc("vakt_ready", "1 when the system is ready to arm in the mode.", []string{"mode"}, nil)
	descPath  = prometheus.NewDesc("vakt_uplink_path_up", "1 while the path to the monitoring centre is working.", []string{"path"}, nil)
	descQueue = prometheus.NewDesc("vakt_uplink_queue", "Reports waiting to be delivered over the path.", []string{"path"}, nil)
)

// stateCollector reads the hub at each scrape.
type stateCollector struct {
	h     Hub
	paths func() []uplink.PathStatus
}

var states = []hub.StateName{hub.Disarmed, hub.Arming, hub.ArmedAway, hub.ArmedHome, hub.ArmedNight,
	hub.ArmedVacation, hub.Pending, hub.Triggered}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descState, descFault, descZone, descReady, descPath, descQueue} {
		ch <- d
	}
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.h.Snapshot()
	for _, st := range states {
		gauge(ch, descState, b2f(s.State.Name == st), string(st))
	}
	for f, on := range s.State.Faults {
		if on {
			gauge(ch, descFault, 1, f.String())
		}
	}
	for _, z := range s.Config.Zones {
		zs := s.State.Zones[z.ID]
		for _, cond := range []struct {
			name string
			on   bool
		}{{"open", zs.Open}, {"tamper", zs.Tamper}, {"offline", zs.Offline}, {"low_battery", zs.LowBattery},
			{"bypassed", zs.Bypassed}, {"isolated", zs.Isolated}} {
			gauge(ch, descZone, b2f(cond.on), z.ID, cond.name)
		}
	}
	for _, m := range hub.Modes {
		gauge(ch, descReady, b2f(len(s.Ready[m]) == 0), string(m))
	}
	if c.paths != nil {
		for _, p := range c.paths() {
			gauge(ch, descPath, b2f(p.State == uplink.StateOK), p.Name)
			gauge(ch, descQueue, float64(p.Queue), p.Name)
		}
	}
}
