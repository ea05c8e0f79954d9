// Package receiver is a webhook endpoint for development and tests: it
// verifies both signatures of every delivery against the webhook's secrets
// and counts what it received.
package receiver

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/clickstream/clickstream/pkg/subscription"
	"github.com/clickstream/clickstream/sinks/webhook"
)

// PathPrefix is the path prefix of deliveries: POST /hooks/{webhookID}. The
// webhook id in the path selects the secrets to verify with.
const PathPrefix = "/hooks/"

// maxBody bounds the payload size the receiver reads.
const maxBody = 1 << 20

// maxTrackedIDs bounds the event ids remembered to count repeats; past it
// repeats are no longer detected.
const maxTrackedIDs = 1_000_000

// Stats are the receiver's counters, served as JSON on GET /stats.
type Stats struct {
	Received     int            `json:"received"`
	Verified     int            `json:"verified"`
	BadSignature int            `json:"badSignature"`
	Repeats      int            `json:"repeats"`
	ByEvent      map[string]int `json:"byEvent"`
}

// Receiver is an http.Handler for webhook deliveries.
type Receiver struct {
	webhooks *subscription.Registry
	log      *zap.Logger

	mu     sync.Mutex
	stats  Stats
	seen   map[string]struct{}
	events []json.RawMessage
	keep   int
}

// New returns a receiver that verifies against the secrets in webhooks and
// keeps the last keep payloads for Payloads.
func New(webhooks *subscription.Registry, keep int, log *zap.Logger) *Receiver {
	return &Receiver{
		webhooks: webhooks,
		log:      log.Named("receiver"),
		stats:    Stats{ByEvent: map[string]int{}},
		seen:     map[string]struct{}{},
		keep:     keep,
	}
}

// ServeHTTP implements http.Handler.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch {
	case req.Method == http.MethodGet && req.URL.Path == "/stats":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(r.Stats())
	case req.Method == http.MethodPost && strings.HasPrefix(req.URL.Path, PathPrefix):
		r.receive(w, req)
	default:
		http.NotFound(w, req)
	}
}

func (r *Receiver) receive(w http.ResponseWriter, req *http.Request) {
	webhookID := strings.TrimPrefix(req.URL.Path, PathPrefix)
	body, err := io.ReadAll(io.LimitReader(req.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		http.Error(w, "body unreadable or larger than 1 MiB", http.StatusRequestEntityTooLarge)
		return
	}

	verr := r.verify(webhookID, req.Header, body)
	var env struct {
		ID    string `json:"id"`
		Event string `json:"event"`
	}
	_ = json.Unmarshal(body, &env)
	r.record(env.ID, env.Event, body, verr == nil)

	if verr != nil {
		r.log.Warn("delivery with an invalid signature", zap.String("webhookId", webhookID), zap.String("eventId", env.ID), zap.Error(verr))
		http.Error(w, verr.Error(), http.StatusUnauthorized)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *Receiver) verify(webhookID string, h http.Header, body []byte) error {
	wh, ok := r.webhooks.Get(webhookID)
	if !ok {
		return errors.New("unknown webhook id in the path")
	}
	if err := webhook.VerifyCodeQR(wh.Secrets[0], body, h.Get(webhook.HeaderCodeQRSignature)); err != nil {
		return err
	}
	return webhook.VerifyStandard(h, body, wh.Secrets, time.Now(), webhook.DefaultTolerance)
}

func (r *Receiver) record(id, eventType string, body []byte, verified bool) {
	r.mu.Lock()
	defer r.mu.Unlock()

	r.stats.Received++
	if !verified {
		r.stats.BadSignature++
		return
	}
	r.stats.Verified++
	r.stats.ByEvent[eventType]++
	if _, dup := r.seen[id]; dup {
		r.stats.Repeats++
	} else if len(r.seen) < maxTrackedIDs {
		r.seen[id] = struct{}{}
	}

	if r.keep > 0 {
		if len(r.events) == r.keep {
			r.events = r.events[1:]
		}
		r.events = append(r.events, append(json.RawMessage(nil), body...))
	}
}

// Stats returns a copy of the counters.
func (r *Receiver) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()

	s := r.stats
	s.ByEvent = make(map[string]int, len(r.stats.ByEvent))
	for k, v := range r.stats.ByEvent {
		s.ByEvent[k] = v
	}
	return s
}

// Payloads returns the last payloads received with a valid signature.
func (r *Receiver) Payloads() []json.RawMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]json.RawMessage(nil), r.events...)
}
