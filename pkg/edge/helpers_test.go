package edge

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"
	"go.uber.org/zap"

	"github.com/clickstream/clickstream/pkg/catalog"
	"github.com/clickstream/clickstream/pkg/event"
)

// testNow is the clock of the test servers: after expiredAt, before future.
var (
	testNow   = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	expiredAt = event.NewTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	future    = event.NewTime(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
)

// testIngestToken is the bearer token of POST /v1/hits on test servers, and
// ingestAuthLine its header line for raw requests.
const (
	testIngestToken = "ingest-token-for-tests"
	ingestAuthLine  = "Authorization: Bearer " + testIngestToken + "\r\n"
)

func strPtr(s string) *string { return &s }

// testCatalog has one resource of every kind the redirect handler treats
// differently, all on go.example.com, and a link on a Unicode domain.
func testCatalog(tb testing.TB) *catalog.Catalog {
	tb.Helper()

	seed := catalog.Seed{
		Links: []event.Link{
			{ID: "link_plain", ProjectID: "proj_1", Domain: "go.example.com", Key: "abc", URL: "https://example.com/landing"},
			{ID: "link_query", ProjectID: "proj_1", Domain: "go.example.com", Key: "utm",
				URL: "https://example.com/shop?utm_source=newsletter&id=7#top"},
			{ID: "link_expired", ProjectID: "proj_1", Domain: "go.example.com", Key: "old",
				URL: "https://example.com/sale", ExpiresAt: &expiredAt, ExpiredURL: strPtr("https://example.com/sale-over")},
			{ID: "link_gone", ProjectID: "proj_1", Domain: "go.example.com", Key: "gone",
				URL: "https://example.com/gone", ExpiresAt: &expiredAt},
			{ID: "link_future", ProjectID: "proj_1", Domain: "go.example.com", Key: "later",
				URL: "https://example.com/later", ExpiresAt: &future, ExpiredURL: strPtr("https://example.com/too-late")},
			{ID: "link_slash", ProjectID: "proj_2", Domain: "go.example.com", Key: "a/b", URL: "https://example.com/ab"},
			{ID: "link_healthz", ProjectID: "proj_2", Domain: "go.example.com", Key: "healthz", URL: "https://example.com/h"},
			{ID: "link_idn", ProjectID: "proj_1", Domain: "Bücher.example", Key: "buch", URL: "https://example.com/buch"},
		},
		QRCodes: []event.QRCode{
			{ID: "qr_menu", ProjectID: "proj_1", Domain: "go.example.com", Key: "menu", URL: "https://example.com/menu"},
		},
		Pages: []event.Page{
			{ID: "page_bio", ProjectID: "proj_1", Domain: "go.example.com", Key: "bio", URL: "https://pages.example.com/bio"},
		},
	}
	cat := catalog.New()
	require.NoError(tb, cat.Load(seed))
	return cat
}

// fakePublisher records published hits. With err set, Publish returns it
// and records nothing.
type fakePublisher struct {
	mu     sync.Mutex
	hits   []event.RawHit
	err    error
	closed bool
}

func (f *fakePublisher) Publish(h event.RawHit) error {
	f.mu.Lock()
	defer f.mu.Unlock()

	if f.err != nil {
		return f.err
	}
	f.hits = append(f.hits, h)
	return nil
}

func (f *fakePublisher) Close(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

func (f *fakePublisher) published() []event.RawHit {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]event.RawHit(nil), f.hits...)
}

type testServer struct {
	*Server
	pub *fakePublisher
	reg *prometheus.Registry
}

// newTestServer builds a server on testCatalog and a fake publisher; edit
// changes the default config first.
func newTestServer(tb testing.TB, edit func(*Config)) *testServer {
	tb.Helper()

	cfg := DefaultConfig()
	cfg.Spool.Dir = tb.TempDir()
	cfg.IngestTokens = []string{testIngestToken}
	if edit != nil {
		edit(&cfg)
	}
	pub := &fakePublisher{}
	reg := prometheus.NewRegistry()
	s, err := New(cfg, testCatalog(tb), pub, zap.NewNop(), reg)
	require.NoError(tb, err)
	s.now = func() time.Time { return testNow }
	return &testServer{Server: s, pub: pub, reg: reg}
}

// do sends a request to the server's fasthttp handler; the host defaults to
// go.example.com, or the Host entry of header.
func (ts *testServer) do(method, target string, header http.Header) *httptest.ResponseRecorder {
	host := "go.example.com"
	if h := header.Get("Host"); h != "" {
		host = h
	}
	return serveRequest(ts.handle, testRequest{method: method, target: target, host: host, header: header})
}

// testRequest is a request that serveRequest builds in memory.
type testRequest struct {
	method, target, host string
	header               http.Header
	// body, when not nil, is the request body of bodySize bytes, or of
	// unknown size (chunked) when bodySize is -1.
	body     io.Reader
	bodySize int
}

// serveRequest runs h on the request from 198.51.100.7 and returns the
// response in a recorder, so that tests read it as a net/http response.
func serveRequest(h fasthttp.RequestHandler, tr testRequest) *httptest.ResponseRecorder {
	var req fasthttp.Request
	req.Header.SetMethod(tr.method)
	req.SetRequestURI(tr.target)
	req.Header.SetHost(tr.host)
	for k, vs := range tr.header {
		if k == "Host" {
			continue
		}
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}

	var ctx fasthttp.RequestCtx
	ctx.Init(&req, &net.TCPAddr{IP: net.ParseIP("198.51.100.7"), Port: 50123}, nil)
	if tr.body != nil {
		ctx.Request.SetBodyStream(tr.body, tr.bodySize)
	}
	// As the edge's server is configured.
	ctx.Response.Header.SetNoDefaultContentType(true)
	h(&ctx)

	rec := httptest.NewRecorder()
	for k, v := range ctx.Response.Header.All() {
		rec.Header().Add(string(k), string(v))
	}
	rec.WriteHeader(ctx.Response.StatusCode())
	_, _ = rec.Body.Write(ctx.Response.Body())
	return rec
}

// metricValue returns the value of a counter or gauge.
func metricValue(tb testing.TB, m prometheus.Metric) float64 {
	tb.Helper()

	var out dto.Metric
	require.NoError(tb, m.Write(&out))
	switch {
	case out.Counter != nil:
		return out.Counter.GetValue()
	case out.Gauge != nil:
		return out.Gauge.GetValue()
	}
	tb.Fatalf("metric %s is not a counter or gauge", m.Desc())
	return 0
}
