// Package worker consumes raw hits, enriches them, stores them in ClickHouse
// and turns the ones webhooks subscribe to into delivery records. Each
// partition of the hits topic is processed by one goroutine of one worker at
// a time. Its offsets are committed only after the ClickHouse insert and the
// webhook-events produce of the batch have both succeeded.
package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/clickstream/clickstream/pkg/catalog"
	"github.com/clickstream/clickstream/pkg/event"
	"github.com/clickstream/clickstream/pkg/kafka"
	"github.com/clickstream/clickstream/pkg/subscription"
)

// Enricher turns a valid raw hit into an enriched interaction. It must be
// safe for concurrent use and deterministic for the same hit.
type Enricher interface {
	Enrich(h *event.RawHit) event.Enriched
}

// Source is the offset range of one partition that an insert was built from.
// Inserting the same Source twice must have the effect of inserting it once.
type Source struct {
	Topic       string
	Partition   int
	FirstOffset int64
	LastOffset  int64
	// Offsets holds the offset of each row, in row order; dead letters
	// leave gaps in the range.
	Offsets []int64
}

// DeadLetter is a hit that could not be decoded.
type DeadLetter struct {
	Time      time.Time
	Topic     string
	Partition int
	Offset    int64
	Reason    string
	Raw       []byte
}

// ResourceCount is the number of counted interactions of one resource and
// the time of the latest.
type ResourceCount struct {
	Count int64
	Last  time.Time
}

// Visitor is the latest counted interaction of one visitor on one resource.
type Visitor struct {
	ResourceID string
	// Hash is the event.Enriched.VisitorHash the rows were stored with, or
	// 0 for rows stored before the store kept it.
	Hash uint64
	// IP and UA are as stored. They identify the visitor when Hash is 0.
	IP   string
	UA   string
	Last time.Time
	// ClickID is the click id of the interaction at Last.
	ClickID string
}

// Store is the sink of interactions and dead letters.
type Store interface {
	InsertInteractions(ctx context.Context, rows []event.Enriched, src Source) error
	InsertDeadLetters(ctx context.Context, letters []DeadLetter) error
	// CountsByResource returns the stored interactions that are neither bots
	// nor duplicates, per resource id, leaving out those stored from
	// partition at offsets from before on.
	CountsByResource(ctx context.Context, resourceIDs []string, partition int, before int64) (map[string]ResourceCount, error)
	// RecentVisitors returns, most recent first and at most limit, the
	// visitors with counted interactions stored from partition at offsets
	// below before and with timestamps at or after since.
	RecentVisitors(ctx context.Context, partition int, before int64, since time.Time, limit int) ([]Visitor, error)
}

// Producer writes Kafka records synchronously; *kafkago.Writer implements it.
type Producer interface {
	WriteMessages(ctx context.Context, msgs ...kafkago.Message) error
}

// Deps are the collaborators of a Worker.
type Deps struct {
	Enricher Enricher
	Store    Store
	Catalog  *catalog.Catalog
	Webhooks *subscription.Registry
	// Events receives webhook delivery records; DLQ receives dead letters.
	Events  Producer
	DLQ     Producer
	Log     *zap.Logger
	Metrics *Metrics
	// Now returns the current time; tests replace it.
	Now func() time.Time
}

// Worker is one member of the workers consumer group.
type Worker struct {
	cfg   Config
	kafka kafka.Config
	deps  Deps
	log   *zap.Logger
}

// New returns a worker; Run starts it.
func New(cfg Config, kcfg kafka.Config, deps Deps) (*Worker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Enricher == nil || deps.Store == nil || deps.Catalog == nil || deps.Webhooks == nil || deps.Events == nil || deps.DLQ == nil {
		return nil, errors.New("worker: every dependency except Log, Metrics and Now is required")
	}
	if deps.Log == nil {
		deps.Log = zap.NewNop()
	}
	if deps.Metrics == nil {
		deps.Metrics = NewMetrics(nil)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	return &Worker{cfg: cfg, kafka: kcfg, deps: deps, log: deps.Log.Named("worker")}, nil
}

// Run joins the consumer group and processes the assigned partitions until
// ctx is done. On shutdown each partition finishes the batch in progress
// within ShutdownTimeout and commits it. A batch that cannot finish in time
// is left uncommitted, so the next owner processes it again.
func (w *Worker) Run(ctx context.Context) error {
	group, err := kafkago.NewConsumerGroup(kafkago.ConsumerGroupConfig{
		ID:                     w.cfg.Group,
		Brokers:                w.kafka.Brokers,
		Dialer:                 &kafkago.Dialer{ClientID: w.kafka.ClientID, Timeout: w.kafka.DialTimeout},
		Topics:                 []string{w.kafka.Topics.Hits},
		HeartbeatInterval:      time.Second,
		SessionTimeout:         10 * time.Second,
		RebalanceTimeout:       w.cfg.ShutdownTimeout + 5*time.Second,
		JoinGroupBackoff:       time.Second,
		WatchPartitionChanges:  true,
		PartitionWatchInterval: 5 * time.Second,
		StartOffset:            kafkago.FirstOffset,
		Logger:                 kafka.Logger(w.log),
		ErrorLogger:            kafka.ErrorLogger(w.log),
	})
	if err != nil {
		return fmt.Errorf("creating consumer group %q: %w", w.cfg.Group, err)
	}
	defer group.Close()

	w.log.Info("worker started", zap.String("group", w.cfg.Group), zap.String("topic", w.kafka.Topics.Hits))
	for {
		gen, err := group.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				w.log.Info("worker stopped")
				return nil
			}
			if errors.Is(err, kafkago.ErrGroupClosed) {
				return nil
			}
			w.log.Error("joining consumer group failed", zap.Error(err))
			continue
		}
		w.startGeneration(ctx, gen)
	}
}

func (w *Worker) startGeneration(ctx context.Context, gen *kafkago.Generation) {
	assignments := gen.Assignments[w.kafka.Topics.Hits]
	ids := make([]int, 0, len(assignments))
	for _, a := range assignments {
		ids = append(ids, a.ID)
	}
	w.log.Info("partitions assigned", zap.Int32("generation", gen.ID), zap.Ints("partitions", ids))

	for _, a := range assignments {
		p := newPartition(w, gen, a)
		gen.Start(func(genCtx context.Context) {
			p.run(ctx, genCtx)
		})
	}
}
