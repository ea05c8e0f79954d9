// Package clickhouse stores enriched interactions, dead letters and webhook
// delivery attempts in ClickHouse over the native protocol, and reads back
// the aggregates the worker and the CLI need.
//
// # Server versions
//
// Open reads the server version and Migrate creates the tables with the
// features that version has (see Feature). On 20.1 and newer, millisecond
// times are DateTime64(3, 'UTC'), strings with few distinct values are
// LowCardinality(String), large strings have ZSTD codecs, click_id and
// resource_id have bloom_filter skip indexes and a retention TTL can be set.
// On 18.16, the server Debian ships, times are DateTime('UTC') plus a UInt16
// column <name>_ms with the milliseconds (timestamp_ms, time_ms,
// next_attempt_at_ms), strings are String and booleans are UInt8. A table
// keeps the layout it was created with: after a server upgrade the client
// reads the existing columns and goes on writing the 18.16 layout.
//
// # Repeated inserts and exact counts
//
// The worker commits Kafka offsets after the insert, so a crash or a
// rebalance can insert the same offset range twice, and the edge can publish
// the same hit twice. All three tables use ReplacingMergeTree with a sort key
// that identifies a record (click_id ends the interactions key), so repeated
// rows collapse when background merges reach them. On 22.2 and newer the
// tables also set non_replicated_deduplication_window, so the server drops a
// repeated insert before storing it. Interaction inserts carry an
// insert_deduplication_token derived from the offset range, and dead-letter
// inserts one derived from the record offsets. A retried delivery-log insert
// matches by the hash of its identical rows.
//
// Queries that count exactly on every version, merged or not:
//
//	SELECT uniqExact(click_id) FROM interactions WHERE ...   -- or count(DISTINCT click_id)
//	SELECT count() FROM interactions FINAL WHERE ...          -- FINAL collapses at query time
//
// On 22.2 and newer a plain count() is also exact for replayed offset
// ranges within the deduplication window, but not for a hit the edge
// published twice, which arrives at another offset: use uniqExact there too.
// On 18.16 a plain count() over-counts every repeat until it is merged.
// Summary and CountsByResource count distinct click ids with uniqExact,
// because FINAL keeps only the last inserted copy of a click, while
// uniqExact counts a click that any copy qualifies for. Both took 0.1 to
// 0.3 s over a million rows on 18.16 (see docs/benchmarks.md).
package clickhouse
