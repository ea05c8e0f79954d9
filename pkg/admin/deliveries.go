package admin

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"

	"github.com/clickstream/clickstream/pkg/event"
	"github.com/clickstream/clickstream/sinks/clickhouse"
)

// Bounds of the limit parameter of GET /v1/webhooks/{id}/deliveries.
const (
	DefaultDeliveriesLimit = 50
	MaxDeliveriesLimit     = 1000
)

// attemptView is one logged delivery attempt as the API returns it.
type attemptView struct {
	Time       event.Time `json:"time"`
	EventID    string     `json:"eventId"`
	EventType  string     `json:"eventType"`
	Attempt    int        `json:"attempt"`
	URL        string     `json:"url"`
	StatusCode int        `json:"statusCode"`
	LatencyMs  int64      `json:"latencyMs"`
	// ErrorClass is empty on success.
	ErrorClass   string `json:"errorClass"`
	ResponseBody string `json:"responseBody"`
	// NextAttemptAt is null when no further attempt is planned.
	NextAttemptAt *event.Time `json:"nextAttemptAt"`
}

func attemptViewOf(a clickhouse.DeliveryAttempt) attemptView {
	v := attemptView{
		Time: event.NewTime(a.Time), EventID: a.EventID, EventType: a.EventType, Attempt: a.Attempt, URL: a.URL,
		StatusCode: a.StatusCode, LatencyMs: a.Latency.Milliseconds(), ErrorClass: a.ErrorClass, ResponseBody: a.ResponseBody,
	}
	if !a.NextAttemptAt.IsZero() && a.NextAttemptAt.Unix() > 0 {
		next := event.NewTime(a.NextAttemptAt)
		v.NextAttemptAt = &next
	}
	return v
}

// listDeliveries returns the latest logged attempts of a webhook, newest
// first, from the ClickHouse delivery log. The log outlives the webhook,
// so a deleted webhook's attempts are returned too. An id that is neither
// a webhook nor in the log is 404.
func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	_, exists := s.deps.Webhooks.Get(id)
	if !exists && (s.deps.Deliveries == nil || checkWebhookID(id) != nil) {
		writeError(w, http.StatusNotFound, "id", fmt.Sprintf("webhook %q not found", id))
		return
	}
	limit, e := parseLimit(r.URL.Query().Get("limit"))
	if e != nil {
		writeAPIError(w, e)
		return
	}
	if s.deps.Deliveries == nil {
		writeError(w, http.StatusServiceUnavailable, "", "the delivery log is not available in this process")
		return
	}

	attempts, err := s.deps.Deliveries.ListDeliveryAttempts(r.Context(), id, limit)
	if err != nil {
		s.log.Error("reading the delivery log failed", zap.String("webhookId", id), zap.Error(err))
		writeError(w, http.StatusServiceUnavailable, "", "reading the delivery log failed; try again")
		return
	}
	if !exists && len(attempts) == 0 {
		writeError(w, http.StatusNotFound, "id", fmt.Sprintf("webhook %q not found and the delivery log has no attempts for it", id))
		return
	}
	views := make([]attemptView, len(attempts))
	for i, a := range attempts {
		views[i] = attemptViewOf(a)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": views})
}

func parseLimit(raw string) (int, *apiError) {
	if raw == "" {
		return DefaultDeliveriesLimit, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > MaxDeliveriesLimit {
		return 0, badRequest("limit", "must be a whole number from 1 to %d, got %q", MaxDeliveriesLimit, raw)
	}
	return n, nil
}
