package edge

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
	"go.uber.org/zap"

	"github.com/clickstream/clickstream/pkg/catalog"
	"github.com/clickstream/clickstream/pkg/event"
)

// qrParam is the query parameter that marks a request as a QR code scan. It
// is removed from the query that is passed on to the destination.
const qrParam = "qr"

// noStore is the Cache-Control value of every redirect. Responses share
// the slice, which is safe because net/http copies the header at
// WriteHeader and only reads the values, and because Header.Add on a full
// slice appends to a copy.
var noStore = []string{"no-store"}

// redirectTarget is the outcome of a short-link request: 302 to location,
// or the status and message of an error response.
type redirectTarget struct {
	status   int
	message  string
	res      *catalog.Resource
	location string
	// scan is true for a QR code scan: qr=1 in the query, or a QR code's
	// own short link.
	scan bool
}

// hitRequest holds what a hit records of the request beyond the short link.
type hitRequest struct {
	method string
	peer   netip.Addr
	// forwardedFor returns the X-Forwarded-For header lines. It is called
	// only when the peer is a trusted proxy.
	forwardedFor func() []string
	userAgent    string
	referer      string
}

// handleRedirect responds to GET and HEAD on a short link with 302 to the
// destination (or to the expired URL of an expired link), 410 for an expired
// link without one, and 404 for a domain and key the catalog does not
// contain. The package documentation describes the query and qr handling.
// The fasthttp server sends clean short-link paths to redirectFast instead;
// this net/http handler serves the rest, through the ServeMux.
func (s *Server) handleRedirect(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	t := s.resolveRedirect(r.Host, r.PathValue("key"), r.URL.RawQuery, now)
	if t.status != http.StatusFound {
		s.writeRedirectError(w, t)
		return
	}

	// The keys are canonical already, so Header.Set would only check them
	// again.
	h := w.Header()
	h["Location"] = []string{t.location}
	h["Cache-Control"] = noStore
	w.WriteHeader(http.StatusFound)
	s.m.redirected.Inc()

	s.publish(s.newHit(hitRequest{
		method:       r.Method,
		peer:         peerAddr(r.RemoteAddr),
		forwardedFor: func() []string { return r.Header.Values("X-Forwarded-For") },
		userAgent:    r.UserAgent(),
		referer:      r.Referer(),
	}, t, now))
}

// redirectFast responds to a GET or HEAD request for the short link key, as
// handleRedirect does.
func (s *Server) redirectFast(ctx *fasthttp.RequestCtx, key string) {
	now := s.now()
	t := s.resolveRedirect(string(ctx.Host()), key, string(ctx.URI().QueryString()), now)
	if t.status != http.StatusFound {
		s.m.redirects.WithLabelValues(statusLabel(t.status)).Inc()
		ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
		writeJSONFast(ctx, t.status, errorBody{Error: t.message})
		return
	}

	ctx.Response.Header.Set(fasthttp.HeaderLocation, t.location)
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
	ctx.SetStatusCode(http.StatusFound)
	s.m.redirected.Inc()

	method := http.MethodGet
	if ctx.IsHead() {
		method = http.MethodHead
	}
	s.publish(s.newHit(hitRequest{
		method: method,
		peer:   netPeerAddr(ctx.RemoteAddr()),
		forwardedFor: func() []string {
			return headerStrings(ctx.Request.Header.PeekAll(fasthttp.HeaderXForwardedFor))
		},
		userAgent: string(ctx.UserAgent()),
		referer:   string(ctx.Referer()),
	}, t, now))
}

// headerStrings copies header values to strings.
func headerStrings(values [][]byte) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

// resolveRedirect looks up the short link of host and key and builds the
// destination of its redirect, with the request's query merged in.
func (s *Server) resolveRedirect(host, key, rawQuery string, now time.Time) redirectTarget {
	res, ok := s.cat.Lookup(requestDomain(host), key)
	if !ok || key == "" {
		return redirectTarget{status: http.StatusNotFound, message: "short link not found"}
	}

	dest := res.Destination(now)
	if dest == "" {
		return redirectTarget{status: http.StatusGone, message: "short link expired"}
	}

	scan, query := splitQRParam(rawQuery)
	return redirectTarget{
		status:   http.StatusFound,
		res:      res,
		location: mergeQuery(dest, escapeQuery(query)),
		scan:     scan || res.Ref.Type == event.ResourceQRCode,
	}
}

func (s *Server) writeRedirectError(w http.ResponseWriter, t redirectTarget) {
	s.m.redirects.WithLabelValues(statusLabel(t.status)).Inc()
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	writeJSON(w, t.status, errorBody{Error: t.message})
}

func statusLabel(status int) string {
	switch status {
	case http.StatusFound:
		return "302"
	case http.StatusNotFound:
		return "404"
	case http.StatusGone:
		return "410"
	}
	return http.StatusText(status)
}

// requestDomain returns the catalog domain of a Host header: without the
// port and a trailing dot, lower-cased. A host with non-ASCII bytes, which
// a few clients send in place of the punycode form, is converted with
// catalog.NormalizeDomain. One that is not a valid domain name is returned
// lower-cased and so matches no catalog domain.
func requestDomain(host string) string {
	// A host without a colon has no port. Checking first skips the error
	// that SplitHostPort allocates for it, the common case.
	if strings.IndexByte(host, ':') >= 0 {
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
	}
	host = strings.TrimSuffix(host, ".")
	for i := range len(host) {
		if host[i] >= utf8.RuneSelf {
			if ascii, err := catalog.NormalizeDomain(host); err == nil {
				return ascii
			}
			break
		}
	}
	return strings.ToLower(host)
}

// splitQRParam removes every qr parameter from a raw query and reports
// whether one of them was "1" or "true" in any case. The other parameters
// keep their order and encoding.
func splitQRParam(rawQuery string) (scan bool, rest string) {
	// Fast path: no parameter can be named qr, even percent-encoded.
	if !strings.Contains(rawQuery, qrParam) && !strings.Contains(rawQuery, "%") {
		return false, rawQuery
	}

	kept := make([]string, 0, strings.Count(rawQuery, "&")+1)
	for part := range strings.SplitSeq(rawQuery, "&") {
		name, value, _ := strings.Cut(part, "=")
		if unescapeQuery(name) != qrParam {
			kept = append(kept, part)
			continue
		}
		v := unescapeQuery(value)
		scan = scan || v == "1" || strings.EqualFold(v, "true")
	}
	return scan, strings.Join(kept, "&")
}

// escapeQuery percent-encodes the bytes that RFC 3986 does not allow in a
// query, such as raw UTF-8, controls and spaces, so that Location is a URI.
func escapeQuery(query string) string {
	i := 0
	for i < len(query) && queryByteAllowed(query[i]) {
		i++
	}
	if i == len(query) {
		return query
	}

	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(query) + 16)
	b.WriteString(query[:i])
	for ; i < len(query); i++ {
		c := query[i]
		if queryByteAllowed(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0x0F])
	}
	return b.String()
}

// queryByteAllowed reports whether c may appear unencoded in a URI query.
// The "%" of an existing escape is kept as it is.
func queryByteAllowed(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@/?%", c) >= 0
}

func unescapeQuery(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	u, err := url.QueryUnescape(s)
	if err != nil {
		return s
	}
	return u
}

// mergeQuery appends the raw query of the request to dest. Destination
// parameters that the request also sets are removed first, so the request
// wins. All other parameters keep their order and encoding, and the
// fragment stays last.
func mergeQuery(dest, query string) string {
	if query == "" {
		return dest
	}

	base, fragment, hasFragment := strings.Cut(dest, "#")
	path, destQuery, _ := strings.Cut(base, "?")

	var b strings.Builder
	b.Grow(len(dest) + len(query) + 2)
	b.WriteString(path)
	b.WriteByte('?')
	if kept := removeParams(destQuery, query); kept != "" {
		b.WriteString(kept)
		b.WriteByte('&')
	}
	b.WriteString(query)
	if hasFragment {
		b.WriteByte('#')
		b.WriteString(fragment)
	}
	return b.String()
}

// removeParams returns the parameters of rawQuery whose names do not occur
// in override.
func removeParams(rawQuery, override string) string {
	if rawQuery == "" {
		return ""
	}
	names := map[string]bool{}
	for part := range strings.SplitSeq(override, "&") {
		name, _, _ := strings.Cut(part, "=")
		names[unescapeQuery(name)] = true
	}

	kept := make([]string, 0, strings.Count(rawQuery, "&")+1)
	for part := range strings.SplitSeq(rawQuery, "&") {
		name, _, _ := strings.Cut(part, "=")
		if part != "" && !names[unescapeQuery(name)] {
			kept = append(kept, part)
		}
	}
	return strings.Join(kept, "&")
}

// newHit builds the raw hit of a redirect to t. The user agent, the referer
// and the URL are cut to the raw hit limits (event.MaxUserAgentLen,
// event.MaxRefererLen, event.MaxURLLen) and invalid UTF-8 in them is
// replaced with U+FFFD; both are counted.
func (s *Server) newHit(r hitRequest, t redirectTarget, now time.Time) event.RawHit {
	return event.RawHit{
		ClickID:   event.NewClickID(),
		Timestamp: event.NewTime(now),
		Method:    r.method,
		IP:        s.resolveClientIP(r),
		UA:        s.limitField("ua", r.userAgent, event.MaxUserAgentLen),
		Referer:   s.limitField("referer", r.referer, event.MaxRefererLen),
		URL:       s.limitField("url", t.location, event.MaxURLLen),
		QR:        t.scan,
		Resource:  t.res.Ref,
	}
}

func (s *Server) resolveClientIP(r hitRequest) string {
	addr, source := s.clientIP.resolve(r.peer, r.forwardedFor)
	if source == forwardedForInvalid {
		s.m.forwardedInvalid.Inc()
	}
	if !addr.IsValid() {
		// Only a listener that is not TCP gives no peer address; Run
		// always listens on TCP.
		return "unknown"
	}
	return addr.String()
}

// limitField cuts v to at most limit bytes of valid UTF-8.
func (s *Server) limitField(field, v string, limit int) string {
	if len(v) > limit {
		s.m.truncated.WithLabelValues(field).Inc()
		cut := event.TruncateUTF8(v, limit)
		if len(cut) < limit-utf8.UTFMax {
			// TruncateUTF8 walked back over more than one rune's worth of
			// continuation bytes, so v is not valid UTF-8 there. Cut at
			// the limit and let the sanitizing below repair the end.
			cut = v[:limit]
		}
		v = cut
	}

	if !utf8.ValidString(v) {
		s.m.sanitized.WithLabelValues(field).Inc()
		v = event.TruncateUTF8(event.SanitizeUTF8(v), limit)
	}
	return v
}

func (s *Server) publish(h event.RawHit) {
	if err := s.pub.Publish(h); err != nil {
		// The publisher counts and logs lost hits itself.
		s.m.publisherRejected.Inc()
		s.log.Debug("hit not published", zap.String("clickId", h.ClickID), zap.Error(err))
	}
}
