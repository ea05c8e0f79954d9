package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/clickstream/clickstream/enrich"
	"github.com/clickstream/clickstream/pkg/catalog"
	"github.com/clickstream/clickstream/pkg/changefeed"
	"github.com/clickstream/clickstream/pkg/edge"
	"github.com/clickstream/clickstream/pkg/kafka"
	"github.com/clickstream/clickstream/pkg/subscription"
	"github.com/clickstream/clickstream/pkg/worker"
	"github.com/clickstream/clickstream/sinks/clickhouse"
	"github.com/clickstream/clickstream/sinks/webhook"
)

// runtime holds what the stages of one process share.
type runtime struct {
	cfg      Config
	log      *zap.Logger
	metrics  *prometheus.Registry
	catalog  *catalog.Catalog
	webhooks *subscription.Registry

	// Set by followFeeds for the feeds the process follows.
	webhookFeed  *changefeed.Feed
	catalogFeed  *changefeed.Feed
	webhookStore *subscription.Store
}

// setup loads the configuration, the logger and the seed files.
func setup(cfgPath string) (*runtime, error) {
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return nil, err
	}
	log, err := newLogger(cfg.Log)
	if err != nil {
		return nil, err
	}

	cat, err := catalog.LoadFile(cfg.Catalog.File)
	if err != nil {
		return nil, fmt.Errorf("catalog.file: %w", err)
	}
	hooks, err := subscription.LoadFile(cfg.Webhooks.File)
	if err != nil {
		return nil, fmt.Errorf("webhooks.file: %w", err)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	log.Info("configuration loaded", zap.String("file", cfgPath), zap.Int("resources", cat.Len()),
		zap.Int("webhooks", len(hooks.List(""))), zap.Strings("brokers", cfg.Kafka.Brokers))
	return &runtime{cfg: cfg, log: log, metrics: reg, catalog: cat, webhooks: hooks}, nil
}

// ensureTopics creates the hits, dead-letter and webhook-events topics and
// the compacted webhooks and catalog topics.
func (rt *runtime) ensureTopics(ctx context.Context) error {
	k := rt.cfg.Kafka
	return retryStartup(ctx, rt.log, "creating Kafka topics", func(ctx context.Context) error {
		err := kafka.EnsureTopics(ctx, k,
			kafka.TopicSpec{Name: k.Topics.Hits},
			kafka.TopicSpec{Name: k.Topics.DLQ},
			kafka.TopicSpec{Name: k.Topics.WebhookEvents})
		if err != nil {
			return err
		}
		return changefeed.EnsureTopics(ctx, k, k.Topics.Webhooks, k.Topics.Catalog)
	})
}

// openClickHouse connects, retrying while the server starts, and runs the
// migrations when migrate is set.
func (rt *runtime) openClickHouse(ctx context.Context, migrate bool) (*clickhouse.Client, error) {
	var ch *clickhouse.Client
	err := retryStartup(ctx, rt.log, "connecting to ClickHouse", func(ctx context.Context) error {
		var err error
		ch, err = clickhouse.Open(ctx, rt.cfg.ClickHouse, rt.log)
		return err
	})
	if err != nil {
		return nil, err
	}
	if migrate {
		if err := ch.Migrate(ctx); err != nil {
			ch.Close()
			return nil, fmt.Errorf("migrating ClickHouse: %w", err)
		}
	}
	return ch, nil
}

// retryStartup runs op until it succeeds, for at most a minute, so that a
// stage started together with its services waits for them.
func retryStartup(ctx context.Context, log *zap.Logger, what string, op func(context.Context) error) error {
	deadline := time.Now().Add(time.Minute)
	for attempt := 1; ; attempt++ {
		err := op(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		log.Warn("startup step failed, retrying", zap.String("step", what), zap.Int("attempt", attempt), zap.Error(err))
		select {
		case <-time.After(2 * time.Second):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// newEnricher opens the GeoIP databases and registers the enricher's metrics.
func (rt *runtime) newEnricher() (*enrich.Enricher, error) {
	return rt.newEnricherWith(rt.metrics)
}

// newEnricherWith builds an enricher from the enrich section that registers
// its metrics on reg.
func (rt *runtime) newEnricherWith(reg prometheus.Registerer) (*enrich.Enricher, error) {
	cfg := rt.cfg.Enrich
	cfg.Registerer = reg
	return enrich.New(cfg, rt.log)
}

// newWorker builds a worker writing to ch.
func (rt *runtime) newWorker(ch *clickhouse.Client, en *enrich.Enricher) (*worker.Worker, func(), error) {
	k := rt.cfg.Kafka
	events := kafka.NewWriter(k, k.Topics.WebhookEvents, kafka.WriterOptions{}, rt.log)
	dlq := kafka.NewWriter(k, k.Topics.DLQ, kafka.WriterOptions{}, rt.log)
	w, err := worker.New(rt.cfg.Worker, k, worker.Deps{
		Enricher: en, Store: chStore{ch}, Catalog: rt.catalog, Webhooks: rt.webhooks,
		Events: events, DLQ: dlq, Log: rt.log, Metrics: worker.NewMetrics(rt.metrics),
	})
	if err != nil {
		events.Close()
		dlq.Close()
		return nil, nil, err
	}
	return w, func() { events.Close(); dlq.Close() }, nil
}

// newDispatcher builds a dispatcher that logs attempts to ch and, when the
// process follows the webhooks feed, writes the webhooks it disables there.
func (rt *runtime) newDispatcher(ch *clickhouse.Client) (*webhook.Dispatcher, error) {
	d, err := webhook.New(rt.cfg.Dispatcher, rt.cfg.Kafka, rt.webhooks, attemptLog{ch}, rt.log, rt.metrics)
	if err == nil && rt.webhookStore != nil {
		d.OnDisable = rt.webhookStore.RecordDisabled
	}
	return d, err
}

// newEdge builds the edge server and its Kafka publisher.
func (rt *runtime) newEdge() (*edge.Server, *edge.KafkaPublisher, error) {
	pub, err := edge.NewKafkaPublisher(rt.cfg.Kafka, rt.cfg.Edge, rt.log, rt.metrics)
	if err != nil {
		return nil, nil, err
	}
	srv, err := edge.New(rt.cfg.Edge, rt.catalog, pub, rt.log, rt.metrics)
	if err != nil {
		_ = pub.Close(context.Background())
		return nil, nil, err
	}
	return srv, pub, nil
}

// serveMetrics serves /metrics on metrics.listen until ctx is done.
func (rt *runtime) serveMetrics(ctx context.Context) error {
	addr := rt.cfg.Metrics.Listen
	if addr == "" {
		return nil
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(rt.metrics, promhttp.HandlerOpts{Registry: rt.metrics}))
	return serveHTTP(ctx, rt.log, "metrics", addr, mux)
}

// serveHTTP serves h on addr until ctx is done, then shuts down within 5 s.
func serveHTTP(ctx context.Context, log *zap.Logger, name, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: listening on %s: %w", name, addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	log.Info("listening", zap.String("server", name), zap.String("addr", ln.Addr().String()))

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("%s: %w", name, err)
	case <-ctx.Done():
	}

	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("%s: shutting down: %w", name, err)
	}
	return nil
}
