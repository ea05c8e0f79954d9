package reconcile

import (
	"context"
	"fmt"
	"strings"
	"time"

	chdriver "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/clickstream/clickstream/sinks/clickhouse"
)

// deadLetterChunk is the number of offsets per dead-letter query, which
// keeps each query far below the server's default max_query_size of 256 KiB.
const deadLetterChunk = 5000

// ClickHouseStore reads the interactions and dead_letters tables.
type ClickHouseStore struct {
	conn     driver.Conn
	database string
}

// OpenClickHouse connects to the first reachable server of cfg.Addr. The
// queries work on 18.16 and on current servers. Close releases the
// connections.
func OpenClickHouse(ctx context.Context, cfg clickhouse.Config) (*ClickHouseStore, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	conn, err := chdriver.Open(&chdriver.Options{
		Addr:        cfg.Addr,
		Auth:        chdriver.Auth{Database: "default", Username: cfg.Username, Password: cfg.Password},
		DialTimeout: cfg.DialTimeout,
		ReadTimeout: cfg.ReadTimeout,
	})
	if err != nil {
		return nil, fmt.Errorf("configuring the ClickHouse client for %s: %w", strings.Join(cfg.Addr, ","), err)
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("connecting to ClickHouse at %s: %w", strings.Join(cfg.Addr, ","), err)
	}
	return &ClickHouseStore{conn: conn, database: cfg.Database}, nil
}

// Close closes the connections.
func (s *ClickHouseStore) Close() error {
	return s.conn.Close()
}

// storedSQL counts distinct click ids per minute and project. The minute is
// computed as whole minutes since the epoch, so the query needs no time
// zone and reads DateTime (18.16) and DateTime64 timestamps alike.
// uniqExact counts a click once however many of its repeats are not merged
// yet.
func storedSQL(table string, from, to time.Time) string {
	return fmt.Sprintf("SELECT toUInt64(intDiv(toUInt32(toDateTime(timestamp)), 60)) AS minute, project_id, uniqExact(click_id) "+
		"FROM %s WHERE timestamp >= toDateTime(%d) AND timestamp < toDateTime(%d) GROUP BY minute, project_id",
		table, from.Unix(), to.Unix())
}

// StoredPerMinute implements Store.
func (s *ClickHouseStore) StoredPerMinute(ctx context.Context, from, to time.Time) (map[Key]uint64, error) {
	table := s.database + "." + clickhouse.TableInteractions
	rows, err := s.conn.Query(ctx, storedSQL(table, from, to))
	if err != nil {
		return nil, fmt.Errorf("querying %s: %w", table, err)
	}
	defer rows.Close()

	out := map[Key]uint64{}
	for rows.Next() {
		var minute, n uint64
		var project string
		if err := rows.Scan(&minute, &project, &n); err != nil {
			return nil, fmt.Errorf("reading %s: %w", table, err)
		}
		out[Key{Minute: time.Unix(int64(minute)*60, 0).UTC(), Project: project}] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", table, err)
	}
	return out, nil
}

// DeadLetters implements Store. The dead_letters table records the topic,
// partition and offset of each record, so this matches records exactly,
// whenever the worker rejected them.
func (s *ClickHouseStore) DeadLetters(ctx context.Context, topic string, offsets map[int][]int64) (map[int]map[int64]bool, error) {
	out := map[int]map[int64]bool{}
	for p, all := range offsets {
		out[p] = map[int64]bool{}
		for start := 0; start < len(all); start += deadLetterChunk {
			chunk := all[start:min(start+deadLetterChunk, len(all))]
			if err := s.deadLetterChunk(ctx, topic, p, chunk, out[p]); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func (s *ClickHouseStore) deadLetterChunk(ctx context.Context, topic string, partition int, offsets []int64, found map[int64]bool) error {
	table := s.database + "." + clickhouse.TableDeadLetters
	list := make([]string, len(offsets))
	for i, off := range offsets {
		list[i] = fmt.Sprint(off)
	}
	q := fmt.Sprintf("SELECT DISTINCT `offset` FROM %s WHERE topic = ? AND `partition` = ? AND `offset` IN (%s)", table, strings.Join(list, ","))

	rows, err := s.conn.Query(ctx, q, topic, int32(partition))
	if err != nil {
		return fmt.Errorf("querying %s for partition %d: %w", table, partition, err)
	}
	defer rows.Close()
	for rows.Next() {
		var off int64
		if err := rows.Scan(&off); err != nil {
			return fmt.Errorf("reading %s: %w", table, err)
		}
		found[off] = true
	}
	return rows.Err()
}
