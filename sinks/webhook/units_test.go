package webhook

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultConfigValid(t *testing.T) {
	cfg := DefaultConfig()
	require.NoError(t, cfg.Validate())

	var total time.Duration
	for _, d := range cfg.RetrySchedule {
		total += d
	}
	assert.InDelta(t, 23, total.Hours(), 1, "the default schedule spans about a day")
}

func TestConfigValidateNamesKey(t *testing.T) {
	tests := []struct {
		key    string
		change func(*Config)
	}{
		{"dispatcher.group", func(c *Config) { c.Group = "" }},
		{"dispatcher.perEndpointConcurrency", func(c *Config) { c.PerEndpointConcurrency = 0 }},
		{"dispatcher.queueSize", func(c *Config) { c.QueueSize = 0 }},
		{"dispatcher.queueFullWait", func(c *Config) { c.QueueFullWait = -time.Second }},
		{"dispatcher.maxQueued", func(c *Config) { c.MaxQueued = c.QueueSize - 1 }},
		{"dispatcher.maxQueueWait", func(c *Config) { c.MaxQueueWait = 0 }},
		{"dispatcher.maxUncommitted", func(c *Config) { c.MaxUncommitted = c.MaxQueued - 1 }},
		{"dispatcher.retrySchedule[1]", func(c *Config) { c.RetrySchedule = []time.Duration{time.Minute, time.Second} }},
		{"dispatcher.retrySchedule[0]", func(c *Config) { c.RetrySchedule = []time.Duration{0} }},
		{"dispatcher.retryJitter", func(c *Config) { c.RetryJitter = 2 }},
		{"dispatcher.maxRetryAfter", func(c *Config) { c.MaxRetryAfter = -time.Second }},
		{"dispatcher.maxConsecutiveFailures", func(c *Config) { c.MaxConsecutiveFailures = 0 }},
		{"dispatcher.allowCIDRs", func(c *Config) { c.AllowCIDRs = []string{"10.0.0.0/33"} }},
		{"dispatcher.connectTimeout", func(c *Config) { c.ConnectTimeout = 0 }},
		{"dispatcher.requestTimeout", func(c *Config) { c.RequestTimeout = time.Second }},
		{"dispatcher.userAgent", func(c *Config) { c.UserAgent = "" }},
		{"dispatcher.commitInterval", func(c *Config) { c.CommitInterval = 0 }},
		{"dispatcher.drainTimeout", func(c *Config) { c.DrainTimeout = 0 }},
		{"dispatcher.produceQueueSize", func(c *Config) { c.ProduceQueueSize = 0 }},
		{"dispatcher.recordQueueSize", func(c *Config) { c.RecordQueueSize = 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.change(&cfg)
			err := cfg.Validate()
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), tt.key+":"), "error %q", err)
		})
	}
}

func TestRetryStep(t *testing.T) {
	schedule := []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, time.Hour}
	tests := []struct {
		name       string
		attempt    int
		retryAfter time.Duration
		step       int
		delay      time.Duration
	}{
		{"first failure", 1, 0, 1, 5 * time.Second},
		{"third failure", 3, 0, 3, 2 * time.Minute},
		{"last step", 4, 0, 4, time.Hour},
		{"schedule used up", 5, 0, 0, 0},
		{"retry-after rounds up to a later step", 1, 40 * time.Second, 3, 2 * time.Minute},
		{"retry-after shorter than the step", 2, time.Second, 2, 30 * time.Second},
		{"retry-after beyond the schedule", 1, 3 * time.Hour, 4, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step, delay := retryStep(schedule, tt.attempt, tt.retryAfter)
			assert.Equal(t, tt.step, step)
			assert.Equal(t, tt.delay, delay)
		})
	}
}

func TestJitteredBounds(t *testing.T) {
	for range 1000 {
		d := jittered(time.Minute, 0.1)
		require.GreaterOrEqual(t, d, time.Minute)
		require.Less(t, d, 66*time.Second)
	}
	assert.Equal(t, time.Minute, jittered(time.Minute, 0))
}

func TestCommitTrackerOutOfOrder(t *testing.T) {
	tr := newCommitTracker(10)
	ctx := context.Background()
	var tickets []ticket
	for _, off := range []int64{10, 11, 13, 14} {
		tk, err := tr.add(ctx, 0, off)
		require.NoError(t, err)
		tickets = append(tickets, tk)
	}

	tickets[1].finish()
	assert.Empty(t, tr.commitOffsets(), "offset 10 is still in flight")

	tickets[0].finish()
	assert.Equal(t, map[int]int64{0: 12}, tr.commitOffsets())

	tickets[3].finish()
	assert.Empty(t, tr.commitOffsets())
	tickets[2].finish()
	assert.Equal(t, map[int]int64{0: 15}, tr.commitOffsets(), "gaps in offsets are skipped")
	assert.Zero(t, tr.uncommitted())
}

func TestCommitTrackerRefetchResets(t *testing.T) {
	tr := newCommitTracker(10)
	ctx := context.Background()
	old, err := tr.add(ctx, 3, 100)
	require.NoError(t, err)
	_, err = tr.add(ctx, 3, 101)
	require.NoError(t, err)

	// After a rebalance the reader starts again from the committed offset.
	again, err := tr.add(ctx, 3, 100)
	require.NoError(t, err)
	assert.Equal(t, 1, tr.uncommitted())

	old.finish() // a ticket from before the rebalance changes nothing
	assert.Empty(t, tr.commitOffsets())
	again.finish()
	assert.Equal(t, map[int]int64{3: 101}, tr.commitOffsets())
}

func TestCommitTrackerBlocksWhenFull(t *testing.T) {
	tr := newCommitTracker(2)
	_, err := tr.add(context.Background(), 0, 1)
	require.NoError(t, err)
	_, err = tr.add(context.Background(), 0, 2)
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = tr.add(ctx, 0, 3)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}
