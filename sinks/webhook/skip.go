package webhook

import (
	"time"

	"go.uber.org/zap"

	"github.com/clickstream/clickstream/pkg/event"
	"github.com/clickstream/clickstream/pkg/subscription"
)

// skipDisabled writes j, unsent, to the failed topic because its webhook is
// disabled, so that a replay after enabling the webhook delivers it. The
// delivery-log row has OutcomeSkipped and ClassDisabled. It does not count
// towards MaxConsecutiveFailures.
func (d *Dispatcher) skipDisabled(j *job, w subscription.Webhook) {
	at := unsentRow(j.delivery, w.URL, OutcomeSkipped, ClassDisabled)
	d.metrics.skipped.WithLabelValues(ClassDisabled).Inc()
	d.notices.add(j.delivery.WebhookID, noticeDisabled, 0)
	d.log.Debug("webhook delivery skipped", zap.String("reason", ClassDisabled), zap.String("eventId", j.delivery.EventID), zap.String("webhookId", j.delivery.WebhookID), zap.Int("attempt", j.delivery.Attempt))
	d.toFailedTopic(j, at, nil)
}

// skipDeleted drops j because its webhook no longer exists. Nothing could
// replay it, because the subscription is gone and the replay API needs the
// webhook. The delivery log keeps a row with OutcomeSkipped and
// ClassDeleted, so the deleted webhook's history shows where its last
// deliveries went.
func (d *Dispatcher) skipDeleted(j *job) {
	at := unsentRow(j.delivery, "", OutcomeSkipped, ClassDeleted)
	at.Final = true
	d.records.add(at)
	d.metrics.skipped.WithLabelValues(ClassDeleted).Inc()
	d.notices.add(j.delivery.WebhookID, noticeDeleted, 0)
	d.log.Debug("webhook delivery skipped", zap.String("reason", ClassDeleted), zap.String("eventId", j.delivery.EventID), zap.String("webhookId", j.delivery.WebhookID), zap.Int("attempt", j.delivery.Attempt))
	j.finish()
}

// unsentRow returns the delivery-log row of a decision about del that sent
// no request.
func unsentRow(del event.Delivery, url string, outcome Outcome, class string) Attempt {
	return Attempt{
		Time:      time.Now(),
		EventID:   del.EventID,
		WebhookID: del.WebhookID,
		ProjectID: del.ProjectID,
		EventType: del.EventType,
		Number:    del.Attempt,
		URL:       url,
		Outcome:   outcome,
		Class:     class,
	}
}
