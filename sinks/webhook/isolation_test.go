package webhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clickstream/clickstream/pkg/subscription"
)

// isolationRun is a dispatcher under test and the way to feed it.
type isolationRun struct {
	d       *Dispatcher
	rec     *MemoryRecorder
	publish func(t testing.TB, msgs []kafkago.Message)
	stop    func(t testing.TB)
}

// TestDispatcherIsolation runs testIsolation on an in-memory broker;
// TestIntegrationIsolation runs it on the real broker.
func TestDispatcherIsolation(t *testing.T) {
	testIsolation(t, func(cfg Config, reg *subscription.Registry) isolationRun {
		h := newHarness(t, cfg, reg, nil)
		h.start()
		return isolationRun{
			d:   h.d,
			rec: h.rec,
			publish: func(t testing.TB, msgs []kafkago.Message) {
				require.NoError(t, h.broker.WriteMessages(context.Background(), msgs...))
			},
			stop: h.stop,
		}
	})
}

// testIsolation measures the delivery rate to a fast endpoint without and
// then with a second endpoint that sleeps 10 s per request, on one
// dispatcher, and requires the second rate to be at least 95% of the
// first. The sleeping endpoint gets one delivery for every ten fast ones;
// the fast endpoint takes 5 ms per request.
// Each phase runs three times, alternating, to even out noise.
func testIsolation(t *testing.T, start func(Config, *subscription.Registry) isolationRun) {
	if testing.Short() {
		t.Skip("measures delivery rates for about 30 s")
	}
	if raceEnabled {
		t.Skip("measures delivery rates, which the race detector distorts; make test runs it again without -race")
	}

	var fastHits atomic.Int64
	// The fast endpoint responds after 5 ms, like a receiver across a
	// network, so its rate is bound by its latency and not by the CPU this
	// test shares with the dispatcher.
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Millisecond)
		fastHits.Add(1)
	}))
	defer fast.Close()

	release := make(chan struct{})
	var slowHits atomic.Int64
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slowHits.Add(1)
		select {
		case <-time.After(10 * time.Second):
		case <-release:
		}
	}))
	defer slow.Close()
	defer close(release)

	reg := subscription.NewRegistry()
	fastHook := testWebhook(t, reg, "wh_fast", fast.URL)
	slowHook := testWebhook(t, reg, "wh_slow", slow.URL)

	cfg := testConfig()
	cfg.PerEndpointConcurrency = 16
	cfg.RequestTimeout = 15 * time.Second
	cfg.RetrySchedule = []time.Duration{time.Hour} // deferred records stay in the retry topic
	run := start(cfg, reg)
	defer run.stop(t)
	deferred := func() float64 { return metricValue(t, run.d.metrics.attempts.WithLabelValues("deferred")) }

	const fastPerPhase, rounds = 8000, 3
	seq := 0
	batch := func(slowEvery int) []kafkago.Message {
		var msgs []kafkago.Message
		for range fastPerPhase {
			seq++
			msgs = append(msgs, encodeDelivery(t, testDelivery(fastHook.ID, seq)))
			if slowEvery > 0 && seq%slowEvery == 0 {
				msgs = append(msgs, encodeDelivery(t, testDelivery(slowHook.ID, seq)))
			}
		}
		return msgs
	}
	// phase publishes msgs and returns the rate of deliveries to the fast endpoint.
	phase := func(msgs []kafkago.Message) float64 {
		want := fastHits.Load() + fastPerPhase
		start := time.Now()
		run.publish(t, msgs)
		if !assert.Eventually(t, func() bool { return fastHits.Load() >= want }, 60*time.Second, time.Millisecond) {
			t.Fatalf("fast deliveries: %d of %d, deferred: %.0f, failed attempts: %v", fastHits.Load(), want,
				deferred(), failedAttempts(run.rec))
		}
		return fastPerPhase / time.Since(start).Seconds()
	}

	phase(batch(0)) // warm up connections and the runtime

	var alone, shared float64
	for range rounds {
		alone += phase(batch(0))
		shared += phase(batch(10))
	}
	t.Logf("fast endpoint: %.0f deliveries/s alone, %.0f/s beside the sleeping endpoint (%.1f%%)", alone/rounds, shared/rounds, 100*shared/alone)
	t.Logf("sleeping endpoint: %d requests started, %.0f deliveries deferred", slowHits.Load(), deferred())

	assert.GreaterOrEqual(t, shared, 0.95*alone)
	assert.GreaterOrEqual(t, slowHits.Load(), int64(cfg.PerEndpointConcurrency), "the sleeping endpoint holds all its slots")
	assert.Positive(t, deferred())
}

// failedAttempts returns the error classes of unsuccessful attempts and
// how often each occurred.
func failedAttempts(rec *MemoryRecorder) map[string]int {
	out := map[string]int{}
	for _, a := range rec.Attempts() {
		if a.Outcome != OutcomeSuccess {
			out[a.Class+" "+a.Error]++
		}
	}
	return out
}
