package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// countedFilter selects the interactions that count as clicks, scans and
// views: neither bots nor duplicates. NOT works on UInt8 and Bool columns.
const countedFilter = "NOT bot AND NOT duplicate"

// MaxTopN is the largest topN Summary accepts.
const MaxTopN = 1000

// resourceChunk is the number of resource ids per CountsByResource query.
// With ids of at most event.MaxIDLen (128) bytes the id list stays under
// about 135 KiB, about half of the server's default max_query_size of 256 KiB.
const resourceChunk = 1000

// NameCount is one value of a dimension and its number of interactions.
type NameCount struct {
	// Name is the value. The empty string is event.Unknown.
	Name  string
	Count uint64
}

// Summary describes the whole interactions table. Counts of interactions
// are distinct click ids, so they are exact even while repeated rows wait
// to be merged away.
type Summary struct {
	// Rows is the number of stored rows, repeats not yet merged included.
	Rows uint64
	// Interactions is the number of distinct click ids.
	Interactions uint64
	// Counted is the number of interactions that are neither bots nor
	// duplicates: the ones counters and webhooks count.
	Counted uint64
	// Bots is the number of interactions flagged as bots.
	Bots uint64
	// Duplicates is the number of interactions marked duplicate.
	Duplicates uint64
	// The top lists rank the counted interactions by each dimension, at
	// most topN entries each, largest first and then by name.
	TopCountries []NameCount
	TopDevices   []NameCount
	TopBrowsers  []NameCount
	TopReferers  []NameCount
}

// Summary reads the totals and the top topN countries, devices, browsers and
// referers of all stored interactions. topN must be 1 to MaxTopN. It runs
// five queries that each scan the columns they need in the whole table.
func (c *Client) Summary(ctx context.Context, topN int) (Summary, error) {
	return c.SummarySince(ctx, topN, time.Time{})
}

// SummarySince is Summary over the rows inserted at or after since (whole
// seconds, by the server's clock); a zero since takes every row.
func (c *Client) SummarySince(ctx context.Context, topN int, since time.Time) (Summary, error) {
	var s Summary
	if topN < 1 || topN > MaxTopN {
		return s, fmt.Errorf("summarizing interactions: topN %d is outside 1-%d", topN, MaxTopN)
	}
	table := c.table(TableInteractions)
	if !since.IsZero() {
		table = fmt.Sprintf("(SELECT * FROM %s WHERE inserted_at >= toDateTime(%d))", table, since.Unix())
	}

	row := c.conn.QueryRow(ctx, totalsSQL(table))
	if err := row.Scan(&s.Rows, &s.Interactions, &s.Counted, &s.Bots, &s.Duplicates); err != nil {
		return s, fmt.Errorf("summarizing %s: %w", c.table(TableInteractions), err)
	}

	dims := []struct {
		column string
		dest   *[]NameCount
	}{
		{"country", &s.TopCountries},
		{"device", &s.TopDevices},
		{"browser", &s.TopBrowsers},
		{"referer", &s.TopReferers},
	}
	for _, d := range dims {
		top, err := c.top(ctx, table, d.column, topN)
		if err != nil {
			return s, fmt.Errorf("summarizing %s by %s: %w", c.table(TableInteractions), d.column, err)
		}
		*d.dest = top
	}
	return s, nil
}

// totalsSQL returns the query of the Summary counts.
func totalsSQL(table string) string {
	return fmt.Sprintf("SELECT count(), uniqExact(click_id), uniqExactIf(click_id, %[1]s), "+
		"uniqExactIf(click_id, bot), uniqExactIf(click_id, duplicate) FROM %[2]s", countedFilter, table)
}

// topSQL returns the query of the n most frequent values of column among
// counted interactions.
func topSQL(table, column string, n int) string {
	return fmt.Sprintf("SELECT toString(%[1]s) AS name, uniqExact(click_id) AS n FROM %[2]s WHERE %[3]s "+
		"GROUP BY name ORDER BY n DESC, name LIMIT %[4]d", column, table, countedFilter, n)
}

// top returns the n most frequent values of column among the counted
// interactions of table, a table name or a subquery.
func (c *Client) top(ctx context.Context, table, column string, n int) ([]NameCount, error) {
	rows, err := c.conn.Query(ctx, topSQL(table, column, n))
	if err != nil {
		return nil, err
	}
	defer rows.Close()

	out := []NameCount{}
	for rows.Next() {
		var nc NameCount
		if err := rows.Scan(&nc.Name, &nc.Count); err != nil {
			return nil, err
		}
		out = append(out, nc)
	}
	return out, rows.Err()
}

// ResourceCount is the number of counted interactions of one resource and
// the timestamp of the latest of them.
type ResourceCount struct {
	Count int64
	Last  time.Time
}

// CountsByResource returns, for each of resourceIDs that has any, the number
// of distinct interactions that are neither bots nor duplicates and the
// latest of their timestamps. Rows stored from partition at offsets from
// before on are left out: a worker processing that partition again from
// before counts them as it goes. Resources without such interactions are
// absent from the map. The count is exact on every server version because it counts
// distinct click ids. It queries at most resourceChunk ids at a time.
//
// On 20.1 and newer the bloom_filter index on resource_id skips most
// granules. On 18.16 each query reads the resource_id column of the whole
// table, because resource_id is second in the sort key after project_id.
func (c *Client) CountsByResource(ctx context.Context, resourceIDs []string, partition int, before int64) (map[string]ResourceCount, error) {
	out := make(map[string]ResourceCount)
	for start := 0; start < len(resourceIDs); start += resourceChunk {
		chunk := resourceIDs[start:min(start+resourceChunk, len(resourceIDs))]
		if err := c.countChunk(ctx, chunk, partition, before, out); err != nil {
			return nil, fmt.Errorf("counting interactions of %d resources in %s: %w",
				len(resourceIDs), c.table(TableInteractions), err)
		}
	}
	return out, nil
}

func (c *Client) countChunk(ctx context.Context, ids []string, partition int, before int64, out map[string]ResourceCount) error {
	query := countsSQL(c.table(TableInteractions), c.isSplitTime(TableInteractions), len(ids))
	args := make([]any, 0, len(ids)+2)
	for _, id := range ids {
		args = append(args, id)
	}
	args = append(args, int32(partition), before)

	rows, err := c.conn.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()

	for rows.Next() {
		var (
			id     string
			count  uint64
			millis int64
		)
		if err := rows.Scan(&id, &count, &millis); err != nil {
			return err
		}
		out[id] = ResourceCount{Count: int64(count), Last: time.UnixMilli(millis).UTC()}
	}
	return rows.Err()
}

// countsSQL returns the CountsByResource query with n placeholders for ids.
func countsSQL(table string, splitTime bool, n int) string {
	placeholders := strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
	return fmt.Sprintf("SELECT resource_id, uniqExact(click_id), max(%s) FROM %s "+
		"WHERE resource_id IN (%s) AND %s AND NOT (kafka_partition = ? AND kafka_offset >= ?) GROUP BY resource_id",
		millisExpr("timestamp", splitTime), table, placeholders, countedFilter)
}

// millisExpr returns an Int64 expression of the Unix milliseconds of a
// millisecond time column in either layout.
func millisExpr(column string, splitTime bool) string {
	if splitTime {
		return fmt.Sprintf("toInt64(toUInt64(%[1]s) * 1000 + %[1]s%[2]s)", column, msSuffix)
	}
	return fmt.Sprintf("toUnixTimestamp64Milli(%s)", column)
}
