package edge

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/clickstream/clickstream/pkg/event"
)

// serveLoopback runs ts on a free loopback port until the test ends and
// returns the address.
func serveLoopback(tb testing.TB, ts *testServer) string {
	tb.Helper()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ts.Serve(ctx, ln) }()

	tb.Cleanup(func() {
		cancel()
		require.NoError(tb, <-done)
	})
	return ln.Addr().String()
}

// noRedirectClient returns redirects to the caller instead of following them.
func noRedirectClient() *http.Client {
	return &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func getWithHeader(tb testing.TB, addr, path string, header http.Header) *http.Response {
	tb.Helper()

	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	require.NoError(tb, err)
	req.Host = "go.example.com"
	req.Header = header
	resp, err := noRedirectClient().Do(req)
	require.NoError(tb, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestHugeUserAgentTruncated(t *testing.T) {
	ts := newTestServer(t, nil)
	addr := serveLoopback(t, ts)
	header := http.Header{}
	header.Set("User-Agent", strings.Repeat("Mozilla/5.0 ", 100<<10/12+1)) // just over 100 KiB

	resp := getWithHeader(t, addr, "/abc", header)

	require.Equal(t, http.StatusFound, resp.StatusCode)
	assert.True(t, resp.Close, "the server closes a connection after headers over 16 KiB")
	hits := ts.pub.published()
	require.Len(t, hits, 1)
	assert.Len(t, hits[0].UA, event.MaxUserAgentLen)
	assert.True(t, strings.HasPrefix(hits[0].UA, "Mozilla/5.0 Mozilla/5.0"))
	assert.Equal(t, 1.0, metricValue(t, ts.m.truncated.WithLabelValues("ua")))
	require.NoError(t, hits[0].Validate())
}

func TestHeadersOverLimitRejected(t *testing.T) {
	ts := newTestServer(t, nil)
	addr := serveLoopback(t, ts)
	header := http.Header{}
	header.Set("User-Agent", strings.Repeat("x", 300<<10))

	resp := getWithHeader(t, addr, "/abc", header)

	assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
	assert.Empty(t, ts.pub.published())
	assert.Equal(t, 1.0, metricValue(t, ts.m.requestsRejected.WithLabelValues("431")))
}

func TestInvalidUTF8Sanitized(t *testing.T) {
	tests := []struct {
		name    string
		ua      string
		referer string
		wantUA  string
		wantRef string
	}{
		{name: "invalid bytes", ua: "Mozilla\xff\xfe/5.0", referer: "https://e.org/\xc3(",
			wantUA: "Mozilla\uFFFD/5.0", wantRef: "https://e.org/\uFFFD("},
		{name: "truncated sequence at the end", ua: "caf\xc3", referer: "",
			wantUA: "caf\uFFFD", wantRef: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, nil)
			header := http.Header{}
			header.Set("User-Agent", tt.ua)
			header.Set("Referer", tt.referer)

			rec := ts.do(http.MethodGet, "/abc", header)

			require.Equal(t, http.StatusFound, rec.Code)
			hits := ts.pub.published()
			require.Len(t, hits, 1)
			assert.Equal(t, tt.wantUA, hits[0].UA)
			assert.Equal(t, tt.wantRef, hits[0].Referer)
			assert.Equal(t, 1.0, metricValue(t, ts.m.sanitized.WithLabelValues("ua")))
		})
	}
}

func TestLongInvalidUTF8Bounded(t *testing.T) {
	ts := newTestServer(t, nil)
	header := http.Header{}
	// Only continuation bytes: no rune boundary to cut at.
	header.Set("User-Agent", strings.Repeat("\x80", 100<<10))
	header.Set("Referer", strings.Repeat("é", 5000)+"\xff")

	rec := ts.do(http.MethodGet, "/abc", header)

	require.Equal(t, http.StatusFound, rec.Code)
	hits := ts.pub.published()
	require.Len(t, hits, 1)
	h := hits[0]
	assert.Equal(t, "\uFFFD", h.UA, "a run of invalid bytes becomes one U+FFFD")
	assert.True(t, utf8.ValidString(h.Referer))
	assert.Len(t, h.Referer, event.MaxRefererLen, "é is 2 bytes, so 1024 of them fit exactly")
	require.NoError(t, h.Validate())
}

func TestLongQueryTruncatedInHit(t *testing.T) {
	ts := newTestServer(t, nil)
	query := "q=" + strings.Repeat("a", 5000)

	rec := ts.do(http.MethodGet, "/abc?"+query, nil)

	require.Equal(t, http.StatusFound, rec.Code)
	assert.Equal(t, "https://example.com/landing?"+query, rec.Header().Get("Location"),
		"the redirect keeps the whole query")
	hits := ts.pub.published()
	require.Len(t, hits, 1)
	assert.Len(t, hits[0].URL, event.MaxURLLen)
	assert.Equal(t, 1.0, metricValue(t, ts.m.truncated.WithLabelValues("url")))
}

func TestSlowBodyCut(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.ReadTimeout = 300 * time.Millisecond })
	addr := serveLoopback(t, ts)

	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	line := hitLine(t, validHit("AAAAAAAAAAAAAAA1")) + "\n"
	_, err = fmt.Fprintf(conn, "POST /v1/hits HTTP/1.1\r\nHost: edge\r\n"+ingestAuthLine+"Content-Length: %d\r\n\r\n", 10*len(line))
	require.NoError(t, err)

	// Send one line, then stall past the read timeout.
	start := time.Now()
	_, err = conn.Write([]byte(line))
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err == nil {
		// The handler may answer before the server closes the connection.
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
		resp.Body.Close()
	}

	assert.Less(t, time.Since(start), 3*time.Second, "the server must cut the body at its read timeout")
	assert.Empty(t, ts.pub.published(), "nothing of a cut body is published")
}

func TestMissingBodyTimesOut(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.ReadTimeout = 300 * time.Millisecond })
	addr := serveLoopback(t, ts)

	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "POST /v1/hits HTTP/1.1\r\nHost: edge\r\n"+ingestAuthLine+"Content-Length: 100\r\n\r\n")
	require.NoError(t, err)

	// fasthttp waits for the first byte of a body before it calls the
	// handler, so the server itself responds.
	start := time.Now()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	resp.Body.Close()

	assert.Equal(t, http.StatusRequestTimeout, resp.StatusCode)
	assert.Less(t, time.Since(start), 3*time.Second)
	assert.Equal(t, 1.0, metricValue(t, ts.m.requestsRejected.WithLabelValues("408")))
}

func TestSlowHeadersCut(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.ReadHeaderTimeout = 200 * time.Millisecond })
	addr := serveLoopback(t, ts)

	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Write([]byte("GET /abc HTTP/1.1\r\nHost: go.example.com\r\n"))
	require.NoError(t, err)

	start := time.Now()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	out, err := io.ReadAll(conn)
	require.NoError(t, err, "the server closes the connection")
	assert.Less(t, time.Since(start), 3*time.Second)
	assert.True(t, strings.HasPrefix(string(out), "HTTP/1.1 408 "), "response: %q", out)
	assert.Empty(t, ts.pub.published())
	assert.Equal(t, 1.0, metricValue(t, ts.m.requestsRejected.WithLabelValues("408")))
}

func TestRedirectBodyDiscarded(t *testing.T) {
	ts := newTestServer(t, nil)
	addr := serveLoopback(t, ts)

	for _, size := range []int{100, 1 << 20} {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()

		// The server may respond and close before a large body is sent,
		// so the body is written beside the read and write errors are
		// expected.
		go func() {
			_, _ = fmt.Fprintf(conn, "GET /abc HTTP/1.1\r\nHost: go.example.com\r\nContent-Length: %d\r\n\r\n", size)
			_, _ = conn.Write([]byte(strings.Repeat("x", size)))
		}()
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err, "body of %d bytes", size)
		resp.Body.Close()

		assert.Equal(t, http.StatusFound, resp.StatusCode, "body of %d bytes", size)
		assert.Equal(t, size > 256<<10, resp.Close, "only a body over 256 KiB closes the connection")
	}
	assert.Len(t, ts.pub.published(), 2)
}

// panicPublisher panics in Publish.
type panicPublisher struct{ fakePublisher }

func (*panicPublisher) Publish(event.RawHit) error { panic("publisher bug") }

func TestHandlerPanicRecovered(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Spool.Dir = t.TempDir()
	pub := &panicPublisher{}
	s, err := New(cfg, testCatalog(t), pub, zap.NewNop(), prometheus.NewRegistry())
	require.NoError(t, err)
	addr := serveLoopback(t, &testServer{Server: s, pub: &pub.fakePublisher})

	resp := getWithHeader(t, addr, "/abc", http.Header{})
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	assert.True(t, resp.Close)

	resp = getWithHeader(t, addr, "/nope", http.Header{})
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "the server still serves")
}

func TestServeShutdownClosesPublisher(t *testing.T) {
	ts := newTestServer(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ts.Serve(ctx, ln) }()

	resp := getWithHeader(t, ln.Addr().String(), "/abc", http.Header{})
	require.Equal(t, http.StatusFound, resp.StatusCode)
	cancel()

	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the context was cancelled")
	}
	assert.True(t, ts.pub.closed)
	_, err = net.DialTimeout("tcp", ln.Addr().String(), time.Second)
	assert.Error(t, err, "the listener is closed")
}

// blockingPublisher closes entered when Publish starts, then blocks Publish
// until release is closed.
type blockingPublisher struct {
	fakePublisher
	entered chan struct{}
	release chan struct{}
}

func (b *blockingPublisher) Publish(h event.RawHit) error {
	close(b.entered)
	<-b.release
	return b.fakePublisher.Publish(h)
}

func TestServeShutdownFinishesRequests(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Spool.Dir = t.TempDir()
	pub := &blockingPublisher{entered: make(chan struct{}), release: make(chan struct{})}
	s, err := New(cfg, testCatalog(t), pub, zap.NewNop(), prometheus.NewRegistry())
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()

	status := make(chan int, 1)
	go func() {
		resp := getWithHeader(t, ln.Addr().String(), "/abc", http.Header{})
		status <- resp.StatusCode
	}()
	<-pub.entered
	cancel()

	select {
	case err := <-done:
		t.Fatalf("Serve returned while a request was in flight: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	_, err = net.DialTimeout("tcp", ln.Addr().String(), time.Second)
	assert.Error(t, err, "the listener is closed while the request runs")

	close(pub.release)
	assert.Equal(t, http.StatusFound, <-status)
	require.NoError(t, <-done)
	assert.Len(t, pub.published(), 1, "the hit was published before Close")
	assert.True(t, pub.closed)
}

func TestServeShutdownTimeoutClosesConnections(t *testing.T) {
	ts := newTestServer(t, func(c *Config) {
		c.ReadTimeout = time.Minute
		c.ShutdownTimeout = 300 * time.Millisecond
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ts.Serve(ctx, ln) }()

	// A POST /v1/hits whose body stalls keeps its request running.
	conn, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "POST /v1/hits HTTP/1.1\r\nHost: edge\r\n"+ingestAuthLine+"Content-Length: 1000\r\n\r\n{")
	require.NoError(t, err)
	waitFor(t, 5*time.Second, "the request to start", func() bool {
		return len(ts.ingestSlots) == 1
	})

	start := time.Now()
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after the shutdown timeout")
	}
	assert.Less(t, time.Since(start), 3*time.Second)
	assert.True(t, ts.pub.closed)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = io.ReadAll(conn)
	assert.NoError(t, err, "the server closed the connection")
}

func TestRunListenErrorClosesPublisher(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	ts := newTestServer(t, func(c *Config) { c.Listen = busy.Addr().String() })

	err = ts.Run(context.Background())

	require.Error(t, err)
	assert.Contains(t, err.Error(), "edge.listen")
	assert.True(t, ts.pub.closed)
}

func TestIngestExpectContinueChecksToken(t *testing.T) {
	ts := newTestServer(t, nil)
	addr := serveLoopback(t, ts)

	for _, tc := range []struct {
		auth, want string
	}{
		{"", "HTTP/1.1 417 "},
		{"Authorization: Bearer wrong-token-of-16-chars\r\n", "HTTP/1.1 417 "},
		{ingestAuthLine, "HTTP/1.1 100 Continue"},
		{"Authorization: bearer " + testIngestToken + "\r\n", "HTTP/1.1 100 Continue"},
	} {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		_, err = fmt.Fprintf(conn, "POST /v1/hits HTTP/1.1\r\nHost: edge\r\n%sExpect: 100-continue\r\nContent-Length: 1000000\r\n\r\n", tc.auth)
		require.NoError(t, err)

		require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
		line, err := bufio.NewReader(conn).ReadString('\n')
		conn.Close()
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(line, tc.want), "with %q: got %q", tc.auth, line)
	}
	assert.Empty(t, ts.pub.published())
}

func TestIngestOffForbiddenWithExpect(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.IngestTokens = nil })
	addr := serveLoopback(t, ts)

	for _, expect := range []string{"", "Expect: 100-continue\r\n"} {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		_, err = fmt.Fprintf(conn, "POST /v1/hits HTTP/1.1\r\nHost: edge\r\n%s%sContent-Length: 2\r\n\r\n", ingestAuthLine, expect)
		require.NoError(t, err)
		if expect == "" {
			_, err = io.WriteString(conn, "{}")
			require.NoError(t, err)
		}

		require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
		line, err := bufio.NewReader(conn).ReadString('\n')
		conn.Close()
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(line, "HTTP/1.1 403 "), "with %q: got %q", expect, line)
	}
	assert.Equal(t, 2.0, metricValue(t, ts.m.ingestRequests.WithLabelValues("403")))
}
