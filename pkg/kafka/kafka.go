// Package kafka holds the Kafka plumbing every stage shares: configuration,
// topic creation and constructors for kafka-go writers and group readers
// with clickstream's defaults.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Config is the `kafka` section of the configuration file.
type Config struct {
	// Brokers are the bootstrap addresses, host:port.
	Brokers []string `yaml:"brokers"`
	// ClientID identifies this process to the brokers. Default "clickstream".
	ClientID string `yaml:"clientId"`
	Topics   Topics `yaml:"topics"`
	// Partitions is the partition count of topics created by clickstream.
	// It bounds how many workers share the hits. Default 6.
	Partitions int `yaml:"partitions"`
	// ReplicationFactor of topics created by clickstream. Default 1.
	ReplicationFactor int `yaml:"replicationFactor"`
	// DialTimeout for broker connections. Default 10s.
	DialTimeout time.Duration `yaml:"dialTimeout"`
}

// Topics names the topics clickstream reads and writes.
type Topics struct {
	// Hits carries raw hits keyed by resource id. Default "hits".
	Hits string `yaml:"hits"`
	// DLQ carries hits that could not be decoded, with the reason. Default "hits.dlq".
	DLQ string `yaml:"dlq"`
	// WebhookEvents carries one record per webhook delivery, keyed by
	// webhook id. Default "webhook-events".
	WebhookEvents string `yaml:"webhookEvents"`
	// Webhooks is the compacted change feed of webhook subscriptions:
	// key = webhook id, value = the webhook as JSON (signing secrets
	// included), empty value = deleted. Default "webhooks".
	Webhooks string `yaml:"webhooks"`
	// Catalog is the compacted change feed of links, QR codes and pages:
	// key = resource id, value = a link.*, qrcode.* or page.* change event.
	// Default "catalog".
	Catalog string `yaml:"catalog"`
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		Brokers:           []string{"127.0.0.1:9092"},
		ClientID:          "clickstream",
		Topics:            Topics{Hits: "hits", DLQ: "hits.dlq", WebhookEvents: "webhook-events", Webhooks: "webhooks", Catalog: "catalog"},
		Partitions:        6,
		ReplicationFactor: 1,
		DialTimeout:       10 * time.Second,
	}
}

// Validate checks c; messages name the YAML key.
func (c *Config) Validate() error {
	if len(c.Brokers) == 0 {
		return errors.New("kafka.brokers: must list at least one host:port")
	}
	for i, b := range c.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			return fmt.Errorf("kafka.brokers[%d]: must be host:port, got %q", i, b)
		}
	}
	for _, t := range []struct{ key, name string }{
		{"kafka.topics.hits", c.Topics.Hits},
		{"kafka.topics.dlq", c.Topics.DLQ},
		{"kafka.topics.webhookEvents", c.Topics.WebhookEvents},
		{"kafka.topics.webhooks", c.Topics.Webhooks},
		{"kafka.topics.catalog", c.Topics.Catalog},
	} {
		if err := checkTopicName(t.name); err != nil {
			return fmt.Errorf("%s: %w, got %q", t.key, err, t.name)
		}
	}
	switch {
	case c.Partitions < 1 || c.Partitions > 10000:
		return fmt.Errorf("kafka.partitions: must be 1 to 10000, got %d", c.Partitions)
	case c.ReplicationFactor < 1:
		return fmt.Errorf("kafka.replicationFactor: must be at least 1, got %d", c.ReplicationFactor)
	case c.DialTimeout <= 0:
		return fmt.Errorf("kafka.dialTimeout: must be positive, got %s", c.DialTimeout)
	}
	return nil
}

// maxTopicName leaves room for the suffixes of the dispatcher's retry
// topics within Kafka's limit of 249 characters.
const maxTopicName = 200

// checkTopicName applies Kafka's rules for topic names: only ASCII
// letters, digits, '.', '_' and '-', and neither "." nor "..".
func checkTopicName(name string) error {
	switch {
	case name == "":
		return errors.New("must not be empty")
	case len(name) > maxTopicName:
		return fmt.Errorf("must be at most %d characters", maxTopicName)
	case name == "." || name == "..":
		return errors.New(`must not be "." or ".."`)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return errors.New("must contain only ASCII letters, digits, '.', '_' and '-'")
		}
	}
	return nil
}

// TopicSpec describes a topic to create.
type TopicSpec struct {
	Name       string
	Partitions int
	// Compacted sets cleanup.policy=compact, for topics that hold the
	// latest state per key (catalog, subscriptions).
	Compacted bool
}

// EnsureTopics creates the topics that do not exist yet. Existing topics are
// left as they are, whatever their partition count.
func EnsureTopics(ctx context.Context, c Config, specs ...TopicSpec) error {
	conn, err := dialController(ctx, c)
	if err != nil {
		return err
	}
	defer conn.Close()

	configs := make([]kafkago.TopicConfig, 0, len(specs))
	for _, s := range specs {
		tc := kafkago.TopicConfig{Topic: s.Name, NumPartitions: s.Partitions, ReplicationFactor: c.ReplicationFactor}
		if tc.NumPartitions == 0 {
			tc.NumPartitions = c.Partitions
		}
		if s.Compacted {
			tc.ConfigEntries = []kafkago.ConfigEntry{{ConfigName: "cleanup.policy", ConfigValue: "compact"}}
		}
		configs = append(configs, tc)
	}

	if err := conn.CreateTopics(configs...); err != nil && !errors.Is(err, kafkago.TopicAlreadyExists) {
		return fmt.Errorf("creating topics: %w", err)
	}

	names := make([]string, 0, len(specs))
	for _, s := range specs {
		if !slices.Contains(names, s.Name) {
			names = append(names, s.Name)
		}
	}
	waitForLeaders(ctx, c, conn, names)
	return nil
}

// topicReadyTimeout bounds how long EnsureTopics waits for the partition
// leaders of new topics.
const topicReadyTimeout = 10 * time.Second

// waitForLeaders returns once the leader of every partition of topics
// responds for it, or after topicReadyTimeout. Right after CreateTopics a
// broker may not know the topic yet or not lead its partitions yet: in one
// run on a single KRaft broker, 37 of 60 new partitions returned Not Leader
// For Partition. Readers and writers retry such errors, but only after
// logging a warning per partition and failing the first writes. After the
// timeout it returns anyway and leaves the retries to them.
func waitForLeaders(ctx context.Context, c Config, conn *kafkago.Conn, topics []string) {
	ctx, cancel := context.WithTimeout(ctx, topicReadyTimeout)
	defer cancel()
	dialer := &kafkago.Dialer{ClientID: c.ClientID, Timeout: c.DialTimeout}

	ready := make(map[string]map[int]bool, len(topics))
	for ctx.Err() == nil {
		parts, err := conn.ReadPartitions(topics...)
		if err == nil && allLed(ctx, dialer, conn.RemoteAddr().String(), parts, ready) && len(ready) == len(topics) {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// allLed reports whether the leader of each of parts responds to a ListOffsets
// request for it. Partitions that responded once are kept in ready and not
// checked again.
func allLed(ctx context.Context, dialer *kafkago.Dialer, addr string, parts []kafkago.Partition, ready map[string]map[int]bool) bool {
	all := true
	for _, p := range parts {
		if ready[p.Topic][p.ID] {
			continue
		}
		if p.Leader.Host == "" {
			all = false
			continue
		}
		pc, err := dialer.DialPartition(ctx, "tcp", addr, p)
		if err != nil {
			all = false
			continue
		}
		_, err = pc.ReadLastOffset()
		pc.Close()
		if err != nil {
			all = false
			continue
		}
		if ready[p.Topic] == nil {
			ready[p.Topic] = map[int]bool{}
		}
		ready[p.Topic][p.ID] = true
	}
	return all
}

func dialController(ctx context.Context, c Config) (*kafkago.Conn, error) {
	dialer := &kafkago.Dialer{ClientID: c.ClientID, Timeout: c.DialTimeout}

	var lastErr error
	for _, b := range c.Brokers {
		conn, err := dialer.DialContext(ctx, "tcp", b)
		if err != nil {
			lastErr = err
			continue
		}
		ctrl, err := conn.Controller()
		conn.Close()
		if err != nil {
			lastErr = err
			continue
		}
		addr := net.JoinHostPort(ctrl.Host, strconv.Itoa(ctrl.Port))
		cc, err := dialer.DialContext(ctx, "tcp", addr)
		if err != nil {
			lastErr = err
			continue
		}
		return cc, nil
	}
	return nil, fmt.Errorf("connecting to the Kafka controller through %v: %w", c.Brokers, lastErr)
}

// WriterOptions tunes a writer built by NewWriter.
type WriterOptions struct {
	// BatchSize is the maximum number of messages per produce request. Default 1000.
	BatchSize int
	// BatchTimeout is how long a partial batch waits. Default 10ms.
	BatchTimeout time.Duration
}

// NewWriter returns a synchronous kafka-go writer for topic that partitions
// by key with murmur2, as the Java client does, so that every record of one
// key lands on one partition whatever the producer. Callers bound their own
// queues in front of it: WriteMessages blocks until the batch is acknowledged
// by all in-sync replicas.
func NewWriter(c Config, topic string, opts WriterOptions, log *zap.Logger) *kafkago.Writer {
	if opts.BatchSize == 0 {
		opts.BatchSize = 1000
	}
	if opts.BatchTimeout == 0 {
		opts.BatchTimeout = 10 * time.Millisecond
	}
	return &kafkago.Writer{
		Addr:         kafkago.TCP(c.Brokers...),
		Topic:        topic,
		Balancer:     &kafkago.Murmur2Balancer{},
		RequiredAcks: kafkago.RequireAll,
		BatchSize:    opts.BatchSize,
		BatchBytes:   16 << 20,
		BatchTimeout: opts.BatchTimeout,
		MaxAttempts:  3,
		WriteTimeout: 10 * time.Second,
		Compression:  kafkago.Lz4,
		Transport:    &kafkago.Transport{ClientID: c.ClientID, DialTimeout: c.DialTimeout},
		Logger:       Logger(log),
		ErrorLogger:  ErrorLogger(log),
	}
}

// NewGroupReader returns a consumer-group reader on topic that never commits
// on its own: callers commit with CommitMessages after the effects of the
// messages are durable. A new group starts at the earliest offset so that no
// hit published before the first worker started is skipped.
func NewGroupReader(c Config, topic, group string, log *zap.Logger) *kafkago.Reader {
	return kafkago.NewReader(kafkago.ReaderConfig{
		Brokers:                c.Brokers,
		GroupID:                group,
		Topic:                  topic,
		Dialer:                 &kafkago.Dialer{ClientID: c.ClientID, Timeout: c.DialTimeout},
		MinBytes:               1,
		MaxBytes:               8 << 20,
		MaxWait:                250 * time.Millisecond,
		QueueCapacity:          1000,
		CommitInterval:         0,
		StartOffset:            kafkago.FirstOffset,
		HeartbeatInterval:      time.Second,
		SessionTimeout:         10 * time.Second,
		RebalanceTimeout:       10 * time.Second,
		JoinGroupBackoff:       time.Second,
		WatchPartitionChanges:  true,
		PartitionWatchInterval: 5 * time.Second,
		Logger:                 Logger(log),
		ErrorLogger:            ErrorLogger(log),
	})
}

// Logger adapts log to kafka-go's Logger at debug level.
func Logger(log *zap.Logger) kafkago.Logger {
	s := log.Named("kafka").Sugar()
	return kafkago.LoggerFunc(func(msg string, args ...any) { s.Debugf(msg, args...) })
}

// ErrorLogger adapts log to kafka-go's ErrorLogger at warn level, at most
// three identical messages a second. kafka-go reports through it the
// failures it retries by itself, such as a fetch that timed out while a
// broker restarts, so they are warnings. A failure that reaches the caller
// is logged by the caller at error level.
func ErrorLogger(log *zap.Logger) kafkago.Logger {
	sampled := log.Named("kafka").WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		return zapcore.NewSamplerWithOptions(c, time.Second, 3, 0)
	}))
	s := sampled.Sugar()
	return kafkago.LoggerFunc(func(msg string, args ...any) { s.Warnf(msg, args...) })
}
