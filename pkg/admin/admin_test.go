package admin

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
	"go.uber.org/zap/zaptest"

	"github.com/clickstream/clickstream/pkg/changefeed"
	"github.com/clickstream/clickstream/pkg/event"
	"github.com/clickstream/clickstream/pkg/kafka"
	"github.com/clickstream/clickstream/pkg/kafka/kafkatest"
	"github.com/clickstream/clickstream/pkg/subscription"
	"github.com/clickstream/clickstream/sinks/clickhouse"
)

const (
	token      = "test-token-0123456789"
	otherToken = "second-token-abcdefghij"
)

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testEnv is an admin API on an embedded broker, with a second registry
// that follows the webhooks topic like a worker in another process.
type testEnv struct {
	kcfg   kafka.Config
	admin  *Server
	url    string
	reg    *subscription.Registry
	remote *subscription.Registry
	clock  *clock
}

func newTestEnv(t *testing.T, edit func(*Config, *Deps)) *testEnv {
	t.Helper()
	log := zaptest.NewLogger(t)
	kcfg := kafkatest.Embedded(t, 2, kafka.Topics{Hits: "hits", DLQ: "hits.dlq", WebhookEvents: "webhook-events"}, "webhook-events.failed")
	env := &testEnv{kcfg: kcfg, reg: subscription.NewRegistry(), remote: subscription.NewRegistry(),
		clock: &clock{now: time.Date(2024, 8, 30, 10, 0, 0, 0, time.UTC)}}

	feed := startFeed(t, kcfg, env.reg)
	startFeed(t, kcfg, env.remote)

	cfg := DefaultConfig()
	cfg.Tokens = []string{token, otherToken}
	cfg.MaxBodyBytes = 64 << 10
	deps := Deps{Webhooks: subscription.NewStore(env.reg, feed, log), Log: log, Now: env.clock.Now}
	if edit != nil {
		edit(&cfg, &deps)
	}
	srv, err := New(cfg, deps)
	require.NoError(t, err)
	env.admin = srv

	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	env.url = hs.URL
	return env
}

// startFeed follows the webhooks topic into reg until the test ends.
func startFeed(t *testing.T, kcfg kafka.Config, reg *subscription.Registry) *changefeed.Feed {
	t.Helper()
	apply := func(r changefeed.Record) error { return reg.ApplyRecord(r.Key, r.Value) }
	feed := changefeed.NewFeed(kcfg, kcfg.Topics.Webhooks, apply, changefeed.FeedOptions{}, zaptest.NewLogger(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = feed.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; feed.Close() })

	readyCtx, readyCancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer readyCancel()
	require.NoError(t, feed.WaitReady(readyCtx))
	return feed
}

// call sends a request with the test token and decodes the JSON response.
func (e *testEnv) call(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	return e.callWith(t, method, path, body, "Bearer "+token)
}

func (e *testEnv) callWith(t *testing.T, method, path string, body any, auth string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	require.NoError(t, err)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()

	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	out := map[string]any{}
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &out), "response %s", raw)
	}
	return resp.StatusCode, out
}

// errorField returns error.field and error.message of an error response.
func errorField(t *testing.T, body map[string]any) (string, string) {
	t.Helper()
	e, ok := body["error"].(map[string]any)
	require.True(t, ok, "no error object in %v", body)
	field, _ := e["field"].(string)
	msg, _ := e["message"].(string)
	require.NotEmpty(t, msg)
	return field, msg
}

func validCreate() map[string]any {
	return map[string]any{
		"projectId": "p1",
		"url":       "https://hooks.example/in",
		"triggers":  []string{event.TypeLinkClicked},
		"linkIds":   []string{"l1"},
	}
}

func (e *testEnv) create(t *testing.T, body map[string]any) map[string]any {
	t.Helper()
	status, out := e.call(t, http.MethodPost, "/v1/webhooks", body)
	require.Equal(t, http.StatusCreated, status, "%v", out)
	return out
}

func TestAuthRejectsBadTokens(t *testing.T) {
	env := newTestEnv(t, nil)
	cases := map[string]string{
		"missing":      "",
		"wrong token":  "Bearer not-the-right-token-at-all",
		"other scheme": "Basic " + token,
		"no token":     "Bearer",
		"prefix":       "Bearer " + token[:10],
	}
	for name, auth := range cases {
		t.Run(name, func(t *testing.T) {
			status, body := env.callWith(t, http.MethodGet, "/v1/webhooks", nil, auth)
			require.Equal(t, http.StatusUnauthorized, status)
			_, msg := errorField(t, body)
			require.Contains(t, msg, "bearer token")
		})
	}

	status, _ := env.callWith(t, http.MethodGet, "/v1/webhooks/nope/unknown", nil, "")
	require.Equal(t, http.StatusUnauthorized, status, "unknown paths need a token too")
}

func TestAuthAcceptsEveryToken(t *testing.T) {
	env := newTestEnv(t, nil)
	for _, auth := range []string{"Bearer " + token, "bearer " + otherToken} {
		status, _ := env.callWith(t, http.MethodGet, "/v1/webhooks", nil, auth)
		require.Equal(t, http.StatusOK, status, auth)
	}
}

func TestNewRequiresToken(t *testing.T) {
	_, err := New(DefaultConfig(), Deps{})
	require.ErrorContains(t, err, "admin.tokens")

	cfg := DefaultConfig()
	cfg.Tokens = []string{"short"}
	_, err = New(cfg, Deps{})
	require.ErrorContains(t, err, "admin.tokens[0]")
}

func TestCreateValidationNamesField(t *testing.T) {
	env := newTestEnv(t, nil)
	with := func(key string, value any) map[string]any {
		b := validCreate()
		b[key] = value
		return b
	}
	cases := map[string]struct {
		body  any
		field string
	}{
		"missing project":    {with("projectId", ""), "projectId"},
		"long project":       {with("projectId", strings.Repeat("p", event.MaxIDLen+1)), "projectId"},
		"relative url":       {with("url", "/hooks"), "url"},
		"url credentials":    {with("url", "https://user:pw@hooks.example/"), "url"},
		"long url":           {with("url", "https://hooks.example/"+strings.Repeat("a", MaxURLLen)), "url"},
		"bad id":             {with("id", "hook_1"), "id"},
		"bad secret":         {with("secret", "not-a-secret"), "secret"},
		"short secret":       {with("secret", "whsec_c2hvcnQ="), "secret"},
		"no triggers":        {with("triggers", []string{}), "triggers"},
		"unknown trigger":    {with("triggers", []string{"link.created"}), "triggers[0]"},
		"repeated trigger":   {with("triggers", []string{event.TypeLinkClicked, event.TypeLinkClicked}), "triggers[1]"},
		"trigger unscoped":   {with("triggers", []string{event.TypeLinkClicked, event.TypePageVisited}), "pageIds"},
		"repeated link":      {with("linkIds", []string{"l1", "l2", "l1"}), "linkIds[2]"},
		"empty link":         {with("linkIds", []string{""}), "linkIds[0]"},
		"unknown field":      {with("colour", "blue"), "colour"},
		"wrong type":         {with("triggers", "link.clicked"), "triggers"},
		"stored secrets key": {with("secrets", []string{subscription.NewSecret()}), "secrets"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			status, body := env.call(t, http.MethodPost, "/v1/webhooks", tc.body)
			require.Equal(t, http.StatusBadRequest, status, "%v", body)
			field, _ := errorField(t, body)
			require.Equal(t, tc.field, field)
		})
	}
	require.Empty(t, env.reg.List(""), "nothing invalid was stored")
}

func TestCreateRejectsBadBodies(t *testing.T) {
	env := newTestEnv(t, nil)
	cases := map[string]struct {
		body   string
		status int
	}{
		"empty":      {"", http.StatusBadRequest},
		"not json":   {"{nope", http.StatusBadRequest},
		"array":      {"[]", http.StatusBadRequest},
		"two values": {`{"projectId":"p1"} {}`, http.StatusBadRequest},
		"too large":  {`{"projectId":"` + strings.Repeat("p", 70<<10) + `"}`, http.StatusRequestEntityTooLarge},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			status, body := env.call(t, http.MethodPost, "/v1/webhooks", tc.body)
			require.Equal(t, tc.status, status, "%v", body)
			errorField(t, body)
		})
	}
}

func TestCreateReturnsSecretOnce(t *testing.T) {
	env := newTestEnv(t, nil)
	out := env.create(t, validCreate())

	id, _ := out["id"].(string)
	secret, _ := out["secret"].(string)
	require.True(t, strings.HasPrefix(id, "wh_"), id)
	require.Len(t, id, 27)
	require.True(t, strings.HasPrefix(secret, subscription.SecretPrefix), "the secret is returned on create")
	require.Equal(t, true, out["enabled"])
	require.Equal(t, "2024-08-30T10:00:00.000Z", out["createdAt"])

	// Read-your-writes: the webhook is in the API's registry when the
	// response arrives, with the secret that was returned.
	stored, ok := env.reg.Get(id)
	require.True(t, ok)
	require.Equal(t, []string{secret}, stored.Secrets)

	status, got := env.call(t, http.MethodGet, "/v1/webhooks/"+id, nil)
	require.Equal(t, http.StatusOK, status)
	require.NotContains(t, got, "secret")
	require.NotContains(t, got, "secrets")
	require.Equal(t, "https://hooks.example/in", got["url"])

	status, list := env.call(t, http.MethodGet, "/v1/webhooks", nil)
	require.Equal(t, http.StatusOK, status)
	data := list["data"].([]any)
	require.Len(t, data, 1)
	require.NotContains(t, data[0], "secret")

	require.Eventually(t, func() bool { _, ok := env.remote.Get(id); return ok }, 5*time.Second, 10*time.Millisecond,
		"another process following the topic sees the webhook")
}

func TestCreateWithClientIDAndSecret(t *testing.T) {
	env := newTestEnv(t, nil)
	body := validCreate()
	body["id"] = "wh_client_chosen"
	body["secret"] = subscription.NewSecret()
	body["disabled"] = true
	out := env.create(t, body)
	require.Equal(t, "wh_client_chosen", out["id"])
	require.Equal(t, body["secret"], out["secret"])
	require.Equal(t, false, out["enabled"])
	require.Equal(t, subscription.DisabledManually, out["disabledReason"])

	status, dup := env.call(t, http.MethodPost, "/v1/webhooks", body)
	require.Equal(t, http.StatusConflict, status)
	field, _ := errorField(t, dup)
	require.Equal(t, "id", field)
}

func TestListFiltersByProject(t *testing.T) {
	env := newTestEnv(t, nil)
	env.create(t, validCreate())
	other := validCreate()
	other["projectId"] = "p2"
	env.create(t, other)

	status, list := env.call(t, http.MethodGet, "/v1/webhooks?projectId=p2", nil)
	require.Equal(t, http.StatusOK, status)
	data := list["data"].([]any)
	require.Len(t, data, 1)
	require.Equal(t, "p2", data[0].(map[string]any)["projectId"])

	_, all := env.call(t, http.MethodGet, "/v1/webhooks", nil)
	require.Len(t, all["data"], 2)
}

func TestPatchChangesOnlyGivenFields(t *testing.T) {
	env := newTestEnv(t, nil)
	id := env.create(t, validCreate())["id"].(string)
	before, _ := env.reg.Get(id)
	env.clock.Add(time.Minute)

	status, out := env.call(t, http.MethodPatch, "/v1/webhooks/"+id, map[string]any{
		"url":       "https://hooks.example/v2",
		"triggers":  []string{event.TypeLinkClicked, event.TypeQRCodeScanned},
		"qrcodeIds": []string{"q1"},
	})
	require.Equal(t, http.StatusOK, status, "%v", out)
	require.Equal(t, "https://hooks.example/v2", out["url"])
	require.Equal(t, []any{"l1"}, out["linkIds"], "absent fields stay")
	require.Equal(t, "2024-08-30T10:01:00.000Z", out["updatedAt"])
	require.NotContains(t, out, "secret")

	after, _ := env.reg.Get(id)
	require.Equal(t, before.Secrets, after.Secrets, "PATCH keeps the secret")
	require.Equal(t, []string{"q1"}, after.QRCodeIDs)
	require.Len(t, env.reg.Match(event.ResourceRef{Type: event.ResourceQRCode, ID: "q1", ProjectID: "p1"}, event.TypeQRCodeScanned), 1)
}

func TestPatchWithoutFieldsWritesNothing(t *testing.T) {
	env := newTestEnv(t, nil)
	id := env.create(t, validCreate())["id"].(string)
	env.clock.Add(time.Minute)

	status, out := env.call(t, http.MethodPatch, "/v1/webhooks/"+id, map[string]any{})
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "2024-08-30T10:00:00.000Z", out["updatedAt"], "nothing was written")
}

func TestPatchValidationNamesField(t *testing.T) {
	env := newTestEnv(t, nil)
	id := env.create(t, validCreate())["id"].(string)
	cases := map[string]struct {
		body  map[string]any
		field string
	}{
		"bad url":         {map[string]any{"url": "ftp://x"}, "url"},
		"clear scope":     {map[string]any{"linkIds": []string{}}, "linkIds"},
		"immutable":       {map[string]any{"projectId": "p2"}, "projectId"},
		"secret":          {map[string]any{"secret": subscription.NewSecret()}, "secret"},
		"bad trigger":     {map[string]any{"triggers": []string{event.TypeLinkClicked, "x"}}, "triggers[1]"},
		"wrong list type": {map[string]any{"pageIds": "p1"}, "pageIds"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			status, body := env.call(t, http.MethodPatch, "/v1/webhooks/"+id, tc.body)
			require.Equal(t, http.StatusBadRequest, status, "%v", body)
			field, _ := errorField(t, body)
			require.Equal(t, tc.field, field)
		})
	}

	status, body := env.call(t, http.MethodPatch, "/v1/webhooks/wh_missing", map[string]any{"url": "https://x.example/"})
	require.Equal(t, http.StatusNotFound, status)
	field, _ := errorField(t, body)
	require.Equal(t, "id", field)
}

func TestDisableEnable(t *testing.T) {
	env := newTestEnv(t, nil)
	id := env.create(t, validCreate())["id"].(string)
	link := event.ResourceRef{Type: event.ResourceLink, ID: "l1", ProjectID: "p1"}

	status, out := env.call(t, http.MethodPost, "/v1/webhooks/"+id+"/disable", nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, false, out["enabled"])
	require.Equal(t, subscription.DisabledManually, out["disabledReason"])
	require.Equal(t, "2024-08-30T10:00:00.000Z", out["disabledAt"])
	require.Empty(t, env.reg.Match(link, event.TypeLinkClicked), "a disabled webhook matches nothing")
	require.Eventually(t, func() bool { w, _ := env.remote.Get(id); return !w.Enabled() }, 5*time.Second, 10*time.Millisecond)

	status, again := env.call(t, http.MethodPost, "/v1/webhooks/"+id+"/disable", nil)
	require.Equal(t, http.StatusOK, status, "disabling twice is fine")
	require.Equal(t, out["disabledAt"], again["disabledAt"], "the first disabling time stays")

	status, out = env.call(t, http.MethodPost, "/v1/webhooks/"+id+"/enable", nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, true, out["enabled"])
	require.Nil(t, out["disabledAt"])
	require.NotContains(t, out, "disabledReason")
	require.Len(t, env.reg.Match(link, event.TypeLinkClicked), 1)
}

func TestDeleteWritesTombstone(t *testing.T) {
	env := newTestEnv(t, nil)
	id := env.create(t, validCreate())["id"].(string)
	require.Eventually(t, func() bool { _, ok := env.remote.Get(id); return ok }, 5*time.Second, 10*time.Millisecond)

	status, _ := env.call(t, http.MethodDelete, "/v1/webhooks/"+id, nil)
	require.Equal(t, http.StatusNoContent, status)
	_, ok := env.reg.Get(id)
	require.False(t, ok, "deleted from the API's registry before the response")
	require.Eventually(t, func() bool { _, ok := env.remote.Get(id); return !ok }, 5*time.Second, 10*time.Millisecond)

	status, _ = env.call(t, http.MethodGet, "/v1/webhooks/"+id, nil)
	require.Equal(t, http.StatusNotFound, status)
	status, _ = env.call(t, http.MethodDelete, "/v1/webhooks/"+id, nil)
	require.Equal(t, http.StatusNotFound, status)
}

func TestRotateKeepsOldSecretForGracePeriod(t *testing.T) {
	env := newTestEnv(t, func(c *Config, _ *Deps) { c.SecretGracePeriod = time.Hour })
	created := env.create(t, validCreate())
	id, oldSecret := created["id"].(string), created["secret"].(string)

	status, out := env.call(t, http.MethodPost, "/v1/webhooks/"+id+"/rotate-secret", nil)
	require.Equal(t, http.StatusOK, status, "%v", out)
	newSecret, _ := out["secret"].(string)
	require.True(t, strings.HasPrefix(newSecret, subscription.SecretPrefix))
	require.NotEqual(t, oldSecret, newSecret)
	require.Equal(t, "2024-08-30T11:00:00.000Z", out["previousSecretExpiresAt"])

	stored, _ := env.reg.Get(id)
	require.Equal(t, []string{newSecret, oldSecret}, stored.Secrets, "new secret first, old one kept")

	env.clock.Add(59 * time.Minute)
	require.Equal(t, 0, env.admin.ExpireSecrets(context.Background()), "still in the grace period")

	env.clock.Add(time.Minute)
	require.Equal(t, 1, env.admin.ExpireSecrets(context.Background()))
	stored, _ = env.reg.Get(id)
	require.Equal(t, []string{newSecret}, stored.Secrets, "old secret removed after the grace period")
	require.Nil(t, stored.PreviousSecretExpiresAt)
	require.Eventually(t, func() bool { w, _ := env.remote.Get(id); return len(w.Secrets) == 1 }, 5*time.Second, 10*time.Millisecond)

	_, got := env.call(t, http.MethodGet, "/v1/webhooks/"+id, nil)
	require.NotContains(t, got, "previousSecretExpiresAt")
}

func TestRotateTwiceKeepsTwoSecrets(t *testing.T) {
	env := newTestEnv(t, nil)
	id := env.create(t, validCreate())["id"].(string)
	_, first := env.call(t, http.MethodPost, "/v1/webhooks/"+id+"/rotate-secret", nil)
	chosen := subscription.NewSecret()
	status, second := env.call(t, http.MethodPost, "/v1/webhooks/"+id+"/rotate-secret", map[string]any{"secret": chosen})
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, chosen, second["secret"])

	stored, _ := env.reg.Get(id)
	require.Equal(t, []string{chosen, first["secret"].(string)}, stored.Secrets)
}

func TestRotateWithoutGracePeriod(t *testing.T) {
	env := newTestEnv(t, func(c *Config, _ *Deps) { c.SecretGracePeriod = 0 })
	id := env.create(t, validCreate())["id"].(string)
	_, out := env.call(t, http.MethodPost, "/v1/webhooks/"+id+"/rotate-secret", "")
	stored, _ := env.reg.Get(id)
	require.Equal(t, []string{out["secret"].(string)}, stored.Secrets)
}

func TestRotateRejectsBadSecret(t *testing.T) {
	env := newTestEnv(t, nil)
	created := env.create(t, validCreate())
	id := created["id"].(string)
	for _, secret := range []string{"whsec_short", created["secret"].(string)} {
		status, body := env.call(t, http.MethodPost, "/v1/webhooks/"+id+"/rotate-secret", map[string]any{"secret": secret})
		require.Equal(t, http.StatusBadRequest, status)
		field, _ := errorField(t, body)
		require.Equal(t, "secret", field)
	}
	stored, _ := env.reg.Get(id)
	require.Len(t, stored.Secrets, 1, "a rejected rotation changes nothing")
}

// fakeLog is a DeliveryLog that returns fixed attempts.
type fakeLog struct {
	attempts  []clickhouse.DeliveryAttempt
	gotLimit  int
	gotHookID string
}

func (f *fakeLog) ListDeliveryAttempts(_ context.Context, webhookID string, limit int) ([]clickhouse.DeliveryAttempt, error) {
	f.gotHookID, f.gotLimit = webhookID, limit
	return f.attempts, nil
}

func TestDeliveriesFromLog(t *testing.T) {
	at := time.Date(2024, 8, 30, 10, 16, 13, 149e6, time.UTC)
	log := &fakeLog{attempts: []clickhouse.DeliveryAttempt{
		{Time: at.Add(time.Second), EventID: "evt_2", EventType: event.TypeLinkClicked, Attempt: 1, StatusCode: 204, Latency: 12 * time.Millisecond},
		{Time: at, EventID: "evt_1", EventType: event.TypeLinkClicked, Attempt: 2, StatusCode: 500, ErrorClass: "http_5xx", NextAttemptAt: at.Add(30 * time.Second)},
	}}
	env := newTestEnv(t, func(_ *Config, d *Deps) { d.Deliveries = log })
	id := env.create(t, validCreate())["id"].(string)

	status, out := env.call(t, http.MethodGet, "/v1/webhooks/"+id+"/deliveries?limit=20", nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, 20, log.gotLimit)
	require.Equal(t, id, log.gotHookID)
	data := out["data"].([]any)
	require.Len(t, data, 2)
	first, second := data[0].(map[string]any), data[1].(map[string]any)
	require.Equal(t, "evt_2", first["eventId"], "the log's order, newest first, is kept")
	require.Equal(t, float64(12), first["latencyMs"])
	require.Nil(t, first["nextAttemptAt"])
	require.Equal(t, "2024-08-30T10:16:43.149Z", second["nextAttemptAt"])

	_, _ = env.call(t, http.MethodGet, "/v1/webhooks/"+id+"/deliveries", nil)
	require.Equal(t, DefaultDeliveriesLimit, log.gotLimit)

	for _, bad := range []string{"0", "-1", "1001", "ten"} {
		status, body := env.call(t, http.MethodGet, "/v1/webhooks/"+id+"/deliveries?limit="+bad, nil)
		require.Equal(t, http.StatusBadRequest, status, bad)
		field, _ := errorField(t, body)
		require.Equal(t, "limit", field)
	}
}

func TestDeliveriesWithoutLog(t *testing.T) {
	env := newTestEnv(t, nil)
	id := env.create(t, validCreate())["id"].(string)
	status, body := env.call(t, http.MethodGet, "/v1/webhooks/"+id+"/deliveries", nil)
	require.Equal(t, http.StatusServiceUnavailable, status)
	errorField(t, body)
}

func TestUnknownRouteIsJSON(t *testing.T) {
	env := newTestEnv(t, nil)
	status, body := env.call(t, http.MethodGet, "/v2/things", nil)
	require.Equal(t, http.StatusNotFound, status)
	errorField(t, body)

	status, body = env.call(t, http.MethodPut, "/v1/webhooks", nil)
	require.Equal(t, http.StatusMethodNotAllowed, status)
	errorField(t, body)
}
