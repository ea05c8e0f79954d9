package webhook

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/clickstream/clickstream/pkg/subscription"
)

// BenchmarkDispatcherDeliver measures deliveries per second from the
// in-memory broker through decoding, the per-webhook queues, signing and
// the HTTP client to an httptest receiver that responds 200 at once. The
// deliveries are spread over 8 webhooks with the default concurrency of 8
// requests each. The receiver runs in the same process and competes for
// the same CPUs.
func BenchmarkDispatcherDeliver(b *testing.B) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
	}))
	defer srv.Close()

	reg := subscription.NewRegistry()
	const webhooks = 8
	for i := range webhooks {
		testWebhook(b, reg, fmt.Sprintf("wh_bench%d", i), srv.URL)
	}

	cfg := DefaultConfig()
	cfg.AllowCIDRs = []string{"127.0.0.0/8"}
	h := newHarness(b, cfg, reg, zap.NewNop())
	h.start()
	defer h.stop(b)

	msgs := make([]kafkago.Message, b.N)
	for i := range b.N {
		msgs[i] = encodeDelivery(b, testDelivery(fmt.Sprintf("wh_bench%d", i%webhooks), i))
	}

	b.ResetTimer()
	start := time.Now()
	require.NoError(b, h.broker.WriteMessages(context.Background(), msgs...))
	for hits.Load() < int64(b.N) {
		time.Sleep(100 * time.Microsecond)
	}
	b.StopTimer()

	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "deliveries/s")
	if deferred := metricValue(b, h.d.metrics.attempts.WithLabelValues("deferred")); deferred > 0 {
		b.Fatalf("%.0f deliveries were deferred; the rate would not count them", deferred)
	}
}

// BenchmarkSignatureHeaders measures signing one 1 KiB payload with two
// secrets, as during a rotation.
func BenchmarkSignatureHeaders(b *testing.B) {
	secrets := []string{subscription.NewSecret(), subscription.NewSecret()}
	del := testDelivery("wh_sign", 1)
	body := make([]byte, 1024)
	copy(body, del.Payload)
	now := time.Now()

	b.ReportAllocs()
	for b.Loop() {
		h := http.Header{}
		if err := SetSignatureHeaders(h, body, del.EventID, now, secrets); err != nil {
			b.Fatal(err)
		}
	}
}
