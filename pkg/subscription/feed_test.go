package subscription

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/clickstream/clickstream/pkg/event"
)

func TestApplyRecordPutsAndDeletes(t *testing.T) {
	r := NewRegistry()
	value, err := EncodeRecord(validWebhook())
	require.NoError(t, err)

	require.NoError(t, r.ApplyRecord("wh_1", value))
	got, ok := r.Get("wh_1")
	require.True(t, ok)
	require.Equal(t, "p1", got.ProjectID)
	require.Len(t, r.Match(event.ResourceRef{Type: event.ResourceLink, ID: "l1", ProjectID: "p1"}, event.TypeLinkClicked), 1)

	require.NoError(t, r.ApplyRecord("wh_1", nil))
	_, ok = r.Get("wh_1")
	require.False(t, ok, "a tombstone deletes the webhook")
	require.NoError(t, r.ApplyRecord("wh_never", nil), "a tombstone of an unknown id is fine")
}

func TestApplyRecordRejectsBadRecords(t *testing.T) {
	r := NewRegistry()
	good, err := EncodeRecord(validWebhook())
	require.NoError(t, err)
	require.NoError(t, r.ApplyRecord("wh_1", good))

	invalid := validWebhook()
	invalid.URL = "ftp://x"
	invalidJSON, err := json.Marshal(invalid)
	require.NoError(t, err)

	require.ErrorContains(t, r.ApplyRecord("wh_2", good), "does not match")
	require.ErrorContains(t, r.ApplyRecord("wh_1", []byte("{")), "decoding webhook wh_1")
	require.ErrorContains(t, r.ApplyRecord("wh_1", invalidJSON), "url")

	got, _ := r.Get("wh_1")
	require.Equal(t, "https://hooks.example/in", got.URL, "a rejected record changes nothing")
}

func TestApplyRecordIgnoresUnknownKeys(t *testing.T) {
	value, err := EncodeRecord(validWebhook())
	require.NoError(t, err)
	value = append(value[:len(value)-1], []byte(`,"addedLater":true}`)...)
	require.NoError(t, NewRegistry().ApplyRecord("wh_1", value))
}

func TestEncodeRecordValidates(t *testing.T) {
	w := validWebhook()
	w.Triggers = nil
	_, err := EncodeRecord(w)
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "triggers", fe.Field)
}

// memFeed is a FeedWriter that applies writes to a registry at once and
// can fail a number of times first.
type memFeed struct {
	mu       sync.Mutex
	reg      *Registry
	failures int
	writes   []string
}

func (f *memFeed) Put(_ context.Context, key string, value []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failures > 0 {
		f.failures--
		return errors.New("broker unavailable")
	}
	f.writes = append(f.writes, key)
	return f.reg.ApplyRecord(key, value)
}

func (f *memFeed) Delete(_ context.Context, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes = append(f.writes, key+" deleted")
	return f.reg.ApplyRecord(key, nil)
}

func (f *memFeed) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.writes)
}

func TestStoreRecordDisabledPersists(t *testing.T) {
	r := NewRegistry()
	require.NoError(t, r.Put(validWebhook()))
	feed := &memFeed{reg: NewRegistry(), failures: 1}
	s := NewStore(r, feed, zaptest.NewLogger(t))

	// The dispatcher marks the webhook disabled, then calls OnDisable.
	w, _ := r.Get("wh_1")
	now := time.Now().UTC()
	w.DisabledAt = &now
	require.NoError(t, r.Put(w))
	s.RecordDisabled("wh_1", "gone")

	require.Eventually(t, func() bool { return feed.count() == 1 }, 10*time.Second, 10*time.Millisecond, "written after one failed attempt")
	got, ok := feed.reg.Get("wh_1")
	require.True(t, ok)
	require.False(t, got.Enabled())
	require.Equal(t, "gone", got.DisabledReason)
	require.True(t, got.DisabledAt.Equal(now))
}

func TestStorePublishUnseen(t *testing.T) {
	r := NewRegistry()
	a, b := validWebhook(), validWebhook()
	b.ID = "wh_2"
	require.NoError(t, r.Put(a))
	require.NoError(t, r.Put(b))
	feed := &memFeed{reg: NewRegistry()}
	s := NewStore(r, feed, zaptest.NewLogger(t))

	n, err := s.PublishUnseen(context.Background(), func(id string) bool { return id == "wh_1" })
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, []string{"wh_2"}, feed.writes)
}

func TestStoreListSorted(t *testing.T) {
	r := NewRegistry()
	for _, id := range []string{"wh_c", "wh_a", "wh_b"} {
		w := validWebhook()
		w.ID = id
		require.NoError(t, r.Put(w))
	}
	s := NewStore(r, &memFeed{reg: NewRegistry()}, nil)
	var ids []string
	for _, w := range s.List("") {
		ids = append(ids, w.ID)
	}
	require.Equal(t, []string{"wh_a", "wh_b", "wh_c"}, ids)
}
