//go:build integration

package changefeed

import (
	"context"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/clickstream/clickstream/pkg/kafka"
	"github.com/clickstream/clickstream/pkg/kafka/kafkatest"
)

// realFeedTopic returns the real broker's config and a fresh compacted topic.
func realFeedTopic(t *testing.T) (kafka.Config, string) {
	t.Helper()
	kcfg := kafkatest.Real(t, 1)
	topic := "feed-" + kafkatest.RandomSuffix()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, EnsureTopics(ctx, kcfg, topic))
	return kcfg, topic
}

func TestRealBrokerTopicIsCompacted(t *testing.T) {
	kcfg, topic := realFeedTopic(t)
	client := &kafkago.Client{Addr: kafkago.TCP(kcfg.Brokers...), Timeout: 10 * time.Second}
	req := &kafkago.DescribeConfigsRequest{
		Resources: []kafkago.DescribeConfigRequestResource{{ResourceType: kafkago.ResourceTypeTopic, ResourceName: topic, ConfigNames: []string{"cleanup.policy"}}},
	}

	// A topic just created may not be known to the broker that answers
	// for a moment, so the lookup is retried for a few seconds.
	var res *kafkago.DescribeConfigsResponse
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		res, err = client.DescribeConfigs(context.Background(), req)
		if err == nil && len(res.Resources) == 1 && res.Resources[0].Error == nil || time.Now().After(deadline) {
			break
		}
	}
	require.NoError(t, err)
	require.Len(t, res.Resources, 1)
	require.NoError(t, res.Resources[0].Error)
	require.Len(t, res.Resources[0].ConfigEntries, 1)
	require.Equal(t, "compact", res.Resources[0].ConfigEntries[0].ConfigValue)
}

func TestRealBrokerReplayAndFollow(t *testing.T) {
	kcfg, topic := realFeedTopic(t)
	ctx := context.Background()
	p := NewProducer(kcfg, topic, zaptest.NewLogger(t))
	defer p.Close()
	require.NoError(t, p.Put(ctx, "a", []byte("1")))
	require.NoError(t, p.Put(ctx, "b", []byte("1")))
	require.NoError(t, p.Delete(ctx, "b"))

	var tombstones int
	st := newState()
	apply := func(r Record) error {
		if r.Tombstone() {
			tombstones++
		}
		return st.apply(r)
	}
	f := NewFeed(kcfg, topic, apply, FeedOptions{}, zaptest.NewLogger(t))
	defer f.Close()
	run(t, f.Run)
	waitReady(t, f.WaitReady)

	v, _ := st.get("a")
	require.Equal(t, "1", v)
	_, ok := st.get("b")
	require.False(t, ok, "the tombstone written before start deletes b")
	require.Equal(t, 1, tombstones, "a tombstone arrives with a nil value")

	start := time.Now()
	require.NoError(t, f.Put(ctx, "a", []byte("2")))
	v, _ = st.get("a")
	require.Equal(t, "2", v, "Put returns after its record was applied")
	t.Logf("Put applied through the real broker in %s", time.Since(start))

	other := newState()
	c := NewConsumer(kcfg, topic, other.apply, ConsumerOptions{}, zaptest.NewLogger(t))
	run(t, c.Run)
	waitReady(t, c.WaitReady)
	require.NoError(t, p.Put(ctx, "c", []byte("3")))
	require.Eventually(t, func() bool { v, _ := other.get("c"); return v == "3" }, 5*time.Second, 10*time.Millisecond,
		"another consumer sees a new record within 5 s")
}
