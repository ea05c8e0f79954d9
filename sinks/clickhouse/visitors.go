package clickhouse

import (
	"context"
	"fmt"
	"time"
)

// Visitor is the latest counted interaction of one visitor (IP and user
// agent) on one resource.
type Visitor struct {
	ResourceID string
	IP         string
	UA         string
	Last       time.Time
	// ClickID is the click id of the interaction at Last.
	ClickID string
}

// RecentVisitors returns the visitors whose counted interactions were stored
// from partition of the hits topic at offsets below before, with timestamps
// at or after since: at most limit of them, the most recent first. A worker
// that takes over a partition rebuilds its duplicate window from them. Rows
// at or after before belong to batches that are processed again, so they
// are left out. Rows without an offset (-1) are left out too.
func (c *Client) RecentVisitors(ctx context.Context, partition int, before int64, since time.Time, limit int) ([]Visitor, error) {
	split := c.isSplitTime(TableInteractions)
	millis := millisExpr("timestamp", split)
	query := fmt.Sprintf("SELECT resource_id, ip, ua, max(%[1]s) AS last, argMax(click_id, %[1]s) FROM %[2]s "+
		"WHERE kafka_partition = ? AND kafka_offset >= 0 AND kafka_offset < ? AND timestamp >= toDateTime(?) AND %[3]s "+
		"GROUP BY resource_id, ip, ua ORDER BY last DESC LIMIT %[4]d",
		millis, c.table(TableInteractions), countedFilter, limit)

	rows, err := c.conn.Query(ctx, query, int32(partition), before, since.Unix())
	if err != nil {
		return nil, fmt.Errorf("reading recent visitors of partition %d from %s: %w", partition, c.table(TableInteractions), err)
	}
	defer rows.Close()

	var out []Visitor
	for rows.Next() {
		var v Visitor
		var millis int64
		if err := rows.Scan(&v.ResourceID, &v.IP, &v.UA, &millis, &v.ClickID); err != nil {
			return nil, fmt.Errorf("reading recent visitors of partition %d: %w", partition, err)
		}
		v.Last = time.UnixMilli(millis).UTC()
		out = append(out, v)
	}
	return out, rows.Err()
}
