package clickhouse

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultConfigIsValid(t *testing.T) {
	cfg := DefaultConfig()

	require.NoError(t, cfg.Validate())
	assert.Equal(t, []string{"127.0.0.1:9000"}, cfg.Addr)
	assert.Equal(t, "clickstream", cfg.Database)
	assert.Equal(t, "default", cfg.Username)
}

func TestConfigValidateNamesKey(t *testing.T) {
	cases := []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{"no addr", func(c *Config) { c.Addr = nil }, "clickhouse.addr:"},
		{"addr without port", func(c *Config) { c.Addr = []string{"localhost"} }, "clickhouse.addr[0]:"},
		{"database with dash", func(c *Config) { c.Database = "click-stream" }, "clickhouse.database:"},
		{"database with quote", func(c *Config) { c.Database = "x'; DROP" }, "clickhouse.database:"},
		{"empty username", func(c *Config) { c.Username = "" }, "clickhouse.username:"},
		{"zero dial timeout", func(c *Config) { c.DialTimeout = 0 }, "clickhouse.dialTimeout:"},
		{"negative read timeout", func(c *Config) { c.ReadTimeout = -time.Second }, "clickhouse.readTimeout:"},
		{"zero pool", func(c *Config) { c.MaxOpenConns = 0 }, "clickhouse.maxOpenConns:"},
		{"unknown compression", func(c *Config) { c.Compression = "gzip" }, "clickhouse.compression:"},
		{"negative retention", func(c *Config) { c.RetentionDays = -1 }, "clickhouse.retentionDays:"},
		{"negative log retention", func(c *Config) { c.LogRetentionDays = -1 }, "clickhouse.logRetentionDays:"},
		{"negative window", func(c *Config) { c.InsertDedupWindow = -1 }, "clickhouse.insertDedupWindow:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.modify(&cfg)

			err := cfg.Validate()

			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestConfigValidateReportsAll(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Database = ""
	cfg.MaxOpenConns = 0

	err := cfg.Validate()

	assert.ErrorContains(t, err, "clickhouse.database:")
	assert.ErrorContains(t, err, "clickhouse.maxOpenConns:")
}
