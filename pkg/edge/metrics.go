package edge

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
)

const metricsNamespace = "clickstream_edge"

// serverMetrics are the metrics of the HTTP side of the edge.
type serverMetrics struct {
	redirects         *prometheus.CounterVec
	truncated         *prometheus.CounterVec
	sanitized         *prometheus.CounterVec
	forwardedInvalid  prometheus.Counter
	ingestRequests    *prometheus.CounterVec
	ingestLines       *prometheus.CounterVec
	publisherRejected prometheus.Counter
	requestsRejected  *prometheus.CounterVec

	// redirected is redirects{status="302"}, looked up once because every
	// redirect counts it.
	redirected prometheus.Counter
}

func newServerMetrics() *serverMetrics {
	m := &serverMetrics{
		redirects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "redirects_total",
			Help: "Short-link requests answered, by HTTP status code (302, 404, 410).",
		}, []string{"status"}),
		truncated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "hits_truncated_total",
			Help: "Hits whose field (ua, referer, url) was cut to the raw hit length limit.",
		}, []string{"field"}),
		sanitized: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "hits_invalid_utf8_total",
			Help: "Hits whose field (ua, referer, url) had invalid UTF-8 replaced with U+FFFD.",
		}, []string{"field"}),
		forwardedInvalid: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "forwarded_for_invalid_total",
			Help: "Requests from a trusted proxy whose X-Forwarded-For had an entry that is not an IP address; the peer address was used.",
		}),
		ingestRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "ingest_requests_total",
			Help: "POST /v1/hits requests, by HTTP status code.",
		}, []string{"status"}),
		ingestLines: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "ingest_lines_total",
			Help: "NDJSON lines of POST /v1/hits, by result (accepted, rejected).",
		}, []string{"result"}),
		publisherRejected: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "publisher_rejected_total",
			Help: "Hits the publisher returned an error for; the publisher's own metrics say why.",
		}),
		requestsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "requests_rejected_total",
			Help: "Requests answered with an error before any handler ran because they could not be read, by HTTP status code: 400 malformed, 408 read timed out, 431 headers over edge.maxHeaderBytes.",
		}, []string{"status"}),
	}
	m.redirected = m.redirects.WithLabelValues(statusLabel(http.StatusFound))
	return m
}

func (m *serverMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.redirects, m.truncated, m.sanitized, m.forwardedInvalid,
		m.ingestRequests, m.ingestLines, m.publisherRejected, m.requestsRejected}
}

// publisherMetrics are the metrics of KafkaPublisher.
type publisherMetrics struct {
	enqueued        prometheus.Counter
	spooled         *prometheus.CounterVec
	published       *prometheus.CounterVec
	dropped         *prometheus.CounterVec
	publishErrors   prometheus.Counter
	publishDuration prometheus.Histogram
	spoolCorrupt    prometheus.Counter
}

func newPublisherMetrics() *publisherMetrics {
	return &publisherMetrics{
		enqueued: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "hits_enqueued_total",
			Help: "Hits put on the in-memory queue.",
		}),
		spooled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "hits_spooled_total",
			Help: "Hits written to the disk spool, by reason (queue_full, kafka_busy, kafka_failed, shutdown).",
		}, []string{"reason"}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "hits_published_total",
			Help: "Hits acknowledged by Kafka, by source (queue, spool).",
		}, []string{"source"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "hits_dropped_total",
			Help: "Hits lost, by reason (spool_full, spool_error, closed). Any increase is data loss.",
		}, []string{"reason"}),
		publishErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "publish_errors_total",
			Help: "Kafka produce requests that failed; their hits went to the spool.",
		}),
		publishDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: metricsNamespace, Name: "publish_duration_seconds",
			Help:    "Duration of one Kafka produce request of a batch, failures included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}),
		spoolCorrupt: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "spool_corrupt_bytes_total",
			Help: "Bytes of spool segments that could not be read back (a torn or damaged record) and were skipped.",
		}),
	}
}

func (m *publisherMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.enqueued, m.spooled, m.published, m.dropped,
		m.publishErrors, m.publishDuration, m.spoolCorrupt}
}

// register registers cs on reg; a nil reg registers nothing.
func register(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	if reg == nil {
		return nil
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			var already prometheus.AlreadyRegisteredError
			if errors.As(err, &already) {
				return fmt.Errorf("registering edge metrics: %w: is a second edge using the same registry?", err)
			}
			return fmt.Errorf("registering edge metrics: %w", err)
		}
	}
	return nil
}
