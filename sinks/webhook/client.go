package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// MaxResponseBody is how many bytes of a receiver's response body are kept
// for the delivery log.
const MaxResponseBody = 8 << 10

// maxDrain is how many further response bytes are read and discarded so that
// the connection can be reused; a longer body closes the connection.
const maxDrain = 64 << 10

// Outcome is the classification of one attempt, made once in Client.Send.
type Outcome int

// The outcomes of an attempt.
const (
	// OutcomeSuccess is a 2xx response.
	OutcomeSuccess Outcome = iota + 1
	// OutcomeRetryable is a 5xx, 408 or 429 response, a network error or a
	// timeout: the receiver may accept the same request later.
	OutcomeRetryable
	// OutcomeRejected is any other 3xx or 4xx response. Redirects are not
	// followed. The dispatcher still retries it on the schedule, as Standard
	// Webhooks senders retry every non-2xx response, because receivers often
	// return 4xx while being deployed or reconfigured.
	OutcomeRejected
	// OutcomeGone is a 410 response, by which the receiver requests no
	// further deliveries, so the dispatcher disables the webhook.
	OutcomeGone
	// OutcomeRefused is a request that was never sent: the SSRF guard
	// rejected every address of the host, or the URL is invalid. Retrying
	// cannot help, so the dispatcher does not.
	OutcomeRefused
	// OutcomeDeferred is set by the dispatcher, never by Client: the
	// delivery went to a retry topic unsent because its webhook's queue was
	// full or it waited in the queue longer than allowed. It keeps its
	// attempt number.
	OutcomeDeferred
	// OutcomeSkipped is set by the dispatcher, never by Client: the
	// delivery was not sent and will not be tried again. Its class gives
	// the reason. ClassDisabled and ClassQueueFull deliveries went to the
	// failed topic, and ClassDeleted ones were dropped.
	OutcomeSkipped
)

func (o Outcome) String() string {
	switch o {
	case OutcomeSuccess:
		return "success"
	case OutcomeRetryable:
		return "retryable"
	case OutcomeRejected:
		return "rejected"
	case OutcomeGone:
		return "gone"
	case OutcomeRefused:
		return "refused"
	case OutcomeDeferred:
		return "deferred"
	case OutcomeSkipped:
		return "skipped"
	}
	return "unknown"
}

// Error classes recorded with each attempt. They are finer than Outcome and
// stable enough to filter the delivery log on.
const (
	ClassNone           = ""
	ClassHTTP3xx        = "http_3xx"
	ClassHTTP4xx        = "http_4xx"
	ClassHTTP408        = "http_408"
	ClassHTTP410        = "http_410"
	ClassHTTP429        = "http_429"
	ClassHTTP5xx        = "http_5xx"
	ClassTimeout        = "timeout"
	ClassDNS            = "dns"
	ClassConnect        = "connect"
	ClassTLS            = "tls"
	ClassNetwork        = "network"
	ClassRefused        = "refused"
	ClassInvalidRequest = "invalid_request"
	// ClassCanceled marks an attempt cut short by shutdown. The delivery
	// is left uncommitted, so the next owner of the partition sends it again.
	ClassCanceled = "canceled"
	// ClassQueueFull marks an attempt that was not sent because the
	// webhook's queue was full or a queued delivery waited too long.
	ClassQueueFull = "queue_full"
	// ClassDisabled and ClassDeleted mark a delivery skipped because its
	// webhook was disabled or deleted.
	ClassDisabled = "disabled"
	ClassDeleted  = "deleted"
)

// Result is the classified result of one attempt.
type Result struct {
	Outcome    Outcome
	Class      string
	StatusCode int
	// RetryAfter is the delay a 429 or 503 response asked for in its
	// Retry-After header, capped at ClientConfig.MaxRetryAfter; zero when
	// absent or invalid.
	RetryAfter time.Duration
	Latency    time.Duration
	// Body is the first MaxResponseBody bytes of the response body.
	Body []byte
	// Err is the transport error, or nil when a response arrived.
	Err error
}

// ClientConfig configures a Client.
type ClientConfig struct {
	// ConnectTimeout bounds the TCP connect and the TLS handshake.
	ConnectTimeout time.Duration
	// Timeout bounds the whole attempt, from dialling to reading the body.
	Timeout time.Duration
	// Allow lists prefixes that the SSRF guard lets through although they
	// fall in a denied range, for tests and on-premise receivers.
	Allow []netip.Prefix
	// UserAgent is sent with every request.
	UserAgent string
	// MaxRetryAfter caps the delay taken from a Retry-After header.
	MaxRetryAfter time.Duration
	// MaxIdleConnsPerHost is how many idle keep-alive connections are kept
	// per receiver host.
	MaxIdleConnsPerHost int
}

// Client sends webhook requests. It never follows redirects, never uses a
// proxy and connects only to addresses that the SSRF guard accepts. It is
// safe for concurrent use.
type Client struct {
	cfg  ClientConfig
	http *http.Client
}

// NewClient returns a Client for cfg.
func NewClient(cfg ClientConfig) *Client {
	guard := addressGuard{allow: cfg.Allow}
	dialer := &net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second, Control: guard.control}

	transport := &http.Transport{
		// Proxy stays nil: a proxy would make the guard check the proxy's
		// address instead of the receiver's.
		DialContext:            dialer.DialContext,
		TLSHandshakeTimeout:    cfg.ConnectTimeout,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           1000,
		MaxIdleConnsPerHost:    cfg.MaxIdleConnsPerHost,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
		ExpectContinueTimeout:  time.Second,
	}

	return &Client{
		cfg: cfg,
		http: &http.Client{
			Transport: transport,
			Timeout:   cfg.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}
}

// CloseIdleConnections closes the keep-alive connections that are not in use.
func (c *Client) CloseIdleConnections() {
	c.http.CloseIdleConnections()
}

// Send POSTs body to url with the given extra headers and classifies the
// result. It blocks for at most ClientConfig.Timeout and never returns a
// nil-Outcome Result.
func (c *Client) Send(ctx context.Context, url string, body []byte, header http.Header) Result {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Result{Outcome: OutcomeRefused, Class: ClassInvalidRequest, Err: fmt.Errorf("building request: %w", err)}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", c.cfg.UserAgent)

	resp, err := c.http.Do(req)
	if err != nil {
		res := classifyError(ctx, err)
		res.Latency = time.Since(start)
		return res
	}

	kept, readErr := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBody))
	_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)
	resp.Body.Close()

	res := classifyStatus(resp.StatusCode)
	res.Latency = time.Since(start)
	res.Body = kept
	if readErr != nil && res.Outcome == OutcomeSuccess {
		// The status line counts: a 2xx receiver has accepted the event even
		// if the body was cut off.
		readErr = nil
	}
	res.Err = readErr
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			res.RetryAfter = min(d, c.cfg.MaxRetryAfter)
		}
	}
	return res
}

// classifyStatus maps an HTTP status code to an outcome and class.
func classifyStatus(code int) Result {
	r := Result{StatusCode: code}
	switch {
	case code >= 200 && code < 300:
		r.Outcome = OutcomeSuccess
	case code == http.StatusGone:
		r.Outcome, r.Class = OutcomeGone, ClassHTTP410
	case code == http.StatusRequestTimeout:
		r.Outcome, r.Class = OutcomeRetryable, ClassHTTP408
	case code == http.StatusTooManyRequests:
		r.Outcome, r.Class = OutcomeRetryable, ClassHTTP429
	case code >= 500:
		r.Outcome, r.Class = OutcomeRetryable, ClassHTTP5xx
	case code >= 400:
		r.Outcome, r.Class = OutcomeRejected, ClassHTTP4xx
	default:
		// 1xx never reaches here as a final response; 3xx is a redirect
		// that is deliberately not followed.
		r.Outcome, r.Class = OutcomeRejected, ClassHTTP3xx
	}
	return r
}

// classifyError maps a transport error to an outcome and class.
func classifyError(ctx context.Context, err error) Result {
	r := Result{Outcome: OutcomeRetryable, Err: err}

	var refused *RefusedAddressError
	var dnsErr *net.DNSError
	var netErr net.Error
	var opErr *net.OpError
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recordErr tls.RecordHeaderError

	switch {
	case errors.As(err, &refused):
		r.Outcome, r.Class = OutcomeRefused, ClassRefused
	case ctx.Err() != nil:
		r.Class = ClassCanceled
	case errors.As(err, &dnsErr):
		r.Class = ClassDNS
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr), errors.As(err, &recordErr):
		r.Class = ClassTLS
	case errors.As(err, &netErr) && netErr.Timeout():
		r.Class = ClassTimeout
	case errors.As(err, &opErr) && opErr.Op == "dial":
		r.Class = ClassConnect
	default:
		r.Class = ClassNetwork
	}
	return r
}

// parseRetryAfter parses a Retry-After value: delay seconds or an HTTP date.
// A date in the past gives zero. The second result is false for an empty or
// invalid value.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		// Values past about 290 years would overflow a Duration; any
		// cap the caller applies is far below that.
		secs = min(secs, int64(1<<62/int64(time.Second)))
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}
