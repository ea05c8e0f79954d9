//go:build integration

package main

// Fault tests: each runs clickstream stages as subprocesses against the real
// broker and server, breaks one part (SIGKILL, a stopped service, a
// rebalance) under load and then counts every hit. `make faults` runs them.
// Tests that stop Kafka or ClickHouse use deploy/kafka/kafka.sh and
// deploy/clickhouse/clickhouse.sh with the test's environment: run them
// against a second set of services as deploy/README.md describes, never
// against a server that others use.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/clickstream/clickstream/pkg/event"
	"github.com/clickstream/clickstream/pkg/kafka"
	"github.com/clickstream/clickstream/pkg/kafka/kafkatest"
	"github.com/clickstream/clickstream/pkg/receiver"
	"github.com/clickstream/clickstream/pkg/subscription"
)

// produced is the outcome of a hitProducer run in a goroutine.
type produced struct {
	ids []string
	err error
}

func produceInBackground(ctx context.Context, p *hitProducer, total, perSecond int) <-chan produced {
	out := make(chan produced, 1)
	go func() {
		ids, err := p.produce(ctx, total, perSecond)
		out <- produced{ids, err}
	}()
	return out
}

func waitProduced(t *testing.T, ch <-chan produced, want int) []string {
	t.Helper()
	select {
	case res := <-ch:
		require.NoError(t, res.err)
		require.Len(t, res.ids, want)
		return res.ids
	case <-time.After(3 * time.Minute):
		t.Fatal("producing hits did not finish within 3 minutes")
		return nil
	}
}

func newRand(t *testing.T) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	return rand.New(rand.NewPCG(seed, seed>>1))
}

// logCounts logs the row counts. Rows minus distinct click ids are the
// repeats that background merges have not collapsed yet.
func logCounts(t *testing.T, c storageCounts) {
	t.Helper()
	t.Logf("rows %d, distinct click ids %d, rows stored twice before dedup %d, count() FINAL %d",
		c.rows, c.distinct, c.rows-c.distinct, c.final)
}

// TestFaultWorkerKilledUnderLoad kills the only worker with SIGKILL four
// times while hits arrive, each time after it started storing again, and
// restarts it at once.
func TestFaultWorkerKilledUnderLoad(t *testing.T) {
	const total = 20000
	s := newFaultStack(t, 6)
	s.migrate()
	rng := newRand(t)

	worker := s.start("worker", nil, "worker")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hits := produceInBackground(ctx, s.newHitProducer(), total, 500)

	for kill := 1; kill <= 4; kill++ {
		// Kill only once this worker stores hits. An insert of the killed
		// worker can still complete on the server after the kill, so the
		// count alone would not show that the new one works.
		restarted := time.Now()
		waitUntil(t, 90*time.Second, "the worker to own partitions", func() bool { return lastAssignment(worker) > 0 })
		assigned := s.distinct()
		waitUntil(t, time.Minute, "the worker to store hits", func() bool { return s.distinct() >= assigned+300 })
		resumed := time.Since(restarted)

		time.Sleep(time.Duration(rng.Int64N(int64(time.Second))))
		atKill := s.distinct()
		worker.signal(t, syscall.SIGKILL, 10*time.Second)
		t.Logf("kill %d: the worker stored hits %s after its start; SIGKILL with %d distinct click ids stored",
			kill, resumed.Round(100*time.Millisecond), atKill)
		worker = s.start("worker", nil, "worker")
	}

	ids := waitProduced(t, hits, total)
	took := s.waitDistinct(total, 3*time.Minute)
	t.Logf("all %d hits stored %s after the last hit was produced", total, took.Round(100*time.Millisecond))
	require.True(t, worker.running(), "the last worker exited:\n%s", worker.tail(20))

	c := s.storageCounts()
	logCounts(t, c)
	require.Equal(t, uint64(total), c.distinct)
	require.Equal(t, uint64(total), c.final, "FINAL collapses the repeats of a click")
	require.GreaterOrEqual(t, c.rows, c.distinct)
	s.requireAllStored(ids)
}

// TestFaultClickHouseDownUnderLoad stops ClickHouse for 30 seconds while
// hits arrive. The worker must stay up with bounded memory, retry with
// backoff and store every hit once the server is back.
func TestFaultClickHouseDownUnderLoad(t *testing.T) {
	const (
		total    = 24000
		maxRSS   = 300 << 20
		downtime = 30 * time.Second
	)
	requireControlledService(t, "clickhouse", clickHouseAddr())
	ensureServiceRunning(t, "clickhouse")
	s := newFaultStack(t, 6)
	s.migrate()

	worker := s.start("worker", nil, "worker")
	rss := sampleRSS(worker, 250*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hits := produceInBackground(ctx, s.newHitProducer(), total, 400)

	s.waitDistinct(2000, time.Minute)
	serviceCommand(t, "clickhouse", "stop")
	time.Sleep(downtime)
	require.True(t, worker.running(), "the worker exited while ClickHouse was down:\n%s", worker.tail(20))
	restarted := time.Now().Truncate(time.Second)
	serviceCommand(t, "clickhouse", "start")

	// inserted_at is the server's insert time, in whole seconds.
	after := fmt.Sprintf("FROM {db}.interactions WHERE inserted_at >= toDateTime(%d)", restarted.Unix())
	waitUntil(t, 2*time.Minute, "inserts to resume", func() bool {
		n, err := s.count("SELECT count() " + after)
		return err == nil && n > 0
	})
	first := s.mustCount("SELECT toUInt64(min(inserted_at)) " + after)
	t.Logf("the first insert after the restart came %ds after the start command; %d click ids were stored before it",
		int64(first)-restarted.Unix(), s.mustCount("SELECT uniqExact(click_id) FROM {db}.interactions WHERE inserted_at < toDateTime("+fmt.Sprint(restarted.Unix())+")"))

	ids := waitProduced(t, hits, total)
	s.waitDistinct(total, 3*time.Minute)
	peak, samples := rss.finish()
	t.Logf("worker peak RSS %.1f MiB over %d samples", float64(peak)/(1<<20), samples)

	retries := worker.logEntries("step failed, retrying")
	intervals := retryIntervals(t, retries)
	t.Logf("worker logged %d failed attempts while ClickHouse was down; intervals between the attempts of one batch: %v", len(retries), intervals)

	c := s.storageCounts()
	logCounts(t, c)
	require.Less(t, peak, int64(maxRSS), "worker RSS")
	require.GreaterOrEqual(t, len(intervals), 5, "one batch was retried several times")
	// An attempt made while the server shuts down can hang for seconds,
	// so the first intervals are compared by their minimum.
	require.Greater(t, intervals[len(intervals)-1], 4*slices.Min(intervals[:3]), "the wait between attempts grows")
	require.Equal(t, uint64(total), c.distinct)
	require.Equal(t, uint64(total), c.final)
	s.requireAllStored(ids)
	require.True(t, worker.running())
}

// retryIntervals returns the times between the failed attempts of the
// batch with the most attempts, from the worker's retry log lines. Each
// interval is the backoff wait plus the duration of the attempt.
func retryIntervals(t *testing.T, retries []map[string]any) []time.Duration {
	t.Helper()
	type batch struct {
		partition float64
		step      string
	}
	times := map[batch][]time.Time{}
	for _, e := range retries {
		ts, err := time.Parse("2006-01-02T15:04:05.000Z0700", e["ts"].(string))
		require.NoError(t, err)
		b := batch{e["partition"].(float64), e["step"].(string)}
		if e["attempt"].(float64) == 1 {
			times[b] = nil
		}
		times[b] = append(times[b], ts)
	}

	var longest []time.Time
	for _, ts := range times {
		if len(ts) > len(longest) {
			longest = ts
		}
	}
	var intervals []time.Duration
	for i := 1; i < len(longest); i++ {
		intervals = append(intervals, longest[i].Sub(longest[i-1]).Round(10*time.Millisecond))
	}
	return intervals
}

// TestFaultKafkaRestartBehindEdge restarts the broker while an edge serves
// a steady stream of redirects. Every request must get its 302, and every
// redirected request must end in ClickHouse as exactly one click.
func TestFaultKafkaRestartBehindEdge(t *testing.T) {
	s := newFaultStack(t, 6)
	requireControlledService(t, "kafka", s.kafka.Brokers[0])
	ensureServiceRunning(t, "kafka")
	s.migrate()

	worker := s.start("worker", nil, "worker")
	edge := s.startEdge(filepath.Join(s.dir, "spool"), map[string]string{"CLICKSTREAM_EDGE_MAXRETRYINTERVAL": "5s"})
	edge.waitServing(t, 90*time.Second)

	load := newRedirectLoad(0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	loadDone := make(chan struct{})
	go func() { defer close(loadDone); load.run(ctx, edge.url, 200, 8, 0) }()

	time.Sleep(5 * time.Second)
	serviceCommand(t, "kafka", "stop")
	time.Sleep(10 * time.Second)
	spooledWhileDown := edge.metric(t, "clickstream_edge_hits_spooled_total")
	serviceCommand(t, "kafka", "start")
	time.Sleep(10 * time.Second)
	cancel()
	<-loadDone

	redirected, failures, slowest := load.result()
	t.Logf("%d requests redirected, %d failed, slowest response %s; %.0f hits spooled while Kafka was down",
		len(redirected), len(failures), slowest.Round(time.Millisecond), spooledWhileDown)
	require.Empty(t, failures, "every request gets its 302")
	require.Positive(t, spooledWhileDown, "the edge spools while Kafka is down")

	took := s.waitDistinct(uint64(len(redirected)), 3*time.Minute)
	t.Logf("every hit stored %s after the load ended", took.Round(100*time.Millisecond))
	require.Zero(t, edge.metric(t, "clickstream_edge_hits_dropped_total"))
	require.True(t, worker.running(), "the worker survives the broker restart:\n%s", worker.tail(20))
	logCounts(t, s.storageCounts())
	s.requireEachRequestStoredOnce(redirected)
}

// TestFaultEdgeStoppedWithSpooledHits spools hits while Kafka is down, then
// stops the edge with SIGTERM, and a second edge with SIGKILL, before they
// could send them. A third edge, started after Kafka is back, must send
// both spools.
//
// The spool fsyncs every append, so SIGKILL loses nothing that reached it.
// It loses what was still in the in-memory queue (up to edge.queueSize
// hits) or in a produce request. So this test kills only after the edge's
// hits_spooled_total metric counts every redirected request.
func TestFaultEdgeStoppedWithSpooledHits(t *testing.T) {
	const perEdge = 2000
	s := newFaultStack(t, 6)
	requireControlledService(t, "kafka", s.kafka.Brokers[0])
	ensureServiceRunning(t, "kafka")
	s.migrate()
	spool := filepath.Join(s.dir, "spool")

	first := s.startEdge(spool, nil)
	first.waitServing(t, 90*time.Second)
	serviceCommand(t, "kafka", "stop")

	load := newRedirectLoad(0)
	load.run(context.Background(), first.url, 400, 8, perEdge)
	waitSpooled(t, first, perEdge)
	exit := first.signal(t, syscall.SIGTERM, time.Minute)
	require.NoError(t, first.err, "the edge exits cleanly on SIGTERM")
	t.Logf("edge 1 spooled %d hits and exited %s after SIGTERM", perEdge, exit.Round(time.Millisecond))

	second := s.startEdge(spool, nil)
	ready := second.waitServing(t, 2*time.Minute)
	t.Logf("edge 2, started while Kafka is down, responded to /healthz after %s", ready.Round(100*time.Millisecond))
	assert.Less(t, ready, 10*time.Second, "an edge started during a Kafka outage serves redirects at once")
	load.run(context.Background(), second.url, 400, 8, perEdge)
	waitSpooled(t, second, perEdge)
	second.signal(t, syscall.SIGKILL, 10*time.Second)
	t.Logf("edge 2 spooled %d hits and was killed; spool files: %s", perEdge, spoolFiles(t, spool))

	serviceCommand(t, "kafka", "start")
	third := s.startEdge(spool, nil)
	third.waitServing(t, 90*time.Second)
	s.start("worker", nil, "worker")

	redirected, failures, _ := load.result()
	require.Empty(t, failures, "every request gets its 302")
	require.Len(t, redirected, 2*perEdge)
	took := s.waitDistinct(2*perEdge, 3*time.Minute)
	t.Logf("edge 3 sent both spools; every hit stored %s after it started",
		took.Round(100*time.Millisecond))
	require.Equal(t, float64(2*perEdge), third.metric(t, `clickstream_edge_hits_published_total{source="spool"}`))
	logCounts(t, s.storageCounts())
	s.requireEachRequestStoredOnce(redirected)
}

// waitSpooled waits until the edge reports n hits written to its spool.
func waitSpooled(t *testing.T, e *edgeProcess, n int) {
	t.Helper()
	waitUntil(t, time.Minute, fmt.Sprintf("%d hits in the spool", n), func() bool {
		return e.metric(t, "clickstream_edge_hits_spooled_total") >= float64(n)
	})
	require.Equal(t, float64(n), e.metric(t, "clickstream_edge_hits_spooled_total"))
}

func spoolFiles(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var parts []string
	for _, e := range entries {
		info, err := e.Info()
		require.NoError(t, err)
		parts = append(parts, fmt.Sprintf("%s %d bytes", e.Name(), info.Size()))
	}
	return strings.Join(parts, ", ")
}

// deliverySink is the webhook endpoint of the dispatcher test. It responds
// slowly, so that requests are in flight when the dispatcher is killed.
// It fails the first attempt of one event in failEvery and hands the rest
// to a receiver.Receiver, which verifies both signatures.
type deliverySink struct {
	rcv       *receiver.Receiver
	delay     time.Duration
	failEvery uint32

	mu        sync.Mutex
	delivered map[string]int
	failed    map[string]bool
	// mismatched lists deliveries whose webhook-id header differs from the
	// id in the body.
	mismatched []string
}

func (d *deliverySink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var env struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(body, &env)
	id := r.Header.Get("webhook-id")
	time.Sleep(d.delay)

	d.mu.Lock()
	if id != env.ID {
		d.mismatched = append(d.mismatched, id+" != "+env.ID)
	}
	failFirst := d.failEvery > 0 && hash32(id)%d.failEvery == 0 && !d.failed[id]
	if failFirst {
		d.failed[id] = true
	}
	d.mu.Unlock()
	if failFirst {
		http.Error(w, "first attempt fails", http.StatusInternalServerError)
		return
	}

	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	d.rcv.ServeHTTP(rec, r)
	w.WriteHeader(rec.Code)
	if rec.Code == http.StatusNoContent {
		d.mu.Lock()
		d.delivered[id]++
		d.mu.Unlock()
	}
}

func (d *deliverySink) deliveredIDs() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]int, len(d.delivered))
	for id, n := range d.delivered {
		out[id] = n
	}
	return out
}

func hash32(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

// TestFaultDispatcherKilledMidDelivery kills the dispatcher with SIGKILL
// twice while a slow receiver has requests in flight and some events wait
// in a retry topic. Every event must reach the receiver with its original
// event id and valid signatures.
func TestFaultDispatcherKilledMidDelivery(t *testing.T) {
	const total = 4000
	s := newFaultStack(t, 6)
	s.migrate()
	rng := newRand(t)

	reg := subscription.NewRegistry()
	sink := &deliverySink{rcv: receiver.New(reg, 0, zap.NewNop()), delay: 50 * time.Millisecond, failEvery: 20,
		delivered: map[string]int{}, failed: map[string]bool{}}
	srv := httptest.NewServer(sink)
	t.Cleanup(srv.Close)

	var hooks []subscription.Webhook
	for i := range 3 {
		id := fmt.Sprintf("wh_fault_%d", i)
		w := subscription.Webhook{ID: id, ProjectID: "proj_0", URL: srv.URL + receiver.PathPrefix + id,
			Secrets: []string{subscription.NewSecret()}, Triggers: []string{event.TypeLinkClicked}}
		require.NoError(t, reg.Put(w))
		hooks = append(hooks, w)
	}
	webhooks := filepath.Join(s.dir, "dispatcher-webhooks.json")
	s.writeWebhooks(webhooks, hooks)

	want := writeDeliveries(t, s.kafka, hooks, total)
	env := map[string]string{
		"CLICKSTREAM_WEBHOOKS_FILE":                     webhooks,
		"CLICKSTREAM_DISPATCHER_PERENDPOINTCONCURRENCY": "4",
		"CLICKSTREAM_DISPATCHER_QUEUESIZE":              "5000",
		"CLICKSTREAM_DISPATCHER_MAXQUEUED":              "20000",
		"CLICKSTREAM_DISPATCHER_MAXQUEUEWAIT":           "2m",
		"CLICKSTREAM_DISPATCHER_RETRYSCHEDULE":          "1s,2s,4s,8s,16s",
		"CLICKSTREAM_DISPATCHER_DRAINTIMEOUT":           "5s",
	}
	dispatcher := s.start("dispatcher", env, "dispatcher")

	for kill := 1; kill <= 2; kill++ {
		before := len(sink.deliveredIDs())
		waitUntil(t, 90*time.Second, "deliveries to resume", func() bool { return len(sink.deliveredIDs()) > before+200 })
		time.Sleep(time.Duration(rng.Int64N(int64(time.Second))))
		atKill := len(sink.deliveredIDs())
		dispatcher.signal(t, syscall.SIGKILL, 10*time.Second)
		t.Logf("kill %d: SIGKILL with %d of %d events delivered", kill, atKill, total)
		dispatcher = s.start("dispatcher", env, "dispatcher")
	}

	waitUntil(t, 3*time.Minute, fmt.Sprintf("%d events delivered", total), func() bool { return len(sink.deliveredIDs()) >= total })
	time.Sleep(2 * time.Second)

	delivered := sink.deliveredIDs()
	repeats := 0
	for id, n := range delivered {
		require.True(t, want[id], "delivered event id %s was never produced", id)
		repeats += n - 1
	}
	stats := sink.rcv.Stats()
	t.Logf("%d distinct events delivered, %d deliveries of an event already delivered, %d first attempts failed on purpose; receiver: %+v",
		len(delivered), repeats, len(sink.failed), stats)
	require.Len(t, delivered, total)
	require.Zero(t, stats.BadSignature)
	require.Empty(t, sink.mismatched, "the webhook-id header carries the event id of the body")
	require.True(t, dispatcher.running())
}

// writeDeliveries writes total link.clicked deliveries, spread over hooks,
// to the webhook-events topic and returns their event ids.
func writeDeliveries(t *testing.T, k kafka.Config, hooks []subscription.Webhook, total int) map[string]bool {
	t.Helper()
	w := kafka.NewWriter(k, k.Topics.WebhookEvents, kafka.WriterOptions{}, zap.NewNop())
	defer w.Close()

	ids := make(map[string]bool, total)
	msgs := make([]kafkago.Message, 0, total)
	for i := range total {
		hook := hooks[i%len(hooks)]
		clickID := event.NewClickID()
		env := event.Envelope{
			ID: event.EventID(clickID, hook.ID, event.TypeLinkClicked), Event: event.TypeLinkClicked,
			CreatedAt: event.NewTime(time.Now()), Data: event.EnvelopeData{EventName: "Link clicked"},
		}
		payload, err := json.Marshal(&env)
		require.NoError(t, err)
		del := event.Delivery{EventID: env.ID, EventType: env.Event, WebhookID: hook.ID, ProjectID: hook.ProjectID,
			ClickID: clickID, Attempt: 1, Payload: payload}
		value, err := json.Marshal(&del)
		require.NoError(t, err)
		ids[env.ID] = true
		msgs = append(msgs, kafkago.Message{Key: []byte(hook.ID), Value: value})
	}
	kafkatest.Write(t, w, time.Minute, msgs...)
	return ids
}

// TestFaultWorkersJoinAndLeave starts one worker, adds a second under load
// and stops the first with SIGTERM. Partitions must move both times, and
// the stopping worker must flush and commit within its shutdownTimeout.
func TestFaultWorkersJoinAndLeave(t *testing.T) {
	const (
		total           = 20000
		shutdownTimeout = 10 * time.Second
	)
	s := newFaultStack(t, 6)
	s.migrate()
	env := map[string]string{"CLICKSTREAM_WORKER_SHUTDOWNTIMEOUT": shutdownTimeout.String()}

	first := s.start("worker-a", env, "worker")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hits := produceInBackground(ctx, s.newHitProducer(), total, 600)

	s.waitDistinct(3000, time.Minute)
	second := s.start("worker-b", env, "worker")
	joined := time.Now()
	waitUntil(t, time.Minute, "worker b to own partitions", func() bool { return lastAssignment(second) > 0 })
	t.Logf("%s after worker b started, worker a owns %d partitions and worker b %d",
		time.Since(joined).Round(100*time.Millisecond), lastAssignment(first), lastAssignment(second))
	require.Positive(t, lastAssignment(first), "the partitions are shared")

	waitUntil(t, time.Minute, "worker b to store hits", func() bool { return s.distinct() > 8000 })
	exit := first.signal(t, syscall.SIGTERM, 2*shutdownTimeout)
	t.Logf("worker a exited %s after SIGTERM (shutdownTimeout %s)", exit.Round(time.Millisecond), shutdownTimeout)
	require.NoError(t, first.err, "worker a exits cleanly")
	assert.Less(t, exit, shutdownTimeout, "the stopping worker flushes and commits within its shutdownTimeout")

	waitUntil(t, time.Minute, "worker b to own every partition", func() bool { return lastAssignment(second) == 6 })
	t.Logf("worker b owned all 6 partitions %s after worker a exited", time.Since(first.exitedAt).Round(100*time.Millisecond))
	ids := waitProduced(t, hits, total)
	s.waitDistinct(total, 3*time.Minute)

	abandoned := len(first.logEntries(batchAbandoned)) + len(second.logEntries(batchAbandoned))
	stopped := first.logEntries("partition stopped")
	t.Logf("worker a stopped %d partition runs (rebalance and shutdown); %d batches abandoned before commit", len(stopped), abandoned)
	c := s.storageCounts()
	logCounts(t, c)
	require.Equal(t, uint64(total), c.distinct)
	require.Equal(t, uint64(total), c.final)
	s.requireAllStored(ids)
	assert.Zero(t, abandoned, "rebalances and a graceful stop commit every batch")
}

const batchAbandoned = "batch abandoned before commit, the next owner of the partition processes it again"

// lastAssignment returns the number of partitions in the worker's latest
// "partitions assigned" log line, or 0.
func lastAssignment(p *process) int {
	entries := p.logEntries("partitions assigned")
	if len(entries) == 0 {
		return 0
	}
	parts, _ := entries[len(entries)-1]["partitions"].([]any)
	return len(parts)
}

// TestReconcileReportsGaps runs `clickstream reconcile` after a worker
// stored every hit and a few dead letters, then after more hits arrived
// with no worker running.
func TestReconcileReportsGaps(t *testing.T) {
	const stored, garbage, unconsumed = 3000, 5, 500
	s := newFaultStack(t, 3)
	s.migrate()
	from := time.Now().UTC().Truncate(time.Minute)

	producer := s.newHitProducer()
	_, err := producer.produce(context.Background(), stored, 3000)
	require.NoError(t, err)
	bad := make([]kafkago.Message, garbage)
	for i := range bad {
		bad[i] = kafkago.Message{Key: []byte("link_00"), Value: []byte(fmt.Sprintf("{not a hit %d", i))}
	}
	require.NoError(t, producer.write(context.Background(), bad))

	worker := s.start("worker", nil, "worker")
	s.waitDistinct(stored, 2*time.Minute)
	waitUntil(t, time.Minute, "the dead letters", func() bool {
		n, err := s.count("SELECT count() FROM {db}.dead_letters")
		return err == nil && n >= garbage
	})
	worker.signal(t, syscall.SIGTERM, 30*time.Second)

	to := time.Now().UTC().Truncate(time.Minute).Add(time.Minute)
	out, code := s.reconcile(t, from, to)
	t.Logf("clean run:\n%s", out)
	require.Equal(t, 0, code, "no gap")
	require.Contains(t, out, "No gaps")
	require.Regexp(t, fmt.Sprintf(`TOTAL\s+%d\s+0\s+%d\s+%d\s+0`, stored+garbage, stored, garbage), out)

	_, err = producer.produce(context.Background(), unconsumed, 5000)
	require.NoError(t, err)
	to = time.Now().UTC().Truncate(time.Minute).Add(time.Minute)
	out, code = s.reconcile(t, from, to)
	t.Logf("run with %d hits not consumed:\n%s", unconsumed, out)
	require.Equal(t, 1, code, "a gap exits with 1")
	require.Regexp(t, fmt.Sprintf(`TOTAL\s+%d\s+0\s+%d\s+%d\s+\+%d <-`, stored+garbage+unconsumed, stored, garbage, unconsumed), out)
	require.Contains(t, out, "have a gap")
}

// reconcile runs `clickstream reconcile` for [from, to) and returns its
// standard output and exit code.
func (s *faultStack) reconcile(t *testing.T, from, to time.Time) (string, int) {
	t.Helper()
	cmd := exec.Command(clickstreamBinary(t), "reconcile", "-config=",
		"-from", from.Format(time.RFC3339), "-to", to.Format(time.RFC3339))
	cmd.Dir = s.dir
	cmd.Env = s.environ(nil)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()

	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("running clickstream reconcile: %v", err)
	}
	if stderr.Len() > 0 {
		t.Logf("reconcile stderr: %s", strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), cmd.ProcessState.ExitCode()
}

func TestReconcileRangeFlags(t *testing.T) {
	now := time.Date(2024, 8, 30, 10, 16, 12, 0, time.UTC)
	opts, err := reconcileRange("", "", now)
	require.NoError(t, err)
	require.Equal(t, time.Date(2024, 8, 30, 9, 16, 0, 0, time.UTC), opts.From, "the default is the hour before the current minute")
	require.Equal(t, time.Date(2024, 8, 30, 10, 16, 0, 0, time.UTC), opts.To)

	opts, err = reconcileRange("2024-08-30T12:00:30+02:00", "2024-08-30T10:30:59Z", now)
	require.NoError(t, err)
	require.Equal(t, time.Date(2024, 8, 30, 10, 0, 0, 0, time.UTC), opts.From, "times are converted to UTC and cut to the minute")
	require.Equal(t, time.Date(2024, 8, 30, 10, 30, 0, 0, time.UTC), opts.To)

	_, err = reconcileRange("yesterday", "", now)
	require.ErrorContains(t, err, "-from")
}
