//go:build integration

package kafka_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"github.com/clickstream/clickstream/pkg/kafka"
	"github.com/clickstream/clickstream/pkg/kafka/kafkatest"
)

// TestEnsureTopicsWaitsForLeaders creates topics on the real broker and
// reads the last offset of every partition from its leader at once, as a
// reader does when it starts. Without the wait most new partitions return
// Not Leader For Partition.
func TestEnsureTopicsWaitsForLeaders(t *testing.T) {
	c := kafkatest.Real(t, 6)
	var specs []kafka.TopicSpec
	for i := range 5 {
		specs = append(specs, kafka.TopicSpec{Name: fmt.Sprintf("ensure-%s-%d", kafkatest.RandomSuffix(), i)})
	}
	require.NoError(t, kafka.EnsureTopics(context.Background(), c, specs...))

	dialer := &kafkago.Dialer{Timeout: 5 * time.Second}
	for _, s := range specs {
		conn, err := dialer.Dial("tcp", c.Brokers[0])
		require.NoError(t, err)
		parts, err := conn.ReadPartitions(s.Name)
		conn.Close()
		require.NoError(t, err)
		require.Len(t, parts, 6)

		for _, p := range parts {
			pc, err := dialer.DialPartition(context.Background(), "tcp", c.Brokers[0], p)
			require.NoError(t, err)
			_, err = pc.ReadLastOffset()
			pc.Close()
			require.NoErrorf(t, err, "partition %d of %s", p.ID, s.Name)
		}
	}
}
