package edge

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"

	"github.com/clickstream/clickstream/pkg/event"
)

// TestRouterMatchesMux sends each request through the fasthttp handler and
// through the ServeMux alone, by way of serveFallback, and requires the same
// response and the same hit.
func TestRouterMatchesMux(t *testing.T) {
	targets := []string{
		"/abc", "/abc?qr=1", "/utm?utm_source=tv", "/a/b", "/ABC", "/nope", "/gone", "/", "/healthz", "/metrics",
		"/v1/hits", "/a//b", "//abc", "/a/./b", "/a/../abc", "/abc/", "/abc/.", "/..", "/a%2Fb", "/a%20b",
		"/%61bc", "/a%25b", "/healthz/", "/metrics?x=1",
	}
	methods := []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodOptions}
	ts := newTestServer(t, nil)

	for _, method := range methods {
		for _, target := range targets {
			t.Run(method+" "+target, func(t *testing.T) {
				viaRouter, routerHits := serveOnce(ts, ts.handle, method, target)
				viaMux, muxHits := serveOnce(ts, ts.serveFallback, method, target)

				assert.Equal(t, viaMux.Code, viaRouter.Code)
				assert.Equal(t, viaMux.Header(), viaRouter.Header())
				assert.Equal(t, viaMux.Body.String(), viaRouter.Body.String())
				require.Len(t, routerHits, len(muxHits))
				for i := range routerHits {
					routerHits[i].ClickID, muxHits[i].ClickID = "", ""
					assert.Equal(t, muxHits[i], routerHits[i])
				}
			})
		}
	}
}

// serveOnce serves one request with h and returns the response and the
// hits it published.
func serveOnce(ts *testServer, h fasthttp.RequestHandler, method, target string) (*httptest.ResponseRecorder, []event.RawHit) {
	ts.pub.mu.Lock()
	ts.pub.hits = nil
	ts.pub.mu.Unlock()

	rec := serveRequest(h, testRequest{method: method, target: target, host: "go.example.com"})
	return rec, ts.pub.published()
}
