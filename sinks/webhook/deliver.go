package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/clickstream/clickstream/pkg/event"
	"github.com/clickstream/clickstream/pkg/subscription"
)

// ErrWebhookNotFound and ErrWebhookDisabled are returned by DeliverNow.
var (
	ErrWebhookNotFound = errors.New("webhook not found")
	ErrWebhookDisabled = errors.New("webhook is disabled")
)

// dispatch queues j for its webhook, or defers it to a retry topic when the
// queue stays full (see queues.push). A delivery for a deleted or disabled
// webhook is skipped (see lookup).
func (d *Dispatcher) dispatch(j *job) {
	if _, ok := d.lookup(j); !ok {
		return
	}
	if !d.queues.push(j, d.cfg.QueueFullWait) {
		d.deferJob(j)
	}
}

// lookup returns j's webhook when it exists and is enabled. Otherwise it
// skips j, which sends a disabled webhook's delivery to the failed topic
// and drops a deleted webhook's (see skipDisabled and skipDeleted).
func (d *Dispatcher) lookup(j *job) (subscription.Webhook, bool) {
	w, ok := d.reg.Get(j.delivery.WebhookID)
	switch {
	case !ok:
		d.skipDeleted(j)
	case !w.Enabled():
		d.skipDisabled(j, w)
	default:
		return w, true
	}
	return w, false
}

// work sends the queued deliveries of one webhook until its queue is empty
// or the dispatcher stops. Up to Config.PerEndpointConcurrency run per webhook.
func (d *Dispatcher) work(webhookID string) {
	for j := d.queues.next(webhookID); j != nil; j = d.queues.next(webhookID) {
		d.deliver(j)
	}
}

// deliver makes one attempt for j and routes the result.
func (d *Dispatcher) deliver(j *job) {
	// The registry is read again at send time: the webhook may have been
	// deleted, disabled or given new secrets while j was queued.
	w, ok := d.lookup(j)
	if !ok {
		return
	}

	res, at := d.attempt(d.sendCtx, w, j.delivery, j.source)
	if res.Class == ClassCanceled {
		// Shutdown cut the request short. Leaving j unfinished keeps its
		// offset uncommitted, so the same event is sent again after restart.
		return
	}

	switch res.Outcome {
	case OutcomeSuccess:
		d.resetFailures(w.ID)
		at.Final = true
		d.records.add(at)
		j.finish()
	case OutcomeGone:
		// The event goes to the failed topic like the deliveries skipped
		// while the webhook stays disabled, so that one replay after
		// enabling it covers them all. It does not count towards
		// MaxConsecutiveFailures because the webhook is disabled anyway.
		d.disable(w.ID, DisableGone)
		d.toFailedTopic(j, at, d.metrics.failed.Inc)
	case OutcomeRefused:
		d.failForGood(j, at)
	default:
		d.retryOrFail(j, res.RetryAfter, at)
	}
}

// attempt signs and sends one request for del and returns the result and
// its delivery-log row. It updates metrics and logs the attempt.
func (d *Dispatcher) attempt(ctx context.Context, w subscription.Webhook, del event.Delivery, source string) (Result, Attempt) {
	now := time.Now()
	header := http.Header{}
	var res Result
	if err := SetSignatureHeaders(header, del.Payload, del.EventID, now, w.Secrets); err != nil {
		res = Result{Outcome: OutcomeRefused, Class: ClassInvalidRequest, Err: fmt.Errorf("signing: %w", err)}
	} else {
		d.metrics.inFlight.Inc()
		res = d.client.Send(ctx, w.URL, del.Payload, header)
		d.metrics.inFlight.Dec()
		d.metrics.latency.Observe(res.Latency.Seconds())
	}

	at := Attempt{
		Time:         now,
		EventID:      del.EventID,
		WebhookID:    del.WebhookID,
		ProjectID:    del.ProjectID,
		EventType:    del.EventType,
		Number:       del.Attempt,
		URL:          w.URL,
		StatusCode:   res.StatusCode,
		Latency:      res.Latency,
		Outcome:      res.Outcome,
		Class:        res.Class,
		ResponseBody: res.Body,
	}
	if res.Err != nil {
		at.Error = res.Err.Error()
	}
	if res.Class != ClassCanceled {
		d.metrics.attempts.WithLabelValues(res.Outcome.String()).Inc()
	}
	d.logAttempt(at, res.Err, source)
	return res, at
}

// logAttempt writes one attempt to the log. Successes and deferrals go at
// debug level and everything else at info, because a receiver's failure is
// not an error of the dispatcher. Deferrals repeat for as long as a webhook
// is behind, so the notices log them as counts per webhook at info level.
// The URL is left out because its query may carry a token.
func (d *Dispatcher) logAttempt(at Attempt, err error, source string) {
	level := zap.InfoLevel
	msg := "webhook attempt failed"
	switch at.Outcome {
	case OutcomeSuccess:
		level, msg = zap.DebugLevel, "webhook attempt succeeded"
	case OutcomeDeferred:
		level, msg = zap.DebugLevel, "webhook delivery deferred unsent"
	}
	ce := d.log.Check(level, msg)
	if ce == nil {
		return
	}
	fields := []zap.Field{
		zap.String("eventId", at.EventID),
		zap.String("webhookId", at.WebhookID),
		zap.Int("attempt", at.Number),
		zap.Int("status", at.StatusCode),
		zap.Duration("latency", at.Latency),
		zap.String("outcome", at.Outcome.String()),
		zap.String("errorClass", at.Class),
		zap.String("topic", source),
	}
	if err != nil {
		fields = append(fields, zap.Error(err))
	}
	ce.Write(fields...)
}

// retryOrFail writes j to its next retry topic, or to the failed topic
// when the schedule is used up.
func (d *Dispatcher) retryOrFail(j *job, retryAfter time.Duration, at Attempt) {
	step, delay := retryStep(d.cfg.RetrySchedule, j.delivery.Attempt, retryAfter)
	if step == 0 {
		d.failForGood(j, at)
		return
	}

	next := j.delivery
	next.Attempt++
	// NewTime truncates to milliseconds; rounding up first keeps the retry
	// from starting before the full delay.
	due := time.Now().Add(jittered(delay, d.cfg.RetryJitter) + time.Millisecond - 1)
	next.NotBefore = event.NewTime(due)
	at.NextAttempt = next.NotBefore.Time
	d.records.add(at)

	topic := RetryTopic(d.kcfg.Topics.WebhookEvents, step)
	label := strconv.Itoa(step)
	d.produce(j, topic, next, nil, func() {
		d.metrics.retries.WithLabelValues(label).Inc()
		j.finish()
	})
}

// failForGood records j's last attempt, writes j to the failed topic and
// counts a failed event against its webhook.
func (d *Dispatcher) failForGood(j *job, at Attempt) {
	d.log.Info("webhook delivery failed for good", zap.String("eventId", j.delivery.EventID), zap.String("webhookId", j.delivery.WebhookID), zap.Int("attempts", j.delivery.Attempt), zap.String("errorClass", at.Class))
	d.toFailedTopic(j, at, d.metrics.failed.Inc)
	d.countFailure(j.delivery.WebhookID)
}

// toFailedTopic records at as j's last row and writes j, unchanged, to the
// failed topic, from where the admin API can replay it. counted, when not
// nil, runs once the broker has the record.
func (d *Dispatcher) toFailedTopic(j *job, at Attempt, counted func()) {
	at.Final = true
	at.NextAttempt = time.Time{}
	d.records.add(at)
	d.produce(j, FailedTopic(d.kcfg.Topics.WebhookEvents), j.delivery, nil, func() {
		if counted != nil {
			counted()
		}
		j.finish()
	})
}

// produce hands del to the retry writer, keyed by webhook id and with the
// given record headers. written runs once the broker has the record. At
// shutdown the record may be abandoned, and then j stays unfinished.
func (d *Dispatcher) produce(j *job, topic string, del event.Delivery, headers []kafkago.Header, written func()) {
	value, err := json.Marshal(del)
	if err != nil {
		// Delivery holds only strings, numbers and raw JSON that was
		// decoded before, so this does not happen in practice.
		d.log.Error("encoding webhook delivery failed; dropping it", zap.String("eventId", del.EventID), zap.Error(err))
		j.finish()
		return
	}
	msg := kafkago.Message{Topic: topic, Key: []byte(del.WebhookID), Value: value, Headers: headers}
	d.out.send(d.sendCtx, outRecord{msg: msg, written: written})
}

// resetFailures clears a webhook's count of consecutive failed events.
func (d *Dispatcher) resetFailures(webhookID string) {
	d.failMu.Lock()
	delete(d.failures, webhookID)
	d.failMu.Unlock()
}

// countFailure counts a failed event and disables the webhook when
// Config.MaxConsecutiveFailures events in a row have failed.
//
// NOTE: the count lives in this process's memory. It restarts at zero after
// a restart, and when retry topics are consumed by several dispatchers each
// counts only the failures it saw, so disabling can take longer than the
// configured number of events.
func (d *Dispatcher) countFailure(webhookID string) {
	d.failMu.Lock()
	d.failures[webhookID]++
	n := d.failures[webhookID]
	d.failMu.Unlock()

	if n >= d.cfg.MaxConsecutiveFailures {
		d.disable(webhookID, DisableConsecutiveFailures)
	}
}

// disable marks the webhook disabled in the registry, so queued deliveries
// go to the failed topic unsent, and calls OnDisable. A webhook already disabled or deleted
// is left alone.
func (d *Dispatcher) disable(webhookID, reason string) {
	d.failMu.Lock()
	_, ok := d.reg.Disable(webhookID, time.Now().UTC(), reason)
	delete(d.failures, webhookID)
	d.failMu.Unlock()
	if !ok {
		return
	}

	d.metrics.disabled.WithLabelValues(reason).Inc()
	d.log.Warn("webhook disabled", zap.String("webhookId", webhookID), zap.String("reason", reason))
	if d.OnDisable != nil {
		d.OnDisable(webhookID, reason)
	}
}

// DeliverNow makes one signed attempt for del right away, outside the
// queues, and returns its delivery-log row after handing it to the
// AttemptRecorder. It neither retries nor disables the webhook. It is meant for tests and for
// sending a test event from an API; it may be called without Run.
func (d *Dispatcher) DeliverNow(ctx context.Context, del event.Delivery) (Attempt, error) {
	w, ok := d.reg.Get(del.WebhookID)
	if !ok {
		return Attempt{}, fmt.Errorf("delivering %s: %w: %s", del.EventID, ErrWebhookNotFound, del.WebhookID)
	}
	if !w.Enabled() {
		return Attempt{}, fmt.Errorf("delivering %s: %w: %s", del.EventID, ErrWebhookDisabled, del.WebhookID)
	}
	if del.Attempt < 1 {
		del.Attempt = 1
	}
	res, at := d.attempt(ctx, w, del, "")
	at.Final = true
	if err := d.records.rec.RecordAttempts(ctx, []Attempt{at}); err != nil {
		d.log.Error("recording delivery attempt failed", zap.String("eventId", at.EventID), zap.Error(err))
	}
	if res.Outcome != OutcomeSuccess {
		return at, fmt.Errorf("delivering %s to %s: %s", del.EventID, del.WebhookID, describe(res))
	}
	return at, nil
}

// describe returns a short text for a failed result.
func describe(res Result) string {
	if res.Err != nil {
		return fmt.Sprintf("%s (%s): %v", res.Outcome, res.Class, res.Err)
	}
	return fmt.Sprintf("%s (%s): HTTP %d", res.Outcome, res.Class, res.StatusCode)
}
