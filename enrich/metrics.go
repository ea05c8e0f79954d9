package enrich

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the enrichment metrics. Every Enricher registering on the same
// registry shares the same collectors.
type metrics struct {
	// buildTime is the BuildEpoch of each loaded database, by database
	// ("city" or "asn").
	buildTime *prometheus.GaugeVec
	// reloads counts database opens after a file change, by database and
	// result ("ok" or "error").
	reloads *prometheus.CounterVec
	// lookupErrors counts lookups that failed on a corrupt database.
	lookupErrors *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		reg = prometheus.DefaultRegisterer
	}

	m := &metrics{
		buildTime: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "clickstream",
			Subsystem: "enrich",
			Name:      "geoip_build_timestamp_seconds",
			Help:      "Build time of the loaded GeoIP database as a Unix timestamp, from its metadata.",
		}, []string{"database"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "clickstream",
			Subsystem: "enrich",
			Name:      "geoip_reloads_total",
			Help:      "GeoIP database reopens after the file changed, by result.",
		}, []string{"database", "result"}),
		lookupErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "clickstream",
			Subsystem: "enrich",
			Name:      "geoip_lookup_errors_total",
			Help:      "GeoIP lookups that failed because the database is corrupt.",
		}, []string{"database"}),
	}

	var err error
	if m.buildTime, err = register(reg, m.buildTime); err != nil {
		return nil, err
	}
	if m.reloads, err = register(reg, m.reloads); err != nil {
		return nil, err
	}
	if m.lookupErrors, err = register(reg, m.lookupErrors); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector registered before under the
// same name so that several Enrichers can share one registry.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}

	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		if existing, ok := already.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, fmt.Errorf("registering enrichment metrics: %w", err)
}
