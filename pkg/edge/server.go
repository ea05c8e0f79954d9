// Package edge is the redirector and collector. It responds to short-link
// requests from the catalog with a 302 and publishes one raw hit per
// redirect to Kafka without making the visitor wait for it.
//
// Routes:
//
//	GET|HEAD /{key...}  redirect; the Host header (port and trailing dot
//	                    removed, lower-cased) is the domain
//	POST /v1/hits       NDJSON of raw hits forwarded by other edges
//	GET /healthz        200 while the server runs
//	GET /metrics        Prometheus metrics, when the registerer is also a
//	                    prometheus.Gatherer
//
// The fixed routes take precedence, so no short link can use the keys
// "healthz" and "metrics".
//
// A redirect passes the query of the short-link request on: its parameters
// are appended to the destination's query, and a parameter present in both
// takes the request's value. The "qr" parameter is not passed on. With qr=1
// (or qr=true) the hit is a scan (qr: true in the raw hit), and hits on a
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
	"errors"
	"fmt"
	stdlog "log"
	"net"
	"net/http"
	"path"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/clickstream/clickstream/pkg/catalog"
)

// Server is the edge HTTP server. Its handler is safe for concurrent use.
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
	handler     http.Handler

	// now is time.Now, replaced in tests.
	now func() time.Time
}

// New builds an edge server that resolves short links in cat and hands hits
// to pub. The server registers its metrics on metrics (nil registers none)
// and serves them on /metrics when metrics is also a prometheus.Gatherer,
// as *prometheus.Registry is. Run closes pub before it returns.
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
		now:         time.Now,
	}
	if err := register(metrics, s.m.collectors()...); err != nil {
		return nil, err
	}
	if g, ok := metrics.(prometheus.Gatherer); ok {
		s.gatherer = g
	}

	s.handler = s.routes()
	return s, nil
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", handleHealthz)
	if s.gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{}))
	}
	mux.HandleFunc("POST /v1/hits", s.handleIngest)
	// A GET pattern also matches HEAD. redirectKey sends the other GET
	// paths past the mux, so a new GET route needs an entry there too.
	mux.HandleFunc("GET /{key...}", s.handleRedirect)
	return &router{s: s, mux: mux}
}

// router sends the short-link requests that the mux would pass unchanged to
// handleRedirect straight to the redirect, and everything else to the mux.
// Matching the patterns cost 2.6% of the edge's CPU time in a profile under
// wrk load.
type router struct {
	s   *Server
	mux *http.ServeMux
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if key, ok := redirectKey(r); ok {
		rt.s.redirect(w, r, key)
		return
	}
	rt.mux.ServeHTTP(w, r)
}

// redirectKey returns the short-link key of r when the mux would route r to
// handleRedirect with that key and without a redirect of its own. That is a
// GET or HEAD request for a clean path that needs no unescaping and is not
// a fixed route. Any other request goes through the mux.
func redirectKey(r *http.Request) (string, bool) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return "", false
	}
	p := r.URL.Path
	if r.URL.RawPath != "" || len(p) < 2 || p[0] != '/' || p == "/healthz" || p == "/metrics" {
		return "", false
	}
	// The mux redirects a path that path.Clean changes, such as "/a//b",
	// "/a/./b" or "/a/", to the cleaned one. Clean allocates only then.
	if path.Clean(p) != p {
		return "", false
	}
	return p[1:], true
}

// Handler returns the HTTP handler of all routes.
func (s *Server) Handler() http.Handler {
	return s.handler
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
// sent to Kafka or written to the spool. Requests still running after
// ShutdownTimeout are cut off, and their hits count as dropped.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := s.httpServer()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	s.log.Info("edge listening", zap.String("addr", ln.Addr().String()))

	var errs []error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		errs = append(errs, fmt.Errorf("serving HTTP: %w", err))
	}

	s.log.Info("edge shutting down")
	if err := s.shutdownHTTP(srv); err != nil {
		errs = append(errs, err)
	}

	drainCtx, cancel := context.WithTimeout(context.Background(), s.cfg.DrainTimeout)
	defer cancel()
	if err := s.pub.Close(drainCtx); err != nil {
		errs = append(errs, fmt.Errorf("closing the publisher: %w", err))
	}
	s.log.Info("edge stopped")
	return errors.Join(errs...)
}

func (s *Server) httpServer() *http.Server {
	return &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
		// net/http logs bad handshakes and timeouts that clients cause,
		// which are noise at the edge.
		ErrorLog: mustStdLog(s.log.Named("http")),
	}
}

func mustStdLog(logger *zap.Logger) *stdlog.Logger {
	l, err := zap.NewStdLogAt(logger, zapcore.DebugLevel)
	if err != nil {
		// NewStdLogAt fails only for an invalid level.
		panic(err)
	}
	return l
}

func (s *Server) shutdownHTTP(srv *http.Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()

	err := srv.Shutdown(ctx)
	if err == nil {
		return nil
	}
	s.log.Warn("requests still running at the shutdown timeout; closing their connections",
		zap.Duration("timeout", s.cfg.ShutdownTimeout))
	if cerr := srv.Close(); cerr != nil {
		return fmt.Errorf("closing the HTTP server: %w", cerr)
	}
	return nil
}
