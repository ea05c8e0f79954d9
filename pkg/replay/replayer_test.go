package replay

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seenRequest is what the test edge recorded of one request.
type seenRequest struct {
	method, host, path, query, forwardedFor, userAgent, referer string
	hasUserAgent                                                bool
}

// recordingEdge responds to every request with a 302 to /followed, or 404 for
// the key "missing". A client that followed redirects would show up as a
// request for /followed.
type recordingEdge struct {
	mu   sync.Mutex
	seen []seenRequest
}

func (e *recordingEdge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, hasUA := r.Header["User-Agent"]
	e.mu.Lock()
	e.seen = append(e.seen, seenRequest{
		method: r.Method, host: r.Host, path: r.URL.Path, query: r.URL.RawQuery,
		forwardedFor: r.Header.Get("X-Forwarded-For"), userAgent: r.UserAgent(),
		referer: r.Referer(), hasUserAgent: hasUA,
	})
	e.mu.Unlock()

	if strings.HasSuffix(r.URL.Path, "/missing") {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Location", "/followed")
	w.WriteHeader(http.StatusFound)
}

func (e *recordingEdge) requests() []seenRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]seenRequest(nil), e.seen...)
}

func startEdge(t *testing.T) (*recordingEdge, string) {
	t.Helper()
	edge := &recordingEdge{}
	srv := httptest.NewServer(edge)
	t.Cleanup(srv.Close)
	return edge, srv.URL
}

func mustTargets(t *testing.T, specs ...string) []Target {
	t.Helper()
	out := make([]Target, len(specs))
	for i, s := range specs {
		target, err := ParseTarget(s)
		require.NoError(t, err)
		out[i] = target
	}
	return out
}

const sampleLog = `83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /a.png HTTP/1.1" 200 203023 "http://semicomplete.com/" "Mozilla/5.0 (Macintosh)"
89.170.74.95 - - [17/May/2015:16:05:27 +0000] "HEAD /projects/xdotool/ HTTP/1.1" 200 - "-" "Mozilla/5.0 (Windows NT 6.1)"
78.173.140.106 - - [19/May/2015:09:05:53 +0000] "POST /trackback/ HTTP/1.1" 404 7861 "http://www.semicomplete.com/" "-"

this line is not a log line
46.118.127.106 - - [20/May/2015:12:05:17 +0000] "GET /configlib.py HTTP/1.1" 200 235 "-" "Mozilla/5.0 (compatible; Googlebot/2.1
192.0.2.1 - - [17/May/2015:10:05:03 +0000] "OPTIONS * HTTP/1.1" 200 0 "-" "ua with \x01 control"
`

func TestReplaySendsEntries(t *testing.T) {
	edge, base := startEdge(t)
	r, err := New(Config{BaseURL: base, Targets: mustTargets(t, "go.example.com/abc"), Concurrency: 2})
	require.NoError(t, err)

	res, err := r.Replay(context.Background(), strings.NewReader(sampleLog))
	require.NoError(t, err)

	assert.Equal(t, 6, res.Lines)
	assert.Equal(t, 1, res.ParseErrors)
	assert.Equal(t, 1, res.Truncated, "the Googlebot line is cut off inside its user agent")
	assert.Equal(t, 5, res.Sent)
	assert.Equal(t, map[int]int{302: 5}, res.ByStatus)
	assert.Zero(t, res.Errors)
	assert.Len(t, res.FirstErrors, 1)

	byIP := map[string]seenRequest{}
	for _, s := range edge.requests() {
		assert.NotEqual(t, "/followed", s.path, "redirects must not be followed")
		byIP[s.forwardedFor] = s
	}
	require.Equal(t, 5, len(byIP))
	assert.Equal(t, "Mozilla/5.0 (compatible; Googlebot/2.1", byIP["46.118.127.106"].userAgent)

	get := byIP["83.149.9.216"]
	assert.Equal(t, http.MethodGet, get.method)
	assert.Equal(t, "go.example.com", get.host)
	assert.Equal(t, "/abc", get.path)
	assert.Equal(t, "Mozilla/5.0 (Macintosh)", get.userAgent)
	assert.Equal(t, "http://semicomplete.com/", get.referer)

	assert.Equal(t, http.MethodHead, byIP["89.170.74.95"].method)
	assert.Empty(t, byIP["89.170.74.95"].referer, "a - referer is not sent")

	post := byIP["78.173.140.106"]
	assert.Equal(t, http.MethodGet, post.method, "methods other than HEAD are sent as GET")
	assert.False(t, post.hasUserAgent, "a - user agent is not sent")

	assert.Equal(t, http.MethodGet, byIP["192.0.2.1"].method)
	assert.Equal(t, "ua with   control", byIP["192.0.2.1"].userAgent, "control bytes become spaces")
}

func TestReplayCountsStatusesAndErrors(t *testing.T) {
	_, base := startEdge(t)
	var log strings.Builder
	for i := range 40 {
		fmt.Fprintf(&log, "192.0.2.%d - - [17/May/2015:10:05:03 +0000] \"GET /p%d HTTP/1.1\" 200 1 \"-\" \"ua\"\n", i, i)
	}
	r, err := New(Config{BaseURL: base, Targets: mustTargets(t, "go.example.com/abc", "go.example.com/missing")})
	require.NoError(t, err)

	res, err := r.Replay(context.Background(), strings.NewReader(log.String()))
	require.NoError(t, err)

	assert.Equal(t, 40, res.Sent)
	assert.Equal(t, 40, res.ByStatus[302]+res.ByStatus[404])
	assert.Positive(t, res.ByStatus[302], "some paths hash to the first target")
	assert.Positive(t, res.ByStatus[404], "some paths hash to the second target")

	// Nothing listens on the edge any more: every request is an error.
	down, err := New(Config{BaseURL: "http://127.0.0.1:1", Targets: mustTargets(t, "go.example.com/abc"),
		Timeout: 2 * time.Second})
	require.NoError(t, err)
	res, err = down.Replay(context.Background(), strings.NewReader(log.String()))
	require.NoError(t, err)
	assert.Equal(t, 40, res.Errors)
	assert.Zero(t, res.Sent)
	assert.Len(t, res.FirstErrors, maxFirstErrors)
}

func TestReplayTargetStable(t *testing.T) {
	targets := mustTargets(t, "a.example/1", "a.example/2", "b.example/3", "b.example/x/y")
	r, err := New(Config{BaseURL: "http://127.0.0.1:8080", Targets: targets, QRFraction: 0.3})
	require.NoError(t, err)

	used := map[Target]int{}
	qr := 0
	for i := range 2000 {
		path := fmt.Sprintf("/page/%d", i)
		first, firstQR := r.pick(path)
		again, againQR := r.pick(path)
		require.Equal(t, first, again, "path %s", path)
		require.Equal(t, firstQR, againQR, "path %s", path)
		used[first]++
		if firstQR {
			qr++
		}
	}

	assert.Len(t, used, len(targets), "every target gets traffic")
	assert.InDelta(t, 600, qr, 100, "about 30%% of paths are scans")
}

func TestReplayQRFraction(t *testing.T) {
	for _, tt := range []struct {
		fraction float64
		wantQR   bool
	}{{0, false}, {1, true}} {
		edge, base := startEdge(t)
		r, err := New(Config{BaseURL: base, Targets: mustTargets(t, "go.example.com/abc"), QRFraction: tt.fraction})
		require.NoError(t, err)

		_, err = r.Replay(context.Background(), strings.NewReader(sampleLog))
		require.NoError(t, err)

		for _, s := range edge.requests() {
			assert.Equal(t, tt.wantQR, s.query == "qr=1", "fraction %v, query %q", tt.fraction, s.query)
		}
	}
}

func TestReplayKeyWithSlash(t *testing.T) {
	edge, base := startEdge(t)
	r, err := New(Config{BaseURL: base + "/", Targets: mustTargets(t, "Go.Example.com/a/b c")})
	require.NoError(t, err)

	_, err = r.Replay(context.Background(), strings.NewReader(sampleLog))
	require.NoError(t, err)

	seen := edge.requests()
	require.NotEmpty(t, seen)
	assert.Equal(t, "/a/b c", seen[0].path)
	assert.Equal(t, "go.example.com", seen[0].host)
}

func TestReplayCancelled(t *testing.T) {
	_, base := startEdge(t)
	r, err := New(Config{BaseURL: base, Targets: mustTargets(t, "go.example.com/abc")})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	_, err = r.Replay(ctx, strings.NewReader(strings.Repeat(strings.SplitN(sampleLog, "\n", 2)[0]+"\n", 1000)))

	require.ErrorIs(t, err, context.Canceled)
}

func TestNewValidates(t *testing.T) {
	targets := mustTargets(t, "go.example.com/abc")
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no base", Config{Targets: targets}, "invalid replay base URL"},
		{"base without scheme", Config{BaseURL: "127.0.0.1:8080", Targets: targets}, "invalid replay base URL"},
		{"no targets", Config{BaseURL: "http://127.0.0.1:8080"}, "at least one target"},
		{"bad fraction", Config{BaseURL: "http://127.0.0.1:8080", Targets: targets, QRFraction: 1.5}, "QR fraction"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}

	for _, bad := range []string{"", "example.com", "/abc", "example.com/"} {
		_, err := ParseTarget(bad)
		assert.Error(t, err, "target %q", bad)
	}
}
