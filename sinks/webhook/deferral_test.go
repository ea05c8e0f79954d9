package webhook

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clickstream/clickstream/pkg/event"
	"github.com/clickstream/clickstream/pkg/subscription"
)

// slowReceiver responds 204 to every request after delay and records the
// event ids it got.
type slowReceiver struct {
	delay time.Duration
	mu    sync.Mutex
	ids   map[string]int
}

func (s *slowReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	time.Sleep(s.delay)
	s.mu.Lock()
	s.ids[r.Header.Get(HeaderWebhookID)]++
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *slowReceiver) distinct() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ids)
}

// TestDispatcherSlowEndpointGetsEveryEvent sends a burst to an endpoint
// that responds 204 to every request, but too slowly for its queue. The
// deferrals must neither use up the retry schedule nor count as failures,
// so the webhook stays enabled and gets every event.
func TestDispatcherSlowEndpointGetsEveryEvent(t *testing.T) {
	rv := &slowReceiver{delay: 40 * time.Millisecond, ids: map[string]int{}}
	srv := httptest.NewServer(rv)
	defer srv.Close()
	reg := subscription.NewRegistry()
	w := testWebhook(t, reg, "wh_slow_ok", srv.URL)

	cfg := testConfig()
	cfg.PerEndpointConcurrency = 2
	cfg.QueueSize = 4
	cfg.QueueFullWait = 0
	cfg.MaxQueueWait = 100 * time.Millisecond
	cfg.RetrySchedule = []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}
	cfg.MaxConsecutiveFailures = 2
	h := newHarness(t, cfg, reg, nil)
	var mu sync.Mutex
	var disabled []string
	h.d.OnDisable = func(id, reason string) {
		mu.Lock()
		defer mu.Unlock()
		disabled = append(disabled, id+":"+reason)
	}
	h.start()
	defer h.stop(t)

	const events = 60
	var dels []event.Delivery
	for i := range events {
		dels = append(dels, testDelivery(w.ID, i))
	}
	h.publish(t, dels...)

	if !assert.Eventually(t, func() bool { return rv.distinct() == events }, 30*time.Second, 10*time.Millisecond) {
		t.Fatalf("delivered %d of %d events; deferred %.0f, failed %.0f", rv.distinct(), events,
			metricValue(t, h.d.metrics.attempts.WithLabelValues("deferred")), metricValue(t, h.d.metrics.failed))
	}
	assert.Positive(t, metricValue(t, h.d.metrics.attempts.WithLabelValues("deferred")), "the burst was deferred")
	mu.Lock()
	assert.Empty(t, disabled, "a slow endpoint that answers 204 is not disabled")
	mu.Unlock()
	stored, ok := reg.Get(w.ID)
	require.True(t, ok)
	assert.True(t, stored.Enabled())
	assert.Empty(t, h.broker.written(FailedTopic("webhook-events")), "no event failed")
	assert.Zero(t, metricValue(t, h.d.metrics.failed))

	require.Eventually(t, func() bool { return h.broker.committed("webhook-events") == events }, waitFor, 10*time.Millisecond)
	for _, a := range h.rec.Attempts() {
		if a.Outcome == OutcomeSuccess {
			assert.Equal(t, 1, a.Number, "event %s: deferrals keep the attempt number", a.EventID)
		}
	}
	for _, m := range h.broker.written(RetryTopic("webhook-events", 1)) {
		var d event.Delivery
		require.NoError(t, json.Unmarshal(m.Value, &d))
		assert.Equal(t, 1, d.Attempt, "deferred record of %s", d.EventID)
	}
}

func TestDeferralStep(t *testing.T) {
	schedule := []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, time.Hour}
	tests := []struct {
		name        string
		deferredFor time.Duration
		step        int
		delay       time.Duration
	}{
		{"first deferral", 0, 1, 5 * time.Second},
		{"deferred for less than twice the second step", 59 * time.Second, 1, 5 * time.Second},
		{"deferred for twice the second step", time.Minute, 2, 30 * time.Second},
		{"deferred for twice the third step", 4 * time.Minute, 3, 2 * time.Minute},
		{"deferred for just under twice the last step", 2*time.Hour - time.Second, 3, 2 * time.Minute},
		{"deferred for longer than the schedule", 48 * time.Hour, 4, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step, delay := deferralStep(schedule, tt.deferredFor)
			assert.Equal(t, tt.step, step)
			assert.Equal(t, tt.delay, delay)
		})
	}
}

// deferralsUntilSetAside follows one attempt that is deferred every time it
// comes back, without jitter, and returns how many retry-topic records it
// costs and how long it stays deferred before it is set aside.
func deferralsUntilSetAside(schedule []time.Duration) (int, time.Duration) {
	span := maxDeferralSpan(schedule)
	records, deferredFor := 0, time.Duration(0)
	for records < defaultMaxDeferrals && deferredFor < span {
		_, delay := deferralStep(schedule, deferredFor)
		records++
		deferredFor += delay
	}
	return records, deferredFor
}

func TestDeferralRecordsPerAttemptBounded(t *testing.T) {
	records, span := deferralsUntilSetAside(DefaultConfig().RetrySchedule)
	t.Logf("default schedule: %d records over %s", records, span)
	assert.LessOrEqual(t, records, 40, "records per deferred attempt with the default schedule")
	assert.GreaterOrEqual(t, span, 24*time.Hour, "a deferred attempt is kept for at least a day")
	assert.Less(t, span, 31*time.Hour, "and set aside within the last wait after a day")

	short := []time.Duration{2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second}
	records, span = deferralsUntilSetAside(short)
	t.Logf("schedule 2s, 5s, 10s, 30s: %d records over %s", records, span)
	assert.Equal(t, defaultMaxDeferrals, records, "the count limit applies when the last step is short")
	assert.Greater(t, span, 45*time.Minute)
}

func TestReadDeferral(t *testing.T) {
	since := time.UnixMilli(1_700_000_000_123)
	tests := []struct {
		name    string
		headers []kafkago.Header
		count   int
		since   time.Time
	}{
		{"none", nil, 0, time.Time{}},
		{"both", []kafkago.Header{{Key: headerDeferrals, Value: []byte("3")}, {Key: headerDeferredSince, Value: []byte("1700000000123")}}, 3, since},
		{"count only", []kafkago.Header{{Key: headerDeferrals, Value: []byte("3")}}, 0, time.Time{}},
		{"invalid count", []kafkago.Header{{Key: headerDeferrals, Value: []byte("x")}, {Key: headerDeferredSince, Value: []byte("1700000000123")}}, 0, time.Time{}},
		{"invalid time", []kafkago.Header{{Key: headerDeferrals, Value: []byte("3")}, {Key: headerDeferredSince, Value: []byte("-5")}}, 0, time.Time{}},
		{"other headers", []kafkago.Header{{Key: "traceparent", Value: []byte("00-1")}}, 0, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			count, got := readDeferral(tt.headers)
			assert.Equal(t, tt.count, count)
			assert.True(t, tt.since.Equal(got), "since %s, want %s", got, tt.since)
		})
	}
}

// stalledHarness starts a dispatcher whose only webhook hangs on its first
// request until the test ends, with room for one delivery in flight and
// none queued, so every later delivery is deferred.
func stalledHarness(t *testing.T, cfg Config) (*harness, subscription.Webhook) {
	t.Helper()
	release := make(chan struct{})
	rv := &receiver{respond: func(int, *http.Request) int { <-release; return http.StatusOK }}
	srv := httptest.NewServer(rv)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })

	reg := subscription.NewRegistry()
	w := testWebhook(t, reg, "wh_stalled", srv.URL)
	cfg.PerEndpointConcurrency = 1
	cfg.QueueSize = 1
	cfg.QueueFullWait = 0
	cfg.MaxConsecutiveFailures = 1
	h := newHarness(t, cfg, reg, nil)
	h.start()
	t.Cleanup(func() { h.stop(t) })

	h.publish(t, testDelivery(w.ID, 0))
	require.Eventually(t, func() bool { return rv.count() == 1 }, waitFor, 5*time.Millisecond)
	h.publish(t, testDelivery(w.ID, 1))
	require.Eventually(t, func() bool { return metricValue(t, h.d.metrics.queued) == 1 }, waitFor, 5*time.Millisecond)
	return h, w
}

func TestDispatcherDeferralLimitSetsAside(t *testing.T) {
	cfg := testConfig()
	cfg.RetrySchedule = []time.Duration{20 * time.Millisecond}
	cfg.MaxQueueWait = time.Minute
	h, w := stalledHarness(t, cfg)
	h.d.maxDeferrals = 3

	del := testDelivery(w.ID, 2)
	h.publish(t, del)

	failed := FailedTopic("webhook-events")
	require.Eventually(t, func() bool { return len(h.broker.written(failed)) == 1 }, waitFor, 5*time.Millisecond)
	var got event.Delivery
	require.NoError(t, json.Unmarshal(h.broker.written(failed)[0].Value, &got))
	assert.Equal(t, del.EventID, got.EventID)
	assert.Equal(t, 1, got.Attempt, "the set-aside record keeps the attempt number")

	retries := h.broker.written(RetryTopic("webhook-events", 1))
	require.Len(t, retries, 3, "deferred three times, then set aside")
	_, first := readDeferral(retries[0].Headers)
	for i, m := range retries {
		count, since := readDeferral(m.Headers)
		assert.Equal(t, i+1, count, "record %d", i)
		assert.True(t, first.Equal(since), "record %d keeps the start of the first deferral", i)
	}

	stored, _ := h.reg.Get(w.ID)
	assert.True(t, stored.Enabled(), "a deferred delivery is no failure of the webhook")
	h.d.failMu.Lock()
	assert.Zero(t, h.d.failures[w.ID])
	h.d.failMu.Unlock()
	assert.Zero(t, metricValue(t, h.d.metrics.failed))
	assert.Equal(t, 1.0, metricValue(t, h.d.metrics.skipped.WithLabelValues(ClassQueueFull)))
	assert.Equal(t, 3.0, metricValue(t, h.d.metrics.attempts.WithLabelValues("deferred")))

	// One row for the first deferral (the step never changes) and the last.
	require.Eventually(t, func() bool { return len(h.rec.Attempts()) == 2 }, waitFor, 10*time.Millisecond)
	rows := h.rec.Attempts()
	assert.Equal(t, OutcomeDeferred, rows[0].Outcome)
	assert.Equal(t, ClassQueueFull, rows[0].Class)
	assert.False(t, rows[0].Final)
	assert.False(t, rows[0].NextAttempt.IsZero())
	assert.Equal(t, OutcomeSkipped, rows[1].Outcome)
	assert.Equal(t, ClassQueueFull, rows[1].Class)
	assert.True(t, rows[1].Final)
	assert.True(t, rows[1].NextAttempt.IsZero())
	for _, r := range rows {
		assert.Equal(t, 1, r.Number)
		assert.Equal(t, w.URL, r.URL)
	}
	require.Eventually(t, func() bool { return h.broker.committed(RetryTopic("webhook-events", 1)) == 3 }, waitFor, 10*time.Millisecond)
}

func TestDispatcherDeferralSpanSetsAside(t *testing.T) {
	cfg := testConfig()
	cfg.RetrySchedule = []time.Duration{20 * time.Millisecond, 40 * time.Millisecond}
	cfg.MaxQueueWait = time.Minute
	h, w := stalledHarness(t, cfg)
	h.d.maxDeferralSpan = 500 * time.Millisecond

	h.publish(t, testDelivery(w.ID, 2))
	failed := FailedTopic("webhook-events")
	require.Eventually(t, func() bool { return len(h.broker.written(failed)) == 1 }, waitFor, 5*time.Millisecond)

	// Waits of 20 ms until the delivery has been deferred for 80 ms, then
	// of 40 ms, so about 14 records, far below the count limit.
	retries := len(h.broker.written(RetryTopic("webhook-events", 1))) + len(h.broker.written(RetryTopic("webhook-events", 2)))
	assert.Greater(t, retries, 3)
	assert.Less(t, retries, 25)
	assert.NotEmpty(t, h.broker.written(RetryTopic("webhook-events", 2)), "the wait grows to the second step")

	// Rows: the first deferral, the move to the second step, the set-aside.
	require.Eventually(t, func() bool { return len(h.rec.Attempts()) == 3 }, waitFor, 10*time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	assert.Len(t, h.rec.Attempts(), 3)
	stored, _ := h.reg.Get(w.ID)
	assert.True(t, stored.Enabled())
}

func TestDispatcherNoScheduleSetsAsideDeferred(t *testing.T) {
	cfg := testConfig()
	cfg.RetrySchedule = nil
	h, w := stalledHarness(t, cfg)

	h.publish(t, testDelivery(w.ID, 2))
	require.Eventually(t, func() bool { return len(h.broker.written(FailedTopic("webhook-events"))) == 1 }, waitFor, 5*time.Millisecond)
	assert.Equal(t, 1.0, metricValue(t, h.d.metrics.skipped.WithLabelValues(ClassQueueFull)))
	assert.Zero(t, metricValue(t, h.d.metrics.failed))
	stored, _ := h.reg.Get(w.ID)
	assert.True(t, stored.Enabled(), "MaxConsecutiveFailures is 1, and a deferral is no failure")
}
