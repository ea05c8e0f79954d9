//go:build integration

package main

// Helpers of the fault tests in faults_integration_test.go. Each test runs
// the real clickstream binary as subprocesses, so SIGKILL really kills a
// stage, and stops and starts the Kafka broker and the ClickHouse server
// with the scripts under deploy/.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	chdriver "github.com/ClickHouse/clickhouse-go/v2"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/clickstream/clickstream/pkg/event"
	"github.com/clickstream/clickstream/pkg/kafka"
	"github.com/clickstream/clickstream/pkg/kafka/kafkatest"
	"github.com/clickstream/clickstream/pkg/subscription"
)

// binary is the clickstream executable that the fault tests start. It is
// built once per test binary run, on first use, so tests of this package
// that never start a subprocess do not pay for the build.
var binary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary.dir != "" {
		_ = os.RemoveAll(binary.dir)
	}
	os.Exit(code)
}

// clickstreamBinary returns the path of the built clickstream command.
func clickstreamBinary(t testing.TB) string {
	t.Helper()
	binary.once.Do(func() {
		binary.dir, binary.err = os.MkdirTemp("", "clickstream-faults-")
		if binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "clickstream")
		out, err := exec.Command("go", "build", "-o", binary.path, ".").CombinedOutput()
		if err != nil {
			binary.err = fmt.Errorf("go build ./cmd/clickstream: %w\n%s", err, out)
		}
	})
	require.NoError(t, binary.err)
	return binary.path
}

// faultStack is the environment of one fault test: fresh topics, a fresh
// ClickHouse database, consumer groups of its own and a temporary folder
// for seed files, spools and process logs.
type faultStack struct {
	t        *testing.T
	kafka    kafka.Config
	database string
	dir      string
	// env holds the CLICKSTREAM_* variables every subprocess gets.
	env map[string]string
	db  chdriver.Conn

	mu    sync.Mutex
	procs []*process
}

// newFaultStack creates the topics with partitions partitions and a webhook
// file without webhooks. The database is created by migrate and dropped
// when the test ends.
func newFaultStack(t *testing.T, partitions int) *faultStack {
	t.Helper()
	kcfg := kafkatest.Real(t, partitions)
	suffix := kafkatest.RandomSuffix()
	s := &faultStack{
		t:        t,
		kafka:    kcfg,
		database: "faults_" + suffix,
		dir:      t.TempDir(),
	}

	webhooks := filepath.Join(s.dir, "webhooks.json")
	s.writeWebhooks(webhooks, nil)
	s.env = map[string]string{
		"CLICKSTREAM_LOG_LEVEL":             "info",
		"CLICKSTREAM_LOG_FORMAT":            "json",
		"CLICKSTREAM_METRICS_LISTEN":        "",
		"CLICKSTREAM_KAFKA_BROKERS":         strings.Join(kcfg.Brokers, ","),
		"CLICKSTREAM_KAFKA_PARTITIONS":      strconv.Itoa(partitions),
		"CLICKSTREAM_CLICKHOUSE_ADDR":       clickHouseAddr(),
		"CLICKSTREAM_CLICKHOUSE_DATABASE":   s.database,
		"CLICKSTREAM_ENRICH_GEOIP_CITY":     absPath(t, "../../testdata/geoip/GeoIP2-City-Test.mmdb"),
		"CLICKSTREAM_CATALOG_FILE":          absPath(t, "../../configs/catalog.yaml"),
		"CLICKSTREAM_WEBHOOKS_FILE":         webhooks,
		"CLICKSTREAM_WORKER_GROUP":          "workers-" + suffix,
		"CLICKSTREAM_WORKER_BATCHSIZE":      "500",
		"CLICKSTREAM_WORKER_FLUSHINTERVAL":  "200ms",
		"CLICKSTREAM_DISPATCHER_GROUP":      "dispatchers-" + suffix,
		"CLICKSTREAM_DISPATCHER_ALLOWCIDRS": "127.0.0.0/8",
		"CLICKSTREAM_EDGE_TRUSTEDPROXIES":   "127.0.0.1/32",
	}
	for name, topic := range topicVariables(kcfg.Topics) {
		s.env[name] = topic
	}

	conn, err := chdriver.Open(&chdriver.Options{
		Addr: []string{clickHouseAddr()},
		Auth: chdriver.Auth{Database: "default", Username: "default"},
		// The tests query while ClickHouse restarts; a dead connection
		// should fail fast and be replaced.
		DialTimeout: 2 * time.Second,
		ReadTimeout: 30 * time.Second,
	})
	require.NoError(t, err)
	s.db = conn
	t.Cleanup(func() {
		s.stopAll()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+s.database)
		conn.Close()
	})
	return s
}

// topicVariables returns the CLICKSTREAM_KAFKA_TOPICS_* variable of every
// topic name in topics, so the subprocesses use the test's fresh topics
// whatever topics the configuration lists.
func topicVariables(topics kafka.Topics) map[string]string {
	out := map[string]string{}
	v := reflect.ValueOf(topics)
	for i := range v.NumField() {
		tag, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ",")
		if name, ok := v.Field(i).Interface().(string); ok && tag != "" {
			out["CLICKSTREAM_KAFKA_TOPICS_"+strings.ToUpper(tag)] = name
		}
	}
	return out
}

func absPath(t testing.TB, rel string) string {
	t.Helper()
	p, err := filepath.Abs(rel)
	require.NoError(t, err)
	_, err = os.Stat(p)
	require.NoError(t, err)
	return p
}

// writeWebhooks writes a webhook seed file with hooks.
func (s *faultStack) writeWebhooks(path string, hooks []subscription.Webhook) {
	s.t.Helper()
	if hooks == nil {
		hooks = []subscription.Webhook{}
	}
	b, err := json.Marshal(subscription.File{Webhooks: hooks})
	require.NoError(s.t, err)
	require.NoError(s.t, os.WriteFile(path, b, 0o600))
}

// migrate creates the database and tables with `clickstream migrate`.
func (s *faultStack) migrate() {
	s.t.Helper()
	p := s.start("migrate", nil, "migrate")
	select {
	case <-p.done:
	case <-time.After(90 * time.Second):
		s.t.Fatalf("clickstream migrate did not finish within 90s; log %s", p.logPath)
	}
	require.NoError(s.t, p.err, "clickstream migrate failed:\n%s", p.tail(20))
}

// process is one running clickstream subprocess. Its standard error (the
// JSON log) and output go to logPath.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	// err and exitedAt are set before done is closed.
	err      error
	exitedAt time.Time
}

// start runs `clickstream args...` with the stack's environment plus extra.
// The process is killed when the test ends if it still runs.
func (s *faultStack) start(name string, extra map[string]string, args ...string) *process {
	s.t.Helper()
	bin := clickstreamBinary(s.t)

	s.mu.Lock()
	n := len(s.procs)
	s.mu.Unlock()
	logPath := filepath.Join(s.dir, fmt.Sprintf("%02d-%s.log", n, name))
	logFile, err := os.Create(logPath)
	require.NoError(s.t, err)

	cmd := exec.Command(bin, append(args, "-config=")...)
	cmd.Dir = s.dir
	cmd.Env = s.environ(extra)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	require.NoError(s.t, cmd.Start(), "starting clickstream %s", name)

	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		p.exitedAt = time.Now()
		logFile.Close()
		close(p.done)
	}()

	s.mu.Lock()
	s.procs = append(s.procs, p)
	s.mu.Unlock()
	return p
}

// environ returns the process environment without the caller's CLICKSTREAM_
// variables, so that only the stack's settings and extra apply.
func (s *faultStack) environ(extra map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CLICKSTREAM_") {
			env = append(env, kv)
		}
	}
	for k, v := range s.env {
		if _, ok := extra[k]; !ok {
			env = append(env, k+"="+v)
		}
	}
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}

// stopAll kills the processes that still run and, when the test failed,
// prints the end of every process log.
func (s *faultStack) stopAll() {
	s.mu.Lock()
	procs := append([]*process(nil), s.procs...)
	s.mu.Unlock()

	for _, p := range procs {
		if p.running() {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if s.t.Failed() {
			s.t.Logf("last lines of %s (%s):\n%s", p.name, p.logPath, p.tail(15))
		}
	}
}

func (p *process) pid() int {
	return p.cmd.Process.Pid
}

func (p *process) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// signal sends sig and waits up to timeout for the process to exit. It
// returns the time from the signal to the exit.
func (p *process) signal(t testing.TB, sig syscall.Signal, timeout time.Duration) time.Duration {
	t.Helper()
	sent := time.Now()
	require.NoError(t, p.cmd.Process.Signal(sig), "signalling %s (pid %d)", p.name, p.pid())
	select {
	case <-p.done:
		return p.exitedAt.Sub(sent)
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("%s (pid %d) did not exit within %s after %s", p.name, p.pid(), timeout, sig)
		return 0
	}
}

// rssBytes reads VmRSS from /proc/<pid>/status.
func (p *process) rssBytes() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.pid()))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parsing VmRSS %q: %w", rest, err)
		}
		return kib << 10, nil
	}
	return 0, errors.New("no VmRSS line in /proc status")
}

// logEntries returns the JSON log lines of p whose message is msg.
func (p *process) logEntries(msg string) []map[string]any {
	f, err := os.Open(p.logPath)
	if err != nil {
		return nil
	}
	defer f.Close()

	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var entry map[string]any
		if json.Unmarshal(sc.Bytes(), &entry) == nil && entry["msg"] == msg {
			out = append(out, entry)
		}
	}
	return out
}

// tail returns the last n lines of p's log.
func (p *process) tail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// rssSampler records the maximum resident set size of a process.
type rssSampler struct {
	mu      sync.Mutex
	max     int64
	samples int
	stop    chan struct{}
	done    chan struct{}
}

func sampleRSS(p *process, every time.Duration) *rssSampler {
	r := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			if n, err := p.rssBytes(); err == nil {
				r.mu.Lock()
				r.max = max(r.max, n)
				r.samples++
				r.mu.Unlock()
			}
			select {
			case <-tick.C:
			case <-r.stop:
				return
			}
		}
	}()
	return r
}

// finish stops sampling and returns the maximum and the number of samples.
func (r *rssSampler) finish() (int64, int) {
	close(r.stop)
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.max, r.samples
}

// count runs a query that returns one number; {db} is the test database.
func (s *faultStack) count(query string) (uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var n uint64
	err := s.db.QueryRow(ctx, strings.ReplaceAll(query, "{db}", s.database)).Scan(&n)
	return n, err
}

func (s *faultStack) mustCount(query string) uint64 {
	s.t.Helper()
	n, err := s.count(query)
	require.NoError(s.t, err, query)
	return n
}

// distinct returns the number of distinct click ids stored, or 0 while
// ClickHouse or the table is unavailable.
func (s *faultStack) distinct() uint64 {
	n, _ := s.count("SELECT uniqExact(click_id) FROM {db}.interactions")
	return n
}

// waitDistinct waits until want distinct click ids are stored and returns
// how long that took.
func (s *faultStack) waitDistinct(want uint64, timeout time.Duration) time.Duration {
	s.t.Helper()
	start := time.Now()
	waitUntil(s.t, timeout, fmt.Sprintf("%d distinct click ids in ClickHouse", want), func() bool {
		return s.distinct() >= want
	})
	return time.Since(start)
}

// storedClickIDs returns every distinct click id of the interactions table.
func (s *faultStack) storedClickIDs() map[string]bool {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rows, err := s.db.Query(ctx, "SELECT DISTINCT click_id FROM "+s.database+".interactions")
	require.NoError(s.t, err)
	defer rows.Close()

	ids := map[string]bool{}
	for rows.Next() {
		var id string
		require.NoError(s.t, rows.Scan(&id))
		ids[id] = true
	}
	require.NoError(s.t, rows.Err())
	return ids
}

// storageCounts are the three ways to count the interactions table.
type storageCounts struct {
	rows, distinct, final uint64
}

func (s *faultStack) storageCounts() storageCounts {
	s.t.Helper()
	return storageCounts{
		rows:     s.mustCount("SELECT count() FROM {db}.interactions"),
		distinct: s.mustCount("SELECT uniqExact(click_id) FROM {db}.interactions"),
		final:    s.mustCount("SELECT count() FROM {db}.interactions FINAL"),
	}
}

// requireAllStored checks that the stored click ids are exactly produced.
func (s *faultStack) requireAllStored(produced []string) {
	s.t.Helper()
	stored := s.storedClickIDs()
	missing := 0
	for _, id := range produced {
		if !stored[id] {
			missing++
		}
		delete(stored, id)
	}
	require.Zero(s.t, missing, "produced click ids missing from ClickHouse")
	require.Empty(s.t, stored, "click ids in ClickHouse that were never produced")
}

// newTestHit returns a valid raw hit on one of 60 links of 3 projects,
// timestamped now.
func newTestHit(i int) event.RawHit {
	link := i % 60
	return event.RawHit{
		ClickID:   event.NewClickID(),
		Timestamp: event.NewTime(time.Now()),
		Method:    "GET",
		IP:        fmt.Sprintf("81.2.%d.%d", (i/250)%250, i%250),
		UA:        chromeMac,
		URL:       "https://example.com/landing",
		Resource: event.ResourceRef{
			Type: event.ResourceLink, ID: fmt.Sprintf("link_%02d", link),
			ProjectID: fmt.Sprintf("proj_%d", link%3), Domain: "d.example", Key: strconv.Itoa(link),
		},
	}
}

// hitProducer writes generated hits straight to the hits topic.
type hitProducer struct {
	w *kafkago.Writer
}

func (s *faultStack) newHitProducer() *hitProducer {
	p := &hitProducer{w: kafka.NewWriter(s.kafka, s.kafka.Topics.Hits, kafka.WriterOptions{}, zap.NewNop())}
	s.t.Cleanup(func() { p.w.Close() })
	return p
}

// produce writes total hits at about perSecond, in chunks of a tenth of a
// second, and returns their click ids. A failed write is retried, so the
// same hit may land twice, as with the edge.
func (p *hitProducer) produce(ctx context.Context, total, perSecond int) ([]string, error) {
	ids := make([]string, 0, total)
	chunk := max(1, perSecond/10)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()

	for start := 0; start < total; start += chunk {
		end := min(start+chunk, total)
		msgs := make([]kafkago.Message, 0, end-start)
		for i := start; i < end; i++ {
			h := newTestHit(i)
			b, err := json.Marshal(h)
			if err != nil {
				return ids, err
			}
			ids = append(ids, h.ClickID)
			msgs = append(msgs, kafkago.Message{Key: []byte(h.Resource.ID), Value: b})
		}
		if err := p.write(ctx, msgs); err != nil {
			return ids, err
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ids, ctx.Err()
		}
	}
	return ids, nil
}

func (p *hitProducer) write(ctx context.Context, msgs []kafkago.Message) error {
	var err error
	for attempt := 0; attempt < 30; attempt++ {
		if err = p.w.WriteMessages(ctx, msgs...); err == nil {
			return nil
		}
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return fmt.Errorf("writing %d hits: %w", len(msgs), err)
}

// deployScript returns the path of deploy/<service>/<service>.sh.
func deployScript(t testing.TB, service string) string {
	t.Helper()
	return absPath(t, filepath.Join("..", "..", "deploy", service, service+".sh"))
}

// serviceCommand runs `deploy/<service>/<service>.sh command` with the test's
// environment, so DEPLOY_VAR_DIR and the port variables select the set of
// services, and returns how long it took.
func serviceCommand(t testing.TB, service, command string) time.Duration {
	t.Helper()
	start := time.Now()
	cmd := exec.Command(deployScript(t, service), command)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %s:\n%s", service, command, out)
	took := time.Since(start)
	t.Logf("%s %s took %s: %s", service, command, took.Round(100*time.Millisecond), strings.TrimSpace(lastLine(out)))
	return took
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// statusPort matches the client port in the status line of the deploy
// scripts: "running (pid 1) on 127.0.0.1:9092, ..." for Kafka and
// "running (pid 1), native TCP 127.0.0.1:9000, ..." for ClickHouse.
var statusPort = map[string]*regexp.Regexp{
	"kafka":      regexp.MustCompile(`running \(pid \d+\) on [^ ,]+:(\d+)`),
	"clickhouse": regexp.MustCompile(`native TCP [^ ,]+:(\d+)`),
}

// requireControlledService fails the test unless the deploy script, run
// with the test's environment, controls the service at addr. It keeps a
// fault test from stopping a server other than the one it tests, such as
// the shared one when only CLICKSTREAM_TEST_* point elsewhere.
func requireControlledService(t testing.TB, service, addr string) {
	t.Helper()
	out, err := exec.Command(deployScript(t, service), "status").CombinedOutput()
	require.NoError(t, err, "%s status: the fault tests stop and start the services with the deploy scripts:\n%s", service, out)

	m := statusPort[service].FindSubmatch(out)
	require.NotNil(t, m, "%s status output has no port:\n%s", service, out)
	_, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	require.Equal(t, port, string(m[1]),
		"deploy/%s controls the server on port %s but the tests use %s; set DEPLOY_VAR_DIR and the port variables of deploy/README.md to match",
		service, m[1], addr)
}

// ensureServiceRunning starts the service when a test stopped it and failed
// before starting it again.
func ensureServiceRunning(t testing.TB, service string) {
	t.Cleanup(func() {
		if exec.Command(deployScript(t, service), "status").Run() == nil {
			return
		}
		out, err := exec.Command(deployScript(t, service), "start").CombinedOutput()
		if err != nil {
			t.Errorf("restarting %s after the test failed: %v\n%s", service, err, out)
		}
	})
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// scrapeSum returns the sum of every sample of the metric name at url.
func scrapeSum(url, name string) (float64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}

	var sum float64
	for line := range bytes.SplitSeq(body, []byte("\n")) {
		rest, ok := bytes.CutPrefix(line, []byte(name))
		if !ok || len(rest) == 0 || (rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		fields := bytes.Fields(rest)
		v, err := strconv.ParseFloat(string(fields[len(fields)-1]), 64)
		if err != nil {
			return 0, fmt.Errorf("parsing %s: %w", line, err)
		}
		sum += v
	}
	return sum, nil
}

// edgeProcess is a running `clickstream edge` and its base URL.
type edgeProcess struct {
	*process
	url string
}

// startEdge runs an edge on a free loopback port with its spool in
// spoolDir.
func (s *faultStack) startEdge(spoolDir string, extra map[string]string) *edgeProcess {
	s.t.Helper()
	addr := freeAddr(s.t)
	env := map[string]string{"CLICKSTREAM_EDGE_LISTEN": addr, "CLICKSTREAM_EDGE_SPOOL_DIR": spoolDir, "CLICKSTREAM_EDGE_SERVEMETRICS": "true"}
	for k, v := range extra {
		env[k] = v
	}
	return &edgeProcess{process: s.start("edge", env, "edge"), url: "http://" + addr}
}

// waitServing waits until GET /healthz responds with 200 and returns how
// long that took from the call.
func (e *edgeProcess) waitServing(t *testing.T, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	waitUntil(t, timeout, "the edge to answer /healthz", func() bool {
		require.True(t, e.running(), "the edge exited:\n%s", e.tail(20))
		resp, err := http.Get(e.url + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return time.Since(start)
}

// metric returns the sum of the samples of a metric on the edge's /metrics.
func (e *edgeProcess) metric(t testing.TB, name string) float64 {
	t.Helper()
	v, err := scrapeSum(e.url+"/metrics", name)
	require.NoError(t, err)
	return v
}

// redirectDestination is where codeqr.link/79ys3WA redirects, from
// configs/catalog.yaml. The load appends fr=<request number> to it.
const redirectDestination = "https://github.com/codeqr-io/codeqr"

// redirectLoad sends numbered short-link requests to an edge and records
// which got their 302. The request number travels in the query parameter
// fr, which the edge copies into the stored URL.
type redirectLoad struct {
	client *http.Client
	next   atomic.Int64

	mu         sync.Mutex
	redirected []int
	failures   []string
	maxLatency time.Duration
}

func newRedirectLoad(first int) *redirectLoad {
	l := &redirectLoad{client: &http.Client{
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{MaxIdleConnsPerHost: 64},
	}}
	l.next.Store(int64(first))
	return l
}

// run sends requests to baseURL from workers goroutines at about perSecond
// in total until ctx is done or limit requests were sent by this call
// (0 means no limit).
func (l *redirectLoad) run(ctx context.Context, baseURL string, perSecond, workers, limit int) {
	interval := time.Duration(workers) * time.Second / time.Duration(perSecond)
	end := int64(-1)
	if limit > 0 {
		end = l.next.Load() + int64(limit)
	}

	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				n := l.next.Add(1) - 1
				if end >= 0 && n >= end {
					return
				}
				started := time.Now()
				l.send(baseURL, int(n))
				if wait := interval - time.Since(started); wait > 0 {
					select {
					case <-time.After(wait):
					case <-ctx.Done():
					}
				}
			}
		})
	}
	wg.Wait()
}

func (l *redirectLoad) send(baseURL string, n int) {
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/79ys3WA?fr=%d", baseURL, n), nil)
	if err != nil {
		l.fail(fmt.Sprintf("request %d: %v", n, err))
		return
	}
	req.Host = "codeqr.link"
	req.Header.Set("X-Forwarded-For", fmt.Sprintf("81.2.69.%d", n%250))
	req.Header.Set("User-Agent", chromeMac)

	started := time.Now()
	resp, err := l.client.Do(req)
	took := time.Since(started)
	if err != nil {
		l.fail(fmt.Sprintf("request %d: %v", n, err))
		return
	}
	resp.Body.Close()

	l.mu.Lock()
	defer l.mu.Unlock()
	l.maxLatency = max(l.maxLatency, took)
	if resp.StatusCode != http.StatusFound {
		l.failures = append(l.failures, fmt.Sprintf("request %d: status %d", n, resp.StatusCode))
		return
	}
	l.redirected = append(l.redirected, n)
}

func (l *redirectLoad) fail(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failures = append(l.failures, msg)
}

// result returns the numbers of the redirected requests, the failures and
// the slowest response time.
func (l *redirectLoad) result() ([]int, []string, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int(nil), l.redirected...), append([]string(nil), l.failures...), l.maxLatency
}

// storedRequests returns the number of distinct click ids stored per
// request number of a redirectLoad, read from the fr parameter of the URL.
func (s *faultStack) storedRequests() map[int]uint64 {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rows, err := s.db.Query(ctx, "SELECT url, uniqExact(click_id) FROM "+s.database+".interactions GROUP BY url")
	require.NoError(s.t, err)
	defer rows.Close()

	out := map[int]uint64{}
	for rows.Next() {
		var raw string
		var n uint64
		require.NoError(s.t, rows.Scan(&raw, &n))
		u, err := url.Parse(raw)
		require.NoError(s.t, err)
		fr, err := strconv.Atoi(u.Query().Get("fr"))
		require.NoError(s.t, err, "stored URL %q has no request number", raw)
		out[fr] = n
	}
	require.NoError(s.t, rows.Err())
	return out
}

// requireEachRequestStoredOnce checks that every redirected request is
// stored as exactly one distinct click id, and nothing else is stored.
func (s *faultStack) requireEachRequestStoredOnce(redirected []int) {
	s.t.Helper()
	stored := s.storedRequests()
	missing, doubled := 0, 0
	for _, n := range redirected {
		switch c := stored[n]; {
		case c == 0:
			missing++
		case c > 1:
			doubled++
		}
		delete(stored, n)
	}
	require.Zero(s.t, missing, "redirected requests with no interaction in ClickHouse")
	require.Zero(s.t, doubled, "redirected requests stored under more than one click id")
	require.Empty(s.t, stored, "interactions of requests that were not redirected")
}
