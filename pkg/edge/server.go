// Package edge is the redirector and collector. It responds to short-link
// requests from the catalog with a 302 and publishes one raw hit per
// redirect to Kafka without making the visitor wait for it.
//
// Routes:
//
//	GET|HEAD /{key...}  redirect; the Host header (port and trailing dot
//	                    removed, lower-cased, a Unicode host converted to
//	                    its punycode form) is the domain
//	POST /v1/hits       NDJSON of raw hits forwarded by other edges
//	GET /healthz        200 while the server runs
//	GET /metrics        Prometheus metrics, with edge.serveMetrics and a
//	                    registerer that is also a prometheus.Gatherer
//
// The fixed routes take precedence, so no short link can use the key
// "healthz", nor "metrics" while the edge serves its metrics.
//
// The server is fasthttp. Requests for a clean short-link path and POST
// /v1/hits run fasthttp handlers. Every other request goes through
// fasthttpadaptor to a net/http ServeMux with the routes above, so it gets
// the response the net/http server gave.
//
// A redirect passes the query of the short-link request on: its parameters
// are appended to the destination's query, and a parameter present in both
// takes the request's value. Bytes that a URI query may not hold, such as
// raw UTF-8 and spaces, are percent-encoded. The "qr" parameter is not
// passed on. With qr=1
// (or qr=true, in any case) the hit is a scan (qr: true in the raw hit), and hits on a
// QR code's own short link are always scans. Expired links redirect to
// their expired URL, or get 410 when they have none. Only 302 responses
// publish a hit, and all responses carry Cache-Control: no-store so that
// browsers do not cache a redirect and every click reaches the edge.
//
// User agents, referers and URLs longer than the raw hit limits
// (event.MaxUserAgentLen, event.MaxRefererLen, event.MaxURLLen) are cut
// before publishing, and invalid UTF-8 in them is replaced with U+FFFD;
// both are counted in clickstream_edge_hits_truncated_total and
// clickstream_edge_hits_invalid_utf8_total. The redirect itself keeps the
// full query.
package edge

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/clickstream/clickstream/pkg/catalog"
)

// Server is the edge HTTP server. Its handlers are safe for concurrent use.
type Server struct {
	cfg Config
	cat *catalog.Catalog
	pub Publisher
	log *zap.Logger
	m   *serverMetrics

	clientIP clientIPResolver
	gatherer prometheus.Gatherer
	// ingestSlots bounds concurrent POST /v1/hits requests, each of which
	// may buffer up to MaxBodyBytes of decoded hits.
	ingestSlots chan struct{}
	// ingestTokenHashes are the SHA-256 sums of cfg.IngestTokens.
	ingestTokenHashes [][sha256.Size]byte
	// ingestLog logs rejected POST /v1/hits requests, at most three
	// identical lines a second, since any client can send them.
	ingestLog *zap.Logger

	// mux serves, through adapted, the requests that handle does not
	// serve itself.
	mux     *http.ServeMux
	adapted fasthttp.RequestHandler

	// conns are the open connections of the running server, closed at
	// the end of the shutdown timeout.
	connsMu sync.Mutex
	conns   map[net.Conn]struct{}

	// now is time.Now, replaced in tests.
	now func() time.Time
}

// New builds an edge server that resolves short links in cat and hands hits
// to pub. The server registers its metrics on metrics (nil registers none).
// With cfg.ServeMetrics it also serves them on /metrics when metrics is a
// prometheus.Gatherer, as *prometheus.Registry is. Run closes pub before it
// returns.
func New(cfg Config, cat *catalog.Catalog, pub Publisher, log *zap.Logger, metrics prometheus.Registerer) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cat == nil || pub == nil || log == nil {
		return nil, errors.New("edge.New: catalog, publisher and logger must not be nil")
	}
	trusted, err := parsePrefixes(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}

	s := &Server{
		cfg:         cfg,
		cat:         cat,
		pub:         pub,
		log:         log,
		m:           newServerMetrics(),
		clientIP:    clientIPResolver{trusted: trusted},
		ingestSlots: make(chan struct{}, cfg.MaxIngestRequests),
		conns:       map[net.Conn]struct{}{},
		now:         time.Now,
	}
	s.ingestLog = log.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		return zapcore.NewSamplerWithOptions(c, time.Second, 3, 0)
	}))
	for _, t := range cfg.IngestTokens {
		s.ingestTokenHashes = append(s.ingestTokenHashes, sha256.Sum256([]byte(t)))
	}
	if err := register(metrics, s.m.collectors()...); err != nil {
		return nil, err
	}
	if g, ok := metrics.(prometheus.Gatherer); ok && cfg.ServeMetrics {
		s.gatherer = g
	}

	s.mux = s.routes()
	s.adapted = fasthttpadaptor.NewFastHTTPHandler(s.mux)
	return s, nil
}

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", handleHealthz)
	if s.gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{}))
	}
	mux.Handle("POST /v1/hits", ingestRoute{})
	// A GET pattern also matches HEAD. redirectKey sends the other GET
	// paths past the mux, so a new GET route needs an entry there too.
	mux.HandleFunc("GET /{key...}", s.handleRedirect)
	return mux
}

func handleHealthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

// Run listens on cfg.Listen and serves until ctx is done, then shuts down
// (see Serve). When it cannot listen it still closes the publisher, so the
// hits that reached it are flushed.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		err = fmt.Errorf("edge.listen: %w", err)
		drainCtx, cancel := context.WithTimeout(context.Background(), s.cfg.DrainTimeout)
		defer cancel()
		if cerr := s.pub.Close(drainCtx); cerr != nil {
			err = errors.Join(err, fmt.Errorf("closing the publisher: %w", cerr))
		}
		return err
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx is done or the listener fails. It then stops
// accepting connections, waits up to ShutdownTimeout for requests in
// progress, and closes the publisher with DrainTimeout, so queued hits are
// sent to Kafka or written to the spool. Connections still open after
// ShutdownTimeout are closed, and hits of requests still running then count
// as dropped. Serve closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := s.httpServer()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	s.log.Info("edge listening", zap.String("addr", ln.Addr().String()))

	var errs []error
	select {
	case <-ctx.Done():
		// Closing the listener here, not only in Shutdown, also stops a
		// Serve call that has not registered it with the server yet.
		_ = ln.Close()
		if err := <-serveErr; err != nil {
			errs = append(errs, fmt.Errorf("serving HTTP: %w", err))
		}
	case err := <-serveErr:
		if err == nil {
			// fasthttp returns nil when another goroutine closed ln.
			err = errors.New("the listener was closed")
		}
		errs = append(errs, fmt.Errorf("serving HTTP: %w", err))
	}

	s.log.Info("edge shutting down")
	s.shutdownHTTP(srv)

	drainCtx, cancel := context.WithTimeout(context.Background(), s.cfg.DrainTimeout)
	defer cancel()
	if err := s.pub.Close(drainCtx); err != nil {
		errs = append(errs, fmt.Errorf("closing the publisher: %w", err))
	}
	s.log.Info("edge stopped")
	return errors.Join(errs...)
}

// shutdownHTTP waits up to ShutdownTimeout for the requests in progress,
// then closes the connections still open.
func (s *Server) shutdownHTTP(srv *fasthttp.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()

	// Shutdown closes the listeners again, which Serve has closed already.
	err := srv.ShutdownWithContext(ctx)
	if err == nil || errors.Is(err, net.ErrClosed) {
		return
	}
	s.connsMu.Lock()
	open := len(s.conns)
	for c := range s.conns {
		_ = c.Close()
	}
	s.connsMu.Unlock()
	s.log.Warn("requests still running at the shutdown timeout; closed their connections",
		zap.Duration("timeout", s.cfg.ShutdownTimeout), zap.Int("connections", open))
}

// trackConn records the open connections for shutdownHTTP. fasthttp calls
// it at every change of a connection's state.
func (s *Server) trackConn(c net.Conn, state fasthttp.ConnState) {
	switch state {
	case fasthttp.StateNew:
		s.connsMu.Lock()
		s.conns[c] = struct{}{}
		s.connsMu.Unlock()
	case fasthttp.StateClosed, fasthttp.StateHijacked:
		s.connsMu.Lock()
		delete(s.conns, c)
		s.connsMu.Unlock()
	}
}
