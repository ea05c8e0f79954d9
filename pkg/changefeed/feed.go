package changefeed

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/clickstream/clickstream/pkg/kafka"
)

// DefaultApplyTimeout is how long Feed.Put and Feed.Delete wait for their
// own record to come back through the consumer.
const DefaultApplyTimeout = 5 * time.Second

// FeedOptions tunes a Feed. Zero values take the defaults.
type FeedOptions struct {
	Consumer ConsumerOptions
	// ApplyTimeout is how long Put and Delete wait for the consumer to
	// apply the record they wrote before they apply it themselves.
	// Default DefaultApplyTimeout.
	ApplyTimeout time.Duration
}

// Feed follows a compacted topic like a Consumer and writes to it like a
// Producer, with read-your-writes: Put and Delete return after the record
// they wrote has been applied to the caller's state.
type Feed struct {
	consumer *Consumer
	producer *Producer
	apply    ApplyFunc
	timeout  time.Duration
	log      *zap.Logger

	// mu guards waiters and seen.
	mu      sync.Mutex
	waiters map[string][]*waiter
	seen    map[string]struct{}
}

// waiter is a Put or Delete waiting for its record to be applied.
type waiter struct {
	value []byte
	done  chan error
}

// NewFeed returns a feed on topic that applies records with apply. Call
// Run to start following.
func NewFeed(kcfg kafka.Config, topic string, apply ApplyFunc, opts FeedOptions, log *zap.Logger) *Feed {
	if log == nil {
		log = zap.NewNop()
	}
	if opts.ApplyTimeout <= 0 {
		opts.ApplyTimeout = DefaultApplyTimeout
	}
	f := &Feed{
		producer: NewProducer(kcfg, topic, log),
		apply:    apply,
		timeout:  opts.ApplyTimeout,
		log:      log.Named("changefeed").With(zap.String("topic", topic)),
		waiters:  map[string][]*waiter{},
		seen:     map[string]struct{}{},
	}
	f.consumer = NewConsumer(kcfg, topic, f.applyAndNotify, opts.Consumer, log)
	return f
}

// Run follows the topic until ctx ends; see Consumer.Run.
func (f *Feed) Run(ctx context.Context) error {
	return f.consumer.Run(ctx)
}

// WaitReady blocks until the feed has caught up; see Consumer.WaitReady.
func (f *Feed) WaitReady(ctx context.Context) error {
	return f.consumer.WaitReady(ctx)
}

// Consumer returns the feed's consumer, for its counters.
func (f *Feed) Consumer() *Consumer {
	return f.consumer
}

// Seen reports whether any record of key, a tombstone included, has been
// applied since Run started.
func (f *Feed) Seen(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.seen[key]
	return ok
}

// Put writes value for key and returns after it has been applied. It
// waits for the feed to catch up first, so Run must be running. When the
// consumer does not apply the record within ApplyTimeout, Put applies it
// itself and returns; the consumer applies it again when it arrives.
func (f *Feed) Put(ctx context.Context, key string, value []byte) error {
	return f.write(ctx, key, value, func() error { return f.producer.Put(ctx, key, value) })
}

// Delete writes a tombstone for key and returns after it has been
// applied, like Put.
func (f *Feed) Delete(ctx context.Context, key string) error {
	return f.write(ctx, key, nil, func() error { return f.producer.Delete(ctx, key) })
}

// Close closes the producer. Stop Run by ending its context.
func (f *Feed) Close() error {
	return f.producer.Close()
}

func (f *Feed) write(ctx context.Context, key string, value []byte, produce func() error) error {
	if err := f.consumer.WaitReady(ctx); err != nil {
		return err
	}

	// Register before producing, so the record cannot be applied before
	// anyone waits for it.
	w := &waiter{value: value, done: make(chan error, 1)}
	f.addWaiter(key, w)
	defer f.removeWaiter(key, w)

	if err := produce(); err != nil {
		return err
	}

	timer := time.NewTimer(f.timeout)
	defer timer.Stop()
	select {
	case err := <-w.done:
		return err
	case <-timer.C:
		f.log.Warn("own record not applied by the consumer in time; applying it locally", zap.String("key", key), zap.Duration("timeout", f.timeout))
		return f.consumer.applyLocked(Record{Key: key, Value: value, Partition: -1, Offset: -1, Time: time.Now()})
	case <-ctx.Done():
		return fmt.Errorf("waiting for key %q to be applied after writing it: %w", key, ctx.Err())
	}
}

// applyAndNotify is the consumer's ApplyFunc: it applies r and wakes the
// writers waiting for this key and value.
func (f *Feed) applyAndNotify(r Record) error {
	err := f.apply(r)

	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen[r.Key] = struct{}{}
	for _, w := range f.waiters[r.Key] {
		if bytes.Equal(w.value, r.Value) {
			select {
			case w.done <- err:
			default:
			}
		}
	}
	return err
}

func (f *Feed) addWaiter(key string, w *waiter) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.waiters[key] = append(f.waiters[key], w)
}

func (f *Feed) removeWaiter(key string, w *waiter) {
	f.mu.Lock()
	defer f.mu.Unlock()

	list := f.waiters[key]
	for i, other := range list {
		if other == w {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(f.waiters, key)
	} else {
		f.waiters[key] = list
	}
}
