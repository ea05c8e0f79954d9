// Package changefeed keeps state in compacted Kafka topics. A Producer
// writes the latest value of a key, or a tombstone (a record with a null
// value) when the key is deleted. A Consumer reads a topic from the
// beginning, applies every record to a callback in offset order, reports
// when it has caught up with the records that existed when it started, and
// keeps following the topic. Feed combines both for processes that write
// and must read their own writes.
//
// Compaction keeps at least the latest record of every key, so a consumer
// that reads the whole topic ends with the latest state. Records of one key
// land on one partition (murmur2 of the key), so they are applied in the
// order they were written.
package changefeed

import (
	"context"
	"errors"
	"fmt"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/clickstream/clickstream/pkg/kafka"
)

// Partitions is the partition count of the feed topics that EnsureTopics
// creates. Feeds carry little traffic, and one partition keeps the whole
// topic in one order, which makes it easy to inspect.
const Partitions = 1

// EnsureTopics creates the named topics with cleanup.policy=compact where
// they do not exist yet.
func EnsureTopics(ctx context.Context, kcfg kafka.Config, topics ...string) error {
	specs := make([]kafka.TopicSpec, len(topics))
	for i, t := range topics {
		specs[i] = kafka.TopicSpec{Name: t, Partitions: Partitions, Compacted: true}
	}
	return kafka.EnsureTopics(ctx, kcfg, specs...)
}

// ErrEmptyValue is returned by Producer.Put for an empty value, which a
// consumer could not tell from a tombstone.
var ErrEmptyValue = errors.New("value is empty; use Delete to delete a key")

// ErrEmptyKey is returned for an empty key, which compaction cannot keep.
var ErrEmptyKey = errors.New("key is empty")

// Producer writes records to one compacted topic. It is safe for
// concurrent use.
type Producer struct {
	topic string
	w     *kafkago.Writer
}

// NewProducer returns a producer for topic. It connects on the first write.
func NewProducer(kcfg kafka.Config, topic string, log *zap.Logger) *Producer {
	w := kafka.NewWriter(kcfg, topic, kafka.WriterOptions{BatchSize: 100, BatchTimeout: time.Millisecond}, log)
	return &Producer{topic: topic, w: w}
}

// Put writes value as the latest value of key and returns once all in-sync
// replicas have it.
func (p *Producer) Put(ctx context.Context, key string, value []byte) error {
	if key == "" {
		return fmt.Errorf("writing to %s: %w", p.topic, ErrEmptyKey)
	}
	if len(value) == 0 {
		return fmt.Errorf("writing key %q to %s: %w", key, p.topic, ErrEmptyValue)
	}
	if err := p.write(ctx, kafkago.Message{Key: []byte(key), Value: value}); err != nil {
		return fmt.Errorf("writing key %q to %s: %w", key, p.topic, err)
	}
	return nil
}

// Delete writes a tombstone for key and returns once all in-sync replicas
// have it.
func (p *Producer) Delete(ctx context.Context, key string) error {
	if key == "" {
		return fmt.Errorf("deleting from %s: %w", p.topic, ErrEmptyKey)
	}
	if err := p.write(ctx, kafkago.Message{Key: []byte(key), Value: nil}); err != nil {
		return fmt.Errorf("writing a tombstone for key %q to %s: %w", key, p.topic, err)
	}
	return nil
}

// Retry bounds of write: about 10 s in all, longer than the 6 s for which
// kafka-go's Transport caches topic metadata by default.
const (
	writeAttempts     = 8
	writeFirstBackoff = 250 * time.Millisecond
	writeMaxBackoff   = 2 * time.Second
)

// write writes msg, retrying errors that Kafka marks temporary, such as
// an unknown topic or a missing leader right after the topic was created.
// kafka-go's writer does not retry its metadata lookup on its own.
func (p *Producer) write(ctx context.Context, msg kafkago.Message) error {
	backoff := writeFirstBackoff
	for attempt := 1; ; attempt++ {
		err := p.w.WriteMessages(ctx, msg)
		if err == nil || attempt == writeAttempts || !temporary(err) {
			return err
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return err
		}
		backoff = min(2*backoff, writeMaxBackoff)
	}
}

// temporary reports whether err is a Kafka error code that Kafka marks
// retriable, also inside the WriteErrors of a one-message write.
func temporary(err error) bool {
	var writeErrs kafkago.WriteErrors
	if errors.As(err, &writeErrs) && len(writeErrs) == 1 {
		err = writeErrs[0]
	}
	var kerr kafkago.Error
	return errors.As(err, &kerr) && kerr.Temporary()
}

// Close flushes and closes the writer.
func (p *Producer) Close() error {
	return p.w.Close()
}
