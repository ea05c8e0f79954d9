package edge

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"

	"github.com/valyala/fasthttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// httpServer returns the fasthttp server of the edge.
//
// fasthttp reads the request line and headers into one buffer of
// ReadBufferSize bytes, so that size is edge.maxHeaderBytes, and a request
// whose headers do not fit gets 431. fasthttp has one ReadTimeout for the
// headers: requestConfig sets edge.readTimeout for a body once the headers
// are read.
//
// With StreamRequestBody, fasthttp reads min(MaxRequestBodySize, 8 KiB)
// bytes of a body before it calls the handler and leaves the rest to
// ctx.RequestBodyStream. A MaxRequestBodySize of 1 byte therefore hands
// every body to the handler nearly unread: serveIngest reads it under
// edge.maxBodyBytes and the ingest concurrency limit, and fasthttp discards
// the body of other requests, up to 256 KiB, or closes the connection.
func (s *Server) httpServer() *fasthttp.Server {
	return &fasthttp.Server{
		Handler:        s.handle,
		ErrorHandler:   s.rejectRequest,
		HeaderReceived: s.requestConfig,
		ExpectHandler:  s.expectContinue,
		ConnState:      s.trackConn,

		ReadBufferSize: s.cfg.MaxHeaderBytes,
		ReadTimeout:    min(s.cfg.ReadHeaderTimeout, s.cfg.ReadTimeout),
		WriteTimeout:   s.cfg.WriteTimeout,
		IdleTimeout:    s.cfg.IdleTimeout,

		StreamRequestBody:            true,
		MaxRequestBodySize:           1,
		DisablePreParseMultipartForm: true,

		// Respond with the headers net/http sent: no Server header, and no
		// Content-Type on a response without a body.
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		CloseOnShutdown:       true,

		// fasthttp logs connection errors that clients cause, which are
		// noise at the edge.
		Logger: fasthttpLogger{log: s.log.Named("http")},
	}
}

// largeHeaderBytes is the size of request headers above which the
// connection is closed after the response.
const largeHeaderBytes = 16 << 10

// handle is the fasthttp handler of every request.
func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	defer s.recoverPanic(ctx)

	// A keep-alive connection keeps its read buffer of edge.maxHeaderBytes
	// and fasthttp's copy of the headers while it waits for the next
	// request. Large headers leave both filled, so the connection is closed
	// instead, which returns them to fasthttp's pools.
	if len(ctx.Request.Header.RawHeaders()) > largeHeaderBytes {
		ctx.SetConnectionClose()
	}

	if key, ok := redirectKey(ctx); ok {
		s.redirectFast(ctx, key)
		return
	}
	s.serveFallback(ctx)
}

// redirectKey returns the short-link key of a request when the ServeMux
// would route it to handleRedirect with that key and without a redirect of
// its own. That is a GET or HEAD request for a clean path that needs no
// unescaping and is not a fixed route. Matching the patterns cost 2.6% of
// the edge's CPU time in a profile under wrk load.
func redirectKey(ctx *fasthttp.RequestCtx) (string, bool) {
	if !ctx.IsGet() && !ctx.IsHead() {
		return "", false
	}
	// The request target as received; an absolute-form target does not
	// start with a slash.
	target := ctx.RequestURI()
	rawPath, query, _ := bytes.Cut(target, []byte{'?'})
	if len(rawPath) < 2 || rawPath[0] != '/' || !plainPath(rawPath) || !plainQuery(query) {
		return "", false
	}
	p := string(rawPath)
	if p == "/healthz" || p == "/metrics" {
		return "", false
	}
	// The mux redirects a path that path.Clean changes, such as "/a//b",
	// "/a/./b" or "/a/", to the cleaned one. Clean allocates only then.
	if path.Clean(p) != p {
		return "", false
	}
	return p[1:], true
}

// plainPath reports whether every byte of a raw path is one that net/url
// leaves as it is, so that the path needs no unescaping and url.URL.RawPath
// would be empty.
func plainPath(p []byte) bool {
	for _, c := range p {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case bytes.IndexByte([]byte("-_.~$&+,/:;=@"), c) >= 0:
		default:
			return false
		}
	}
	return true
}

// plainQuery reports whether a raw query has no control character and no
// fragment, which net/url would reject or split off.
func plainQuery(q []byte) bool {
	for _, c := range q {
		if c < 0x20 || c == 0x7f || c == '#' {
			return false
		}
	}
	return true
}

// ingestRoute marks the POST /v1/hits pattern of the ServeMux.
// serveFallback looks up the route of a request in the mux and serves this
// one with serveIngest, because fasthttpadaptor would read the whole body
// into memory first.
type ingestRoute struct{}

func (ingestRoute) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	// Not reached: serveFallback serves the route itself.
	http.Error(w, "POST /v1/hits is served by the fasthttp handler", http.StatusInternalServerError)
}

// serveFallback serves a request that redirectKey does not take, with the
// routes of the ServeMux.
func (s *Server) serveFallback(ctx *fasthttp.RequestCtx) {
	r, err := muxRequest(ctx)
	if err != nil {
		// net/http rejects a request target it cannot parse with 400.
		ctx.Error("400 Bad Request: invalid request target", http.StatusBadRequest)
		return
	}
	if h, _ := s.mux.Handler(r); h == (ingestRoute{}) {
		s.serveIngest(ctx)
		return
	}

	// No other route reads the body, and fasthttpadaptor would read all of
	// it into memory. The server discards what is left of it.
	ctx.Request.ResetBody()
	s.adapted(ctx)
}

// muxRequest returns the method, host and URL of the request in ctx, which
// is what ServeMux.Handler reads to choose a route.
func muxRequest(ctx *fasthttp.RequestCtx) (*http.Request, error) {
	// fasthttp ends the target at a raw fragment, as fasthttpadaptor does.
	target, _, _ := bytes.Cut(ctx.RequestURI(), []byte{'#'})
	u, err := url.ParseRequestURI(string(target))
	if err != nil {
		return nil, err
	}
	return &http.Request{Method: string(ctx.Method()), Host: string(ctx.Host()), URL: u}, nil
}

// requestConfig gives a request that has a body edge.readTimeout to read
// it, counted from the end of its headers. fasthttp calls it once the
// headers are read.
func (s *Server) requestConfig(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	// ContentLength is -2 without Content-Length and Transfer-Encoding, and
	// -1 for a chunked body.
	if n := h.ContentLength(); n == 0 || n == -2 {
		return fasthttp.RequestConfig{}
	}
	return fasthttp.RequestConfig{ReadTimeout: s.cfg.ReadTimeout}
}

// rejectRequest is the fasthttp ErrorHandler: it responds to a request that
// could not be read, before any handler runs. fasthttp closes the
// connection afterwards.
func (s *Server) rejectRequest(ctx *fasthttp.RequestCtx, err error) {
	status := http.StatusBadRequest
	var smallBuffer *fasthttp.ErrSmallBuffer
	var netErr net.Error
	switch {
	case errors.As(err, &smallBuffer):
		status = http.StatusRequestHeaderFieldsTooLarge
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		status = http.StatusRequestEntityTooLarge
	case errors.As(err, &netErr) && netErr.Timeout():
		status = http.StatusRequestTimeout
	}
	s.m.requestsRejected.WithLabelValues(strconv.Itoa(status)).Inc()
	s.log.Debug("rejected a request that could not be read", zap.Int("status", status), zap.Error(err))
	ctx.Error(fmt.Sprintf("%d %s", status, http.StatusText(status)), status)
}

// recoverPanic turns a panic in a handler into a 500 response and closes
// the connection, as net/http would close it, instead of ending the
// process: fasthttp does not recover panics.
func (s *Server) recoverPanic(ctx *fasthttp.RequestCtx) {
	v := recover()
	if v == nil {
		return
	}
	s.log.Error("panic while serving a request", zap.Any("panic", v),
		zap.ByteString("method", ctx.Method()), zap.ByteString("uri", ctx.RequestURI()), zap.Stack("stack"))
	ctx.Response.Reset()
	ctx.Error("500 Internal Server Error", http.StatusInternalServerError)
	ctx.SetConnectionClose()
}

// fasthttpLogger writes fasthttp's log lines to zap at debug level.
type fasthttpLogger struct {
	log *zap.Logger
}

func (l fasthttpLogger) Printf(format string, args ...any) {
	if ce := l.log.Check(zapcore.DebugLevel, ""); ce != nil {
		ce.Message = fmt.Sprintf(format, args...)
		ce.Write()
	}
}
