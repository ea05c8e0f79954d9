package worker

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the worker's Prometheus collectors.
type Metrics struct {
	hits         *prometheus.CounterVec
	deliveries   prometheus.Counter
	retries      *prometheus.CounterVec
	batchSeconds prometheus.Histogram
}

// NewMetrics creates the collectors and registers them on reg when it is not nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		hits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clickstream_worker_hits_total",
			Help: "Hits committed, by result: stored or dead_letter.",
		}, []string{"result"}),
		deliveries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "clickstream_worker_webhook_deliveries_total",
			Help: "Webhook delivery records produced.",
		}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clickstream_worker_retries_total",
			Help: "Failed attempts of a batch step that were retried, by step.",
		}, []string{"step"}),
		batchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "clickstream_worker_batch_seconds",
			Help:    "Time from the first decode to the commit of a batch.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}),
	}
	if reg != nil {
		reg.MustRegister(m.hits, m.deliveries, m.retries, m.batchSeconds)
	}
	return m
}
