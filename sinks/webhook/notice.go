package webhook

import (
	"context"
	"sort"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// noticeInterval is how often the dispatcher logs its counts of deferred
// and skipped deliveries.
const noticeInterval = 10 * time.Second

// noticeKind is a kind of delivery that is counted per webhook and logged
// as a count, because it repeats for every delivery of a webhook that is
// behind, disabled or deleted.
type noticeKind int

const (
	noticeDeferred noticeKind = iota
	noticeSetAside
	noticeDisabled
	noticeDeleted
)

// level and message return the level and the text of the log line of a
// notice kind.
func (k noticeKind) level() zapcore.Level {
	if k == noticeSetAside {
		return zap.WarnLevel
	}
	return zap.InfoLevel
}

func (k noticeKind) message() string {
	switch k {
	case noticeDeferred:
		return "webhook deliveries deferred unsent because the webhook is behind"
	case noticeSetAside:
		return "webhook deliveries set aside in the failed topic after too many deferrals; replay them once the webhook keeps up"
	case noticeDisabled:
		return "webhook deliveries set aside in the failed topic because the webhook is disabled; replay them after enabling it"
	default:
		return "webhook deliveries dropped because the webhook was deleted"
	}
}

type noticeKey struct {
	webhookID string
	kind      noticeKind
}

type noticeCount struct {
	deliveries int
	// longestDeferral is the longest time one of the deliveries had been
	// deferred. It grows while a webhook's backlog does not drain.
	longestDeferral time.Duration
}

// notices counts deliveries per webhook and kind until the next flush. It
// holds one entry per webhook and kind seen since the last flush.
type notices struct {
	mu     sync.Mutex
	counts map[noticeKey]*noticeCount
	// since is when the counting started.
	since time.Time
}

func newNotices() *notices {
	return &notices{counts: map[noticeKey]*noticeCount{}, since: time.Now()}
}

// add counts one delivery of kind for webhookID, deferred for deferredFor.
func (n *notices) add(webhookID string, kind noticeKind, deferredFor time.Duration) {
	key := noticeKey{webhookID: webhookID, kind: kind}
	n.mu.Lock()
	defer n.mu.Unlock()
	c := n.counts[key]
	if c == nil {
		c = &noticeCount{}
		n.counts[key] = c
	}
	c.deliveries++
	c.longestDeferral = max(c.longestDeferral, deferredFor)
}

// flush logs one line per webhook and kind counted since the last flush,
// in webhook id order, and resets the counts.
func (n *notices) flush(log *zap.Logger) {
	now := time.Now()
	n.mu.Lock()
	counts, interval := n.counts, now.Sub(n.since)
	n.counts, n.since = map[noticeKey]*noticeCount{}, now
	n.mu.Unlock()

	keys := make([]noticeKey, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].webhookID != keys[j].webhookID {
			return keys[i].webhookID < keys[j].webhookID
		}
		return keys[i].kind < keys[j].kind
	})

	for _, k := range keys {
		c := counts[k]
		ce := log.Check(k.kind.level(), k.kind.message())
		if ce == nil {
			continue
		}
		fields := []zap.Field{zap.String("webhookId", k.webhookID), zap.Int("deliveries", c.deliveries), zap.Duration("interval", interval)}
		if k.kind == noticeDeferred || k.kind == noticeSetAside {
			fields = append(fields, zap.Duration("longestDeferral", c.longestDeferral))
		}
		ce.Write(fields...)
	}
}

// logNotices flushes d.notices every noticeInterval until ctx ends.
func (d *Dispatcher) logNotices(ctx context.Context) {
	ticker := time.NewTicker(noticeInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
			d.notices.flush(d.log)
		case <-ctx.Done():
			return
		}
	}
}
