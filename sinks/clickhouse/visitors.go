package clickhouse

import (
	"context"
	"fmt"
	"time"
)

// Visitor is the latest counted interaction of one visitor on one resource.
type Visitor struct {
	ResourceID string
	// Hash is the visitor_hash the rows were stored with, or 0 for rows
	// stored before the column existed.
	Hash uint64
	// IP and UA are the stored ip and ua of the rows whose Hash is 0, which
	// identify the visitor in their place. They are empty when Hash is set.
	IP string
	UA string
	// Last is the timestamp of the visitor's latest counted interaction.
	Last time.Time
	// ClickID is the click id of the interaction at Last.
	ClickID string
}

// RecentVisitors returns the visitors whose counted interactions were stored
// from partition of the hits topic at offsets below before, with timestamps
// at or after since: at most limit of them, the most recent first. A worker
// that takes over a partition rebuilds its duplicate window from them. Rows
// at or after before belong to batches that are processed again, so they
// are left out. Rows without an offset (-1) are left out too.
//
// Visitors are distinguished by visitor_hash, which the worker computes from
// the address as received, so a truncated or dropped ip does not matter.
// Rows stored before the column existed read 0 there and are grouped by
// their stored ip and ua instead.
func (c *Client) RecentVisitors(ctx context.Context, partition int, before int64, since time.Time, limit int) ([]Visitor, error) {
	query := recentVisitorsSQL(c.table(TableInteractions), c.isSplitTime(TableInteractions), limit)
	rows, err := c.conn.Query(ctx, query, int32(partition), before, since.Unix())
	if err != nil {
		return nil, fmt.Errorf("reading recent visitors of partition %d from %s: %w", partition, c.table(TableInteractions), err)
	}
	defer rows.Close()

	var out []Visitor
	for rows.Next() {
		var v Visitor
		var millis int64
		if err := rows.Scan(&v.ResourceID, &v.Hash, &v.IP, &v.UA, &millis, &v.ClickID); err != nil {
			return nil, fmt.Errorf("reading recent visitors of partition %d: %w", partition, err)
		}
		v.Last = time.UnixMilli(millis).UTC()
		out = append(out, v)
	}
	return out, rows.Err()
}

// recentVisitorsSQL returns the RecentVisitors query on table, with
// placeholders for the partition, the offset bound and the Unix seconds of
// since. The aliases stored_ip and stored_ua differ from the column names
// because ClickHouse resolves a name to its alias anywhere in the query.
func recentVisitorsSQL(table string, splitTime bool, limit int) string {
	return fmt.Sprintf("SELECT resource_id, visitor_hash, if(visitor_hash = 0, ip, '') AS stored_ip, "+
		"if(visitor_hash = 0, ua, '') AS stored_ua, max(%[1]s) AS last, argMax(click_id, %[1]s) FROM %[2]s "+
		"WHERE kafka_partition = ? AND kafka_offset >= 0 AND kafka_offset < ? AND timestamp >= toDateTime(?) AND %[3]s "+
		"GROUP BY resource_id, visitor_hash, stored_ip, stored_ua ORDER BY last DESC LIMIT %[4]d",
		millisExpr("timestamp", splitTime), table, countedFilter, limit)
}
