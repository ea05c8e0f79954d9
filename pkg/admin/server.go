// Package admin serves the HTTP admin API of clickstream's webhook
// subscriptions: create, read, change, disable, enable and delete webhooks,
// rotate their signing secrets, read their delivery log and replay failed
// deliveries. Every change is written to the compacted webhooks topic,
// which every worker and dispatcher follows. The API's own registry follows
// it too, and a change is applied to it before the response is sent.
//
// Every request needs "Authorization: Bearer <token>" with one of
// admin.tokens. Errors are JSON: {"error": {"field": "...", "message": "..."}},
// where field names the request field at fault and is left out when no
// single field is.
package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"

	"github.com/clickstream/clickstream/pkg/subscription"
	"github.com/clickstream/clickstream/sinks/clickhouse"
	"github.com/clickstream/clickstream/sinks/webhook"
)

// WebhookStore reads and writes webhook subscriptions; *subscription.Store
// implements it. Put and Delete return after the change is visible to Get
// and List.
type WebhookStore interface {
	Get(id string) (subscription.Webhook, bool)
	List(projectID string) []subscription.Webhook
	Put(ctx context.Context, w subscription.Webhook) error
	Delete(ctx context.Context, id string) error
}

// DeliveryLog lists logged delivery attempts of a webhook, newest first;
// *clickhouse.Client implements it.
type DeliveryLog interface {
	ListDeliveryAttempts(ctx context.Context, webhookID string, limit int) ([]clickhouse.DeliveryAttempt, error)
}

// Replayer writes failed deliveries of a webhook back to webhook-events;
// *KafkaReplayer implements it.
type Replayer interface {
	Replay(ctx context.Context, webhookID string, from, to time.Time) (ReplayResult, error)
}

// Deps are the collaborators of a Server.
type Deps struct {
	Webhooks WebhookStore
	// Deliveries may be nil, in which case GET .../deliveries responds with 503.
	Deliveries DeliveryLog
	// Replayer may be nil, in which case POST .../replay responds with 503.
	Replayer Replayer
	// Catalog contains the links, QR codes and pages that a webhook's
	// scope may name. Create and PATCH reject ids it does not contain or
	// that belong to another project. Nil skips that check.
	Catalog ResourceCatalog
	// AllowCIDRs is the dispatcher's dispatcher.allowCIDRs. A webhook URL
	// whose host is an IP address that the dispatcher rejects is rejected
	// unless these ranges cover it, as they do for the dispatcher.
	AllowCIDRs []string
	Log        *zap.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Server is the admin API.
type Server struct {
	cfg         Config
	deps        Deps
	log         *zap.Logger
	tokenHashes [][sha256.Size]byte
	addresses   *webhook.AddressPolicy

	// writeMu serializes read-modify-write changes of webhooks within this
	// process, so that two concurrent PATCH requests cannot lose one
	// change.
	writeMu sync.Mutex
}

// New validates cfg and returns a server. It fails when admin.tokens is
// empty.
func New(cfg Config, deps Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(cfg.Tokens) == 0 {
		return nil, errNoTokens
	}
	addresses, err := webhook.NewAddressPolicy(deps.AllowCIDRs)
	if err != nil {
		return nil, err
	}
	if deps.Log == nil {
		deps.Log = zap.NewNop()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}

	s := &Server{cfg: cfg, deps: deps, log: deps.Log.Named("admin"), addresses: addresses}
	for _, t := range cfg.Tokens {
		s.tokenHashes = append(s.tokenHashes, sha256.Sum256([]byte(t)))
	}
	return s, nil
}

// Handler returns the API's routes behind authentication, the body size
// limit and the request timeout.
func (s *Server) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(s.recoverPanics, s.authenticate, s.limitRequest)
	r.NotFound(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "", "no such endpoint")
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "", "method not allowed on this endpoint")
	})

	r.Route("/v1/webhooks", func(r chi.Router) {
		r.Post("/", s.createWebhook)
		r.Get("/", s.listWebhooks)
		r.Route("/{id}", func(r chi.Router) {
			r.Get("/", s.getWebhook)
			r.Patch("/", s.patchWebhook)
			r.Delete("/", s.deleteWebhook)
			r.Post("/disable", s.disableWebhook)
			r.Post("/enable", s.enableWebhook)
			r.Post("/rotate-secret", s.rotateSecret)
			r.Get("/deliveries", s.listDeliveries)
			r.Post("/replay", s.replay)
		})
	})
	return r
}

// authenticate rejects requests without a valid bearer token with 401.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.validToken(r.Header.Get("Authorization")) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="clickstream-admin"`)
			writeError(w, http.StatusUnauthorized, "", "missing or invalid bearer token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// validToken compares the token of an Authorization header with every
// configured token in constant time. Comparing SHA-256 digests keeps the
// time independent of the tokens' lengths too.
func (s *Server) validToken(header string) bool {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))

	match := 0
	for _, want := range s.tokenHashes {
		match |= subtle.ConstantTimeCompare(got[:], want[:])
	}
	return match == 1
}

// limitRequest bounds the body size and the handling time of a request.
func (s *Server) limitRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// recoverPanics turns a panic in a handler into a logged 500.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("admin handler panicked", zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.Any("panic", v), zap.Stack("stack"))
				writeError(w, http.StatusInternalServerError, "", "internal error")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// now returns the current time in UTC, truncated to milliseconds like
// every timestamp of the API.
func (s *Server) now() time.Time {
	return s.deps.Now().UTC().Truncate(time.Millisecond)
}
