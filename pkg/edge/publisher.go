package edge

import (
	"context"
	"errors"

	"github.com/clickstream/clickstream/pkg/event"
)

// ErrDropped is returned by Publisher.Publish when a hit is lost: the
// publisher is closed, or the in-memory queue and the disk spool are both
// full. The publisher has already counted and logged the loss.
var ErrDropped = errors.New("hit dropped")

// Publisher takes hits off the request path. KafkaPublisher is the
// production implementation; tests use a fake.
type Publisher interface {
	// Publish hands h over without waiting for Kafka. It is safe for
	// concurrent use. A nil error means the hit is queued in memory or
	// written to disk; an error wrapping ErrDropped means it is lost.
	Publish(h event.RawHit) error
	// Close stops taking hits and flushes those already taken, trying
	// Kafka until ctx is done and writing the rest to disk. Publish calls
	// after Close return ErrDropped.
	Close(ctx context.Context) error
}
