package webhook

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the dispatcher's Prometheus collectors.
type metrics struct {
	attempts       *prometheus.CounterVec
	latency        prometheus.Histogram
	queued         prometheus.Gauge
	inFlight       prometheus.Gauge
	disabled       *prometheus.CounterVec
	skipped        *prometheus.CounterVec
	failed         prometheus.Counter
	retries        *prometheus.CounterVec
	recordsDropped prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clickstream_webhook_attempts_total",
			Help: "Webhook delivery attempts by outcome: success, retryable, rejected, gone, refused, or deferred when the webhook's queue kept the request from being sent (one per deferral).",
		}, []string{"outcome"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "clickstream_webhook_attempt_duration_seconds",
			Help:    "Duration of webhook requests, from dialling to reading the response body.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15},
		}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "clickstream_webhook_queue_depth",
			Help: "Deliveries waiting in the per-webhook queues.",
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "clickstream_webhook_requests_in_flight",
			Help: "Webhook requests being sent.",
		}),
		disabled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clickstream_webhook_disabled_total",
			Help: "Webhooks disabled by the dispatcher, by reason: gone (HTTP 410) or consecutive_failures.",
		}, []string{"reason"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clickstream_webhook_skipped_total",
			Help: "Deliveries not sent and not tried again, by reason: deleted webhook or invalid record (dropped), disabled webhook or queue_full after too many deferrals (written to the failed topic).",
		}, []string{"reason"}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "clickstream_webhook_failed_total",
			Help: "Deliveries that failed for good, a 410 included, and were written to the failed topic.",
		}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clickstream_webhook_retries_scheduled_total",
			Help: "Deliveries written to a retry topic, by retry step.",
		}, []string{"step"}),
		recordsDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "clickstream_webhook_attempt_records_dropped_total",
			Help: "Delivery attempts that could not be handed to the delivery log.",
		}),
	}

	if reg == nil {
		return m, nil
	}
	collectors := []prometheus.Collector{m.attempts, m.latency, m.queued, m.inFlight, m.disabled, m.skipped, m.failed, m.retries, m.recordsDropped}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering webhook metrics: %w", err)
		}
	}
	return m, nil
}
