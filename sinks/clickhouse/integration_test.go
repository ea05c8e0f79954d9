//go:build integration

package clickhouse

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/clickstream/clickstream/pkg/event"
)

// testAddr is the server the integration tests use.
func testAddr() string {
	if addr := os.Getenv("CLICKSTREAM_TEST_CLICKHOUSE_ADDR"); addr != "" {
		return addr
	}
	return "127.0.0.1:9000"
}

// newTestClient opens a client on a database of its own, runs Migrate and
// drops the database when the test ends.
func newTestClient(tb testing.TB) *Client {
	tb.Helper()
	c := openTestClient(tb, "clickstream_test_"+randomSuffix(tb))
	require.NoError(tb, c.Migrate(context.Background()))
	return c
}

// openTestClient opens a client on database without migrating it and
// registers the drop of the database.
func openTestClient(tb testing.TB, database string) *Client {
	tb.Helper()
	// Benchmarks log warnings only, so that their output stays readable.
	var opts []zaptest.LoggerOption
	if _, ok := tb.(*testing.B); ok {
		opts = append(opts, zaptest.Level(zap.WarnLevel))
	}
	return openTestClientWithLog(tb, database, zaptest.NewLogger(tb, opts...))
}

// openTestClientWithLog is openTestClient with the client logging to log.
func openTestClientWithLog(tb testing.TB, database string, log *zap.Logger) *Client {
	tb.Helper()
	cfg := DefaultConfig()
	cfg.Addr = []string{testAddr()}
	cfg.Database = database

	ctx := context.Background()
	c, err := Open(ctx, cfg, log)
	require.NoError(tb, err)
	tb.Cleanup(func() {
		err := c.conn.Exec(ctx, "DROP DATABASE IF EXISTS "+database)
		assert.NoError(tb, err)
		assert.NoError(tb, c.Close())
	})
	return c
}

func randomSuffix(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 6)
	_, err := rand.Read(b)
	require.NoError(tb, err)
	return hex.EncodeToString(b)
}

// queryUint64 runs a query that returns one UInt64.
func queryUint64(tb testing.TB, c *Client, query string) uint64 {
	tb.Helper()
	var n uint64
	require.NoError(tb, c.conn.QueryRow(context.Background(), query).Scan(&n))
	return n
}

// sampleInteraction returns a fully populated interaction on resource
// resourceID at ts.
func sampleInteraction(clickID, resourceID string, ts time.Time) event.Enriched {
	return event.Enriched{
		Interaction: event.Interaction{
			Timestamp: event.NewTime(ts),
			ClickID:   clickID,
			URL:       "https://example.com/landing?utm_source=tv&ü=1",
			IP:        "63.141.57.109",
			Continent: "NA",
			Country:   "US",
			City:      "San Francisco",
			Device:    "Desktop",
			Browser:   "Chrome",
			OS:        "Mac OS",
			UA:        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Chrome/124.0",
			Bot:       false,
			QR:        true,
			Referer:   "google.com",
		},
		Resource: event.ResourceRef{
			Type:      event.ResourceQRCode,
			ID:        resourceID,
			ProjectID: "proj_1",
			Domain:    "go.example.com",
			Key:       "tv-ad",
		},
		Method:         "GET",
		RefererRaw:     "https://www.google.com/search?q=clickstream",
		Region:         "CA",
		Latitude:       37.7749295,
		Longitude:      -122.4194155,
		BrowserVersion: "124.0.6367.91",
		OSVersion:      "10.15.7",
		Datacenter:     true,
		ASN:            4294967295,
	}
}

func TestMigrateTwice(t *testing.T) {
	c := newTestClient(t)
	ctx := context.Background()

	require.NoError(t, c.Migrate(ctx))

	n := queryUint64(t, c, fmt.Sprintf("SELECT count() FROM system.tables WHERE database = '%s'", c.cfg.Database))
	assert.Equal(t, uint64(len(allTables)), n)
}

// migrateConcurrently runs Migrate on database from four clients at once,
// checks that each succeeds and returns the clients.
func migrateConcurrently(t *testing.T, database string) []*Client {
	t.Helper()
	clients := make([]*Client, 4)
	for i := range clients {
		clients[i] = openTestClient(t, database)
	}

	var wg sync.WaitGroup
	errs := make([]error, len(clients))
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.Migrate(context.Background())
		}()
	}
	wg.Wait()

	for i, err := range errs {
		assert.NoError(t, err, "client %d", i)
	}
	return clients
}

func TestMigrateConcurrently(t *testing.T) {
	migrateConcurrently(t, "clickstream_test_"+randomSuffix(t))
}

func TestMigrateUsesVersionLayout(t *testing.T) {
	c := newTestClient(t)
	var createSQL string
	query := fmt.Sprintf("SELECT create_table_query FROM system.tables WHERE database = '%s' AND name = 'interactions'", c.cfg.Database)
	require.NoError(t, c.conn.QueryRow(context.Background(), query).Scan(&createSQL))

	if c.ServerVersion().Supports(FeatureDateTime64) {
		assert.Contains(t, createSQL, "DateTime64(3, 'UTC')")
		assert.NotContains(t, createSQL, "timestamp_ms")
	} else {
		assert.Contains(t, createSQL, "timestamp_ms UInt16")
		assert.False(t, strings.Contains(createSQL, "LowCardinality"))
	}
	assert.Contains(t, createSQL, "ReplacingMergeTree")
}

func TestInsertInteractionsReadBack(t *testing.T) {
	c := newTestClient(t)
	ctx := context.Background()

	base := time.Date(2024, 8, 30, 10, 16, 12, 124_000_000, time.UTC)
	full := sampleInteraction("AAAAAAAAAAAAAAA1", "link_1", base)
	full.Bot = true
	full.BotReasons = []string{"crawler", "datacenter"}
	full.Duplicate = true
	full.VisitorHash = 0xfedcba9876543210

	empty := event.Enriched{
		Interaction: event.Interaction{Timestamp: event.NewTime(base.Add(999 * time.Millisecond)), ClickID: "AAAAAAAAAAAAAAA2", Referer: event.DirectReferer},
		Resource:    event.ResourceRef{Type: event.ResourceLink, ID: "link_1", ProjectID: "proj_1"},
		Method:      "HEAD",
	}
	rows := []event.Enriched{full, empty}
	src := Source{Topic: "hits", Partition: 7, FirstOffset: 500, LastOffset: 502, Offsets: []int64{500, 502}}
	require.NoError(t, c.InsertInteractions(ctx, rows, src))

	got := readInteractions(t, c)
	require.Len(t, got, 2)
	for i := range rows {
		assertInteraction(t, rows[i], got[i])
	}
	assert.Equal(t, int32(7), got[0].partition)
	assert.Equal(t, int64(500), got[0].offset)
	assert.Equal(t, int64(502), got[1].offset)
}

// storedInteraction is a row read back from the interactions table.
type storedInteraction struct {
	event.Enriched
	partition int32
	offset    int64
}

// readInteractions reads every stored interaction ordered by click id.
func readInteractions(tb testing.TB, c *Client) []storedInteraction {
	tb.Helper()
	split := c.isSplitTime(TableInteractions)
	query := fmt.Sprintf("SELECT %s FROM %s ORDER BY click_id",
		strings.Join(interactionsSpec.insertColumns(split), ", "), c.table(TableInteractions))
	rows, err := c.conn.Query(context.Background(), query)
	require.NoError(tb, err)
	defer rows.Close()

	var out []storedInteraction
	for rows.Next() {
		var (
			s        storedInteraction
			ts       time.Time
			millis   uint16
			resource string
		)
		dest := []any{&ts}
		if split {
			dest = append(dest, &millis)
		}
		e := &s.Enriched
		dest = append(dest, &e.ClickID, &e.URL, &e.IP, &e.Continent, &e.Country, &e.City, &e.Region,
			&e.Latitude, &e.Longitude, &e.Device, &e.Browser, &e.BrowserVersion, &e.OS, &e.OSVersion,
			&e.UA, &e.Bot, &e.BotReasons, &e.Datacenter, &e.ASN, &e.QR, &e.Referer, &e.RefererRaw,
			&e.Method, &e.Duplicate, &e.VisitorHash, &resource, &e.Resource.ID, &e.Resource.ProjectID,
			&e.Resource.Domain, &e.Resource.Key, &s.partition, &s.offset)
		require.NoError(tb, rows.Scan(dest...))

		e.Timestamp = event.Time{Time: joinTime(ts, millis)}
		e.Resource.Type = event.ResourceType(resource)
		out = append(out, s)
	}
	require.NoError(tb, rows.Err())
	return out
}

func assertInteraction(t *testing.T, want event.Enriched, got storedInteraction) {
	t.Helper()
	assert.True(t, want.Timestamp.Equal(got.Timestamp.Time), "timestamp: want %s, got %s", want.Timestamp, got.Timestamp)
	assert.Equal(t, want.ClickID, got.ClickID)
	assert.Equal(t, want.URL, got.URL)
	assert.Equal(t, want.IP, got.IP)
	assert.Equal(t, want.Continent, got.Continent)
	assert.Equal(t, want.Country, got.Country)
	assert.Equal(t, want.City, got.City)
	assert.Equal(t, want.Region, got.Region)
	assert.Equal(t, want.Latitude, got.Latitude)
	assert.Equal(t, want.Longitude, got.Longitude)
	assert.Equal(t, want.Device, got.Device)
	assert.Equal(t, want.Browser, got.Browser)
	assert.Equal(t, want.BrowserVersion, got.BrowserVersion)
	assert.Equal(t, want.OS, got.OS)
	assert.Equal(t, want.OSVersion, got.OSVersion)
	assert.Equal(t, want.UA, got.UA)
	assert.Equal(t, want.Bot, got.Bot)
	assert.Equal(t, nonNil(want.BotReasons), nonNil(got.BotReasons))
	assert.Equal(t, want.Datacenter, got.Datacenter)
	assert.Equal(t, want.ASN, got.ASN)
	assert.Equal(t, want.QR, got.QR)
	assert.Equal(t, want.Referer, got.Referer)
	assert.Equal(t, want.RefererRaw, got.RefererRaw)
	assert.Equal(t, want.Method, got.Method)
	assert.Equal(t, want.Duplicate, got.Duplicate)
	assert.Equal(t, want.VisitorHash, got.VisitorHash)
	assert.Equal(t, want.Resource, got.Resource)
}

func TestInsertSameSourceTwice(t *testing.T) {
	c := newTestClient(t)
	ctx := context.Background()

	base := time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC)
	rows := make([]event.Enriched, 100)
	for i := range rows {
		rows[i] = sampleInteraction(fmt.Sprintf("B%015d", i), "link_1", base.Add(time.Duration(i)*time.Millisecond))
	}
	src := Source{Topic: "hits", Partition: 1, FirstOffset: 1000, LastOffset: 1099}
	require.NoError(t, c.InsertInteractions(ctx, rows, src))
	require.NoError(t, c.InsertInteractions(ctx, rows, src))

	table := c.table(TableInteractions)
	assert.Equal(t, uint64(100), queryUint64(t, c, "SELECT uniqExact(click_id) FROM "+table))
	assert.Equal(t, uint64(100), queryUint64(t, c, "SELECT count(DISTINCT click_id) FROM "+table))
	assert.Equal(t, uint64(100), queryUint64(t, c, "SELECT count() FROM "+table+" FINAL"))

	if c.dedupTokens() {
		assert.Equal(t, uint64(100), queryUint64(t, c, "SELECT count() FROM "+table), "the server drops the repeat")
		return
	}
	assert.Equal(t, uint64(200), queryUint64(t, c, "SELECT count() FROM "+table), "the repeat is stored until a merge")
	require.NoError(t, c.conn.Exec(ctx, "OPTIMIZE TABLE "+table+" FINAL"))
	assert.Equal(t, uint64(100), queryUint64(t, c, "SELECT count() FROM "+table), "the merge collapses the repeat")
}

func TestInsertInteractionsInvalidSource(t *testing.T) {
	c := newTestClient(t)
	rows := []event.Enriched{sampleInteraction("C000000000000001", "link_1", time.Now())}

	err := c.InsertInteractions(context.Background(), rows, Source{Topic: "hits", FirstOffset: 5, LastOffset: 4})

	require.ErrorIs(t, err, ErrInvalidBatch)
	assert.False(t, IsRetryable(err))
	assert.Contains(t, err.Error(), c.table(TableInteractions))
}

func TestInsertIntoMissingTableIsPermanent(t *testing.T) {
	c := openTestClient(t, "clickstream_test_"+randomSuffix(t))
	rows := []event.Enriched{sampleInteraction("C000000000000001", "link_1", time.Now())}

	err := c.InsertInteractions(context.Background(), rows, Source{Topic: "hits", FirstOffset: 0, LastOffset: 0})

	require.Error(t, err)
	assert.False(t, IsRetryable(err))
	assert.Contains(t, err.Error(), "topic hits partition 0 offsets 0-0")
}

// summaryRows returns seven interactions: five counted, one bot and one
// duplicate. TestSummary lists what Summary(2) returns for them.
func summaryRows() []event.Enriched {
	base := time.Date(2024, 9, 1, 12, 0, 0, 0, time.UTC)
	var rows []event.Enriched
	add := func(country, device, browser, referer string, bot, duplicate bool) {
		e := sampleInteraction(fmt.Sprintf("S%015d", len(rows)), "link_1", base.Add(time.Duration(len(rows))*time.Second))
		e.Country, e.Device, e.Browser, e.Referer, e.Bot, e.Duplicate = country, device, browser, referer, bot, duplicate
		rows = append(rows, e)
	}
	add("US", "Desktop", "Chrome", "google.com", false, false)
	add("US", "Mobile", "Safari", "(direct)", false, false)
	add("US", "Mobile", "Safari", "(direct)", false, false)
	add("DE", "Mobile", "Firefox", "(direct)", false, false)
	add("", "Desktop", "Chrome", "(direct)", false, false)
	add("FR", "Bot", "Googlebot", "(direct)", true, false)
	add("GB", "Desktop", "Chrome", "(direct)", false, true)
	return rows
}

func TestSummary(t *testing.T) {
	c := newTestClient(t)
	ctx := context.Background()
	rows := summaryRows()

	src := Source{Topic: "hits", Partition: 0, FirstOffset: 0, LastOffset: int64(len(rows) - 1)}
	require.NoError(t, c.InsertInteractions(ctx, rows, src))
	require.NoError(t, c.InsertInteractions(ctx, rows, src))

	s, err := c.Summary(ctx, 2)
	require.NoError(t, err)

	if c.dedupTokens() {
		assert.Equal(t, uint64(7), s.Rows)
	} else {
		assert.Equal(t, uint64(14), s.Rows)
	}
	assert.Equal(t, uint64(7), s.Interactions)
	assert.Equal(t, uint64(5), s.Counted)
	assert.Equal(t, uint64(1), s.Bots)
	assert.Equal(t, uint64(1), s.Duplicates)
	assert.Equal(t, []NameCount{{"US", 3}, {"", 1}}, s.TopCountries)
	assert.Equal(t, []NameCount{{"Mobile", 3}, {"Desktop", 2}}, s.TopDevices)
	assert.Equal(t, []NameCount{{"Chrome", 2}, {"Safari", 2}}, s.TopBrowsers)
	assert.Equal(t, []NameCount{{"(direct)", 4}, {"google.com", 1}}, s.TopReferers)
}

func TestSummaryEmptyTable(t *testing.T) {
	c := newTestClient(t)

	s, err := c.Summary(context.Background(), 10)

	require.NoError(t, err)
	assert.Zero(t, s.Rows)
	assert.Zero(t, s.Interactions)
	assert.Empty(t, s.TopCountries)
}

func TestSummaryRejectsTopN(t *testing.T) {
	c := newTestClient(t)

	_, err := c.Summary(context.Background(), 0)

	assert.ErrorContains(t, err, "topN 0")
}

// countRows returns interactions of link_a (two counted, one bot, one
// duplicate), link_b (one counted), link_c (one bot) and link_other.
func countRows(base time.Time) []event.Enriched {
	var rows []event.Enriched
	add := func(resource string, ts time.Time, bot, duplicate bool) {
		e := sampleInteraction(fmt.Sprintf("R%015d", len(rows)), resource, ts)
		e.Bot, e.Duplicate = bot, duplicate
		rows = append(rows, e)
	}
	add("link_a", base, false, false)
	add("link_a", base.Add(1500*time.Millisecond), false, false)
	add("link_a", base.Add(time.Hour), true, false)
	add("link_a", base.Add(2*time.Hour), false, true)
	add("link_b", base.Add(250*time.Millisecond), false, false)
	add("link_c", base, true, false)
	add("link_other", base, false, false)
	return rows
}

func TestCountsByResource(t *testing.T) {
	c := newTestClient(t)
	ctx := context.Background()
	base := time.Date(2024, 9, 1, 12, 0, 0, 0, time.UTC)
	rows := countRows(base)

	src := Source{Topic: "hits", Partition: 2, FirstOffset: 10, LastOffset: 10 + int64(len(rows)) - 1}
	require.NoError(t, c.InsertInteractions(ctx, rows, src))
	require.NoError(t, c.InsertInteractions(ctx, rows, src))

	// More ids than one query takes, to cover the chunking.
	ids := []string{"link_a", "link_b", "link_c"}
	for i := range 2 * resourceChunk {
		ids = append(ids, fmt.Sprintf("link_none_%d", i))
	}
	// Partition 3 stored none of the rows, so all count.
	counts, err := c.CountsByResource(ctx, ids, 3, 0)
	require.NoError(t, err)

	assert.Len(t, counts, 2)
	assert.Equal(t, int64(2), counts["link_a"].Count)
	assert.True(t, base.Add(1500*time.Millisecond).Equal(counts["link_a"].Last), "link_a last: %s", counts["link_a"].Last)
	assert.Equal(t, int64(1), counts["link_b"].Count)
	assert.True(t, base.Add(250*time.Millisecond).Equal(counts["link_b"].Last), "link_b last: %s", counts["link_b"].Last)
	assert.NotContains(t, counts, "link_c")
	assert.NotContains(t, counts, "link_other")

	// Rows of partition 2 at offsets from 10 on are left out: all of them.
	uncommitted, err := c.CountsByResource(ctx, ids, 2, 10)
	require.NoError(t, err)
	assert.Empty(t, uncommitted)
	all, err := c.CountsByResource(ctx, ids, 2, src.LastOffset+1)
	require.NoError(t, err)
	assert.Equal(t, counts, all)
}

func TestCountsByResourceNoIDs(t *testing.T) {
	c := newTestClient(t)

	counts, err := c.CountsByResource(context.Background(), nil, 0, 0)

	require.NoError(t, err)
	assert.Empty(t, counts)
}

func TestDeadLetters(t *testing.T) {
	c := newTestClient(t)
	ctx := context.Background()
	at := time.Date(2024, 9, 2, 8, 0, 0, 321_000_000, time.UTC)
	letters := []DeadLetter{
		{Time: at, Topic: "hits", Partition: 3, Offset: 41, Reason: "invalid hit: clickId must be 16 base62 characters", Raw: []byte(`{"clickId":"x"}`)},
		{Time: at, Topic: "hits", Partition: 3, Offset: 42, Reason: "invalid hit: record is not valid UTF-8", Raw: []byte{0xff, 0xfe, 0x00, 'a'}},
	}
	require.NoError(t, c.InsertDeadLetters(ctx, letters))
	require.NoError(t, c.InsertDeadLetters(ctx, letters))

	table := c.table(TableDeadLetters)
	assert.Equal(t, uint64(2), queryUint64(t, c, "SELECT count() FROM "+table+" FINAL"))

	query := "SELECT topic, partition, offset, reason, raw, " + millisExpr("time", c.isSplitTime(TableDeadLetters)) +
		" FROM " + table + " FINAL ORDER BY offset"
	rows, err := c.conn.Query(ctx, query)
	require.NoError(t, err)
	defer rows.Close()
	var got []DeadLetter
	for rows.Next() {
		var (
			d      DeadLetter
			part   int32
			raw    string
			millis int64
		)
		require.NoError(t, rows.Scan(&d.Topic, &part, &d.Offset, &d.Reason, &raw, &millis))
		d.Partition, d.Raw, d.Time = int(part), []byte(raw), time.UnixMilli(millis).UTC()
		got = append(got, d)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, letters, got)
}

func TestDeliveryLog(t *testing.T) {
	c := newTestClient(t)
	ctx := context.Background()
	base := time.Date(2024, 9, 3, 9, 0, 0, 0, time.UTC)

	var attempts []DeliveryAttempt
	for i := range 5 {
		attempts = append(attempts, DeliveryAttempt{
			Time:       base.Add(time.Duration(i)*time.Minute + 7*time.Millisecond),
			EventID:    fmt.Sprintf("evt_%d", i),
			WebhookID:  "wh_1",
			EventType:  event.TypeLinkClicked,
			Attempt:    1,
			URL:        "https://receiver.example/hook",
			StatusCode: 200,
			Latency:    42 * time.Millisecond,
		})
	}
	failed := DeliveryAttempt{
		Time: base.Add(90 * time.Second), EventID: "evt_9", WebhookID: "wh_1", ProjectID: "proj_1", EventType: event.TypeQRCodeScanned,
		Attempt: 3, URL: "https://receiver.example/hook", StatusCode: 503, Latency: 1500 * time.Millisecond,
		Outcome: "retry", ErrorClass: "http_5xx", Error: "", ResponseBody: strings.Repeat("é", MaxResponseBodyLen),
		NextAttemptAt: base.Add(10 * time.Minute).Add(5 * time.Millisecond),
	}
	final := DeliveryAttempt{
		Time: base.Add(95 * time.Second), EventID: "evt_8", WebhookID: "wh_1", EventType: event.TypeLinkClicked,
		Attempt: 8, URL: "https://receiver.example/hook", Outcome: "failed", ErrorClass: "timeout",
		Error: "context deadline exceeded", Final: true,
	}
	other := DeliveryAttempt{Time: base.Add(time.Hour), EventID: "evt_x", WebhookID: "wh_2", EventType: event.TypePageVisited, Attempt: 1, URL: "https://other.example"}

	// Out of time order, with one insert repeated.
	batch := []DeliveryAttempt{attempts[3], failed, attempts[0], other, final, attempts[4]}
	require.NoError(t, c.InsertDeliveryAttempts(ctx, batch))
	require.NoError(t, c.InsertDeliveryAttempts(ctx, batch))
	require.NoError(t, c.InsertDeliveryAttempts(ctx, []DeliveryAttempt{attempts[1], attempts[2]}))

	got, err := c.ListDeliveryAttempts(ctx, "wh_1", 100)
	require.NoError(t, err)

	var ids []string
	for _, d := range got {
		ids = append(ids, d.EventID)
	}
	assert.Equal(t, []string{"evt_4", "evt_3", "evt_2", "evt_8", "evt_9", "evt_1", "evt_0"}, ids)

	gotFailed := got[4]
	assert.True(t, failed.Time.Equal(gotFailed.Time), "time: %s", gotFailed.Time)
	assert.True(t, failed.NextAttemptAt.Equal(gotFailed.NextAttemptAt), "next attempt: %s", gotFailed.NextAttemptAt)
	assert.Equal(t, 3, gotFailed.Attempt)
	assert.Equal(t, 503, gotFailed.StatusCode)
	assert.Equal(t, 1500*time.Millisecond, gotFailed.Latency)
	assert.Equal(t, "http_5xx", gotFailed.ErrorClass)
	assert.Equal(t, "retry", gotFailed.Outcome)
	assert.Equal(t, "proj_1", gotFailed.ProjectID)
	assert.False(t, gotFailed.Final)
	assert.Equal(t, event.TypeQRCodeScanned, gotFailed.EventType)
	assert.Len(t, gotFailed.ResponseBody, MaxResponseBodyLen)
	assert.Equal(t, strings.Repeat("é", MaxResponseBodyLen/2), gotFailed.ResponseBody)
	assert.True(t, got[0].NextAttemptAt.IsZero())

	gotFinal := got[3]
	assert.True(t, gotFinal.Final)
	assert.Equal(t, "context deadline exceeded", gotFinal.Error)
	assert.Equal(t, 0, gotFinal.StatusCode)
	assert.Equal(t, 8, gotFinal.Attempt)

	latest, err := c.ListDeliveryAttempts(ctx, "wh_1", 2)
	require.NoError(t, err)
	require.Len(t, latest, 2)
	assert.Equal(t, "evt_4", latest[0].EventID)
	assert.Equal(t, "evt_3", latest[1].EventID)
}

func TestDeliveryLogRejectsBadAttempt(t *testing.T) {
	c := newTestClient(t)

	err := c.InsertDeliveryAttempts(context.Background(), []DeliveryAttempt{{WebhookID: "wh_1", EventID: "evt_1", Attempt: 0}})

	require.ErrorIs(t, err, ErrInvalidBatch)
	assert.ErrorContains(t, err, "attempt 0")
}

func TestUnknownColumnIsPermanent(t *testing.T) {
	c := newTestClient(t)

	err := c.conn.Exec(context.Background(), "SELECT no_such_column FROM "+c.table(TableInteractions))

	require.Error(t, err)
	assert.False(t, IsRetryable(err))
}

// visitorRow returns a counted interaction of resource link_a for
// RecentVisitors, from the visitor with hash, stored with ip.
func visitorRow(clickID string, hash uint64, ip string, at time.Time) event.Enriched {
	e := event.Enriched{Resource: event.ResourceRef{Type: event.ResourceLink, ID: "link_a", ProjectID: "p"}, VisitorHash: hash}
	e.Interaction = event.Interaction{Timestamp: event.NewTime(at), ClickID: clickID, IP: ip, UA: "Mozilla/5.0"}
	return e
}

func TestRecentVisitors(t *testing.T) {
	c := newTestClient(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	bot := visitorRow("click00000000004", 4, "203.0.113.0", now.Add(-time.Minute))
	bot.Bot = true
	rows := []event.Enriched{
		// Two visitors behind one truncated address, with different hashes.
		visitorRow("click00000000001", 1, "203.0.113.0", now.Add(-10*time.Minute)),
		visitorRow("click00000000002", 1, "203.0.113.0", now.Add(-5*time.Minute)),
		visitorRow("click00000000007", 7, "203.0.113.0", now.Add(-4*time.Minute)),
		visitorRow("click00000000003", 3, "203.0.113.0", now.Add(-3*time.Hour)),
		bot,
		visitorRow("click00000000005", 5, "203.0.113.0", now.Add(-time.Minute)),
		// A row stored before visitor_hash existed reads 0.
		visitorRow("click00000000006", 0, "198.51.100.7", now.Add(-2*time.Minute)),
	}
	src := Source{Topic: "hits", Partition: 1, FirstOffset: 100, LastOffset: 106, Offsets: []int64{100, 101, 102, 103, 104, 106, 105}}
	require.NoError(t, c.InsertInteractions(ctx, rows, src))

	visitors, err := c.RecentVisitors(ctx, 1, 106, now.Add(-time.Hour), 10)
	require.NoError(t, err)

	require.Len(t, visitors, 3, "old, bot and later-offset rows are left out: %+v", visitors)
	legacy := visitors[0]
	assert.Equal(t, uint64(0), legacy.Hash)
	assert.Equal(t, "198.51.100.7", legacy.IP, "a row without hash returns its stored address")
	assert.Equal(t, "Mozilla/5.0", legacy.UA)
	assert.Equal(t, "click00000000006", legacy.ClickID)

	assert.Equal(t, uint64(7), visitors[1].Hash)
	assert.Equal(t, "click00000000007", visitors[1].ClickID)

	latest := visitors[2]
	assert.Equal(t, uint64(1), latest.Hash)
	assert.Empty(t, latest.IP, "a row with hash returns no address")
	assert.Empty(t, latest.UA)
	assert.Equal(t, "link_a", latest.ResourceID)
	assert.True(t, now.Add(-5*time.Minute).Equal(latest.Last), "last: %s", latest.Last)
	assert.Equal(t, "click00000000002", latest.ClickID, "the click id of the latest interaction")

	other, err := c.RecentVisitors(ctx, 2, 1000, now.Add(-time.Hour), 10)
	require.NoError(t, err)
	assert.Empty(t, other)
}

// createTableWithout creates table spec in the database of c as a release
// without the named columns created it.
func createTableWithout(t *testing.T, c *Client, spec *tableSpec, names ...string) {
	t.Helper()
	old := *spec
	old.columns = slices.DeleteFunc(slices.Clone(spec.columns), func(col column) bool { return slices.Contains(names, col.name) })
	ctx := context.Background()
	require.NoError(t, c.conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+c.cfg.Database))
	require.NoError(t, c.conn.Exec(ctx, old.createSQL(c.cfg.Database, c.version, c.ddlOptions(spec))))
}

// insertLegacyVisit inserts a counted interaction of link_a with the
// columns a release without visitor_hash wrote, all others left to their
// defaults. It sends a native batch, because an INSERT with its VALUES in
// the query text timed out through conn.Exec on 18.16.
func insertLegacyVisit(t *testing.T, c *Client, clickID, ip string, at time.Time, offset int64) {
	t.Helper()
	columns := []string{"timestamp", "click_id", "ip", "ua", "resource_type", "resource_id", "project_id", "kafka_partition", "kafka_offset"}
	values := []any{at, clickID, ip, "Mozilla/5.0", "link", "link_a", "p", int32(0), offset}
	if c.isSplitTime(TableInteractions) {
		columns = slices.Insert(columns, 1, "timestamp_ms")
		values = slices.Insert(values, 1, any(uint16(at.Nanosecond()/int(time.Millisecond))))
		values[0] = at.Truncate(time.Second)
	}

	ctx := context.Background()
	batch, err := c.conn.PrepareBatch(ctx, fmt.Sprintf("INSERT INTO %s (%s)", c.table(TableInteractions), strings.Join(columns, ", ")))
	require.NoError(t, err)
	require.NoError(t, batch.Append(values...))
	require.NoError(t, batch.Send())
}

func TestMigrateAddsVisitorHash(t *testing.T) {
	database := "clickstream_test_" + randomSuffix(t)
	setup := openTestClient(t, database)
	createTableWithout(t, setup, &interactionsSpec, "visitor_hash")
	now := time.Now().UTC().Truncate(time.Millisecond)
	insertLegacyVisit(t, setup, "legacy0000000001", "198.51.100.7", now.Add(-2*time.Minute), 0)

	core, logs := observer.New(zap.InfoLevel)
	c := openTestClientWithLog(t, database, zap.New(core))
	ctx := context.Background()
	rows := []event.Enriched{visitorRow("new0000000000001", 99, "203.0.113.0", now.Add(-time.Minute))}
	src := Source{Topic: "hits", Partition: 0, FirstOffset: 1, LastOffset: 1}
	err := c.InsertInteractions(ctx, rows, src)
	assert.ErrorContains(t, err, "visitor_hash", "inserts fail until Migrate adds the column")
	_, err = c.RecentVisitors(ctx, 0, 2, now.Add(-time.Hour), 10)
	assert.ErrorContains(t, err, "visitor_hash")

	require.NoError(t, c.Migrate(ctx))
	require.NoError(t, c.Migrate(ctx), "a second Migrate finds the column")

	added := logs.FilterMessageSnippet("added a missing column").All()
	require.Len(t, added, 1)
	assert.Equal(t, "visitor_hash", added[0].ContextMap()["column"])
	assert.Equal(t, c.table(TableInteractions), added[0].ContextMap()["table"])

	var createSQL string
	query := fmt.Sprintf("SELECT create_table_query FROM system.tables WHERE database = '%s' AND name = 'interactions'", database)
	require.NoError(t, c.conn.QueryRow(ctx, query).Scan(&createSQL))
	at := strings.Index(createSQL, "visitor_hash UInt64")
	require.Positive(t, at, createSQL)
	assert.Less(t, strings.Index(createSQL, "duplicate"), at, "added after duplicate, as a new table has it")
	assert.Less(t, at, strings.Index(createSQL, "resource_type"))

	require.NoError(t, c.InsertInteractions(ctx, rows, src), "the insert that failed succeeds after Migrate")

	visitors, err := c.RecentVisitors(ctx, 0, 2, now.Add(-time.Hour), 10)
	require.NoError(t, err)
	require.Len(t, visitors, 2)
	assert.Equal(t, uint64(99), visitors[0].Hash)
	assert.Equal(t, "new0000000000001", visitors[0].ClickID)
	assert.Equal(t, uint64(0), visitors[1].Hash, "the row stored before the column reads 0")
	assert.Equal(t, "198.51.100.7", visitors[1].IP)
	assert.Equal(t, "legacy0000000001", visitors[1].ClickID)
}

func TestMigrateAddsVisitorHashConcurrently(t *testing.T) {
	database := "clickstream_test_" + randomSuffix(t)
	createTableWithout(t, openTestClient(t, database), &interactionsSpec, "visitor_hash")

	clients := migrateConcurrently(t, database)
	n := queryUint64(t, clients[0], fmt.Sprintf(
		"SELECT count() FROM system.columns WHERE database = '%s' AND table = 'interactions' AND name = 'visitor_hash'", database))
	assert.Equal(t, uint64(1), n)
}

func TestMigrateRejectsOtherMissingColumn(t *testing.T) {
	database := "clickstream_test_" + randomSuffix(t)
	createTableWithout(t, openTestClient(t, database), &interactionsSpec, "visitor_hash", "referer_raw")
	c := openTestClient(t, database)

	err := c.Migrate(context.Background())

	require.ErrorIs(t, err, ErrSchemaMismatch)
	assert.ErrorContains(t, err, "lacks columns referer_raw")
}

func TestSummaryOfMissingDatabase(t *testing.T) {
	c := openTestClient(t, "clickstream_test_"+randomSuffix(t))

	_, err := c.Summary(context.Background(), 5)

	require.Error(t, err)
	assert.True(t, IsUnknownDatabase(err), "error %v", err)
	assert.False(t, IsUnknownDatabase(fmt.Errorf("other: %w", ErrInvalidBatch)))
}
