package edge

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigRejectsHugeSizes(t *testing.T) {
	for _, tc := range []struct {
		key, value string
		edit       func(*Config)
	}{
		{"edge.queueSize", "2000000000", func(c *Config) { c.QueueSize = 2_000_000_000 }},
		{"edge.batchSize", "2000000000", func(c *Config) { c.BatchSize = 2_000_000_000 }},
		{"edge.spool.segmentBytes", "4294967296", func(c *Config) {
			c.Spool.SegmentBytes = 4 << 30
			c.Spool.MaxBytes = 8 << 30
		}},
		{"edge.maxBodyBytes", "9223372036854775807", func(c *Config) { c.MaxBodyBytes = 1<<63 - 1 }},
		{"edge.maxLineBytes", "2000000000", func(c *Config) { c.MaxLineBytes = 2_000_000_000 }},
		{"edge.maxHeaderBytes", "2000000000", func(c *Config) { c.MaxHeaderBytes = 2_000_000_000 }},
	} {
		t.Run(tc.key, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.edit(&cfg)

			err := cfg.Validate()

			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.key+": must be at most ")
			assert.Contains(t, err.Error(), "got "+tc.value)
		})
	}
}

func TestConfigAcceptsSizeLimits(t *testing.T) {
	cfg := DefaultConfig()
	cfg.QueueSize = queueSizeLimit
	cfg.BatchSize = batchSizeLimit
	cfg.Spool.SegmentBytes = segmentBytesLimit
	cfg.Spool.MaxBytes = segmentBytesLimit
	cfg.MaxBodyBytes = bodyBytesLimit
	cfg.MaxLineBytes = lineBytesLimit
	cfg.MaxHeaderBytes = headerBytesLimit

	assert.NoError(t, cfg.Validate())
}
