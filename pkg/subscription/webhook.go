// Package subscription holds the webhook subscriptions that interactions are
// matched against. Interaction events are scoped: a webhook fires for a link,
// QR code or page only when its scope names that resource and its triggers
// include the event type.
package subscription

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/clickstream/clickstream/pkg/event"
)

// MaxScopeIDs is the maximum number of ids in each of a webhook's link,
// QR code and page scopes.
const MaxScopeIDs = 1000

// SecretPrefix starts every signing secret; base64 of the random key bytes follows.
const SecretPrefix = "whsec_"

// Webhook is one subscription.
type Webhook struct {
	ID        string `json:"id"`
	ProjectID string `json:"projectId"`
	URL       string `json:"url"`
	// Secrets are the active signing secrets, newest first. During a
	// rotation there are two and every delivery carries a signature for each.
	Secrets   []string `json:"secrets"`
	Triggers  []string `json:"triggers"`
	LinkIDs   []string `json:"linkIds,omitempty"`
	QRCodeIDs []string `json:"qrcodeIds,omitempty"`
	PageIDs   []string `json:"pageIds,omitempty"`
	// DisabledAt is set while the webhook is disabled; it then receives nothing.
	DisabledAt *time.Time `json:"disabledAt,omitempty"`
	// DisabledReason names who disabled the webhook: DisabledManually
	// for the admin API, or the dispatcher's reason ("gone",
	// "consecutive_failures"). Empty while the webhook is enabled.
	DisabledReason string `json:"disabledReason,omitempty"`
	// PreviousSecretExpiresAt is when Secrets[1], the secret that the last
	// rotation replaced, stops signing. The admin API removes it then.
	PreviousSecretExpiresAt *time.Time `json:"previousSecretExpiresAt,omitempty"`
	// CreatedAt and UpdatedAt are set by the admin API; seed files may
	// leave them out.
	CreatedAt time.Time `json:"createdAt,omitzero"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// DisabledManually is the DisabledReason of a webhook disabled through the
// admin API.
const DisabledManually = "manual"

// Enabled reports whether the webhook may receive deliveries.
func (w *Webhook) Enabled() bool {
	return w.DisabledAt == nil
}

// HasTrigger reports whether eventType is among the webhook's triggers.
func (w *Webhook) HasTrigger(eventType string) bool {
	return slices.Contains(w.Triggers, eventType)
}

// scope returns the ids the webhook covers for resources of type t.
func (w *Webhook) scope(t event.ResourceType) []string {
	switch t {
	case event.ResourceLink:
		return w.LinkIDs
	case event.ResourceQRCode:
		return w.QRCodeIDs
	case event.ResourcePage:
		return w.PageIDs
	}
	return nil
}

var interactionTriggers = []string{event.TypeLinkClicked, event.TypeQRCodeScanned, event.TypePageVisited}

// Validate checks every field. The error names the field in the JSON
// spelling so that API clients can point at it.
func (w *Webhook) Validate() error {
	if !strings.HasPrefix(w.ID, "wh_") || len(w.ID) < 4 || len(w.ID) > 64 {
		return &FieldError{Field: "id", Problem: fmt.Sprintf("must start with \"wh_\" and be at most 64 characters, got %q", w.ID)}
	}
	if w.ProjectID == "" {
		return &FieldError{Field: "projectId", Problem: "is missing"}
	}
	if err := validateURL(w.URL); err != nil {
		return err
	}
	if len(w.Secrets) == 0 || len(w.Secrets) > 2 {
		return &FieldError{Field: "secrets", Problem: fmt.Sprintf("must hold one or two secrets, got %d", len(w.Secrets))}
	}
	for i, s := range w.Secrets {
		if _, err := DecodeSecret(s); err != nil {
			return &FieldError{Field: fmt.Sprintf("secrets[%d]", i), Problem: err.Error()}
		}
	}
	if len(w.Triggers) == 0 {
		return &FieldError{Field: "triggers", Problem: "must name at least one of " + strings.Join(interactionTriggers, ", ")}
	}
	for i, t := range w.Triggers {
		if !slices.Contains(interactionTriggers, t) {
			return &FieldError{Field: fmt.Sprintf("triggers[%d]", i), Problem: fmt.Sprintf("must be one of %s, got %q", strings.Join(interactionTriggers, ", "), t)}
		}
	}
	return w.validateScopes()
}

func (w *Webhook) validateScopes() error {
	scopes := []struct {
		field string
		ids   []string
	}{{"linkIds", w.LinkIDs}, {"qrcodeIds", w.QRCodeIDs}, {"pageIds", w.PageIDs}}

	for _, s := range scopes {
		if len(s.ids) > MaxScopeIDs {
			return &FieldError{Field: s.field, Problem: fmt.Sprintf("must hold at most %d ids, got %d", MaxScopeIDs, len(s.ids))}
		}
		for i, id := range s.ids {
			if id == "" || len(id) > event.MaxIDLen {
				return &FieldError{Field: fmt.Sprintf("%s[%d]", s.field, i), Problem: fmt.Sprintf("must be 1 to %d characters", event.MaxIDLen)}
			}
		}
	}
	return nil
}

func validateURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &FieldError{Field: "url", Problem: fmt.Sprintf("must be an absolute http or https URL, got %q", raw)}
	}
	if u.User != nil {
		return &FieldError{Field: "url", Problem: "must not contain credentials"}
	}
	return nil
}

// DecodeSecret returns the key bytes of a "whsec_" secret.
func DecodeSecret(secret string) ([]byte, error) {
	rest, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, fmt.Errorf("must start with %q", SecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("must be %q followed by standard base64: %w", SecretPrefix, err)
	}
	if len(key) < 24 || len(key) > 64 {
		return nil, fmt.Errorf("must encode 24 to 64 bytes, got %d", len(key))
	}
	return key, nil
}

// FieldError is a validation error on one field of a webhook.
type FieldError struct {
	Field   string
	Problem string
}

func (e *FieldError) Error() string {
	return e.Field + ": " + e.Problem
}
