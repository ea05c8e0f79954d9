package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/clickstream/clickstream/pkg/event"
	"github.com/clickstream/clickstream/pkg/kafka"
	"github.com/clickstream/clickstream/pkg/kafka/kafkatest"
	"github.com/clickstream/clickstream/sinks/webhook"
)

var failedAt = time.Date(2024, 8, 30, 12, 0, 0, 0, time.UTC)

// writeFailed writes deliveries to the failed topic as the dispatcher
// does, keyed by webhook id, with the given record times.
func writeFailed(t *testing.T, kcfg kafka.Config, records ...failedRecord) {
	t.Helper()
	w := kafka.NewWriter(kcfg, webhook.FailedTopic(kcfg.Topics.WebhookEvents), kafka.WriterOptions{}, zaptest.NewLogger(t))
	defer w.Close()

	msgs := make([]kafkago.Message, len(records))
	for i, r := range records {
		del := event.Delivery{EventID: r.eventID, EventType: event.TypeLinkClicked, WebhookID: r.webhookID, ProjectID: "p1",
			ClickID: "d0UtZqE0BZuBPrJS", Attempt: 10, NotBefore: event.NewTime(r.at), Payload: json.RawMessage(`{"id":"` + r.eventID + `"}`)}
		value, err := json.Marshal(del)
		require.NoError(t, err)
		msgs[i] = kafkago.Message{Key: []byte(r.webhookID), Value: value, Time: r.at}
	}
	require.NoError(t, w.WriteMessages(context.Background(), msgs...))
}

type failedRecord struct {
	webhookID, eventID string
	at                 time.Time
}

func replayEnv(t *testing.T, maxEvents int) (*testEnv, string) {
	t.Helper()
	env := newTestEnv(t, nil)
	// The replayer needs the embedded broker that newTestEnv starts.
	replayer := NewKafkaReplayer(env.kcfg, maxEvents, 1000, zaptest.NewLogger(t))
	t.Cleanup(func() { replayer.Close() })
	env.admin.deps.Replayer = replayer

	body := validCreate()
	body["id"] = "wh_replay"
	env.create(t, body)
	return env, "wh_replay"
}

func TestReplayRewritesFailedDeliveries(t *testing.T) {
	env, id := replayEnv(t, 100)
	writeFailed(t, env.kcfg,
		failedRecord{id, "evt_before", failedAt.Add(-time.Hour)},
		failedRecord{id, "evt_a", failedAt},
		failedRecord{"wh_other", "evt_other", failedAt.Add(time.Minute)},
		failedRecord{id, "evt_b", failedAt.Add(2 * time.Minute)},
		failedRecord{id, "evt_a", failedAt.Add(3 * time.Minute)},
		failedRecord{id, "evt_after", failedAt.Add(2 * time.Hour)},
	)

	status, out := env.call(t, http.MethodPost, "/v1/webhooks/"+id+"/replay", map[string]any{
		"from": failedAt.Format(time.RFC3339), "to": failedAt.Add(time.Hour).Format(time.RFC3339),
	})
	require.Equal(t, http.StatusAccepted, status, "%v", out)
	require.Equal(t, float64(2), out["replayed"])
	require.Equal(t, []any{"evt_a", "evt_b"}, out["eventIds"], "each event once, none outside the range or of another webhook")
	require.Equal(t, false, out["truncated"])

	msgs := kafkatest.ReadAll(t, env.kcfg, env.kcfg.Topics.WebhookEvents, 2, 10*time.Second)
	require.Len(t, msgs, 2)
	for _, m := range msgs {
		require.Equal(t, id, string(m.Key))
		var del event.Delivery
		require.NoError(t, json.Unmarshal(m.Value, &del))
		require.Equal(t, 1, del.Attempt, "a replay starts over at attempt 1")
		require.True(t, del.NotBefore.IsZero(), "and is due at once")
		require.JSONEq(t, `{"id":"`+del.EventID+`"}`, string(del.Payload), "the payload and event id are unchanged")
	}
}

func TestReplayIsBounded(t *testing.T) {
	env, id := replayEnv(t, 1)
	writeFailed(t, env.kcfg,
		failedRecord{id, "evt_a", failedAt},
		failedRecord{id, "evt_b", failedAt.Add(time.Minute)},
	)
	status, out := env.call(t, http.MethodPost, "/v1/webhooks/"+id+"/replay", map[string]any{
		"from": failedAt.Format(time.RFC3339), "to": failedAt.Add(time.Hour).Format(time.RFC3339),
	})
	require.Equal(t, http.StatusAccepted, status)
	require.Equal(t, float64(1), out["replayed"])
	require.Equal(t, true, out["truncated"])
}

func TestReplayWithoutFailedTopic(t *testing.T) {
	env := newTestEnv(t, nil)
	kcfg := env.kcfg
	kcfg.Topics.WebhookEvents = "never-created"
	replayer := NewKafkaReplayer(kcfg, 10, 100, zaptest.NewLogger(t))
	defer replayer.Close()

	res, err := replayer.Replay(context.Background(), "wh_x", failedAt, failedAt.Add(time.Hour))
	require.NoError(t, err)
	require.Zero(t, res.Replayed)
}

func TestReplayValidation(t *testing.T) {
	env, id := replayEnv(t, 10)
	from, to := failedAt.Format(time.RFC3339), failedAt.Add(time.Hour).Format(time.RFC3339)
	cases := map[string]struct {
		body  map[string]any
		field string
	}{
		"missing from":  {map[string]any{"to": to}, "from"},
		"bad from":      {map[string]any{"from": "yesterday", "to": to}, "from"},
		"missing to":    {map[string]any{"from": from}, "to"},
		"to before":     {map[string]any{"from": to, "to": from}, "to"},
		"unknown field": {map[string]any{"from": from, "to": to, "limit": 5}, "limit"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			status, body := env.call(t, http.MethodPost, "/v1/webhooks/"+id+"/replay", tc.body)
			require.Equal(t, http.StatusBadRequest, status, "%v", body)
			field, _ := errorField(t, body)
			require.Equal(t, tc.field, field)
		})
	}

	status, _ := env.call(t, http.MethodPost, "/v1/webhooks/"+id+"/disable", nil)
	require.Equal(t, http.StatusOK, status)
	status, body := env.call(t, http.MethodPost, "/v1/webhooks/"+id+"/replay", map[string]any{"from": from, "to": to})
	require.Equal(t, http.StatusConflict, status, "a disabled webhook would drop the replay")
	field, _ := errorField(t, body)
	require.Equal(t, "id", field)
}
