package worker

import (
	"errors"
	"fmt"
	"time"
)

// Config is the `worker` section of the configuration file.
type Config struct {
	// Group is the Kafka consumer group of the workers. Default "workers".
	Group string `yaml:"group"`
	// BatchSize is the maximum number of hits in one ClickHouse insert.
	// Default 5000.
	BatchSize int `yaml:"batchSize"`
	// FlushInterval is the longest a partial batch waits for more hits.
	// Default 1s.
	FlushInterval time.Duration `yaml:"flushInterval"`
	// DedupWindow is how long a repeat of the same visitor (IP and user
	// agent) on the same resource is marked duplicate. Zero disables the
	// check. Default 1h.
	DedupWindow time.Duration `yaml:"dedupWindow"`
	// VisitorHashKey is the secret key of the visitor hash that ClickHouse
	// stores with each interaction (HMAC-SHA256), at least 16 bytes, the
	// same on every worker of the group. With a key a worker taking over a
	// partition restores the duplicate window also where enrich.privacy
	// changed the stored addresses. Without one the hash is stored only
	// where the address is kept. Default empty.
	VisitorHashKey string `yaml:"visitorHashKey"`
	// DedupCacheSize bounds the visitors remembered per partition; the
	// least recently seen are forgotten first. Default 100000.
	DedupCacheSize int `yaml:"dedupCacheSize"`
	// CounterCacheSize bounds the resources whose webhook counters are kept
	// per partition. Default 10000.
	CounterCacheSize int `yaml:"counterCacheSize"`
	// RetryMin and RetryMax bound the exponential backoff between attempts
	// to insert into ClickHouse or produce to Kafka. Defaults 200ms and 30s.
	RetryMin time.Duration `yaml:"retryMin"`
	RetryMax time.Duration `yaml:"retryMax"`
	// ShutdownTimeout is how long a stopping worker may spend flushing and
	// committing the batches in progress. Default 20s.
	ShutdownTimeout time.Duration `yaml:"shutdownTimeout"`
	// MemoryLimitMiB is the soft memory limit of the `clickstream worker`
	// process in MiB (the Go runtime's GOMEMLIMIT), which makes the
	// garbage collector run before the heap doubles. A GOMEMLIMIT
	// variable takes precedence; 0 leaves the runtime's default. Default 200.
	MemoryLimitMiB int `yaml:"memoryLimitMiB"`
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		Group:            "workers",
		BatchSize:        5000,
		FlushInterval:    time.Second,
		DedupWindow:      time.Hour,
		DedupCacheSize:   100000,
		CounterCacheSize: 10000,
		RetryMin:         200 * time.Millisecond,
		RetryMax:         30 * time.Second,
		ShutdownTimeout:  20 * time.Second,
		MemoryLimitMiB:   200,
	}
}

// Validate checks c; messages name the YAML key.
func (c *Config) Validate() error {
	switch {
	case c.Group == "":
		return errors.New("worker.group: must not be empty")
	case c.BatchSize < 1 || c.BatchSize > 1_000_000:
		return fmt.Errorf("worker.batchSize: must be 1 to 1000000, got %d", c.BatchSize)
	case c.FlushInterval <= 0:
		return fmt.Errorf("worker.flushInterval: must be positive, got %s", c.FlushInterval)
	case c.DedupWindow < 0:
		return fmt.Errorf("worker.dedupWindow: must not be negative, got %s", c.DedupWindow)
	case c.VisitorHashKey != "" && len(c.VisitorHashKey) < 16:
		return fmt.Errorf("worker.visitorHashKey: must be at least 16 bytes, got %d", len(c.VisitorHashKey))
	case c.DedupCacheSize < 1:
		return fmt.Errorf("worker.dedupCacheSize: must be at least 1, got %d", c.DedupCacheSize)
	case c.CounterCacheSize < 1:
		return fmt.Errorf("worker.counterCacheSize: must be at least 1, got %d", c.CounterCacheSize)
	case c.RetryMin <= 0 || c.RetryMax < c.RetryMin:
		return fmt.Errorf("worker.retryMin and worker.retryMax: need 0 < retryMin <= retryMax, got %s and %s", c.RetryMin, c.RetryMax)
	case c.ShutdownTimeout <= 0:
		return fmt.Errorf("worker.shutdownTimeout: must be positive, got %s", c.ShutdownTimeout)
	case c.MemoryLimitMiB < 0:
		return fmt.Errorf("worker.memoryLimitMiB: must not be negative, got %d", c.MemoryLimitMiB)
	}
	return nil
}
