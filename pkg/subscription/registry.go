package subscription

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/clickstream/clickstream/pkg/event"
	"github.com/clickstream/clickstream/pkg/yamljson"
)

// Registry is a concurrency-safe set of webhooks indexed by id and by the
// resources in their scopes.
type Registry struct {
	mu         sync.RWMutex
	byID       map[string]*Webhook
	byResource map[string][]*Webhook
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{byID: map[string]*Webhook{}, byResource: map[string][]*Webhook{}}
}

// File is the layout of a webhook seed file (YAML or JSON).
type File struct {
	Webhooks []Webhook `json:"webhooks"`
}

// LoadFile reads a seed file into a new registry, validating every webhook.
func LoadFile(path string) (*Registry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading webhooks: %w", err)
	}

	var f File
	if err := yamljson.Unmarshal(data, &f, true); err != nil {
		return nil, fmt.Errorf("parsing webhooks %s: %w", path, err)
	}

	r := NewRegistry()
	for i := range f.Webhooks {
		if err := r.Put(f.Webhooks[i]); err != nil {
			return nil, fmt.Errorf("webhooks %s: webhooks[%d]: %w", path, i, err)
		}
	}
	return r, nil
}

// Put validates w and adds it, replacing a webhook with the same id.
func (r *Registry) Put(w Webhook) error {
	if err := w.Validate(); err != nil {
		return err
	}

	r.mu.Lock()
	defer r.mu.Unlock()

	r.removeLocked(w.ID)
	r.insertLocked(&w)
	return nil
}

func (r *Registry) insertLocked(w *Webhook) {
	r.byID[w.ID] = w
	for _, ids := range [][]string{w.LinkIDs, w.QRCodeIDs, w.PageIDs} {
		for _, id := range ids {
			r.byResource[id] = append(r.byResource[id], w)
		}
	}
}

// Disable marks the webhook with the given id disabled at the given time,
// in one step under the registry's lock so that a concurrent Put of other
// fields is not lost. It returns the updated webhook, or false when the
// webhook does not exist or is already disabled.
func (r *Registry) Disable(id string, at time.Time, reason string) (Webhook, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()

	old, ok := r.byID[id]
	if !ok || !old.Enabled() {
		return Webhook{}, false
	}
	w := *old
	w.DisabledAt = &at
	w.DisabledReason = reason
	r.removeLocked(id)
	r.insertLocked(&w)
	return w, true
}

// Delete removes the webhook with the given id and reports whether it existed.
func (r *Registry) Delete(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.removeLocked(id)
}

func (r *Registry) removeLocked(id string) bool {
	old, ok := r.byID[id]
	if !ok {
		return false
	}
	delete(r.byID, id)

	for _, ids := range [][]string{old.LinkIDs, old.QRCodeIDs, old.PageIDs} {
		for _, rid := range ids {
			list := r.byResource[rid]
			kept := list[:0:0]
			for _, w := range list {
				if w != old {
					kept = append(kept, w)
				}
			}
			if len(kept) == 0 {
				delete(r.byResource, rid)
			} else {
				r.byResource[rid] = kept
			}
		}
	}
	return true
}

// Get returns a copy of the webhook with the given id.
func (r *Registry) Get(id string) (Webhook, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()

	w, ok := r.byID[id]
	if !ok {
		return Webhook{}, false
	}
	return *w, true
}

// List returns copies of all webhooks, optionally only those of one project.
func (r *Registry) List(projectID string) []Webhook {
	r.mu.RLock()
	defer r.mu.RUnlock()

	out := make([]Webhook, 0, len(r.byID))
	for _, w := range r.byID {
		if projectID == "" || w.ProjectID == projectID {
			out = append(out, *w)
		}
	}
	return out
}

// Match returns the enabled webhooks of the resource's project whose scope
// names the resource and whose triggers include eventType. The result
// shares no memory with the registry.
func (r *Registry) Match(ref event.ResourceRef, eventType string) []Webhook {
	r.mu.RLock()
	defer r.mu.RUnlock()

	var out []Webhook
	for _, w := range r.byResource[ref.ID] {
		if !w.Enabled() || !w.HasTrigger(eventType) || w.ProjectID != ref.ProjectID {
			continue
		}
		for _, id := range w.scope(ref.Type) {
			if id == ref.ID {
				out = append(out, *w)
				break
			}
		}
	}
	return out
}

// NewSecret returns a fresh signing secret: "whsec_" and base64 of 32 random bytes.
func NewSecret() string {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(key)
}
