//go:build integration

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/clickstream/clickstream/pkg/admin"
	"github.com/clickstream/clickstream/pkg/catalog"
	"github.com/clickstream/clickstream/pkg/changefeed"
	"github.com/clickstream/clickstream/pkg/event"
	"github.com/clickstream/clickstream/pkg/kafka/kafkatest"
	"github.com/clickstream/clickstream/pkg/subscription"
	"github.com/clickstream/clickstream/sinks/clickhouse"
	"github.com/clickstream/clickstream/sinks/webhook"
)

const adminToken = "integration-admin-token"

// The project of linkID and unscopedLinkID in configs/catalog.yaml.
const linkProject = "cm022sis60003ikt1syy7kfhl"

// maxPropagation is the time within which a change made through the admin
// API or the catalog topic must take effect in every process.
const maxPropagation = 5 * time.Second

// hookRequest is one request that the recording receiver got.
type hookRequest struct {
	at     time.Time
	header http.Header
	body   []byte
}

// hookRecorder records deliveries by webhook id, the last path segment
// of /hooks/{id}, and responds with a status code chosen per webhook.
type hookRecorder struct {
	mu       sync.Mutex
	requests map[string][]hookRequest
	status   map[string]int
}

func newHookRecorder(t *testing.T) (*hookRecorder, string) {
	rec := &hookRecorder{requests: map[string][]hookRequest{}, status: map[string]int{}}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return rec, srv.URL + "/hooks/"
}

func (h *hookRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/hooks/")
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))

	h.mu.Lock()
	h.requests[id] = append(h.requests[id], hookRequest{at: time.Now(), header: r.Header.Clone(), body: body})
	status := h.status[id]
	h.mu.Unlock()

	if status == 0 {
		status = http.StatusNoContent
	}
	w.WriteHeader(status)
}

func (h *hookRecorder) got(id string) []hookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookRequest(nil), h.requests[id]...)
}

func (h *hookRecorder) respond(id string, status int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.status[id] = status
}

// adminStack is the pipeline of e2e_integration_test.go following the
// change feeds, and an admin API that runs as if in another process: it
// has its own registry, which follows the webhooks topic.
type adminStack struct {
	p        *pipeline
	apiURL   string
	hooks    *hookRecorder
	hooksURL string
}

func startAdminStack(t *testing.T) *adminStack {
	t.Helper()
	// Two quick attempts, so a failing delivery reaches the failed topic
	// within seconds.
	return startAdminStackWithRetry(t, 200*time.Millisecond)
}

// startAdminStackWithRetry is startAdminStack with one retry step of the
// given length, so that a failed first attempt can wait in the retry topic
// long enough for a test to change the webhook meanwhile.
func startAdminStackWithRetry(t *testing.T, step time.Duration) *adminStack {
	t.Helper()
	rt, rcv := newRuntime(t, 2)
	rt.cfg.Dispatcher.RetrySchedule = []time.Duration{step}
	ctx := context.Background()

	stopFeeds, err := rt.followFeeds(ctx, feedSelection{webhooks: true, catalog: true, required: true})
	require.NoError(t, err)
	t.Cleanup(stopFeeds)
	p := startPipeline(t, rt, rcv)

	s := &adminStack{p: p}
	s.hooks, s.hooksURL = newHookRecorder(t)
	s.apiURL = startAdminAPI(t, rt)

	// The first hit waits for the worker's consumer group to form; later
	// hits measure only the pipeline's latency.
	p.get(t, http.MethodGet, "codeqr.link", "/79ys3WA", "81.2.69.142", chromeMac, "")
	waitUntil(t, 60*time.Second, "the warm-up delivery", func() bool { return rcv.Stats().Verified >= 1 })
	return s
}

// startAdminAPI serves the admin API with its own registry, feed, delivery
// log and replayer, and returns its base URL.
func startAdminAPI(t *testing.T, rt *runtime) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	reg := subscription.NewRegistry()
	apply := func(r changefeed.Record) error { return reg.ApplyRecord(r.Key, r.Value) }
	feed := changefeed.NewFeed(rt.cfg.Kafka, rt.cfg.Kafka.Topics.Webhooks, apply, changefeed.FeedOptions{}, rt.log)
	done := make(chan struct{})
	go func() { defer close(done); _ = feed.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; feed.Close() })

	readyCtx, readyCancel := context.WithTimeout(ctx, 30*time.Second)
	defer readyCancel()
	require.NoError(t, feed.WaitReady(readyCtx))

	ch, err := clickhouse.Open(ctx, rt.cfg.ClickHouse, rt.log)
	require.NoError(t, err)
	t.Cleanup(func() { ch.Close() })
	replayer := admin.NewKafkaReplayer(rt.cfg.Kafka, 100, 10000, rt.log)
	t.Cleanup(func() { replayer.Close() })

	cfg := admin.DefaultConfig()
	cfg.Tokens = []string{adminToken}
	srv, err := admin.New(cfg, admin.Deps{
		Webhooks: subscription.NewStore(reg, feed, rt.log), Deliveries: ch, Replayer: replayer, Log: rt.log,
		Catalog: rt.catalog, AllowCIDRs: rt.cfg.Dispatcher.AllowCIDRs,
	})
	require.NoError(t, err)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return hs.URL
}

// call sends one admin API request and decodes the JSON response.
func (s *adminStack) call(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.apiURL+path, rd)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()

	out := map[string]any{}
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &out), "response %s", raw)
	}
	return resp.StatusCode, out
}

// createHook creates a link.clicked webhook on unscopedLinkID that posts
// to the recorder, and returns its id and secret.
func (s *adminStack) createHook(t *testing.T, id string) string {
	t.Helper()
	status, out := s.call(t, http.MethodPost, "/v1/webhooks", map[string]any{
		"id": id, "projectId": linkProject, "url": s.hooksURL + id,
		"triggers": []string{event.TypeLinkClicked}, "linkIds": []string{unscopedLinkID},
	})
	require.Equal(t, http.StatusCreated, status, "%v", out)
	return out["secret"].(string)
}

// click sends one visit of unscopedLinkID (codeqr.link/sOvvXDT) through the edge.
func (s *adminStack) click(t *testing.T, ip string) {
	t.Helper()
	resp := s.p.get(t, http.MethodGet, "codeqr.link", "/sOvvXDT", ip, chromeMac, "")
	require.Equal(t, http.StatusFound, resp.StatusCode)
}

func (s *adminStack) waitDelivered(t *testing.T, id string, n int, timeout time.Duration) []hookRequest {
	t.Helper()
	waitUntil(t, timeout, "a delivery to "+id, func() bool { return len(s.hooks.got(id)) >= n })
	return s.hooks.got(id)
}

func TestAdminCreatedWebhookGetsFirstEvent(t *testing.T) {
	s := startAdminStack(t)

	created := time.Now()
	secret := s.createHook(t, "wh_api_first")
	clicked := time.Now()
	s.click(t, "81.2.69.150")

	got := s.waitDelivered(t, "wh_api_first", 1, 30*time.Second)
	sinceCreate, sinceClick := got[0].at.Sub(created), got[0].at.Sub(clicked)
	t.Logf("first delivery %s after the create request, %s after the click", sinceCreate, sinceClick)
	require.Less(t, sinceCreate, maxPropagation, "create through the API to first delivery")

	d := got[0]
	require.NoError(t, webhook.VerifyCodeQR(secret, d.body, d.header.Get(webhook.HeaderCodeQRSignature)))
	require.NoError(t, webhook.VerifyStandard(d.header, d.body, []string{secret}, time.Now(), webhook.DefaultTolerance))
	var env event.Envelope
	require.NoError(t, json.Unmarshal(d.body, &env))
	require.Equal(t, event.TypeLinkClicked, env.Event)
	require.Equal(t, unscopedLinkID, env.Data.Link.ID)

	waitUntil(t, 30*time.Second, "the attempt in the delivery log", func() bool {
		_, out := s.call(t, http.MethodGet, "/v1/webhooks/wh_api_first/deliveries?limit=10", nil)
		data, _ := out["data"].([]any)
		return len(data) == 1 && data[0].(map[string]any)["eventId"] == env.ID
	})
}

func TestAdminDisabledWebhookGetsNothing(t *testing.T) {
	s := startAdminStack(t)
	s.createHook(t, "wh_api_on")
	s.createHook(t, "wh_api_off")
	status, out := s.call(t, http.MethodPost, "/v1/webhooks/wh_api_off/disable", nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, false, out["enabled"])

	s.click(t, "81.2.69.151")
	s.waitDelivered(t, "wh_api_on", 1, 30*time.Second)
	// Both webhooks match the same hit, so a delivery to the disabled one
	// would have been sent with the enabled one's.
	time.Sleep(2 * time.Second)
	require.Empty(t, s.hooks.got("wh_api_off"), "a disabled webhook receives nothing")

	status, _ = s.call(t, http.MethodPost, "/v1/webhooks/wh_api_off/enable", nil)
	require.Equal(t, http.StatusOK, status)
	time.Sleep(time.Second)
	s.click(t, "81.2.69.152")
	s.waitDelivered(t, "wh_api_off", 1, 30*time.Second)
}

func TestAdminRotationSignsWithBothSecrets(t *testing.T) {
	s := startAdminStack(t)
	oldSecret := s.createHook(t, "wh_api_rotate")
	status, out := s.call(t, http.MethodPost, "/v1/webhooks/wh_api_rotate/rotate-secret", nil)
	require.Equal(t, http.StatusOK, status, "%v", out)
	newSecret := out["secret"].(string)
	waitUntil(t, maxPropagation, "the rotation in the pipeline's registry", func() bool {
		w, _ := s.p.rt.webhooks.Get("wh_api_rotate")
		return len(w.Secrets) == 2
	})

	s.click(t, "81.2.69.153")
	d := s.waitDelivered(t, "wh_api_rotate", 1, 30*time.Second)[0]

	require.Len(t, strings.Fields(d.header.Get(webhook.HeaderWebhookSignature)), 2, "one signature per active secret")
	now := time.Now()
	require.NoError(t, webhook.VerifyStandard(d.header, d.body, []string{oldSecret}, now, webhook.DefaultTolerance), "old secret")
	require.NoError(t, webhook.VerifyStandard(d.header, d.body, []string{newSecret}, now, webhook.DefaultTolerance), "new secret")
	require.NoError(t, webhook.VerifyCodeQR(newSecret, d.body, d.header.Get(webhook.HeaderCodeQRSignature)), "CodeQR-Signature uses the newest secret")
}

func TestAdminAutoDisableReachesEveryProcess(t *testing.T) {
	s := startAdminStack(t)
	s.hooks.respond("wh_api_gone", http.StatusGone)
	s.createHook(t, "wh_api_gone")

	s.click(t, "81.2.69.154")
	s.waitDelivered(t, "wh_api_gone", 1, 30*time.Second)
	waitUntil(t, 15*time.Second, "the admin API to see the dispatcher's disabling", func() bool {
		_, out := s.call(t, http.MethodGet, "/v1/webhooks/wh_api_gone", nil)
		return out["enabled"] == false && out["disabledReason"] == webhook.DisableGone
	})
}

func TestAdminReplaysFailedDelivery(t *testing.T) {
	s := startAdminStack(t)
	s.hooks.respond("wh_api_replay", http.StatusInternalServerError)
	s.createHook(t, "wh_api_replay")
	from := time.Now().Add(-time.Minute)

	s.click(t, "81.2.69.155")
	failed := s.waitDelivered(t, "wh_api_replay", 2, 30*time.Second)[0]
	failedTopic := webhook.FailedTopic(s.p.rt.cfg.Kafka.Topics.WebhookEvents)
	require.Len(t, kafkatest.ReadAll(t, s.p.rt.cfg.Kafka, failedTopic, 1, 30*time.Second), 1)

	s.hooks.respond("wh_api_replay", http.StatusNoContent)
	status, out := s.call(t, http.MethodPost, "/v1/webhooks/wh_api_replay/replay", map[string]any{
		"from": from.Format(time.RFC3339), "to": time.Now().Add(time.Minute).Format(time.RFC3339),
	})
	require.Equal(t, http.StatusAccepted, status, "%v", out)
	require.Equal(t, float64(1), out["replayed"])

	again := s.waitDelivered(t, "wh_api_replay", 3, 30*time.Second)[2]
	require.Equal(t, failed.header.Get(webhook.HeaderWebhookID), again.header.Get(webhook.HeaderWebhookID), "the replay keeps the event id")
	require.Equal(t, failed.body, again.body, "and the payload")
}

// TestAdminReplaysDeliverySkippedWhileDisabled disables a webhook while
// its event waits for a retry. The retry must go to the failed topic
// unsent, with a "disabled" row in the delivery log, and a replay after
// enabling the webhook must deliver it with its event id.
func TestAdminReplaysDeliverySkippedWhileDisabled(t *testing.T) {
	const id = "wh_api_paused"
	s := startAdminStackWithRetry(t, 10*time.Second)
	s.hooks.respond(id, http.StatusInternalServerError)
	s.createHook(t, id)
	from := time.Now().Add(-time.Minute)

	s.click(t, "81.2.69.156")
	first := s.waitDelivered(t, id, 1, 30*time.Second)[0]
	eventID := first.header.Get(webhook.HeaderWebhookID)

	status, out := s.call(t, http.MethodPost, "/v1/webhooks/"+id+"/disable", nil)
	require.Equal(t, http.StatusOK, status, "%v", out)
	waitUntil(t, maxPropagation, "the dispatcher to see the disabling", func() bool {
		w, _ := s.p.rt.webhooks.Get(id)
		return !w.Enabled()
	})

	failedTopic := webhook.FailedTopic(s.p.rt.cfg.Kafka.Topics.WebhookEvents)
	failed := kafkatest.ReadAll(t, s.p.rt.cfg.Kafka, failedTopic, 1, 30*time.Second)
	require.Len(t, failed, 1, "the retry of the disabled webhook goes to the failed topic")
	var del event.Delivery
	require.NoError(t, json.Unmarshal(failed[0].Value, &del))
	require.Equal(t, eventID, del.EventID)
	require.Len(t, s.hooks.got(id), 1, "nothing is sent to a disabled webhook")

	waitUntil(t, 30*time.Second, "the skipped attempt in the delivery log", func() bool {
		_, out := s.call(t, http.MethodGet, "/v1/webhooks/"+id+"/deliveries?limit=10", nil)
		data, _ := out["data"].([]any)
		for _, row := range data {
			r := row.(map[string]any)
			if r["eventId"] == eventID && r["errorClass"] == webhook.ClassDisabled && r["nextAttemptAt"] == nil {
				return true
			}
		}
		return false
	})

	s.hooks.respond(id, http.StatusNoContent)
	status, out = s.call(t, http.MethodPost, "/v1/webhooks/"+id+"/enable", nil)
	require.Equal(t, http.StatusOK, status, "%v", out)
	waitUntil(t, maxPropagation, "the dispatcher to see the enabling", func() bool {
		w, _ := s.p.rt.webhooks.Get(id)
		return w.Enabled()
	})

	status, out = s.call(t, http.MethodPost, "/v1/webhooks/"+id+"/replay", map[string]any{
		"from": from.Format(time.RFC3339), "to": time.Now().Add(time.Minute).Format(time.RFC3339),
	})
	require.Equal(t, http.StatusAccepted, status, "%v", out)
	require.Equal(t, float64(1), out["replayed"])

	again := s.waitDelivered(t, id, 2, 30*time.Second)[1]
	require.Equal(t, eventID, again.header.Get(webhook.HeaderWebhookID), "the replay keeps the event id")
	require.Equal(t, first.body, again.body, "and the payload")
}

func TestCatalogUpdateChangesRedirect(t *testing.T) {
	s := startAdminStack(t)
	rt := s.p.rt
	res, ok := rt.catalog.Get(linkID)
	require.True(t, ok)
	updated := *res.Link
	updated.URL = "https://example.com/moved-" + kafkatest.RandomSuffix()

	ev, err := catalog.NewChangeEvent("updated", &catalog.Resource{Ref: res.Ref, Link: &updated}, time.Now())
	require.NoError(t, err)
	value, err := json.Marshal(ev)
	require.NoError(t, err)
	producer := changefeed.NewProducer(rt.cfg.Kafka, rt.cfg.Kafka.Topics.Catalog, zap.NewNop())
	defer producer.Close()

	start := time.Now()
	require.NoError(t, producer.Put(context.Background(), linkID, value))
	waitUntil(t, 30*time.Second, "the edge to redirect to the new URL", func() bool {
		resp := s.p.get(t, http.MethodGet, "codeqr.link", "/79ys3WA", "81.2.69.156", chromeMac, "")
		return resp.Header.Get("Location") == updated.URL
	})
	took := time.Since(start)
	t.Logf("link.updated changed the redirect after %s", took)
	require.Less(t, took, maxPropagation)
}
