// Package event defines the records that flow through clickstream: the raw
// hit the edge publishes, the enriched interaction the worker stores and the
// webhook envelope the dispatcher delivers. Their JSON forms are public
// contracts documented in the README.
package event

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/segmentio/encoding/json"
)

// ResourceType is the kind of resource a hit was made on.
type ResourceType string

// The resource types. Their string values appear in raw hits and in ClickHouse.
const (
	ResourceLink   ResourceType = "link"
	ResourceQRCode ResourceType = "qrcode"
	ResourcePage   ResourceType = "page"
)

// Valid reports whether r is one of the known resource types.
func (r ResourceType) Valid() bool {
	return r == ResourceLink || r == ResourceQRCode || r == ResourcePage
}

// ResourceRef identifies the link, QR code or page a hit was made on.
type ResourceRef struct {
	Type      ResourceType `json:"type"`
	ID        string       `json:"id"`
	ProjectID string       `json:"projectId"`
	Domain    string       `json:"domain"`
	Key       string       `json:"key"`
}

// Limits on raw hit fields. Longer values are rejected by Validate, except
// for the user agent, the referer and the URL, which the edge truncates to
// these lengths before publishing.
const (
	MaxUserAgentLen = 1024
	MaxRefererLen   = 2048
	MaxURLLen       = 4096
	MaxIDLen        = 128
)

// The range of hit timestamps that every supported ClickHouse server can
// store: DateTime on 18.16 is a count of seconds in a UInt32, and 0 reads
// back as 0000-00-00 00:00:00. A timestamp outside the range would be
// stored as another time without an error.
var (
	MinTimestamp = time.Unix(1, 0).UTC()
	MaxTimestamp = time.Unix(1<<32-1, 999_999_999).UTC()
)

// RawHit is the record the edge writes to the hits topic, keyed by
// Resource.ID. Unknown JSON fields are ignored when decoding.
type RawHit struct {
	// ClickID is 16 base62 characters made at the edge; it identifies the
	// interaction everywhere downstream.
	ClickID   string      `json:"clickId"`
	Timestamp Time        `json:"timestamp"`
	Method    string      `json:"method"`
	IP        string      `json:"ip"`
	UA        string      `json:"ua"`
	Referer   string      `json:"referer"`
	URL       string      `json:"url"`
	QR        bool        `json:"qr"`
	Resource  ResourceRef `json:"resource"`
}

// ErrInvalidHit is wrapped by every error DecodeHit returns, so callers can
// tell bad input from other failures with errors.Is.
var ErrInvalidHit = errors.New("invalid hit")

// DecodeHit parses and validates one raw hit. The error names the first field
// that is missing or invalid and wraps ErrInvalidHit.
//
// It decodes with github.com/segmentio/encoding/json, which accepts what
// encoding/json accepts for RawHit (decode_json_test.go compares the two)
// in about a quarter of the time. The worker decodes every hit, and
// encoding/json was the largest part of its CPU time per row.
func DecodeHit(b []byte) (RawHit, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return RawHit{}, fmt.Errorf("%w: empty record", ErrInvalidHit)
	}
	if !utf8.Valid(b) {
		return RawHit{}, fmt.Errorf("%w: record is not valid UTF-8", ErrInvalidHit)
	}
	h, err := decodeHitJSON(b)
	if err != nil {
		return h, fmt.Errorf("%w: decoding JSON: %w", ErrInvalidHit, err)
	}
	if err := h.Validate(); err != nil {
		return h, err
	}
	return h, nil
}

// decodeHitJSON is a function of its own because json.Unmarshal moves its
// target to the heap, and DecodeHit's own hit stays on the stack this way.
func decodeHitJSON(b []byte) (RawHit, error) {
	var h RawHit
	err := json.Unmarshal(b, &h)
	return h, err
}

// Validate checks the required fields of a hit. The error names the field and
// wraps ErrInvalidHit.
func (h *RawHit) Validate() error {
	switch {
	case !ValidClickID(h.ClickID):
		return invalidField("clickId", "must be 16 base62 characters", h.ClickID)
	case h.Timestamp.IsZero():
		return invalidField("timestamp", "is missing", "")
	case h.Timestamp.Before(MinTimestamp) || h.Timestamp.After(MaxTimestamp):
		return invalidField("timestamp", "must be from 1970-01-01T00:00:01Z to 2106-02-07T06:28:15Z",
			h.Timestamp.UTC().Format(time.RFC3339Nano))
	case h.Method == "" || len(h.Method) > 16 || !httpToken(h.Method):
		return invalidField("method", "must be an HTTP method", h.Method)
	case h.IP == "":
		return invalidField("ip", "is missing", "")
	case !validIP(h.IP):
		return invalidField("ip", "must be an IPv4 or IPv6 address", h.IP)
	case len(h.UA) > MaxUserAgentLen:
		return invalidField("ua", fmt.Sprintf("is longer than %d bytes", MaxUserAgentLen), "")
	case len(h.Referer) > MaxRefererLen:
		return invalidField("referer", fmt.Sprintf("is longer than %d bytes", MaxRefererLen), "")
	case h.URL == "" || len(h.URL) > MaxURLLen:
		return invalidField("url", fmt.Sprintf("must be 1 to %d bytes", MaxURLLen), "")
	case !h.Resource.Type.Valid():
		return invalidField("resource.type", "must be link, qrcode or page", string(h.Resource.Type))
	case h.Resource.ID == "" || len(h.Resource.ID) > MaxIDLen:
		return invalidField("resource.id", fmt.Sprintf("must be 1 to %d bytes", MaxIDLen), "")
	case h.Resource.ProjectID == "" || len(h.Resource.ProjectID) > MaxIDLen:
		return invalidField("resource.projectId", fmt.Sprintf("must be 1 to %d bytes", MaxIDLen), "")
	}
	return nil
}

// httpToken reports whether s consists of the characters RFC 9110 allows
// in a method name (tchar).
func httpToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

func validIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

func invalidField(field, problem, value string) error {
	if value == "" {
		return fmt.Errorf("%w: %s %s", ErrInvalidHit, field, problem)
	}
	if len(value) > 64 {
		value = value[:64] + "..."
	}
	return fmt.Errorf("%w: %s %s, got %q", ErrInvalidHit, field, problem, value)
}

// TruncateUTF8 returns s cut to at most n bytes without splitting a UTF-8 sequence.
func TruncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// SanitizeUTF8 replaces invalid UTF-8 sequences in s with U+FFFD.
func SanitizeUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
