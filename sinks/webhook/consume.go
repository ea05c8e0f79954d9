package webhook

import (
	"context"
	"encoding/json"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/clickstream/clickstream/pkg/event"
)

// fetchErrorPause is how long a consumer waits after a failed fetch.
const fetchErrorPause = time.Second

// consume fetches c's records and dispatches them until ctx ends. A retry
// topic's consumer first waits until the record's NotBefore. Waiting at the
// head is safe because later records of the topic were written later with
// the same delay, so none is due sooner by more than the jitter.
// NotBefore is ignored on webhook-events.
func (d *Dispatcher) consume(ctx context.Context, c *consumer) {
	for {
		msg, err := c.reader.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			d.log.Error("fetching webhook records failed", zap.String("topic", c.topic), zap.Error(err))
			if !sleepUntil(ctx, time.Now().Add(fetchErrorPause)) {
				return
			}
			continue
		}

		del, err := decodeDelivery(msg.Value)
		if err == nil && c.step > 0 && !sleepUntil(ctx, del.NotBefore.Time) {
			return
		}
		tk, terr := c.tracker.add(ctx, msg.Partition, msg.Offset)
		if terr != nil {
			return
		}
		if err != nil {
			d.metrics.skipped.WithLabelValues("invalid").Inc()
			d.log.Error("skipping invalid webhook record", zap.String("topic", c.topic), zap.Int("partition", msg.Partition), zap.Int64("offset", msg.Offset), zap.Error(err))
			tk.finish()
			continue
		}
		j := &job{delivery: del, source: c.topic, step: c.step, finish: tk.finish}
		j.deferrals, j.deferredSince = readDeferral(msg.Headers)
		d.dispatch(j)
	}
}

// decodeDelivery parses a record value and checks the fields the dispatcher needs.
func decodeDelivery(b []byte) (event.Delivery, error) {
	var del event.Delivery
	if err := json.Unmarshal(b, &del); err != nil {
		return del, err
	}
	switch {
	case del.EventID == "":
		return del, errInvalidRecord("eventId is missing")
	case del.WebhookID == "":
		return del, errInvalidRecord("webhookId is missing")
	case len(del.Payload) == 0:
		return del, errInvalidRecord("payload is missing")
	}
	if del.Attempt < 1 {
		del.Attempt = 1
	}
	return del, nil
}

type errInvalidRecord string

func (e errInvalidRecord) Error() string { return "invalid delivery record: " + string(e) }

// sleepUntil waits until t and reports false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	wait := time.Until(t)
	if wait <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// commitLoop commits c's finished offsets every Config.CommitInterval until ctx ends.
func (d *Dispatcher) commitLoop(ctx context.Context, c *consumer) {
	ticker := time.NewTicker(d.cfg.CommitInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
			d.commit(ctx, c)
		case <-ctx.Done():
			return
		}
	}
}

func (d *Dispatcher) commit(ctx context.Context, c *consumer) {
	offsets := c.tracker.commitOffsets()
	if len(offsets) == 0 {
		return
	}
	msgs := make([]kafkago.Message, 0, len(offsets))
	for p, next := range offsets {
		// CommitMessages commits the offset after the message's.
		msgs = append(msgs, kafkago.Message{Topic: c.topic, Partition: p, Offset: next - 1})
	}
	if err := c.reader.CommitMessages(ctx, msgs...); err != nil {
		c.tracker.redo(offsets)
		if ctx.Err() == nil {
			d.log.Error("committing webhook offsets failed; retrying at the next interval", zap.String("topic", c.topic), zap.Error(err))
		}
	}
}

// finalCommit commits what finished during the drain and closes the reader.
func (d *Dispatcher) finalCommit(c *consumer) {
	ctx, cancel := context.WithTimeout(context.Background(), finalCommitTimeout)
	defer cancel()
	d.commit(ctx, c)
	if err := c.reader.Close(); err != nil {
		d.log.Error("closing webhook reader failed", zap.String("topic", c.topic), zap.Error(err))
	}
}

// sweep moves deliveries that waited longer than Config.MaxQueueWait from
// the queues to the retry topics until ctx ends.
func (d *Dispatcher) sweep(ctx context.Context) {
	ticker := time.NewTicker(max(d.cfg.MaxQueueWait/4, 10*time.Millisecond))
	defer ticker.Stop()
	for {
		select {
		case now := <-ticker.C:
			for _, j := range d.queues.expire(now.Add(-d.cfg.MaxQueueWait)) {
				d.deferJob(j)
			}
		case <-ctx.Done():
			return
		}
	}
}
