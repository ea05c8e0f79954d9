//go:build integration

package edge

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/clickstream/clickstream/pkg/event"
	"github.com/clickstream/clickstream/pkg/kafka/kafkatest"
)

// TestEdgeToRealKafka sends redirects through a running edge and reads the
// hits back from the broker in CLICKSTREAM_TEST_KAFKA_BROKERS.
func TestEdgeToRealKafka(t *testing.T) {
	kcfg := kafkatest.Real(t, 3)
	cfg := publisherConfig(t, t.TempDir())
	cfg.TrustedProxies = []string{"127.0.0.1"}
	log := zaptest.NewLogger(t)

	pub, err := NewKafkaPublisher(kcfg, cfg, log, prometheus.NewRegistry())
	require.NoError(t, err)
	srv, err := New(cfg, testCatalog(t), pub, log, prometheus.NewRegistry())
	require.NoError(t, err)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()

	keys := []string{"abc", "menu", "bio", "old"}
	client := noRedirectClient()
	for i := range 200 {
		req, err := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/"+keys[i%len(keys)], nil)
		require.NoError(t, err)
		req.Host = "go.example.com"
		req.Header.Set("X-Forwarded-For", "203.0.113."+strconv.Itoa(i%250))
		resp, err := client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusFound, resp.StatusCode)
	}

	// Shutting down drains the queue to Kafka.
	cancel()
	require.NoError(t, <-done)

	msgs := kafkatest.ReadAll(t, kcfg, kcfg.Topics.Hits, 200, 30*time.Second)
	require.Len(t, msgs, 200)
	partitionOf := map[string]int{}
	for _, m := range msgs {
		h, err := event.DecodeHit(m.Value)
		require.NoError(t, err)
		assert.Equal(t, h.Resource.ID, string(m.Key))
		if p, ok := partitionOf[h.Resource.ID]; ok {
			assert.Equal(t, p, m.Partition, "all hits of %s on one partition", h.Resource.ID)
		}
		partitionOf[h.Resource.ID] = m.Partition
		assert.Contains(t, h.IP, "203.0.113.")
		assert.Equal(t, h.Resource.Type == event.ResourceQRCode, h.QR)
	}
	assert.Len(t, partitionOf, len(keys))
}

// TestPublisherRestartToRealKafka spools hits while the broker address is
// wrong, then a second publisher on the same spool sends them to the real
// broker.
func TestPublisherRestartToRealKafka(t *testing.T) {
	kcfg := kafkatest.Real(t, 3)
	dir := t.TempDir()

	down := kcfg
	down.Brokers = []string{"127.0.0.1:" + strconv.Itoa(freePort(t))}
	first, err := NewKafkaPublisher(down, publisherConfig(t, dir), zaptest.NewLogger(t), prometheus.NewRegistry())
	require.NoError(t, err)
	for i := range 50 {
		require.NoError(t, first.Publish(newTestHit(i, "link_"+strconv.Itoa(i%5))))
	}
	closePublisher(t, first)

	second, err := NewKafkaPublisher(kcfg, publisherConfig(t, dir), zaptest.NewLogger(t), prometheus.NewRegistry())
	require.NoError(t, err)
	waitFor(t, 30*time.Second, "the spool is empty", func() bool { return second.spool.Bytes() == 0 })
	closePublisher(t, second)

	msgs := kafkatest.ReadAll(t, kcfg, kcfg.Topics.Hits, 50, 30*time.Second)
	assert.Len(t, msgs, 50)
}
