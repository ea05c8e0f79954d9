package webhook

import (
	"strconv"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/clickstream/clickstream/pkg/event"
)

// Record headers that carry a deferred attempt's count and start from one
// retry-topic record to the next. Only deferJob sets them, so the count
// starts again after every request that was sent.
const (
	headerDeferrals     = "clickstream-deferrals"
	headerDeferredSince = "clickstream-deferred-since" // Unix milliseconds
)

// Limits of deferral. A webhook that never catches up would otherwise keep
// every event it is sent cycling through the retry topics forever, so
// that their records grow with its backlog and not with its traffic.
const (
	// defaultMaxDeferrals is how often one attempt may be deferred before
	// the delivery is set aside in the failed topic. It bounds the
	// retry-topic records of one event per attempt, whatever the schedule.
	defaultMaxDeferrals = 100
	// minDeferralSpan is how long one attempt may stay deferred before it
	// is set aside, unless the retry schedule spans longer.
	minDeferralSpan = 24 * time.Hour
	// deferralBackoff divides the time an attempt has been deferred to get
	// the longest wait before its next try (see deferralStep).
	deferralBackoff = 2
)

// maxDeferralSpan returns how long one attempt may stay deferred: the
// retry schedule's total, and at least minDeferralSpan.
func maxDeferralSpan(schedule []time.Duration) time.Duration {
	var total time.Duration
	for _, d := range schedule {
		total += d
	}
	return max(total, minDeferralSpan)
}

// deferJob sends j to a retry topic without a request, because its
// webhook's queue was full or j waited in it longer than
// Config.MaxQueueWait. A deferral keeps the attempt number and does not
// count towards MaxConsecutiveFailures, because the endpoint did not fail
// but is only behind. The wait before the next try grows with the time j
// has been deferred (see deferralStep). After d.maxDeferrals deferrals or
// d.maxDeferralSpan, j goes to the failed topic with ClassQueueFull.
func (d *Dispatcher) deferJob(j *job) {
	now := time.Now()
	since := j.deferredSince
	if j.deferrals == 0 || since.IsZero() || since.After(now) {
		since = now
	}
	deferredFor := now.Sub(since)

	url := ""
	if w, ok := d.reg.Get(j.delivery.WebhookID); ok {
		url = w.URL
	}
	at := unsentRow(j.delivery, url, OutcomeDeferred, ClassQueueFull)

	if len(d.cfg.RetrySchedule) == 0 || j.deferrals >= d.maxDeferrals || deferredFor >= d.maxDeferralSpan {
		d.setAsideDeferred(j, at, deferredFor)
		return
	}

	step, delay := deferralStep(d.cfg.RetrySchedule, deferredFor)
	next := j.delivery
	// NewTime truncates to milliseconds; rounding up first keeps the next
	// try from starting before the full delay.
	next.NotBefore = event.NewTime(now.Add(jittered(delay, d.cfg.RetryJitter) + time.Millisecond - 1))
	at.NextAttempt = next.NotBefore.Time

	// One row for the first deferral of an attempt and one whenever the
	// wait moves to a longer step: at most one per step of the schedule,
	// however long the webhook stays behind.
	if j.deferrals == 0 || step != j.step {
		d.records.add(at)
	}
	d.metrics.attempts.WithLabelValues(OutcomeDeferred.String()).Inc()
	d.notices.add(j.delivery.WebhookID, noticeDeferred, deferredFor)
	d.logAttempt(at, nil, j.source)

	headers := []kafkago.Header{
		{Key: headerDeferrals, Value: strconv.AppendInt(nil, int64(j.deferrals+1), 10)},
		{Key: headerDeferredSince, Value: strconv.AppendInt(nil, since.UnixMilli(), 10)},
	}
	label := strconv.Itoa(step)
	d.produce(j, RetryTopic(d.kcfg.Topics.WebhookEvents, step), next, headers, func() {
		d.metrics.retries.WithLabelValues(label).Inc()
		j.finish()
	})
}

// setAsideDeferred writes j, unsent, to the failed topic after it was
// deferred for too long or too often, or when there is no retry topic to
// defer it to. It does not count towards MaxConsecutiveFailures. A replay
// sends it again once the webhook keeps up.
func (d *Dispatcher) setAsideDeferred(j *job, at Attempt, deferredFor time.Duration) {
	at.Outcome = OutcomeSkipped
	d.metrics.skipped.WithLabelValues(ClassQueueFull).Inc()
	d.notices.add(j.delivery.WebhookID, noticeSetAside, deferredFor)
	d.log.Debug("webhook delivery set aside after deferrals", zap.String("eventId", j.delivery.EventID), zap.String("webhookId", j.delivery.WebhookID),
		zap.Int("attempt", j.delivery.Attempt), zap.Int("deferrals", j.deferrals), zap.Duration("deferredFor", deferredFor))
	d.toFailedTopic(j, at, nil)
}

// deferralStep returns the retry step for an attempt that has been
// deferred for deferredFor, and that step's delay. The step is the longest
// one whose delay is at most deferredFor/deferralBackoff, or the first.
// Once the webhook catches up, an attempt thus waits at most another half
// of the time it has been deferred (plus jitter) or one first step, and a
// long backlog is read back from Kafka less and less often. The schedule
// must not be empty.
func deferralStep(schedule []time.Duration, deferredFor time.Duration) (int, time.Duration) {
	limit := deferredFor / deferralBackoff
	step := 1
	for step < len(schedule) && schedule[step] <= limit {
		step++
	}
	return step, schedule[step-1]
}

// readDeferral returns the deferral count and start that deferJob wrote
// to a record's headers, or zeros when they are missing or invalid.
func readDeferral(headers []kafkago.Header) (int, time.Time) {
	count, sinceMs := 0, int64(0)
	for _, h := range headers {
		switch h.Key {
		case headerDeferrals:
			if n, err := strconv.Atoi(string(h.Value)); err == nil {
				count = n
			}
		case headerDeferredSince:
			if ms, err := strconv.ParseInt(string(h.Value), 10, 64); err == nil {
				sinceMs = ms
			}
		}
	}
	if count <= 0 || sinceMs <= 0 {
		return 0, time.Time{}
	}
	return count, time.UnixMilli(sinceMs)
}
