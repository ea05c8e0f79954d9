// Package catalog holds the resources that hits are made on: links, QR codes
// and pages. The edge resolves domain and key through it; the worker takes
// the full objects for webhook payloads from it. A seed file fills it at
// start and change events (link.created, link.updated, link.deleted,
// qrcode.*, page.*) keep it current.
package catalog

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/idna"

	"github.com/clickstream/clickstream/pkg/event"
	"github.com/clickstream/clickstream/pkg/yamljson"
)

// Resource is one catalog entry. Exactly one of Link, QRCode and Page is set.
// A Resource is immutable once stored: updates replace the pointer.
type Resource struct {
	// Ref is what a hit records of the resource. Its Domain is the ASCII
	// form that NormalizeDomain returns, while Link, QRCode and Page keep
	// the domain as the platform wrote it, for webhook payloads.
	Ref    event.ResourceRef
	Link   *event.Link
	QRCode *event.QRCode
	Page   *event.Page
}

// Destination returns the URL the edge redirects to at time now: the
// expired URL for an expired link (or "" when it has none), otherwise the
// resource's URL.
func (r *Resource) Destination(now time.Time) string {
	switch {
	case r.Link != nil:
		if r.Link.ExpiresAt != nil && !now.Before(r.Link.ExpiresAt.Time) {
			if r.Link.ExpiredURL != nil {
				return *r.Link.ExpiredURL
			}
			return ""
		}
		return r.Link.URL
	case r.QRCode != nil:
		return r.QRCode.URL
	case r.Page != nil:
		return r.Page.URL
	}
	return ""
}

// Seed is the layout of a catalog seed file (YAML or JSON). Objects use the
// key names of the webhook contract.
type Seed struct {
	Links   []event.Link   `json:"links"`
	QRCodes []event.QRCode `json:"qrcodes"`
	Pages   []event.Page   `json:"pages"`
}

// Catalog is a concurrency-safe index of resources by id and by domain and key.
type Catalog struct {
	mu     sync.RWMutex
	byID   map[string]*Resource
	byPath map[string]*Resource
}

// New returns an empty catalog.
func New() *Catalog {
	return &Catalog{byID: map[string]*Resource{}, byPath: map[string]*Resource{}}
}

// LoadFile reads a seed file into a new catalog. Every error names the file
// and the entry.
func LoadFile(path string) (*Catalog, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading catalog: %w", err)
	}

	var seed Seed
	if err := yamljson.Unmarshal(data, &seed, true); err != nil {
		return nil, fmt.Errorf("parsing catalog %s: %w", path, err)
	}

	c := New()
	if err := c.Load(seed); err != nil {
		return nil, fmt.Errorf("catalog %s: %w", path, err)
	}
	return c, nil
}

// Load adds every resource of seed, failing on the first invalid entry.
func (c *Catalog) Load(seed Seed) error {
	for i := range seed.Links {
		if err := c.PutLink(seed.Links[i]); err != nil {
			return fmt.Errorf("links[%d]: %w", i, err)
		}
	}
	for i := range seed.QRCodes {
		if err := c.PutQRCode(seed.QRCodes[i]); err != nil {
			return fmt.Errorf("qrcodes[%d]: %w", i, err)
		}
	}
	for i := range seed.Pages {
		if err := c.PutPage(seed.Pages[i]); err != nil {
			return fmt.Errorf("pages[%d]: %w", i, err)
		}
	}
	return nil
}

// PutLink adds or replaces a link.
func (c *Catalog) PutLink(l event.Link) error {
	domain, err := checkCommon(l.ID, l.ProjectID, l.Domain, l.Key, l.URL)
	if err != nil {
		return err
	}
	ref := event.ResourceRef{Type: event.ResourceLink, ID: l.ID, ProjectID: l.ProjectID, Domain: domain, Key: l.Key}
	c.put(&Resource{Ref: ref, Link: &l})
	return nil
}

// PutQRCode adds or replaces a QR code.
func (c *Catalog) PutQRCode(q event.QRCode) error {
	domain, err := checkCommon(q.ID, q.ProjectID, q.Domain, q.Key, q.URL)
	if err != nil {
		return err
	}
	ref := event.ResourceRef{Type: event.ResourceQRCode, ID: q.ID, ProjectID: q.ProjectID, Domain: domain, Key: q.Key}
	c.put(&Resource{Ref: ref, QRCode: &q})
	return nil
}

// PutPage adds or replaces a page.
func (c *Catalog) PutPage(p event.Page) error {
	domain, err := checkCommon(p.ID, p.ProjectID, p.Domain, p.Key, p.URL)
	if err != nil {
		return err
	}
	ref := event.ResourceRef{Type: event.ResourcePage, ID: p.ID, ProjectID: p.ProjectID, Domain: domain, Key: p.Key}
	c.put(&Resource{Ref: ref, Page: &p})
	return nil
}

// checkCommon checks the fields that every kind of resource has and
// returns the domain in the form that NormalizeDomain returns.
func checkCommon(id, projectID, domain, key, url string) (string, error) {
	switch {
	case id == "":
		return "", fmt.Errorf("id is missing")
	case projectID == "":
		return "", fmt.Errorf("projectId of %s is missing", id)
	case domain == "":
		return "", fmt.Errorf("domain of %s is missing", id)
	case key == "":
		return "", fmt.Errorf("key of %s is missing", id)
	case url == "":
		return "", fmt.Errorf("url of %s is missing", id)
	case !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://"):
		return "", fmt.Errorf("url of %s must start with http:// or https://, got %q", id, url)
	}

	ascii, err := NormalizeDomain(domain)
	if err != nil {
		return "", fmt.Errorf("domain of %s is not a valid domain name, got %q: %w", id, domain, err)
	}
	return ascii, nil
}

// NormalizeDomain returns the form of a domain that the catalog stores and
// Lookup expects: the ASCII form, lower-cased, without a trailing dot.
// "Bücher.example" becomes "xn--bcher-kva.example", the form browsers send
// in the Host header. It applies the UTS #46 lookup rules of idna.Lookup, as
// the net/http client does to the hosts it dials, so a domain with a space,
// a port or a label that starts with a hyphen is an error.
func NormalizeDomain(domain string) (string, error) {
	return idna.Lookup.ToASCII(strings.TrimSuffix(domain, "."))
}

func (c *Catalog) put(r *Resource) {
	c.mu.Lock()
	defer c.mu.Unlock()

	if old, ok := c.byID[r.Ref.ID]; ok {
		c.removePathLocked(old)
	}
	c.byID[r.Ref.ID] = r
	c.byPath[pathKey(r.Ref.Domain, r.Ref.Key)] = r
}

// Delete removes the resource with the given id, if present.
func (c *Catalog) Delete(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()

	if old, ok := c.byID[id]; ok {
		c.removePathLocked(old)
		delete(c.byID, id)
	}
}

// removePathLocked removes old's domain and key from the path index unless
// another resource has taken them over. Change events of different
// resources can arrive in any order, so a link may claim a key before the
// link that had it moves away or is deleted.
func (c *Catalog) removePathLocked(old *Resource) {
	k := pathKey(old.Ref.Domain, old.Ref.Key)
	if c.byPath[k] == old {
		delete(c.byPath, k)
	}
}

// Lookup returns the resource served at domain and key. Domains compare
// case-insensitively, and a Unicode domain matches only after
// NormalizeDomain. Keys are case-sensitive, as short-link keys are.
func (c *Catalog) Lookup(domain, key string) (*Resource, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()

	r, ok := c.byPath[pathKey(domain, key)]
	return r, ok
}

// Get returns the resource with the given id.
func (c *Catalog) Get(id string) (*Resource, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()

	r, ok := c.byID[id]
	return r, ok
}

// Len returns the number of resources.
func (c *Catalog) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.byID)
}

func pathKey(domain, key string) string {
	return strings.ToLower(domain) + "/" + key
}

// All returns every resource, sorted by id so that callers get a stable order.
func (c *Catalog) All() []*Resource {
	c.mu.RLock()
	out := make([]*Resource, 0, len(c.byID))
	for _, r := range c.byID {
		out = append(out, r)
	}
	c.mu.RUnlock()

	sort.Slice(out, func(i, j int) bool { return out[i].Ref.ID < out[j].Ref.ID })
	return out
}
