package webhook

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	kafkago "github.com/segmentio/kafka-go"
	"go.uber.org/zap"
)

// RetryTopic returns the name of the topic for retry step n (from 1), whose
// records wait RetrySchedule[n-1] before their next attempt.
func RetryTopic(webhookEvents string, n int) string {
	return webhookEvents + ".retry." + strconv.Itoa(n)
}

// FailedTopic returns the name of the topic that receives deliveries that
// failed for good, keyed by webhook id. Its records are event.Delivery
// values and can be written back to webhook-events to replay them.
func FailedTopic(webhookEvents string) string {
	return webhookEvents + ".failed"
}

// retryStep returns the retry step (from 1) that follows a failed attempt
// number attempt, and the delay of that step. A retryAfter longer than the
// step's delay moves to the first later step that waits at least as long,
// or the last one. Records of one retry topic share one delay, so they
// become due in roughly the order they were written, which lets a retry
// consumer wait for the record at its head. It returns 0 when the schedule
// has no step left.
func retryStep(schedule []time.Duration, attempt int, retryAfter time.Duration) (int, time.Duration) {
	if attempt < 1 || attempt > len(schedule) {
		return 0, 0
	}
	i := attempt - 1
	for i < len(schedule)-1 && schedule[i] < retryAfter {
		i++
	}
	return i + 1, schedule[i]
}

// jittered returns d plus a random extra of up to fraction*d.
func jittered(d time.Duration, fraction float64) time.Duration {
	if fraction <= 0 {
		return d
	}
	return d + time.Duration(rand.Float64()*fraction*float64(d))
}

// producer is the part of *kafkago.Writer the dispatcher uses.
type producer interface {
	WriteMessages(ctx context.Context, msgs ...kafkago.Message) error
	Close() error
}

// outRecord is a record for a retry or the failed topic and the callback to
// run once the broker has acknowledged it.
type outRecord struct {
	msg     kafkago.Message
	written func()
}

const (
	produceBatchSize = 500
	produceLinger    = 5 * time.Millisecond
	produceFlushers  = 2
)

// handoff writes records to Kafka in batches from a bounded queue. A batch
// that fails is written again with backoff until the context ends, so that
// written runs only for records the broker holds.
type handoff struct {
	w     producer
	queue chan outRecord
	log   *zap.Logger
	wg    sync.WaitGroup
}

func newHandoff(w producer, size int, log *zap.Logger) *handoff {
	return &handoff{w: w, queue: make(chan outRecord, size), log: log}
}

// send queues r, blocking while the queue is full. It returns false when
// ctx ends first, in which case r.written is never called.
func (h *handoff) send(ctx context.Context, r outRecord) bool {
	select {
	case h.queue <- r:
		return true
	case <-ctx.Done():
		return false
	}
}

// start runs the flushers until ctx ends.
func (h *handoff) start(ctx context.Context) {
	for range produceFlushers {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			h.flushLoop(ctx)
		}()
	}
}

// close stops the flushers once the queued records are written. Call it
// only after every sender has returned.
func (h *handoff) close() { close(h.queue) }

func (h *handoff) wait() { h.wg.Wait() }

func (h *handoff) flushLoop(ctx context.Context) {
	batch := make([]outRecord, 0, produceBatchSize)
	for {
		select {
		case r, ok := <-h.queue:
			if !ok {
				return
			}
			batch = append(batch[:0], r)
		case <-ctx.Done():
			return
		}

		closed := h.fill(&batch)
		if !h.write(ctx, batch) || closed {
			return
		}
	}
}

// fill adds queued records to batch until it is full or produceLinger has
// passed. It reports whether the queue was closed.
func (h *handoff) fill(batch *[]outRecord) bool {
	timer := time.NewTimer(produceLinger)
	defer timer.Stop()
	for len(*batch) < produceBatchSize {
		select {
		case r, ok := <-h.queue:
			if !ok {
				return true
			}
			*batch = append(*batch, r)
		case <-timer.C:
			return false
		}
	}
	return false
}

// write writes batch until the broker acknowledges it and runs the
// callbacks. It returns false when ctx ended first; the records' offsets
// then stay uncommitted and are delivered again after a restart.
func (h *handoff) write(ctx context.Context, batch []outRecord) bool {
	msgs := make([]kafkago.Message, len(batch))
	for i, r := range batch {
		msgs[i] = r.msg
	}

	op := func() (struct{}, error) {
		return struct{}{}, h.w.WriteMessages(ctx, msgs...)
	}
	notify := func(err error, next time.Duration) {
		h.log.Error("writing retry records failed; trying again", zap.Int("records", len(msgs)), zap.Duration("backoff", next), zap.Error(err))
	}
	b := &backoff.ExponentialBackOff{InitialInterval: 100 * time.Millisecond, RandomizationFactor: 0.5, Multiplier: 2, MaxInterval: 10 * time.Second}
	if _, err := backoff.Retry(ctx, op, backoff.WithBackOff(b), backoff.WithMaxElapsedTime(0), backoff.WithNotify(notify)); err != nil {
		h.log.Error("writing retry records abandoned at shutdown; their deliveries stay uncommitted", zap.Int("records", len(msgs)), zap.Error(err))
		return false
	}

	for _, r := range batch {
		r.written()
	}
	return true
}
