//go:build integration

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	chdriver "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"golang.org/x/sync/errgroup"

	"github.com/clickstream/clickstream/enrich"
	"github.com/clickstream/clickstream/pkg/catalog"
	"github.com/clickstream/clickstream/pkg/event"
	"github.com/clickstream/clickstream/pkg/kafka"
	"github.com/clickstream/clickstream/pkg/kafka/kafkatest"
	"github.com/clickstream/clickstream/pkg/receiver"
	"github.com/clickstream/clickstream/pkg/subscription"
	"github.com/clickstream/clickstream/pkg/worker"
)

// The resources of configs/catalog.yaml the tests use.
const (
	linkID         = "cm0faqkyn0001txvfwjfeq7gl" // codeqr.link/79ys3WA, subscribed
	unscopedLinkID = "cm0b87844000dismqhkviju54" // codeqr.link/sOvvXDT, no webhook
	qrcodeID       = "cm0pie2xy0007zayvaghkb7d6" // expol.ink/rXUSTPx1tic3-qr
	pageID         = "cm0snvcxr002jp80474b2dckg" // expol.ink/p/pHs20VCe8V
)

const chromeMac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/127.0.0.0 Safari/537.36"

func clickHouseAddr() string {
	if a := os.Getenv("CLICKSTREAM_TEST_CLICKHOUSE_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:9000"
}

// pipeline is a running edge, worker and dispatcher on the real broker and
// server, with a receiver for the webhooks.
type pipeline struct {
	rt       *runtime
	db       chdriver.Conn
	edgeURL  string
	receiver *receiver.Receiver
	cancel   context.CancelFunc
	done     chan error
}

// newRuntime builds a runtime with fresh topics, a fresh database and
// webhooks that point at a local receiver.
func newRuntime(t *testing.T, partitions int) (*runtime, *receiver.Receiver) {
	t.Helper()
	kcfg := kafkatest.Real(t, partitions)

	cfg := defaultConfig()
	cfg.Kafka = kcfg
	cfg.Metrics.Listen = ""
	cfg.ClickHouse.Addr = []string{clickHouseAddr()}
	cfg.ClickHouse.Database = "e2e_" + kafkatest.RandomSuffix()
	cfg.Enrich.GeoIP.City = filepath.Join("..", "..", "testdata", "geoip", "GeoIP2-City-Test.mmdb")
	cfg.Edge.Listen = "127.0.0.1:0"
	cfg.Edge.TrustedProxies = []string{"127.0.0.1/32"}
	cfg.Edge.Spool.Dir = t.TempDir()
	cfg.Worker.Group = "workers-" + kafkatest.RandomSuffix()
	cfg.Worker.FlushInterval = 200 * time.Millisecond
	cfg.Dispatcher.Group = "dispatchers-" + kafkatest.RandomSuffix()
	cfg.Dispatcher.AllowCIDRs = []string{"127.0.0.0/8"}
	require.NoError(t, cfg.Validate())

	cat, err := catalog.LoadFile(filepath.Join("..", "..", "configs", "catalog.yaml"))
	require.NoError(t, err)
	hooks := subscription.NewRegistry()
	log := zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel))
	rcv := receiver.New(hooks, 100, log)
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)

	for _, h := range []struct{ id, project, trigger, resource string }{
		{"wh_links", "cm022sis60003ikt1syy7kfhl", event.TypeLinkClicked, linkID},
		{"wh_qr", "cm0bfj5eg000045ruzb5o8tar", event.TypeQRCodeScanned, qrcodeID},
		{"wh_pages", "cm0bfj5eg000045ruzb5o8tar", event.TypePageVisited, pageID},
	} {
		w := subscription.Webhook{ID: h.id, ProjectID: h.project, URL: srv.URL + receiver.PathPrefix + h.id,
			Secrets: []string{subscription.NewSecret()}, Triggers: []string{h.trigger}}
		switch h.trigger {
		case event.TypeLinkClicked:
			w.LinkIDs = []string{h.resource}
		case event.TypeQRCodeScanned:
			w.QRCodeIDs = []string{h.resource}
		default:
			w.PageIDs = []string{h.resource}
		}
		require.NoError(t, hooks.Put(w))
	}

	rt := &runtime{cfg: cfg, log: log, metrics: prometheus.NewRegistry(), catalog: cat, webhooks: hooks}
	return rt, rcv
}

// openDB connects to the test database and drops it when the test ends.
func openDB(t *testing.T, rt *runtime) chdriver.Conn {
	t.Helper()
	conn, err := chdriver.Open(&chdriver.Options{Addr: rt.cfg.ClickHouse.Addr, Auth: chdriver.Auth{Database: "default", Username: "default"}})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+rt.cfg.ClickHouse.Database)
		conn.Close()
	})
	return conn
}

// startPipeline runs the edge, the worker and the dispatcher until stop.
func startPipeline(t *testing.T, rt *runtime, rcv *receiver.Receiver) *pipeline {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &pipeline{rt: rt, receiver: rcv, cancel: cancel, done: make(chan error, 1)}
	p.db = openDB(t, rt)
	rt.metrics = prometheus.NewRegistry()

	ch, err := rt.openClickHouse(ctx, true)
	require.NoError(t, err)
	en, err := rt.newEnricher()
	require.NoError(t, err)
	w, closeWriters, err := rt.newWorker(ch, en)
	require.NoError(t, err)
	d, err := rt.newDispatcher(ch)
	require.NoError(t, err)
	srv, pub, err := rt.newEdge()
	require.NoError(t, err)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p.edgeURL = "http://" + ln.Addr().String()

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return w.Run(gctx) })
	g.Go(func() error { return d.Run(gctx) })
	g.Go(func() error { return srv.Serve(gctx, ln) })
	go func() {
		err := g.Wait()
		closePublisher(rt.log, pub.Close)
		closeWriters()
		en.Close()
		ch.Close()
		p.done <- err
	}()
	t.Cleanup(p.stop)
	return p
}

func (p *pipeline) stop() {
	if p.cancel == nil {
		return
	}
	p.cancel()
	p.cancel = nil
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		panic("pipeline did not stop within 60s")
	}
}

// get sends one short-link request through the edge as a visitor at ip.
func (p *pipeline) get(t *testing.T, method, host, path, ip, ua, referer string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, p.edgeURL+path, nil)
	require.NoError(t, err)
	req.Host = host
	req.Header.Set("X-Forwarded-For", ip)
	req.Header.Set("User-Agent", ua)
	if referer != "" {
		req.Header.Set("Referer", referer)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp
}

func (p *pipeline) count(t *testing.T, query string, args ...any) uint64 {
	t.Helper()
	var n uint64
	q := strings.ReplaceAll(query, "{db}", p.rt.cfg.ClickHouse.Database)
	require.NoError(t, p.db.QueryRow(context.Background(), q, args...).Scan(&n))
	return n
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

type storedRow struct {
	ClickID, Country, City, Device, Browser, OS, Referer, ResourceID string
	Bot, QR                                                          uint8
}

func TestPipelineEdgeToClickHouseAndWebhooks(t *testing.T) {
	rt, rcv := newRuntime(t, 4)
	p := startPipeline(t, rt, rcv)

	requests := []struct {
		host, path, ip, ua, referer string
		wantStatus                  int
	}{
		{"codeqr.link", "/79ys3WA", "81.2.69.142", chromeMac, "https://www.google.com/search?q=x", http.StatusFound},
		{"codeqr.link", "/79ys3WA?qr=1", "81.2.69.160", chromeMac, "", http.StatusFound},
		{"expol.ink", "/rXUSTPx1tic3-qr", "81.2.69.143", chromeMac, "", http.StatusFound},
		{"expol.ink", "/p/pHs20VCe8V", "81.2.69.144", chromeMac, "", http.StatusFound},
		{"codeqr.link", "/sOvvXDT", "81.2.69.145", chromeMac, "", http.StatusFound},
		{"codeqr.link", "/79ys3WA", "66.249.66.1", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "", http.StatusFound},
		{"codeqr.link", "/does-not-exist", "81.2.69.146", chromeMac, "", http.StatusNotFound},
	}
	for _, r := range requests {
		resp := p.get(t, http.MethodGet, r.host, r.path, r.ip, r.ua, r.referer)
		require.Equal(t, r.wantStatus, resp.StatusCode, "%s%s", r.host, r.path)
	}
	first := p.get(t, http.MethodGet, "codeqr.link", "/79ys3WA?utm_source=mail&qr=1", "81.2.69.147", chromeMac, "")
	require.Equal(t, "https://github.com/codeqr-io/codeqr?utm_source=mail", first.Header.Get("Location"), "qr is not forwarded")
	repeat := p.get(t, http.MethodGet, "codeqr.link", "/79ys3WA", "81.2.69.142", chromeMac, "")
	require.Equal(t, http.StatusFound, repeat.StatusCode)

	waitUntil(t, 60*time.Second, "8 interactions in ClickHouse", func() bool {
		return p.count(t, "SELECT count() FROM {db}.interactions") >= 8
	})
	require.Equal(t, uint64(8), p.count(t, "SELECT count() FROM {db}.interactions"), "each hit is stored once")
	require.Equal(t, uint64(8), p.count(t, "SELECT count(DISTINCT click_id) FROM {db}.interactions"))
	require.Equal(t, uint64(1), p.count(t, "SELECT count() FROM {db}.interactions WHERE duplicate = 1"),
		"the second visit of 81.2.69.142 within the window is stored as a repeat")

	rows := map[string]storedRow{}
	q := fmt.Sprintf("SELECT ip, click_id, country, city, device, browser, os, referer, resource_id, toUInt8(bot), toUInt8(qr) FROM %s.interactions", rt.cfg.ClickHouse.Database)
	res, err := p.db.Query(context.Background(), q+" WHERE duplicate = 0")
	require.NoError(t, err)
	for res.Next() {
		var ip string
		var r storedRow
		require.NoError(t, res.Scan(&ip, &r.ClickID, &r.Country, &r.City, &r.Device, &r.Browser, &r.OS, &r.Referer, &r.ResourceID, &r.Bot, &r.QR))
		rows[ip] = r
	}
	require.NoError(t, res.Err())
	require.Len(t, rows, 7)

	require.Equal(t, uint8(1), rows["66.249.66.1"].Bot)
	google := rows["81.2.69.142"]
	require.Equal(t, "GB", google.Country)
	require.Equal(t, "London", google.City)
	require.Equal(t, "Desktop", google.Device)
	require.Equal(t, "Chrome", google.Browser)
	require.Equal(t, "Mac OS", google.OS)
	require.Equal(t, "google.com", google.Referer)
	require.Equal(t, uint8(0), google.Bot)
	require.Equal(t, uint8(0), google.QR)
	require.Equal(t, "(direct)", rows["81.2.69.160"].Referer)
	require.Equal(t, uint8(1), rows["81.2.69.160"].QR, "?qr=1 marks a click as a scan of the link's QR code")
	require.Equal(t, uint8(1), rows["81.2.69.143"].QR, "a QR code's own short link is a scan")
	require.Equal(t, qrcodeID, rows["81.2.69.143"].ResourceID)
	require.Equal(t, pageID, rows["81.2.69.144"].ResourceID)
	require.Equal(t, uint8(0), rows["81.2.69.144"].QR)

	waitUntil(t, 30*time.Second, "5 verified deliveries", func() bool { return rcv.Stats().Verified >= 5 })
	time.Sleep(time.Second)
	stats := rcv.Stats()
	require.Equal(t, 0, stats.BadSignature)
	require.Equal(t, 5, stats.Verified, "three counted link clicks, one scan, one view; the bot, the repeat and the unscoped link fire nothing")
	require.Equal(t, 3, stats.ByEvent[event.TypeLinkClicked])
	require.Equal(t, 1, stats.ByEvent[event.TypeQRCodeScanned])
	require.Equal(t, 1, stats.ByEvent[event.TypePageVisited])

	for _, raw := range rcv.Payloads() {
		var env event.Envelope
		require.NoError(t, json.Unmarshal(raw, &env))
		require.False(t, env.Data.Interaction.Bot)
		if env.Data.Link != nil {
			require.Equal(t, linkID, env.Data.Link.ID)
			require.NotEqual(t, unscopedLinkID, env.Data.Link.ID)
		}
	}
}

func TestPipelineMalformedHitGoesToDLQ(t *testing.T) {
	rt, rcv := newRuntime(t, 2)
	p := startPipeline(t, rt, rcv)
	k := rt.cfg.Kafka

	valid := event.RawHit{
		ClickID: event.NewClickID(), Timestamp: event.NewTime(time.Now()), Method: "GET", IP: "81.2.69.142",
		UA: chromeMac, URL: "https://github.com/stack-auth/stack",
		Resource: event.ResourceRef{Type: event.ResourceLink, ID: unscopedLinkID, ProjectID: "cm022sis60003ikt1syy7kfhl", Domain: "codeqr.link", Key: "sOvvXDT"},
	}
	validJSON, err := json.Marshal(valid)
	require.NoError(t, err)
	garbage := []byte("{not json")
	// Near the broker's default limit of 1 MB, so that the record and the
	// dead-letter headers together would not fit.
	huge := []byte(`{"ua":"` + strings.Repeat("a", 1_040_000) + `"}`)

	w := kafka.NewWriter(k, k.Topics.Hits, kafka.WriterOptions{}, rt.log)
	defer w.Close()
	require.NoError(t, w.WriteMessages(context.Background(),
		kafkago.Message{Key: []byte(unscopedLinkID), Value: garbage},
		kafkago.Message{Key: []byte(unscopedLinkID), Value: huge},
		kafkago.Message{Key: []byte(unscopedLinkID), Value: validJSON}))

	waitUntil(t, 60*time.Second, "the valid hit after the malformed one", func() bool {
		return p.count(t, "SELECT count() FROM {db}.interactions WHERE click_id = ?", valid.ClickID) == 1
	})

	dead := kafkatest.ReadAll(t, k, k.Topics.DLQ, 2, 30*time.Second)
	require.Len(t, dead, 2)
	reasonOf := func(m kafkago.Message) string {
		for _, h := range m.Headers {
			if h.Key == worker.HeaderDLQReason {
				return string(h.Value)
			}
		}
		return ""
	}
	require.Equal(t, garbage, dead[0].Value, "the dead letter carries the raw bytes")
	require.Contains(t, reasonOf(dead[0]), "decoding JSON")
	require.Equal(t, huge[:worker.MaxDeadLetterBytes], dead[1].Value, "a huge record is cut")
	require.Contains(t, reasonOf(dead[1]), fmt.Sprintf("(record of %d bytes, the first %d kept)", len(huge), worker.MaxDeadLetterBytes))
	require.Equal(t, uint64(2), p.count(t, "SELECT count() FROM {db}.dead_letters"))
}

func TestPipelineWorkerRestartLosesNothing(t *testing.T) {
	rt, rcv := newRuntime(t, 4)
	rt.cfg.Worker.BatchSize = 100
	k := rt.cfg.Kafka

	const total = 3000
	ids := make(map[string]bool, total)
	msgs := make([]kafkago.Message, 0, total)
	for i := range total {
		link := event.ResourceRef{Type: event.ResourceLink, ID: fmt.Sprintf("link_%d", i%50), ProjectID: "proj", Domain: "d.example", Key: fmt.Sprint(i % 50)}
		h := event.RawHit{ClickID: event.NewClickID(), Timestamp: event.NewTime(time.Now()), Method: "GET",
			IP: fmt.Sprintf("81.2.%d.%d", i/250, i%250), UA: chromeMac, URL: "https://example.com/", Resource: link}
		ids[h.ClickID] = true
		b, err := json.Marshal(h)
		require.NoError(t, err)
		msgs = append(msgs, kafkago.Message{Key: []byte(link.ID), Value: b})
	}
	w := kafka.NewWriter(k, k.Topics.Hits, kafka.WriterOptions{}, rt.log)
	require.NoError(t, w.WriteMessages(context.Background(), msgs...))
	w.Close()

	p := startPipeline(t, rt, rcv)
	waitUntil(t, 60*time.Second, "a third of the hits", func() bool {
		return p.count(t, "SELECT count(DISTINCT click_id) FROM {db}.interactions") >= total/3
	})
	p.stop()
	stoppedAt := p.count(t, "SELECT count(DISTINCT click_id) FROM {db}.interactions")
	t.Logf("worker stopped with %d of %d hits stored", stoppedAt, total)

	again := startPipeline(t, rt, rcv)
	waitUntil(t, 90*time.Second, "every hit", func() bool {
		return again.count(t, "SELECT count(DISTINCT click_id) FROM {db}.interactions") >= total
	})
	require.Equal(t, uint64(total), again.count(t, "SELECT count(DISTINCT click_id) FROM {db}.interactions"))

	res, err := again.db.Query(context.Background(), fmt.Sprintf("SELECT DISTINCT click_id FROM %s.interactions", rt.cfg.ClickHouse.Database))
	require.NoError(t, err)
	for res.Next() {
		var id string
		require.NoError(t, res.Scan(&id))
		require.True(t, ids[id], "unexpected click id %s", id)
		delete(ids, id)
	}
	require.Empty(t, ids, "hits missing after the restart")
}

// TestPipelineRestartKeepsWindowWithPrivacy stores a visit with
// enrich.privacy.ip truncate and a worker.visitorHashKey, and restarts the
// worker. The same visitor's
// next hit must be stored as a repeat and fire no webhook, and another
// visitor behind the same truncated address must count.
func TestPipelineRestartKeepsWindowWithPrivacy(t *testing.T) {
	rt, rcv := newRuntime(t, 1)
	rt.cfg.Enrich.Privacy.IP = enrich.IPTruncate
	rt.cfg.Worker.VisitorHashKey = "integration-visitor-key"
	p := startPipeline(t, rt, rcv)

	first := p.get(t, http.MethodGet, "codeqr.link", "/79ys3WA", "81.2.69.142", chromeMac, "")
	require.Equal(t, http.StatusFound, first.StatusCode)
	waitUntil(t, 60*time.Second, "the first visit in ClickHouse", func() bool {
		return p.count(t, "SELECT count() FROM {db}.interactions") >= 1
	})
	require.Equal(t, uint64(1), p.count(t, "SELECT count() FROM {db}.interactions WHERE ip = '81.2.69.0' AND visitor_hash != 0"),
		"the address is stored truncated, next to the visitor hash")
	waitUntil(t, 30*time.Second, "the first delivery", func() bool { return rcv.Stats().Verified >= 1 })
	p.stop()

	again := startPipeline(t, rt, rcv)
	repeat := again.get(t, http.MethodGet, "codeqr.link", "/79ys3WA", "81.2.69.142", chromeMac, "")
	require.Equal(t, http.StatusFound, repeat.StatusCode)
	other := again.get(t, http.MethodGet, "codeqr.link", "/79ys3WA", "81.2.69.143", chromeMac, "")
	require.Equal(t, http.StatusFound, other.StatusCode)
	waitUntil(t, 60*time.Second, "3 interactions in ClickHouse", func() bool {
		return again.count(t, "SELECT count() FROM {db}.interactions") >= 3
	})
	require.Equal(t, uint64(1), again.count(t, "SELECT count() FROM {db}.interactions WHERE duplicate = 1"),
		"the visitor's hit after the restart is a repeat")
	require.Equal(t, uint64(3), again.count(t, "SELECT count() FROM {db}.interactions WHERE ip = '81.2.69.0'"))

	waitUntil(t, 30*time.Second, "2 verified deliveries", func() bool { return rcv.Stats().Verified >= 2 })
	time.Sleep(time.Second)
	require.Equal(t, 2, rcv.Stats().Verified, "the first visit and the other visitor fire, the repeat does not")
}

// TestEnrichCommandMatchesWorker feeds the raw hits the edge published to the
// code of `clickstream enrich` and compares its output with what the worker
// stored for the same click ids.
func TestEnrichCommandMatchesWorker(t *testing.T) {
	rt, rcv := newRuntime(t, 2)
	p := startPipeline(t, rt, rcv)

	agents := []string{
		chromeMac,
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		"curl/8.5.0",
		"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
	}
	for i, ua := range agents {
		resp := p.get(t, http.MethodGet, "codeqr.link", "/sOvvXDT", fmt.Sprintf("81.2.69.%d", 150+i), ua, "https://www.bing.com/")
		require.Equal(t, http.StatusFound, resp.StatusCode)
	}
	waitUntil(t, 60*time.Second, "every hit stored", func() bool {
		return p.count(t, "SELECT count() FROM {db}.interactions") >= uint64(len(agents))
	})

	k := rt.cfg.Kafka
	raw := kafkatest.ReadAll(t, k, k.Topics.Hits, len(agents), 30*time.Second)
	require.Len(t, raw, len(agents))
	var input strings.Builder
	for _, m := range raw {
		input.Write(m.Value)
		input.WriteByte('\n')
	}

	en, err := rt.newEnricherWith(prometheus.NewRegistry())
	require.NoError(t, err)
	defer en.Close()
	var out, errOut strings.Builder
	require.NoError(t, enrichStream(strings.NewReader(input.String()), &out, &errOut, en, false))
	require.Empty(t, errOut.String())

	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, len(agents))
	for _, line := range lines {
		var in event.Interaction
		require.NoError(t, json.Unmarshal([]byte(line), &in))

		var stored storedRow
		var ua string
		q := fmt.Sprintf("SELECT country, city, device, browser, os, referer, toUInt8(bot), toUInt8(qr), ua FROM %s.interactions WHERE click_id = ?", rt.cfg.ClickHouse.Database)
		require.NoError(t, p.db.QueryRow(context.Background(), q, in.ClickID).Scan(
			&stored.Country, &stored.City, &stored.Device, &stored.Browser, &stored.OS, &stored.Referer, &stored.Bot, &stored.QR, &ua))

		require.Equal(t, stored.Country, in.Country, in.UA)
		require.Equal(t, stored.City, in.City, in.UA)
		require.Equal(t, stored.Device, in.Device, in.UA)
		require.Equal(t, stored.Browser, in.Browser, in.UA)
		require.Equal(t, stored.OS, in.OS, in.UA)
		require.Equal(t, stored.Referer, in.Referer, in.UA)
		require.Equal(t, stored.Bot == 1, in.Bot, in.UA)
		require.Equal(t, stored.QR == 1, in.QR, in.UA)
		require.Equal(t, ua, in.UA)
	}
}
