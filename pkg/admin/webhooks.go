package admin

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"

	"github.com/clickstream/clickstream/pkg/event"
	"github.com/clickstream/clickstream/pkg/subscription"
)

// MaxURLLen is the maximum length of a webhook URL in bytes.
const MaxURLLen = 2048

// webhookView is a webhook as the API returns it. It never carries the
// stored secrets; Secret is set only in the response that created them.
type webhookView struct {
	ID                      string      `json:"id"`
	ProjectID               string      `json:"projectId"`
	URL                     string      `json:"url"`
	Triggers                []string    `json:"triggers"`
	LinkIDs                 []string    `json:"linkIds"`
	QRCodeIDs               []string    `json:"qrcodeIds"`
	PageIDs                 []string    `json:"pageIds"`
	Enabled                 bool        `json:"enabled"`
	DisabledAt              *event.Time `json:"disabledAt"`
	DisabledReason          string      `json:"disabledReason,omitempty"`
	PreviousSecretExpiresAt *event.Time `json:"previousSecretExpiresAt,omitempty"`
	CreatedAt               *event.Time `json:"createdAt,omitempty"`
	UpdatedAt               *event.Time `json:"updatedAt,omitempty"`
	// Secret is the signing secret just created or rotated in.
	Secret string `json:"secret,omitempty"`
}

func viewOf(w subscription.Webhook) webhookView {
	v := webhookView{
		ID: w.ID, ProjectID: w.ProjectID, URL: w.URL,
		Triggers: nonNil(w.Triggers), LinkIDs: nonNil(w.LinkIDs), QRCodeIDs: nonNil(w.QRCodeIDs), PageIDs: nonNil(w.PageIDs),
		Enabled: w.Enabled(), DisabledReason: w.DisabledReason,
		DisabledAt: timePtr(w.DisabledAt), PreviousSecretExpiresAt: timePtr(w.PreviousSecretExpiresAt),
	}
	if !w.CreatedAt.IsZero() {
		v.CreatedAt = timePtr(&w.CreatedAt)
	}
	if !w.UpdatedAt.IsZero() {
		v.UpdatedAt = timePtr(&w.UpdatedAt)
	}
	return v
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func timePtr(t *time.Time) *event.Time {
	if t == nil {
		return nil
	}
	et := event.NewTime(*t)
	return &et
}

// createRequest is the body of POST /v1/webhooks.
type createRequest struct {
	// ID is optional; the server generates "wh_" and 24 random characters.
	ID        string `json:"id"`
	ProjectID string `json:"projectId"`
	URL       string `json:"url"`
	// Secret is optional; the server generates one.
	Secret    string   `json:"secret"`
	Triggers  []string `json:"triggers"`
	LinkIDs   []string `json:"linkIds"`
	QRCodeIDs []string `json:"qrcodeIds"`
	PageIDs   []string `json:"pageIds"`
	// Disabled creates the webhook disabled.
	Disabled bool `json:"disabled"`
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	if e := decodeBody(r, &req, false); e != nil {
		writeAPIError(w, e)
		return
	}

	now := s.now()
	hook := subscription.Webhook{
		ID: req.ID, ProjectID: req.ProjectID, URL: req.URL, Secrets: []string{req.Secret},
		Triggers: req.Triggers, LinkIDs: req.LinkIDs, QRCodeIDs: req.QRCodeIDs, PageIDs: req.PageIDs,
		CreatedAt: now, UpdatedAt: now,
	}
	if hook.ID == "" {
		hook.ID = newWebhookID()
	}
	if req.Secret == "" {
		hook.Secrets = []string{subscription.NewSecret()}
	}
	if req.Disabled {
		hook.DisabledAt, hook.DisabledReason = &now, subscription.DisabledManually
	}
	if e := s.validateNewWebhook(hook); e != nil {
		writeAPIError(w, e)
		return
	}

	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if _, exists := s.deps.Webhooks.Get(hook.ID); exists {
		writeError(w, http.StatusConflict, "id", fmt.Sprintf("webhook %s already exists", hook.ID))
		return
	}
	if !s.store(w, r, hook, "webhook created") {
		return
	}

	view := viewOf(hook)
	view.Secret = hook.Secrets[0]
	w.Header().Set("Location", "/v1/webhooks/"+hook.ID)
	writeJSON(w, http.StatusCreated, view)
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) {
	projectID := r.URL.Query().Get("projectId")
	if len(projectID) > event.MaxIDLen {
		writeError(w, http.StatusBadRequest, "projectId", fmt.Sprintf("must be at most %d characters", event.MaxIDLen))
		return
	}

	hooks := s.deps.Webhooks.List(projectID)
	views := make([]webhookView, len(hooks))
	for i, h := range hooks {
		views[i] = viewOf(h)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": views})
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) {
	hook, ok := s.lookup(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, viewOf(hook))
}

// patchRequest is the body of PATCH /v1/webhooks/{id}. Absent or null
// fields stay as they are, and an empty list clears a scope. A body that
// names no field changes nothing.
type patchRequest struct {
	URL       *string   `json:"url"`
	Triggers  *[]string `json:"triggers"`
	LinkIDs   *[]string `json:"linkIds"`
	QRCodeIDs *[]string `json:"qrcodeIds"`
	PageIDs   *[]string `json:"pageIds"`
}

func (s *Server) patchWebhook(w http.ResponseWriter, r *http.Request) {
	var req patchRequest
	if e := decodeBody(r, &req, false); e != nil {
		if e.Message == "unknown field" {
			e.Message = "cannot be changed; PATCH accepts url, triggers, linkIds, qrcodeIds and pageIds"
		}
		writeAPIError(w, e)
		return
	}

	s.modify(w, r, "webhook updated", func(hook *subscription.Webhook) bool {
		if req.URL != nil {
			hook.URL = *req.URL
		}
		if req.Triggers != nil {
			hook.Triggers = *req.Triggers
		}
		if req.LinkIDs != nil {
			hook.LinkIDs = *req.LinkIDs
		}
		if req.QRCodeIDs != nil {
			hook.QRCodeIDs = *req.QRCodeIDs
		}
		if req.PageIDs != nil {
			hook.PageIDs = *req.PageIDs
		}
		return req != (patchRequest{})
	}, func(hook subscription.Webhook) *apiError {
		return s.checkPatched(hook, req)
	}, "")
}

// checkPatched checks the URL and scopes that a PATCH request sets. The
// ones it leaves alone are not checked again, so that a resource deleted
// from the catalog does not block every later change of the webhook.
func (s *Server) checkPatched(hook subscription.Webhook, req patchRequest) *apiError {
	if req.URL != nil {
		if e := s.checkURLHost(hook.URL); e != nil {
			return e
		}
	}

	set := map[string]bool{"linkIds": req.LinkIDs != nil, "qrcodeIds": req.QRCodeIDs != nil, "pageIds": req.PageIDs != nil}
	var scopes []scopeList
	for _, sc := range scopesOf(hook) {
		if set[sc.field] {
			scopes = append(scopes, sc)
		}
	}
	return s.checkScopes(hook.ProjectID, scopes)
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()

	hook, ok := s.lookup(w, r)
	if !ok {
		return
	}
	if err := s.deps.Webhooks.Delete(r.Context(), hook.ID); err != nil {
		s.writeFailed(w, hook.ID, err)
		return
	}
	s.log.Info("webhook deleted", zap.String("webhookId", hook.ID), zap.String("projectId", hook.ProjectID))
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) disableWebhook(w http.ResponseWriter, r *http.Request) {
	s.modify(w, r, "webhook disabled", func(hook *subscription.Webhook) bool {
		if !hook.Enabled() {
			return false
		}
		now := s.now()
		hook.DisabledAt, hook.DisabledReason = &now, subscription.DisabledManually
		return true
	}, nil, "")
}

func (s *Server) enableWebhook(w http.ResponseWriter, r *http.Request) {
	s.modify(w, r, "webhook enabled", func(hook *subscription.Webhook) bool {
		if hook.Enabled() {
			return false
		}
		hook.DisabledAt, hook.DisabledReason = nil, ""
		return true
	}, nil, "")
}

// rotateRequest is the optional body of POST /v1/webhooks/{id}/rotate-secret.
type rotateRequest struct {
	// Secret is optional; the server generates one.
	Secret string `json:"secret"`
}

// rotateSecret puts a new secret first and keeps the newest old one for
// admin.secretGracePeriod. A rotation during the grace period of an
// earlier one drops the oldest secret at once, because a webhook signs
// with at most two.
func (s *Server) rotateSecret(w http.ResponseWriter, r *http.Request) {
	var req rotateRequest
	if e := decodeBody(r, &req, true); e != nil {
		writeAPIError(w, e)
		return
	}
	secret := req.Secret
	if secret == "" {
		secret = subscription.NewSecret()
	}

	s.modify(w, r, "webhook secret rotated", func(hook *subscription.Webhook) bool {
		if s.cfg.SecretGracePeriod == 0 {
			hook.Secrets, hook.PreviousSecretExpiresAt = []string{secret}, nil
			return true
		}
		expires := s.now().Add(s.cfg.SecretGracePeriod)
		hook.Secrets = []string{secret, hook.Secrets[0]}
		hook.PreviousSecretExpiresAt = &expires
		return true
	}, nil, secret)
}

// modify applies change to the webhook named in the path under writeMu,
// validates the result with validateWebhook and then check, when it is
// not nil, stores it and responds with it. change returns false when
// there is nothing to write; the response is then the webhook as it is.
// newSecret, when set, is returned once in the response.
func (s *Server) modify(w http.ResponseWriter, r *http.Request, logMessage string,
	change func(*subscription.Webhook) bool, check func(subscription.Webhook) *apiError, newSecret string) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()

	hook, ok := s.lookup(w, r)
	if !ok {
		return
	}
	if change(&hook) {
		hook.UpdatedAt = s.now()
		if e := validateWebhook(hook); e != nil {
			writeAPIError(w, e)
			return
		}
		if check != nil {
			if e := check(hook); e != nil {
				writeAPIError(w, e)
				return
			}
		}
		if !s.store(w, r, hook, logMessage) {
			return
		}
	}

	view := viewOf(hook)
	view.Secret = newSecret
	writeJSON(w, http.StatusOK, view)
}

// lookup returns the webhook named in the path, or responds 404.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) (subscription.Webhook, bool) {
	id := chi.URLParam(r, "id")
	hook, ok := s.deps.Webhooks.Get(id)
	if !ok {
		writeError(w, http.StatusNotFound, "id", fmt.Sprintf("webhook %q not found", id))
	}
	return hook, ok
}

// store writes hook to the webhooks topic and logs logMessage, or responds
// with an error.
func (s *Server) store(w http.ResponseWriter, r *http.Request, hook subscription.Webhook, logMessage string) bool {
	if err := s.deps.Webhooks.Put(r.Context(), hook); err != nil {
		s.writeFailed(w, hook.ID, err)
		return false
	}
	s.log.Info(logMessage, zap.String("webhookId", hook.ID), zap.String("projectId", hook.ProjectID), zap.Bool("enabled", hook.Enabled()))
	return true
}

func (s *Server) writeFailed(w http.ResponseWriter, id string, err error) {
	s.log.Error("writing a webhook change to the webhooks topic failed", zap.String("webhookId", id), zap.Error(err))
	writeError(w, http.StatusServiceUnavailable, "", "writing the change to Kafka failed; try again")
}

// validateNewWebhook checks a webhook that a create request names with
// validateWebhook, and also checks the characters of its id, the host of
// its URL and the ids of its scopes against the catalog.
func (s *Server) validateNewWebhook(hook subscription.Webhook) *apiError {
	if e := checkWebhookID(hook.ID); e != nil {
		return e
	}
	if e := validateWebhook(hook); e != nil {
		return e
	}
	if e := s.checkURLHost(hook.URL); e != nil {
		return e
	}
	return s.checkScopes(hook.ProjectID, scopesOf(hook))
}

// validateWebhook checks hook with subscription's rules plus the API's
// own: bounded lengths, no duplicate ids, and a non-empty scope for every
// trigger, without which the webhook would never fire.
func validateWebhook(hook subscription.Webhook) *apiError {
	if err := hook.Validate(); err != nil {
		return fieldError(err)
	}
	if len(hook.ProjectID) > event.MaxIDLen {
		return badRequest("projectId", "must be at most %d characters", event.MaxIDLen)
	}
	if len(hook.URL) > MaxURLLen {
		return badRequest("url", "must be at most %d bytes, got %d", MaxURLLen, len(hook.URL))
	}
	if len(hook.Secrets) == 2 && hook.Secrets[0] == hook.Secrets[1] {
		return badRequest("secret", "must differ from the secret it replaces")
	}

	lists := []struct {
		field string
		ids   []string
	}{{"triggers", hook.Triggers}, {"linkIds", hook.LinkIDs}, {"qrcodeIds", hook.QRCodeIDs}, {"pageIds", hook.PageIDs}}
	for _, l := range lists {
		if e := checkDuplicates(l.field, l.ids); e != nil {
			return e
		}
	}

	scopes := []struct {
		trigger, field, noun string
		ids                  []string
	}{
		{event.TypeLinkClicked, "linkIds", "link", hook.LinkIDs},
		{event.TypeQRCodeScanned, "qrcodeIds", "QR code", hook.QRCodeIDs},
		{event.TypePageVisited, "pageIds", "page", hook.PageIDs},
	}
	for _, sc := range scopes {
		if hook.HasTrigger(sc.trigger) && len(sc.ids) == 0 {
			return badRequest(sc.field, "must name at least one %s for the trigger %s", sc.noun, sc.trigger)
		}
	}
	return nil
}

// checkDuplicates rejects a list that names a value twice: the registry
// would index the webhook twice under it and deliver each event twice.
func checkDuplicates(field string, values []string) *apiError {
	first := make(map[string]int, len(values))
	for i, v := range values {
		if j, ok := first[v]; ok {
			return badRequest(fmt.Sprintf("%s[%d]", field, i), "repeats %s[%d] (%q)", field, j, v)
		}
		first[v] = i
	}
	return nil
}

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newWebhookID returns "wh_" and 24 random base62 characters.
func newWebhookID() string {
	out := make([]byte, 0, 27)
	out = append(out, "wh_"...)
	var buf [32]byte
	for len(out) < cap(out) {
		if _, err := rand.Read(buf[:]); err != nil {
			panic("crypto/rand failed: " + err.Error())
		}
		for _, b := range buf {
			// 248 is the largest multiple of 62 below 256; redrawing
			// larger bytes keeps the characters uniform.
			if b < 248 && len(out) < cap(out) {
				out = append(out, idAlphabet[b%62])
			}
		}
	}
	return string(out)
}
