package clickhouse

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/clickstream/clickstream/pkg/event"
)

// MaxResponseBodyLen is the number of bytes of a response body that
// InsertDeliveryAttempts stores; longer bodies are cut at a UTF-8 boundary.
const MaxResponseBodyLen = 8 << 10

// MaxListLimit is the largest limit ListDeliveryAttempts accepts.
const MaxListLimit = 10000

// DeliveryAttempt is one POST of a webhook event to a receiver.
type DeliveryAttempt struct {
	// Time is when the attempt started; stored with millisecond precision.
	Time      time.Time
	EventID   string
	WebhookID string
	ProjectID string
	EventType string
	// Attempt numbers the attempts of one event for one webhook from 1.
	Attempt int
	URL     string
	// StatusCode is the HTTP status of the response, or 0 when none arrived.
	StatusCode int
	// Latency is the time until the response or the failure, stored in
	// whole milliseconds.
	Latency time.Duration
	// Outcome is the dispatcher's verdict on the attempt, such as "success"
	// or "retry". The dispatcher chooses the names.
	Outcome string
	// ErrorClass names the kind of failure, such as "timeout" or
	// "http_5xx", and is empty on success. The dispatcher chooses the names.
	ErrorClass string
	// Error is the transport error text, empty when a response arrived.
	Error string
	// ResponseBody is the start of the response body, at most
	// MaxResponseBodyLen bytes when stored.
	ResponseBody string
	// NextAttemptAt is when the next attempt is due, or the zero time when
	// no further attempt is planned.
	NextAttemptAt time.Time
	// Final reports that no further attempt follows.
	Final bool
}

var deliveryValues = valueFuncs[DeliveryAttempt]{
	"time":            func(d *DeliveryAttempt) any { return d.Time },
	"event_id":        func(d *DeliveryAttempt) any { return d.EventID },
	"webhook_id":      func(d *DeliveryAttempt) any { return d.WebhookID },
	"project_id":      func(d *DeliveryAttempt) any { return d.ProjectID },
	"event_type":      func(d *DeliveryAttempt) any { return d.EventType },
	"attempt":         func(d *DeliveryAttempt) any { return uint16(d.Attempt) },
	"url":             func(d *DeliveryAttempt) any { return d.URL },
	"status_code":     func(d *DeliveryAttempt) any { return uint16(d.StatusCode) },
	"latency_ms":      func(d *DeliveryAttempt) any { return latencyMillis(d.Latency) },
	"outcome":         func(d *DeliveryAttempt) any { return d.Outcome },
	"error_class":     func(d *DeliveryAttempt) any { return d.ErrorClass },
	"error":           func(d *DeliveryAttempt) any { return d.Error },
	"response_body":   func(d *DeliveryAttempt) any { return event.TruncateUTF8(d.ResponseBody, MaxResponseBodyLen) },
	"next_attempt_at": func(d *DeliveryAttempt) any { return d.NextAttemptAt },
	"final":           func(d *DeliveryAttempt) any { return d.Final },
}

func latencyMillis(d time.Duration) uint32 {
	ms := d.Milliseconds()
	switch {
	case ms < 0:
		return 0
	case ms > math.MaxUint32:
		return math.MaxUint32
	}
	return uint32(ms)
}

// validateAttempt checks the fields whose stored types are narrower than Go's.
func validateAttempt(d *DeliveryAttempt) error {
	switch {
	case d.WebhookID == "":
		return fmt.Errorf("%w: webhook id is empty", ErrInvalidBatch)
	case d.Attempt < 1 || d.Attempt > math.MaxUint16:
		return fmt.Errorf("%w: attempt %d is outside 1-%d", ErrInvalidBatch, d.Attempt, math.MaxUint16)
	case d.StatusCode < 0 || d.StatusCode > 999:
		return fmt.Errorf("%w: status code %d is outside 0-999", ErrInvalidBatch, d.StatusCode)
	}
	return nil
}

// InsertDeliveryAttempts appends attempts to the delivery log in one insert.
// An empty attempts is a no-op. On 22.2 and newer the server drops a retry
// of the same insert with identical rows. On older servers such a repeat
// collapses on merge, and ListDeliveryAttempts hides it until then.
func (c *Client) InsertDeliveryAttempts(ctx context.Context, attempts []DeliveryAttempt) error {
	if len(attempts) == 0 {
		return nil
	}
	table := c.table(TableWebhookDeliveries)
	for i := range attempts {
		if err := validateAttempt(&attempts[i]); err != nil {
			return fmt.Errorf("inserting %d delivery attempts into %s: attempt %d of event %s: %w",
				len(attempts), table, i, attempts[i].EventID, err)
		}
	}

	if err := insert(ctx, c, &webhookDeliveriesSpec, attempts, deliveryValues); err != nil {
		return fmt.Errorf("inserting %d delivery attempts into %s, first event %s of webhook %s: %w",
			len(attempts), table, attempts[0].EventID, attempts[0].WebhookID, err)
	}
	return nil
}

// ListDeliveryAttempts returns the latest limit attempts of one webhook,
// newest first. limit must be 1 to MaxListLimit. The sort key of the table
// starts with webhook_id, so the query reads only that webhook's granules.
func (c *Client) ListDeliveryAttempts(ctx context.Context, webhookID string, limit int) ([]DeliveryAttempt, error) {
	if limit < 1 || limit > MaxListLimit {
		return nil, fmt.Errorf("listing delivery attempts of webhook %s: limit %d is outside 1-%d", webhookID, limit, MaxListLimit)
	}
	split := c.isSplitTime(TableWebhookDeliveries)
	rows, err := c.conn.Query(ctx, listAttemptsSQL(c.table(TableWebhookDeliveries), split, limit), webhookID)
	if err != nil {
		return nil, fmt.Errorf("listing delivery attempts of webhook %s from %s: %w", webhookID, c.table(TableWebhookDeliveries), err)
	}
	defer rows.Close()

	var out []DeliveryAttempt
	for rows.Next() {
		d, err := scanAttempt(rows.Scan, split)
		if err != nil {
			return nil, fmt.Errorf("listing delivery attempts of webhook %s: %w", webhookID, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing delivery attempts of webhook %s: %w", webhookID, err)
	}
	return out, nil
}

// listAttemptsSQL returns the ListDeliveryAttempts query, whose one
// placeholder is the webhook id. LIMIT 1 BY hides repeats of one logged
// attempt that have not been merged away yet.
func listAttemptsSQL(table string, splitTime bool, limit int) string {
	order := "time DESC"
	if splitTime {
		order = "time DESC, time" + msSuffix + " DESC"
	}
	return fmt.Sprintf("SELECT %s FROM %s WHERE webhook_id = ? ORDER BY %s, event_id, attempt "+
		"LIMIT 1 BY event_id, attempt LIMIT %d",
		strings.Join(webhookDeliveriesSpec.insertColumns(splitTime), ", "), table, order, limit)
}

// scanAttempt reads one row selected with the insert columns of the
// webhook_deliveries table.
func scanAttempt(scan func(dest ...any) error, split bool) (DeliveryAttempt, error) {
	var (
		d                    DeliveryAttempt
		at, next             time.Time
		atMillis, nextMillis uint16
		attempt, status      uint16
		latency              uint32
	)
	dest := []any{&at}
	if split {
		dest = append(dest, &atMillis)
	}
	dest = append(dest, &d.EventID, &d.WebhookID, &d.ProjectID, &d.EventType, &attempt, &d.URL, &status,
		&latency, &d.Outcome, &d.ErrorClass, &d.Error, &d.ResponseBody, &next)
	if split {
		dest = append(dest, &nextMillis)
	}
	dest = append(dest, &d.Final)
	if err := scan(dest...); err != nil {
		return d, err
	}

	d.Time = joinTime(at, atMillis)
	d.NextAttemptAt = joinTime(next, nextMillis)
	d.Attempt = int(attempt)
	d.StatusCode = int(status)
	d.Latency = time.Duration(latency) * time.Millisecond
	return d, nil
}
