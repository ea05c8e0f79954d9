package edge

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clickstream/clickstream/pkg/event"
)

func TestRedirect(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		target   string
		host     string
		status   int
		location string
		// resourceID is the id of the published hit; "" means no hit.
		resourceID string
		qr         bool
	}{
		{name: "link", target: "/abc", status: 302,
			location: "https://example.com/landing", resourceID: "link_plain"},
		{name: "head", method: http.MethodHead, target: "/abc", status: 302,
			location: "https://example.com/landing", resourceID: "link_plain"},
		{name: "host with port and upper case", target: "/abc", host: "GO.Example.com:8080", status: 302,
			location: "https://example.com/landing", resourceID: "link_plain"},
		{name: "host with trailing dot", target: "/abc", host: "go.example.com.", status: 302,
			location: "https://example.com/landing", resourceID: "link_plain"},
		{name: "qr=1 is a scan", target: "/abc?qr=1", status: 302,
			location: "https://example.com/landing", resourceID: "link_plain", qr: true},
		{name: "qr=0 is dropped but no scan", target: "/abc?qr=0", status: 302,
			location: "https://example.com/landing", resourceID: "link_plain"},
		{name: "query appended", target: "/abc?ref=tw&x=1", status: 302,
			location: "https://example.com/landing?ref=tw&x=1", resourceID: "link_plain"},
		{name: "qr removed from query", target: "/abc?a=1&qr=1&b=2", status: 302,
			location: "https://example.com/landing?a=1&b=2", resourceID: "link_plain", qr: true},
		{name: "request parameter wins", target: "/utm?utm_source=tv&qr=1", status: 302,
			location: "https://example.com/shop?id=7&utm_source=tv#top", resourceID: "link_query", qr: true},
		{name: "destination query kept", target: "/utm", status: 302,
			location: "https://example.com/shop?utm_source=newsletter&id=7#top", resourceID: "link_query"},
		{name: "qr code is a scan", target: "/menu", status: 302,
			location: "https://example.com/menu", resourceID: "qr_menu", qr: true},
		{name: "page is a view", target: "/bio", status: 302,
			location: "https://pages.example.com/bio", resourceID: "page_bio"},
		{name: "expired with expired url", target: "/old", status: 302,
			location: "https://example.com/sale-over", resourceID: "link_expired"},
		{name: "expires later", target: "/later", status: 302,
			location: "https://example.com/later", resourceID: "link_future"},
		{name: "expired without url", target: "/gone", status: 410},
		{name: "key with slash", target: "/a/b", status: 302,
			location: "https://example.com/ab", resourceID: "link_slash"},
		{name: "unknown key", target: "/nope", status: 404},
		{name: "keys are case-sensitive", target: "/ABC", status: 404},
		{name: "unknown domain", target: "/abc", host: "other.example.com", status: 404},
		{name: "punycode host of a Unicode domain", target: "/buch", host: "xn--bcher-kva.example", status: 302,
			location: "https://example.com/buch", resourceID: "link_idn"},
		{name: "Unicode host", target: "/buch", host: "bücher.example", status: 302,
			location: "https://example.com/buch", resourceID: "link_idn"},
		{name: "Unicode host with port and upper case", target: "/buch", host: "BÜCHER.Example.:8443", status: 302,
			location: "https://example.com/buch", resourceID: "link_idn"},
		{name: "punycode host in upper case", target: "/buch", host: "XN--BCHER-KVA.EXAMPLE", status: 302,
			location: "https://example.com/buch", resourceID: "link_idn"},
		{name: "invalid Unicode host", target: "/buch", host: "b\xfccher.example", status: 404},
		{name: "root", target: "/", status: 404},
		{name: "raw UTF-8 in query escaped", target: "/abc?q=caf\xc3\xa9 au lait", status: 302,
			location: "https://example.com/landing?q=caf%C3%A9%20au%20lait", resourceID: "link_plain"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, nil)
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			header := http.Header{}
			if tt.host != "" {
				header.Set("Host", tt.host)
			}

			rec := ts.do(method, tt.target, header)

			assert.Equal(t, tt.status, rec.Code)
			assert.Equal(t, tt.location, rec.Header().Get("Location"))
			assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
			hits := ts.pub.published()
			if tt.resourceID == "" {
				assert.Empty(t, hits)
				return
			}
			require.Len(t, hits, 1)
			assert.Equal(t, tt.resourceID, hits[0].Resource.ID)
			assert.Equal(t, tt.qr, hits[0].QR)
			assert.Equal(t, method, hits[0].Method)
			assert.Equal(t, tt.location, hits[0].URL)
		})
	}
}

func TestRedirectHitHasASCIIDomain(t *testing.T) {
	ts := newTestServer(t, nil)

	rec := ts.do(http.MethodGet, "/buch", http.Header{"Host": {"bücher.example"}})

	require.Equal(t, http.StatusFound, rec.Code)
	hits := ts.pub.published()
	require.Len(t, hits, 1)
	assert.Equal(t, "xn--bcher-kva.example", hits[0].Resource.Domain)
}

func TestRedirectHitFields(t *testing.T) {
	ts := newTestServer(t, nil)
	header := http.Header{}
	header.Set("User-Agent", "Mozilla/5.0 (test)")
	header.Set("Referer", "https://news.example.org/story")

	rec := ts.do(http.MethodGet, "/abc", header)
	require.Equal(t, http.StatusFound, rec.Code)

	hits := ts.pub.published()
	require.Len(t, hits, 1)
	h := hits[0]
	assert.True(t, event.ValidClickID(h.ClickID), "click id %q", h.ClickID)
	assert.Equal(t, testNow, h.Timestamp.Time)
	assert.Equal(t, "198.51.100.7", h.IP)
	assert.Equal(t, "Mozilla/5.0 (test)", h.UA)
	assert.Equal(t, "https://news.example.org/story", h.Referer)
	assert.Equal(t, event.ResourceRef{Type: event.ResourceLink, ID: "link_plain", ProjectID: "proj_1",
		Domain: "go.example.com", Key: "abc"}, h.Resource)
	require.NoError(t, h.Validate(), "the hit must pass the worker's validation")
}

func TestRedirectClickIDsUnique(t *testing.T) {
	ts := newTestServer(t, nil)
	for range 50 {
		ts.do(http.MethodGet, "/abc", nil)
	}

	seen := map[string]bool{}
	for _, h := range ts.pub.published() {
		assert.False(t, seen[h.ClickID], "repeated click id %s", h.ClickID)
		seen[h.ClickID] = true
	}
	assert.Len(t, seen, 50)
}

func TestRedirectNotFoundBody(t *testing.T) {
	ts := newTestServer(t, nil)

	rec := ts.do(http.MethodGet, "/nope", nil)

	assert.Equal(t, http.StatusNotFound, rec.Code)
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	var body errorBody
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	assert.Equal(t, "short link not found", body.Error)
}

func TestRedirectMetrics(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.do(http.MethodGet, "/abc", nil)
	ts.do(http.MethodGet, "/abc", nil)
	ts.do(http.MethodGet, "/nope", nil)
	ts.do(http.MethodGet, "/gone", nil)

	assert.Equal(t, 2.0, metricValue(t, ts.m.redirects.WithLabelValues("302")))
	assert.Equal(t, 1.0, metricValue(t, ts.m.redirects.WithLabelValues("404")))
	assert.Equal(t, 1.0, metricValue(t, ts.m.redirects.WithLabelValues("410")))
}

func TestRedirectPublisherError(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.pub.err = ErrDropped

	rec := ts.do(http.MethodGet, "/abc", nil)

	assert.Equal(t, http.StatusFound, rec.Code, "a lost hit must not fail the redirect")
	assert.Equal(t, 1.0, metricValue(t, ts.m.publisherRejected))
}

func TestFixedRoutesShadowKeys(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.ServeMetrics = true })
	ts.do(http.MethodGet, "/abc", nil)

	rec := ts.do(http.MethodGet, "/healthz", nil)
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "ok\n", rec.Body.String())

	rec = ts.do(http.MethodGet, "/metrics", nil)
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), "clickstream_edge_redirects_total")
}

func TestMetricsOffTheListenerByDefault(t *testing.T) {
	ts := newTestServer(t, nil)

	rec := ts.do(http.MethodGet, "/metrics", nil)

	assert.Equal(t, http.StatusNotFound, rec.Code)
	assert.NotContains(t, rec.Body.String(), "clickstream_edge_redirects_total")
}

func TestRedirectMethodNotAllowed(t *testing.T) {
	ts := newTestServer(t, nil)

	rec := ts.do(http.MethodPost, "/abc", nil)

	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	assert.Empty(t, ts.pub.published())
}

func TestSplitQRParam(t *testing.T) {
	tests := []struct {
		raw  string
		scan bool
		rest string
	}{
		{"", false, ""},
		{"a=1", false, "a=1"},
		{"qr=1", true, ""},
		{"qr=true", true, ""},
		{"qr=TRUE", true, ""},
		{"qr=yes", false, ""},
		{"qr", false, ""},
		{"q%72=1", true, ""},
		{"qrcode=1&qr=1", true, "qrcode=1"},
		{"a=qr&b=2", false, "a=qr&b=2"},
		{"qr=1&qr=0", true, ""},
	}
	for _, tt := range tests {
		scan, rest := splitQRParam(tt.raw)
		assert.Equal(t, tt.scan, scan, "scan of %q", tt.raw)
		assert.Equal(t, tt.rest, rest, "rest of %q", tt.raw)
	}
}

func TestEscapeQuery(t *testing.T) {
	tests := []struct {
		raw, want string
	}{
		{"", ""},
		{"a=1&b=x+y", "a=1&b=x+y"},
		{"a=%C3%A9", "a=%C3%A9"},
		{"q=caf\xc3\xa9", "q=caf%C3%A9"},
		{"q=a b", "q=a%20b"},
		{"q=<script>", "q=%3Cscript%3E"},
		{"q=\x00\x7f\t", "q=%00%7F%09"},
		{"q=\"|{}^`\\", "q=%22%7C%7B%7D%5E%60%5C"},
		{"path=/a?b:c@d;e!$'()*,~", "path=/a?b:c@d;e!$'()*,~"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, escapeQuery(tt.raw), "escape %q", tt.raw)
	}
}

func TestMergeQuery(t *testing.T) {
	tests := []struct {
		dest, query, want string
	}{
		{"https://e.com/p", "", "https://e.com/p"},
		{"https://e.com/p", "a=1", "https://e.com/p?a=1"},
		{"https://e.com/p?b=2", "a=1", "https://e.com/p?b=2&a=1"},
		{"https://e.com/p?a=2&b=3", "a=1", "https://e.com/p?b=3&a=1"},
		{"https://e.com/p#frag", "a=1", "https://e.com/p?a=1#frag"},
		{"https://e.com/p?", "a=1", "https://e.com/p?a=1"},
		{"https://e.com/p?a%20b=1", "a+b=2", "https://e.com/p?a+b=2"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, mergeQuery(tt.dest, tt.query), "merge %q into %q", tt.query, tt.dest)
	}
}
