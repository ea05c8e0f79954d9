package changefeed

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/clickstream/clickstream/pkg/kafka"
)

// Record is one record of a feed topic.
type Record struct {
	Key string
	// Value is nil for a tombstone.
	Value     []byte
	Partition int
	Offset    int64
	// Time is the record's Kafka timestamp.
	Time time.Time
}

// Tombstone reports whether r deletes its key.
func (r Record) Tombstone() bool {
	return len(r.Value) == 0
}

// ApplyFunc applies one record to the caller's state. A returned error is
// logged with the key and offset, and the consumer goes on with the next
// record, so one bad record cannot stop a process from following the feed.
type ApplyFunc func(Record) error

// ConsumerOptions tunes a Consumer. Zero values take the defaults.
type ConsumerOptions struct {
	// MaxWait is the maximum time one fetch waits for new records. A
	// broker responds to a waiting fetch as soon as a record arrives, so this
	// mainly bounds how long a fetch blocks when nothing happens.
	// Default 250ms.
	MaxWait time.Duration
	// CatchUpIdle is how long a partition may deliver nothing while it is
	// still behind the end offset it had at start before the consumer
	// counts it as caught up anyway. That happens when compaction removed
	// the records at the end of the partition. Default 10s.
	CatchUpIdle time.Duration
	// RetryInterval is the pause between attempts to look up the topic's
	// partitions, which fail while the broker or the topic is missing.
	// Default 1s.
	RetryInterval time.Duration
	// OnReady, when set, runs once when the consumer has caught up, before
	// WaitReady returns and while no record is being applied.
	OnReady func()
}

func (o *ConsumerOptions) setDefaults() {
	if o.MaxWait <= 0 {
		o.MaxWait = 250 * time.Millisecond
	}
	if o.CatchUpIdle <= 0 {
		o.CatchUpIdle = 10 * time.Second
	}
	if o.RetryInterval <= 0 {
		o.RetryInterval = time.Second
	}
}

// Consumer follows one compacted topic with a plain reader per partition,
// without a consumer group: every process reads the whole topic.
type Consumer struct {
	kcfg  kafka.Config
	topic string
	apply ApplyFunc
	opts  ConsumerOptions
	log   *zap.Logger

	// applyMu serializes calls of apply across the partition readers, so
	// ApplyFunc needs no locking of its own.
	applyMu sync.Mutex
	ready   chan struct{}
	// lookupFailed is closed when the first attempt to look up the
	// topic's partitions fails.
	lookupFailed     chan struct{}
	lookupFailedOnce sync.Once
	pending          atomic.Int64
	applied          atomic.Int64
	failed           atomic.Int64
}

// NewConsumer returns a consumer that applies the records of topic with
// apply. Call Run to start it.
func NewConsumer(kcfg kafka.Config, topic string, apply ApplyFunc, opts ConsumerOptions, log *zap.Logger) *Consumer {
	opts.setDefaults()
	if log == nil {
		log = zap.NewNop()
	}
	return &Consumer{
		kcfg:  kcfg,
		topic: topic,
		apply: apply,
		opts:  opts,
		log:   log.Named("changefeed").With(zap.String("topic", topic)),
		ready: make(chan struct{}),

		lookupFailed: make(chan struct{}),
	}
}

// partitionRange is a partition and its first and end offsets at start.
type partitionRange struct {
	id         int
	first, end int64
}

// Run looks up the topic's partitions, retrying until it exists, then
// reads every partition from its first offset and applies each record
// until ctx ends. It returns nil when ctx ends; call it once.
//
// Partitions added to the topic after Run started are not read.
func (c *Consumer) Run(ctx context.Context) error {
	started := time.Now()
	parts, err := c.lookupPartitions(ctx)
	if err != nil {
		return nil // ctx ended
	}

	c.pending.Store(int64(len(parts)))
	c.log.Info("following change feed", zap.Int("partitions", len(parts)))
	var wg sync.WaitGroup
	for _, p := range parts {
		wg.Go(func() { c.follow(ctx, p, started) })
	}
	wg.Wait()
	return nil
}

// WaitReady blocks until the consumer has applied every record that the
// topic held when Run looked up its partitions, or until ctx ends.
func (c *Consumer) WaitReady(ctx context.Context) error {
	select {
	case <-c.ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for the change feed %s to catch up: %w", c.topic, ctx.Err())
	}
}

// Ready returns a channel that is closed once the consumer has caught up.
func (c *Consumer) Ready() <-chan struct{} {
	return c.ready
}

// LookupFailed returns a channel that is closed when an attempt to look up
// the topic's partitions has failed, which happens while the broker is
// unreachable or the topic is missing. Run keeps retrying.
func (c *Consumer) LookupFailed() <-chan struct{} {
	return c.lookupFailed
}

// Applied returns the number of records applied without error.
func (c *Consumer) Applied() int64 {
	return c.applied.Load()
}

// Failed returns the number of records whose ApplyFunc returned an error.
func (c *Consumer) Failed() int64 {
	return c.failed.Load()
}

// lookupPartitions returns the partitions with their offset ranges,
// retrying every RetryInterval until it succeeds or ctx ends.
func (c *Consumer) lookupPartitions(ctx context.Context) ([]partitionRange, error) {
	for attempt := 1; ; attempt++ {
		parts, err := c.readPartitions(ctx)
		if err == nil {
			return parts, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		c.lookupFailedOnce.Do(func() { close(c.lookupFailed) })
		// Log the first failure and then every 30th, about every 30 s.
		if attempt%30 == 1 {
			c.log.Warn("looking up the change feed's partitions failed; retrying", zap.Int("attempt", attempt), zap.Error(err))
		}
		select {
		case <-time.After(c.opts.RetryInterval):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (c *Consumer) readPartitions(ctx context.Context) ([]partitionRange, error) {
	// The metadata request of kafkago.Client does not ask the broker to
	// create a missing topic, unlike kafkago.Conn.ReadPartitions; a topic
	// created that way would lack cleanup.policy=compact.
	transport := &kafkago.Transport{ClientID: c.kcfg.ClientID, DialTimeout: c.kcfg.DialTimeout}
	defer transport.CloseIdleConnections()
	client := &kafkago.Client{Addr: kafkago.TCP(c.kcfg.Brokers...), Timeout: 10 * time.Second, Transport: transport}

	meta, err := client.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{c.topic}})
	if err != nil {
		return nil, fmt.Errorf("reading the metadata of %s: %w", c.topic, err)
	}
	if len(meta.Topics) != 1 {
		return nil, fmt.Errorf("reading the metadata of %s: got %d topics", c.topic, len(meta.Topics))
	}
	topic := meta.Topics[0]
	if topic.Error != nil {
		return nil, fmt.Errorf("reading the metadata of %s: %w", c.topic, topic.Error)
	}
	if len(topic.Partitions) == 0 {
		return nil, fmt.Errorf("topic %s has no partitions", c.topic)
	}

	dialer := &kafkago.Dialer{ClientID: c.kcfg.ClientID, Timeout: c.kcfg.DialTimeout}
	out := make([]partitionRange, 0, len(topic.Partitions))
	for _, p := range topic.Partitions {
		leader := net.JoinHostPort(p.Leader.Host, strconv.Itoa(p.Leader.Port))
		first, end, err := readOffsets(ctx, dialer, leader, c.topic, p.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, partitionRange{id: p.ID, first: first, end: end})
	}
	return out, nil
}

// readOffsets returns the first offset and the end offset (the offset the
// next record will get) of one partition.
func readOffsets(ctx context.Context, dialer *kafkago.Dialer, leader, topic string, partition int) (first, end int64, err error) {
	conn, err := dialer.DialLeader(ctx, "tcp", leader, topic, partition)
	if err != nil {
		return 0, 0, fmt.Errorf("connecting to the leader of %s/%d: %w", topic, partition, err)
	}
	defer conn.Close()

	first, end, err = conn.ReadOffsets()
	if err != nil {
		return 0, 0, fmt.Errorf("reading the offsets of %s/%d: %w", topic, partition, err)
	}
	return first, end, nil
}

// follow reads one partition from its first offset until ctx ends.
func (c *Consumer) follow(ctx context.Context, p partitionRange, started time.Time) {
	r := kafkago.NewReader(kafkago.ReaderConfig{
		Brokers:     c.kcfg.Brokers,
		Topic:       c.topic,
		Partition:   p.id,
		Dialer:      &kafkago.Dialer{ClientID: c.kcfg.ClientID, Timeout: c.kcfg.DialTimeout},
		MinBytes:    1,
		MaxBytes:    8 << 20,
		MaxWait:     c.opts.MaxWait,
		StartOffset: kafkago.FirstOffset,
		Logger:      kafka.Logger(c.log),
		ErrorLogger: kafka.ErrorLogger(c.log),
	})
	defer r.Close()

	caughtUp := p.end <= p.first
	if caughtUp {
		c.partitionCaughtUp(p, started)
	}
	for {
		msg, err := c.read(ctx, r, caughtUp)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, context.DeadlineExceeded) && !caughtUp:
			c.log.Warn("no record arrived while behind the end offset at start; counting the partition as caught up, "+
				"because compaction may have removed its last records",
				zap.Int("partition", p.id), zap.Int64("endOffset", p.end), zap.Duration("waited", c.opts.CatchUpIdle))
			caughtUp = true
			c.partitionCaughtUp(p, started)
			continue
		case err != nil:
			c.log.Error("reading the change feed failed; retrying", zap.Int("partition", p.id), zap.Error(err))
			sleep(ctx, c.opts.RetryInterval)
			continue
		}

		c.applyMessage(msg)
		if !caughtUp && msg.Offset+1 >= p.end {
			caughtUp = true
			c.partitionCaughtUp(p, started)
		}
	}
}

// read returns the next record. Until the partition has caught up it
// gives up after CatchUpIdle with context.DeadlineExceeded.
func (c *Consumer) read(ctx context.Context, r *kafkago.Reader, caughtUp bool) (kafkago.Message, error) {
	if caughtUp {
		return r.ReadMessage(ctx)
	}
	readCtx, cancel := context.WithTimeout(ctx, c.opts.CatchUpIdle)
	defer cancel()
	return r.ReadMessage(readCtx)
}

func (c *Consumer) applyMessage(m kafkago.Message) {
	rec := Record{Key: string(m.Key), Value: m.Value, Partition: m.Partition, Offset: m.Offset, Time: m.Time}
	if len(rec.Value) == 0 {
		rec.Value = nil
	}
	if err := c.applyLocked(rec); err != nil {
		c.failed.Add(1)
		c.log.Error("applying a change feed record failed; skipping it",
			zap.String("key", rec.Key), zap.Int("partition", rec.Partition), zap.Int64("offset", rec.Offset), zap.Error(err))
		return
	}
	c.applied.Add(1)
}

// applyLocked runs apply while holding applyMu.
func (c *Consumer) applyLocked(rec Record) error {
	c.applyMu.Lock()
	defer c.applyMu.Unlock()
	return c.apply(rec)
}

// partitionCaughtUp counts one partition as caught up and marks the
// consumer ready after the last one.
func (c *Consumer) partitionCaughtUp(p partitionRange, started time.Time) {
	if c.pending.Add(-1) != 0 {
		return
	}

	c.applyMu.Lock()
	if c.opts.OnReady != nil {
		c.opts.OnReady()
	}
	close(c.ready)
	c.applyMu.Unlock()

	c.log.Info("change feed caught up", zap.Int64("applied", c.applied.Load()), zap.Int64("failed", c.failed.Load()),
		zap.Duration("took", time.Since(started)), zap.Int("lastPartition", p.id))
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
