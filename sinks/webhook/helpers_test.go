package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/clickstream/clickstream/pkg/event"
	"github.com/clickstream/clickstream/pkg/kafka"
	"github.com/clickstream/clickstream/pkg/subscription"
)

// memBroker is an in-memory stand-in for Kafka with one partition per
// topic. Writes append to the topic, readers fetch in order, and commits
// are remembered per topic. It lets dispatcher tests run without a broker.
type memBroker struct {
	mu     sync.Mutex
	topics map[string]*memTopic
}

type memTopic struct {
	name      string
	ch        chan kafkago.Message
	next      int64
	committed int64
	written   []kafkago.Message
}

func newMemBroker() *memBroker {
	return &memBroker{topics: map[string]*memTopic{}}
}

func (b *memBroker) topic(name string) *memTopic {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.topics[name]
	if t == nil {
		t = &memTopic{name: name, ch: make(chan kafkago.Message, 1<<18)}
		b.topics[name] = t
	}
	return t
}

// WriteMessages implements producer.
func (b *memBroker) WriteMessages(_ context.Context, msgs ...kafkago.Message) error {
	for _, m := range msgs {
		t := b.topic(m.Topic)
		// The send stays under the lock so that offsets reach the channel in order.
		b.mu.Lock()
		m.Partition, m.Offset = 0, t.next
		t.next++
		t.written = append(t.written, m)
		t.ch <- m
		b.mu.Unlock()
	}
	return nil
}

func (b *memBroker) Close() error { return nil }

// written returns copies of the records written to a topic so far.
func (b *memBroker) written(name string) []kafkago.Message {
	t := b.topic(name)
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]kafkago.Message(nil), t.written...)
}

func (b *memBroker) committed(name string) int64 {
	t := b.topic(name)
	b.mu.Lock()
	defer b.mu.Unlock()
	return t.committed
}

func (b *memBroker) reader(name string) messageReader {
	return &memReader{broker: b, topic: b.topic(name)}
}

type memReader struct {
	broker *memBroker
	topic  *memTopic
}

func (r *memReader) FetchMessage(ctx context.Context) (kafkago.Message, error) {
	select {
	case m := <-r.topic.ch:
		return m, nil
	case <-ctx.Done():
		return kafkago.Message{}, ctx.Err()
	}
}

func (r *memReader) CommitMessages(_ context.Context, msgs ...kafkago.Message) error {
	r.broker.mu.Lock()
	defer r.broker.mu.Unlock()
	for _, m := range msgs {
		r.topic.committed = max(r.topic.committed, m.Offset+1)
	}
	return nil
}

func (r *memReader) Close() error { return nil }

// testConfig returns a dispatcher config for loopback receivers with short
// timings.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.AllowCIDRs = []string{"127.0.0.0/8"}
	cfg.RetrySchedule = []time.Duration{50 * time.Millisecond, 50 * time.Millisecond}
	cfg.RetryJitter = 0
	cfg.CommitInterval = 20 * time.Millisecond
	cfg.DrainTimeout = 2 * time.Second
	cfg.RequestTimeout = 5 * time.Second
	cfg.ConnectTimeout = time.Second
	return cfg
}

// testWebhook adds a webhook for url to reg and returns it.
func testWebhook(t testing.TB, reg *subscription.Registry, id, url string) subscription.Webhook {
	t.Helper()
	w := subscription.Webhook{
		ID:        id,
		ProjectID: "prj_1",
		URL:       url,
		Secrets:   []string{subscription.NewSecret()},
		Triggers:  []string{event.TypeLinkClicked},
		LinkIDs:   []string{"lnk_1"},
	}
	require.NoError(t, reg.Put(w))
	return w
}

// testDelivery returns a delivery of a small link.clicked payload.
func testDelivery(webhookID string, n int) event.Delivery {
	clickID := fmt.Sprintf("click%011d", n)
	id := event.EventID(clickID, webhookID, event.TypeLinkClicked)
	payload, _ := json.Marshal(map[string]any{"id": id, "event": event.TypeLinkClicked, "data": map[string]any{"n": n}})
	return event.Delivery{
		EventID:   id,
		EventType: event.TypeLinkClicked,
		WebhookID: webhookID,
		ProjectID: "prj_1",
		ClickID:   clickID,
		Attempt:   1,
		Payload:   payload,
	}
}

func encodeDelivery(t testing.TB, d event.Delivery) kafkago.Message {
	t.Helper()
	v, err := json.Marshal(d)
	require.NoError(t, err)
	return kafkago.Message{Topic: "webhook-events", Key: []byte(d.WebhookID), Value: v}
}

// harness runs a Dispatcher on a memBroker.
type harness struct {
	d      *Dispatcher
	broker *memBroker
	rec    *MemoryRecorder
	reg    *subscription.Registry
	cancel context.CancelFunc
	done   chan error
}

func newHarness(t testing.TB, cfg Config, reg *subscription.Registry, log *zap.Logger) *harness {
	t.Helper()
	if log == nil {
		log = zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	}
	rec := &MemoryRecorder{}
	d, err := New(cfg, kafka.DefaultConfig(), reg, rec, log, prometheus.NewRegistry())
	require.NoError(t, err)

	b := newMemBroker()
	d.newReader = func(topic, _ string) messageReader { return b.reader(topic) }
	d.newProducer = func() producer { return b }
	d.ensureTopics = func(context.Context) error { return nil }
	return &harness{d: d, broker: b, rec: rec, reg: reg}
}

func (h *harness) start() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.done = make(chan error, 1)
	go func() { h.done <- h.d.Run(ctx) }()
}

// stop cancels Run and waits for it to return.
func (h *harness) stop(t testing.TB) {
	t.Helper()
	h.cancel()
	select {
	case err := <-h.done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func (h *harness) publish(t testing.TB, dels ...event.Delivery) {
	t.Helper()
	msgs := make([]kafkago.Message, len(dels))
	for i, d := range dels {
		msgs[i] = encodeDelivery(t, d)
	}
	require.NoError(t, h.broker.WriteMessages(context.Background(), msgs...))
}

// metricValue returns the value of a counter or gauge.
func metricValue(t testing.TB, m prometheus.Metric) float64 {
	t.Helper()
	var out dto.Metric
	require.NoError(t, m.Write(&out))
	if out.Counter != nil {
		return out.Counter.GetValue()
	}
	return out.Gauge.GetValue()
}

// receiver is an httptest handler that records requests and responds with
// the status its respond function returns.
type receiver struct {
	mu       sync.Mutex
	requests []receivedRequest
	respond  func(n int, r *http.Request) int
}

type receivedRequest struct {
	header http.Header
	body   []byte
	at     time.Time
}

func (rv *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body := make([]byte, 0, 512)
	buf := make([]byte, 512)
	for {
		n, err := r.Body.Read(buf)
		body = append(body, buf[:n]...)
		if err != nil {
			break
		}
	}
	rv.mu.Lock()
	n := len(rv.requests)
	rv.requests = append(rv.requests, receivedRequest{header: r.Header.Clone(), body: body, at: time.Now()})
	respond := rv.respond
	rv.mu.Unlock()

	status := http.StatusOK
	if respond != nil {
		status = respond(n, r)
	}
	w.WriteHeader(status)
}

func (rv *receiver) received() []receivedRequest {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return append([]receivedRequest(nil), rv.requests...)
}

func (rv *receiver) count() int {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return len(rv.requests)
}

func kafkaMessage(topic, value string) kafkago.Message {
	return kafkago.Message{Topic: topic, Value: []byte(value)}
}
