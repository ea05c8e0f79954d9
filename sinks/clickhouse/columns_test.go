package clickhouse

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	chcolumn "github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clickstream/clickstream/pkg/event"
)

func TestBuildColumnsMatchesInsertColumns(t *testing.T) {
	e := event.Enriched{Interaction: event.Interaction{ClickID: "AAAAAAAAAAAAAAAA", Timestamp: event.NewTime(time.Now())}}
	rows := []interactionRow{{Enriched: &e, partition: 1, offset: 2}}

	for _, split := range []bool{false, true} {
		cols, err := buildColumnsFrom(&interactionsSpec, rows, interactionColumns, split)

		require.NoError(t, err)
		assert.Len(t, cols, len(interactionsSpec.insertColumns(split)), "split %v", split)
	}
}

func TestBuildColumnsTypes(t *testing.T) {
	ts := time.Date(2024, 8, 30, 10, 16, 12, 124_000_000, time.UTC)
	e := event.Enriched{
		Interaction: event.Interaction{Timestamp: event.NewTime(ts), Bot: true},
		BotReasons:  nil,
		ASN:         13335,
		VisitorHash: 1 << 63,
	}
	rows := []interactionRow{{Enriched: &e, partition: 4, offset: 77}}

	cols, err := buildColumnsFrom(&interactionsSpec, rows, interactionColumns, true)
	require.NoError(t, err)
	names := interactionsSpec.insertColumns(true)
	byName := map[string]any{}
	for i, name := range names {
		byName[name] = cols[i]
	}

	assert.Equal(t, []time.Time{ts.Truncate(time.Second)}, byName["timestamp"])
	assert.Equal(t, []uint16{124}, byName["timestamp_ms"])
	assert.Equal(t, []bool{true}, byName["bot"])
	assert.Equal(t, [][]string{{}}, byName["bot_reasons"], "nil reasons become an empty array")
	assert.Equal(t, []uint32{13335}, byName["asn"])
	assert.Equal(t, []uint64{1 << 63}, byName["visitor_hash"])
	assert.Equal(t, []int32{4}, byName["kafka_partition"])
	assert.Equal(t, []int64{77}, byName["kafka_offset"])
}

func TestBuildColumnsRejectsWrongType(t *testing.T) {
	get := valueFuncs[DeadLetter]{}
	for k, fn := range deadLetterValues {
		get[k] = fn
	}
	get["offset"] = func(d *DeadLetter) any { return int(d.Offset) }

	_, err := buildColumns(&deadLettersSpec, []DeadLetter{{Topic: "hits"}}, get, false)

	assert.ErrorContains(t, err, "column dead_letters.offset: row 0: value is int, expected int64")
}

func TestBuildColumnsFromRejectsWrongType(t *testing.T) {
	readers := columnReaders[DeadLetter]{}
	for k, read := range deadLetterValues.readers(&deadLettersSpec) {
		readers[k] = read
	}
	readers["offset"] = readColumn(func(d *DeadLetter) int { return int(d.Offset) })

	_, err := buildColumnsFrom(&deadLettersSpec, []DeadLetter{{Topic: "hits"}}, readers, false)

	assert.ErrorContains(t, err, "column dead_letters.offset: values are []int, expected []int64")
}

// boxedInteractionValues reads the interactions columns the way
// InsertInteractions did before it had interactionColumns, one boxed value
// per row.
var boxedInteractionValues = valueFuncs[interactionRow]{
	"timestamp":       func(r *interactionRow) any { return r.Timestamp.Time },
	"click_id":        func(r *interactionRow) any { return r.ClickID },
	"url":             func(r *interactionRow) any { return r.URL },
	"ip":              func(r *interactionRow) any { return r.IP },
	"continent":       func(r *interactionRow) any { return r.Continent },
	"country":         func(r *interactionRow) any { return r.Country },
	"city":            func(r *interactionRow) any { return r.City },
	"region":          func(r *interactionRow) any { return r.Region },
	"latitude":        func(r *interactionRow) any { return r.Latitude },
	"longitude":       func(r *interactionRow) any { return r.Longitude },
	"device":          func(r *interactionRow) any { return r.Device },
	"browser":         func(r *interactionRow) any { return r.Browser },
	"browser_version": func(r *interactionRow) any { return r.BrowserVersion },
	"os":              func(r *interactionRow) any { return r.OS },
	"os_version":      func(r *interactionRow) any { return r.OSVersion },
	"ua":              func(r *interactionRow) any { return r.UA },
	"bot":             func(r *interactionRow) any { return r.Bot },
	"bot_reasons":     func(r *interactionRow) any { return nonNil(r.BotReasons) },
	"datacenter":      func(r *interactionRow) any { return r.Datacenter },
	"asn":             func(r *interactionRow) any { return r.ASN },
	"qr":              func(r *interactionRow) any { return r.QR },
	"referer":         func(r *interactionRow) any { return r.Referer },
	"referer_raw":     func(r *interactionRow) any { return r.RefererRaw },
	"method":          func(r *interactionRow) any { return r.Method },
	"duplicate":       func(r *interactionRow) any { return r.Duplicate },
	"visitor_hash":    func(r *interactionRow) any { return r.VisitorHash },
	"resource_type":   func(r *interactionRow) any { return string(r.Resource.Type) },
	"resource_id":     func(r *interactionRow) any { return r.Resource.ID },
	"project_id":      func(r *interactionRow) any { return r.Resource.ProjectID },
	"domain":          func(r *interactionRow) any { return r.Resource.Domain },
	"key":             func(r *interactionRow) any { return r.Resource.Key },
	"kafka_partition": func(r *interactionRow) any { return r.partition },
	"kafka_offset":    func(r *interactionRow) any { return r.offset },
}

// variedRows returns n interaction rows whose columns all differ from row to
// row.
func variedRows(n int) []interactionRow {
	base := time.Date(2024, 8, 30, 10, 16, 12, 124_000_000, time.UTC)
	rows := make([]interactionRow, n)
	for i := range rows {
		s := strconv.Itoa(i)
		e := event.Enriched{
			Interaction: event.Interaction{
				Timestamp: event.NewTime(base.Add(time.Duration(i) * 1500 * time.Millisecond)),
				ClickID:   "AAAAAAAAAAAAAAA" + s, URL: "https://example.com/" + s, IP: "203.0.113." + s,
				Continent: "NA", Country: "US", City: "City " + s, Device: "Desktop", Browser: "Chrome",
				OS: "Mac OS", UA: "Mozilla/5.0 " + s, Bot: i%3 == 1, QR: i%3 == 2, Referer: "google.com",
			},
			Resource:   event.ResourceRef{Type: event.ResourceLink, ID: "link_" + s, ProjectID: "proj_" + s, Domain: "d.example", Key: "k" + s},
			Method:     "GET",
			RefererRaw: "https://www.google.com/?q=" + s,
			Region:     "CA", Latitude: 37.5 + float64(i), Longitude: -122.25 - float64(i),
			BrowserVersion: "127.0", OSVersion: "10.15", Datacenter: i%3 == 1, ASN: uint32(13335 + i), Duplicate: i%3 == 2,
			VisitorHash: 0xcbf29ce484222325 + uint64(i),
		}
		if e.Bot {
			e.BotReasons = []string{"crawler", "datacenter"}
		}
		rows[i] = interactionRow{Enriched: &e, partition: int32(i), offset: int64(10 + i)}
	}
	return rows
}

func TestInteractionColumnsMatchBoxedValues(t *testing.T) {
	rows := variedRows(3)

	for _, split := range []bool{false, true} {
		want, err := buildColumns(&interactionsSpec, rows, boxedInteractionValues, split)
		require.NoError(t, err)
		got, err := buildColumnsFrom(&interactionsSpec, rows, interactionColumns, split)
		require.NoError(t, err)
		assert.Equal(t, want, got, "split %v", split)
	}
}

// BenchmarkBuildInteractionColumns builds the columns of a batch of the
// worker's default size with interactionColumns and, for comparison, with
// one boxed value per row and column.
func BenchmarkBuildInteractionColumns(b *testing.B) {
	rows := variedRows(5000)
	b.Run("readers", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := buildColumnsFrom(&interactionsSpec, rows, interactionColumns, true); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("boxed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := buildColumns(&interactionsSpec, rows, boxedInteractionValues, true); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestPresizeStringKeepsValues(t *testing.T) {
	values := []string{"a", "", "Mozilla/5.0 (X11; Linux x86_64)", "é"}
	col := &chcolumn.String{}

	presizeString(col, values)
	require.Equal(t, 0, col.Rows(), "rows after presizing")
	_, err := col.Append(values)
	require.NoError(t, err)

	require.Equal(t, len(values), col.Rows())
	for i, want := range values {
		assert.Equal(t, want, col.Row(i, false), "row %d", i)
	}
}

func TestPresizeStringSkipsOtherColumns(t *testing.T) {
	filled := &chcolumn.String{}
	require.NoError(t, filled.AppendRow("first"))
	presizeString(filled, []string{"second"})
	assert.Equal(t, 1, filled.Rows(), "a column that already has rows is left alone")
	assert.Equal(t, "first", filled.Row(0, false))

	ints := &chcolumn.Int64{}
	presizeString(ints, []string{"x"})
	assert.Equal(t, 0, ints.Rows())
}

// BenchmarkAppendStringColumn appends 5000 user agents to a new String
// column of the driver, with and without presizeString.
func BenchmarkAppendStringColumn(b *testing.B) {
	values := make([]string, 5000)
	for i := range values {
		values[i] = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/" + strconv.Itoa(i)
	}
	for _, presize := range []bool{false, true} {
		b.Run(fmt.Sprintf("presize=%v", presize), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				col := &chcolumn.String{}
				if presize {
					presizeString(col, values)
				}
				if _, err := col.Append(values); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestSplitAndJoinTime(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 999_000_000, time.FixedZone("CET", 3600))

	secs, millis := splitTimes([]time.Time{ts})

	assert.Equal(t, time.Date(2024, 1, 2, 2, 4, 5, 0, time.UTC), secs[0])
	assert.Equal(t, uint16(999), millis[0])
	assert.True(t, ts.Equal(joinTime(secs[0], millis[0])))
}

func TestZeroTimeStoredAsEpoch(t *testing.T) {
	times := clampTimes([]time.Time{{}, time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)})

	assert.Equal(t, epoch, times[0])
	assert.Equal(t, epoch, times[1])
	assert.True(t, joinTime(epoch, 0).IsZero(), "epoch reads back as the zero time")
}

func TestAdaptBools(t *testing.T) {
	bools := []bool{true, false}

	assert.Equal(t, []uint8{1, 0}, adaptBools(bools, "UInt8"))
	assert.Equal(t, bools, adaptBools(bools, "Bool"))
	assert.Equal(t, []string{"x"}, adaptBools([]string{"x"}, "UInt8"))
}

func TestLatencyMillis(t *testing.T) {
	assert.Equal(t, uint32(1500), latencyMillis(1500*time.Millisecond))
	assert.Equal(t, uint32(0), latencyMillis(-time.Second))
	assert.Equal(t, uint32(4294967295), latencyMillis(2000*time.Hour))
}
