package reconcile

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clickstream/clickstream/pkg/event"
)

// fakeHits is a topic held in memory; Scan returns the records whose
// timestamp is in the range, as an offset lookup by time would.
type fakeHits struct {
	records []Record
	from    time.Time
	to      time.Time
}

func (f *fakeHits) Topic() string { return "hits" }

func (f *fakeHits) Scan(_ context.Context, from, to time.Time, fn func(Record) error) error {
	f.from, f.to = from, to
	for _, r := range f.records {
		if r.Time.Before(from) || !r.Time.Before(to) {
			continue
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

type fakeStore struct {
	stored    map[Key]uint64
	dead      map[int]map[int64]bool
	requested map[int][]int64
}

func (f *fakeStore) StoredPerMinute(context.Context, time.Time, time.Time) (map[Key]uint64, error) {
	return f.stored, nil
}

func (f *fakeStore) DeadLetters(_ context.Context, topic string, offsets map[int][]int64) (map[int]map[int64]bool, error) {
	f.requested = offsets
	return f.dead, nil
}

var base = time.Date(2024, 8, 30, 10, 0, 0, 0, time.UTC)

// hitRecord returns a record of a valid hit of project at hit time ts,
// written to Kafka at written.
func hitRecord(t *testing.T, offset int64, clickID, project string, ts, written time.Time) Record {
	t.Helper()
	h := event.RawHit{
		ClickID: clickID, Timestamp: event.NewTime(ts), Method: "GET", IP: "81.2.69.142", URL: "https://example.com/",
		Resource: event.ResourceRef{Type: event.ResourceLink, ID: "link_1", ProjectID: project},
	}
	b, err := json.Marshal(h)
	require.NoError(t, err)
	return Record{Partition: 0, Offset: offset, Time: written, Value: b}
}

func clickID(n int) string {
	return strings.Repeat("a", 14) + string(rune('A'+n/26)) + string(rune('a'+n%26))
}

func TestRunCountsPerMinuteAndProject(t *testing.T) {
	hits := &fakeHits{records: []Record{
		hitRecord(t, 0, clickID(0), "p1", base.Add(10*time.Second), base.Add(10*time.Second)),
		hitRecord(t, 1, clickID(1), "p1", base.Add(20*time.Second), base.Add(20*time.Second)),
		hitRecord(t, 2, clickID(2), "p2", base.Add(70*time.Second), base.Add(70*time.Second)),
		// The edge published click 1 again.
		hitRecord(t, 3, clickID(1), "p1", base.Add(20*time.Second), base.Add(80*time.Second)),
		// A spooled hit of the first minute, written to Kafka later.
		hitRecord(t, 4, clickID(3), "p1", base.Add(30*time.Second), base.Add(5*time.Minute)),
		// Outside the range by hit time, inside by record time.
		hitRecord(t, 5, clickID(4), "p1", base.Add(-30*time.Second), base.Add(10*time.Second)),
	}}
	store := &fakeStore{stored: map[Key]uint64{
		{Minute: base, Project: "p1"}:                  3,
		{Minute: base.Add(time.Minute), Project: "p2"}: 1,
	}}

	report, err := Run(context.Background(), hits, store, Options{From: base, To: base.Add(2 * time.Minute), Skew: time.Minute, Late: time.Hour})
	require.NoError(t, err)

	require.Equal(t, base.Add(-time.Minute), hits.from, "records from From-Skew are read")
	require.Equal(t, base.Add(2*time.Minute+time.Hour), hits.to, "records up to To+Late are read")
	require.Equal(t, []Row{
		{Key: Key{Minute: base, Project: "p1"}, Counts: Counts{Produced: 3, Repeats: 1, Stored: 3}},
		{Key: Key{Minute: base.Add(time.Minute), Project: "p2"}, Counts: Counts{Produced: 1, Stored: 1}},
	}, report.Rows)
	require.Empty(t, report.Gaps())
	require.Equal(t, Counts{Produced: 4, Repeats: 1, Stored: 4}, report.Total)
	require.Equal(t, uint64(6), report.Records)
}

func TestRunFlagsMissingAndExtraRows(t *testing.T) {
	hits := &fakeHits{records: []Record{
		hitRecord(t, 0, clickID(0), "p1", base.Add(time.Second), base.Add(time.Second)),
		hitRecord(t, 1, clickID(1), "p1", base.Add(2*time.Second), base.Add(2*time.Second)),
	}}
	store := &fakeStore{stored: map[Key]uint64{
		{Minute: base, Project: "p1"}:                  1,
		{Minute: base.Add(time.Minute), Project: "p9"}: 2,
	}}

	report, err := Run(context.Background(), hits, store, Options{From: base, To: base.Add(2 * time.Minute)})
	require.NoError(t, err)

	gaps := report.Gaps()
	require.Len(t, gaps, 2)
	require.Equal(t, int64(1), gaps[0].Gap(), "one hit of p1 is not stored")
	require.Equal(t, int64(-2), gaps[1].Gap(), "p9 has stored clicks the topic does not contain")
	require.Equal(t, int64(-1), report.Total.Gap())
}

func TestRunMatchesDeadLettersByOffset(t *testing.T) {
	hits := &fakeHits{records: []Record{
		{Partition: 2, Offset: 7, Time: base.Add(5 * time.Second), Value: []byte("{not json")},
		{Partition: 2, Offset: 9, Time: base.Add(6 * time.Second), Value: []byte(`{"clickId":"short"}`)},
		{Partition: 3, Offset: 1, Time: base.Add(65 * time.Second), Value: []byte{0xff}},
	}}
	store := &fakeStore{dead: map[int]map[int64]bool{2: {7: true, 9: true}}}

	report, err := Run(context.Background(), hits, store, Options{From: base, To: base.Add(2 * time.Minute)})
	require.NoError(t, err)

	require.Equal(t, map[int][]int64{2: {7, 9}, 3: {1}}, store.requested)
	require.Equal(t, []Row{
		{Key: Key{Minute: base, Project: UnknownProject}, Counts: Counts{Produced: 2, Dead: 2}},
		{Key: Key{Minute: base.Add(time.Minute), Project: UnknownProject}, Counts: Counts{Produced: 1}},
	}, report.Rows)
	require.Len(t, report.Gaps(), 1, "the record of partition 3 has no dead letter")
}

func TestOptionsValidate(t *testing.T) {
	cases := []struct {
		name string
		opts Options
		ok   bool
	}{
		{"whole minutes", Options{From: base, To: base.Add(time.Hour)}, true},
		{"empty range", Options{From: base, To: base}, false},
		{"reversed", Options{From: base.Add(time.Minute), To: base}, false},
		{"not whole minutes", Options{From: base.Add(time.Second), To: base.Add(time.Hour)}, false},
		{"negative lateness", Options{From: base, To: base.Add(time.Hour), Late: -time.Second}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.opts.Validate()
			if c.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
		})
	}
}

func TestWriteTableMarksGaps(t *testing.T) {
	r := &Report{From: base, To: base.Add(2 * time.Minute), Topic: "hits", Records: 5, Rows: []Row{
		{Key: Key{Minute: base, Project: "p1"}, Counts: Counts{Produced: 3, Stored: 3}},
		{Key: Key{Minute: base.Add(time.Minute), Project: "p2"}, Counts: Counts{Produced: 2, Stored: 1}},
	}}
	r.Total = Counts{Produced: 5, Stored: 4}

	var all bytes.Buffer
	require.NoError(t, r.WriteTable(&all, false))
	out := all.String()
	require.Contains(t, out, "Hits of topic hits from 2024-08-30T10:00:00Z to 2024-08-30T10:02:00Z (UTC), 5 records read")
	require.Contains(t, out, "2024-08-30 10:00")
	require.Contains(t, out, "+1 <-")
	require.Contains(t, out, "1 of 2 rows have a gap")

	var gaps bytes.Buffer
	require.NoError(t, r.WriteTable(&gaps, true))
	require.NotContains(t, gaps.String(), "2024-08-30 10:00", "-gaps leaves out rows without a gap")
	require.Contains(t, gaps.String(), "2024-08-30 10:01")
}

func TestWriteTableWithoutGaps(t *testing.T) {
	r := &Report{From: base, To: base.Add(time.Minute), Topic: "hits", Rows: []Row{
		{Key: Key{Minute: base, Project: "p1"}, Counts: Counts{Produced: 3, Stored: 2, Dead: 1}},
	}, Total: Counts{Produced: 3, Stored: 2, Dead: 1}}

	var b bytes.Buffer
	require.NoError(t, r.WriteTable(&b, false))
	require.Contains(t, b.String(), "No gaps")
}
