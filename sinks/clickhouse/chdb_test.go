//go:build integration

package clickhouse

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clickstream/clickstream/pkg/event"
)

// The only server this machine installs is 18.16, so the DDL and the
// queries of current versions run on chDB, the ClickHouse engine that the
// PyPI package chdb-core embeds. chDB has no native-protocol server, so the
// rows go in as INSERT ... VALUES built from the same column slices the
// driver would send.

// chdbPython returns the Python interpreter with chdb-core installed, or
// skips the test.
func chdbPython(t *testing.T) string {
	t.Helper()
	python := os.Getenv("CLICKSTREAM_TEST_CHDB_PYTHON")
	if python == "" {
		t.Skip("set CLICKSTREAM_TEST_CHDB_PYTHON to a python3 that has chdb-core installed")
	}
	return python
}

type chdbResult struct {
	Data  [][]any `json:"data"`
	Error string  `json:"error"`
}

// runChDB runs statements in one chDB session and returns the engine
// version and one result per statement.
func runChDB(t *testing.T, python string, statements []string) (string, []chdbResult) {
	t.Helper()
	input, err := json.Marshal(statements)
	require.NoError(t, err)

	cmd := exec.Command(python, "testdata/chdb_run.py")
	cmd.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "chdb_run.py: %s", stderr.String())

	var res struct {
		Version string       `json:"version"`
		Results []chdbResult `json:"results"`
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&res))
	require.Len(t, res.Results, len(statements))
	return res.Version, res.Results
}

// valuesInsert returns an INSERT ... VALUES statement of rows into t in the
// layout of current servers, with settings.
func valuesInsert[R any](t *testing.T, spec *tableSpec, database string, rows []R, readers columnReaders[R], settings map[string]any) string {
	t.Helper()
	cols, err := buildColumnsFrom(spec, rows, readers, false)
	require.NoError(t, err)

	var b strings.Builder
	fmt.Fprintf(&b, "INSERT INTO %s.%s (%s)", database, spec.name, strings.Join(spec.insertColumns(false), ", "))
	if len(settings) > 0 {
		var pairs []string
		for k, v := range settings {
			pairs = append(pairs, k+" = "+sqlLiteral(t, v))
		}
		slices.Sort(pairs)
		b.WriteString(" SETTINGS " + strings.Join(pairs, ", "))
	}
	b.WriteString(" VALUES")

	for i := range rows {
		var values []string
		for _, col := range cols {
			values = append(values, sqlLiteral(t, indexSlice(col, i)))
		}
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(" (" + strings.Join(values, ", ") + ")")
	}
	return b.String()
}

// indexSlice returns element i of one column slice that buildColumns makes.
func indexSlice(col any, i int) any {
	switch s := col.(type) {
	case []time.Time:
		return s[i]
	case []string:
		return s[i]
	case []bool:
		return s[i]
	case []float64:
		return s[i]
	case []uint16:
		return s[i]
	case []uint32:
		return s[i]
	case []uint64:
		return s[i]
	case []int32:
		return s[i]
	case []int64:
		return s[i]
	case [][]string:
		return s[i]
	}
	panic(fmt.Sprintf("unexpected column type %T", col))
}

// sqlLiteral formats one value as a ClickHouse literal.
func sqlLiteral(t *testing.T, v any) string {
	switch x := v.(type) {
	case string:
		return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(x) + "'"
	case time.Time:
		return "'" + x.UTC().Format("2006-01-02 15:04:05.000") + "'"
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case []string:
		var items []string
		for _, s := range x {
			items = append(items, sqlLiteral(t, s))
		}
		return "[" + strings.Join(items, ", ") + "]"
	case uint16, uint32, uint64, int32, int64, int:
		return fmt.Sprint(x)
	}
	t.Fatalf("no literal for %T", v)
	return ""
}

// bindLiterals replaces each ? of query with the literal of the next arg.
func bindLiterals(t *testing.T, query string, args ...any) string {
	for _, arg := range args {
		query = strings.Replace(query, "?", sqlLiteral(t, arg), 1)
	}
	return query
}

// cells formats each value of rows with fmt.Sprint, for comparing results
// whose JSON types differ: UInt64 arrives as a string, Int64 as a number.
func cells(rows [][]any) [][]string {
	out := [][]string{}
	for _, row := range rows {
		var line []string
		for _, v := range row {
			line = append(line, fmt.Sprint(v))
		}
		out = append(out, line)
	}
	return out
}

func toInteractionRows(rows []event.Enriched, partition int32, firstOffset int64) []interactionRow {
	out := make([]interactionRow, len(rows))
	for i := range rows {
		out[i] = interactionRow{Enriched: &rows[i], partition: partition, offset: firstOffset + int64(i)}
	}
	return out
}

func TestModernSchemaOnChDB(t *testing.T) {
	python := chdbPython(t)
	const db = "clickstream"
	v := Version{Major: 24, Minor: 8, Patch: 4}
	base := time.Date(2024, 9, 1, 12, 0, 0, 0, time.UTC)

	var stmts []string
	step := func(sql string) int {
		stmts = append(stmts, sql)
		return len(stmts) - 1
	}

	// The fixtures are from 2024 and the TTL deletes expired rows on
	// insert, so the retention must reach back that far.
	step("CREATE DATABASE " + db)
	var creates []int
	for _, spec := range allTables {
		creates = append(creates, step(spec.createSQL(db, v, ddlOptions{retentionDays: 3650, dedupWindow: 100})))
	}

	// The same summary batch twice with one token, then the count batch.
	summaryBatch := valuesInsert(t, &interactionsSpec, db, toInteractionRows(summaryRows(), 0, 0),
		interactionColumns, dedupSettings(TableInteractions+"/hits/0/0-6"))
	firstInsert := step(summaryBatch)
	step(summaryBatch)
	countBatch := valuesInsert(t, &interactionsSpec, db, toInteractionRows(countRows(base), 2, 10),
		interactionColumns, dedupSettings(TableInteractions+"/hits/2/10-16"))
	step(countBatch)

	attempts := []DeliveryAttempt{
		{Time: base.Add(7 * time.Millisecond), EventID: "evt_0", WebhookID: "wh_1", EventType: event.TypeLinkClicked, Attempt: 1, URL: "https://r.example", StatusCode: 200, Latency: 42 * time.Millisecond},
		{Time: base.Add(time.Minute), EventID: "evt_1", WebhookID: "wh_1", EventType: event.TypeLinkClicked, Attempt: 2, URL: "https://r.example", StatusCode: 503, Outcome: "retry", ErrorClass: "http_5xx", ResponseBody: "busy", NextAttemptAt: base.Add(time.Hour)},
		{Time: base.Add(2 * time.Minute), EventID: "evt_2", WebhookID: "wh_2", EventType: event.TypePageVisited, Attempt: 1, URL: "https://o.example"},
	}
	deliveries := valuesInsert(t, &webhookDeliveriesSpec, db, attempts, deliveryValues.readers(&webhookDeliveriesSpec), nil)
	step(deliveries)
	step(deliveries)

	letters := []DeadLetter{{Time: base, Topic: "hits", Partition: 1, Offset: 5, Reason: "invalid hit: url must be 1 to 4096 bytes", Raw: []byte(`{"url":""}`)}}
	step(valuesInsert(t, &deadLettersSpec, db, letters, deadLetterValues.readers(&deadLettersSpec), dedupSettings(deadLetterToken(letters))))

	table := db + "." + TableInteractions
	rowCount := step("SELECT count() FROM " + table)
	totals := step(totalsSQL(table))
	topCountries := step(topSQL(table, "country", 2))
	topReferers := step(topSQL(table, "referer", 2))
	counts := step(bindLiterals(t, countsSQL(table, false, 3), "link_a", "link_b", "link_c", int32(9), int64(0)) + " ORDER BY resource_id")
	list := step(bindLiterals(t, listAttemptsSQL(db+"."+TableWebhookDeliveries, false, 10), "wh_1"))
	deliveryCount := step("SELECT count() FROM " + db + "." + TableWebhookDeliveries)
	timestampType := step("SELECT type FROM system.columns WHERE database = 'clickstream' AND table = 'interactions' AND name = 'timestamp'")
	indexes := step("SELECT name FROM system.data_skipping_indices WHERE database = 'clickstream' ORDER BY name")

	// A table of a release without visitor_hash, one row stored there, the
	// column added twice as Migrate adds it, then rows of this release.
	const legacyDB = "legacy"
	legacySpec := interactionsSpec
	legacySpec.columns = slices.DeleteFunc(slices.Clone(interactionsSpec.columns), func(c column) bool { return c.name == "visitor_hash" })
	step("CREATE DATABASE " + legacyDB)
	step(legacySpec.createSQL(legacyDB, v, ddlOptions{retentionDays: 3650, dedupWindow: 100}))
	legacyRows := []event.Enriched{visitorRow("legacy0000000001", 0, "198.51.100.7", base.Add(-2*time.Minute))}
	step(valuesInsert(t, &legacySpec, legacyDB, toInteractionRows(legacyRows, 1, 0), interactionColumns, nil))
	hashColumn := slices.IndexFunc(interactionsSpec.columns, func(c column) bool { return c.name == "visitor_hash" })
	addColumn := interactionsSpec.addColumnSQL(legacyDB, hashColumn, v, false)
	require.Contains(t, addColumn, "IF NOT EXISTS")
	step(addColumn)
	step(addColumn)
	const hash = uint64(1<<63 + 5)
	newRows := []event.Enriched{
		visitorRow("new0000000000001", hash, "203.0.113.0", base.Add(-time.Minute)),
		visitorRow("new0000000000002", hash, "203.0.113.0", base.Add(-30*time.Second)),
	}
	step(valuesInsert(t, &interactionsSpec, legacyDB, toInteractionRows(newRows, 1, 1), interactionColumns, nil))
	legacyTable := legacyDB + "." + TableInteractions
	hashType := step("SELECT type FROM system.columns WHERE database = 'legacy' AND table = 'interactions' AND name = 'visitor_hash'")
	legacyColumns := step("SELECT name FROM system.columns WHERE database = 'legacy' AND table = 'interactions' ORDER BY position")
	recent := step(bindLiterals(t, recentVisitorsSQL(legacyTable, false, 10), int32(1), int64(10), base.Add(-time.Hour).Unix()))

	version, results := runChDB(t, python, stmts)
	t.Logf("chDB engine %s", version)
	for i, r := range results {
		assert.Empty(t, r.Error, "statement %d:\n%s", i, stmts[i])
	}
	require.Empty(t, results[creates[0]].Error)
	require.Empty(t, results[firstInsert].Error)

	assert.Equal(t, [][]string{{"14"}}, cells(results[rowCount].Data), "the repeated batch is dropped, both batches have 7 rows")
	// Counted: 5 of the summary batch plus link_a twice, link_b and link_other.
	assert.Equal(t, [][]string{{"14", "14", "9", "3", "2"}}, cells(results[totals].Data))
	assert.Equal(t, [][]string{{"US", "7"}, {"", "1"}}, cells(results[topCountries].Data))
	assert.Equal(t, [][]string{{"google.com", "5"}, {"(direct)", "4"}}, cells(results[topReferers].Data))

	lastA := strconv.FormatInt(base.Add(1500*time.Millisecond).UnixMilli(), 10)
	lastB := strconv.FormatInt(base.Add(250*time.Millisecond).UnixMilli(), 10)
	assert.Equal(t, [][]string{{"link_a", "2", lastA}, {"link_b", "1", lastB}}, cells(results[counts].Data))

	listed := results[list].Data
	require.Len(t, listed, 2)
	assert.Equal(t, "evt_1", listed[0][1])
	assert.Equal(t, "2024-09-01 12:01:00.000", listed[0][0])
	assert.Equal(t, "2024-09-01 13:00:00.000", listed[0][13], "next_attempt_at")
	assert.Equal(t, "http_5xx", listed[0][10], "error_class")
	assert.Equal(t, false, listed[0][14], "final")
	assert.Equal(t, "evt_0", listed[1][1])
	assert.Equal(t, "2024-09-01 12:00:00.007", listed[1][0])
	assert.Equal(t, [][]string{{"3"}}, cells(results[deliveryCount].Data), "an identical repeated insert is dropped")

	assert.Equal(t, [][]string{{"DateTime64(3, 'UTC')"}}, cells(results[timestampType].Data))
	assert.Equal(t, [][]string{{"click_id_bloom"}, {"resource_id_bloom"}}, cells(results[indexes].Data))

	assert.Equal(t, [][]string{{"UInt64"}}, cells(results[hashType].Data))
	var names []string
	for _, row := range cells(results[legacyColumns].Data) {
		names = append(names, row[0])
	}
	assert.Equal(t, interactionsSpec.insertColumns(false), slices.DeleteFunc(names, func(n string) bool { return n == "inserted_at" }),
		"the added column sits where a new table has it")
	assert.Equal(t, [][]string{
		{"link_a", strconv.FormatUint(hash, 10), "", "", strconv.FormatInt(base.Add(-30*time.Second).UnixMilli(), 10), "new0000000000002"},
		{"link_a", "0", "198.51.100.7", "Mozilla/5.0", strconv.FormatInt(base.Add(-2*time.Minute).UnixMilli(), 10), "legacy0000000001"},
	}, cells(results[recent].Data))
}
