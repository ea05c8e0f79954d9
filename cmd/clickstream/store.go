package main

import (
	"context"
	"time"

	"github.com/clickstream/clickstream/pkg/event"
	"github.com/clickstream/clickstream/pkg/worker"
	"github.com/clickstream/clickstream/sinks/clickhouse"
	"github.com/clickstream/clickstream/sinks/webhook"
)

// chStore adapts the ClickHouse client to the worker's Store.
type chStore struct {
	ch *clickhouse.Client
}

func (s chStore) InsertInteractions(ctx context.Context, rows []event.Enriched, src worker.Source) error {
	return s.ch.InsertInteractions(ctx, rows, clickhouse.Source{
		Topic: src.Topic, Partition: src.Partition, FirstOffset: src.FirstOffset, LastOffset: src.LastOffset, Offsets: src.Offsets,
	})
}

func (s chStore) InsertDeadLetters(ctx context.Context, letters []worker.DeadLetter) error {
	out := make([]clickhouse.DeadLetter, len(letters))
	for i, d := range letters {
		out[i] = clickhouse.DeadLetter{Time: d.Time, Topic: d.Topic, Partition: d.Partition, Offset: d.Offset, Reason: d.Reason, Raw: d.Raw}
	}
	return s.ch.InsertDeadLetters(ctx, out)
}

func (s chStore) CountsByResource(ctx context.Context, ids []string, partition int, before int64) (map[string]worker.ResourceCount, error) {
	counts, err := s.ch.CountsByResource(ctx, ids, partition, before)
	if err != nil {
		return nil, err
	}
	out := make(map[string]worker.ResourceCount, len(counts))
	for id, c := range counts {
		out[id] = worker.ResourceCount{Count: c.Count, Last: c.Last}
	}
	return out, nil
}

func (s chStore) RecentVisitors(ctx context.Context, partition int, before int64, since time.Time, limit int) ([]worker.Visitor, error) {
	visitors, err := s.ch.RecentVisitors(ctx, partition, before, since, limit)
	if err != nil {
		return nil, err
	}
	out := make([]worker.Visitor, len(visitors))
	for i, v := range visitors {
		out[i] = worker.Visitor{ResourceID: v.ResourceID, Hash: v.Hash, IP: v.IP, UA: v.UA, Last: v.Last, ClickID: v.ClickID}
	}
	return out, nil
}

// attemptLog adapts the ClickHouse delivery log to the dispatcher's recorder.
type attemptLog struct {
	ch *clickhouse.Client
}

func (l attemptLog) RecordAttempts(ctx context.Context, attempts []webhook.Attempt) error {
	out := make([]clickhouse.DeliveryAttempt, len(attempts))
	for i, a := range attempts {
		out[i] = toDeliveryAttempt(a)
	}
	return l.ch.InsertDeliveryAttempts(ctx, out)
}

func toDeliveryAttempt(a webhook.Attempt) clickhouse.DeliveryAttempt {
	return clickhouse.DeliveryAttempt{
		Time:          a.Time,
		EventID:       a.EventID,
		WebhookID:     a.WebhookID,
		ProjectID:     a.ProjectID,
		EventType:     a.EventType,
		Attempt:       a.Number,
		URL:           a.URL,
		StatusCode:    a.StatusCode,
		Latency:       a.Latency,
		Outcome:       a.Outcome.String(),
		ErrorClass:    a.Class,
		Error:         a.Error,
		ResponseBody:  string(a.ResponseBody),
		NextAttemptAt: a.NextAttempt,
		Final:         a.Final,
	}
}
