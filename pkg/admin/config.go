package admin

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// MinTokenLen is the minimum length of a bearer token in admin.tokens.
const MinTokenLen = 16

// Config is the `admin` section of the configuration file.
type Config struct {
	// Listen is the TCP address of the admin API. Default "127.0.0.1:8081".
	Listen string `yaml:"listen"`
	// Tokens are the bearer tokens the API accepts, each at least
	// MinTokenLen characters. The API does not start without one.
	// Default empty.
	Tokens []string `yaml:"tokens"`
	// SecretGracePeriod is how long the previous signing secret keeps
	// signing after a rotation, so receivers can switch to the new one.
	// Zero drops it at once. Default 24h.
	SecretGracePeriod time.Duration `yaml:"secretGracePeriod"`
	// MaxBodyBytes is the maximum size of a request body in bytes.
	// Default 1048576 (1 MiB), enough for three scopes of 1,000 ids.
	MaxBodyBytes int64 `yaml:"maxBodyBytes"`
	// RequestTimeout bounds the handling of one request, including the
	// write to the webhooks topic and a replay. Default 30s.
	RequestTimeout time.Duration `yaml:"requestTimeout"`
	// ReplayMaxEvents is the maximum number of failed deliveries one
	// replay request writes back to webhook-events. Default 1000.
	ReplayMaxEvents int `yaml:"replayMaxEvents"`
	// ReplayMaxScan is the maximum number of records of the failed topic
	// one replay request reads. Default 100000.
	ReplayMaxScan int `yaml:"replayMaxScan"`
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		Listen:            "127.0.0.1:8081",
		SecretGracePeriod: 24 * time.Hour,
		MaxBodyBytes:      1 << 20,
		RequestTimeout:    30 * time.Second,
		ReplayMaxEvents:   1000,
		ReplayMaxScan:     100000,
	}
}

// Validate checks c; messages name the YAML key. An empty token list is
// valid here, because only the processes that serve the API need one;
// New rejects it.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("admin.listen: must be host:port, got %q", c.Listen)
	}
	for i, t := range c.Tokens {
		if len(t) < MinTokenLen {
			return fmt.Errorf("admin.tokens[%d]: must be at least %d characters, got %d", i, MinTokenLen, len(t))
		}
	}
	switch {
	case c.SecretGracePeriod < 0:
		return fmt.Errorf("admin.secretGracePeriod: must not be negative, got %s", c.SecretGracePeriod)
	case c.MaxBodyBytes < 1024:
		return fmt.Errorf("admin.maxBodyBytes: must be at least 1024, got %d", c.MaxBodyBytes)
	case c.RequestTimeout <= 0:
		return fmt.Errorf("admin.requestTimeout: must be positive, got %s", c.RequestTimeout)
	case c.ReplayMaxEvents < 1:
		return fmt.Errorf("admin.replayMaxEvents: must be at least 1, got %d", c.ReplayMaxEvents)
	case c.ReplayMaxScan < c.ReplayMaxEvents:
		return fmt.Errorf("admin.replayMaxScan: must be at least admin.replayMaxEvents (%d), got %d", c.ReplayMaxEvents, c.ReplayMaxScan)
	}
	return nil
}

// errNoTokens is returned by New when admin.tokens is empty.
var errNoTokens = errors.New("admin.tokens: must list at least one bearer token to serve the admin API")
