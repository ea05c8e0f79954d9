package webhook

import (
	"errors"
	"fmt"
	"time"
)

// Config is the `dispatcher` section of the configuration file. Durations
// are written as Go durations ("5s", "2m", "12h").
type Config struct {
	// Group is the consumer group of the webhook-events topic. Retry topic n
	// is read by the group "<group>.retry.<n>", so that a rebalance of one
	// topic does not pause the others. Default "webhook-dispatcher".
	Group string `yaml:"group"`
	// PerEndpointConcurrency is the maximum number of requests in flight to
	// one webhook. Default 8.
	PerEndpointConcurrency int `yaml:"perEndpointConcurrency"`
	// QueueSize is the maximum number of deliveries waiting for one
	// webhook. Further deliveries go to the retry topics. Default 1000.
	QueueSize int `yaml:"queueSize"`
	// QueueFullWait is how long a consumer waits for a slot in a webhook's
	// full queue before it defers the delivery. A wait that times out marks
	// the webhook congested for 5 s, during which deliveries to it are
	// deferred without waiting. 0 defers at once. Default 100ms.
	QueueFullWait time.Duration `yaml:"queueFullWait"`
	// MaxQueued is the maximum number of deliveries waiting across all
	// webhooks, which bounds the payload memory. Default 50000.
	MaxQueued int `yaml:"maxQueued"`
	// MaxQueueWait is how long a delivery may wait in a webhook's queue
	// before it goes to the retry topics, so that a stalled endpoint cannot
	// hold back the committed offsets of the partitions it shares.
	// Default 5s.
	MaxQueueWait time.Duration `yaml:"maxQueueWait"`
	// MaxUncommitted is the maximum number of fetched records per topic
	// whose offsets cannot be committed yet. When it is reached, that
	// topic's consumer stops fetching until older deliveries finish.
	// Default 200000.
	MaxUncommitted int `yaml:"maxUncommitted"`
	// RetrySchedule is the delay before each retry. Failed attempt n goes
	// to the topic "<webhookEvents>.retry.<n>", which delays it by
	// RetrySchedule[n-1]; after len(RetrySchedule)+1 attempts the delivery
	// has failed. Deferred deliveries wait in the same topics without
	// using up an attempt. Default 5s, 30s, 2m, 10m, 30m, 1h, 3h, 6h, 12h (about 23
	// hours, 10 attempts).
	RetrySchedule []time.Duration `yaml:"retrySchedule"`
	// RetryJitter adds a random extra delay of up to this fraction of each
	// step, so that retries of one outage do not arrive together. Default 0.1.
	RetryJitter float64 `yaml:"retryJitter"`
	// MaxRetryAfter caps the delay a receiver may ask for with Retry-After
	// on 429 and 503. Default 1h.
	MaxRetryAfter time.Duration `yaml:"maxRetryAfter"`
	// MaxConsecutiveFailures disables a webhook after this many events in a
	// row failed for good (all attempts used up, or refused). Default 20.
	MaxConsecutiveFailures int `yaml:"maxConsecutiveFailures"`
	// AllowCIDRs lists address ranges (CIDRs or single addresses) that
	// receivers may be reached at although the SSRF guard denies them, such
	// as 127.0.0.0/8 in tests or 10.1.0.0/16 on premises. Cloud metadata
	// addresses stay denied. Default empty.
	AllowCIDRs []string `yaml:"allowCIDRs"`
	// ConnectTimeout bounds the TCP connect and TLS handshake. Default 5s.
	ConnectTimeout time.Duration `yaml:"connectTimeout"`
	// RequestTimeout bounds a whole attempt. Default 15s.
	RequestTimeout time.Duration `yaml:"requestTimeout"`
	// UserAgent is sent with every request. Default "clickstream-webhooks/1.0".
	UserAgent string `yaml:"userAgent"`
	// CommitInterval is how often finished offsets are committed. Default 1s.
	CommitInterval time.Duration `yaml:"commitInterval"`
	// DrainTimeout is how long Run waits on shutdown for requests in flight
	// before it cancels them. Default 20s.
	DrainTimeout time.Duration `yaml:"drainTimeout"`
	// ProduceQueueSize is the maximum number of records waiting to be
	// written to the retry and failed topics. Default 10000.
	ProduceQueueSize int `yaml:"produceQueueSize"`
	// RecordQueueSize is the maximum number of attempts waiting for the
	// AttemptRecorder; attempts beyond it are dropped and counted.
	// Default 10000.
	RecordQueueSize int `yaml:"recordQueueSize"`
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		Group:                  "webhook-dispatcher",
		PerEndpointConcurrency: 8,
		QueueSize:              1000,
		QueueFullWait:          100 * time.Millisecond,
		MaxQueued:              50000,
		MaxQueueWait:           5 * time.Second,
		MaxUncommitted:         200000,
		RetrySchedule: []time.Duration{
			5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute,
			time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
		},
		RetryJitter:            0.1,
		MaxRetryAfter:          time.Hour,
		MaxConsecutiveFailures: 20,
		ConnectTimeout:         5 * time.Second,
		RequestTimeout:         15 * time.Second,
		UserAgent:              "clickstream-webhooks/1.0",
		CommitInterval:         time.Second,
		DrainTimeout:           20 * time.Second,
		ProduceQueueSize:       10000,
		RecordQueueSize:        10000,
	}
}

// maxRetrySteps bounds the number of retry topics.
const maxRetrySteps = 30

// Validate checks c; messages name the YAML key.
func (c *Config) Validate() error {
	switch {
	case c.Group == "":
		return errors.New("dispatcher.group: must not be empty")
	case c.PerEndpointConcurrency < 1 || c.PerEndpointConcurrency > 1000:
		return fmt.Errorf("dispatcher.perEndpointConcurrency: must be 1 to 1000, got %d", c.PerEndpointConcurrency)
	case c.QueueSize < 1:
		return fmt.Errorf("dispatcher.queueSize: must be at least 1, got %d", c.QueueSize)
	case c.QueueFullWait < 0 || c.QueueFullWait > time.Second:
		return fmt.Errorf("dispatcher.queueFullWait: must be 0 to 1s, got %s", c.QueueFullWait)
	case c.MaxQueued < c.QueueSize:
		return fmt.Errorf("dispatcher.maxQueued: must be at least dispatcher.queueSize (%d), got %d", c.QueueSize, c.MaxQueued)
	case c.MaxQueueWait <= 0:
		return fmt.Errorf("dispatcher.maxQueueWait: must be positive, got %s", c.MaxQueueWait)
	case c.MaxUncommitted < c.MaxQueued:
		return fmt.Errorf("dispatcher.maxUncommitted: must be at least dispatcher.maxQueued (%d), got %d", c.MaxQueued, c.MaxUncommitted)
	case c.RetryJitter < 0 || c.RetryJitter > 1:
		return fmt.Errorf("dispatcher.retryJitter: must be 0 to 1, got %g", c.RetryJitter)
	case c.MaxRetryAfter < 0:
		return fmt.Errorf("dispatcher.maxRetryAfter: must not be negative, got %s", c.MaxRetryAfter)
	case c.MaxConsecutiveFailures < 1:
		return fmt.Errorf("dispatcher.maxConsecutiveFailures: must be at least 1, got %d", c.MaxConsecutiveFailures)
	case c.ConnectTimeout <= 0:
		return fmt.Errorf("dispatcher.connectTimeout: must be positive, got %s", c.ConnectTimeout)
	case c.RequestTimeout < c.ConnectTimeout:
		return fmt.Errorf("dispatcher.requestTimeout: must be at least dispatcher.connectTimeout (%s), got %s", c.ConnectTimeout, c.RequestTimeout)
	case c.UserAgent == "":
		return errors.New("dispatcher.userAgent: must not be empty")
	case c.CommitInterval <= 0:
		return fmt.Errorf("dispatcher.commitInterval: must be positive, got %s", c.CommitInterval)
	case c.DrainTimeout <= 0:
		return fmt.Errorf("dispatcher.drainTimeout: must be positive, got %s", c.DrainTimeout)
	case c.ProduceQueueSize < 1:
		return fmt.Errorf("dispatcher.produceQueueSize: must be at least 1, got %d", c.ProduceQueueSize)
	case c.RecordQueueSize < 1:
		return fmt.Errorf("dispatcher.recordQueueSize: must be at least 1, got %d", c.RecordQueueSize)
	}
	if err := c.validateSchedule(); err != nil {
		return err
	}
	if _, err := parseCIDRs(c.AllowCIDRs); err != nil {
		return fmt.Errorf("dispatcher.allowCIDRs: %w", err)
	}
	return nil
}

func (c *Config) validateSchedule() error {
	if len(c.RetrySchedule) > maxRetrySteps {
		return fmt.Errorf("dispatcher.retrySchedule: must have at most %d steps, got %d", maxRetrySteps, len(c.RetrySchedule))
	}
	for i, d := range c.RetrySchedule {
		if d <= 0 {
			return fmt.Errorf("dispatcher.retrySchedule[%d]: must be positive, got %s", i, d)
		}
		if i > 0 && d < c.RetrySchedule[i-1] {
			return fmt.Errorf("dispatcher.retrySchedule[%d]: must not be shorter than the step before (%s), got %s", i, c.RetrySchedule[i-1], d)
		}
	}
	return nil
}
