package webhook

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Attempt is one row of the delivery log: a request sent to a webhook, or a
// decision made without a request, which is a deferral (OutcomeDeferred) or
// a skip (OutcomeSkipped).
type Attempt struct {
	Time      time.Time
	EventID   string
	WebhookID string
	ProjectID string
	EventType string
	// Number counts attempts of one delivery from 1.
	Number     int
	URL        string
	StatusCode int
	Latency    time.Duration
	Outcome    Outcome
	// Class is the error class (the Class* constants); empty on success.
	Class string
	// Error is the transport error text, empty when a response arrived.
	Error string
	// ResponseBody is the first MaxResponseBody bytes of the response.
	ResponseBody []byte
	// NextAttempt is when the delivery will be tried again; zero when this
	// was the last attempt.
	NextAttempt time.Time
	// Final is true when no further attempt follows: the delivery
	// succeeded, failed for good, got a 410 or was skipped.
	Final bool
}

// AttemptRecorder stores delivery attempts, such as in the ClickHouse
// delivery log. The dispatcher calls RecordAttempts from one goroutine with
// batches of up to recordBatchSize attempts; the slice is not reused after
// the call returns.
type AttemptRecorder interface {
	RecordAttempts(ctx context.Context, attempts []Attempt) error
}

// NopRecorder discards attempts.
type NopRecorder struct{}

// RecordAttempts implements AttemptRecorder.
func (NopRecorder) RecordAttempts(context.Context, []Attempt) error { return nil }

// MemoryRecorder keeps every attempt in memory, for tests. It is safe for
// concurrent use.
type MemoryRecorder struct {
	mu       sync.Mutex
	attempts []Attempt
}

// RecordAttempts implements AttemptRecorder.
func (m *MemoryRecorder) RecordAttempts(_ context.Context, attempts []Attempt) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.attempts = append(m.attempts, attempts...)
	return nil
}

// Attempts returns a copy of the attempts recorded so far.
func (m *MemoryRecorder) Attempts() []Attempt {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Attempt(nil), m.attempts...)
}

const (
	recordBatchSize     = 1000
	recordFlushInterval = time.Second
	recordTimeout       = 10 * time.Second
)

// attemptLog batches attempts for an AttemptRecorder in the background.
// Offsets never wait for it: a slow or failing delivery log must not stop
// deliveries. Attempts that do not fit its queue, or whose batch fails,
// are dropped and counted.
type attemptLog struct {
	rec     AttemptRecorder
	queue   chan Attempt
	log     *zap.Logger
	metrics *metrics
	done    chan struct{}
}

func newAttemptLog(rec AttemptRecorder, size int, log *zap.Logger, m *metrics) *attemptLog {
	return &attemptLog{rec: rec, queue: make(chan Attempt, size), log: log, metrics: m, done: make(chan struct{})}
}

// add queues a without blocking.
func (l *attemptLog) add(a Attempt) {
	select {
	case l.queue <- a:
	default:
		l.metrics.recordsDropped.Add(1)
	}
}

// run flushes batches until stop is closed, then flushes what is queued and returns.
func (l *attemptLog) run(stop <-chan struct{}) {
	defer close(l.done)
	ticker := time.NewTicker(recordFlushInterval)
	defer ticker.Stop()

	batch := make([]Attempt, 0, recordBatchSize)
	for {
		select {
		case a := <-l.queue:
			batch = append(batch, a)
			if len(batch) >= recordBatchSize {
				batch = l.flush(batch)
			}
		case <-ticker.C:
			batch = l.flush(batch)
		case <-stop:
			l.drain(batch)
			return
		}
	}
}

func (l *attemptLog) drain(batch []Attempt) {
	for {
		select {
		case a := <-l.queue:
			batch = append(batch, a)
			if len(batch) >= recordBatchSize {
				batch = l.flush(batch)
			}
		default:
			l.flush(batch)
			return
		}
	}
}

// flush hands batch to the recorder and returns an empty batch to fill next.
func (l *attemptLog) flush(batch []Attempt) []Attempt {
	if len(batch) == 0 {
		return batch
	}
	ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
	defer cancel()

	if err := l.rec.RecordAttempts(ctx, batch); err != nil {
		l.metrics.recordsDropped.Add(float64(len(batch)))
		l.log.Error("recording delivery attempts failed; batch dropped", zap.Int("attempts", len(batch)), zap.Error(err))
	}
	return make([]Attempt, 0, recordBatchSize)
}
