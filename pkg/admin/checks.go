package admin

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/clickstream/clickstream/pkg/catalog"
	"github.com/clickstream/clickstream/pkg/event"
	"github.com/clickstream/clickstream/pkg/subscription"
	"github.com/clickstream/clickstream/sinks/webhook"
)

// ResourceCatalog looks up links, QR codes and pages by id;
// *catalog.Catalog implements it.
type ResourceCatalog interface {
	Get(id string) (*catalog.Resource, bool)
}

// scopeList is one of a webhook's three scopes.
type scopeList struct {
	field        string
	resourceType event.ResourceType
	ids          []string
}

// scopesOf returns the three scopes of hook.
func scopesOf(hook subscription.Webhook) []scopeList {
	return []scopeList{
		{"linkIds", event.ResourceLink, hook.LinkIDs},
		{"qrcodeIds", event.ResourceQRCode, hook.QRCodeIDs},
		{"pageIds", event.ResourcePage, hook.PageIDs},
	}
}

// checkScopes rejects an id in scopes that the catalog does not contain,
// that names a resource of another type, or that belongs to another
// project than projectID. Without a catalog it checks nothing.
//
// NOTE: the catalog follows the catalog topic, so a resource created a
// moment ago may not be in it yet, so the error message suggests a retry.
func (s *Server) checkScopes(projectID string, scopes []scopeList) *apiError {
	if s.deps.Catalog == nil {
		return nil
	}
	for _, sc := range scopes {
		for i, id := range sc.ids {
			field := fmt.Sprintf("%s[%d]", sc.field, i)
			res, ok := s.deps.Catalog.Get(id)
			switch {
			case !ok:
				return badRequest(field, "%s %q not found in the resource catalog; if it was created just now, retry in a few seconds", sc.resourceType, id)
			case res.Ref.Type != sc.resourceType:
				return badRequest(field, "%q is a %s, not a %s", id, res.Ref.Type, sc.resourceType)
			case res.Ref.ProjectID != projectID:
				return badRequest(field, "%s %q belongs to project %q, not to the webhook's project %q", sc.resourceType, id, res.Ref.ProjectID, projectID)
			}
		}
	}
	return nil
}

// checkURLHost rejects a webhook URL with a port outside 1 to 65535, or
// whose host is an IP address that the
// dispatcher would not connect to, or a number that resolvers may read as
// an IPv4 address in a non-standard form (2130706433, 0x7f.1). Host names
// are left to the dispatcher, which checks the resolved address when it
// connects. A URL that does not parse is left to validateWebhook.
func (s *Server) checkURLHost(rawURL string) *apiError {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return badRequest("url", "port must be 1 to 65535, got %q", port)
		}
	}
	host := u.Hostname()
	addr, err := netip.ParseAddr(host)
	if err != nil {
		if numericHost(host) {
			return badRequest("url", "host %q must be a DNS name or an IP address in standard notation", host)
		}
		return nil
	}

	err = s.addresses.Check(addr)
	var refused *webhook.RefusedAddressError
	if errors.As(err, &refused) {
		return badRequest("url", "host %s is an address the dispatcher does not deliver to (%s); use a public address, "+
			"or add the range to dispatcher.allowCIDRs, which cannot allow cloud metadata endpoints", host, refused.Reason)
	}
	if err != nil {
		return badRequest("url", "host %s: %s", host, err.Error())
	}
	return nil
}

// numericHost reports whether the last label of host consists of decimal
// digits or is a 0x hexadecimal number. No top-level domain has that
// form, but inet_aton-style parsers read such hosts as IPv4 addresses.
func numericHost(host string) bool {
	host = strings.TrimSuffix(host, ".")
	last := host[strings.LastIndexByte(host, '.')+1:]
	if last == "" {
		return false
	}
	if hex, ok := strings.CutPrefix(strings.ToLower(last), "0x"); ok {
		return strings.Trim(hex, "0123456789abcdef") == ""
	}
	return strings.Trim(last, "0123456789") == ""
}

// checkWebhookID rejects an id with characters outside [A-Za-z0-9_-].
// The id appears in URL paths, log fields and Kafka keys, where other
// characters need escaping or can be confused with similar-looking ones.
func checkWebhookID(id string) *apiError {
	for i := 0; i < len(id); i++ {
		if !idChar(id[i]) {
			return badRequest("id", "must contain only the characters A-Z, a-z, 0-9, \"_\" and \"-\", got %q", id)
		}
	}
	return nil
}

func idChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}
