package subscription

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"go.uber.org/zap"
)

// ApplyRecord applies one record of the webhooks change feed: key is the
// webhook id, value the webhook as JSON, and an empty value deletes it.
// Unknown JSON keys are ignored, so that an older process can read what a
// newer one wrote.
func (r *Registry) ApplyRecord(key string, value []byte) error {
	if len(value) == 0 {
		r.Delete(key)
		return nil
	}

	var w Webhook
	if err := json.Unmarshal(value, &w); err != nil {
		return fmt.Errorf("decoding webhook %s: %w", key, err)
	}
	if w.ID != key {
		return fmt.Errorf("webhook record key %q does not match its id %q", key, w.ID)
	}
	if err := r.Put(w); err != nil {
		return fmt.Errorf("webhook %s: %w", key, err)
	}
	return nil
}

// EncodeRecord validates w and returns the value of its change feed record.
func EncodeRecord(w Webhook) ([]byte, error) {
	if err := w.Validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("encoding webhook %s: %w", w.ID, err)
	}
	return b, nil
}

// FeedWriter writes records to the webhooks change feed and returns once
// they are applied to the registry that follows it, as
// *changefeed.Feed does.
type FeedWriter interface {
	Put(ctx context.Context, key string, value []byte) error
	Delete(ctx context.Context, key string) error
}

// Store reads webhooks from a registry that follows the webhooks change
// feed and writes changes to that feed. Because FeedWriter returns only
// after the registry applied the write, a read after a write returns it.
// It is safe for concurrent use.
type Store struct {
	reg  *Registry
	feed FeedWriter
	log  *zap.Logger
}

// NewStore returns a store on reg, which feed must keep current.
func NewStore(reg *Registry, feed FeedWriter, log *zap.Logger) *Store {
	if log == nil {
		log = zap.NewNop()
	}
	return &Store{reg: reg, feed: feed, log: log.Named("webhooks")}
}

// Get returns a copy of the webhook with the given id.
func (s *Store) Get(id string) (Webhook, bool) {
	return s.reg.Get(id)
}

// List returns the webhooks, optionally of one project, sorted by id.
func (s *Store) List(projectID string) []Webhook {
	out := s.reg.List(projectID)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Put validates w and writes it to the feed, replacing the webhook with
// the same id.
func (s *Store) Put(ctx context.Context, w Webhook) error {
	value, err := EncodeRecord(w)
	if err != nil {
		return err
	}
	return s.feed.Put(ctx, w.ID, value)
}

// Delete writes a tombstone for the webhook with the given id.
func (s *Store) Delete(ctx context.Context, id string) error {
	return s.feed.Delete(ctx, id)
}

// PublishUnseen writes every webhook of the registry whose id seen
// reports false, which after loading a seed file and catching up with the
// feed are the seed's webhooks that the feed never mentioned. A webhook
// changed or deleted through the feed is left alone. It returns the number
// written.
func (s *Store) PublishUnseen(ctx context.Context, seen func(id string) bool) (int, error) {
	n := 0
	for _, w := range s.List("") {
		if seen(w.ID) {
			continue
		}
		if err := s.Put(ctx, w); err != nil {
			return n, fmt.Errorf("publishing seed webhook %s: %w", w.ID, err)
		}
		n++
	}
	return n, nil
}

// Backoff bounds of RecordDisabled.
const (
	disableRetryFirst = time.Second
	disableRetryMax   = 30 * time.Second
	disableGiveUp     = 5 * time.Minute
)

// RecordDisabled writes the disabling of a webhook to the feed so that
// every process stops delivering to it. It has the signature of
// webhook.Dispatcher.OnDisable: the dispatcher has already marked the
// webhook disabled in the registry. It returns at once and writes in the
// background, retrying with backoff for up to 5 minutes, and logs the
// outcome.
//
// Disabling wins over a concurrent change: if a feed record re-enabled
// the webhook in the meantime, RecordDisabled disables it again.
func (s *Store) RecordDisabled(id, reason string) {
	w, ok := s.reg.Get(id)
	if !ok {
		return
	}
	disabledAt := time.Now().UTC()
	if w.DisabledAt != nil {
		disabledAt = *w.DisabledAt
	}
	go s.persistDisabled(id, reason, disabledAt)
}

func (s *Store) persistDisabled(id, reason string, disabledAt time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), disableGiveUp)
	defer cancel()

	wait := disableRetryFirst
	for attempt := 1; ; attempt++ {
		err := s.writeDisabled(ctx, id, reason, disabledAt)
		if err == nil {
			s.log.Info("webhook disabling written to the feed", zap.String("webhookId", id), zap.String("reason", reason))
			return
		}
		if ctx.Err() != nil {
			s.log.Error("writing the webhook disabling to the feed failed; other processes still deliver to it",
				zap.String("webhookId", id), zap.String("reason", reason), zap.Int("attempts", attempt), zap.Error(err))
			return
		}
		s.log.Warn("writing the webhook disabling to the feed failed; retrying", zap.String("webhookId", id), zap.Duration("backoff", wait), zap.Error(err))
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
		wait = min(2*wait, disableRetryMax)
	}
}

// writeDisabled writes the current registry entry of id with DisabledAt
// and DisabledReason set. A webhook deleted meanwhile stays deleted.
func (s *Store) writeDisabled(ctx context.Context, id, reason string, disabledAt time.Time) error {
	w, ok := s.reg.Get(id)
	if !ok {
		return nil
	}
	w.DisabledAt = &disabledAt
	w.DisabledReason = reason
	w.UpdatedAt = time.Now().UTC()
	return s.Put(ctx, w)
}
