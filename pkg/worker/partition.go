package worker

import (
	"context"
	"errors"
	"time"

	"github.com/cenkalti/backoff/v5"
	kafkago "github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/clickstream/clickstream/internal/lru"
	"github.com/clickstream/clickstream/pkg/kafka"
)

// lruPrealloc is the number of entries the caches of a partition allocate
// up front; they grow to their configured size as keys arrive.
const lruPrealloc = 1024

// partition processes one assigned partition of the hits topic for the
// lifetime of one consumer-group generation. Its state (duplicate window,
// webhook counters) is rebuilt for every generation because another worker
// may have owned the partition in between.
type partition struct {
	w      *Worker
	gen    *kafkago.Generation
	topic  string
	id     int
	offset int64
	log    *zap.Logger

	visitors *lru.Cache[visitorKey, lastVisit]
	counters *lru.Cache[string, *counter]
	hasher   *visitorHasher
}

func newPartition(w *Worker, gen *kafkago.Generation, a kafkago.PartitionAssignment) *partition {
	return &partition{
		w:        w,
		gen:      gen,
		topic:    w.kafka.Topics.Hits,
		id:       a.ID,
		offset:   a.Offset,
		log:      w.log.With(zap.Int("partition", a.ID)),
		visitors: lru.New[visitorKey, lastVisit](w.cfg.DedupCacheSize, lruPrealloc),
		counters: lru.New[string, *counter](w.cfg.CounterCacheSize, lruPrealloc),
		hasher:   newVisitorHasher(w.cfg.VisitorHashKey),
	}
}

// run fetches and processes batches until the process or the generation
// stops. The batch in progress at that moment still gets ShutdownTimeout to
// be stored and committed.
func (p *partition) run(procCtx, genCtx context.Context) {
	stop, cancelStop := context.WithCancel(procCtx)
	defer cancelStop()
	go func() {
		select {
		case <-genCtx.Done():
			cancelStop()
		case <-stop.Done():
		}
	}()

	work, cancelWork := context.WithCancel(context.WithoutCancel(procCtx))
	defer cancelWork()
	go func() {
		<-stop.Done()
		t := time.NewTimer(p.w.cfg.ShutdownTimeout)
		defer t.Stop()
		select {
		case <-t.C:
			cancelWork()
		case <-work.Done():
		}
	}()

	reader := p.newReader()
	defer reader.Close()

	p.log.Info("partition started", zap.Int64("offset", p.offset))
	if err := p.restoreVisitors(work); err != nil {
		p.log.Error("partition stopped before its first batch", zap.Error(err))
		return
	}
	batch := make([]kafkago.Message, 0, p.w.cfg.BatchSize)
	for stop.Err() == nil {
		batch = p.collect(stop, reader, batch[:0])
		if len(batch) == 0 {
			continue
		}
		if err := p.process(work, batch); err != nil {
			p.log.Error("batch abandoned before commit, the next owner of the partition processes it again",
				zap.Int64("firstOffset", batch[0].Offset), zap.Int64("lastOffset", batch[len(batch)-1].Offset), zap.Error(err))
			return
		}
	}
	p.log.Info("partition stopped", zap.Int64("committedOffset", p.offset))
}

func (p *partition) newReader() *kafkago.Reader {
	k := p.w.kafka
	// QueueCapacity bounds the records fetched ahead of the batch. Each
	// queued record is live heap, and below worker.memoryLimitMiB a larger
	// live heap means more garbage collections. In the pipeline benchmark
	// a queue of a whole batch (5000) cost about 5% more CPU per row than
	// 1000, and stored rows no faster.
	r := kafkago.NewReader(kafkago.ReaderConfig{
		Brokers:       k.Brokers,
		Topic:         p.topic,
		Partition:     p.id,
		Dialer:        &kafkago.Dialer{ClientID: k.ClientID, Timeout: k.DialTimeout},
		MinBytes:      1,
		MaxBytes:      8 << 20,
		MaxWait:       200 * time.Millisecond,
		QueueCapacity: min(p.w.cfg.BatchSize, 1000),
		Logger:        kafka.Logger(p.log),
		ErrorLogger:   kafka.ErrorLogger(p.log),
	})
	if err := r.SetOffset(p.offset); err != nil {
		// kafka-go's SetOffset fails only on a closed reader or a group
		// reader, neither of which this is.
		p.log.Error("setting the start offset failed", zap.Int64("offset", p.offset), zap.Error(err))
	}
	return r
}

// collect appends messages to batch until it holds BatchSize messages,
// FlushInterval has passed since its first message, or stop is done. One
// context with that deadline serves every fetch after the first message,
// because a context per fetch cost more than the fetch itself.
func (p *partition) collect(stop context.Context, r *kafkago.Reader, batch []kafkago.Message) []kafkago.Message {
	ctx, timed := stop, false
	for len(batch) < p.w.cfg.BatchSize {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if stop.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
				return batch
			}
			p.log.Warn("fetching hits failed", zap.Error(err))
			if !sleep(stop, p.w.cfg.RetryMin) {
				return batch
			}
			continue
		}

		if !timed {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(stop, time.Now().Add(p.w.cfg.FlushInterval))
			defer cancel()
			timed = true
		}
		batch = append(batch, m)
	}
	return batch
}

// retry runs op until it succeeds or ctx is done, with exponential backoff
// between RetryMin and RetryMax. Every failure is logged.
func (p *partition) retry(ctx context.Context, what string, op func(context.Context) error) error {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = p.w.cfg.RetryMin
	b.MaxInterval = p.w.cfg.RetryMax

	attempt := 0
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		attempt++
		err := op(ctx)
		if err != nil && ctx.Err() == nil {
			p.log.Warn("step failed, retrying", zap.String("step", what), zap.Int("attempt", attempt), zap.Error(err))
			p.w.deps.Metrics.retries.WithLabelValues(what).Inc()
		}
		return struct{}{}, err
	}, backoff.WithBackOff(b), backoff.WithMaxElapsedTime(0), backoff.WithMaxTries(0))
	return err
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
