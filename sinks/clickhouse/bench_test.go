//go:build integration

package clickhouse

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clickstream/clickstream/pkg/event"
)

// benchBatchSize is the number of rows per insert in the benchmarks.
const benchBatchSize = 10000

// benchRows returns n varied interactions over 1000 resources of 50
// projects within one month, with new click ids.
func benchRows(rng *rand.Rand, n int) []event.Enriched {
	countries := []string{"US", "DE", "FR", "GB", "IN", "BR", "JP", ""}
	devices := []string{"Desktop", "Mobile", "Tablet", "Bot"}
	browsers := []string{"Chrome", "Safari", "Firefox", "Edge", "Googlebot"}
	base := time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC)

	rows := make([]event.Enriched, n)
	for i := range rows {
		resource := rng.IntN(1000)
		e := sampleInteraction(event.NewClickID(), fmt.Sprintf("link_%04d", resource), base.Add(time.Duration(rng.Int64N(int64(28*24*time.Hour)))))
		e.Resource.ProjectID = fmt.Sprintf("proj_%02d", resource%50)
		e.Country = countries[rng.IntN(len(countries))]
		e.Device = devices[rng.IntN(len(devices))]
		e.Browser = browsers[rng.IntN(len(browsers))]
		e.Bot = e.Device == "Bot"
		if e.Bot {
			e.BotReasons = []string{"crawler"}
		}
		e.Duplicate = rng.IntN(10) == 0
		e.IP = fmt.Sprintf("203.0.%d.%d", rng.IntN(256), rng.IntN(256))
		rows[i] = e
	}
	return rows
}

// BenchmarkInsertInteractions measures InsertInteractions with batches of
// benchBatchSize rows; rows/s is the figure to compare.
func BenchmarkInsertInteractions(b *testing.B) {
	c := newTestClient(b)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))

	var offset int64
	batches := 0
	for b.Loop() {
		b.StopTimer()
		rows := benchRows(rng, benchBatchSize)
		src := Source{Topic: "hits", Partition: 0, FirstOffset: offset, LastOffset: offset + benchBatchSize - 1}
		offset += benchBatchSize
		batches++
		b.StartTimer()

		require.NoError(b, c.InsertInteractions(ctx, rows, src))
	}
	b.ReportMetric(float64(batches*benchBatchSize)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkExactCount compares the exact-count queries on one million rows
// after every tenth batch was inserted twice. Background merges may have
// collapsed some or all of the repeats by the time the queries run, so
// countPlain can be exact or too high.
func BenchmarkExactCount(b *testing.B) {
	c := newTestClient(b)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))

	for i := range 100 {
		rows := benchRows(rng, benchBatchSize)
		first := int64(i * benchBatchSize)
		src := Source{Topic: "hits", Partition: 0, FirstOffset: first, LastOffset: first + benchBatchSize - 1}
		require.NoError(b, c.InsertInteractions(ctx, rows, src))
		if i%10 == 0 {
			require.NoError(b, c.InsertInteractions(ctx, rows, src))
		}
	}

	table := c.table(TableInteractions)
	queries := []struct{ name, sql string }{
		{"uniqExact", "SELECT uniqExact(click_id) FROM " + table + " WHERE NOT bot AND NOT duplicate"},
		{"countFinal", "SELECT count() FROM " + table + " FINAL WHERE NOT bot AND NOT duplicate"},
		{"countPlain", "SELECT count() FROM " + table + " WHERE NOT bot AND NOT duplicate"},
		{"oneResource", "SELECT uniqExact(click_id) FROM " + table + " WHERE project_id = 'proj_07' AND resource_id = 'link_0007'"},
	}
	for _, q := range queries {
		b.Run(q.name, func(b *testing.B) {
			var n uint64
			for b.Loop() {
				require.NoError(b, c.conn.QueryRow(ctx, q.sql).Scan(&n))
			}
			b.ReportMetric(float64(n), "result")
		})
	}
}
