package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"vakt/ui/notify"
)

var (
	descNotifySent = prometheus.NewDesc("vakt_notify_sent_total",
		"Notifications the target took (a 2xx answer).", []string{"target"}, nil)
	descNotifyFailures = prometheus.NewDesc("vakt_notify_failures_total",
		"Failed attempts to deliver to the target, by reason: network (no answer, a timeout), http_4xx, http_5xx, http_other, invalid.",
		[]string{"target", "reason"}, nil)
	descNotifyRefused = prometheus.NewDesc("vakt_notify_refused_total",
		"Notifications given up after a 4xx answer (not retried).", []string{"target"}, nil)
	descNotifyDropped = prometheus.NewDesc("vakt_notify_dropped_total",
		"Notifications dropped from the target's full queue.", []string{"target"}, nil)
	descNotifySkipped = prometheus.NewDesc("vakt_notify_skipped_total",
		"Notifications skipped within the target's min_interval.", []string{"target"}, nil)
	descNotifyLost = prometheus.NewDesc("vakt_notify_lost_total",
		"Notifications not delivered when the hub stopped.", []string{"target"}, nil)
	descNotifyQueue = prometheus.NewDesc("vakt_notify_queue",
		"Notifications waiting for the target (not the one being sent).", []string{"target"}, nil)
	descNotifyTrouble = prometheus.NewDesc("vakt_notify_trouble",
		"1 while the target is in trouble (the fault notify:<target>).", []string{"target"}, nil)
)

// SetNotify registers the notification targets' figures, read from the
// senders at each scrape. Call it once, before Handler serves; none for no
// senders.
func (m *Metrics) SetNotify(senders []*notify.Sender) {
	if len(senders) > 0 {
		m.reg.MustRegister(notifyCollector(senders))
	}
}

type notifyCollector []*notify.Sender

func (c notifyCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descNotifySent, descNotifyFailures, descNotifyRefused, descNotifyDropped,
		descNotifySkipped, descNotifyLost, descNotifyQueue, descNotifyTrouble} {
		ch <- d
	}
}

func (c notifyCollector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	for _, s := range c {
		st, name := s.Stats(), s.Name()
		counter(descNotifySent, st.Sent, name)
		for r, n := range st.Failures {
			counter(descNotifyFailures, n, name, notify.Reason(r).String())
		}
		counter(descNotifyRefused, st.Refused, name)
		counter(descNotifyDropped, st.Dropped, name)
		counter(descNotifySkipped, st.Skipped, name)
		counter(descNotifyLost, st.Lost, name)
		gauge(ch, descNotifyQueue, float64(st.Queued), name)
		gauge(ch, descNotifyTrouble, b2f(st.Trouble), name)
	}
}
