package edge

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
	"go.uber.org/zap"

	"github.com/clickstream/clickstream/pkg/catalog"
	"github.com/clickstream/clickstream/pkg/event"
)

// maxReportedErrors is the number of line errors an ingest response lists;
// the rejected count covers all of them.
const maxReportedErrors = 20

// ingestResponse is the body of a POST /v1/hits response.
type ingestResponse struct {
	Accepted int         `json:"accepted"`
	Rejected int         `json:"rejected"`
	Errors   []lineError `json:"errors"`
}

// lineError names a rejected NDJSON line, counting from 1.
type lineError struct {
	Line  int    `json:"line"`
	Error string `json:"error"`
}

type errorBody struct {
	Error string `json:"error"`
}

// serveIngest is the POST /v1/hits handler. It accepts NDJSON raw hits
// that other edges made, one per line, from a client with a token of
// edge.ingestTokens. Each hit is validated with event.DecodeHit and
// checkIngested.
// A hit must carry its clickId, since the edge that made it may have sent
// it on already. Blank lines are skipped. The whole body is read before any
// hit is published, so a body over MaxBodyBytes (413) or one cut by the read
// timeout publishes nothing. The status is 200 when at least one hit was
// accepted, 503 when valid hits were dropped because the queue and spool
// are full, and 400 otherwise.
func (s *Server) serveIngest(ctx *fasthttp.RequestCtx) {
	if !s.authorizeIngest(ctx) {
		return
	}
	select {
	case s.ingestSlots <- struct{}{}:
		defer func() { <-s.ingestSlots }()
	default:
		ctx.Response.Header.Set("Retry-After", "1")
		s.writeIngestError(ctx, http.StatusServiceUnavailable, "too many concurrent POST /v1/hits requests; retry later")
		return
	}

	if enc := ctx.Request.Header.ContentEncoding(); len(enc) > 0 && !bytes.EqualFold(enc, []byte("identity")) {
		s.writeIngestError(ctx, http.StatusUnsupportedMediaType,
			fmt.Sprintf("Content-Encoding %q is not supported: send plain NDJSON", enc))
		return
	}

	// ContentLength is -1 for a chunked body and -2 for none.
	if int64(ctx.Request.Header.ContentLength()) > s.cfg.MaxBodyBytes {
		s.writeIngestError(ctx, http.StatusRequestEntityTooLarge, s.bodyTooLargeMessage())
		return
	}

	body := &maxBytesReader{r: requestBody(ctx), n: s.cfg.MaxBodyBytes}
	hits, resp, err := s.readHits(body)
	if err != nil {
		s.rejectBody(ctx, err)
		return
	}

	s.publishIngested(hits, &resp)
	s.m.ingestLines.WithLabelValues("accepted").Add(float64(resp.Accepted))
	s.m.ingestLines.WithLabelValues("rejected").Add(float64(resp.Rejected))

	status := http.StatusOK
	switch {
	case resp.Accepted > 0:
	case len(hits) > 0:
		status = http.StatusServiceUnavailable
		ctx.Response.Header.Set("Retry-After", "1")
	default:
		status = http.StatusBadRequest
	}
	s.m.ingestRequests.WithLabelValues(strconv.Itoa(status)).Inc()
	writeJSONFast(ctx, status, resp)
}

// authorizeIngest checks the bearer token of a POST /v1/hits request
// before its body is read, and writes the error response when it fails.
func (s *Server) authorizeIngest(ctx *fasthttp.RequestCtx) bool {
	if len(s.ingestTokenHashes) == 0 {
		s.writeIngestError(ctx, http.StatusForbidden, "POST /v1/hits is turned off on this edge: list the forwarding edges' tokens in edge.ingestTokens")
		return false
	}
	if s.validIngestToken(&ctx.Request.Header) {
		return true
	}
	s.logInvalidIngestToken(ctx)
	ctx.Response.Header.Set(fasthttp.HeaderWWWAuthenticate, "Bearer")
	s.writeIngestError(ctx, http.StatusUnauthorized, "missing or invalid bearer token in the Authorization header")
	return false
}

func (s *Server) logInvalidIngestToken(ctx *fasthttp.RequestCtx) {
	s.ingestLog.Warn("rejected POST /v1/hits without a valid bearer token", zap.String("peer", ctx.RemoteIP().String()))
}

// validIngestToken reports whether the Authorization header of h carries a
// token of edge.ingestTokens.
func (s *Server) validIngestToken(h *fasthttp.RequestHeader) bool {
	token, ok := bearerToken(h.Peek(fasthttp.HeaderAuthorization))
	if !ok {
		return false
	}
	sum := sha256.Sum256(token)
	for _, want := range s.ingestTokenHashes {
		if subtle.ConstantTimeCompare(sum[:], want[:]) == 1 {
			return true
		}
	}
	return false
}

// bearerToken returns the token of an Authorization header value in the
// Bearer scheme. RFC 9110 makes the scheme name case-insensitive (section
// 11.1) and separates it from the token by one or more spaces (11.4).
func bearerToken(authorization []byte) ([]byte, bool) {
	const scheme = "Bearer"
	if len(authorization) <= len(scheme) || authorization[len(scheme)] != ' ' ||
		!bytes.EqualFold(authorization[:len(scheme)], []byte(scheme)) {
		return nil, false
	}
	return bytes.TrimLeft(authorization[len(scheme):], " "), true
}

// expectContinue is the fasthttp ExpectHandler. It returns 100 when a
// request with "Expect: 100-continue" may send its body. For a POST
// /v1/hits that authorizeIngest would reject, it returns the final status
// instead, so the client does not upload the body. That status is 403 while
// ingest is off, as without Expect, and 417 without a valid token. fasthttp
// sends it with an empty body and no header of ours, and closes the
// connection. A 401 would need a WWW-Authenticate header, hence 417.
func (s *Server) expectContinue(ctx *fasthttp.RequestCtx) int {
	h := &ctx.Request.Header
	path, _, _ := bytes.Cut(h.RequestURI(), []byte{'?'})
	if !h.IsPost() || string(path) != "/v1/hits" {
		return http.StatusContinue
	}

	var status int
	switch {
	case len(s.ingestTokenHashes) == 0:
		status = http.StatusForbidden
	case !s.validIngestToken(h):
		s.logInvalidIngestToken(ctx)
		status = http.StatusExpectationFailed
	default:
		return http.StatusContinue
	}
	s.m.ingestRequests.WithLabelValues(strconv.Itoa(status)).Inc()
	return status
}

// requestBody returns the body of the request in ctx. The server streams
// request bodies (fasthttp.Server.StreamRequestBody), so the handler reads
// the body from the connection as it decodes it. A request built in memory,
// as in tests, has its whole body in ctx.
func requestBody(ctx *fasthttp.RequestCtx) io.Reader {
	if r := ctx.RequestBodyStream(); r != nil {
		return r
	}
	return bytes.NewReader(ctx.Request.Body())
}

// errBodyTooLarge is the error of maxBytesReader for a body over its limit.
var errBodyTooLarge = errors.New("request body too large")

// maxBytesReader reads at most n bytes from r and returns errBodyTooLarge
// when r holds more.
type maxBytesReader struct {
	r io.Reader
	// n is the number of bytes still allowed, or -1 after the limit was
	// passed.
	n int64
}

func (m *maxBytesReader) Read(p []byte) (int, error) {
	if m.n < 0 {
		return 0, errBodyTooLarge
	}
	// One byte more than allowed separates a body of exactly the limit from a
	// longer one.
	if int64(len(p)) > m.n+1 {
		p = p[:m.n+1]
	}
	n, err := m.r.Read(p)
	if int64(n) <= m.n {
		m.n -= int64(n)
		return n, err
	}
	n = int(m.n)
	m.n = -1
	return n, errBodyTooLarge
}

// ingestedHit is a valid hit and its line number.
type ingestedHit struct {
	line int
	hit  event.RawHit
}

// readHits decodes every line of body. The error is for the body as a
// whole (too large, unreadable); bad lines are in the response.
func (s *Server) readHits(body io.Reader) ([]ingestedHit, ingestResponse, error) {
	resp := ingestResponse{Errors: []lineError{}}
	var hits []ingestedHit

	// One byte more than the maximum line, for the newline.
	br := bufio.NewReaderSize(body, s.cfg.MaxLineBytes+1)
	for line := 1; ; line++ {
		data, tooLong, err := readLine(br)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, resp, err
		}

		switch {
		case tooLong:
			resp.reject(line, fmt.Sprintf("line is longer than %d bytes", s.cfg.MaxLineBytes))
		case len(bytes.TrimSpace(data)) == 0:
		default:
			h, derr := event.DecodeHit(data)
			if derr == nil {
				derr = s.checkIngested(&h)
			}
			if derr != nil {
				resp.reject(line, derr.Error())
			} else {
				hits = append(hits, ingestedHit{line: line, hit: h})
			}
		}

		if err != nil {
			return hits, resp, nil
		}
	}
}

// maxIngestFutureSkew is how far in the future, by this edge's clock, the
// timestamp of a forwarded hit may be: more than the clock skew of servers
// that run NTP, far less than would distort the counters.
const maxIngestFutureSkew = 10 * time.Minute

// checkIngested checks a forwarded hit against this edge's catalog and
// clock, so that a hit names a resource that exists, with its own type,
// project, domain and key, and is not dated in the future. A domain in
// another case or in Unicode, as edges of earlier versions send it, matches
// too and is replaced with the catalog's ASCII form.
func (s *Server) checkIngested(h *event.RawHit) error {
	res, ok := s.cat.Get(h.Resource.ID)
	if ok {
		if domain, err := catalog.NormalizeDomain(h.Resource.Domain); err == nil && domain == res.Ref.Domain {
			h.Resource.Domain = domain
		}
	}
	switch {
	case !ok:
		return fmt.Errorf("%w: resource.id %q is not in this edge's catalog", event.ErrInvalidHit, h.Resource.ID)
	case res.Ref.Type != h.Resource.Type:
		return fmt.Errorf("%w: resource.type %q does not match the catalog's %q", event.ErrInvalidHit, h.Resource.Type, res.Ref.Type)
	case res.Ref.ProjectID != h.Resource.ProjectID:
		return fmt.Errorf("%w: resource.projectId %q does not match the catalog's %q", event.ErrInvalidHit, h.Resource.ProjectID, res.Ref.ProjectID)
	case res.Ref.Domain != h.Resource.Domain || res.Ref.Key != h.Resource.Key:
		return fmt.Errorf("%w: resource.domain and resource.key %q do not match the catalog's %q", event.ErrInvalidHit,
			h.Resource.Domain+"/"+h.Resource.Key, res.Ref.Domain+"/"+res.Ref.Key)
	case h.Timestamp.After(s.now().Add(maxIngestFutureSkew)):
		return fmt.Errorf("%w: timestamp %s is more than %s ahead of this edge's clock", event.ErrInvalidHit,
			h.Timestamp.UTC().Format(event.TimeLayout), maxIngestFutureSkew)
	}
	return nil
}

// readLine returns the next line without its newline. A line longer than
// the reader's buffer is consumed and reported as tooLong. err is io.EOF
// after the last line.
func readLine(br *bufio.Reader) (line []byte, tooLong bool, err error) {
	line, err = br.ReadSlice('\n')
	for errors.Is(err, bufio.ErrBufferFull) {
		tooLong = true
		_, err = br.ReadSlice('\n')
	}
	if tooLong {
		return nil, true, err
	}
	return bytes.TrimSuffix(line, []byte("\n")), false, err
}

func (r *ingestResponse) reject(line int, msg string) {
	r.Rejected++
	if len(r.Errors) < maxReportedErrors {
		r.Errors = append(r.Errors, lineError{Line: line, Error: msg})
	}
}

func (s *Server) publishIngested(hits []ingestedHit, resp *ingestResponse) {
	for _, ih := range hits {
		if err := s.pub.Publish(ih.hit); err != nil {
			s.m.publisherRejected.Inc()
			resp.reject(ih.line, err.Error())
			continue
		}
		resp.Accepted++
	}
}

func (s *Server) rejectBody(ctx *fasthttp.RequestCtx, err error) {
	if errors.Is(err, errBodyTooLarge) {
		s.writeIngestError(ctx, http.StatusRequestEntityTooLarge, s.bodyTooLargeMessage())
		return
	}
	// Usually the read deadline (ReadTimeout) or a client that went away;
	// the response may not reach it.
	s.log.Debug("reading a POST /v1/hits body failed", zap.Error(err))
	s.writeIngestError(ctx, http.StatusBadRequest, "reading the request body failed: "+err.Error())
}

func (s *Server) bodyTooLargeMessage() string {
	return fmt.Sprintf("request body is larger than %d bytes; send fewer hits per request", s.cfg.MaxBodyBytes)
}

func (s *Server) writeIngestError(ctx *fasthttp.RequestCtx, status int, msg string) {
	s.m.ingestRequests.WithLabelValues(strconv.Itoa(status)).Inc()
	writeJSONFast(ctx, status, errorBody{Error: msg})
}

// writeJSON writes v as the JSON body of a net/http response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// The bodies are plain structs of strings and ints.
		http.Error(w, "encoding the response failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// writeJSONFast writes v as the JSON body of a fasthttp response.
func writeJSONFast(ctx *fasthttp.RequestCtx, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// The bodies are plain structs of strings and ints.
		ctx.Error("encoding the response failed", http.StatusInternalServerError)
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetStatusCode(status)
	ctx.SetBody(append(body, '\n'))
}
