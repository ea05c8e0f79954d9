//go:build integration

package main

// Throughput benchmarks on the real broker and server, recorded in
// docs/benchmarks.md. They run only with CLICKSTREAM_BENCH=1, which
// `make bench-pipeline` sets, because they take minutes and their figures
// mean little on a busy machine:
//
//   - TestBenchPipelineScale produces hits to a topic of 6 partitions, then
//     stores the same hits four ways, each into a fresh database:
//     InsertInteractions calls from one goroutine and from one goroutine
//     per partition, one `clickstream worker` and two.
//   - TestBenchEdgeAgainstNginx compares the requests per second of
//     `clickstream edge` with nginx's `return 302` and with bare net/http
//     and fasthttp servers under the same wrk load, and counts every
//     redirected hit in Kafka afterwards.
//
// Run them against a second set of services (deploy/README.md) so that no
// one else's test shares the broker and the server. Settings:
//
//	CLICKSTREAM_BENCH_HITS            hits of the pipeline runs (300000)
//	CLICKSTREAM_BENCH_BATCH_SIZE      rows per insert and worker.batchSize (the worker default)
//	CLICKSTREAM_BENCH_GEOIP_CITY      City database ($DEPLOY_VAR_DIR/geoip/GeoLite2-City.mmdb)
//	CLICKSTREAM_BENCH_EDGE_SECONDS    length of each measured wrk run (15)
//	CLICKSTREAM_BENCH_ROUNDS          repetitions of each benchmark (1)
//	CLICKSTREAM_BENCH_CPUPROFILE_DIR  when set, the edge writes a CPU profile there
//	CLICKSTREAM_BENCH_EDGE_BASELINE   when set, a clickstream binary measured beside the edge
//	CLICKSTREAM_BENCH_WORKER_GOMEMLIMIT  when set, the GOMEMLIMIT of the workers alone
//	CLICKSTREAM_BENCH_WORKER_CPUPROFILE_DIR  when set, each worker writes a CPU profile there
//	CLICKSTREAM_BENCH_WORKER_BASELINE  when set, a clickstream binary run as one more single worker

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"
	"go.uber.org/zap"

	"github.com/clickstream/clickstream/enrich"
	"github.com/clickstream/clickstream/pkg/edge"
	"github.com/clickstream/clickstream/pkg/event"
	"github.com/clickstream/clickstream/pkg/kafka"
	"github.com/clickstream/clickstream/pkg/kafka/kafkatest"
	"github.com/clickstream/clickstream/pkg/replay"
	"github.com/clickstream/clickstream/pkg/worker"
	"github.com/clickstream/clickstream/sinks/clickhouse"
)

// benchPartitions is the partition count of the benchmark topics.
const benchPartitions = 6

// requireBench skips the test unless CLICKSTREAM_BENCH=1.
func requireBench(t *testing.T) {
	t.Helper()
	if os.Getenv("CLICKSTREAM_BENCH") != "1" {
		t.Skip("benchmark: set CLICKSTREAM_BENCH=1 or run `make bench-pipeline`")
	}
}

// envInt returns the integer in the environment variable name, or def when
// it is unset.
func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	require.NoError(t, err, "%s must be an integer", name)
	require.Positive(t, n, "%s must be positive", name)
	return n
}

// deployVarDir returns the state folder of the deploy scripts.
func deployVarDir(t testing.TB) string {
	if d := os.Getenv("DEPLOY_VAR_DIR"); d != "" {
		return d
	}
	p, err := filepath.Abs(filepath.Join("..", "..", "var"))
	require.NoError(t, err)
	return p
}

// benchCityDatabase returns the GeoLite2 City database that
// deploy/geoip/fetch.sh installs, or CLICKSTREAM_BENCH_GEOIP_CITY.
func benchCityDatabase(t *testing.T) string {
	t.Helper()
	path := os.Getenv("CLICKSTREAM_BENCH_GEOIP_CITY")
	if path == "" {
		path = filepath.Join(deployVarDir(t), "geoip", "GeoLite2-City.mmdb")
	}
	_, err := os.Stat(path)
	require.NoError(t, err, "the benchmark needs a GeoLite2 City database: run deploy/geoip/fetch.sh")
	return path
}

// machineLoad returns the first three fields of /proc/loadavg.
func machineLoad() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// cpuSeconds returns the user and system CPU time that process pid has used
// so far, from /proc/<pid>/stat.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name in brackets may contain spaces. The fields after it
	// are separated by spaces, and utime and stime are the 12th and 13th.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("unexpected format of /proc/%d/stat: %q", pid, s)
	}
	var ticks float64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return 0, fmt.Errorf("parsing /proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	// Linux reports these in USER_HZ, which is 100 on every architecture
	// Go supports.
	return ticks / 100, nil
}

// serviceCPU reads the CPU time of the Kafka broker and the ClickHouse
// server that the deploy scripts run, through their pid files. A service
// whose pid file cannot be read is left out.
type serviceCPU map[string]float64

func readServiceCPU(t testing.TB) serviceCPU {
	out := serviceCPU{}
	for name, file := range map[string]string{
		"kafka":      filepath.Join(deployVarDir(t), "kafka", "kafka.pid"),
		"clickhouse": filepath.Join(deployVarDir(t), "clickhouse", "clickhouse-server.pid"),
	} {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			continue
		}
		if s, err := cpuSeconds(pid); err == nil {
			out[name] = s
		}
	}
	return out
}

// since returns the CPU seconds each service used after start.
func (c serviceCPU) since(start serviceCPU) serviceCPU {
	out := serviceCPU{}
	for name, s := range c {
		if s0, ok := start[name]; ok {
			out[name] = s - s0
		}
	}
	return out
}

// logHits returns total raw hits built from the requests of
// testdata/logs/apache_logs, cycled in log order. Client address, user agent
// and referer come from the log. The link is one of 60 of 3 projects, and
// the timestamps are spread over the last total milliseconds.
func logHits(t *testing.T, total int) []event.RawHit {
	t.Helper()
	f, err := os.Open(absPath(t, "../../testdata/logs/apache_logs"))
	require.NoError(t, err)
	defer f.Close()

	var entries []replay.Entry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if e, err := replay.ParseCombined(sc.Text()); err == nil {
			entries = append(entries, e)
		}
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, entries)

	start := time.Now().Add(-time.Duration(total) * time.Millisecond)
	hits := make([]event.RawHit, total)
	for i := range hits {
		e := entries[i%len(entries)]
		h := newTestHit(i)
		h.Timestamp = event.NewTime(start.Add(time.Duration(i) * time.Millisecond))
		h.IP = e.IP
		h.UA = event.TruncateUTF8(event.SanitizeUTF8(e.UserAgent), event.MaxUserAgentLen)
		h.Referer = event.TruncateUTF8(event.SanitizeUTF8(e.Referer), event.MaxRefererLen)
		hits[i] = h
	}
	return hits
}

// produceHits writes hits to the hits topic of s.
func produceHits(t *testing.T, s *faultStack, hits []event.RawHit) {
	t.Helper()
	w := kafka.NewWriter(s.kafka, s.kafka.Topics.Hits, kafka.WriterOptions{BatchSize: 10000}, zap.NewNop())
	defer w.Close()

	const chunk = 10000
	for start := 0; start < len(hits); start += chunk {
		msgs := make([]kafkago.Message, 0, chunk)
		for _, h := range hits[start:min(start+chunk, len(hits))] {
			b, err := json.Marshal(h)
			require.NoError(t, err)
			msgs = append(msgs, kafkago.Message{Key: []byte(h.Resource.ID), Value: b})
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := w.WriteMessages(ctx, msgs...)
		cancel()
		require.NoError(t, err, "producing hits %d-%d", start, start+len(msgs)-1)
	}
}

// insertBatch is one InsertInteractions call: up to the worker's batch size
// of consecutive records of one partition.
type insertBatch struct {
	rows []event.Enriched
	src  clickhouse.Source
}

// enrichedBatches reads the hits topic back and enriches every record with
// the worker's enrichment settings, the GeoLite2 City database included, so
// the straight inserts store the rows the workers store. The rows differ
// only in the repeat mark, which the worker sets and this leaves false.
func enrichedBatches(t *testing.T, s *faultStack, city string, total, batchSize int) [][]insertBatch {
	t.Helper()
	msgs := readTopic(t, s.kafka, s.kafka.Topics.Hits)
	require.Equal(t, total, len(msgs), "records read back from the hits topic")

	cfg := enrich.DefaultConfig()
	cfg.GeoIP.City = city
	en, err := enrich.New(cfg, zap.NewNop())
	require.NoError(t, err)
	defer en.Close()

	perPartition := make([][]insertBatch, benchPartitions)
	for start := 0; start < len(msgs); {
		p := msgs[start].Partition
		end := start
		for end < len(msgs) && end-start < batchSize && msgs[end].Partition == p {
			end++
		}
		b := insertBatch{src: clickhouse.Source{Topic: s.kafka.Topics.Hits, Partition: p,
			FirstOffset: msgs[start].Offset, LastOffset: msgs[end-1].Offset}}
		for _, m := range msgs[start:end] {
			hit, err := event.DecodeHit(m.Value)
			require.NoError(t, err)
			b.rows = append(b.rows, en.Enrich(&hit))
			b.src.Offsets = append(b.src.Offsets, m.Offset)
		}
		perPartition[p] = append(perPartition[p], b)
		start = end
	}
	return perPartition
}

// readTopic reads every record of topic, partition by partition, up to the
// last offset each partition had when the call began.
func readTopic(t *testing.T, cfg kafka.Config, topic string) []kafkago.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	var out []kafkago.Message
	for p, last := range lastOffsets(t, cfg, topic) {
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: cfg.Brokers, Topic: topic, Partition: p,
			MinBytes: 1, MaxBytes: 16 << 20, MaxWait: 100 * time.Millisecond})
		for n := int64(0); n < last; n++ {
			m, err := r.FetchMessage(ctx)
			require.NoError(t, err, "reading partition %d of %s at record %d of %d", p, topic, n, last)
			out = append(out, m)
		}
		require.NoError(t, r.Close())
	}
	return out
}

// lastOffsets returns the offset after the last record of each partition of
// topic, by partition id.
func lastOffsets(t *testing.T, cfg kafka.Config, topic string) map[int]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := kafkago.DialContext(ctx, "tcp", cfg.Brokers[0])
	require.NoError(t, err)
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	require.NoError(t, err)

	out := make(map[int]int64, len(parts))
	for _, p := range parts {
		leader, err := kafkago.DialLeader(ctx, "tcp", cfg.Brokers[0], topic, p.ID)
		require.NoError(t, err)
		last, err := leader.ReadLastOffset()
		leader.Close()
		require.NoError(t, err)
		out[p.ID] = last
	}
	return out
}

// phaseResult is the outcome of storing every hit one way.
type phaseResult struct {
	name string
	rows int
	// wall runs from the start of the phase (the worker processes' start)
	// to the poll that saw every row stored.
	wall time.Duration
	// steady runs from the first poll that saw a row stored to the poll
	// that saw all, and steadyRows were stored in it. For the straight
	// inserts it is the time of the inserts alone.
	steady     time.Duration
	steadyRows int
	// workerCPU is the CPU time of the worker processes, peakRSS their
	// largest resident set sizes.
	workerCPU float64
	peakRSS   []int64
	services  serviceCPU
	load      string
}

func (r phaseResult) rate() float64 {
	return float64(r.steadyRows) / r.steady.Seconds()
}

// benchDatabase returns a fresh database name of s that is dropped when the
// test ends.
func (s *faultStack) benchDatabase(t *testing.T, phase string) string {
	t.Helper()
	db := s.database + "_" + phase
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = s.db.Exec(ctx, "DROP DATABASE IF EXISTS "+db)
	})
	return db
}

// waitForMerges waits up to a minute until the server runs no background
// merge, so that one phase's merges do not slow the next one down.
func (s *faultStack) waitForMerges(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		var n uint64
		err := s.db.QueryRow(context.Background(), "SELECT toUInt64(count()) FROM system.merges").Scan(&n)
		require.NoError(t, err)
		if n == 0 {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("background merges still running after a minute; starting anyway")
}

// countRows returns count() of the interactions table in db.
func (s *faultStack) countRows(db string) (uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var n uint64
	err := s.db.QueryRow(ctx, "SELECT count() FROM "+db+".interactions").Scan(&n)
	return n, err
}

// requireStoredOnce checks that db holds total rows with total distinct
// click ids.
func (s *faultStack) requireStoredOnce(t *testing.T, db string, total int) {
	t.Helper()
	var rows, distinct uint64
	err := s.db.QueryRow(context.Background(),
		"SELECT count(), uniqExact(click_id) FROM "+db+".interactions").Scan(&rows, &distinct)
	require.NoError(t, err)
	require.Equal(t, uint64(total), distinct, "distinct click ids in %s", db)
	require.Equal(t, uint64(total), rows, "rows in %s", db)
}

// rawInsert stores batches with InsertInteractions into a fresh database,
// from parallel goroutines, each taking every batch of its partitions in
// turn.
func (s *faultStack) rawInsert(t *testing.T, name string, perPartition [][]insertBatch, parallel int) phaseResult {
	t.Helper()
	db := s.benchDatabase(t, name)
	cfg := clickhouse.DefaultConfig()
	cfg.Addr = []string{clickHouseAddr()}
	cfg.Database = db
	ctx := context.Background()
	c, err := clickhouse.Open(ctx, cfg, zap.NewNop())
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Migrate(ctx))

	total := 0
	for _, batches := range perPartition {
		for _, b := range batches {
			total += len(b.rows)
		}
	}

	s.waitForMerges(t)
	res := phaseResult{name: name, rows: total, load: machineLoad()}
	services := readServiceCPU(t)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, parallel)
	for g := range parallel {
		wg.Go(func() {
			for p := g; p < len(perPartition); p += parallel {
				for _, b := range perPartition[p] {
					if err := c.InsertInteractions(ctx, b.rows, b.src); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	res.wall = time.Since(start)
	res.steady, res.steadyRows = res.wall, total
	res.services = readServiceCPU(t).since(services)
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	s.requireStoredOnce(t, db, total)
	return res
}

// runWorkers starts n workers of a fresh consumer group on the hits topic,
// storing into a fresh database, and waits until they stored total rows.
// The workers run the clickstream binary built from this tree, or baseline
// when it is not empty.
func (s *faultStack) runWorkers(t *testing.T, name string, n, total int, baseline string) phaseResult {
	t.Helper()
	db := s.benchDatabase(t, name)
	extra := map[string]string{
		"CLICKSTREAM_CLICKHOUSE_DATABASE": db,
		"CLICKSTREAM_WORKER_GROUP":        "bench-" + kafkatest.RandomSuffix(),
	}
	m := s.start("migrate-"+name, extra, "migrate")
	select {
	case <-m.done:
	case <-time.After(90 * time.Second):
		t.Fatalf("clickstream migrate did not finish within 90s; log %s", m.logPath)
	}
	require.NoError(t, m.err, "clickstream migrate failed:\n%s", m.tail(20))

	s.waitForMerges(t)
	res := phaseResult{name: name, rows: total, load: machineLoad()}
	services := readServiceCPU(t)
	start := time.Now()
	workers := make([]*process, n)
	samplers := make([]*rssSampler, n)
	for i := range workers {
		workers[i] = s.startBenchWorker(t, fmt.Sprintf("%s-%d", name, i), extra, baseline)
		samplers[i] = sampleRSS(workers[i], 100*time.Millisecond)
	}

	var firstAt time.Time
	var firstRows uint64
	deadline := start.Add(10 * time.Minute)
	for {
		for _, w := range workers {
			require.True(t, w.running(), "worker %s exited:\n%s", w.name, w.tail(20))
		}
		stored, err := s.countRows(db)
		if err == nil && stored > 0 && firstAt.IsZero() {
			firstAt, firstRows = time.Now(), stored
		}
		if err == nil && stored >= uint64(total) {
			break
		}
		require.True(t, time.Now().Before(deadline), "%d of %d rows stored after 10 minutes", stored, total)
		time.Sleep(100 * time.Millisecond)
	}
	doneAt := time.Now()
	res.wall = doneAt.Sub(start)
	res.steady, res.steadyRows = doneAt.Sub(firstAt), total-int(firstRows)
	res.services = readServiceCPU(t).since(services)

	for i, w := range workers {
		cpu, err := cpuSeconds(w.pid())
		require.NoError(t, err)
		res.workerCPU += cpu
		peak, _ := samplers[i].finish()
		res.peakRSS = append(res.peakRSS, peak)
	}
	for _, w := range workers {
		w.signal(t, syscall.SIGTERM, 30*time.Second)
	}

	s.requireStoredOnce(t, db, total)
	return res
}

// benchWorkerProfile is the variable that names the file TestBenchWorkerHelper
// writes the CPU profile to. Like the other helper variables, it does not
// start with CLICKSTREAM_ because the configuration rejects unknown ones.
const benchWorkerProfile = "BENCH_WORKER_CPUPROFILE"

// startBenchWorker starts `clickstream worker` with the stack's environment
// plus extra, from the baseline binary when it is not empty. With
// CLICKSTREAM_BENCH_WORKER_CPUPROFILE_DIR set, the worker of this tree runs
// in TestBenchWorkerHelper of this test binary instead and writes a CPU
// profile named after the process to that folder.
func (s *faultStack) startBenchWorker(t *testing.T, name string, extra map[string]string, baseline string) *process {
	t.Helper()
	if baseline != "" {
		return s.startCommand(name, extra, baseline, "worker", "-config=")
	}
	dir := os.Getenv("CLICKSTREAM_BENCH_WORKER_CPUPROFILE_DIR")
	if dir == "" {
		return s.start(name, extra, "worker")
	}

	env := maps.Clone(extra)
	env[benchWorkerProfile] = filepath.Join(dir, fmt.Sprintf("%s-%d.pprof", name, time.Now().Unix()))
	t.Logf("worker CPU profile: %s", env[benchWorkerProfile])
	self, err := os.Executable()
	require.NoError(t, err)
	return s.startCommand(name, env, self, "-test.run=^TestBenchWorkerHelper$")
}

// TestBenchWorkerHelper runs `clickstream worker` until SIGTERM and writes a
// CPU profile of the whole run to BENCH_WORKER_CPUPROFILE. It runs only in
// a process that startBenchWorker started.
func TestBenchWorkerHelper(t *testing.T) {
	path := os.Getenv(benchWorkerProfile)
	if path == "" {
		t.Skip("run only by TestBenchPipelineScale in a process of its own")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, pprof.StartCPUProfile(f))
	defer pprof.StopCPUProfile()
	require.NoError(t, runWorker(ctx, []string{"-config="}, io.Discard, os.Stderr))
}

func TestBenchPipelineScale(t *testing.T) {
	requireBench(t)
	total := envInt(t, "CLICKSTREAM_BENCH_HITS", 300000)
	rounds := envInt(t, "CLICKSTREAM_BENCH_ROUNDS", 1)
	batchSize := envInt(t, "CLICKSTREAM_BENCH_BATCH_SIZE", worker.DefaultConfig().BatchSize)
	city := benchCityDatabase(t)

	s := newFaultStack(t, benchPartitions)
	s.env["CLICKSTREAM_ENRICH_GEOIP_CITY"] = city
	s.env["CLICKSTREAM_WORKER_BATCHSIZE"] = strconv.Itoa(batchSize)
	s.env["CLICKSTREAM_WORKER_FLUSHINTERVAL"] = worker.DefaultConfig().FlushInterval.String()
	if limit := os.Getenv("CLICKSTREAM_BENCH_WORKER_GOMEMLIMIT"); limit != "" {
		// Not for this process, which holds every enriched row.
		s.env["GOMEMLIMIT"] = limit
	}

	started := time.Now()
	produceHits(t, s, logHits(t, total))
	t.Logf("produced %d hits to %s (%d partitions) in %s", total, s.kafka.Topics.Hits, benchPartitions,
		time.Since(started).Round(time.Millisecond))
	batches := enrichedBatches(t, s, city, total, batchSize)

	// Every round runs the phases in the opposite order of the round
	// before, so a drift in the machine's load favours no phase.
	phases := []func(round int) phaseResult{
		func(r int) phaseResult { return s.rawInsert(t, fmt.Sprintf("raw1_r%d", r), batches, 1) },
		func(r int) phaseResult {
			return s.rawInsert(t, fmt.Sprintf("raw%d_r%d", benchPartitions, r), batches, benchPartitions)
		},
		func(r int) phaseResult { return s.runWorkers(t, fmt.Sprintf("worker1_r%d", r), 1, total, "") },
		func(r int) phaseResult { return s.runWorkers(t, fmt.Sprintf("worker2_r%d", r), 2, total, "") },
	}
	if baseline := os.Getenv("CLICKSTREAM_BENCH_WORKER_BASELINE"); baseline != "" {
		phases = append(phases, func(r int) phaseResult {
			return s.runWorkers(t, fmt.Sprintf("baseline1_r%d", r), 1, total, baseline)
		})
	}
	for round := range rounds {
		results := make([]phaseResult, len(phases))
		for i := range phases {
			j := i
			if round%2 == 1 {
				j = len(phases) - 1 - i
			}
			results[j] = phases[j](round)
			t.Logf("round %d: %s done, %.0f rows/s", round, results[j].name, results[j].rate())
		}
		logPipelineRound(t, round, batchSize, results)
	}
}

// logPipelineRound logs the results of one round as a Markdown table, and
// the ratios of the worker rates to each other and to the straight inserts.
func logPipelineRound(t *testing.T, round, batchSize int, results []phaseResult) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "round %d, %d rows, batches of %d rows\n\n", round, results[0].rows, batchSize)
	b.WriteString("| phase | load before | wall | steady rows/s | worker CPU per row | worker peak RSS | Kafka CPU | ClickHouse CPU |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		var rss []string
		for _, p := range r.peakRSS {
			rss = append(rss, fmt.Sprintf("%.0f MiB", float64(p)/(1<<20)))
		}
		cpuPerRow := "-"
		if r.workerCPU > 0 {
			cpuPerRow = fmt.Sprintf("%.1f µs", r.workerCPU/float64(r.rows)*1e6)
		}
		fmt.Fprintf(&b, "| %s | %s | %.2f s | %.0f | %s | %s | %.1f s | %.1f s |\n",
			r.name, r.load, r.wall.Seconds(), r.rate(), cpuPerRow, strings.Join(rss, ", "),
			r.services["kafka"], r.services["clickhouse"])
	}

	raw1, rawN, w1, w2 := results[0].rate(), results[1].rate(), results[2].rate(), results[3].rate()
	fmt.Fprintf(&b, "\n2 workers / 1 worker: %.2f\n", w2/w1)
	fmt.Fprintf(&b, "1 worker / straight inserts: %.2f (one goroutine), %.2f (%d goroutines)\n", w1/raw1, w1/rawN, benchPartitions)
	fmt.Fprintf(&b, "2 workers / straight inserts: %.2f (one goroutine), %.2f (%d goroutines)\n", w2/raw1, w2/rawN, benchPartitions)
	if len(results) > 4 {
		base := results[4]
		fmt.Fprintf(&b, "baseline worker / straight inserts: %.2f (one goroutine), %.2f (%d goroutines)\n",
			base.rate()/raw1, base.rate()/rawN, benchPartitions)
		fmt.Fprintf(&b, "1 worker / baseline worker: %.2f rows/s, %.2f CPU per row\n",
			w1/base.rate(), results[2].workerCPU/base.workerCPU)
	}
	t.Log("\n" + b.String())
}

// The edge benchmark's load: wrk 4.1 with one thread and 64 connections on
// one short link of configs/catalog.yaml, with a browser's user agent.
const (
	benchEdgeHost = "codeqr.link"
	benchEdgePath = "/79ys3WA"
	benchWarmup   = 3 * time.Second
)

// serverPlacement pins the server under test and wrk to CPUs, or leaves
// them unpinned.
type serverPlacement struct {
	name, short string
	// server and wrk are taskset prefixes; empty runs unpinned.
	server, wrk []string
}

var placements = []serverPlacement{
	{name: "pinned: server on CPU 0, wrk on CPU 1", short: "pinned",
		server: []string{"taskset", "-c", "0"}, wrk: []string{"taskset", "-c", "1"}},
	{name: "unpinned", short: "unpinned"},
}

// wrkResult is what one wrk run printed.
type wrkResult struct {
	requests   int64
	seconds    float64
	perSecond  float64
	latency    time.Duration
	non3xx     int64
	sockErrors string
}

var (
	wrkRequests = regexp.MustCompile(`(\d+) requests in ([\d.]+)(us|ms|s|m)`)
	wrkRate     = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	wrkLatency  = regexp.MustCompile(`Latency\s+([\d.]+)(us|ms|s)`)
	wrkNon3xx   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkSocket   = regexp.MustCompile(`Socket errors: ([^\n]+)`)
)

// runWrk runs wrk against url for d with the placement's prefix.
func runWrk(t *testing.T, prefix []string, url string, d time.Duration) wrkResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	defer cancel()
	args := append(append([]string(nil), prefix...), "wrk", "-t1", "-c64",
		fmt.Sprintf("-d%ds", int(d.Seconds())), "-H", "Host: "+benchEdgeHost, "-H", "User-Agent: "+chromeMac, url)
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	require.NoError(t, err, "%s:\n%s", strings.Join(args, " "), out)
	return parseWrk(t, string(out))
}

func parseWrk(t *testing.T, out string) wrkResult {
	t.Helper()
	var r wrkResult
	m := wrkRequests.FindStringSubmatch(out)
	require.NotNil(t, m, "no request count in the wrk output:\n%s", out)
	r.requests, _ = strconv.ParseInt(m[1], 10, 64)
	r.seconds = parseWrkDuration(m[2], m[3]).Seconds()

	m = wrkRate.FindStringSubmatch(out)
	require.NotNil(t, m, "no Requests/sec in the wrk output:\n%s", out)
	r.perSecond, _ = strconv.ParseFloat(m[1], 64)

	if m = wrkLatency.FindStringSubmatch(out); m != nil {
		r.latency = parseWrkDuration(m[1], m[2])
	}
	if m = wrkNon3xx.FindStringSubmatch(out); m != nil {
		r.non3xx, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m = wrkSocket.FindStringSubmatch(out); m != nil {
		r.sockErrors = m[1]
	}
	return r
}

func parseWrkDuration(value, unit string) time.Duration {
	v, _ := strconv.ParseFloat(value, 64)
	scale := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "m": time.Minute}[unit]
	return time.Duration(v * float64(scale))
}

// startCommand runs argv with the stack's environment plus extra, like
// start, and logs its output to a file of the stack. The process is killed
// when the test ends if it still runs.
func (s *faultStack) startCommand(name string, extra map[string]string, argv ...string) *process {
	s.t.Helper()
	s.mu.Lock()
	n := len(s.procs)
	s.mu.Unlock()
	logPath := filepath.Join(s.dir, fmt.Sprintf("%02d-%s.log", n, name))
	logFile, err := os.Create(logPath)
	require.NoError(s.t, err)

	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = s.dir
	cmd.Env = s.environ(extra)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	require.NoError(s.t, cmd.Start(), "starting %s", strings.Join(argv, " "))

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

// startNginx runs nginx with one worker process that responds to every
// request with the 302 the edge sends, without logging requests.
func (s *faultStack) startNginx(t *testing.T, prefix []string) (*process, string) {
	t.Helper()
	dir := filepath.Join(s.dir, fmt.Sprintf("nginx-%d", time.Now().UnixNano()))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "tmp"), 0o755))
	addr := freeAddr(t)
	conf := fmt.Sprintf(`worker_processes 1;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path %[1]s/tmp/body;
  proxy_temp_path %[1]s/tmp/proxy;
  fastcgi_temp_path %[1]s/tmp/fastcgi;
  uwsgi_temp_path %[1]s/tmp/uwsgi;
  scgi_temp_path %[1]s/tmp/scgi;
  server {
    listen %[2]s;
    location / {
      add_header Cache-Control no-store always;
      return 302 %[3]s;
    }
  }
}
`, dir, addr, redirectDestination)
	confPath := filepath.Join(dir, "nginx.conf")
	require.NoError(t, os.WriteFile(confPath, []byte(conf), 0o644))

	argv := append(append([]string(nil), prefix...), "nginx", "-p", dir, "-c", confPath)
	p := s.startCommand("nginx", nil, argv...)
	url := "http://" + addr
	waitUntil(t, 10*time.Second, "nginx to listen", func() bool {
		require.True(t, p.running(), "nginx exited:\n%s", p.tail(20))
		resp, err := noFollowGet(url + benchEdgePath)
		return err == nil && resp == http.StatusFound
	})
	return p, url
}

// noFollowGet sends one request for the benchmark link and returns the
// status without following a redirect.
func noFollowGet(url string) (int, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Host = benchEdgeHost
	client := &http.Client{Timeout: 2 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// childPIDs returns the children of pid, such as nginx's worker process.
func childPIDs(pid int) []int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return nil
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// processCPU returns the CPU seconds of pid and its children so far.
func processCPU(pid int) float64 {
	total, _ := cpuSeconds(pid)
	for _, c := range childPIDs(pid) {
		s, _ := cpuSeconds(c)
		total += s
	}
	return total
}

// allowedCPUs returns Cpus_allowed_list of pid's status.
func allowedCPUs(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "unknown"
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(rest)
		}
	}
	return "unknown"
}

// topicRecords returns the number of records of topic: the sum of the last
// offsets of its partitions.
func topicRecords(t *testing.T, cfg kafka.Config, topic string) int64 {
	t.Helper()
	var total int64
	for _, last := range lastOffsets(t, cfg, topic) {
		total += last
	}
	return total
}

// serverRun is one server's measured wrk run.
type serverRun struct {
	name string
	// warmupRequests counts the requests of the warm-up run, and wrk
	// describes the measured run.
	warmupRequests int64
	wrk            wrkResult
	cpuPerReq      time.Duration
	allowed        string
	load           string
	redirected     int64
	inKafka        int64
	spooled        float64
	publishErrors  float64
	// kafkaCPU is the CPU time the broker used during the measured run.
	kafkaCPU float64
}

// measureServer warms the server at url up, then runs the measured wrk load
// and the CPU time pid and its children used in it.
func measureServer(t *testing.T, name string, pl serverPlacement, pid int, url string, d time.Duration) serverRun {
	t.Helper()
	warmup := runWrk(t, pl.wrk, url+benchEdgePath, benchWarmup)
	run := serverRun{name: name, allowed: allowedCPUs(pid), load: machineLoad(), warmupRequests: warmup.requests}
	cpu, services := processCPU(pid), readServiceCPU(t)
	run.wrk = runWrk(t, pl.wrk, url+benchEdgePath, d)
	used := processCPU(pid) - cpu
	run.kafkaCPU = readServiceCPU(t).since(services)["kafka"]
	run.cpuPerReq = time.Duration(used / float64(run.wrk.requests) * float64(time.Second))
	require.Zero(t, run.wrk.non3xx, "%s: responses other than 302", name)
	return run
}

// benchNginx measures nginx and stops it.
func (s *faultStack) benchNginx(t *testing.T, pl serverPlacement, d time.Duration) serverRun {
	t.Helper()
	p, url := s.startNginx(t, pl.server)
	run := measureServer(t, "nginx, 1 worker process", pl, p.pid(), url, d)
	p.signal(t, syscall.SIGQUIT, 30*time.Second)
	return run
}

// benchEdge measures `clickstream edge` with its Kafka publisher, waits
// until it has published every hit, stops it and counts the hits that
// reached the topic. A baseline binary, when not empty, runs in place of
// the one built from this tree.
func (s *faultStack) benchEdge(t *testing.T, pl serverPlacement, d time.Duration, baseline string) serverRun {
	t.Helper()
	before := topicRecords(t, s.kafka, s.kafka.Topics.Hits)
	addr := freeAddr(t)
	extra := map[string]string{
		"CLICKSTREAM_EDGE_LISTEN":    addr,
		"CLICKSTREAM_EDGE_SPOOL_DIR": filepath.Join(s.dir, fmt.Sprintf("spool-%d", time.Now().UnixNano())),
	}
	name, binary := "edge, Kafka publisher", clickstreamBinary(t)
	if baseline != "" {
		name, binary = "baseline edge, Kafka publisher", baseline
	} else {
		// Builds before edge.serveMetrics served /metrics on the edge's
		// listener and reject the variable.
		extra["CLICKSTREAM_EDGE_SERVEMETRICS"] = "true"
	}
	argv := append(append([]string(nil), pl.server...), binary, "edge", "-config=")
	if dir := os.Getenv("CLICKSTREAM_BENCH_CPUPROFILE_DIR"); dir != "" && baseline == "" {
		// The same edge, run by the helper to write a CPU profile.
		argv = helperArgv(t, pl.server)
		extra[benchHelperMode] = "edge"
		extra[benchHelperProfile] = filepath.Join(dir, fmt.Sprintf("edge-%s-%d.pprof", pl.short, time.Now().Unix()))
		t.Logf("edge CPU profile: %s", extra[benchHelperProfile])
	}
	p := &edgeProcess{process: s.startCommand("edge", extra, argv...), url: "http://" + addr}
	p.waitServing(t, 30*time.Second)

	run := measureServer(t, name, pl, p.pid(), p.url, d)
	run.redirected = settledMetric(t, p, "clickstream_edge_redirects_total")
	waitUntil(t, 2*time.Minute, "the edge to publish every hit", func() bool {
		return p.metric(t, "clickstream_edge_hits_published_total") >= float64(run.redirected)
	})
	run.spooled = p.metric(t, "clickstream_edge_hits_spooled_total")
	run.publishErrors = p.metric(t, "clickstream_edge_publish_errors_total")
	require.Zero(t, p.metric(t, "clickstream_edge_hits_dropped_total"), "hits dropped")
	p.signal(t, syscall.SIGTERM, 30*time.Second)

	run.inKafka = topicRecords(t, s.kafka, s.kafka.Topics.Hits) - before
	require.GreaterOrEqual(t, run.redirected, run.warmupRequests+run.wrk.requests, "redirects counted by the edge against wrk's responses")
	// Delivery is at least once, so a produce request that timed out
	// after the broker wrote it can store a hit twice. A hit missing from
	// the topic is a failure.
	require.GreaterOrEqual(t, run.inKafka, run.redirected, "hits in Kafka against redirects: hits were lost")
	if run.inKafka > run.redirected {
		t.Logf("%d hits more in Kafka than redirects; publish errors %.0f", run.inKafka-run.redirected, run.publishErrors)
	}
	return run
}

// settledMetric returns the value of a counter of the edge once it stopped
// changing for half a second. When wrk exits, the edge may still be handling
// the requests wrk gave up on, and they count too.
func settledMetric(t *testing.T, e *edgeProcess, name string) int64 {
	t.Helper()
	last := int64(e.metric(t, name))
	for range 60 {
		time.Sleep(500 * time.Millisecond)
		now := int64(e.metric(t, name))
		if now == last {
			return now
		}
		last = now
	}
	t.Fatalf("%s still changing 30 s after the load ended", name)
	return 0
}

func TestBenchEdgeAgainstNginx(t *testing.T) {
	requireBench(t)
	for _, tool := range []string{"nginx", "wrk", "taskset"} {
		_, err := exec.LookPath(tool)
		require.NoError(t, err, "the edge benchmark needs %s: apt-get install nginx wrk util-linux", tool)
	}
	d := time.Duration(envInt(t, "CLICKSTREAM_BENCH_EDGE_SECONDS", 15)) * time.Second
	rounds := envInt(t, "CLICKSTREAM_BENCH_ROUNDS", 1)
	s := newFaultStack(t, benchPartitions)

	// logEdgeRound reads the runs in this order.
	servers := []func(serverPlacement) serverRun{
		func(pl serverPlacement) serverRun { return s.benchNginx(t, pl, d) },
		func(pl serverPlacement) serverRun { return s.benchFloor(t, pl, d, floorNetHTTP) },
		func(pl serverPlacement) serverRun { return s.benchEdge(t, pl, d, "") },
		func(pl serverPlacement) serverRun { return s.benchFloor(t, pl, d, floorFastHTTP) },
	}
	if baseline := os.Getenv("CLICKSTREAM_BENCH_EDGE_BASELINE"); baseline != "" {
		servers = append(servers, func(pl serverPlacement) serverRun { return s.benchEdge(t, pl, d, baseline) })
	}
	ratios := map[string][]float64{}
	for round := range rounds {
		for _, pl := range placements {
			// Every round starts with the next server, so a drift in the
			// machine's load favours none of them.
			runs := make([]serverRun, len(servers))
			for i := range servers {
				j := (round + i) % len(servers)
				runs[j] = servers[j](pl)
			}
			ratio := runs[2].wrk.perSecond / runs[0].wrk.perSecond
			ratios[pl.name] = append(ratios[pl.name], ratio)
			logEdgeRound(t, round, pl, d, runs)
		}
	}
	for _, pl := range placements {
		sorted := slices.Sorted(slices.Values(ratios[pl.name]))
		t.Logf("edge / nginx, %s: %.2f median of %d rounds, %.2f to %.2f", pl.name,
			sorted[len(sorted)/2], len(sorted), sorted[0], sorted[len(sorted)-1])
	}
}

func logEdgeRound(t *testing.T, round int, pl serverPlacement, d time.Duration, runs []serverRun) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "round %d, %s, %s per run after %s of warm-up\n\n", round, pl.name, d, benchWarmup)
	b.WriteString("| server | CPUs allowed | load before | requests/s | mean latency | CPU per request | Kafka CPU | requests (warm-up + measured) | redirects counted | hits in Kafka | spooled |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range runs {
		fmt.Fprintf(&b, "| %s | %s | %s | %.0f | %s | %.1f µs | %.1f s | %d + %d | %d | %d | %.0f |\n",
			r.name, r.allowed, r.load, r.wrk.perSecond, r.wrk.latency.Round(time.Microsecond), float64(r.cpuPerReq)/float64(time.Microsecond),
			r.kafkaCPU, r.warmupRequests, r.wrk.requests, r.redirected, r.inKafka, r.spooled)
		if r.wrk.sockErrors != "" {
			fmt.Fprintf(&b, "\n%s socket errors: %s\n", r.name, r.wrk.sockErrors)
		}
	}
	nginx, floor, edge, fastFloor := runs[0], runs[1], runs[2], runs[3]
	fmt.Fprintf(&b, "\nrequests/s: edge / nginx %.2f, net/http floor / nginx %.2f, fasthttp floor / nginx %.2f, edge / fasthttp floor %.2f\n",
		edge.wrk.perSecond/nginx.wrk.perSecond, floor.wrk.perSecond/nginx.wrk.perSecond,
		fastFloor.wrk.perSecond/nginx.wrk.perSecond, edge.wrk.perSecond/fastFloor.wrk.perSecond)
	fmt.Fprintf(&b, "CPU per request: nginx / edge %.2f, nginx / net/http floor %.2f, nginx / fasthttp floor %.2f\n",
		float64(nginx.cpuPerReq)/float64(edge.cpuPerReq), float64(nginx.cpuPerReq)/float64(floor.cpuPerReq),
		float64(nginx.cpuPerReq)/float64(fastFloor.cpuPerReq))
	if len(runs) > 4 {
		baseline := runs[4]
		fmt.Fprintf(&b, "baseline edge: requests/s / nginx %.2f, CPU per request %.2f of this edge's\n",
			baseline.wrk.perSecond/nginx.wrk.perSecond, float64(baseline.cpuPerReq)/float64(edge.cpuPerReq))
	}
	t.Log("\n" + b.String())
}

// The helper process: the benchmarks start this test binary again with
// BENCH_HELPER_MODE set, so that a server they measure can run pinned to a
// CPU like nginx. The variables do not start with CLICKSTREAM_ because the
// configuration rejects unknown ones.
const (
	benchHelperMode    = "BENCH_HELPER_MODE"
	benchHelperListen  = "BENCH_HELPER_LISTEN"
	benchHelperProfile = "BENCH_HELPER_CPUPROFILE"
)

// TestBenchHelper serves until SIGTERM when BENCH_HELPER_MODE is set. Modes
// "floor" and "fastfloor" run a net/http or a fasthttp server with the
// edge's settings whose handler only sets the edge's two redirect headers,
// which shows what the HTTP server itself costs per redirect. Mode "edge"
// runs `clickstream edge` and writes a CPU profile to
// BENCH_HELPER_CPUPROFILE.
func TestBenchHelper(t *testing.T) {
	mode := os.Getenv(benchHelperMode)
	if mode == "" {
		t.Skip("run only by the benchmarks in a process of their own")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	switch mode {
	case floorNetHTTP.mode:
		require.NoError(t, serveFloor(ctx, os.Getenv(benchHelperListen)))
	case floorFastHTTP.mode:
		require.NoError(t, serveFastFloor(ctx, os.Getenv(benchHelperListen)))
	case "edge":
		f, err := os.Create(os.Getenv(benchHelperProfile))
		require.NoError(t, err)
		defer f.Close()
		require.NoError(t, pprof.StartCPUProfile(f))
		defer pprof.StopCPUProfile()
		require.NoError(t, runEdge(ctx, []string{"-config="}, io.Discard, os.Stderr))
	default:
		t.Fatalf("unknown %s %q", benchHelperMode, mode)
	}
}

// serveFloor serves on addr until ctx is done, with the edge's server
// settings and a handler that responds with the edge's redirect headers.
func serveFloor(ctx context.Context, addr string) error {
	cfg := edge.DefaultConfig()
	srv := &http.Server{
		Addr:              addr,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Location", redirectDestination)
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusFound)
		}),
	}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// helperArgv returns the command line that runs TestBenchHelper in this test
// binary, after the placement's prefix.
func helperArgv(t *testing.T, prefix []string) []string {
	t.Helper()
	self, err := os.Executable()
	require.NoError(t, err)
	return append(append([]string(nil), prefix...), self, "-test.run=^TestBenchHelper$")
}

// floorServer is one of the floor servers of TestBenchHelper.
type floorServer struct {
	mode, name string
}

var (
	floorNetHTTP  = floorServer{mode: "floor", name: "net/http floor"}
	floorFastHTTP = floorServer{mode: "fastfloor", name: "fasthttp floor"}
)

// serveFastFloor serves on addr until ctx is done, with the fasthttp
// settings of the edge that bear on a GET request and a handler that
// responds with the edge's redirect headers.
func serveFastFloor(ctx context.Context, addr string) error {
	cfg := edge.DefaultConfig()
	srv := &fasthttp.Server{
		ReadBufferSize:        cfg.MaxHeaderBytes,
		ReadTimeout:           min(cfg.ReadHeaderTimeout, cfg.ReadTimeout),
		WriteTimeout:          cfg.WriteTimeout,
		IdleTimeout:           cfg.IdleTimeout,
		StreamRequestBody:     true,
		MaxRequestBodySize:    1,
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		Handler: func(ctx *fasthttp.RequestCtx) {
			ctx.Response.Header.Set(fasthttp.HeaderLocation, redirectDestination)
			ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
			ctx.SetStatusCode(fasthttp.StatusFound)
		},
	}
	go func() {
		<-ctx.Done()
		_ = srv.Shutdown()
	}()
	return srv.ListenAndServe(addr)
}

// benchFloor measures a floor server and stops it.
func (s *faultStack) benchFloor(t *testing.T, pl serverPlacement, d time.Duration, floor floorServer) serverRun {
	t.Helper()
	addr := freeAddr(t)
	p := s.startCommand(floor.mode, map[string]string{benchHelperMode: floor.mode, benchHelperListen: addr}, helperArgv(t, pl.server)...)
	url := "http://" + addr
	waitUntil(t, 10*time.Second, "the "+floor.name+" server to listen", func() bool {
		require.True(t, p.running(), "the %s server exited:\n%s", floor.name, p.tail(20))
		status, err := noFollowGet(url + benchEdgePath)
		return err == nil && status == http.StatusFound
	})
	run := measureServer(t, floor.name, pl, p.pid(), url, d)
	p.signal(t, syscall.SIGTERM, 30*time.Second)
	return run
}
