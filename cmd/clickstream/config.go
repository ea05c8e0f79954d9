package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/clickstream/clickstream/enrich"
	"github.com/clickstream/clickstream/pkg/admin"
	"github.com/clickstream/clickstream/pkg/config"
	"github.com/clickstream/clickstream/pkg/edge"
	"github.com/clickstream/clickstream/pkg/kafka"
	"github.com/clickstream/clickstream/pkg/worker"
	"github.com/clickstream/clickstream/sinks/clickhouse"
	"github.com/clickstream/clickstream/sinks/webhook"
)

// Config is the whole configuration file. Each section belongs to one
// package, which documents its keys and defaults.
type Config struct {
	Log        LogConfig         `yaml:"log"`
	Metrics    MetricsConfig     `yaml:"metrics"`
	Kafka      kafka.Config      `yaml:"kafka"`
	ClickHouse clickhouse.Config `yaml:"clickhouse"`
	Enrich     enrich.Config     `yaml:"enrich"`
	Edge       edge.Config       `yaml:"edge"`
	Worker     worker.Config     `yaml:"worker"`
	Dispatcher webhook.Config    `yaml:"dispatcher"`
	Catalog    FileConfig        `yaml:"catalog"`
	Webhooks   FileConfig        `yaml:"webhooks"`
	Admin      admin.Config      `yaml:"admin"`
	Dev        DevConfig         `yaml:"dev"`
}

// LogConfig is the `log` section.
type LogConfig struct {
	// Level is debug, info, warn or error. Default info.
	Level string `yaml:"level"`
	// Format is json or console. Default json.
	Format string `yaml:"format"`
}

// MetricsConfig is the `metrics` section.
type MetricsConfig struct {
	// Listen is the address of the /metrics endpoint of the edge, the
	// worker and the dispatcher. Empty turns it off. Default
	// "127.0.0.1:9464", so stages on one host need an address each.
	Listen string `yaml:"listen"`
}

// FileConfig names a seed file.
type FileConfig struct {
	// File is a YAML or JSON file, relative to the working directory.
	File string `yaml:"file"`
}

// DevConfig is the `dev` section, read only by `clickstream dev`.
type DevConfig struct {
	// EmbeddedKafka starts an in-process Kafka-protocol broker listening
	// on the first address of kafka.brokers. Default true.
	EmbeddedKafka bool `yaml:"embeddedKafka"`
	// Receiver is the listen address of an in-process webhook receiver
	// that verifies signatures and counts deliveries. Empty turns it off.
	// Default "127.0.0.1:8090".
	Receiver string `yaml:"receiver"`
}

func defaultConfig() Config {
	return Config{
		Log:        LogConfig{Level: "info", Format: "json"},
		Metrics:    MetricsConfig{Listen: "127.0.0.1:9464"},
		Kafka:      kafka.DefaultConfig(),
		ClickHouse: clickhouse.DefaultConfig(),
		Enrich:     enrich.DefaultConfig(),
		Edge:       edge.DefaultConfig(),
		Worker:     worker.DefaultConfig(),
		Dispatcher: webhook.DefaultConfig(),
		Catalog:    FileConfig{File: "configs/catalog.yaml"},
		Webhooks:   FileConfig{File: "configs/webhooks.yaml"},
		Admin:      admin.DefaultConfig(),
		Dev:        DevConfig{EmbeddedKafka: true, Receiver: "127.0.0.1:8090"},
	}
}

// Validate checks every section; the first error names its YAML key.
func (c *Config) Validate() error {
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log.level: must be debug, info, warn or error, got %q", c.Log.Level)
	}
	if c.Log.Format != "json" && c.Log.Format != "console" {
		return fmt.Errorf("log.format: must be json or console, got %q", c.Log.Format)
	}
	if c.Catalog.File == "" {
		return errors.New("catalog.file: must name the resource catalog seed file")
	}
	if c.Webhooks.File == "" {
		return errors.New("webhooks.file: must name the webhook subscriptions file")
	}

	validators := []func() error{
		c.Kafka.Validate, c.ClickHouse.Validate, c.Enrich.Validate, c.Edge.Validate,
		c.Worker.Validate, c.Dispatcher.Validate, c.Admin.Validate,
	}
	for _, v := range validators {
		if err := v(); err != nil {
			return err
		}
	}
	return nil
}

// configFlag registers the -config flag on fs.
func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", envOr(config.FileEnv, "configs/clickstream.yaml"),
		"path of the YAML configuration file (env CLICKSTREAM_CONFIG); CLICKSTREAM_* variables override its keys")
}

// loadConfig reads the file at path over the defaults, applies the
// environment overrides and validates the result.
func loadConfig(path string) (Config, error) {
	cfg := defaultConfig()
	if err := config.Load(path, &cfg, os.Environ()); err != nil {
		if errors.Is(err, fs.ErrNotExist) && !filepath.IsAbs(path) {
			wd, _ := os.Getwd()
			return cfg, fmt.Errorf("%w (the path is relative to the working directory %s: run from the repository root, or pass -config or set %s)", err, wd, config.FileEnv)
		}
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("invalid configuration: %w", err)
	}
	return cfg, nil
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// newLogger builds the process logger from the log section.
func newLogger(c LogConfig) (*zap.Logger, error) {
	var zc zap.Config
	if c.Format == "console" {
		zc = zap.NewDevelopmentConfig()
		zc.EncoderConfig.EncodeLevel = zapcore.CapitalColorLevelEncoder
	} else {
		zc = zap.NewProductionConfig()
		zc.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	}
	level, err := zapcore.ParseLevel(strings.ToLower(c.Level))
	if err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	zc.Level = zap.NewAtomicLevelAt(level)
	zc.OutputPaths = []string{"stderr"}
	zc.DisableStacktrace = level > zapcore.DebugLevel
	return zc.Build()
}
