package reconcile

import (
	"context"
	"errors"
	"fmt"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/clickstream/clickstream/pkg/kafka"
)

// readTimeout bounds the wait for the next record of a range that
// ListOffsets reported.
const readTimeout = 30 * time.Second

// KafkaHits reads the hits topic of a Kafka cluster.
type KafkaHits struct {
	cfg    kafka.Config
	dialer *kafkago.Dialer
	client *kafkago.Client
}

// NewKafkaHits returns a HitSource for the hits topic of cfg.
func NewKafkaHits(cfg kafka.Config) *KafkaHits {
	return &KafkaHits{
		cfg:    cfg,
		dialer: &kafkago.Dialer{ClientID: cfg.ClientID, Timeout: cfg.DialTimeout},
		client: &kafkago.Client{
			Addr:      kafkago.TCP(cfg.Brokers...),
			Timeout:   cfg.DialTimeout,
			Transport: &kafkago.Transport{ClientID: cfg.ClientID, DialTimeout: cfg.DialTimeout},
		},
	}
}

// Topic implements HitSource.
func (k *KafkaHits) Topic() string {
	return k.cfg.Topics.Hits
}

// Scan implements HitSource. It finds each partition's offsets by time with
// a ListOffsets request, then reads the records between them.
//
// NOTE: Kafka finds the first record whose timestamp is at or after a time.
// Producers set the timestamps, so a record from a producer with a slow
// clock can follow the start offset with an earlier timestamp. Such a
// record is read, and counted only if its hit is in range.
func (k *KafkaHits) Scan(ctx context.Context, from, to time.Time, fn func(Record) error) error {
	partitions, err := k.partitions(ctx)
	if err != nil {
		return err
	}
	starts, err := k.offsetsAt(ctx, partitions, from)
	if err != nil {
		return fmt.Errorf("finding the offsets at %s: %w", from.Format(time.RFC3339), err)
	}
	ends, err := k.offsetsAt(ctx, partitions, to)
	if err != nil {
		return fmt.Errorf("finding the offsets at %s: %w", to.Format(time.RFC3339), err)
	}

	for _, p := range partitions {
		if err := k.readRange(ctx, p, starts[p], ends[p], fn); err != nil {
			return err
		}
	}
	return nil
}

// partitions returns the partition ids of the hits topic.
func (k *KafkaHits) partitions(ctx context.Context) ([]int, error) {
	var lastErr error
	for _, b := range k.cfg.Brokers {
		conn, err := k.dialer.DialContext(ctx, "tcp", b)
		if err != nil {
			lastErr = err
			continue
		}
		parts, err := conn.ReadPartitions(k.cfg.Topics.Hits)
		conn.Close()
		if err != nil {
			lastErr = err
			continue
		}

		ids := make([]int, len(parts))
		for i, p := range parts {
			ids[i] = p.ID
		}
		return ids, nil
	}
	return nil, fmt.Errorf("listing the partitions of %s through %v: %w", k.cfg.Topics.Hits, k.cfg.Brokers, lastErr)
}

// offsetsAt returns, per partition, the offset of the first record whose
// timestamp is at or after t, or the end of the partition (the offset the
// next record will get) when there is none.
func (k *KafkaHits) offsetsAt(ctx context.Context, partitions []int, t time.Time) (map[int]int64, error) {
	byTime := make([]kafkago.OffsetRequest, len(partitions))
	byEnd := make([]kafkago.OffsetRequest, len(partitions))
	for i, p := range partitions {
		byTime[i] = kafkago.TimeOffsetOf(p, t)
		byEnd[i] = kafkago.LastOffsetOf(p)
	}
	found, err := k.listOffsets(ctx, byTime)
	if err != nil {
		return nil, err
	}
	ends, err := k.listOffsets(ctx, byEnd)
	if err != nil {
		return nil, err
	}

	out := make(map[int]int64, len(partitions))
	for _, p := range partitions {
		out[p] = ends[p].LastOffset
		// A lookup by time that finds a record reports it in Offsets;
		// one that finds none reports nothing there.
		for off := range found[p].Offsets {
			if off >= 0 {
				out[p] = off
			}
		}
	}
	return out, nil
}

func (k *KafkaHits) listOffsets(ctx context.Context, reqs []kafkago.OffsetRequest) (map[int]kafkago.PartitionOffsets, error) {
	res, err := k.client.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{k.cfg.Topics.Hits: reqs}})
	if err != nil {
		return nil, err
	}

	out := map[int]kafkago.PartitionOffsets{}
	for _, po := range res.Topics[k.cfg.Topics.Hits] {
		if po.Error != nil {
			return nil, fmt.Errorf("partition %d: %w", po.Partition, po.Error)
		}
		out[po.Partition] = po
	}
	return out, nil
}

// readRange calls fn for the records of partition p in [start, end).
func (k *KafkaHits) readRange(ctx context.Context, p int, start, end int64, fn func(Record) error) error {
	if start >= end {
		return nil
	}
	r := kafkago.NewReader(kafkago.ReaderConfig{
		Brokers:   k.cfg.Brokers,
		Topic:     k.cfg.Topics.Hits,
		Partition: p,
		Dialer:    k.dialer,
		MinBytes:  1,
		MaxBytes:  8 << 20,
		MaxWait:   500 * time.Millisecond,
	})
	defer r.Close()
	if err := r.SetOffset(start); err != nil {
		return fmt.Errorf("partition %d: seeking to offset %d: %w", p, start, err)
	}

	for {
		m, err := readOne(ctx, r)
		if err != nil {
			return fmt.Errorf("partition %d: reading offsets %d-%d: %w", p, start, end-1, err)
		}
		if m.Offset >= end {
			return nil
		}
		if err := fn(Record{Partition: p, Offset: m.Offset, Time: m.Time, Value: m.Value}); err != nil {
			return err
		}
		if m.Offset == end-1 {
			return nil
		}
	}
}

func readOne(ctx context.Context, r *kafkago.Reader) (kafkago.Message, error) {
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	m, err := r.ReadMessage(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return m, fmt.Errorf("no record arrived within %s at offset %d", readTimeout, r.Offset())
	}
	return m, err
}
