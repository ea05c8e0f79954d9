package webhook

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClientRequestHeaders(t *testing.T) {
	var got http.Header
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()

	h := http.Header{}
	h.Set(HeaderWebhookID, "evt_1")
	res := newTestClient("127.0.0.0/8").Send(context.Background(), srv.URL, []byte(`{"a":1}`), h)

	require.Equal(t, OutcomeSuccess, res.Outcome, "error: %v", res.Err)
	assert.Equal(t, 200, res.StatusCode)
	assert.Equal(t, "ok", string(res.Body))
	assert.Equal(t, "application/json", got.Get("Content-Type"))
	assert.Equal(t, "clickstream-test", got.Get("User-Agent"))
	assert.Equal(t, "evt_1", got.Get(HeaderWebhookID))
	assert.Equal(t, `{"a":1}`, body)
	assert.Positive(t, res.Latency)
}

func TestClientRedirectNotFollowed(t *testing.T) {
	var targetHits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { targetHits.Add(1) }))
	defer target.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	}))
	defer srv.Close()

	res := newTestClient("127.0.0.0/8").Send(context.Background(), srv.URL, []byte("{}"), nil)

	assert.Equal(t, OutcomeRejected, res.Outcome)
	assert.Equal(t, ClassHTTP3xx, res.Class)
	assert.Equal(t, http.StatusTemporaryRedirect, res.StatusCode)
	assert.Zero(t, targetHits.Load(), "the redirect target must not be called")
}

func TestClientStatusClassification(t *testing.T) {
	tests := []struct {
		status  int
		outcome Outcome
		class   string
	}{
		{200, OutcomeSuccess, ClassNone},
		{202, OutcomeSuccess, ClassNone},
		{204, OutcomeSuccess, ClassNone},
		{301, OutcomeRejected, ClassHTTP3xx},
		{400, OutcomeRejected, ClassHTTP4xx},
		{401, OutcomeRejected, ClassHTTP4xx},
		{404, OutcomeRejected, ClassHTTP4xx},
		{408, OutcomeRetryable, ClassHTTP408},
		{410, OutcomeGone, ClassHTTP410},
		{429, OutcomeRetryable, ClassHTTP429},
		{500, OutcomeRetryable, ClassHTTP5xx},
		{502, OutcomeRetryable, ClassHTTP5xx},
		{503, OutcomeRetryable, ClassHTTP5xx},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			r := classifyStatus(tt.status)
			assert.Equal(t, tt.outcome, r.Outcome)
			assert.Equal(t, tt.class, r.Class)
			assert.Equal(t, tt.status, r.StatusCode)
		})
	}
}

func TestClientResponseBodyTruncated(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(strings.Repeat("x", 3*MaxResponseBody)))
	}))
	defer srv.Close()

	res := newTestClient("127.0.0.0/8").Send(context.Background(), srv.URL, []byte("{}"), nil)

	assert.Equal(t, OutcomeRetryable, res.Outcome)
	assert.Len(t, res.Body, MaxResponseBody)
}

func TestClientTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	defer srv.Close()
	defer close(release)

	c := newTestClient("127.0.0.0/8")
	c.http.Timeout = 200 * time.Millisecond
	res := c.Send(context.Background(), srv.URL, []byte("{}"), nil)

	assert.Equal(t, OutcomeRetryable, res.Outcome)
	assert.Equal(t, ClassTimeout, res.Class)
	assert.Less(t, res.Latency, 2*time.Second)
}

func TestClientCanceledContext(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	res := newTestClient("127.0.0.0/8").Send(ctx, srv.URL, []byte("{}"), nil)

	assert.Equal(t, ClassCanceled, res.Class)
}

func TestClientConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	url := srv.URL
	srv.Close()

	res := newTestClient("127.0.0.0/8").Send(context.Background(), url, []byte("{}"), nil)

	assert.Equal(t, OutcomeRetryable, res.Outcome)
	assert.Equal(t, ClassConnect, res.Class)
}

func TestClientInvalidURL(t *testing.T) {
	res := newTestClient().Send(context.Background(), "://nope", []byte("{}"), nil)
	assert.Equal(t, OutcomeRefused, res.Outcome)
	assert.Equal(t, ClassInvalidRequest, res.Class)
}

func TestClientRetryAfterHonoured(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header string
		want   time.Duration
	}{
		{"429 seconds", 429, "120", 2 * time.Minute},
		{"503 seconds", 503, "7", 7 * time.Second},
		{"503 http date", 503, time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat), 90 * time.Second},
		{"429 capped", 429, "86400", time.Hour},
		{"500 ignored", 500, "120", 0},
		{"429 invalid", 429, "soon", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", tt.header)
				w.WriteHeader(tt.status)
			}))
			defer srv.Close()

			res := newTestClient("127.0.0.0/8").Send(context.Background(), srv.URL, []byte("{}"), nil)

			assert.Equal(t, OutcomeRetryable, res.Outcome)
			assert.InDelta(t, tt.want.Seconds(), res.RetryAfter.Seconds(), 2)
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{"30", 30 * time.Second, true},
		{" 30 ", 30 * time.Second, true},
		{"Sun, 01 Mar 2026 12:05:00 GMT", 5 * time.Minute, true},
		{"Sunday, 01-Mar-26 12:00:10 GMT", 10 * time.Second, true},
		{"Sun, 01 Mar 2026 11:00:00 GMT", 0, true},
		{"99999999999999999999", 0, false},
		{"-5", 0, false},
		{"1.5", 0, false},
		{"", 0, false},
		{"tomorrow", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseRetryAfter(tt.in, now)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}
