package clickhouse

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"go.uber.org/zap"

	"github.com/clickstream/clickstream/pkg/event"
)

// Source is the Kafka offset range an insert batch was built from. Every
// row comes from one record in [FirstOffset, LastOffset] of one partition.
type Source struct {
	Topic       string
	Partition   int
	FirstOffset int64
	LastOffset  int64
	// Offsets, when not nil, contains the offset of each row, in row order,
	// and is stored in kafka_offset. When it is nil and the rows fill the
	// whole range, row i is taken to come from FirstOffset+i; otherwise
	// kafka_offset is stored as -1.
	Offsets []int64
}

// String returns the range for error messages, as "topic hits partition 3
// offsets 100-199".
func (s Source) String() string {
	return fmt.Sprintf("topic %s partition %d offsets %d-%d", s.Topic, s.Partition, s.FirstOffset, s.LastOffset)
}

// token is the insert_deduplication_token of the rows built from the
// range. Replaying the range yields the same rows and so the same token,
// and the server drops the repeat. The digest of the rows' click ids
// separates the same offsets of a topic that was deleted and created again,
// or of the embedded broker of `clickstream dev`, which starts at offset 0
// on every run. Without it, their rows would be dropped as repeats.
func (s Source) token(rows []event.Enriched) string {
	h := sha256.New()
	for i := range rows {
		h.Write([]byte(rows[i].ClickID))
		h.Write([]byte{0})
	}
	return fmt.Sprintf("%s/%d/%d-%d/%x", s.Topic, s.Partition, s.FirstOffset, s.LastOffset, h.Sum(nil)[:16])
}

// validate checks that s can describe n rows.
func (s Source) validate(n int) error {
	switch {
	case s.Topic == "":
		return fmt.Errorf("%w: source topic is empty", ErrInvalidBatch)
	case s.Partition < 0:
		return fmt.Errorf("%w: source partition %d is negative", ErrInvalidBatch, s.Partition)
	case s.FirstOffset < 0 || s.LastOffset < s.FirstOffset:
		return fmt.Errorf("%w: source offsets %d-%d are not a range", ErrInvalidBatch, s.FirstOffset, s.LastOffset)
	case int64(n) > s.LastOffset-s.FirstOffset+1:
		return fmt.Errorf("%w: %d rows cannot come from the %d offsets %d-%d",
			ErrInvalidBatch, n, s.LastOffset-s.FirstOffset+1, s.FirstOffset, s.LastOffset)
	case s.Offsets != nil && len(s.Offsets) != n:
		return fmt.Errorf("%w: source has %d offsets for %d rows", ErrInvalidBatch, len(s.Offsets), n)
	}
	for i, off := range s.Offsets {
		if off < s.FirstOffset || off > s.LastOffset {
			return fmt.Errorf("%w: offset %d of row %d is outside %d-%d", ErrInvalidBatch, off, i, s.FirstOffset, s.LastOffset)
		}
	}
	return nil
}

// offset returns the kafka_offset of row i of n.
func (s Source) offset(i, n int) int64 {
	switch {
	case s.Offsets != nil:
		return s.Offsets[i]
	case int64(n) == s.LastOffset-s.FirstOffset+1:
		return s.FirstOffset + int64(i)
	}
	return -1
}

// interactionRow is one row of the interactions table.
type interactionRow struct {
	*event.Enriched
	partition int32
	offset    int64
}

var interactionColumns = columnReaders[interactionRow]{
	"timestamp":       readColumn(func(r *interactionRow) time.Time { return r.Timestamp.Time }),
	"click_id":        readColumn(func(r *interactionRow) string { return r.ClickID }),
	"url":             readColumn(func(r *interactionRow) string { return r.URL }),
	"ip":              readColumn(func(r *interactionRow) string { return r.IP }),
	"continent":       readColumn(func(r *interactionRow) string { return r.Continent }),
	"country":         readColumn(func(r *interactionRow) string { return r.Country }),
	"city":            readColumn(func(r *interactionRow) string { return r.City }),
	"region":          readColumn(func(r *interactionRow) string { return r.Region }),
	"latitude":        readColumn(func(r *interactionRow) float64 { return r.Latitude }),
	"longitude":       readColumn(func(r *interactionRow) float64 { return r.Longitude }),
	"device":          readColumn(func(r *interactionRow) string { return r.Device }),
	"browser":         readColumn(func(r *interactionRow) string { return r.Browser }),
	"browser_version": readColumn(func(r *interactionRow) string { return r.BrowserVersion }),
	"os":              readColumn(func(r *interactionRow) string { return r.OS }),
	"os_version":      readColumn(func(r *interactionRow) string { return r.OSVersion }),
	"ua":              readColumn(func(r *interactionRow) string { return r.UA }),
	"bot":             readColumn(func(r *interactionRow) bool { return r.Bot }),
	"bot_reasons":     readColumn(func(r *interactionRow) []string { return nonNil(r.BotReasons) }),
	"datacenter":      readColumn(func(r *interactionRow) bool { return r.Datacenter }),
	"asn":             readColumn(func(r *interactionRow) uint32 { return r.ASN }),
	"qr":              readColumn(func(r *interactionRow) bool { return r.QR }),
	"referer":         readColumn(func(r *interactionRow) string { return r.Referer }),
	"referer_raw":     readColumn(func(r *interactionRow) string { return r.RefererRaw }),
	"method":          readColumn(func(r *interactionRow) string { return r.Method }),
	"duplicate":       readColumn(func(r *interactionRow) bool { return r.Duplicate }),
	"visitor_hash":    readColumn(func(r *interactionRow) uint64 { return r.VisitorHash }),
	"resource_type":   readColumn(func(r *interactionRow) string { return string(r.Resource.Type) }),
	"resource_id":     readColumn(func(r *interactionRow) string { return r.Resource.ID }),
	"project_id":      readColumn(func(r *interactionRow) string { return r.Resource.ProjectID }),
	"domain":          readColumn(func(r *interactionRow) string { return r.Resource.Domain }),
	"key":             readColumn(func(r *interactionRow) string { return r.Resource.Key }),
	"kafka_partition": readColumn(func(r *interactionRow) int32 { return r.partition }),
	"kafka_offset":    readColumn(func(r *interactionRow) int64 { return r.offset }),
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// InsertInteractions stores rows, the interactions built from src, in one
// insert. An empty rows is a no-op.
//
// Inserting the same src again has the effect of inserting it once. On
// servers 22.2 and newer (with Config.InsertDedupWindow > 0) the insert
// carries a deduplication token derived from src, and the server drops a
// repeat within the window. On older servers the repeat is stored until a
// background merge of the ReplacingMergeTree collapses it. Until then exact
// counts need uniqExact(click_id) or FINAL, as the package documentation
// explains.
//
// The error names the table and src. IsRetryable tells whether the same
// call may succeed later; errors wrapping ErrInvalidBatch never do.
func (c *Client) InsertInteractions(ctx context.Context, rows []event.Enriched, src Source) error {
	if len(rows) == 0 {
		return nil
	}
	table := c.table(TableInteractions)
	if err := src.validate(len(rows)); err != nil {
		return fmt.Errorf("inserting %d rows into %s from %s: %w", len(rows), table, src, err)
	}

	batch := make([]interactionRow, len(rows))
	for i := range rows {
		batch[i] = interactionRow{Enriched: &rows[i], partition: int32(src.Partition), offset: src.offset(i, len(rows))}
	}

	if c.dedupTokens() {
		ctx = clickhouse.Context(ctx, clickhouse.WithSettings(dedupSettings(TableInteractions+"/"+src.token(rows))))
	}
	started := time.Now()
	split := c.isSplitTime(interactionsSpec.name)
	cols, err := buildColumnsFrom(&interactionsSpec, batch, interactionColumns, split)
	if err != nil {
		return fmt.Errorf("inserting %d rows into %s from %s: %w: %w", len(rows), table, src, ErrInvalidBatch, err)
	}
	if err := c.sendColumns(ctx, &interactionsSpec, split, cols); err != nil {
		return fmt.Errorf("inserting %d rows into %s from %s: %w", len(rows), table, src, err)
	}

	c.log.Debug("inserted interactions", zap.Int("rows", len(rows)), zap.Stringer("source", src),
		zap.Duration("took", time.Since(started)))
	return nil
}

// dedupSettings are the insert settings that make the server drop a repeat
// of an insert with the same token. Materialized views on the table get the
// same protection from deduplicate_blocks_in_dependent_materialized_views.
func dedupSettings(token string) clickhouse.Settings {
	return clickhouse.Settings{
		"insert_deduplicate":                                 1,
		"insert_deduplication_token":                         token,
		"deduplicate_blocks_in_dependent_materialized_views": 1,
	}
}

// insert sends rows to table t in one batch, column by column.
func insert[R any](ctx context.Context, c *Client, t *tableSpec, rows []R, get valueFuncs[R]) error {
	split := c.isSplitTime(t.name)
	cols, err := buildColumns(t, rows, get, split)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidBatch, err)
	}
	return c.sendColumns(ctx, t, split, cols)
}

// sendColumns sends the columns that buildColumns built for table t in one
// batch.
func (c *Client) sendColumns(ctx context.Context, t *tableSpec, split bool, cols []any) error {
	batch, err := c.conn.PrepareBatch(ctx, t.insertSQL(c.cfg.Database, split))
	if err != nil {
		return err
	}
	defer batch.Close()

	names := t.insertColumns(split)
	types := batch.Columns()
	for i, col := range cols {
		if values, ok := col.([]string); ok {
			presizeString(types[i], values)
		}
		if err := batch.Column(i).Append(adaptBools(col, string(types[i].Type()))); err != nil {
			return fmt.Errorf("appending column %s: %w", names[i], err)
		}
	}
	return batch.Send()
}

// adaptBools converts a []bool column to []uint8 when the server column is
// UInt8, as booleans are on servers without the Bool type, because the
// driver appends []bool only to Bool columns.
func adaptBools(col any, serverType string) any {
	bools, ok := col.([]bool)
	if !ok || serverType != "UInt8" {
		return col
	}
	out := make([]uint8, len(bools))
	for i, b := range bools {
		if b {
			out[i] = 1
		}
	}
	return out
}

// DeadLetter is a hit that could not be decoded, kept with the reason and
// the record bytes so that it can be inspected and replayed.
type DeadLetter struct {
	// Time is when the hit was rejected.
	Time      time.Time
	Topic     string
	Partition int
	Offset    int64
	Reason    string
	Raw       []byte
}

var deadLetterValues = valueFuncs[DeadLetter]{
	"time":      func(d *DeadLetter) any { return d.Time },
	"topic":     func(d *DeadLetter) any { return d.Topic },
	"partition": func(d *DeadLetter) any { return int32(d.Partition) },
	"offset":    func(d *DeadLetter) any { return d.Offset },
	"reason":    func(d *DeadLetter) any { return d.Reason },
	"raw":       func(d *DeadLetter) any { return string(d.Raw) },
}

// InsertDeadLetters stores letters in one insert. An empty letters is a
// no-op. A repeat of the same records (same topic, partition and offsets)
// is dropped by the server on 22.2 and newer and collapses on merge on older
// servers, like InsertInteractions.
func (c *Client) InsertDeadLetters(ctx context.Context, letters []DeadLetter) error {
	if len(letters) == 0 {
		return nil
	}
	if c.dedupTokens() {
		ctx = clickhouse.Context(ctx, clickhouse.WithSettings(dedupSettings(deadLetterToken(letters))))
	}
	if err := insert(ctx, c, &deadLettersSpec, letters, deadLetterValues); err != nil {
		return fmt.Errorf("inserting %d dead letters into %s (%s): %w",
			len(letters), c.table(TableDeadLetters), describeLetters(letters), err)
	}
	return nil
}

// deadLetterToken hashes the record coordinates and bytes of letters.
// Their times differ when a batch is replayed, so the coordinates are the
// identity, and the bytes separate the same offsets of a topic created
// again.
func deadLetterToken(letters []DeadLetter) string {
	h := sha256.New()
	var buf [20]byte
	for _, d := range letters {
		h.Write([]byte(d.Topic))
		binary.BigEndian.PutUint32(buf[:4], uint32(d.Partition))
		binary.BigEndian.PutUint64(buf[4:12], uint64(d.Offset))
		binary.BigEndian.PutUint64(buf[12:], uint64(len(d.Raw)))
		h.Write(buf[:])
		h.Write(d.Raw)
	}
	return TableDeadLetters + "/" + hex.EncodeToString(h.Sum(nil))
}

// describeLetters names the records of letters for an error message.
func describeLetters(letters []DeadLetter) string {
	first := letters[0]
	lo, hi := first.Offset, first.Offset
	for _, d := range letters[1:] {
		if d.Topic != first.Topic || d.Partition != first.Partition {
			return fmt.Sprintf("records of several partitions, first topic %s partition %d offset %d", first.Topic, first.Partition, first.Offset)
		}
		lo, hi = min(lo, d.Offset), max(hi, d.Offset)
	}
	return fmt.Sprintf("topic %s partition %d offsets %d-%d", first.Topic, first.Partition, lo, hi)
}
