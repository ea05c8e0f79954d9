package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/clickstream/clickstream/pkg/event"
	"github.com/clickstream/clickstream/pkg/kafka"
	"github.com/clickstream/clickstream/sinks/webhook"
)

// ReplayResult is the response of POST /v1/webhooks/{id}/replay.
type ReplayResult struct {
	// Replayed is the number of deliveries written back to webhook-events.
	Replayed int `json:"replayed"`
	// Scanned is the number of failed-topic records read.
	Scanned int `json:"scanned"`
	// Truncated is true when admin.replayMaxEvents or admin.replayMaxScan
	// stopped the scan, so the range may hold more failed deliveries.
	// Send another request with a later from to go on.
	Truncated bool `json:"truncated"`
	// EventIDs are the ids of the replayed events.
	EventIDs []string `json:"eventIds"`
}

// replayRequest is the body of POST /v1/webhooks/{id}/replay. The range
// selects deliveries by the time they failed for good, which is the
// timestamp of their record in the failed topic. from is inclusive and to
// is exclusive.
type replayRequest struct {
	From string `json:"from"`
	To   string `json:"to"`
}

func (s *Server) replay(w http.ResponseWriter, r *http.Request) {
	var req replayRequest
	if e := decodeBody(r, &req, false); e != nil {
		writeAPIError(w, e)
		return
	}
	from, e := parseTime("from", req.From)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	to, e := parseTime("to", req.To)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	if !to.After(from) {
		writeError(w, http.StatusBadRequest, "to", "must be after from")
		return
	}

	hook, ok := s.lookup(w, r)
	if !ok {
		return
	}
	if !hook.Enabled() {
		writeError(w, http.StatusConflict, "id", fmt.Sprintf("webhook %s is disabled, so the dispatcher would drop the replayed deliveries; enable it first", hook.ID))
		return
	}
	if s.deps.Replayer == nil {
		writeError(w, http.StatusServiceUnavailable, "", "replaying is not available in this process")
		return
	}

	res, err := s.deps.Replayer.Replay(r.Context(), hook.ID, from, to)
	if err != nil {
		s.log.Error("replaying failed deliveries failed", zap.String("webhookId", hook.ID), zap.Int("replayed", res.Replayed), zap.Error(err))
		writeError(w, http.StatusServiceUnavailable, "", "replaying failed deliveries failed; try again")
		return
	}
	s.log.Info("failed deliveries replayed", zap.String("webhookId", hook.ID), zap.Time("from", from), zap.Time("to", to),
		zap.Int("replayed", res.Replayed), zap.Int("scanned", res.Scanned), zap.Bool("truncated", res.Truncated))
	writeJSON(w, http.StatusAccepted, res)
}

func parseTime(field, raw string) (time.Time, *apiError) {
	if raw == "" {
		return time.Time{}, badRequest(field, "is missing; send an RFC 3339 time such as %q", event.TimeLayout)
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return time.Time{}, badRequest(field, "must be an RFC 3339 time such as %q, got %q", event.TimeLayout, raw)
	}
	return t, nil
}

// KafkaReplayer reads a webhook's records from the dispatcher's failed
// topic (webhook.FailedTopic of webhook-events) and writes them back to
// webhook-events as first attempts with the same event ids, so the
// dispatcher delivers them again and receivers can still drop repeats.
type KafkaReplayer struct {
	kcfg      kafka.Config
	failed    string
	maxEvents int
	maxScan   int
	w         *kafkago.Writer
	log       *zap.Logger
}

// NewKafkaReplayer returns a replayer that writes at most maxEvents
// deliveries and reads at most maxScan records per Replay.
func NewKafkaReplayer(kcfg kafka.Config, maxEvents, maxScan int, log *zap.Logger) *KafkaReplayer {
	if log == nil {
		log = zap.NewNop()
	}
	return &KafkaReplayer{
		kcfg:      kcfg,
		failed:    webhook.FailedTopic(kcfg.Topics.WebhookEvents),
		maxEvents: maxEvents,
		maxScan:   maxScan,
		w:         kafka.NewWriter(kcfg, kcfg.Topics.WebhookEvents, kafka.WriterOptions{}, log),
		log:       log.Named("replay"),
	}
}

// Close closes the writer.
func (k *KafkaReplayer) Close() error {
	return k.w.Close()
}

// Replay writes back the failed deliveries of webhookID whose failed-topic
// records have timestamps in [from, to). Each event id is written once,
// even when it failed several times in the range. After an error, some
// deliveries may have been written already; repeating the request writes
// them again with the same event ids.
func (k *KafkaReplayer) Replay(ctx context.Context, webhookID string, from, to time.Time) (ReplayResult, error) {
	res := ReplayResult{EventIDs: []string{}}
	parts, err := k.partitions(ctx)
	if errors.Is(err, kafkago.UnknownTopicOrPartition) {
		return res, nil // nothing has failed yet
	}
	if err != nil {
		return res, err
	}

	var msgs []kafkago.Message
	seen := map[string]bool{}
	for _, p := range parts {
		if res.Truncated {
			break
		}
		err := k.scanPartition(ctx, p, from, to, func(m kafkago.Message) bool {
			res.Scanned++
			if del, ok := k.match(m, webhookID); ok && !seen[del.EventID] {
				if len(msgs) == k.maxEvents {
					res.Truncated = true
					return false
				}
				seen[del.EventID] = true
				msgs = append(msgs, k.firstAttempt(del))
				res.EventIDs = append(res.EventIDs, del.EventID)
			}
			if res.Scanned >= k.maxScan {
				res.Truncated = true
				return false
			}
			return true
		})
		if err != nil {
			return ReplayResult{EventIDs: []string{}}, err
		}
	}

	if len(msgs) > 0 {
		if err := k.w.WriteMessages(ctx, msgs...); err != nil {
			return ReplayResult{EventIDs: []string{}, Scanned: res.Scanned}, fmt.Errorf("writing %d replayed deliveries of %s to %s: %w", len(msgs), webhookID, k.kcfg.Topics.WebhookEvents, err)
		}
	}
	res.Replayed = len(msgs)
	return res, nil
}

// match decodes m and reports whether it is a delivery of webhookID.
func (k *KafkaReplayer) match(m kafkago.Message, webhookID string) (event.Delivery, bool) {
	if string(m.Key) != webhookID {
		return event.Delivery{}, false
	}
	var del event.Delivery
	if err := json.Unmarshal(m.Value, &del); err != nil || del.WebhookID != webhookID || del.EventID == "" || len(del.Payload) == 0 {
		k.log.Warn("skipping an undecodable failed delivery", zap.String("webhookId", webhookID), zap.Int("partition", m.Partition), zap.Int64("offset", m.Offset))
		return event.Delivery{}, false
	}
	return del, true
}

// firstAttempt returns the webhook-events record that sends del again
// from attempt 1 without delay.
func (k *KafkaReplayer) firstAttempt(del event.Delivery) kafkago.Message {
	del.Attempt = 1
	del.NotBefore = event.Time{}
	value, _ := json.Marshal(del) // Delivery holds strings, numbers and JSON decoded before.
	return kafkago.Message{Key: []byte(del.WebhookID), Value: value}
}

type partitionLeader struct {
	id     int
	leader string
}

// partitions returns the failed topic's partitions and their leaders. It
// does not create the topic.
func (k *KafkaReplayer) partitions(ctx context.Context) ([]partitionLeader, error) {
	transport := &kafkago.Transport{ClientID: k.kcfg.ClientID, DialTimeout: k.kcfg.DialTimeout}
	defer transport.CloseIdleConnections()
	client := &kafkago.Client{Addr: kafkago.TCP(k.kcfg.Brokers...), Timeout: 10 * time.Second, Transport: transport}

	meta, err := client.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{k.failed}})
	if err != nil {
		return nil, fmt.Errorf("reading the metadata of %s: %w", k.failed, err)
	}
	if len(meta.Topics) != 1 {
		return nil, fmt.Errorf("reading the metadata of %s: got %d topics", k.failed, len(meta.Topics))
	}
	if err := meta.Topics[0].Error; err != nil {
		return nil, fmt.Errorf("reading the metadata of %s: %w", k.failed, err)
	}

	out := make([]partitionLeader, 0, len(meta.Topics[0].Partitions))
	for _, p := range meta.Topics[0].Partitions {
		out = append(out, partitionLeader{id: p.ID, leader: net.JoinHostPort(p.Leader.Host, strconv.Itoa(p.Leader.Port))})
	}
	return out, nil
}

// scanPartition calls visit for the records of one partition from the
// first with a timestamp at or after from, until a record at or after to,
// the end offset the partition had when the scan started, or visit
// returning false.
func (k *KafkaReplayer) scanPartition(ctx context.Context, p partitionLeader, from, to time.Time, visit func(kafkago.Message) bool) error {
	start, end, err := k.offsetRange(ctx, p, from)
	if err != nil || start < 0 || start >= end {
		return err
	}

	r := kafkago.NewReader(kafkago.ReaderConfig{
		Brokers:     k.kcfg.Brokers,
		Topic:       k.failed,
		Partition:   p.id,
		Dialer:      &kafkago.Dialer{ClientID: k.kcfg.ClientID, Timeout: k.kcfg.DialTimeout},
		MinBytes:    1,
		MaxBytes:    8 << 20,
		MaxWait:     250 * time.Millisecond,
		Logger:      kafka.Logger(k.log),
		ErrorLogger: kafka.ErrorLogger(k.log),
	})
	defer r.Close()
	if err := r.SetOffset(start); err != nil {
		return fmt.Errorf("seeking %s/%d to offset %d: %w", k.failed, p.id, start, err)
	}

	for {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			return fmt.Errorf("reading %s/%d: %w", k.failed, p.id, err)
		}
		if !m.Time.Before(to) || !visit(m) || m.Offset+1 >= end {
			return nil
		}
	}
}

// offsetRange returns the offset of the first record with a timestamp at
// or after from (-1 when there is none) and the partition's end offset.
func (k *KafkaReplayer) offsetRange(ctx context.Context, p partitionLeader, from time.Time) (start, end int64, err error) {
	dialer := &kafkago.Dialer{ClientID: k.kcfg.ClientID, Timeout: k.kcfg.DialTimeout}
	conn, err := dialer.DialLeader(ctx, "tcp", p.leader, k.failed, p.id)
	if err != nil {
		return 0, 0, fmt.Errorf("connecting to the leader of %s/%d: %w", k.failed, p.id, err)
	}
	defer conn.Close()

	if end, err = conn.ReadLastOffset(); err != nil {
		return 0, 0, fmt.Errorf("reading the end offset of %s/%d: %w", k.failed, p.id, err)
	}
	if start, err = conn.ReadOffset(from); err != nil {
		return 0, 0, fmt.Errorf("looking up the offset of %s in %s/%d: %w", from.Format(time.RFC3339), k.failed, p.id, err)
	}
	return start, end, nil
}
