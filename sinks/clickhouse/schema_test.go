package clickhouse

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

var (
	v18 = Version{Major: 18, Minor: 16, Patch: 1}
	v24 = Version{Major: 24, Minor: 8, Patch: 4}
)

const interactionsDDL1816 = `CREATE TABLE IF NOT EXISTS clickstream.interactions
(
    timestamp DateTime('UTC'),
    timestamp_ms UInt16,
    click_id String,
    url String,
    ip String,
    continent String,
    country String,
    city String,
    region String,
    latitude Float64,
    longitude Float64,
    device String,
    browser String,
    browser_version String,
    os String,
    os_version String,
    ua String,
    bot UInt8,
    bot_reasons Array(String),
    datacenter UInt8,
    asn UInt32,
    qr UInt8,
    referer String,
    referer_raw String,
    method String,
    duplicate UInt8,
    visitor_hash UInt64,
    resource_type String,
    resource_id String,
    project_id String,
    domain String,
    key String,
    kafka_partition Int32,
    kafka_offset Int64,
    inserted_at DateTime('UTC') DEFAULT now()
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (project_id, resource_id, timestamp, click_id)
SETTINGS index_granularity = 8192`

const interactionsDDL248 = `CREATE TABLE IF NOT EXISTS clickstream.interactions
(
    timestamp DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    click_id String,
    url String CODEC(ZSTD(3)),
    ip String,
    continent LowCardinality(String),
    country LowCardinality(String),
    city LowCardinality(String),
    region LowCardinality(String),
    latitude Float64,
    longitude Float64,
    device LowCardinality(String),
    browser LowCardinality(String),
    browser_version LowCardinality(String),
    os LowCardinality(String),
    os_version LowCardinality(String),
    ua String CODEC(ZSTD(3)),
    bot Bool,
    bot_reasons Array(LowCardinality(String)),
    datacenter Bool,
    asn UInt32,
    qr Bool,
    referer LowCardinality(String),
    referer_raw String CODEC(ZSTD(3)),
    method LowCardinality(String),
    duplicate Bool,
    visitor_hash UInt64,
    resource_type LowCardinality(String),
    resource_id String,
    project_id String,
    domain LowCardinality(String),
    key String,
    kafka_partition Int32,
    kafka_offset Int64,
    inserted_at DateTime('UTC') DEFAULT now(),
    INDEX click_id_bloom click_id TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX resource_id_bloom resource_id TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (project_id, resource_id, timestamp, click_id)
TTL toDateTime(timestamp) + INTERVAL 90 DAY
SETTINGS index_granularity = 8192, non_replicated_deduplication_window = 10000`

func TestInteractionsDDL1816(t *testing.T) {
	// Retention and the window are set but 18.16 has neither TTL nor tokens.
	got := interactionsSpec.createSQL("clickstream", v18, ddlOptions{retentionDays: 90, dedupWindow: 10000})

	assert.Equal(t, interactionsDDL1816, got)
}

func TestInteractionsDDL248(t *testing.T) {
	got := interactionsSpec.createSQL("clickstream", v24, ddlOptions{retentionDays: 90, dedupWindow: 10000})

	assert.Equal(t, interactionsDDL248, got)
}

func TestDDLWithoutRetentionOrWindow(t *testing.T) {
	got := interactionsSpec.createSQL("clickstream", v24, ddlOptions{})

	assert.NotContains(t, got, "TTL")
	assert.NotContains(t, got, "non_replicated_deduplication_window")
	assert.True(t, strings.HasSuffix(got, "SETTINGS index_granularity = 8192"), got)
}

func TestLogTablesDDL(t *testing.T) {
	opts := ddlOptions{retentionDays: 30, dedupWindow: 500}
	cases := []struct {
		spec     *tableSpec
		version  Version
		contains []string
		absent   []string
	}{
		{&deadLettersSpec, v18,
			[]string{"time DateTime('UTC'),\n    time_ms UInt16,", "topic String,", "ORDER BY (topic, partition, offset)", "ENGINE = ReplacingMergeTree"},
			[]string{"TTL", "CODEC", "LowCardinality", "non_replicated"}},
		{&deadLettersSpec, v24,
			[]string{"time DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),", "topic LowCardinality(String),", "raw String CODEC(ZSTD(3))",
				"TTL toDateTime(time) + INTERVAL 30 DAY", "non_replicated_deduplication_window = 500"},
			[]string{"time_ms"}},
		{&webhookDeliveriesSpec, v18,
			[]string{"next_attempt_at DateTime('UTC'),\n    next_attempt_at_ms UInt16,\n    final UInt8", "ORDER BY (webhook_id, time, event_id, attempt)", "PARTITION BY toYYYYMM(time)"},
			[]string{"TTL", "DateTime64"}},
		{&webhookDeliveriesSpec, v24,
			[]string{"next_attempt_at DateTime64(3, 'UTC'),\n    final Bool", "error_class LowCardinality(String)", "response_body String CODEC(ZSTD(3))",
				"outcome LowCardinality(String)", "error String CODEC(ZSTD(3))", "project_id String",
				"ORDER BY (webhook_id, time, event_id, attempt)", "TTL toDateTime(time) + INTERVAL 30 DAY"},
			[]string{"time_ms", "next_attempt_at_ms", "INDEX"}},
	}
	for _, tc := range cases {
		t.Run(tc.spec.name+"/"+tc.version.String(), func(t *testing.T) {
			got := tc.spec.createSQL("clickstream", tc.version, opts)
			for _, s := range tc.contains {
				assert.Contains(t, got, s)
			}
			for _, s := range tc.absent {
				assert.NotContains(t, got, s)
			}
		})
	}
}

func TestInsertColumnsSplitTime(t *testing.T) {
	split := interactionsSpec.insertColumns(true)
	whole := interactionsSpec.insertColumns(false)

	assert.Equal(t, []string{"timestamp", "timestamp_ms", "click_id"}, split[:3])
	assert.Equal(t, []string{"timestamp", "click_id"}, whole[:2])
	assert.Len(t, split, len(whole)+1)
	assert.NotContains(t, whole, "inserted_at")
	assert.Equal(t, "kafka_offset", whole[len(whole)-1])
}

func TestInsertSQLListsColumns(t *testing.T) {
	got := deadLettersSpec.insertSQL("db", true)

	assert.Equal(t, "INSERT INTO db.dead_letters (time, time_ms, topic, partition, offset, reason, raw)", got)
}

func TestSortKeysEndWithRecordIdentity(t *testing.T) {
	// ReplacingMergeTree collapses rows with equal sort keys, so each key
	// must end with what identifies a record.
	assert.Equal(t, "click_id", interactionsSpec.orderBy[len(interactionsSpec.orderBy)-1])
	assert.Equal(t, []string{"topic", "partition", "offset"}, deadLettersSpec.orderBy)
	assert.Equal(t, "webhook_id", webhookDeliveriesSpec.orderBy[0])
}

func TestLayoutOfExistingTable(t *testing.T) {
	legacy := map[string]string{}
	for _, name := range interactionsSpec.insertColumns(true) {
		legacy[name] = "String"
	}
	legacy["timestamp"] = "DateTime('UTC')"

	l := layoutOf(&interactionsSpec, legacy, v24)

	assert.True(t, l.exists)
	assert.True(t, l.splitTime, "a table made on 18.16 keeps its layout on 24.8")
	assert.Empty(t, l.missing)
}

func TestLayoutOfModernTable(t *testing.T) {
	modern := map[string]string{}
	for _, name := range interactionsSpec.insertColumns(false) {
		modern[name] = "String"
	}
	modern["timestamp"] = "DateTime64(3, 'UTC')"
	delete(modern, "asn")
	delete(modern, "bot")

	l := layoutOf(&interactionsSpec, modern, v24)

	assert.False(t, l.splitTime)
	assert.Equal(t, []string{"asn", "bot"}, l.missing)
}

func TestLayoutOfTableWithoutVisitorHash(t *testing.T) {
	old := map[string]string{}
	for _, name := range interactionsSpec.insertColumns(true) {
		old[name] = "String"
	}
	old["timestamp"] = "DateTime('UTC')"
	delete(old, "visitor_hash")

	l := layoutOf(&interactionsSpec, old, v18)

	assert.Equal(t, []string{"visitor_hash"}, l.missing)
}

func TestAddColumnSQL(t *testing.T) {
	i := slices.IndexFunc(interactionsSpec.columns, func(c column) bool { return c.name == "visitor_hash" })

	assert.Equal(t, "ALTER TABLE clickstream.interactions ADD COLUMN visitor_hash UInt64 AFTER duplicate",
		interactionsSpec.addColumnSQL("clickstream", i, v18, true))
	assert.Equal(t, "ALTER TABLE clickstream.interactions ADD COLUMN IF NOT EXISTS visitor_hash UInt64 AFTER duplicate",
		interactionsSpec.addColumnSQL("clickstream", i, v24, false))
}

func TestAddColumnSQLAfterSplitTime(t *testing.T) {
	spec := tableSpec{name: "t", columns: []column{
		{name: "time", kind: kindTime},
		{name: "n", kind: kindUInt64, addIfMissing: true},
	}}

	assert.Equal(t, "ALTER TABLE db.t ADD COLUMN n UInt64 AFTER time_ms", spec.addColumnSQL("db", 1, v18, true))
	assert.Equal(t, "ALTER TABLE db.t ADD COLUMN IF NOT EXISTS n UInt64 AFTER time", spec.addColumnSQL("db", 1, v24, false))
}

func TestAddedColumnsAreNotKeysOrTimes(t *testing.T) {
	// A column added to an existing table cannot join its sort key, and a
	// time column would need its _ms column added too.
	for _, spec := range allTables {
		for _, c := range spec.columns {
			if !c.addIfMissing {
				continue
			}
			assert.NotContains(t, spec.orderBy, c.name, "%s.%s", spec.name, c.name)
			assert.NotEqual(t, kindTime, c.kind, "%s.%s", spec.name, c.name)
			assert.Empty(t, c.defaultExpr, "%s.%s", spec.name, c.name)
		}
	}
}

func TestLayoutOfMissingTable(t *testing.T) {
	assert.True(t, layoutOf(&interactionsSpec, nil, v18).splitTime)
	assert.False(t, layoutOf(&interactionsSpec, nil, v24).splitTime)
	assert.False(t, layoutOf(&interactionsSpec, nil, v24).exists)
}

func TestAllTablesHaveValueFunctions(t *testing.T) {
	check := func(spec *tableSpec, names []string) {
		t.Helper()
		var want []string
		for _, c := range spec.columns {
			if c.defaultExpr == "" {
				want = append(want, c.name)
			}
		}
		slices.Sort(want)
		slices.Sort(names)
		assert.Equal(t, want, names, spec.name)
	}
	check(&interactionsSpec, keys(interactionColumns))
	check(&deadLettersSpec, keys(deadLetterValues))
	check(&webhookDeliveriesSpec, keys(deliveryValues))
}

func keys[M ~map[string]V, V any](m M) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
