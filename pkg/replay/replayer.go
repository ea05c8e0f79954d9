package replay

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Target is a short link the replayer sends requests to.
type Target struct {
	Domain string
	Key    string
}

// ParseTarget parses "domain/key", such as "go.example.com/abc". The key
// may contain further slashes.
func ParseTarget(s string) (Target, error) {
	domain, key, ok := strings.Cut(s, "/")
	if !ok || domain == "" || key == "" {
		return Target{}, fmt.Errorf("invalid replay target %q: must be domain/key", s)
	}
	return Target{Domain: strings.ToLower(domain), Key: key}, nil
}

// Config configures a Replayer.
type Config struct {
	// BaseURL is the edge, such as "http://127.0.0.1:8080".
	BaseURL string
	// Targets are the short links to spread the log over. Each log path
	// always goes to the same target.
	Targets []Target
	// QRFraction is the share of log paths, from 0 to 1, whose requests
	// carry ?qr=1. The choice is stable per path, like the target.
	QRFraction float64
	// Concurrency is the number of requests in flight. Default 8.
	Concurrency int
	// Timeout bounds one request. Default 10s.
	Timeout time.Duration
	// MaxLineBytes is the longest log line read; longer lines count as
	// parse errors. Default 64 KiB.
	MaxLineBytes int
}

// Result counts what a replay did.
type Result struct {
	// Lines is the number of non-blank log lines read.
	Lines int
	// Sent is the number of requests that got a response.
	Sent int
	// ByStatus counts the responses by HTTP status code.
	ByStatus map[int]int
	// Errors counts requests that got no response.
	Errors int
	// ParseErrors counts lines ParseCombined rejected or that were too long.
	ParseErrors int
	// Truncated counts lines cut off inside their user agent; they are
	// sent with the user agent as far as the line goes.
	Truncated int
	// FirstErrors keeps the first few request and parse errors, for a report.
	FirstErrors []string
}

// maxFirstErrors is the number of errors Result.FirstErrors keeps.
const maxFirstErrors = 10

// Replayer sends the entries of a combined log to an edge.
type Replayer struct {
	cfg    Config
	base   *url.URL
	client *http.Client
}

// New checks cfg and returns a Replayer with its own HTTP client, which never
// follows redirects.
func New(cfg Config) (*Replayer, error) {
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("invalid replay base URL %q: must be http://host:port", cfg.BaseURL)
	}
	if len(cfg.Targets) == 0 {
		return nil, errors.New("replay needs at least one target domain/key")
	}
	if cfg.QRFraction < 0 || cfg.QRFraction > 1 {
		return nil, fmt.Errorf("invalid replay QR fraction %v: must be from 0 to 1", cfg.QRFraction)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxLineBytes <= 0 {
		cfg.MaxLineBytes = 64 << 10
	}

	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = cfg.Concurrency
	client := &http.Client{
		Transport: transport,
		Timeout:   cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return &Replayer{cfg: cfg, base: base, client: client}, nil
}

// Replay reads log line by line and sends one request per entry, with at
// most Concurrency requests in flight. Each request is a GET, or a HEAD for
// HEAD lines: the edge serves only those two methods, so every other method
// of the log is sent as GET. The request goes to the short link that the
// log path hashes to, with the link's domain as Host, the log's address in
// X-Forwarded-For and the log's User-Agent and Referer. Replay returns when
// the log is read and every request finished, or early with ctx's error.
func (r *Replayer) Replay(ctx context.Context, log io.Reader) (Result, error) {
	res := Result{ByStatus: map[int]int{}}
	var mu sync.Mutex

	jobs := make(chan Entry, r.cfg.Concurrency)
	var wg sync.WaitGroup
	for range r.cfg.Concurrency {
		wg.Go(func() {
			for e := range jobs {
				status, err := r.send(ctx, e)
				mu.Lock()
				res.record(status, err)
				if e.Truncated {
					res.Truncated++
				}
				mu.Unlock()
			}
		})
	}

	readErr := r.readEntries(ctx, log, jobs, func(err error) {
		mu.Lock()
		res.ParseErrors++
		res.addError(err)
		mu.Unlock()
	}, &res.Lines)
	close(jobs)
	wg.Wait()

	if readErr != nil {
		return res, readErr
	}
	return res, ctx.Err()
}

// readEntries parses log and sends the entries to jobs until the log ends
// or ctx is done. It counts lines in *lines and reports bad ones to
// parseError.
func (r *Replayer) readEntries(ctx context.Context, log io.Reader, jobs chan<- Entry, parseError func(error), lines *int) error {
	br := bufio.NewReaderSize(log, r.cfg.MaxLineBytes+1)
	for {
		line, tooLong, err := readLine(br)
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("reading the log: %w", err)
		}

		if tooLong || strings.TrimSpace(line) != "" {
			*lines++
			r.dispatch(ctx, line, tooLong, jobs, parseError)
		}

		if err != nil || ctx.Err() != nil {
			return nil
		}
	}
}

func (r *Replayer) dispatch(ctx context.Context, line string, tooLong bool, jobs chan<- Entry, parseError func(error)) {
	if tooLong {
		parseError(fmt.Errorf("%w: longer than %d bytes", ErrInvalidLine, r.cfg.MaxLineBytes))
		return
	}
	e, err := ParseCombined(line)
	if err != nil {
		parseError(err)
		return
	}

	select {
	case jobs <- e:
	case <-ctx.Done():
	}
}

// readLine returns the next line without its newline, or tooLong for a line
// longer than the reader's buffer, which it skips. err is io.EOF after the
// last line.
func readLine(br *bufio.Reader) (line string, tooLong bool, err error) {
	b, err := br.ReadSlice('\n')
	for errors.Is(err, bufio.ErrBufferFull) {
		tooLong = true
		_, err = br.ReadSlice('\n')
	}
	if tooLong {
		return "", true, err
	}
	return strings.TrimRight(string(b), "\r\n"), false, err
}

func (res *Result) record(status int, err error) {
	if err != nil {
		res.Errors++
		res.addError(err)
		return
	}
	res.Sent++
	res.ByStatus[status]++
}

func (res *Result) addError(err error) {
	if len(res.FirstErrors) < maxFirstErrors {
		res.FirstErrors = append(res.FirstErrors, err.Error())
	}
}

// send makes the request of e and returns the response status.
func (r *Replayer) send(ctx context.Context, e Entry) (int, error) {
	req, err := r.request(ctx, e)
	if err != nil {
		return 0, err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("sending %s %s for %s: %w", req.Method, req.URL, e.IP, err)
	}
	defer resp.Body.Close()

	// Read a little of the body so the connection can be reused; edge
	// responses are small.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}

// request builds the edge request for e; see Replay.
func (r *Replayer) request(ctx context.Context, e Entry) (*http.Request, error) {
	target, qr := r.pick(e.Path)
	u := *r.base
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + target.Key
	u.RawQuery = ""
	if qr {
		u.RawQuery = "qr=1"
	}

	method := http.MethodGet
	if e.Method == http.MethodHead {
		method = http.MethodHead
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("building the request for %s/%s: %w", target.Domain, target.Key, err)
	}

	req.Host = target.Domain
	req.Header.Set("X-Forwarded-For", e.IP)
	// An empty User-Agent entry makes net/http send none, as the log had.
	req.Header["User-Agent"] = []string{headerValue(e.UserAgent)}
	if e.Referer != "" {
		req.Header.Set("Referer", headerValue(e.Referer))
	}
	return req, nil
}

// pick hashes path to a target, and the other half of the same hash to the
// QR decision, so both are stable across runs and processes.
func (r *Replayer) pick(path string) (Target, bool) {
	h := fnv.New64a()
	_, _ = h.Write([]byte(path))
	sum := mix64(h.Sum64())

	target := r.cfg.Targets[(sum&0xffffffff)%uint64(len(r.cfg.Targets))]
	qr := float64(sum>>32)/float64(1<<32) < r.cfg.QRFraction
	return target, qr
}

// headerValue replaces the control bytes that \xHH escapes in a log can
// produce with spaces, because net/http rejects them in header values.
// Other bytes, invalid UTF-8 included, are sent as they are.
func headerValue(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if isControl(rune(c)) {
			b[i] = ' '
		}
	}
	return string(b)
}

func isControl(c rune) bool {
	return c < 0x20 && c != '\t' || c == 0x7f
}

// mix64 is the 64-bit finalizer of MurmurHash3. FNV-1a alone spreads the
// last bytes of a key poorly into the high bits, and log paths often differ
// only at the end.
func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}
