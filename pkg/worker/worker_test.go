package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/clickstream/clickstream/enrich"
	"github.com/clickstream/clickstream/internal/lru"
	"github.com/clickstream/clickstream/pkg/catalog"
	"github.com/clickstream/clickstream/pkg/event"
	"github.com/clickstream/clickstream/pkg/kafka"
	"github.com/clickstream/clickstream/pkg/kafka/kafkatest"
	"github.com/clickstream/clickstream/pkg/subscription"
)

// memStore is a Store that keeps rows in memory, keyed by click id so that a
// repeated insert converges as it does in ClickHouse.
type memStore struct {
	mu       sync.Mutex
	rows     map[string]event.Enriched
	offsets  map[string]storedAt
	inserts  int
	dead     []DeadLetter
	failNext int
}

// storedAt is where a stored row came from.
type storedAt struct {
	partition int
	offset    int64
}

func newMemStore() *memStore {
	return &memStore{rows: map[string]event.Enriched{}, offsets: map[string]storedAt{}}
}

func (s *memStore) InsertInteractions(_ context.Context, rows []event.Enriched, src Source) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failNext > 0 {
		s.failNext--
		return fmt.Errorf("store unavailable")
	}
	s.inserts++
	for i, r := range rows {
		s.rows[r.ClickID] = r
		if src.Offsets != nil {
			s.offsets[r.ClickID] = storedAt{partition: src.Partition, offset: src.Offsets[i]}
		}
	}
	return nil
}

func (s *memStore) RecentVisitors(_ context.Context, partition int, before int64, since time.Time, limit int) ([]Visitor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Visitor
	for id, r := range s.rows {
		at, ok := s.offsets[id]
		if !ok || at.partition != partition || at.offset >= before || r.Timestamp.Before(since) || !counted(&r) {
			continue
		}
		out = append(out, Visitor{ResourceID: r.Resource.ID, Hash: r.VisitorHash, IP: r.Interaction.IP, UA: r.UA, Last: r.Timestamp.Time, ClickID: r.ClickID})
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (s *memStore) InsertDeadLetters(_ context.Context, d []DeadLetter) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dead = append(s.dead, d...)
	return nil
}

func (s *memStore) CountsByResource(_ context.Context, ids []string, partition int, before int64) (map[string]ResourceCount, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]ResourceCount{}
	for click, r := range s.rows {
		if at, ok := s.offsets[click]; ok && at.partition == partition && at.offset >= before {
			continue
		}
		for _, id := range ids {
			if r.Resource.ID == id && counted(&r) {
				c := out[id]
				c.Count++
				if r.Timestamp.After(c.Last) {
					c.Last = r.Timestamp.Time
				}
				out[id] = c
			}
		}
	}
	return out, nil
}

func (s *memStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.rows)
}

// uaEnricher marks user agents containing "bot" as bots and copies the rest.
type uaEnricher struct{}

func (uaEnricher) Enrich(h *event.RawHit) event.Enriched {
	e := event.Enriched{Resource: h.Resource, Method: h.Method, RefererRaw: h.Referer}
	e.Interaction = event.Interaction{Timestamp: h.Timestamp, ClickID: h.ClickID, URL: h.URL, IP: h.IP, UA: h.UA, QR: h.QR, Device: "Desktop", Referer: event.DirectReferer}
	if strings.Contains(h.UA, "panic") {
		panic("enricher bug triggered by " + h.ClickID)
	}
	if strings.Contains(h.UA, "bot") {
		e.Bot = true
		e.BotReasons = []string{"crawler"}
	}
	return e
}

var testTopics = kafka.Topics{Hits: "hits", DLQ: "hits.dlq", WebhookEvents: "webhook-events"}

func testHit(resource event.ResourceRef, ua, ip string, at time.Time) event.RawHit {
	return event.RawHit{
		ClickID: event.NewClickID(), Timestamp: event.NewTime(at), Method: "GET", IP: ip, UA: ua,
		URL: "https://example.com/", Resource: resource,
	}
}

func produce(t *testing.T, cfg kafka.Config, values ...[]byte) {
	t.Helper()
	w := kafka.NewWriter(cfg, cfg.Topics.Hits, kafka.WriterOptions{}, zaptest.NewLogger(t))
	defer w.Close()

	msgs := make([]kafkago.Message, len(values))
	for i, v := range values {
		var h event.RawHit
		_ = json.Unmarshal(v, &h)
		msgs[i] = kafkago.Message{Key: []byte(h.Resource.ID), Value: v}
	}
	require.NoError(t, w.WriteMessages(context.Background(), msgs...))
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

type fixture struct {
	cfg      Config
	kafka    kafka.Config
	store    *memStore
	catalog  *catalog.Catalog
	webhooks *subscription.Registry
	link     event.ResourceRef
	other    event.ResourceRef
	// enricher is uaEnricher{} unless a test sets another.
	enricher Enricher
}

func newFixture(t *testing.T, kcfg kafka.Config) *fixture {
	t.Helper()
	f := &fixture{kafka: kcfg, store: newMemStore(), catalog: catalog.New(), webhooks: subscription.NewRegistry(), enricher: uaEnricher{}}
	f.cfg = DefaultConfig()
	f.cfg.Group = "workers-" + kafkatest.RandomSuffix()
	f.cfg.FlushInterval = 100 * time.Millisecond
	f.cfg.RetryMin = 10 * time.Millisecond
	f.cfg.RetryMax = 100 * time.Millisecond
	f.cfg.ShutdownTimeout = 5 * time.Second

	f.link = event.ResourceRef{Type: event.ResourceLink, ID: "link_1", ProjectID: "proj_1", Domain: "go.example", Key: "abc"}
	f.other = event.ResourceRef{Type: event.ResourceLink, ID: "link_2", ProjectID: "proj_1", Domain: "go.example", Key: "other"}
	require.NoError(t, f.catalog.PutLink(event.Link{ID: "link_1", ProjectID: "proj_1", Domain: "go.example", Key: "abc", URL: "https://example.com/", Clicks: 7}))
	require.NoError(t, f.webhooks.Put(subscription.Webhook{
		ID: "wh_1", ProjectID: "proj_1", URL: "https://hooks.example/in", Secrets: []string{subscription.NewSecret()},
		Triggers: []string{event.TypeLinkClicked}, LinkIDs: []string{"link_1"},
	}))
	return f
}

// start runs a worker until the returned stop function is called.
func (f *fixture) start(t *testing.T) (stop func()) {
	t.Helper()
	log := zaptest.NewLogger(t)
	events := kafka.NewWriter(f.kafka, f.kafka.Topics.WebhookEvents, kafka.WriterOptions{}, log)
	dlq := kafka.NewWriter(f.kafka, f.kafka.Topics.DLQ, kafka.WriterOptions{}, log)
	w, err := New(f.cfg, f.kafka, Deps{
		Enricher: f.enricher, Store: f.store, Catalog: f.catalog, Webhooks: f.webhooks,
		Events: events, DLQ: dlq, Log: log,
	})
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	return func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(30 * time.Second):
			t.Fatal("worker did not stop within 30s")
		}
		events.Close()
		dlq.Close()
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestWorkerStoresMatchesAndDeadLetters(t *testing.T) {
	kcfg := kafkatest.Embedded(t, 3, testTopics)
	f := newFixture(t, kcfg)
	now := time.Now()

	human := testHit(f.link, "Mozilla/5.0 human", "203.0.113.7", now)
	repeat := testHit(f.link, "Mozilla/5.0 human", "203.0.113.7", now.Add(time.Minute))
	bot := testHit(f.link, "Googlebot/2.1", "66.249.66.1", now)
	unsubscribed := testHit(f.other, "Mozilla/5.0 human", "203.0.113.8", now)
	malformed := []byte(`{"clickId":"short","resource":{"id":"link_1"}}`)
	after := testHit(f.link, "Mozilla/5.0 other", "203.0.113.9", now.Add(2*time.Minute))

	produce(t, kcfg, mustJSON(t, human), mustJSON(t, repeat), mustJSON(t, bot), mustJSON(t, unsubscribed), malformed, mustJSON(t, after))
	stop := f.start(t)
	defer stop()
	waitFor(t, "5 stored rows and 1 dead letter", func() bool {
		f.store.mu.Lock()
		defer f.store.mu.Unlock()
		return len(f.store.rows) == 5 && len(f.store.dead) == 1
	})

	f.store.mu.Lock()
	require.True(t, f.store.rows[repeat.ClickID].Duplicate, "second visit within the window is a duplicate")
	require.False(t, f.store.rows[human.ClickID].Duplicate)
	require.True(t, f.store.rows[bot.ClickID].Bot)
	require.Len(t, f.store.dead, 1)
	require.Contains(t, f.store.dead[0].Reason, "clickId")
	f.store.mu.Unlock()

	dlq := kafkatest.ReadAll(t, kcfg, kcfg.Topics.DLQ, 1, 10*time.Second)
	require.Len(t, dlq, 1)
	require.Equal(t, malformed, dlq[0].Value)
	require.Contains(t, headerValue(dlq[0], HeaderDLQReason), "clickId must be 16 base62 characters")

	events := kafkatest.ReadAll(t, kcfg, kcfg.Topics.WebhookEvents, 2, 10*time.Second)
	require.Len(t, events, 2, "only the counted hits of the subscribed link fire")
	var clickIDs []string
	for _, m := range events {
		var d event.Delivery
		require.NoError(t, json.Unmarshal(m.Value, &d))
		require.Equal(t, "wh_1", string(m.Key))
		require.Equal(t, event.EventID(d.ClickID, "wh_1", event.TypeLinkClicked), d.EventID)
		clickIDs = append(clickIDs, d.ClickID)
	}
	require.ElementsMatch(t, []string{human.ClickID, after.ClickID}, clickIDs)
}

func TestWorkerCountersIncludeTheFiringClick(t *testing.T) {
	kcfg := kafkatest.Embedded(t, 1, testTopics)
	f := newFixture(t, kcfg)
	first, second := storeThreeAndProduceTwo(t, f, kcfg)
	stop := f.start(t)
	defer stop()

	clicks := deliveredClicks(t, kcfg, 2)
	require.Equal(t, int64(4), clicks[first.ClickID], "3 stored clicks plus the one that fired")
	require.Equal(t, int64(5), clicks[second.ClickID])
}

// storeThreeAndProduceTwo stores three committed clicks of f.link an hour
// old and produces two new clicks of it, which it returns.
func storeThreeAndProduceTwo(t *testing.T, f *fixture, kcfg kafka.Config) (first, second event.RawHit) {
	t.Helper()
	now := time.Now()
	for i := range 3 {
		h := testHit(f.link, "Mozilla/5.0 reader", fmt.Sprintf("198.51.100.%d", i+1), now.Add(-time.Hour))
		f.store.rows[h.ClickID] = uaEnricher{}.Enrich(&h)
	}

	first = testHit(f.link, "Mozilla/5.0 new", "203.0.113.1", now)
	second = testHit(f.link, "Mozilla/5.0 new", "203.0.113.2", now.Add(time.Second))
	produce(t, kcfg, mustJSON(t, first), mustJSON(t, second))
	return first, second
}

// TestWorkerCountersSkipUncommittedRows processes hits that a worker
// stopped between insert and commit had already stored. The restored
// counters must leave those rows out, or the payloads count them twice.
func TestWorkerCountersSkipUncommittedRows(t *testing.T) {
	kcfg := kafkatest.Embedded(t, 1, testTopics)
	f := newFixture(t, kcfg)
	first, second := storeThreeAndProduceTwo(t, f, kcfg)
	stored := []event.Enriched{uaEnricher{}.Enrich(&first), uaEnricher{}.Enrich(&second)}
	src := Source{Topic: kcfg.Topics.Hits, Partition: 0, FirstOffset: 0, LastOffset: 1, Offsets: []int64{0, 1}}
	require.NoError(t, f.store.InsertInteractions(context.Background(), stored, src))

	stop := f.start(t)
	defer stop()

	clicks := deliveredClicks(t, kcfg, 2)
	require.Equal(t, int64(4), clicks[first.ClickID], "3 committed clicks plus the one that fired")
	require.Equal(t, int64(5), clicks[second.ClickID])
}

// deliveredClicks reads want webhook deliveries of link clicks and returns
// the link's clicks counter in each payload by click id.
func deliveredClicks(t *testing.T, kcfg kafka.Config, want int) map[string]int64 {
	t.Helper()
	events := kafkatest.ReadAll(t, kcfg, kcfg.Topics.WebhookEvents, want, 20*time.Second)
	require.Len(t, events, want)
	clicks := map[string]int64{}
	for _, m := range events {
		var d event.Delivery
		require.NoError(t, json.Unmarshal(m.Value, &d))
		var env event.Envelope
		require.NoError(t, json.Unmarshal(d.Payload, &env))
		require.NotNil(t, env.Data.Link)
		require.Equal(t, d.ClickID, env.Data.Interaction.ClickID)
		require.Equal(t, env.Data.Interaction.Timestamp.Time, env.Data.Link.LastClicked.Time)
		clicks[d.ClickID] = env.Data.Link.Clicks
	}
	return clicks
}

func TestWorkerRetriesStoreAndCommitsOnce(t *testing.T) {
	kcfg := kafkatest.Embedded(t, 2, testTopics)
	f := newFixture(t, kcfg)
	f.store.failNext = 3

	var values [][]byte
	for i := range 50 {
		values = append(values, mustJSON(t, testHit(f.other, "Mozilla/5.0", fmt.Sprintf("203.0.113.%d", i), time.Now())))
	}
	produce(t, kcfg, values...)

	stop := f.start(t)
	waitFor(t, "50 stored rows", func() bool { return f.store.count() == 50 })
	stop()

	f.store.mu.Lock()
	inserts := f.store.inserts
	f.store.mu.Unlock()

	restart := f.start(t)
	time.Sleep(2 * time.Second)
	restart()

	f.store.mu.Lock()
	defer f.store.mu.Unlock()
	require.Equal(t, inserts, f.store.inserts, "a restarted worker resumes after the committed offsets")
}

func headerValue(m kafkago.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func TestWorkerDeadLettersAHitThatPanics(t *testing.T) {
	kcfg := kafkatest.Embedded(t, 1, testTopics)
	f := newFixture(t, kcfg)
	poison := testHit(f.other, "Mozilla/5.0 panic", "203.0.113.7", time.Now())
	next := testHit(f.other, "Mozilla/5.0 fine", "203.0.113.8", time.Now())
	produce(t, kcfg, mustJSON(t, poison), mustJSON(t, next))

	stop := f.start(t)
	defer stop()
	waitFor(t, "the hit after the poison one", func() bool {
		f.store.mu.Lock()
		defer f.store.mu.Unlock()
		_, ok := f.store.rows[next.ClickID]
		return ok && len(f.store.dead) == 1
	})

	f.store.mu.Lock()
	defer f.store.mu.Unlock()
	require.Contains(t, f.store.dead[0].Reason, "enrichment failed: panic")
	require.NotContains(t, f.store.rows, poison.ClickID)
}

func TestWorkerRestartKeepsDuplicateWindow(t *testing.T) {
	kcfg := kafkatest.Embedded(t, 1, testTopics)
	f := newFixture(t, kcfg)
	now := time.Now()
	first := testHit(f.link, "Mozilla/5.0 same", "203.0.113.7", now)
	produce(t, kcfg, mustJSON(t, first))

	stop := f.start(t)
	waitFor(t, "the first visit", func() bool { return f.store.count() == 1 })
	stop()

	repeat := testHit(f.link, "Mozilla/5.0 same", "203.0.113.7", now.Add(time.Minute))
	produce(t, kcfg, mustJSON(t, repeat))
	restart := f.start(t)
	defer restart()
	waitFor(t, "the repeat after the restart", func() bool { return f.store.count() == 2 })

	f.store.mu.Lock()
	defer f.store.mu.Unlock()
	require.False(t, f.store.rows[first.ClickID].Duplicate)
	require.True(t, f.store.rows[repeat.ClickID].Duplicate, "the restarted worker restores the window from the store")
}

// privacyEnricher returns the enricher of the enrich package with
// enrich.privacy.ip set to mode and no GeoIP database.
func privacyEnricher(t *testing.T, mode enrich.IPMode) *enrich.Enricher {
	t.Helper()
	cfg := enrich.DefaultConfig()
	cfg.Registerer = prometheus.NewRegistry()
	cfg.Privacy.IP = mode
	en, err := enrich.New(cfg, zaptest.NewLogger(t))
	require.NoError(t, err)
	t.Cleanup(func() { en.Close() })
	return en
}

// deliveredClickIDs returns the click ids of the webhook deliveries on the
// events topic once it holds at least want of them.
func deliveredClickIDs(t *testing.T, kcfg kafka.Config, want int) []string {
	t.Helper()
	var ids []string
	for _, m := range kafkatest.ReadAll(t, kcfg, kcfg.Topics.WebhookEvents, want, 10*time.Second) {
		var d event.Delivery
		require.NoError(t, json.Unmarshal(m.Value, &d))
		ids = append(ids, d.ClickID)
	}
	return ids
}

func TestWorkerRestartKeepsWindowWithPrivacy(t *testing.T) {
	const chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
	cases := []struct {
		mode     enrich.IPMode
		storedIP string
		key      string
		// restored is whether the restarted worker marks the repeat of
		// the first visit as a duplicate.
		restored bool
	}{
		{enrich.IPTruncate, "203.0.113.0", "visitor-hash-key-0123", true},
		{enrich.IPDrop, "", "visitor-hash-key-0123", true},
		// Without a key the hash of a changed address is not stored, so
		// the window is lost with the worker.
		{enrich.IPTruncate, "203.0.113.0", "", false},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s key=%t", tc.mode, tc.key != ""), func(t *testing.T) {
			kcfg := kafkatest.Embedded(t, 1, testTopics)
			f := newFixture(t, kcfg)
			f.enricher = privacyEnricher(t, tc.mode)
			f.cfg.VisitorHashKey = tc.key
			now := time.Now()
			first := testHit(f.link, chrome, "203.0.113.7", now)
			produce(t, kcfg, mustJSON(t, first))

			stop := f.start(t)
			waitFor(t, "the first visit", func() bool { return f.store.count() == 1 })
			stop()

			// The same visitor again, then another visitor whose delivery
			// shows that the batch of the repeat has been processed.
			repeat := testHit(f.link, chrome, "203.0.113.7", now.Add(time.Minute))
			other := testHit(f.link, chrome, "203.0.113.8", now.Add(2*time.Minute))
			produce(t, kcfg, mustJSON(t, repeat), mustJSON(t, other))
			restart := f.start(t)
			defer restart()
			waitFor(t, "the hits after the restart", func() bool { return f.store.count() == 3 })

			f.store.mu.Lock()
			require.Equal(t, tc.storedIP, f.store.rows[first.ClickID].IP, "the stored address is what the privacy setting leaves")
			require.Equal(t, tc.key != "", f.store.rows[first.ClickID].VisitorHash != 0, "the hash of a changed address is stored only with a key")
			require.False(t, f.store.rows[first.ClickID].Duplicate)
			require.Equal(t, tc.restored, f.store.rows[repeat.ClickID].Duplicate, "the restarted worker restores the window")
			require.False(t, f.store.rows[other.ClickID].Duplicate)
			f.store.mu.Unlock()

			want := []string{first.ClickID, other.ClickID}
			if !tc.restored {
				want = append(want, repeat.ClickID)
			}
			require.ElementsMatch(t, want, deliveredClickIDs(t, kcfg, len(want)))
		})
	}
}

func TestWorkerResentClickCountsOnce(t *testing.T) {
	kcfg := kafkatest.Embedded(t, 1, testTopics)
	f := newFixture(t, kcfg)
	now := time.Now()

	// An edge that repeats a produce request sends the same record twice,
	// in one batch or in a later one.
	first := mustJSON(t, testHit(f.link, "Mozilla/5.0 once", "203.0.113.7", now))
	other := testHit(f.link, "Mozilla/5.0 other", "203.0.113.8", now.Add(time.Second))
	produce(t, kcfg, first, first, mustJSON(t, other))
	stop := f.start(t)
	defer stop()
	waitFor(t, "the first batch", func() bool { return f.store.count() == 2 })

	sentinel := testHit(f.link, "Mozilla/5.0 last", "203.0.113.9", now.Add(2*time.Second))
	produce(t, kcfg, first, mustJSON(t, sentinel))
	waitFor(t, "the second batch", func() bool { return f.store.count() == 3 })

	var h event.RawHit
	require.NoError(t, json.Unmarshal(first, &h))
	f.store.mu.Lock()
	require.False(t, f.store.rows[h.ClickID].Duplicate, "a copy of a counted click is stored as the click was")
	f.store.mu.Unlock()

	clicks := deliveredClicks(t, kcfg, 3)
	require.Len(t, clicks, 3, "one delivery per click, none for its copies")
	require.Equal(t, int64(2), clicks[other.ClickID])
	require.Equal(t, int64(3), clicks[sentinel.ClickID])
}

// repeatOf runs p.repeat on hit as decode does.
func repeatOf(p *partition, hit *event.RawHit) visitKind {
	return p.repeat(hit, visitorHash(hit.IP, hit.UA), hit.Timestamp.Time)
}

func TestRepeatTellsResentFromRepeat(t *testing.T) {
	w := &Worker{cfg: DefaultConfig(), deps: Deps{Now: time.Now}}
	p := &partition{w: w, visitors: lru.New[visitorKey, lastVisit](10, 10)}
	ref := event.ResourceRef{Type: event.ResourceLink, ID: "l1", ProjectID: "p"}
	now := time.Now()
	click := testHit(ref, "ua", "203.0.113.1", now)
	again := testHit(ref, "ua", "203.0.113.1", now.Add(time.Minute))

	require.Equal(t, visitNew, repeatOf(p, &click))
	require.Equal(t, visitResent, repeatOf(p, &click))
	require.Equal(t, visitRepeat, repeatOf(p, &again))
	require.Equal(t, visitResent, repeatOf(p, &click), "a repeat does not replace the counted click")
}

func TestRepeatIgnoresTimestampOrder(t *testing.T) {
	w := &Worker{cfg: DefaultConfig(), deps: Deps{Now: time.Now}}
	p := &partition{w: w, visitors: lru.New[visitorKey, lastVisit](10, 10)}
	ref := event.ResourceRef{Type: event.ResourceLink, ID: "l1", ProjectID: "p"}
	now := time.Now()
	later := testHit(ref, "ua", "203.0.113.1", now)
	earlier := testHit(ref, "ua", "203.0.113.1", now.Add(-time.Second))
	farLater := testHit(ref, "ua", "203.0.113.1", now.Add(2*time.Hour))

	require.Equal(t, visitNew, repeatOf(p, &later))
	require.Equal(t, visitRepeat, repeatOf(p, &earlier), "a hit stamped earlier but processed later is still a repeat")
	require.Equal(t, visitNew, repeatOf(p, &farLater))
}
