// Package reconcile compares what the edges produced to the hits topic with
// what ClickHouse stored, per minute and per project, to find hits that were
// lost or stored twice.
//
// A hit is produced when a record of the hits topic carries it. It is
// accounted for when ClickHouse has an interaction with its click id or the
// dead_letters table has its record. For every minute of hit time and
// every project, a report row holds:
//
//	produced  distinct click ids read from the topic, plus undecodable records
//	stored    distinct click ids in the interactions table
//	dead      undecodable records that have a row in dead_letters
//
// A row has a gap when produced != stored + dead: hits are missing (a
// worker lags, has stopped, or lost them), or ClickHouse contains click
// ids that the topic does not contain in the range read.
package reconcile

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/clickstream/clickstream/pkg/event"
)

// UnknownProject is the project of records that do not decode as hits.
const UnknownProject = "(unknown)"

// Record is one record of the hits topic.
type Record struct {
	Partition int
	Offset    int64
	// Time is the Kafka record timestamp.
	Time  time.Time
	Value []byte
}

// HitSource reads the hits topic.
type HitSource interface {
	// Topic returns the name of the hits topic, as dead letters record it.
	Topic() string
	// Scan calls fn for the records of every partition from the first
	// whose timestamp is at or after from up to, not including, the first
	// whose timestamp is at or after to, in offset order. An error from fn
	// stops the scan and is returned.
	Scan(ctx context.Context, from, to time.Time, fn func(Record) error) error
}

// Store reads what ClickHouse holds.
type Store interface {
	// StoredPerMinute returns the number of distinct click ids of the
	// interactions whose timestamp is in [from, to), per minute of that
	// timestamp and project.
	StoredPerMinute(ctx context.Context, from, to time.Time) (map[Key]uint64, error)
	// DeadLetters returns the offsets, among those given per partition, of
	// the records of topic that have a row in dead_letters.
	DeadLetters(ctx context.Context, topic string, offsets map[int][]int64) (map[int]map[int64]bool, error)
}

// Key identifies a report row.
type Key struct {
	// Minute is the start of the minute in UTC.
	Minute  time.Time
	Project string
}

// Counts are the numbers of one report row or of the whole range.
type Counts struct {
	// Produced counts distinct click ids read from the hits topic, plus
	// every record that does not decode as a hit.
	Produced uint64
	// Repeats counts the records whose click id was read before in the
	// range: a hit the edge published twice. They are not in Produced.
	Repeats uint64
	// Stored counts the distinct click ids in the interactions table.
	Stored uint64
	// Dead counts the undecodable records that have a dead letter.
	Dead uint64
}

// Gap returns produced - (stored + dead): positive when hits are missing,
// negative when ClickHouse holds more than the topic produced.
func (c Counts) Gap() int64 {
	return int64(c.Produced) - int64(c.Stored) - int64(c.Dead)
}

func (c *Counts) add(o Counts) {
	c.Produced += o.Produced
	c.Repeats += o.Repeats
	c.Stored += o.Stored
	c.Dead += o.Dead
}

// Row is one minute of one project.
type Row struct {
	Key
	Counts
}

// Report is the result of Run.
type Report struct {
	From, To time.Time
	Topic    string
	// Rows are sorted by minute, then project.
	Rows  []Row
	Total Counts
	// Records is the number of topic records read, in and out of range.
	Records uint64
}

// Gaps returns the rows with a gap.
func (r *Report) Gaps() []Row {
	var out []Row
	for _, row := range r.Rows {
		if row.Gap() != 0 {
			out = append(out, row)
		}
	}
	return out
}

// Options selects the range to reconcile.
type Options struct {
	// From and To bound the hit timestamps, [From, To). Both must be
	// whole minutes.
	From, To time.Time
	// Skew is how far a record's Kafka timestamp may be before its hit's
	// timestamp, because the clocks of edges and brokers differ. Records
	// from From-Skew on are read.
	Skew time.Duration
	// Late is how long after its hit's timestamp a record may be written,
	// as by an edge that sends its spool after a Kafka outage. Records up
	// to To+Late are read; hits written later are missing from Produced.
	Late time.Duration
}

// Validate checks o.
func (o Options) Validate() error {
	switch {
	case !o.From.Before(o.To):
		return fmt.Errorf("the range start %s must be before its end %s", o.From.Format(time.RFC3339), o.To.Format(time.RFC3339))
	case !o.From.Equal(o.From.Truncate(time.Minute)) || !o.To.Equal(o.To.Truncate(time.Minute)):
		return errors.New("the range must start and end on whole minutes")
	case o.Skew < 0 || o.Late < 0:
		return fmt.Errorf("skew (%s) and lateness (%s) must not be negative", o.Skew, o.Late)
	}
	return nil
}

// Run reads the hits topic and ClickHouse for the range of opts and
// returns the report.
//
// NOTE: Run keeps every click id of the range in memory to count repeats,
// roughly 60 bytes per hit, so a range of 10 million hits needs about
// 600 MB.
func Run(ctx context.Context, hits HitSource, store Store, opts Options) (*Report, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	t := newTally(opts.From, opts.To)
	if err := hits.Scan(ctx, opts.From.Add(-opts.Skew), opts.To.Add(opts.Late), t.add); err != nil {
		return nil, fmt.Errorf("reading topic %s: %w", hits.Topic(), err)
	}

	stored, err := store.StoredPerMinute(ctx, opts.From, opts.To)
	if err != nil {
		return nil, fmt.Errorf("counting stored interactions: %w", err)
	}
	for k, n := range stored {
		t.row(k).Stored = n
	}

	dead, err := store.DeadLetters(ctx, hits.Topic(), t.undecodableOffsets())
	if err != nil {
		return nil, fmt.Errorf("reading dead letters: %w", err)
	}
	for p, offsets := range t.undecodable {
		for off, k := range offsets {
			if dead[p][off] {
				t.row(k).Dead++
			}
		}
	}

	return t.report(opts, hits.Topic()), nil
}

// tally accumulates the counts while the topic is read.
type tally struct {
	from, to time.Time
	rows     map[Key]*Counts
	seen     map[string]struct{}
	// undecodable maps partition and offset of each undecodable record in
	// range to its row.
	undecodable map[int]map[int64]Key
	records     uint64
}

func newTally(from, to time.Time) *tally {
	return &tally{from: from, to: to, rows: map[Key]*Counts{}, seen: map[string]struct{}{}, undecodable: map[int]map[int64]Key{}}
}

func (t *tally) row(k Key) *Counts {
	c, ok := t.rows[k]
	if !ok {
		c = &Counts{}
		t.rows[k] = c
	}
	return c
}

func (t *tally) inRange(ts time.Time) bool {
	return !ts.Before(t.from) && ts.Before(t.to)
}

// add counts one record. A hit counts by its own timestamp, which for a
// spooled hit can be long before the record's. An undecodable record has
// only the record's timestamp.
func (t *tally) add(r Record) error {
	t.records++
	hit, err := event.DecodeHit(r.Value)
	if err != nil {
		if !t.inRange(r.Time) {
			return nil
		}
		k := Key{Minute: minuteOf(r.Time), Project: UnknownProject}
		t.row(k).Produced++
		if t.undecodable[r.Partition] == nil {
			t.undecodable[r.Partition] = map[int64]Key{}
		}
		t.undecodable[r.Partition][r.Offset] = k
		return nil
	}

	ts := hit.Timestamp.Time
	if !t.inRange(ts) {
		return nil
	}
	k := Key{Minute: minuteOf(ts), Project: hit.Resource.ProjectID}
	if _, dup := t.seen[hit.ClickID]; dup {
		t.row(k).Repeats++
		return nil
	}
	t.seen[hit.ClickID] = struct{}{}
	t.row(k).Produced++
	return nil
}

func (t *tally) undecodableOffsets() map[int][]int64 {
	out := make(map[int][]int64, len(t.undecodable))
	for p, offsets := range t.undecodable {
		for off := range offsets {
			out[p] = append(out[p], off)
		}
		slices.Sort(out[p])
	}
	return out
}

func (t *tally) report(opts Options, topic string) *Report {
	r := &Report{From: opts.From, To: opts.To, Topic: topic, Records: t.records, Rows: make([]Row, 0, len(t.rows))}
	for k, c := range t.rows {
		r.Rows = append(r.Rows, Row{Key: k, Counts: *c})
		r.Total.add(*c)
	}
	slices.SortFunc(r.Rows, func(a, b Row) int {
		return cmp.Or(a.Minute.Compare(b.Minute), strings.Compare(a.Project, b.Project))
	})
	return r
}

func minuteOf(ts time.Time) time.Time {
	return ts.UTC().Truncate(time.Minute)
}
