package webhook

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clickstream/clickstream/pkg/event"
	"github.com/clickstream/clickstream/pkg/subscription"
)

// TestDispatcherDisabledSetAsideForReplay disables a webhook after two
// failed events while three more wait for it. The three must go to the
// failed topic unsent, and writing the failed topic's records back after
// enabling the webhook, as the replay API does, must deliver all five.
func TestDispatcherDisabledSetAsideForReplay(t *testing.T) {
	rv := &receiver{respond: func(n int, _ *http.Request) int {
		if n < 2 {
			return http.StatusInternalServerError
		}
		return http.StatusNoContent
	}}
	srv := httptest.NewServer(rv)
	defer srv.Close()
	reg := subscription.NewRegistry()
	w := testWebhook(t, reg, "wh_off", srv.URL)

	cfg := testConfig()
	cfg.RetrySchedule = nil // every failed attempt fails its event
	cfg.MaxConsecutiveFailures = 2
	cfg.PerEndpointConcurrency = 1
	h := newHarness(t, cfg, reg, nil)
	h.start()
	defer h.stop(t)

	const events = 5
	want := make([]string, 0, events)
	var dels []event.Delivery
	for i := range events {
		d := testDelivery(w.ID, i)
		dels = append(dels, d)
		want = append(want, d.EventID)
	}
	h.publish(t, dels...)

	failed := FailedTopic("webhook-events")
	require.Eventually(t, func() bool { return len(h.broker.written(failed)) == events }, waitFor, 10*time.Millisecond)
	assert.Equal(t, 2, rv.count(), "only the first two were sent")
	stored, _ := reg.Get(w.ID)
	require.False(t, stored.Enabled())
	assert.Equal(t, DisableConsecutiveFailures, stored.DisabledReason)
	assert.Equal(t, 2.0, metricValue(t, h.d.metrics.failed))
	assert.Equal(t, 3.0, metricValue(t, h.d.metrics.skipped.WithLabelValues(ClassDisabled)))
	require.Eventually(t, func() bool { return h.broker.committed("webhook-events") == events }, waitFor, 10*time.Millisecond)

	require.Eventually(t, func() bool { return len(h.rec.Attempts()) == events }, waitFor, 10*time.Millisecond)
	classes := map[string]int{}
	for _, a := range h.rec.Attempts() {
		assert.True(t, a.Final, "event %s", a.EventID)
		classes[a.Class]++
		if a.Class == ClassDisabled {
			assert.Equal(t, OutcomeSkipped, a.Outcome)
			assert.Equal(t, w.URL, a.URL)
			assert.Zero(t, a.StatusCode)
		}
	}
	assert.Equal(t, map[string]int{ClassHTTP5xx: 2, ClassDisabled: 3}, classes)

	// Enable the webhook and write the failed records back as first
	// attempts.
	stored.DisabledAt, stored.DisabledReason = nil, ""
	require.NoError(t, reg.Put(stored))
	var replay []event.Delivery
	for _, m := range h.broker.written(failed) {
		var d event.Delivery
		require.NoError(t, json.Unmarshal(m.Value, &d))
		d.Attempt = 1
		replay = append(replay, d)
	}
	h.publish(t, replay...)

	require.Eventually(t, func() bool { return rv.count() == 2+events }, waitFor, 10*time.Millisecond)
	var got []string
	for _, r := range rv.received()[2:] {
		got = append(got, r.header.Get(HeaderWebhookID))
	}
	sort.Strings(got)
	sort.Strings(want)
	assert.Equal(t, want, got, "every event arrives after the replay")
}

// TestDispatcherDisabledSkipIsNoFailure checks that deliveries set aside
// for a disabled webhook count neither towards MaxConsecutiveFailures nor
// as failed deliveries.
func TestDispatcherDisabledSkipIsNoFailure(t *testing.T) {
	reg := subscription.NewRegistry()
	w := testWebhook(t, reg, "wh_paused", "http://127.0.0.1:1/unused")
	_, ok := reg.Disable(w.ID, time.Now(), subscription.DisabledManually)
	require.True(t, ok)

	h := newHarness(t, testConfig(), reg, nil)
	h.start()
	defer h.stop(t)
	h.publish(t, testDelivery(w.ID, 1), testDelivery(w.ID, 2))

	require.Eventually(t, func() bool { return len(h.broker.written(FailedTopic("webhook-events"))) == 2 }, waitFor, 10*time.Millisecond)
	h.d.failMu.Lock()
	assert.Zero(t, h.d.failures[w.ID])
	h.d.failMu.Unlock()
	assert.Zero(t, metricValue(t, h.d.metrics.failed))
	assert.Zero(t, metricValue(t, h.d.metrics.attempts.WithLabelValues(OutcomeSkipped.String())), "a skip is no attempt")
}
