package enrich

import (
	"strings"

	"github.com/clickstream/clickstream/pkg/event"
)

// refererHost returns the host of a Referer header in lower case, without a
// leading "www.", a port or user information. It returns event.DirectReferer
// when the header is empty or is not an absolute URL with a host.
//
// It does not use net/url because url.Parse allocates on every call and the
// enricher only needs the host.
func refererHost(referer string) string {
	_, rest, ok := strings.Cut(referer, "://")
	if !ok || !validScheme(referer[:len(referer)-len(rest)-3]) {
		return event.DirectReferer
	}

	if end := strings.IndexAny(rest, "/?#"); end >= 0 {
		rest = rest[:end]
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		rest = rest[at+1:]
	}

	host := stripPort(rest)
	if !validHost(host) {
		return event.DirectReferer
	}

	host = lowerASCII(host)
	host = strings.TrimPrefix(host, "www.")
	if host == "" {
		return event.DirectReferer
	}
	return host
}

func validScheme(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

// stripPort removes a ":port" suffix and the brackets of an IPv6 literal.
func stripPort(hostport string) string {
	if strings.HasPrefix(hostport, "[") {
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return ""
		}
		return hostport[1:end]
	}
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 {
		return hostport[:i]
	}
	return hostport
}

// validHost accepts the characters of DNS names, IPv4 and IPv6 literals and
// percent-encoded or UTF-8 international names. It rejects spaces, control
// characters and delimiters, which show that the header is not a URL.
func validHost(host string) bool {
	if host == "" {
		return false
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '-', c == '_', c == ':', c == '%', c >= 0x80:
		default:
			return false
		}
	}
	return true
}

// lowerASCII returns s with ASCII letters in lower case. It allocates only
// when s contains an upper-case letter.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
