package clickhouse

import (
	"fmt"
	"strings"
)

// Table names inside Config.Database.
const (
	TableInteractions      = "interactions"
	TableDeadLetters       = "dead_letters"
	TableWebhookDeliveries = "webhook_deliveries"
)

// msSuffix names the UInt16 column that holds the milliseconds of a
// millisecond timestamp on servers without DateTime64.
const msSuffix = "_ms"

// columnKind is the logical type of a column. columnType renders it for one
// server version, so that one table definition serves 18.16 and 24.x.
type columnKind int

const (
	kindString columnKind = iota
	// kindLowCardinality is a string with few distinct values.
	kindLowCardinality
	// kindTime is a UTC time with millisecond precision: DateTime64(3) where
	// available, else a DateTime plus a UInt16 column <name>_ms.
	kindTime
	// kindDateTime is a UTC time with second precision.
	kindDateTime
	kindBool
	kindFloat64
	kindUInt16
	kindUInt32
	kindUInt64
	kindInt32
	kindInt64
	// kindStringArray is an array of strings with few distinct values.
	kindStringArray
)

// column is one column of a table. A valueFuncs entry reads its value from
// a row, except for columns with a default, which the server fills.
type column struct {
	name  string
	kind  columnKind
	codec string
	// defaultExpr, when set, is the DEFAULT expression. Inserts leave such
	// a column out.
	defaultExpr string
	// addIfMissing marks a column added after the table's first release.
	// Migrate adds it to an existing table that lacks it, and the rows
	// stored before read its type's default (0 or the empty string).
	addIfMissing bool
}

// skipIndex is a data skipping index, created on servers that have them.
type skipIndex struct {
	name, expr, typ string
	granularity     int
}

// tableSpec describes one table independently of the server version.
type tableSpec struct {
	name        string
	columns     []column
	partitionBy string
	orderBy     []string
	// ttlColumn is the time column that retention counts from.
	ttlColumn string
	indexes   []skipIndex
}

// ddlOptions are the per-deployment parts of the DDL.
type ddlOptions struct {
	retentionDays int
	dedupWindow   int
}

// interactionsSpec is the table of enriched interactions.
//
// Sort order: ORDER BY (project_id, resource_id, timestamp, click_id) serves
// the queries users run, one project's or one resource's interactions over a
// time range, by reading only that key range. It ends with click_id so that
// ReplacingMergeTree collapses rows of the same interaction: every column of
// the key is derived from the raw hit, so a repeat of a hit has the same key.
//
// Finding one click by id without its project: on 20.1 and newer the
// bloom_filter index on click_id skips the granules that cannot contain it.
// On 18.16, which has no skip indexes, such a query reads the whole click_id
// column (16 bytes a row before compression), so callers that know the
// project and resource should filter on them too.
var interactionsSpec = tableSpec{
	name: TableInteractions,
	columns: []column{
		{name: "timestamp", kind: kindTime, codec: "Delta, ZSTD(1)"},
		{name: "click_id", kind: kindString},
		{name: "url", kind: kindString, codec: "ZSTD(3)"},
		{name: "ip", kind: kindString},
		{name: "continent", kind: kindLowCardinality},
		{name: "country", kind: kindLowCardinality},
		{name: "city", kind: kindLowCardinality},
		{name: "region", kind: kindLowCardinality},
		{name: "latitude", kind: kindFloat64},
		{name: "longitude", kind: kindFloat64},
		{name: "device", kind: kindLowCardinality},
		{name: "browser", kind: kindLowCardinality},
		{name: "browser_version", kind: kindLowCardinality},
		{name: "os", kind: kindLowCardinality},
		{name: "os_version", kind: kindLowCardinality},
		{name: "ua", kind: kindString, codec: "ZSTD(3)"},
		{name: "bot", kind: kindBool},
		{name: "bot_reasons", kind: kindStringArray},
		{name: "datacenter", kind: kindBool},
		{name: "asn", kind: kindUInt32},
		{name: "qr", kind: kindBool},
		{name: "referer", kind: kindLowCardinality},
		{name: "referer_raw", kind: kindString, codec: "ZSTD(3)"},
		{name: "method", kind: kindLowCardinality},
		{name: "duplicate", kind: kindBool},
		// visitor_hash is event.Enriched.VisitorHash, which RecentVisitors
		// returns. Random 64-bit values gain nothing from a codec.
		{name: "visitor_hash", kind: kindUInt64, addIfMissing: true},
		{name: "resource_type", kind: kindLowCardinality},
		{name: "resource_id", kind: kindString},
		{name: "project_id", kind: kindString},
		{name: "domain", kind: kindLowCardinality},
		{name: "key", kind: kindString},
		{name: "kafka_partition", kind: kindInt32},
		{name: "kafka_offset", kind: kindInt64},
		{name: "inserted_at", kind: kindDateTime, defaultExpr: "now()"},
	},
	partitionBy: "toYYYYMM(timestamp)",
	orderBy:     []string{"project_id", "resource_id", "timestamp", "click_id"},
	ttlColumn:   "timestamp",
	indexes: []skipIndex{
		{name: "click_id_bloom", expr: "click_id", typ: "bloom_filter(0.01)", granularity: 1},
		{name: "resource_id_bloom", expr: "resource_id", typ: "bloom_filter(0.01)", granularity: 1},
	},
}

// deadLettersSpec is the table of hits that could not be decoded. The
// offset identifies a record, so a repeated dead letter collapses on merge.
var deadLettersSpec = tableSpec{
	name: TableDeadLetters,
	columns: []column{
		{name: "time", kind: kindTime, codec: "Delta, ZSTD(1)"},
		{name: "topic", kind: kindLowCardinality},
		{name: "partition", kind: kindInt32},
		{name: "offset", kind: kindInt64},
		{name: "reason", kind: kindString, codec: "ZSTD(3)"},
		{name: "raw", kind: kindString, codec: "ZSTD(3)"},
	},
	partitionBy: "toYYYYMM(time)",
	orderBy:     []string{"topic", "partition", "offset"},
	ttlColumn:   "time",
}

// webhookDeliveriesSpec is the log of webhook delivery attempts. Sorting by
// webhook first keeps the attempts of one webhook in a few adjacent
// granules per monthly partition, so the latest attempts of one webhook
// read little. A logged attempt repeated by a retried insert collapses on
// merge because event id and attempt number end the key.
var webhookDeliveriesSpec = tableSpec{
	name: TableWebhookDeliveries,
	columns: []column{
		{name: "time", kind: kindTime, codec: "Delta, ZSTD(1)"},
		{name: "event_id", kind: kindString},
		{name: "webhook_id", kind: kindString},
		{name: "project_id", kind: kindString},
		{name: "event_type", kind: kindLowCardinality},
		{name: "attempt", kind: kindUInt16},
		{name: "url", kind: kindString, codec: "ZSTD(3)"},
		{name: "status_code", kind: kindUInt16},
		{name: "latency_ms", kind: kindUInt32},
		{name: "outcome", kind: kindLowCardinality},
		{name: "error_class", kind: kindLowCardinality},
		{name: "error", kind: kindString, codec: "ZSTD(3)"},
		{name: "response_body", kind: kindString, codec: "ZSTD(3)"},
		{name: "next_attempt_at", kind: kindTime},
		{name: "final", kind: kindBool},
	},
	partitionBy: "toYYYYMM(time)",
	orderBy:     []string{"webhook_id", "time", "event_id", "attempt"},
	ttlColumn:   "time",
}

// allTables lists the tables Migrate creates, in creation order.
var allTables = []*tableSpec{&interactionsSpec, &deadLettersSpec, &webhookDeliveriesSpec}

// columnType renders the type of c for a server of version v.
func columnType(c column, v Version) string {
	switch c.kind {
	case kindLowCardinality:
		if v.Supports(FeatureLowCardinality) {
			return "LowCardinality(String)"
		}
		return "String"
	case kindTime:
		if v.Supports(FeatureDateTime64) {
			return "DateTime64(3, 'UTC')"
		}
		return "DateTime('UTC')"
	case kindDateTime:
		return "DateTime('UTC')"
	case kindBool:
		if v.Supports(FeatureBool) {
			return "Bool"
		}
		return "UInt8"
	case kindFloat64:
		return "Float64"
	case kindUInt16:
		return "UInt16"
	case kindUInt32:
		return "UInt32"
	case kindUInt64:
		return "UInt64"
	case kindInt32:
		return "Int32"
	case kindInt64:
		return "Int64"
	case kindStringArray:
		if v.Supports(FeatureLowCardinality) {
			return "Array(LowCardinality(String))"
		}
		return "Array(String)"
	}
	return "String"
}

// columnDef renders the definition of c for a server of version v.
func columnDef(c column, v Version) string {
	def := c.name + " " + columnType(c, v)
	if c.defaultExpr != "" {
		def += " DEFAULT " + c.defaultExpr
	}
	if c.codec != "" && v.Supports(FeatureCodecs) {
		def += " CODEC(" + c.codec + ")"
	}
	return def
}

// columnDefs renders the column definitions of t, one per line. A time
// column on a server without DateTime64 gets its milliseconds column right
// after it.
func (t *tableSpec) columnDefs(v Version) []string {
	var defs []string
	for _, c := range t.columns {
		defs = append(defs, columnDef(c, v))

		if c.kind == kindTime && !v.Supports(FeatureDateTime64) {
			defs = append(defs, c.name+msSuffix+" UInt16")
		}
	}
	if v.Supports(FeatureSkipIndexes) {
		for _, ix := range t.indexes {
			defs = append(defs, fmt.Sprintf("INDEX %s %s TYPE %s GRANULARITY %d", ix.name, ix.expr, ix.typ, ix.granularity))
		}
	}
	return defs
}

// createSQL returns the CREATE TABLE IF NOT EXISTS statement of t in
// database for a server of version v.
func (t *tableSpec) createSQL(database string, v Version, opts ddlOptions) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s.%s\n(\n    ", database, t.name)
	b.WriteString(strings.Join(t.columnDefs(v), ",\n    "))
	b.WriteString("\n)\nENGINE = ReplacingMergeTree\n")
	fmt.Fprintf(&b, "PARTITION BY %s\n", t.partitionBy)
	fmt.Fprintf(&b, "ORDER BY (%s)\n", strings.Join(t.orderBy, ", "))

	if opts.retentionDays > 0 && v.Supports(FeatureTTL) {
		fmt.Fprintf(&b, "TTL toDateTime(%s) + INTERVAL %d DAY\n", t.ttlColumn, opts.retentionDays)
	}

	b.WriteString("SETTINGS index_granularity = 8192")
	if opts.dedupWindow > 0 && v.Supports(FeatureInsertDeduplicationToken) {
		fmt.Fprintf(&b, ", non_replicated_deduplication_window = %d", opts.dedupWindow)
	}
	return b.String()
}

// addColumnSQL returns the ALTER TABLE statement that adds column i of t
// to an existing table in database, after the column that precedes it in
// t.columns. splitTime is the layout of the existing table. IF NOT EXISTS
// is left out on servers that reject it, such as 18.16.
func (t *tableSpec) addColumnSQL(database string, i int, v Version, splitTime bool) string {
	c := t.columns[i]
	sql := fmt.Sprintf("ALTER TABLE %s.%s ADD COLUMN ", database, t.name)
	if v.Supports(FeatureAddColumnIfNotExists) {
		sql += "IF NOT EXISTS "
	}
	sql += columnDef(c, v)

	if i > 0 {
		prev := t.columns[i-1]
		after := prev.name
		if prev.kind == kindTime && splitTime {
			after += msSuffix
		}
		sql += " AFTER " + after
	}
	return sql
}

// insertColumns returns the column names an insert into t sends, in the
// order of t.columns. splitTime selects the 18.16 layout, where each
// millisecond time column is followed by its <name>_ms column.
func (t *tableSpec) insertColumns(splitTime bool) []string {
	var names []string
	for _, c := range t.columns {
		if c.defaultExpr != "" {
			continue
		}
		names = append(names, c.name)
		if c.kind == kindTime && splitTime {
			names = append(names, c.name+msSuffix)
		}
	}
	return names
}

// insertSQL returns the INSERT statement for PrepareBatch. The explicit
// column list is required by 18.16 and leaves out the columns with defaults.
func (t *tableSpec) insertSQL(database string, splitTime bool) string {
	return fmt.Sprintf("INSERT INTO %s.%s (%s)", database, t.name, strings.Join(t.insertColumns(splitTime), ", "))
}
