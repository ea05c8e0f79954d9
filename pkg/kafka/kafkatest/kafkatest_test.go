package kafkatest

import (
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/clickstream/clickstream/pkg/kafka"
)

func TestReadAllReturnsFewerAtTimeout(t *testing.T) {
	cfg := Embedded(t, 1, kafka.Topics{Hits: "hits", DLQ: "dlq", WebhookEvents: "events"})
	w := kafka.NewWriter(cfg, "hits", kafka.WriterOptions{}, zap.NewNop())
	defer w.Close()
	Write(t, w, 10*time.Second, kafkago.Message{Value: []byte("one")})

	got := ReadAll(t, cfg, "hits", 2, time.Second)

	require.Len(t, got, 1)
	require.Equal(t, "one", string(got[0].Value))
}

func TestReadAllMissingTopicIsEmpty(t *testing.T) {
	cfg := Embedded(t, 1, kafka.Topics{Hits: "hits", DLQ: "dlq", WebhookEvents: "events"})

	got := ReadAll(t, cfg, "never-created", 1, 500*time.Millisecond)

	require.Empty(t, got)
}
