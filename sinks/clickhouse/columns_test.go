package clickhouse

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clickstream/clickstream/pkg/event"
)

func TestBuildColumnsMatchesInsertColumns(t *testing.T) {
	e := event.Enriched{Interaction: event.Interaction{ClickID: "AAAAAAAAAAAAAAAA", Timestamp: event.NewTime(time.Now())}}
	rows := []interactionRow{{Enriched: &e, partition: 1, offset: 2}}

	for _, split := range []bool{false, true} {
		cols, err := buildColumns(&interactionsSpec, rows, interactionValues, split)

		require.NoError(t, err)
		assert.Len(t, cols, len(interactionsSpec.insertColumns(split)), "split %v", split)
	}
}

func TestBuildColumnsTypes(t *testing.T) {
	ts := time.Date(2024, 8, 30, 10, 16, 12, 124_000_000, time.UTC)
	e := event.Enriched{
		Interaction: event.Interaction{Timestamp: event.NewTime(ts), Bot: true},
		BotReasons:  nil,
		ASN:         13335,
	}
	rows := []interactionRow{{Enriched: &e, partition: 4, offset: 77}}

	cols, err := buildColumns(&interactionsSpec, rows, interactionValues, true)
	require.NoError(t, err)
	names := interactionsSpec.insertColumns(true)
	byName := map[string]any{}
	for i, name := range names {
		byName[name] = cols[i]
	}

	assert.Equal(t, []time.Time{ts.Truncate(time.Second)}, byName["timestamp"])
	assert.Equal(t, []uint16{124}, byName["timestamp_ms"])
	assert.Equal(t, []bool{true}, byName["bot"])
	assert.Equal(t, [][]string{{}}, byName["bot_reasons"], "nil reasons become an empty array")
	assert.Equal(t, []uint32{13335}, byName["asn"])
	assert.Equal(t, []int32{4}, byName["kafka_partition"])
	assert.Equal(t, []int64{77}, byName["kafka_offset"])
}

func TestBuildColumnsRejectsWrongType(t *testing.T) {
	get := valueFuncs[DeadLetter]{}
	for k, fn := range deadLetterValues {
		get[k] = fn
	}
	get["offset"] = func(d *DeadLetter) any { return int(d.Offset) }

	_, err := buildColumns(&deadLettersSpec, []DeadLetter{{Topic: "hits"}}, get, false)

	assert.ErrorContains(t, err, "column dead_letters.offset: row 0: value is int, expected int64")
}

func TestSplitAndJoinTime(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 999_000_000, time.FixedZone("CET", 3600))

	secs, millis := splitTimes([]time.Time{ts})

	assert.Equal(t, time.Date(2024, 1, 2, 2, 4, 5, 0, time.UTC), secs[0])
	assert.Equal(t, uint16(999), millis[0])
	assert.True(t, ts.Equal(joinTime(secs[0], millis[0])))
}

func TestZeroTimeStoredAsEpoch(t *testing.T) {
	times := clampTimes([]time.Time{{}, time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)})

	assert.Equal(t, epoch, times[0])
	assert.Equal(t, epoch, times[1])
	assert.True(t, joinTime(epoch, 0).IsZero(), "epoch reads back as the zero time")
}

func TestAdaptBools(t *testing.T) {
	bools := []bool{true, false}

	assert.Equal(t, []uint8{1, 0}, adaptBools(bools, "UInt8"))
	assert.Equal(t, bools, adaptBools(bools, "Bool"))
	assert.Equal(t, []string{"x"}, adaptBools([]string{"x"}, "UInt8"))
}

func TestLatencyMillis(t *testing.T) {
	assert.Equal(t, uint32(1500), latencyMillis(1500*time.Millisecond))
	assert.Equal(t, uint32(0), latencyMillis(-time.Second))
	assert.Equal(t, uint32(4294967295), latencyMillis(2000*time.Hour))
}
