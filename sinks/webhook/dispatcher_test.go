package webhook

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clickstream/clickstream/pkg/event"
	"github.com/clickstream/clickstream/pkg/subscription"
)

const waitFor = 10 * time.Second

func TestDispatcherDeliversSigned(t *testing.T) {
	rv := &receiver{}
	srv := httptest.NewServer(rv)
	defer srv.Close()
	reg := subscription.NewRegistry()
	w := testWebhook(t, reg, "wh_fast", srv.URL)

	h := newHarness(t, testConfig(), reg, nil)
	h.start()
	defer h.stop(t)

	var dels []event.Delivery
	for i := range 50 {
		dels = append(dels, testDelivery(w.ID, i))
	}
	h.publish(t, dels...)

	require.Eventually(t, func() bool { return rv.count() == 50 }, waitFor, 10*time.Millisecond)
	require.Eventually(t, func() bool { return h.broker.committed("webhook-events") == 50 }, waitFor, 10*time.Millisecond)

	for _, r := range rv.received() {
		assert.NoError(t, VerifyStandard(r.header, r.body, w.Secrets, time.Now(), DefaultTolerance))
		assert.NoError(t, VerifyCodeQR(w.Secrets[0], r.body, r.header.Get(HeaderCodeQRSignature)))
	}
	require.Eventually(t, func() bool { return len(h.rec.Attempts()) == 50 }, waitFor, 10*time.Millisecond)
	for _, a := range h.rec.Attempts() {
		assert.Equal(t, OutcomeSuccess, a.Outcome)
		assert.True(t, a.Final)
		assert.Equal(t, 1, a.Number)
	}
}

func TestDispatcherRetryKeepsEventID(t *testing.T) {
	rv := &receiver{respond: func(n int, _ *http.Request) int {
		if n < 2 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}}
	srv := httptest.NewServer(rv)
	defer srv.Close()
	reg := subscription.NewRegistry()
	w := testWebhook(t, reg, "wh_flaky", srv.URL)

	h := newHarness(t, testConfig(), reg, nil)
	h.start()
	defer h.stop(t)
	del := testDelivery(w.ID, 1)
	h.publish(t, del)

	require.Eventually(t, func() bool { return rv.count() == 3 }, waitFor, 10*time.Millisecond)
	reqs := rv.received()
	for i, r := range reqs {
		assert.Equal(t, del.EventID, r.header.Get(HeaderWebhookID), "attempt %d", i+1)
		assert.JSONEq(t, string(del.Payload), string(r.body), "attempt %d", i+1)
		assert.NoError(t, VerifyStandard(r.header, r.body, w.Secrets, time.Now(), DefaultTolerance))
	}
	assert.GreaterOrEqual(t, reqs[1].at.Sub(reqs[0].at), 50*time.Millisecond, "the first retry waits for the first step")

	require.Eventually(t, func() bool { return len(h.rec.Attempts()) == 3 }, waitFor, 10*time.Millisecond)
	attempts := h.rec.Attempts()
	for i, a := range attempts {
		assert.Equal(t, i+1, a.Number)
		assert.Equal(t, del.EventID, a.EventID)
	}
	assert.Equal(t, ClassHTTP5xx, attempts[0].Class)
	assert.False(t, attempts[0].NextAttempt.IsZero())
	assert.False(t, attempts[0].Final)
	assert.True(t, attempts[2].Final)
	assert.Len(t, h.broker.written(RetryTopic("webhook-events", 1)), 1)
	assert.Len(t, h.broker.written(RetryTopic("webhook-events", 2)), 1)
}

func TestDispatcherExhaustedGoesToFailedTopic(t *testing.T) {
	rv := &receiver{respond: func(int, *http.Request) int { return http.StatusBadRequest }}
	srv := httptest.NewServer(rv)
	defer srv.Close()
	reg := subscription.NewRegistry()
	w := testWebhook(t, reg, "wh_broken", srv.URL)

	h := newHarness(t, testConfig(), reg, nil)
	h.start()
	defer h.stop(t)
	del := testDelivery(w.ID, 1)
	h.publish(t, del)

	failed := FailedTopic("webhook-events")
	require.Eventually(t, func() bool { return len(h.broker.written(failed)) == 1 }, waitFor, 10*time.Millisecond)
	var got event.Delivery
	require.NoError(t, json.Unmarshal(h.broker.written(failed)[0].Value, &got))
	assert.Equal(t, del.EventID, got.EventID)
	assert.Equal(t, 3, got.Attempt, "one attempt per step plus the first")
	assert.Equal(t, 3, rv.count())

	require.Eventually(t, func() bool { return len(h.rec.Attempts()) == 3 }, waitFor, 10*time.Millisecond)
	last := h.rec.Attempts()[2]
	assert.True(t, last.Final)
	assert.True(t, last.NextAttempt.IsZero())
	assert.Equal(t, ClassHTTP4xx, last.Class)
	assert.Equal(t, 1.0, metricValue(t, h.d.metrics.failed))
	require.Eventually(t, func() bool { return h.broker.committed(RetryTopic("webhook-events", 2)) == 1 }, waitFor, 10*time.Millisecond)
}

func TestDispatcherGoneDisables(t *testing.T) {
	rv := &receiver{respond: func(int, *http.Request) int { return http.StatusGone }}
	srv := httptest.NewServer(rv)
	defer srv.Close()
	reg := subscription.NewRegistry()
	w := testWebhook(t, reg, "wh_gone", srv.URL)

	h := newHarness(t, testConfig(), reg, nil)
	var mu sync.Mutex
	var disabled []string
	h.d.OnDisable = func(id, reason string) {
		mu.Lock()
		defer mu.Unlock()
		disabled = append(disabled, id+":"+reason)
	}
	h.start()
	defer h.stop(t)

	h.publish(t, testDelivery(w.ID, 1))
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(disabled) == 1 }, waitFor, 10*time.Millisecond)
	assert.Equal(t, []string{"wh_gone:gone"}, disabled)
	stored, ok := reg.Get(w.ID)
	require.True(t, ok)
	assert.False(t, stored.Enabled())
	assert.Equal(t, 1.0, metricValue(t, h.d.metrics.disabled.WithLabelValues(DisableGone)))

	// Later deliveries go to the failed topic without a request, like the
	// event that got the 410, so one replay covers both.
	h.publish(t, testDelivery(w.ID, 2))
	require.Eventually(t, func() bool { return metricValue(t, h.d.metrics.skipped.WithLabelValues("disabled")) == 1 }, waitFor, 10*time.Millisecond)
	assert.Equal(t, 1, rv.count())
	assert.Empty(t, h.broker.written(RetryTopic("webhook-events", 1)), "a 410 is not retried")
	require.Eventually(t, func() bool { return h.broker.committed("webhook-events") == 2 }, waitFor, 10*time.Millisecond)

	var failedIDs []string
	for _, m := range h.broker.written(FailedTopic("webhook-events")) {
		var d event.Delivery
		require.NoError(t, json.Unmarshal(m.Value, &d))
		failedIDs = append(failedIDs, d.EventID)
	}
	// Two flushers write to Kafka, so the records may come in either order.
	assert.ElementsMatch(t, []string{testDelivery(w.ID, 1).EventID, testDelivery(w.ID, 2).EventID}, failedIDs)
	assert.Equal(t, 1.0, metricValue(t, h.d.metrics.failed), "the event answered with 410 failed")
}

func TestDispatcherConsecutiveFailuresDisable(t *testing.T) {
	var mu sync.Mutex
	fail := true
	rv := &receiver{respond: func(int, *http.Request) int {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	}}
	srv := httptest.NewServer(rv)
	defer srv.Close()
	reg := subscription.NewRegistry()
	w := testWebhook(t, reg, "wh_down", srv.URL)

	cfg := testConfig()
	cfg.RetrySchedule = nil // every failed attempt fails its event
	cfg.MaxConsecutiveFailures = 3
	cfg.PerEndpointConcurrency = 1
	h := newHarness(t, cfg, reg, nil)
	reasons := make(chan string, 4)
	h.d.OnDisable = func(_, reason string) { reasons <- reason }
	h.start()
	defer h.stop(t)

	// Two failures, a success, then two failures: the success resets the count.
	h.publish(t, testDelivery(w.ID, 1), testDelivery(w.ID, 2))
	require.Eventually(t, func() bool { return rv.count() == 2 }, waitFor, 10*time.Millisecond)
	mu.Lock()
	fail = false
	mu.Unlock()
	h.publish(t, testDelivery(w.ID, 3))
	require.Eventually(t, func() bool { return rv.count() == 3 }, waitFor, 10*time.Millisecond)
	mu.Lock()
	fail = true
	mu.Unlock()
	h.publish(t, testDelivery(w.ID, 4), testDelivery(w.ID, 5))
	require.Eventually(t, func() bool { return rv.count() == 5 }, waitFor, 10*time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	assert.Empty(t, reasons, "a success in between resets the count")

	h.publish(t, testDelivery(w.ID, 6))
	select {
	case r := <-reasons:
		assert.Equal(t, DisableConsecutiveFailures, r)
	case <-time.After(waitFor):
		t.Fatal("webhook was not disabled after 3 failed events in a row")
	}
	stored, _ := reg.Get(w.ID)
	assert.False(t, stored.Enabled())
	assert.Equal(t, 1.0, metricValue(t, h.d.metrics.disabled.WithLabelValues(DisableConsecutiveFailures)))
}

func TestDispatcherDeletedWebhookSkipped(t *testing.T) {
	reg := subscription.NewRegistry()
	h := newHarness(t, testConfig(), reg, nil)
	h.start()
	defer h.stop(t)

	h.publish(t, testDelivery("wh_missing", 1))
	require.Eventually(t, func() bool { return h.broker.committed("webhook-events") == 1 }, waitFor, 10*time.Millisecond)
	assert.Equal(t, 1.0, metricValue(t, h.d.metrics.skipped.WithLabelValues("deleted")))
	assert.Empty(t, h.broker.written(FailedTopic("webhook-events")), "nothing could replay a deleted webhook's delivery")

	require.Eventually(t, func() bool { return len(h.rec.Attempts()) == 1 }, waitFor, 10*time.Millisecond)
	row := h.rec.Attempts()[0]
	assert.Equal(t, OutcomeSkipped, row.Outcome)
	assert.Equal(t, ClassDeleted, row.Class)
	assert.True(t, row.Final)
	assert.Equal(t, "wh_missing", row.WebhookID)
}

func TestDispatcherInvalidRecordSkipped(t *testing.T) {
	reg := subscription.NewRegistry()
	h := newHarness(t, testConfig(), reg, nil)
	h.start()
	defer h.stop(t)

	require.NoError(t, h.broker.WriteMessages(context.Background(), kafkaMessage("webhook-events", `{"eventId":"evt_1"}`), kafkaMessage("webhook-events", `not json`)))
	require.Eventually(t, func() bool { return h.broker.committed("webhook-events") == 2 }, waitFor, 10*time.Millisecond)
	assert.Equal(t, 2.0, metricValue(t, h.d.metrics.skipped.WithLabelValues("invalid")))
}

func TestDispatcherRefusedNotRetried(t *testing.T) {
	rv := &receiver{}
	srv := httptest.NewServer(rv)
	defer srv.Close()
	reg := subscription.NewRegistry()
	w := testWebhook(t, reg, "wh_internal", srv.URL)

	cfg := testConfig()
	cfg.AllowCIDRs = nil
	h := newHarness(t, cfg, reg, nil)
	h.start()
	defer h.stop(t)
	h.publish(t, testDelivery(w.ID, 1))

	failed := FailedTopic("webhook-events")
	require.Eventually(t, func() bool { return len(h.broker.written(failed)) == 1 }, waitFor, 10*time.Millisecond)
	assert.Zero(t, rv.count())
	assert.Empty(t, h.broker.written(RetryTopic("webhook-events", 1)))
	require.Eventually(t, func() bool { return len(h.rec.Attempts()) == 1 }, waitFor, 10*time.Millisecond)
	assert.Equal(t, ClassRefused, h.rec.Attempts()[0].Class)
}

func TestDispatcherQueueFullDefers(t *testing.T) {
	release := make(chan struct{})
	rv := &receiver{respond: func(int, *http.Request) int { <-release; return http.StatusOK }}
	srv := httptest.NewServer(rv)
	defer srv.Close()
	defer close(release)
	reg := subscription.NewRegistry()
	w := testWebhook(t, reg, "wh_slow", srv.URL)

	cfg := testConfig()
	cfg.PerEndpointConcurrency = 1
	cfg.QueueSize = 1
	cfg.RetrySchedule = []time.Duration{time.Hour}
	h := newHarness(t, cfg, reg, nil)
	h.start()
	defer h.stop(t)

	// The first is sent, the second waits in the queue, the third and
	// fourth find the queue full.
	h.publish(t, testDelivery(w.ID, 1))
	require.Eventually(t, func() bool { return rv.count() == 1 }, waitFor, 5*time.Millisecond)
	h.publish(t, testDelivery(w.ID, 2), testDelivery(w.ID, 3), testDelivery(w.ID, 4))

	retry := RetryTopic("webhook-events", 1)
	require.Eventually(t, func() bool { return len(h.broker.written(retry)) == 2 }, waitFor, 5*time.Millisecond)
	for _, m := range h.broker.written(retry) {
		var d event.Delivery
		require.NoError(t, json.Unmarshal(m.Value, &d))
		assert.Equal(t, 1, d.Attempt, "a deferral keeps the attempt number")
		assert.True(t, d.NotBefore.After(time.Now().Add(50*time.Minute)))
		count, since := readDeferral(m.Headers)
		assert.Equal(t, 1, count)
		assert.WithinDuration(t, time.Now(), since, waitFor)
	}
	assert.Equal(t, 2.0, metricValue(t, h.d.metrics.attempts.WithLabelValues("deferred")))
	assert.Equal(t, 1.0, metricValue(t, h.d.metrics.queued))
}

func TestDispatcherQueueWaitDefers(t *testing.T) {
	release := make(chan struct{})
	rv := &receiver{respond: func(int, *http.Request) int { <-release; return http.StatusOK }}
	srv := httptest.NewServer(rv)
	defer srv.Close()
	defer close(release)
	reg := subscription.NewRegistry()
	w := testWebhook(t, reg, "wh_stalled", srv.URL)

	cfg := testConfig()
	cfg.PerEndpointConcurrency = 1
	cfg.MaxQueueWait = 100 * time.Millisecond
	cfg.RetrySchedule = []time.Duration{time.Hour}
	h := newHarness(t, cfg, reg, nil)
	h.start()
	defer h.stop(t)

	h.publish(t, testDelivery(w.ID, 1), testDelivery(w.ID, 2), testDelivery(w.ID, 3))
	retry := RetryTopic("webhook-events", 1)
	require.Eventually(t, func() bool { return len(h.broker.written(retry)) == 2 }, waitFor, 10*time.Millisecond)
	// The two deferred records finished, but the one in flight holds the
	// committed offset at the start.
	time.Sleep(100 * time.Millisecond)
	assert.Equal(t, int64(0), h.broker.committed("webhook-events"))
	assert.Equal(t, 0.0, metricValue(t, h.d.metrics.queued))
}

func TestDispatcherShutdownLeavesInFlightUncommitted(t *testing.T) {
	release := make(chan struct{})
	rv := &receiver{respond: func(int, *http.Request) int { <-release; return http.StatusOK }}
	srv := httptest.NewServer(rv)
	defer srv.Close()
	defer close(release)
	reg := subscription.NewRegistry()
	w := testWebhook(t, reg, "wh_hang", srv.URL)

	cfg := testConfig()
	cfg.DrainTimeout = 200 * time.Millisecond
	h := newHarness(t, cfg, reg, nil)
	h.start()
	h.publish(t, testDelivery(w.ID, 1))
	require.Eventually(t, func() bool { return rv.count() == 1 }, waitFor, 5*time.Millisecond)

	start := time.Now()
	h.stop(t)
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Equal(t, int64(0), h.broker.committed("webhook-events"))
	assert.Empty(t, h.broker.written(RetryTopic("webhook-events", 1)), "a canceled request is not a failure")
}

func TestDispatcherShutdownDrainsInFlight(t *testing.T) {
	rv := &receiver{respond: func(int, *http.Request) int { time.Sleep(300 * time.Millisecond); return http.StatusOK }}
	srv := httptest.NewServer(rv)
	defer srv.Close()
	reg := subscription.NewRegistry()
	w := testWebhook(t, reg, "wh_slowish", srv.URL)

	h := newHarness(t, testConfig(), reg, nil)
	h.start()
	h.publish(t, testDelivery(w.ID, 1))
	require.Eventually(t, func() bool { return rv.count() == 1 }, waitFor, 5*time.Millisecond)

	h.stop(t)
	assert.Equal(t, int64(1), h.broker.committed("webhook-events"), "the request finished within the drain timeout")
}

func TestDeliverNow(t *testing.T) {
	rv := &receiver{}
	srv := httptest.NewServer(rv)
	defer srv.Close()
	reg := subscription.NewRegistry()
	w := testWebhook(t, reg, "wh_now", srv.URL)
	h := newHarness(t, testConfig(), reg, nil)

	at, err := h.d.DeliverNow(context.Background(), testDelivery(w.ID, 1))
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, at.StatusCode)
	assert.Len(t, h.rec.Attempts(), 1)

	_, err = h.d.DeliverNow(context.Background(), testDelivery("wh_other", 1))
	assert.ErrorIs(t, err, ErrWebhookNotFound)
}
