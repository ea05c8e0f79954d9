// Package kafkatest gives tests a Kafka broker: the embedded kfake broker for
// fast unit tests, or the real broker that `make test` starts for
// integration tests.
package kafkatest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/clickstream/clickstream/pkg/kafka"
)

// Embedded starts a kfake broker with the given topics, each with
// partitions partitions, and returns a config pointing at it with those
// topic names. Empty Webhooks and Catalog names get the defaults of
// kafka.DefaultConfig. The broker stops when the test ends.
func Embedded(tb testing.TB, partitions int, topics kafka.Topics, extra ...string) kafka.Config {
	tb.Helper()

	defaults := kafka.DefaultConfig().Topics
	if topics.Webhooks == "" {
		topics.Webhooks = defaults.Webhooks
	}
	if topics.Catalog == "" {
		topics.Catalog = defaults.Catalog
	}
	names := append([]string{topics.Hits, topics.DLQ, topics.WebhookEvents, topics.Webhooks, topics.Catalog}, extra...)
	cluster, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(partitions),
		kfake.SeedTopics(int32(partitions), names...),
	)
	require.NoError(tb, err)
	tb.Cleanup(cluster.Close)

	cfg := kafka.DefaultConfig()
	cfg.Brokers = cluster.ListenAddrs()
	cfg.Topics = topics
	cfg.Partitions = partitions
	return cfg
}

// Real returns a config for the broker in CLICKSTREAM_TEST_KAFKA_BROKERS
// (default 127.0.0.1:9092) with fresh topic names, creating the topics with
// the given partition count.
func Real(tb testing.TB, partitions int) kafka.Config {
	tb.Helper()

	cfg := kafka.DefaultConfig()
	if b := os.Getenv("CLICKSTREAM_TEST_KAFKA_BROKERS"); b != "" {
		cfg.Brokers = strings.Split(b, ",")
	}
	suffix := RandomSuffix()
	cfg.Topics = kafka.Topics{Hits: "hits-" + suffix, DLQ: "hits.dlq-" + suffix, WebhookEvents: "webhook-events-" + suffix,
		Webhooks: "webhooks-" + suffix, Catalog: "catalog-" + suffix}
	cfg.Partitions = partitions

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := kafka.EnsureTopics(ctx, cfg,
		kafka.TopicSpec{Name: cfg.Topics.Hits},
		kafka.TopicSpec{Name: cfg.Topics.DLQ},
		kafka.TopicSpec{Name: cfg.Topics.WebhookEvents},
		kafka.TopicSpec{Name: cfg.Topics.Webhooks, Partitions: 1, Compacted: true},
		kafka.TopicSpec{Name: cfg.Topics.Catalog, Partitions: 1, Compacted: true})
	require.NoError(tb, err, "the integration tests need a Kafka broker at %v: run `make services`", cfg.Brokers)
	return cfg
}

// RandomSuffix returns 8 random hex characters for unique names.
func RandomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Write writes msgs with w, trying again every 200 ms until it succeeds or
// timeout passes. A topic created a moment ago can be unknown to the
// broker that leads its partition, which fails the first writes.
func Write(tb testing.TB, w *kafkago.Writer, timeout time.Duration, msgs ...kafkago.Message) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	var err error
	for ctx.Err() == nil {
		if err = w.WriteMessages(ctx, msgs...); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	require.NoError(tb, err, "writing %d records to %s", len(msgs), w.Topic)
}

// ReadAll reads topic from the start until want records arrived or timeout
// passed, and returns what it read, also when that is fewer than want. A topic that does not exist yet, such
// as one the code under test creates on its first record, reads as empty.
func ReadAll(tb testing.TB, cfg kafka.Config, topic string, want int, timeout time.Duration) []kafkago.Message {
	tb.Helper()

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	// A read cut short by the timeout can return less than an earlier one,
	// so the longest read is kept.
	var out []kafkago.Message
	for {
		if got := readOnce(ctx, tb, cfg, topic); len(got) >= len(out) {
			out = got
		}
		if len(out) >= want || ctx.Err() != nil {
			return out
		}
		select {
		case <-ctx.Done():
			return out
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func readOnce(ctx context.Context, tb testing.TB, cfg kafka.Config, topic string) []kafkago.Message {
	conn, err := kafkago.DialContext(ctx, "tcp", cfg.Brokers[0])
	if ctx.Err() != nil {
		return nil
	}
	require.NoError(tb, err)
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if errors.Is(err, kafkago.UnknownTopicOrPartition) {
		return nil
	}
	require.NoError(tb, err)

	var out []kafkago.Message
	for _, p := range parts {
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: cfg.Brokers, Topic: topic, Partition: p.ID, MaxWait: 100 * time.Millisecond})
		out = append(out, drain(ctx, r)...)
		r.Close()
	}
	return out
}

// drain reads a partition until its high watermark.
func drain(ctx context.Context, r *kafkago.Reader) []kafkago.Message {
	var out []kafkago.Message
	for {
		lag, err := r.ReadLag(ctx)
		if err != nil || lag == 0 {
			return out
		}
		m, err := r.ReadMessage(ctx)
		if err != nil {
			return out
		}
		out = append(out, m)
	}
}
