package clickhouse

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"time"
)

// Config is the `clickhouse` section of the configuration file.
type Config struct {
	// Addr lists the native-protocol endpoints as host:port. The client
	// tries them in order and uses the first that accepts the connection.
	// Default ["127.0.0.1:9000"].
	Addr []string `yaml:"addr"`
	// Database contains the tables; Migrate creates it. Default "clickstream".
	Database string `yaml:"database"`
	// Username and Password authenticate the connection. Default user
	// "default" with an empty password.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// DialTimeout bounds connecting and the handshake. Default 5s.
	DialTimeout time.Duration `yaml:"dialTimeout"`
	// ReadTimeout bounds the wait for each read from the server during a
	// query or an insert. Default 60s.
	ReadTimeout time.Duration `yaml:"readTimeout"`
	// MaxOpenConns caps the connection pool. Default 10.
	MaxOpenConns int `yaml:"maxOpenConns"`
	// Compression is the block compression of the native protocol: "lz4",
	// "zstd" or "none". Default "lz4".
	Compression string `yaml:"compression"`
	// RetentionDays deletes interactions this many days after their
	// timestamp, on servers with TTL support (20.1 and newer). 0 keeps them
	// forever. Default 0.
	RetentionDays int `yaml:"retentionDays"`
	// LogRetentionDays does the same for dead letters and webhook delivery
	// attempts. Default 0.
	LogRetentionDays int `yaml:"logRetentionDays"`
	// InsertDedupWindow is the number of recent insert blocks per table
	// whose tokens or hashes the server keeps to drop a repeated insert
	// (the MergeTree setting non_replicated_deduplication_window), on
	// servers 22.2 and newer. It must cover every batch that can be
	// replayed after a crash or a rebalance: at 20 batches per second across
	// the cluster, 10000 blocks last about 8 minutes. 0 turns this
	// deduplication off. Default 10000. Like the retentions, it applies
	// when Migrate creates the tables.
	InsertDedupWindow int `yaml:"insertDedupWindow"`
}

// DefaultConfig returns the configuration of a local development server.
func DefaultConfig() Config {
	return Config{
		Addr:              []string{"127.0.0.1:9000"},
		Database:          "clickstream",
		Username:          "default",
		DialTimeout:       5 * time.Second,
		ReadTimeout:       60 * time.Second,
		MaxOpenConns:      10,
		Compression:       "lz4",
		InsertDedupWindow: 10000,
	}
}

// identifierPattern matches the database names the DDL may interpolate
// without quoting.
var identifierPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate checks every field and returns all problems found. Each message
// starts with the YAML key, such as "clickhouse.addr".
func (c *Config) Validate() error {
	var errs []error

	if len(c.Addr) == 0 {
		errs = append(errs, errors.New("clickhouse.addr: must list at least one host:port"))
	}
	for i, addr := range c.Addr {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("clickhouse.addr[%d]: %q is not host:port: %w", i, addr, err))
		}
	}
	if !identifierPattern.MatchString(c.Database) {
		errs = append(errs, fmt.Errorf("clickhouse.database: %q must be letters, digits and underscores, not starting with a digit", c.Database))
	}
	if c.Username == "" {
		errs = append(errs, errors.New("clickhouse.username: must not be empty"))
	}

	if c.DialTimeout <= 0 {
		errs = append(errs, fmt.Errorf("clickhouse.dialTimeout: must be positive, got %s", c.DialTimeout))
	}
	if c.ReadTimeout <= 0 {
		errs = append(errs, fmt.Errorf("clickhouse.readTimeout: must be positive, got %s", c.ReadTimeout))
	}
	if c.MaxOpenConns <= 0 {
		errs = append(errs, fmt.Errorf("clickhouse.maxOpenConns: must be positive, got %d", c.MaxOpenConns))
	}
	if _, ok := compressionMethods[c.Compression]; !ok {
		errs = append(errs, fmt.Errorf("clickhouse.compression: must be lz4, zstd or none, got %q", c.Compression))
	}

	if c.RetentionDays < 0 {
		errs = append(errs, fmt.Errorf("clickhouse.retentionDays: must be 0 (keep forever) or positive, got %d", c.RetentionDays))
	}
	if c.LogRetentionDays < 0 {
		errs = append(errs, fmt.Errorf("clickhouse.logRetentionDays: must be 0 (keep forever) or positive, got %d", c.LogRetentionDays))
	}
	if c.InsertDedupWindow < 0 {
		errs = append(errs, fmt.Errorf("clickhouse.insertDedupWindow: must be 0 (off) or positive, got %d", c.InsertDedupWindow))
	}
	return errors.Join(errs...)
}
