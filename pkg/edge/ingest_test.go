package edge

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clickstream/clickstream/pkg/event"
)

func validHit(clickID string) event.RawHit {
	return event.RawHit{
		ClickID:   clickID,
		Timestamp: event.NewTime(time.Date(2026, 2, 1, 8, 30, 0, 0, time.UTC)),
		Method:    "GET",
		IP:        "203.0.113.50",
		UA:        "Mozilla/5.0",
		URL:       "https://example.com/landing",
		Resource: event.ResourceRef{Type: event.ResourceLink, ID: "link_plain", ProjectID: "proj_1",
			Domain: "go.example.com", Key: "abc"},
	}
}

func hitLine(tb testing.TB, h event.RawHit) string {
	tb.Helper()
	b, err := json.Marshal(h)
	require.NoError(tb, err)
	return string(b)
}

// ingestHeader returns the Authorization header of POST /v1/hits on test
// servers.
func ingestHeader() http.Header {
	return http.Header{"Authorization": {"Bearer " + testIngestToken}}
}

func postHits(ts *testServer, body string) (*httptest.ResponseRecorder, ingestResponse) {
	rec := serveRequest(ts.handle, testRequest{method: http.MethodPost, target: "/v1/hits", host: "edge.internal",
		header: ingestHeader(), body: strings.NewReader(body), bodySize: len(body)})

	var resp ingestResponse
	_ = json.Unmarshal(rec.Body.Bytes(), &resp)
	return rec, resp
}

func TestIngestAccepted(t *testing.T) {
	ts := newTestServer(t, nil)
	body := hitLine(t, validHit("AAAAAAAAAAAAAAA1")) + "\n" +
		hitLine(t, validHit("AAAAAAAAAAAAAAA2")) + "\r\n\n" +
		hitLine(t, validHit("AAAAAAAAAAAAAAA3")) // no final newline

	rec, resp := postHits(ts, body)

	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, 3, resp.Accepted)
	assert.Zero(t, resp.Rejected)
	assert.Empty(t, resp.Errors)
	hits := ts.pub.published()
	require.Len(t, hits, 3)
	assert.Equal(t, "AAAAAAAAAAAAAAA1", hits[0].ClickID, "click ids of other edges are kept")
	assert.Equal(t, validHit("AAAAAAAAAAAAAAA3").Timestamp, hits[2].Timestamp)
}

func TestIngestMixedLines(t *testing.T) {
	ts := newTestServer(t, nil)
	noClickID := validHit("")
	body := strings.Join([]string{
		hitLine(t, validHit("AAAAAAAAAAAAAAA1")),
		hitLine(t, noClickID),
		"{not json",
		hitLine(t, validHit("AAAAAAAAAAAAAAA2")),
	}, "\n")

	rec, resp := postHits(ts, body)

	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, 2, resp.Accepted)
	assert.Equal(t, 2, resp.Rejected)
	require.Len(t, resp.Errors, 2)
	assert.Equal(t, 2, resp.Errors[0].Line)
	assert.Contains(t, resp.Errors[0].Error, "clickId")
	assert.Equal(t, 3, resp.Errors[1].Line)
	assert.Contains(t, resp.Errors[1].Error, "decoding JSON")
	assert.Len(t, ts.pub.published(), 2)
	assert.Equal(t, 2.0, metricValue(t, ts.m.ingestLines.WithLabelValues("rejected")))
}

func TestIngestNothingValid(t *testing.T) {
	for name, body := range map[string]string{
		"empty":   "",
		"blank":   "\n\n  \n",
		"invalid": "{}\n[1,2]\n",
	} {
		t.Run(name, func(t *testing.T) {
			ts := newTestServer(t, nil)

			rec, resp := postHits(ts, body)

			assert.Equal(t, http.StatusBadRequest, rec.Code)
			assert.Zero(t, resp.Accepted)
			assert.Empty(t, ts.pub.published())
		})
	}
}

func TestIngestErrorListCapped(t *testing.T) {
	ts := newTestServer(t, nil)
	body := strings.Repeat("{}\n", 50) + hitLine(t, validHit("AAAAAAAAAAAAAAA1"))

	rec, resp := postHits(ts, body)

	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, 1, resp.Accepted)
	assert.Equal(t, 50, resp.Rejected)
	assert.Len(t, resp.Errors, maxReportedErrors)
}

func TestIngestLineTooLong(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.MaxLineBytes = 2048 })
	long := validHit("AAAAAAAAAAAAAAA1")
	long.Referer = strings.Repeat("r", 2040)
	body := hitLine(t, long) + "\n" + hitLine(t, validHit("AAAAAAAAAAAAAAA2")) + "\n"

	rec, resp := postHits(ts, body)

	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, 1, resp.Accepted)
	require.Len(t, resp.Errors, 1)
	assert.Equal(t, 1, resp.Errors[0].Line)
	assert.Contains(t, resp.Errors[0].Error, "longer than 2048 bytes")
	hits := ts.pub.published()
	require.Len(t, hits, 1)
	assert.Equal(t, "AAAAAAAAAAAAAAA2", hits[0].ClickID)
}

func TestIngestBodyTooLarge(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.MaxBodyBytes = 1000 })
	body := strings.Repeat(hitLine(t, validHit("AAAAAAAAAAAAAAA1"))+"\n", 10)

	t.Run("content length", func(t *testing.T) {
		rec, _ := postHits(ts, body)
		assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	})
	t.Run("chunked", func(t *testing.T) {
		rec := serveRequest(ts.handle, testRequest{method: http.MethodPost, target: "/v1/hits", host: "edge.internal",
			header: ingestHeader(), body: strings.NewReader(body), bodySize: -1})
		assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	})
	assert.Empty(t, ts.pub.published(), "nothing of a rejected body is published")
}

func TestIngestDroppedHits(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.pub.err = fmt.Errorf("%w: the queue and the spool are full", ErrDropped)

	rec, resp := postHits(ts, hitLine(t, validHit("AAAAAAAAAAAAAAA1")))

	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "1", rec.Header().Get("Retry-After"))
	assert.Equal(t, 1, resp.Rejected)
	require.Len(t, resp.Errors, 1)
	assert.Contains(t, resp.Errors[0].Error, "spool are full")
}

func TestIngestConcurrencyLimit(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.MaxIngestRequests = 2 })
	ts.ingestSlots <- struct{}{}
	ts.ingestSlots <- struct{}{}

	rec, _ := postHits(ts, hitLine(t, validHit("AAAAAAAAAAAAAAA1")))

	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "1", rec.Header().Get("Retry-After"))
	assert.Empty(t, ts.pub.published())
}

func TestIngestRequiresToken(t *testing.T) {
	ts := newTestServer(t, nil)
	body := hitLine(t, validHit("AAAAAAAAAAAAAAA1"))
	cases := map[string]http.Header{
		"no header":    nil,
		"wrong token":  {"Authorization": {"Bearer not-the-ingest-token"}},
		"basic scheme": {"Authorization": {"Basic " + testIngestToken}},
		"no space":     {"Authorization": {"Bearer" + testIngestToken}},
	}
	for name, header := range cases {
		t.Run(name, func(t *testing.T) {
			rec := serveRequest(ts.handle, testRequest{method: http.MethodPost, target: "/v1/hits", host: "edge.internal",
				header: header, body: strings.NewReader(body), bodySize: len(body)})

			assert.Equal(t, http.StatusUnauthorized, rec.Code)
			assert.Equal(t, "Bearer", rec.Header().Get("WWW-Authenticate"))
			assert.Contains(t, rec.Body.String(), "missing or invalid bearer token")
		})
	}
	assert.Empty(t, ts.pub.published())
}

func TestIngestBearerSchemeAnyCase(t *testing.T) {
	ts := newTestServer(t, nil)
	// RFC 9110 separates the scheme from the token by one or more spaces.
	for i, prefix := range []string{"bearer ", "BEARER ", "bEaReR ", "Bearer   "} {
		t.Run(prefix, func(t *testing.T) {
			body := hitLine(t, validHit(fmt.Sprintf("AAAAAAAAAAAAAAA%d", i)))
			header := http.Header{"Authorization": {prefix + testIngestToken}}
			rec := serveRequest(ts.handle, testRequest{method: http.MethodPost, target: "/v1/hits", host: "edge.internal",
				header: header, body: strings.NewReader(body), bodySize: len(body)})

			assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		})
	}
	assert.Len(t, ts.pub.published(), 4)
}

func TestIngestRejectsEncodedBody(t *testing.T) {
	ts := newTestServer(t, nil)
	body := "\x1f\x8b\x08\x00"
	header := ingestHeader()
	header.Set("Content-Encoding", "gzip")

	rec := serveRequest(ts.handle, testRequest{method: http.MethodPost, target: "/v1/hits", host: "edge.internal",
		header: header, body: strings.NewReader(body), bodySize: len(body)})

	assert.Equal(t, http.StatusUnsupportedMediaType, rec.Code)
	assert.Contains(t, rec.Body.String(), `Content-Encoding \"gzip\" is not supported`)
}

func TestIngestOffWithoutTokens(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.IngestTokens = nil })

	rec, _ := postHits(ts, hitLine(t, validHit("AAAAAAAAAAAAAAA1")))

	assert.Equal(t, http.StatusForbidden, rec.Code)
	assert.Contains(t, rec.Body.String(), "edge.ingestTokens")
	assert.Empty(t, ts.pub.published())
}

func TestIngestChecksCatalogAndClock(t *testing.T) {
	ts := newTestServer(t, nil)
	unknown := validHit("AAAAAAAAAAAAAAA1")
	unknown.Resource.ID = "link_nowhere"
	otherProject := validHit("AAAAAAAAAAAAAAA2")
	otherProject.Resource.ProjectID = "proj_2"
	wrongType := validHit("AAAAAAAAAAAAAAA3")
	wrongType.Resource.Type = event.ResourcePage
	future := validHit("AAAAAAAAAAAAAAA4")
	future.Timestamp = event.NewTime(testNow.Add(time.Hour))
	nearFuture := validHit("AAAAAAAAAAAAAAA5")
	nearFuture.Timestamp = event.NewTime(testNow.Add(time.Minute))
	otherKey := validHit("AAAAAAAAAAAAAAA6")
	otherKey.Resource.Domain, otherKey.Resource.Key = "evil.example", "other"
	body := strings.Join([]string{hitLine(t, unknown), hitLine(t, otherProject), hitLine(t, wrongType),
		hitLine(t, future), hitLine(t, nearFuture), hitLine(t, otherKey)}, "\n")

	rec, resp := postHits(ts, body)

	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, 1, resp.Accepted)
	require.Len(t, resp.Errors, 5)
	assert.Contains(t, resp.Errors[0].Error, `resource.id "link_nowhere" is not in this edge's catalog`)
	assert.Contains(t, resp.Errors[1].Error, `resource.projectId "proj_2" does not match the catalog's "proj_1"`)
	assert.Contains(t, resp.Errors[2].Error, `resource.type "page" does not match the catalog's "link"`)
	assert.Contains(t, resp.Errors[3].Error, "more than 10m0s ahead of this edge's clock")
	assert.Contains(t, resp.Errors[4].Error, `"evil.example/other" do not match the catalog's "go.example.com/abc"`)
	require.Len(t, ts.pub.published(), 1)
	assert.Equal(t, "AAAAAAAAAAAAAAA5", ts.pub.published()[0].ClickID)
}

func TestIngestDomainInAnyForm(t *testing.T) {
	ts := newTestServer(t, nil)
	var lines []string
	for i, domain := range []string{"GO.Example.com", "Bücher.example", "xn--bcher-kva.example"} {
		h := validHit(fmt.Sprintf("AAAAAAAAAAAAAAA%d", i))
		if i > 0 {
			h.Resource.ID, h.Resource.Key = "link_idn", "buch"
		}
		h.Resource.Domain = domain
		lines = append(lines, hitLine(t, h))
	}

	rec, resp := postHits(ts, strings.Join(lines, "\n"))

	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, 3, resp.Accepted, resp.Errors)
	hits := ts.pub.published()
	require.Len(t, hits, 3)
	assert.Equal(t, "go.example.com", hits[0].Resource.Domain)
	assert.Equal(t, "xn--bcher-kva.example", hits[1].Resource.Domain)
	assert.Equal(t, "xn--bcher-kva.example", hits[2].Resource.Domain)
}
