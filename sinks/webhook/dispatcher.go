// Package webhook delivers webhook events to customers' endpoints. It reads
// event.Delivery records from the webhook-events topic, signs each payload
// (CodeQR-Signature and Standard Webhooks headers), POSTs it through an
// SSRF-guarded client and retries failures through Kafka delay topics, so a
// retry survives a restart. Every attempt goes to an AttemptRecorder.
package webhook

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/clickstream/clickstream/pkg/kafka"
	"github.com/clickstream/clickstream/pkg/subscription"
)

// Reasons passed to OnDisable and used as metric labels.
const (
	DisableGone                = "gone"
	DisableConsecutiveFailures = "consecutive_failures"
)

// finalCommitTimeout bounds the last offset commit on shutdown.
const finalCommitTimeout = 5 * time.Second

// Dispatcher consumes webhook-events and its retry topics and delivers each
// record to its webhook.
//
// Isolation: every webhook has its own bounded queue and at most
// Config.PerEndpointConcurrency requests in flight, so a slow endpoint only
// fills its own queue. A delivery that finds its queue full, or waits in it
// longer than Config.MaxQueueWait, is deferred to a retry topic instead of
// holding memory or offsets. A deferral keeps the attempt number and does
// not count as a failure of the webhook (see deferJob).
//
// Durability: a source offset is committed only after its delivery
// succeeded, failed for good, or was acknowledged by the broker on a retry
// or the failed topic. A dispatcher that stops mid-delivery leaves the
// offset uncommitted, and the next owner sends the same event id again.
type Dispatcher struct {
	// OnDisable is called after the dispatcher disabled a webhook, with the
	// webhook id and DisableGone or DisableConsecutiveFailures, so that the
	// caller can persist the change. The dispatcher has already marked the
	// webhook disabled in the registry. It runs on a delivery goroutine,
	// at most once per disabling; set it before Run.
	OnDisable func(webhookID, reason string)

	cfg     Config
	kcfg    kafka.Config
	reg     *subscription.Registry
	log     *zap.Logger
	metrics *metrics
	client  *Client
	records *attemptLog
	queues  *queues

	// Set by Run before any delivery starts.
	out     *handoff
	sendCtx context.Context

	failMu   sync.Mutex
	failures map[string]int

	// notices counts deferred and skipped deliveries for the log.
	notices *notices
	// maxDeferrals and maxDeferralSpan bound how often and how long one
	// attempt is deferred. Tests lower them.
	maxDeferrals    int
	maxDeferralSpan time.Duration

	// Replaced in tests that run without a broker.
	newReader    func(topic, group string) messageReader
	newProducer  func() producer
	ensureTopics func(ctx context.Context) error
}

// messageReader is the part of *kafkago.Reader the dispatcher uses.
type messageReader interface {
	FetchMessage(ctx context.Context) (kafkago.Message, error)
	CommitMessages(ctx context.Context, msgs ...kafkago.Message) error
	Close() error
}

// New validates cfg and returns a Dispatcher that reads kcfg's
// webhook-events topic and looks webhooks up in reg at send time. rec may
// be nil to discard attempts; metrics may be nil to skip registration.
func New(cfg Config, kcfg kafka.Config, reg *subscription.Registry, rec AttemptRecorder, log *zap.Logger, metrics prometheus.Registerer) (*Dispatcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := kcfg.Validate(); err != nil {
		return nil, err
	}
	if reg == nil {
		return nil, fmt.Errorf("creating webhook dispatcher: registry is nil")
	}
	if rec == nil {
		rec = NopRecorder{}
	}
	if log == nil {
		log = zap.NewNop()
	}
	m, err := newMetrics(metrics)
	if err != nil {
		return nil, err
	}
	allow, _ := parseCIDRs(cfg.AllowCIDRs) // checked by Validate

	log = log.Named("webhook")
	d := &Dispatcher{
		cfg:      cfg,
		kcfg:     kcfg,
		reg:      reg,
		log:      log,
		metrics:  m,
		records:  newAttemptLog(rec, cfg.RecordQueueSize, log, m),
		failures: map[string]int{},
		notices:  newNotices(),

		maxDeferrals:    defaultMaxDeferrals,
		maxDeferralSpan: maxDeferralSpan(cfg.RetrySchedule),
		client: NewClient(ClientConfig{
			ConnectTimeout:      cfg.ConnectTimeout,
			Timeout:             cfg.RequestTimeout,
			Allow:               allow,
			UserAgent:           cfg.UserAgent,
			MaxRetryAfter:       cfg.MaxRetryAfter,
			MaxIdleConnsPerHost: cfg.PerEndpointConcurrency,
		}),
	}
	d.queues = newQueues(cfg, m, d.work)
	d.newReader = func(topic, group string) messageReader {
		return kafka.NewGroupReader(kcfg, topic, group, log)
	}
	d.newProducer = func() producer {
		return kafka.NewWriter(kcfg, "", kafka.WriterOptions{BatchSize: produceBatchSize, BatchTimeout: time.Millisecond}, log)
	}
	d.ensureTopics = d.createTopics
	return d, nil
}

// createTopics creates webhook-events, the retry topics and the failed
// topic where they are missing.
func (d *Dispatcher) createTopics(ctx context.Context) error {
	src := d.kcfg.Topics.WebhookEvents
	specs := []kafka.TopicSpec{{Name: src}, {Name: FailedTopic(src)}}
	for n := 1; n <= len(d.cfg.RetrySchedule); n++ {
		specs = append(specs, kafka.TopicSpec{Name: RetryTopic(src, n)})
	}
	return kafka.EnsureTopics(ctx, d.kcfg, specs...)
}

// Run creates the topics, then consumes and delivers until ctx ends. It
// then stops fetching, lets requests in flight finish for up to
// Config.DrainTimeout, cancels the rest, commits the finished offsets and
// returns. Deliveries still queued at that point are left uncommitted and
// are delivered again by the next owner of their partitions. Run returns
// an error only when it cannot start; call it once.
func (d *Dispatcher) Run(ctx context.Context) error {
	if err := d.ensureTopics(ctx); err != nil {
		return fmt.Errorf("creating webhook topics: %w", err)
	}

	sendCtx, cancelSend := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSend()
	d.sendCtx = sendCtx

	w := d.newProducer()
	d.out = newHandoff(w, d.cfg.ProduceQueueSize, d.log)
	d.out.start(sendCtx)

	stopRecords := make(chan struct{})
	go d.records.run(stopRecords)

	consumers := d.openConsumers()
	var fetchers sync.WaitGroup
	for _, c := range consumers {
		fetchers.Add(2)
		go func() { defer fetchers.Done(); d.consume(ctx, c) }()
		go func() { defer fetchers.Done(); d.commitLoop(ctx, c) }()
	}
	fetchers.Add(2)
	go func() { defer fetchers.Done(); d.sweep(ctx) }()
	go func() { defer fetchers.Done(); d.logNotices(ctx) }()

	d.log.Info("webhook dispatcher started", zap.String("topic", d.kcfg.Topics.WebhookEvents), zap.String("group", d.cfg.Group), zap.Int("retrySteps", len(d.cfg.RetrySchedule)))
	<-ctx.Done()
	fetchers.Wait()

	d.drain(cancelSend)
	d.notices.flush(d.log)
	for _, c := range consumers {
		d.finalCommit(c)
	}
	if err := w.Close(); err != nil {
		d.log.Error("closing the retry writer failed", zap.Error(err))
	}
	close(stopRecords)
	<-d.records.done
	d.client.CloseIdleConnections()
	d.log.Info("webhook dispatcher stopped")
	return nil
}

// drain waits for requests in flight and for the records they hand to
// Kafka, and cancels both when Config.DrainTimeout passes.
func (d *Dispatcher) drain(cancelSend context.CancelFunc) {
	left := d.queues.stop()
	timer := time.AfterFunc(d.cfg.DrainTimeout, cancelSend)
	defer timer.Stop()

	d.queues.wait()
	d.out.close()
	d.out.wait()

	if left > 0 {
		d.log.Info("deliveries left queued at shutdown; their offsets stay uncommitted", zap.Int("deliveries", left))
	}
	if d.sendCtx.Err() != nil {
		d.log.Error("shutdown drain timed out; requests in flight were canceled and stay uncommitted", zap.Duration("drainTimeout", d.cfg.DrainTimeout))
	}
}

// consumer is the reader of one topic and the offsets it may commit.
type consumer struct {
	topic string
	// step is the retry step the topic belongs to, 0 for webhook-events.
	step    int
	reader  messageReader
	tracker *commitTracker
}

func (d *Dispatcher) openConsumers() []*consumer {
	src := d.kcfg.Topics.WebhookEvents
	out := []*consumer{{topic: src, reader: d.newReader(src, d.cfg.Group), tracker: newCommitTracker(d.cfg.MaxUncommitted)}}
	for n := 1; n <= len(d.cfg.RetrySchedule); n++ {
		topic := RetryTopic(src, n)
		group := d.cfg.Group + ".retry." + strconv.Itoa(n)
		out = append(out, &consumer{topic: topic, step: n, reader: d.newReader(topic, group), tracker: newCommitTracker(d.cfg.MaxUncommitted)})
	}
	return out
}
