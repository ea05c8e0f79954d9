package webhook

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/clickstream/clickstream/pkg/event"
	"github.com/clickstream/clickstream/pkg/kafka"
	"github.com/clickstream/clickstream/pkg/kafka/kafkatest"
	"github.com/clickstream/clickstream/pkg/subscription"
)

// kafkaWait bounds waits on a broker: kafka-go needs a few seconds to join
// a consumer group.
const kafkaWait = 60 * time.Second

// startKfake starts an in-process Kafka-protocol broker and returns a
// config for it.
func startKfake(t testing.TB) kafka.Config {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	require.NoError(t, err)
	t.Cleanup(c.Close)

	kcfg := kafka.DefaultConfig()
	kcfg.Brokers = c.ListenAddrs()
	kcfg.Partitions = 2
	return kcfg
}

// runDispatcher starts a dispatcher on kcfg and returns it, its attempt
// recorder and a function that stops it and waits for Run to return.
func runDispatcher(t testing.TB, cfg Config, kcfg kafka.Config, reg *subscription.Registry) (*Dispatcher, *MemoryRecorder, func()) {
	t.Helper()
	log := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	rec := &MemoryRecorder{}
	d, err := New(cfg, kcfg, reg, rec, log, prometheus.NewRegistry())
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	return d, rec, func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(kafkaWait):
			t.Fatal("Run did not return after cancel")
		}
	}
}

// publishDeliveries writes deliveries to the webhook-events topic of kcfg.
func publishDeliveries(t testing.TB, kcfg kafka.Config, dels ...event.Delivery) {
	t.Helper()
	msgs := make([]kafkago.Message, len(dels))
	for i, d := range dels {
		msgs[i] = encodeDelivery(t, d)
	}
	publishMessages(t, kcfg, msgs)
}

// publishMessages writes msgs to the webhook-events topic of kcfg, whatever
// topic they name.
func publishMessages(t testing.TB, kcfg kafka.Config, msgs []kafkago.Message) {
	t.Helper()
	require.NoError(t, kafka.EnsureTopics(context.Background(), kcfg, kafka.TopicSpec{Name: kcfg.Topics.WebhookEvents}))
	w := kafka.NewWriter(kcfg, kcfg.Topics.WebhookEvents, kafka.WriterOptions{}, zap.NewNop())
	defer w.Close()

	for i := range msgs {
		msgs[i].Topic = ""
	}
	kafkatest.Write(t, w, kafkaWait, msgs...)
}

func TestKafkaRetryThenSuccess(t *testing.T) {
	if testing.Short() {
		t.Skip("joins consumer groups on an embedded broker")
	}
	kcfg := startKfake(t)
	testRetryThenSuccess(t, kcfg)
}

func TestKafkaRestartRedelivers(t *testing.T) {
	if testing.Short() {
		t.Skip("joins consumer groups on an embedded broker")
	}
	kcfg := startKfake(t)
	testRestartRedelivers(t, kcfg)
}

// testRetryThenSuccess sends one delivery to an endpoint that fails twice
// and checks that the third attempt, read back from the retry topics,
// carries the same event id and body.
func testRetryThenSuccess(t *testing.T, kcfg kafka.Config) {
	rv := &receiver{respond: func(n int, _ *http.Request) int {
		if n < 2 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	}}
	srv := httptest.NewServer(rv)
	defer srv.Close()
	reg := subscription.NewRegistry()
	w := testWebhook(t, reg, "wh_retry", srv.URL)

	cfg := testConfig()
	cfg.Group = "retry-" + kcfg.Topics.WebhookEvents
	cfg.RetrySchedule = []time.Duration{200 * time.Millisecond, 200 * time.Millisecond}
	_, _, stop := runDispatcher(t, cfg, kcfg, reg)
	defer stop()

	del := testDelivery(w.ID, 7)
	publishDeliveries(t, kcfg, del)

	require.Eventually(t, func() bool { return rv.count() >= 3 }, kafkaWait, 20*time.Millisecond)
	reqs := rv.received()
	for i, r := range reqs[:3] {
		assert.Equal(t, del.EventID, r.header.Get(HeaderWebhookID), "attempt %d", i+1)
		assert.JSONEq(t, string(del.Payload), string(r.body), "attempt %d", i+1)
		assert.NoError(t, VerifyStandard(r.header, r.body, w.Secrets, time.Now(), DefaultTolerance), "attempt %d", i+1)
	}
	assert.GreaterOrEqual(t, reqs[1].at.Sub(reqs[0].at), 200*time.Millisecond)
}

// testRestartRedelivers stops a dispatcher while a request hangs and
// checks that a second dispatcher in the same group sends the same event.
func testRestartRedelivers(t *testing.T, kcfg kafka.Config) {
	var mu sync.Mutex
	hang := true
	release := make(chan struct{})
	rv := &receiver{respond: func(_ int, _ *http.Request) int {
		mu.Lock()
		h := hang
		mu.Unlock()
		if h {
			<-release
		}
		return http.StatusOK
	}}
	srv := httptest.NewServer(rv)
	defer srv.Close()
	defer close(release)
	reg := subscription.NewRegistry()
	w := testWebhook(t, reg, "wh_restart", srv.URL)

	cfg := testConfig()
	cfg.Group = "restart-" + kcfg.Topics.WebhookEvents
	cfg.DrainTimeout = 200 * time.Millisecond
	_, _, stop := runDispatcher(t, cfg, kcfg, reg)

	del := testDelivery(w.ID, 9)
	publishDeliveries(t, kcfg, del)
	require.Eventually(t, func() bool { return rv.count() == 1 }, kafkaWait, 20*time.Millisecond)
	stop() // the hanging request is canceled and its offset stays uncommitted

	mu.Lock()
	hang = false
	mu.Unlock()
	_, _, stop = runDispatcher(t, cfg, kcfg, reg)
	defer stop()

	require.Eventually(t, func() bool { return rv.count() >= 2 }, kafkaWait, 20*time.Millisecond)
	reqs := rv.received()
	assert.Equal(t, del.EventID, reqs[1].header.Get(HeaderWebhookID))
	assert.Equal(t, reqs[0].header.Get(HeaderWebhookID), reqs[1].header.Get(HeaderWebhookID))
	assert.Equal(t, string(reqs[0].body), string(reqs[1].body))
}

func TestKafkaReceiverDownThenUp(t *testing.T) {
	if testing.Short() {
		t.Skip("joins consumer groups on an embedded broker")
	}
	testReceiverDownThenUp(t, startKfake(t))
}

// testReceiverDownThenUp sends deliveries to an endpoint that answers 503
// for its first seconds, as a receiver behind a load balancer does while
// it is down, and checks that every event arrives afterwards with a 2xx,
// its original id and a valid signature.
func testReceiverDownThenUp(t *testing.T, kcfg kafka.Config) {
	const events = 40
	const downFor = 3 * time.Second
	var upAt time.Time
	var upMu sync.Mutex
	rv := &receiver{respond: func(_ int, _ *http.Request) int {
		upMu.Lock()
		defer upMu.Unlock()
		if time.Now().Before(upAt) {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}}
	srv := httptest.NewServer(rv)
	defer srv.Close()
	reg := subscription.NewRegistry()
	w := testWebhook(t, reg, "wh_down", srv.URL)

	cfg := testConfig()
	cfg.Group = "down-" + kcfg.Topics.WebhookEvents
	cfg.RetrySchedule = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}
	upMu.Lock()
	upAt = time.Now().Add(downFor)
	upMu.Unlock()
	_, _, stop := runDispatcher(t, cfg, kcfg, reg)
	defer stop()

	want := map[string]event.Delivery{}
	var dels []event.Delivery
	for n := range events {
		d := testDelivery(w.ID, n)
		want[d.EventID] = d
		dels = append(dels, d)
	}
	publishDeliveries(t, kcfg, dels...)

	delivered := func() map[string]receivedRequest {
		out := map[string]receivedRequest{}
		upMu.Lock()
		up := upAt
		upMu.Unlock()
		for _, r := range rv.received() {
			if !r.at.Before(up) {
				out[r.header.Get(HeaderWebhookID)] = r
			}
		}
		return out
	}
	require.Eventually(t, func() bool { return len(delivered()) == events }, kafkaWait, 50*time.Millisecond)

	failedEarly := 0
	for _, r := range rv.received() {
		if r.at.Before(upAt) {
			failedEarly++
		}
	}
	assert.Positive(t, failedEarly, "the receiver was down for the first attempts")
	for id, r := range delivered() {
		d, ok := want[id]
		require.True(t, ok, "unknown event id %s", id)
		assert.JSONEq(t, string(d.Payload), string(r.body), "event %s", id)
		assert.NoError(t, VerifyStandard(r.header, r.body, w.Secrets, time.Now(), DefaultTolerance), "event %s", id)
	}
}

func TestKafkaRefusesPrivateTarget(t *testing.T) {
	testRefusesPrivateTarget(t, startKfake(t))
}

// testRefusesPrivateTarget sends one event to a webhook whose URL names a
// host, not an address, that resolves to loopback, with no network allowed.
// The guard must refuse the address it would dial: the receiver gets
// nothing, the attempt is logged as refused, and the event goes to the
// failed topic without retries.
func testRefusesPrivateTarget(t *testing.T, kcfg kafka.Config) {
	rv := &receiver{respond: func(int, *http.Request) int { return http.StatusOK }}
	srv := httptest.NewServer(rv)
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]

	reg := subscription.NewRegistry()
	w := testWebhook(t, reg, "wh_private", "http://localhost:"+port+"/hook")

	cfg := testConfig()
	cfg.AllowCIDRs = nil
	cfg.Group = "private-" + kcfg.Topics.WebhookEvents
	_, rec, stop := runDispatcher(t, cfg, kcfg, reg)
	defer stop()

	del := testDelivery(w.ID, 11)
	publishDeliveries(t, kcfg, del)

	failed := kafkatest.ReadAll(t, kcfg, FailedTopic(kcfg.Topics.WebhookEvents), 1, kafkaWait)
	require.Len(t, failed, 1)
	var got event.Delivery
	require.NoError(t, json.Unmarshal(failed[0].Value, &got))
	assert.Equal(t, del.EventID, got.EventID, "the failed record is the refused event")

	require.Eventually(t, func() bool { return len(rec.Attempts()) >= 1 }, kafkaWait, 20*time.Millisecond)
	attempts := rec.Attempts()
	require.Len(t, attempts, 1, "a refused address is not retried")
	assert.Equal(t, OutcomeRefused, attempts[0].Outcome)
	assert.Equal(t, ClassRefused, attempts[0].Class)
	assert.True(t, attempts[0].Final)
	assert.Zero(t, rv.count(), "no request may reach the receiver")
}

func TestKafkaSlowEndpointGetsEveryEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("joins consumer groups on an embedded broker")
	}
	testSlowEndpointGetsEveryEvent(t, startKfake(t))
}

// testSlowEndpointGetsEveryEvent sends a burst of 150 events at 100/s to
// an endpoint that responds 204 to every request after 200 ms, with two
// requests in flight, so most events are deferred, some several times. It
// checks that every event arrives, that the webhook stays enabled and that
// nothing reaches the failed topic. A record deferred twice shows that the
// deferral headers came back from the broker.
func testSlowEndpointGetsEveryEvent(t *testing.T, kcfg kafka.Config) {
	const events = 150
	rv := &slowReceiver{delay: 200 * time.Millisecond, ids: map[string]int{}}
	srv := httptest.NewServer(rv)
	defer srv.Close()
	reg := subscription.NewRegistry()
	w := testWebhook(t, reg, "wh_slow_ok", srv.URL)

	cfg := testConfig()
	cfg.Group = "slow-" + kcfg.Topics.WebhookEvents
	cfg.PerEndpointConcurrency = 2
	cfg.MaxQueueWait = 500 * time.Millisecond
	cfg.RetrySchedule = []time.Duration{200 * time.Millisecond, 500 * time.Millisecond, time.Second, 3 * time.Second}
	cfg.MaxConsecutiveFailures = 2
	d, _, stop := runDispatcher(t, cfg, kcfg, reg)
	defer stop()

	for i := 0; i < events; i += 10 {
		var dels []event.Delivery
		for n := i; n < i+10; n++ {
			dels = append(dels, testDelivery(w.ID, n))
		}
		publishDeliveries(t, kcfg, dels...)
		time.Sleep(100 * time.Millisecond)
	}

	if !assert.Eventually(t, func() bool { return rv.distinct() == events }, kafkaWait, 50*time.Millisecond) {
		t.Fatalf("delivered %d of %d events; deferred %.0f, failed %.0f", rv.distinct(), events,
			metricValue(t, d.metrics.attempts.WithLabelValues("deferred")), metricValue(t, d.metrics.failed))
	}
	stored, ok := reg.Get(w.ID)
	require.True(t, ok)
	assert.True(t, stored.Enabled(), "a slow endpoint that responds 204 is not disabled")
	assert.Zero(t, metricValue(t, d.metrics.failed))
	assert.Zero(t, metricValue(t, d.metrics.skipped.WithLabelValues(ClassQueueFull)), "nothing was set aside in the failed topic")

	maxDeferrals := 0
	for _, m := range kafkatest.ReadAll(t, kcfg, RetryTopic(kcfg.Topics.WebhookEvents, 1), 1, 10*time.Second) {
		count, _ := readDeferral(m.Headers)
		maxDeferrals = max(maxDeferrals, count)
	}
	t.Logf("deferred %.0f times, at most %d times for one event", metricValue(t, d.metrics.attempts.WithLabelValues("deferred")), maxDeferrals)
	assert.GreaterOrEqual(t, maxDeferrals, 2, "a deferral read its count back from the broker")
}
