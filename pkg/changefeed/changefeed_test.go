package changefeed

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/clickstream/clickstream/pkg/kafka"
	"github.com/clickstream/clickstream/pkg/kafka/kafkatest"
)

// state is a key-value map that records the order of applied records.
type state struct {
	mu      sync.Mutex
	values  map[string]string
	applied []string
}

func newState() *state { return &state{values: map[string]string{}} }

func (s *state) apply(r Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()

	if r.Tombstone() {
		delete(s.values, r.Key)
		s.applied = append(s.applied, r.Key+"=<deleted>")
		return nil
	}
	if string(r.Value) == "bad" {
		return fmt.Errorf("bad value")
	}
	s.values[r.Key] = string(r.Value)
	s.applied = append(s.applied, r.Key+"="+string(r.Value))
	return nil
}

func (s *state) get(key string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.values[key]
	return v, ok
}

func (s *state) order() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.applied...)
}

func embedded(t *testing.T, partitions int) kafka.Config {
	t.Helper()
	return kafkatest.Embedded(t, partitions, kafka.Topics{Hits: "hits", DLQ: "hits.dlq", WebhookEvents: "webhook-events"}, "feed")
}

// run starts c until the test ends.
func run(t *testing.T, runFn func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = runFn(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

func waitReady(t *testing.T, wait func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, wait(ctx))
}

func TestConsumerReplaysTopicInOrder(t *testing.T) {
	kcfg := embedded(t, 3)
	ctx := context.Background()
	p := NewProducer(kcfg, "feed", zaptest.NewLogger(t))
	defer p.Close()

	require.NoError(t, p.Put(ctx, "a", []byte("1")))
	require.NoError(t, p.Put(ctx, "b", []byte("1")))
	require.NoError(t, p.Put(ctx, "a", []byte("2")))
	require.NoError(t, p.Delete(ctx, "b"))
	require.NoError(t, p.Put(ctx, "c", []byte("bad")))

	st := newState()
	c := NewConsumer(kcfg, "feed", st.apply, ConsumerOptions{}, zaptest.NewLogger(t))
	run(t, c.Run)
	waitReady(t, c.WaitReady)

	v, ok := st.get("a")
	require.True(t, ok)
	require.Equal(t, "2", v, "the later record of a key wins")
	_, ok = st.get("b")
	require.False(t, ok, "the tombstone deletes b")
	require.Equal(t, int64(4), c.Applied())
	require.Equal(t, int64(1), c.Failed(), "the bad record is skipped")

	var ofA, ofB []string
	for _, s := range st.order() {
		switch s[0] {
		case 'a':
			ofA = append(ofA, s)
		case 'b':
			ofB = append(ofB, s)
		}
	}
	require.Equal(t, []string{"a=1", "a=2"}, ofA)
	require.Equal(t, []string{"b=1", "b=<deleted>"}, ofB)
}

func TestConsumerReadyOnEmptyTopic(t *testing.T) {
	kcfg := embedded(t, 2)
	readyCalls := 0
	c := NewConsumer(kcfg, "feed", newState().apply, ConsumerOptions{OnReady: func() { readyCalls++ }}, zaptest.NewLogger(t))
	run(t, c.Run)
	waitReady(t, c.WaitReady)
	require.Equal(t, 1, readyCalls)
}

func TestConsumerFollowsNewRecords(t *testing.T) {
	kcfg := embedded(t, 1)
	st := newState()
	c := NewConsumer(kcfg, "feed", st.apply, ConsumerOptions{}, zaptest.NewLogger(t))
	run(t, c.Run)
	waitReady(t, c.WaitReady)

	p := NewProducer(kcfg, "feed", zaptest.NewLogger(t))
	defer p.Close()
	start := time.Now()
	require.NoError(t, p.Put(context.Background(), "k", []byte("v")))
	require.Eventually(t, func() bool { v, _ := st.get("k"); return v == "v" }, 5*time.Second, 10*time.Millisecond)
	t.Logf("record applied %s after the write started", time.Since(start))
}

func TestConsumerWaitsForTopic(t *testing.T) {
	kcfg := kafkatest.Embedded(t, 1, kafka.Topics{Hits: "hits", DLQ: "hits.dlq", WebhookEvents: "webhook-events"})
	st := newState()
	c := NewConsumer(kcfg, "late-topic", st.apply, ConsumerOptions{RetryInterval: 50 * time.Millisecond}, zaptest.NewLogger(t))
	run(t, c.Run)

	select {
	case <-c.Ready():
		t.Fatal("ready before the topic exists")
	case <-time.After(300 * time.Millisecond):
	}
	select {
	case <-c.LookupFailed():
	default:
		t.Fatal("LookupFailed not closed while the topic is missing")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, EnsureTopics(ctx, kcfg, "late-topic"))
	waitReady(t, c.WaitReady)
}

func TestProducerRejectsEmptyKeyAndValue(t *testing.T) {
	p := NewProducer(kafka.DefaultConfig(), "feed", zaptest.NewLogger(t))
	defer p.Close()
	require.ErrorIs(t, p.Put(context.Background(), "", []byte("v")), ErrEmptyKey)
	require.ErrorIs(t, p.Put(context.Background(), "k", nil), ErrEmptyValue)
	require.ErrorIs(t, p.Delete(context.Background(), ""), ErrEmptyKey)
}

func TestFeedReadYourWrites(t *testing.T) {
	kcfg := embedded(t, 2)
	st := newState()
	f := NewFeed(kcfg, "feed", st.apply, FeedOptions{}, zaptest.NewLogger(t))
	defer f.Close()
	run(t, f.Run)
	waitReady(t, f.WaitReady)
	ctx := context.Background()

	for i := range 20 {
		value := fmt.Sprint(i)
		require.NoError(t, f.Put(ctx, "k", []byte(value)))
		v, ok := st.get("k")
		require.True(t, ok)
		require.Equal(t, value, v, "Put returns after its record was applied")
	}
	require.True(t, f.Seen("k"))
	require.False(t, f.Seen("other"))

	require.NoError(t, f.Delete(ctx, "k"))
	_, ok := st.get("k")
	require.False(t, ok, "Delete returns after its tombstone was applied")
}

func TestFeedAppliesLocallyAfterTimeout(t *testing.T) {
	kcfg := embedded(t, 1)
	st := newState()
	f := NewFeed(kcfg, "feed", st.apply, FeedOptions{ApplyTimeout: time.Nanosecond}, zaptest.NewLogger(t))
	defer f.Close()
	run(t, f.Run)
	waitReady(t, f.WaitReady)

	require.NoError(t, f.Put(context.Background(), "k", []byte("v")))
	v, _ := st.get("k")
	require.Equal(t, "v", v)
}

func TestFeedPutWaitsForReady(t *testing.T) {
	kcfg := embedded(t, 1)
	f := NewFeed(kcfg, "feed", newState().apply, FeedOptions{}, zaptest.NewLogger(t))
	defer f.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, f.Put(ctx, "k", []byte("v")), context.DeadlineExceeded, "Put needs Run")
}

func TestConsumerReportsUnreachableBroker(t *testing.T) {
	kcfg := kafka.DefaultConfig()
	kcfg.Brokers = []string{"127.0.0.1:1"}
	kcfg.DialTimeout = time.Second
	c := NewConsumer(kcfg, "feed", newState().apply, ConsumerOptions{}, zaptest.NewLogger(t))
	run(t, c.Run)

	select {
	case <-c.LookupFailed():
	case <-time.After(5 * time.Second):
		t.Fatal("LookupFailed not closed while no broker listens")
	}
	require.Never(t, func() bool {
		select {
		case <-c.Ready():
			return true
		default:
			return false
		}
	}, 300*time.Millisecond, 50*time.Millisecond, "not ready without a broker")
}
