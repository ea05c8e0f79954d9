package webhook

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestNoticesFlushCountsPerWebhook(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	log := zap.New(core)
	n := newNotices()

	for range 500 {
		n.add("wh_b", noticeDeferred, time.Minute)
	}
	n.add("wh_b", noticeDeferred, 3*time.Hour)
	n.add("wh_b", noticeSetAside, 25*time.Hour)
	n.add("wh_a", noticeDisabled, 0)
	n.add("wh_a", noticeDisabled, 0)
	n.add("wh_c", noticeDeleted, 0)
	n.flush(log)

	entries := logs.TakeAll()
	require.Len(t, entries, 4, "one line per webhook and kind")
	wantOrder := []struct {
		webhookID  string
		deliveries int64
		level      zapcore.Level
	}{
		{"wh_a", 2, zap.InfoLevel},
		{"wh_b", 501, zap.InfoLevel},
		{"wh_b", 1, zap.WarnLevel},
		{"wh_c", 1, zap.InfoLevel},
	}
	for i, want := range wantOrder {
		fields := entries[i].ContextMap()
		assert.Equal(t, want.webhookID, fields["webhookId"], "line %d", i)
		assert.Equal(t, want.deliveries, fields["deliveries"], "line %d", i)
		assert.Equal(t, want.level, entries[i].Level, "line %d", i)
	}
	assert.Equal(t, 3*time.Hour, entries[1].ContextMap()["longestDeferral"])
	assert.NotContains(t, entries[0].ContextMap(), "longestDeferral", "a disabled webhook's deliveries were not deferred")

	n.flush(log)
	assert.Empty(t, logs.TakeAll(), "a flush resets the counts")
}
