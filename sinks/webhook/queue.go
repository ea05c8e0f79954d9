package webhook

import (
	"sync"
	"time"

	"github.com/clickstream/clickstream/pkg/event"
)

// job is one delivery on its way through the dispatcher.
type job struct {
	delivery event.Delivery
	// source is the topic the record came from, for logs.
	source string
	// step is the retry step of source, 0 for webhook-events.
	step int
	// deferrals counts how often this attempt went back to a retry topic
	// unsent, and deferredSince is when the first of those deferrals
	// happened. Both come from the record's headers and are zero for an
	// attempt that was never deferred.
	deferrals     int
	deferredSince time.Time
	enqueued      time.Time
	// finish is called once the delivery succeeded, failed for good or was
	// durably written to the next topic; it lets the source offset commit.
	// It is never called for a delivery abandoned at shutdown.
	finish func()
}

// endpointQueue is the FIFO of one webhook's waiting deliveries.
type endpointQueue struct {
	items []*job
	head  int
	// workers is the number of goroutines sending for this webhook.
	workers int
	// congestedUntil is set when push waited QueueFullWait in vain; until
	// then push defers at once instead of waiting again.
	congestedUntil time.Time
	// space receives a token whenever a worker takes a job, to wake a
	// consumer waiting in push.
	space chan struct{}
}

func (q *endpointQueue) len() int { return len(q.items) - q.head }

func (q *endpointQueue) push(j *job) {
	if len(q.items) == cap(q.items) && q.head > 0 {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	q.items = append(q.items, j)
}

func (q *endpointQueue) pop() *job {
	j := q.items[q.head]
	q.items[q.head] = nil
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	}
	return j
}

// queues holds the per-webhook queues and starts their workers. One mutex
// covers every queue: critical sections are a few slice operations, far
// cheaper than the requests they feed.
type queues struct {
	queueSize   int
	maxQueued   int
	concurrency int
	// work runs a worker for one webhook until next returns nil.
	work    func(webhookID string)
	metrics *metrics

	mu        sync.Mutex
	byWebhook map[string]*endpointQueue
	total     int
	stopped   bool
	workers   sync.WaitGroup
}

func newQueues(cfg Config, m *metrics, work func(string)) *queues {
	return &queues{
		queueSize:   cfg.QueueSize,
		maxQueued:   cfg.MaxQueued,
		concurrency: cfg.PerEndpointConcurrency,
		work:        work,
		metrics:     m,
		byWebhook:   map[string]*endpointQueue{},
	}
}

// congestionCooldown is how long push defers at once after a wait for a
// slot in a webhook's full queue timed out. A stalled endpoint thus costs a
// consumer one wait of QueueFullWait per cooldown, 2% of its time with the
// default 100 ms.
const congestionCooldown = 5 * time.Second

// push queues j for its webhook and starts a worker when fewer than the
// concurrency limit run. When the webhook's queue is full, push waits up to
// wait for a worker to free a slot, so a burst to an endpoint that keeps up
// stays in memory. If no slot frees in time, the webhook counts as
// congested for congestionCooldown and push returns at once meanwhile.
// It returns false, without queueing, when no slot was found, all queues
// together are full, or after stop.
//
// NOTE: an endpoint that frees a slot within wait but cannot keep up with
// its traffic slows the caller down to its own pace while its queue is
// full. Only endpoints slower than that are isolated by deferral.
func (qs *queues) push(j *job, wait time.Duration) bool {
	queued, space := qs.tryPush(j, wait)
	if queued || space == nil {
		return queued
	}

	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-space:
		case <-timer.C:
			// A consumer that was not scheduled for a while may find the
			// timer and a free slot ready together, and select picks
			// either. Only a queue that is still full counts as congested.
			if queued, _ = qs.tryPush(j, 0); queued {
				return true
			}
			qs.markCongested(j.delivery.WebhookID)
			return false
		}
		if queued, space = qs.tryPush(j, wait); queued || space == nil {
			return queued
		}
	}
}

func (qs *queues) markCongested(webhookID string) {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	if q := qs.byWebhook[webhookID]; q != nil {
		q.congestedUntil = time.Now().Add(congestionCooldown)
	}
}

// tryPush queues j if there is room. Otherwise it returns the channel to
// wait on for a slot, or nil when waiting is pointless.
func (qs *queues) tryPush(j *job, wait time.Duration) (bool, <-chan struct{}) {
	id := j.delivery.WebhookID
	qs.mu.Lock()
	if qs.stopped || qs.total >= qs.maxQueued {
		qs.mu.Unlock()
		return false, nil
	}
	q := qs.byWebhook[id]
	if q == nil {
		q = &endpointQueue{space: make(chan struct{}, 1)}
		qs.byWebhook[id] = q
	}
	if q.len() >= qs.queueSize {
		draining := wait > 0 && time.Now().After(q.congestedUntil)
		qs.mu.Unlock()
		if draining {
			return false, q.space
		}
		return false, nil
	}

	j.enqueued = time.Now()
	q.push(j)
	qs.total++
	start := q.workers < qs.concurrency
	if start {
		q.workers++
		qs.workers.Add(1)
	}
	qs.mu.Unlock()

	qs.metrics.queued.Inc()
	if start {
		go func() {
			defer qs.workers.Done()
			qs.work(id)
		}()
	}
	return true, nil
}

// next returns the webhook's next job, or nil when its queue is empty or
// the dispatcher is stopping; a worker that gets nil must exit.
func (qs *queues) next(webhookID string) *job {
	qs.mu.Lock()
	defer qs.mu.Unlock()

	q := qs.byWebhook[webhookID]
	if qs.stopped || q.len() == 0 {
		q.workers--
		if q.workers == 0 && q.len() == 0 {
			delete(qs.byWebhook, webhookID)
		}
		return nil
	}
	qs.total--
	qs.metrics.queued.Dec()
	select {
	case q.space <- struct{}{}:
	default:
	}
	return q.pop()
}

// expire removes and returns the jobs that have waited since before
// deadline. Queues are FIFO, so only their heads need checking.
func (qs *queues) expire(deadline time.Time) []*job {
	qs.mu.Lock()
	defer qs.mu.Unlock()

	var out []*job
	for _, q := range qs.byWebhook {
		for q.len() > 0 && q.items[q.head].enqueued.Before(deadline) {
			out = append(out, q.pop())
			qs.total--
		}
	}
	qs.metrics.queued.Sub(float64(len(out)))
	return out
}

// stop makes workers exit after their current job and returns the number
// of jobs left queued. Their offsets stay uncommitted, so they are
// delivered again after a restart.
func (qs *queues) stop() int {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	qs.stopped = true
	return qs.total
}

// wait blocks until every worker has exited.
func (qs *queues) wait() {
	qs.workers.Wait()
}
