package edge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/clickstream/clickstream/pkg/event"
	"github.com/clickstream/clickstream/pkg/kafka"
	"github.com/clickstream/clickstream/pkg/spool"
)

const testTopic = "hits"

// publisherConfig is an edge config with short timers for publisher tests.
func publisherConfig(tb testing.TB, spoolDir string) Config {
	tb.Helper()

	cfg := DefaultConfig()
	cfg.Spool.Dir = spoolDir
	cfg.Spool.SegmentBytes = 64 << 10
	cfg.BatchSize = 50
	cfg.BatchTimeout = 5 * time.Millisecond
	cfg.PublishTimeout = 3 * time.Second
	cfg.RetryInterval = 50 * time.Millisecond
	cfg.MaxRetryInterval = 200 * time.Millisecond
	return cfg
}

func kafkaConfig(brokers ...string) kafka.Config {
	kcfg := kafka.DefaultConfig()
	kcfg.Brokers = brokers
	kcfg.Topics.Hits = testTopic
	kcfg.DialTimeout = time.Second
	return kcfg
}

// startBroker starts an embedded broker with the hits topic; port 0 picks a
// free port.
func startBroker(tb testing.TB, port int) *kfake.Cluster {
	tb.Helper()

	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(3, testTopic)}
	if port != 0 {
		opts = append(opts, kfake.Ports(port))
	}
	c, err := kfake.NewCluster(opts...)
	require.NoError(tb, err)
	tb.Cleanup(c.Close)
	return c
}

// freePort returns a loopback port that nothing listens on right now.
func freePort(tb testing.TB) int {
	tb.Helper()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(tb, ln.Close())
	return port
}

// consumeRecords reads the topic from the start until want records arrived
// or timeout passed.
func consumeRecords(tb testing.TB, brokers []string, want int, timeout time.Duration) []*kgo.Record {
	tb.Helper()

	client, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(testTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(tb, err)
	defer client.Close()

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var records []*kgo.Record
	for len(records) < want && ctx.Err() == nil {
		fetches := client.PollFetches(ctx)
		records = append(records, fetches.Records()...)
	}
	return records
}

func newTestHit(i int, resourceID string) event.RawHit {
	h := validHit(fmt.Sprintf("T%015d", i))
	h.Resource.ID = resourceID
	return h
}

func closePublisher(tb testing.TB, p *KafkaPublisher) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(tb, p.Close(ctx))
}

// waitFor polls cond every 10ms until it holds or timeout passes.
func waitFor(tb testing.TB, timeout time.Duration, msg string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting until %s", timeout, msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestKafkaPublisherKeyedByResource(t *testing.T) {
	broker := startBroker(t, 0)
	p, err := NewKafkaPublisher(kafkaConfig(broker.ListenAddrs()...), publisherConfig(t, t.TempDir()),
		zaptest.NewLogger(t), prometheus.NewRegistry())
	require.NoError(t, err)

	resources := []string{"link_a", "link_b", "qr_c", "page_d", "link_e"}
	sent := map[string]string{}
	for i := range 200 {
		h := newTestHit(i, resources[i%len(resources)])
		sent[h.ClickID] = h.Resource.ID
		require.NoError(t, p.Publish(h))
	}

	records := consumeRecords(t, broker.ListenAddrs(), 200, 10*time.Second)
	closePublisher(t, p)

	require.Len(t, records, 200)
	partitionOf := map[string]int32{}
	for _, r := range records {
		h, err := event.DecodeHit(r.Value)
		require.NoError(t, err)
		assert.Equal(t, sent[h.ClickID], string(r.Key), "key of %s", h.ClickID)
		assert.Equal(t, h.Resource.ID, string(r.Key))

		if p, ok := partitionOf[string(r.Key)]; ok {
			assert.Equal(t, p, r.Partition, "all hits of %s on one partition", r.Key)
		}
		partitionOf[string(r.Key)] = r.Partition
	}
	// A loaded machine can make the sender busy, which sends a batch
	// through the spool, so only the sum of both paths is fixed.
	published := metricValue(t, p.m.published.WithLabelValues("queue")) + metricValue(t, p.m.published.WithLabelValues("spool"))
	assert.Equal(t, 200.0, published)
	assert.Equal(t, 200.0, metricValue(t, p.m.enqueued))
}

func TestKafkaPublisherSpoolsWhileBrokerDown(t *testing.T) {
	port := freePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p, err := NewKafkaPublisher(kafkaConfig(addr), publisherConfig(t, t.TempDir()),
		zap.NewNop(), prometheus.NewRegistry())
	require.NoError(t, err)
	defer closePublisher(t, p)

	for i := range 100 {
		require.NoError(t, p.Publish(newTestHit(i, "link_"+strconv.Itoa(i%7))))
	}
	waitFor(t, 20*time.Second, "all hits are spooled", func() bool {
		return metricValue(t, p.m.spooled.WithLabelValues(reasonKafkaFailed)) == 100
	})
	assert.Positive(t, p.spool.Bytes())
	assert.False(t, p.healthy.Load())

	broker := startBroker(t, port)
	records := consumeRecords(t, broker.ListenAddrs(), 100, 20*time.Second)

	assert.Len(t, records, 100)
	waitFor(t, 10*time.Second, "the spool is empty", func() bool { return p.spool.Bytes() == 0 })
	assert.Equal(t, 100.0, metricValue(t, p.m.published.WithLabelValues("spool")))
	waitFor(t, 10*time.Second, "Kafka is healthy again", p.healthy.Load)

	// New hits go straight to Kafka again.
	require.NoError(t, p.Publish(newTestHit(1000, "link_new")))
	records = consumeRecords(t, broker.ListenAddrs(), 101, 10*time.Second)
	assert.Len(t, records, 101)
}

func TestKafkaPublisherRestartSendsSpool(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)

	first, err := NewKafkaPublisher(kafkaConfig(addr), publisherConfig(t, dir), zap.NewNop(), prometheus.NewRegistry())
	require.NoError(t, err)
	for i := range 30 {
		require.NoError(t, first.Publish(newTestHit(i, "link_restart")))
	}
	closePublisher(t, first)
	require.Equal(t, 30.0, metricValue(t, first.m.spooled.WithLabelValues(reasonKafkaFailed))+
		metricValue(t, first.m.spooled.WithLabelValues(reasonShutdown)), "every hit is spooled at shutdown")

	broker := startBroker(t, port)
	second, err := NewKafkaPublisher(kafkaConfig(addr), publisherConfig(t, dir), zap.NewNop(), prometheus.NewRegistry())
	require.NoError(t, err)
	defer closePublisher(t, second)

	records := consumeRecords(t, broker.ListenAddrs(), 30, 20*time.Second)
	assert.Len(t, records, 30)
	waitFor(t, 10*time.Second, "the spool is empty", func() bool { return second.spool.Bytes() == 0 })
}

func TestKafkaPublisherCloseDrainsQueue(t *testing.T) {
	broker := startBroker(t, 0)
	cfg := publisherConfig(t, t.TempDir())
	cfg.QueueSize = 5000
	cfg.BatchSize = 500
	p, err := NewKafkaPublisher(kafkaConfig(broker.ListenAddrs()...), cfg, zap.NewNop(), prometheus.NewRegistry())
	require.NoError(t, err)

	for i := range 3000 {
		require.NoError(t, p.Publish(newTestHit(i, "link_"+strconv.Itoa(i%11))))
	}
	closePublisher(t, p)

	// Batches that found the sender busy went to the spool. With Kafka
	// healthy, Close sends them before it returns.
	assert.Empty(t, spooledClickIDs(t, cfg), "hits left in the spool after Close")
	records := consumeRecords(t, broker.ListenAddrs(), 3000, 20*time.Second)
	inKafka := map[string]bool{}
	for _, r := range records {
		h, err := event.DecodeHit(r.Value)
		require.NoError(t, err)
		assert.False(t, inKafka[h.ClickID], "hit %s is in Kafka twice", h.ClickID)
		inKafka[h.ClickID] = true
	}
	assert.Len(t, inKafka, 3000, "every hit is in Kafka")
	assert.Zero(t, metricValue(t, p.m.dropped.WithLabelValues(reasonSpoolFull)))

	require.ErrorIs(t, p.Publish(newTestHit(9999, "link_late")), ErrDropped)
	assert.Equal(t, 1.0, metricValue(t, p.m.dropped.WithLabelValues(reasonClosed)))
}

// spooledClickIDs returns the click ids of the hits in the spool of cfg,
// which no publisher may have open.
func spooledClickIDs(tb testing.TB, cfg Config) map[string]bool {
	tb.Helper()

	sp, err := spool.Open(cfg.Spool.Dir, spool.Options{MaxBytes: cfg.Spool.MaxBytes, SegmentBytes: cfg.Spool.SegmentBytes})
	require.NoError(tb, err)
	defer sp.Close()

	ids := map[string]bool{}
	for {
		seg, ok, err := sp.Next()
		require.NoError(tb, err)
		if !ok {
			return ids
		}
		for _, r := range seg.Records {
			_, value, ok := decodeSpoolRecord(r)
			require.True(tb, ok)
			h, err := event.DecodeHit(value)
			require.NoError(tb, err)
			ids[h.ClickID] = true
		}
		require.NoError(tb, sp.Remove(seg.ID))
	}
}

// fakeWriter is a messageWriter driven by the test: each WriteMessages call
// waits on release when it is set, then returns the next error of errs (nil
// when errs is empty) and records the messages it acknowledged.
type fakeWriter struct {
	mu      sync.Mutex
	release chan struct{}
	errs    []error
	written []kafkago.Message
	calls   int
}

func (f *fakeWriter) WriteMessages(ctx context.Context, msgs ...kafkago.Message) error {
	f.mu.Lock()
	release := f.release
	f.calls++
	f.mu.Unlock()

	if release != nil {
		select {
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	var err error
	if len(f.errs) > 0 {
		err, f.errs = f.errs[0], f.errs[1:]
	}
	var werrs kafkago.WriteErrors
	switch {
	case errors.As(err, &werrs):
		for i, e := range werrs {
			if e == nil {
				f.written = append(f.written, msgs[i])
			}
		}
	case err == nil:
		f.written = append(f.written, msgs...)
	}
	return err
}

func (f *fakeWriter) Close() error { return nil }

func (f *fakeWriter) keys() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for _, m := range f.written {
		var h event.RawHit
		_ = json.Unmarshal(m.Value, &h)
		out[h.ClickID]++
	}
	return out
}

func TestPublisherQueueFullSpools(t *testing.T) {
	cfg := publisherConfig(t, t.TempDir())
	cfg.QueueSize = 5
	cfg.BatchSize = 5
	w := &fakeWriter{release: make(chan struct{})}
	p, err := newKafkaPublisher(cfg, w, zap.NewNop(), prometheus.NewRegistry())
	require.NoError(t, err)

	// The writer blocks, so the queue, the pending batches and then the
	// spool fill up. Publish must never block.
	start := time.Now()
	for i := range 200 {
		require.NoError(t, p.Publish(newTestHit(i, "link_busy")))
	}
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Positive(t, metricValue(t, p.m.spooled.WithLabelValues(reasonQueueFull))+
		metricValue(t, p.m.spooled.WithLabelValues(reasonKafkaBusy)))

	close(w.release)
	waitFor(t, 10*time.Second, "every hit is written", func() bool { return len(w.keys()) == 200 })
	closePublisher(t, p)
	for id, n := range w.keys() {
		assert.Equal(t, 1, n, "hit %s written %d times", id, n)
	}
}

func TestPublisherCloseSendsSpool(t *testing.T) {
	cfg := publisherConfig(t, t.TempDir())
	cfg.QueueSize = 5
	cfg.BatchSize = 5
	w := &fakeWriter{release: make(chan struct{})}
	p, err := newKafkaPublisher(cfg, w, zap.NewNop(), prometheus.NewRegistry())
	require.NoError(t, err)

	// The writer blocks, so most hits go to the spool.
	for i := range 200 {
		require.NoError(t, p.Publish(newTestHit(i, "link_close")))
	}
	require.Positive(t, p.spool.Bytes())

	closed := make(chan struct{})
	go func() {
		defer close(closed)
		closePublisher(t, p)
	}()
	close(w.release)
	<-closed

	assert.Len(t, w.keys(), 200, "hits written before Close returned")
	assert.Empty(t, spooledClickIDs(t, cfg), "hits left in the spool")
}

func TestPublisherCloseKeepsSpoolWhileKafkaFails(t *testing.T) {
	cfg := publisherConfig(t, t.TempDir())
	cfg.BatchSize = 10
	cfg.BatchTimeout = time.Hour // only full batches
	w := &fakeWriter{}
	for range 1000 {
		w.errs = append(w.errs, errors.New("broker not available"))
	}
	p, err := newKafkaPublisher(cfg, w, zap.NewNop(), prometheus.NewRegistry())
	require.NoError(t, err)

	for i := range 10 {
		require.NoError(t, p.Publish(newTestHit(i, "link_failing")))
	}
	waitFor(t, 10*time.Second, "the failed batch is spooled", func() bool { return p.spool.Bytes() > 0 })
	closePublisher(t, p)

	assert.Empty(t, w.keys())
	assert.Len(t, spooledClickIDs(t, cfg), 10, "hits kept in the spool for the next start")
}

func TestPublisherPartialFailureSpoolsFailed(t *testing.T) {
	cfg := publisherConfig(t, t.TempDir())
	cfg.BatchSize = 4
	cfg.BatchTimeout = time.Hour // only full batches
	partial := kafkago.WriteErrors{nil, errors.New("leader not available"), nil, errors.New("leader not available")}
	w := &fakeWriter{errs: []error{partial}}
	p, err := newKafkaPublisher(cfg, w, zap.NewNop(), prometheus.NewRegistry())
	require.NoError(t, err)

	for i := range 4 {
		require.NoError(t, p.Publish(newTestHit(i, "link_partial")))
	}

	waitFor(t, 10*time.Second, "the failed hits are resent", func() bool { return len(w.keys()) == 4 })
	closePublisher(t, p)
	assert.Equal(t, 2.0, metricValue(t, p.m.spooled.WithLabelValues(reasonKafkaFailed)))
	assert.Equal(t, 2.0, metricValue(t, p.m.published.WithLabelValues("queue")))
	assert.Equal(t, 2.0, metricValue(t, p.m.published.WithLabelValues("spool")))
	for id, n := range w.keys() {
		assert.Equal(t, 1, n, "hit %s written %d times", id, n)
	}
}

func TestPublisherSpoolFullDrops(t *testing.T) {
	cfg := publisherConfig(t, t.TempDir())
	cfg.QueueSize = 1
	cfg.Spool.MaxBytes = cfg.Spool.SegmentBytes // 64 KiB, about 150 hits
	w := &fakeWriter{release: make(chan struct{})}
	p, err := newKafkaPublisher(cfg, w, zap.NewNop(), prometheus.NewRegistry())
	require.NoError(t, err)

	var dropped int
	for i := range 1000 {
		if err := p.Publish(newTestHit(i, "link_full")); err != nil {
			require.ErrorIs(t, err, ErrDropped)
			dropped++
		}
	}

	assert.Positive(t, dropped)
	assert.GreaterOrEqual(t, metricValue(t, p.m.dropped.WithLabelValues(reasonSpoolFull)), float64(dropped))
	assert.LessOrEqual(t, p.spool.Bytes(), cfg.Spool.MaxBytes)
	close(w.release)
	closePublisher(t, p)
}

func TestPublisherResendResumesSegment(t *testing.T) {
	cfg := publisherConfig(t, t.TempDir())
	cfg.BatchSize = 10

	// An earlier run left 30 hits in the spool.
	sp, err := spool.Open(cfg.Spool.Dir, spool.Options{MaxBytes: cfg.Spool.MaxBytes, SegmentBytes: cfg.Spool.SegmentBytes})
	require.NoError(t, err)
	var records [][]byte
	for i := range 30 {
		h := newTestHit(i, "link_resume")
		value, err := json.Marshal(h)
		require.NoError(t, err)
		records = append(records, encodeSpoolRecord(message{key: []byte(h.Resource.ID), value: value}))
	}
	_, err = sp.Append(records)
	require.NoError(t, err)
	require.NoError(t, sp.Close())

	// Resending takes three writes of 10. The second fails, and the retry
	// must start at hit 10, not at 0.
	w := &fakeWriter{errs: []error{nil, errors.New("broker went away")}}
	p, err := newKafkaPublisher(cfg, w, zap.NewNop(), prometheus.NewRegistry())
	require.NoError(t, err)

	waitFor(t, 10*time.Second, "every hit is written", func() bool { return len(w.keys()) == 30 })
	waitFor(t, 10*time.Second, "the spool is empty", func() bool { return p.spool.Bytes() == 0 })
	closePublisher(t, p)

	for id, n := range w.keys() {
		assert.Equal(t, 1, n, "hit %s written %d times", id, n)
	}
	assert.Equal(t, 4, w.calls, "three writes and one retry")
}

func TestPublisherLogsHeldBackDrops(t *testing.T) {
	interval := 300 * time.Millisecond
	defaultInterval := dropLogInterval
	dropLogInterval = interval
	t.Cleanup(func() { dropLogInterval = defaultInterval })

	cfg := publisherConfig(t, t.TempDir())
	cfg.QueueSize = 1
	cfg.Spool.MaxBytes = cfg.Spool.SegmentBytes // 64 KiB, about 150 hits
	w := &fakeWriter{release: make(chan struct{})}
	core, logs := observer.New(zapcore.ErrorLevel)
	p, err := newKafkaPublisher(cfg, w, zap.New(core), prometheus.NewRegistry())
	require.NoError(t, err)
	t.Cleanup(func() {
		close(w.release)
		closePublisher(t, p)
	})

	// The first drop is logged at once. The drops of the next 100 hits
	// follow within milliseconds, so they wait for the interval.
	i := 0
	for ; p.Publish(newTestHit(i, "link_full")) == nil; i++ {
		require.Less(t, i, 10000, "the spool never filled up")
	}
	for range 100 {
		i++
		_ = p.Publish(newTestHit(i, "link_full"))
	}

	dropLines := func() []observer.LoggedEntry { return logs.FilterMessage("hits dropped").All() }
	loggedDrops := func() int64 {
		var n int64
		for _, e := range dropLines() {
			n += e.ContextMap()["dropped"].(int64)
		}
		return n
	}
	waitFor(t, 5*time.Second, "every drop is logged without another drop or Close", func() bool {
		return loggedDrops() == p.drops.total.Load()
	})

	lines := dropLines()
	require.GreaterOrEqual(t, len(lines), 2)
	for k := 1; k < len(lines); k++ {
		gap := lines[k].Time.Sub(lines[k-1].Time)
		assert.GreaterOrEqual(t, gap, interval, "line %d follows the previous one after %s", k, gap)
	}
	last := lines[len(lines)-1].ContextMap()
	assert.Equal(t, map[string]int{reasonSpoolFull: int(last["dropped"].(int64))}, last["reasons"])
}
