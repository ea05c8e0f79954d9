package worker

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/clickstream/clickstream/pkg/event"
)

func TestVisitorHashIsFNV1a(t *testing.T) {
	cases := []struct{ ip, ua string }{
		{"203.0.113.7", "Mozilla/5.0 (X11; Linux x86_64)"},
		{"2001:db8::1", "Mozilla/5.0 é"},
		{"", ""},
		{"203.0.113.7", ""},
	}
	for _, tc := range cases {
		h := fnv.New64a()
		h.Write([]byte(tc.ip + "\x00" + tc.ua))

		require.Equal(t, h.Sum64(), visitorHash(tc.ip, tc.ua), "ip %q ua %q", tc.ip, tc.ua)
	}
}

func TestVisitorHashStable(t *testing.T) {
	// ClickHouse keeps these values, so a change here makes workers miss
	// the visitors stored by the previous release after a takeover.
	require.Equal(t, uint64(0xcd8d31ea794f0202), visitorHash("203.0.113.7", "Mozilla/5.0"))
}

func TestVisitorHashAllocatesNothing(t *testing.T) {
	ip, ua := "203.0.113.7", "Mozilla/5.0 (X11; Linux x86_64)"

	allocs := testing.AllocsPerRun(100, func() { visitorHash(ip, ua) })

	require.Zero(t, allocs)
}

func TestKeyedVisitorHashIsHMAC(t *testing.T) {
	const key = "visitor-hash-key-0123"
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte("203.0.113.7\x00Mozilla/5.0"))
	want := binary.BigEndian.Uint64(mac.Sum(nil))

	h := newVisitorHasher(key)

	require.Equal(t, want, h.hash("203.0.113.7", "Mozilla/5.0"))
	require.Equal(t, want, h.hash("203.0.113.7", "Mozilla/5.0"), "the same again after a reset")
	require.NotEqual(t, want, newVisitorHasher(key+"x").hash("203.0.113.7", "Mozilla/5.0"), "another key")
	require.Equal(t, visitorHash("203.0.113.7", "Mozilla/5.0"), newVisitorHasher("").hash("203.0.113.7", "Mozilla/5.0"), "no key")
}

func TestKeyedVisitorHashAllocatesNothing(t *testing.T) {
	h := newVisitorHasher("visitor-hash-key-0123")
	h.hash("203.0.113.7", "Mozilla/5.0 (X11; Linux x86_64)")

	allocs := testing.AllocsPerRun(100, func() { h.hash("203.0.113.7", "Mozilla/5.0 (X11; Linux x86_64)") })

	require.Zero(t, allocs)
}

func TestStoredVisitorHash(t *testing.T) {
	unkeyed, keyed := newVisitorHasher(""), newVisitorHasher("visitor-hash-key-0123")

	require.Equal(t, uint64(7), unkeyed.storedHash(7, "203.0.113.7", "203.0.113.7"), "address kept")
	require.Zero(t, unkeyed.storedHash(7, "203.0.113.7", "203.0.113.0"), "address truncated")
	require.Zero(t, unkeyed.storedHash(7, "203.0.113.7", ""), "address dropped")
	require.Equal(t, uint64(7), keyed.storedHash(7, "203.0.113.7", "203.0.113.0"), "keyed, address truncated")
}

func TestVisitorKeysDiffer(t *testing.T) {
	// The NUL byte between the two strings keeps the split point in the
	// hash.
	require.NotEqual(t, visitorHash("203.0.113.7", "ab"), visitorHash("203.0.113.7a", "b"))
}

// newTestPartition returns partition 0 of a worker on store, starting at
// offset.
func newTestPartition(store Store, offset int64) *partition {
	w := &Worker{
		cfg:  DefaultConfig(),
		deps: Deps{Enricher: uaEnricher{}, Store: store, Now: time.Now, Metrics: NewMetrics(nil)},
		log:  zap.NewNop(),
	}
	return newPartition(w, nil, kafkago.PartitionAssignment{ID: 0, Offset: offset})
}

func TestDecodeSetsVisitorHashOfRawHit(t *testing.T) {
	p := newTestPartition(newMemStore(), 0)
	ref := event.ResourceRef{Type: event.ResourceLink, ID: "l1", ProjectID: "p"}
	now := time.Now()
	hits := []event.RawHit{
		testHit(ref, "Mozilla/5.0 human", "203.0.113.7", now),
		testHit(ref, "Mozilla/5.0 human", "203.0.113.7", now.Add(time.Second)),
		testHit(ref, "Googlebot/2.1", "66.249.66.1", now),
	}
	msgs := make([]kafkago.Message, len(hits))
	for i := range hits {
		msgs[i] = kafkago.Message{Offset: int64(i), Value: mustJSON(t, hits[i])}
	}

	rows, _, _, dead := p.decode(msgs)

	require.Empty(t, dead)
	require.Len(t, rows, len(hits))
	for i := range rows {
		require.Equal(t, visitorHash(hits[i].IP, hits[i].UA), rows[i].VisitorHash, "row %d", i)
	}
	require.True(t, rows[1].Duplicate)
	require.True(t, rows[2].Bot, "bots get the hash too")
}

func TestVisitorHashNotInJSON(t *testing.T) {
	e := event.Enriched{VisitorHash: 42}

	full, err := json.Marshal(&e)
	require.NoError(t, err)
	public, err := json.Marshal(&e.Interaction)
	require.NoError(t, err)

	require.NotContains(t, string(full), "isitor")
	require.NotContains(t, string(public), "isitor")
}

func TestRestoreVisitorsByStoredHash(t *testing.T) {
	store := newMemStore()
	ref := event.ResourceRef{Type: event.ResourceLink, ID: "l1", ProjectID: "p"}
	now := time.Now()
	truncated := testHit(ref, "Mozilla/5.0 a", "203.0.113.7", now.Add(-time.Minute))
	legacyKept := testHit(ref, "Mozilla/5.0 b", "198.51.100.7", now.Add(-time.Minute))
	legacyTruncated := testHit(ref, "Mozilla/5.0 c", "192.0.2.7", now.Add(-time.Minute))

	// A row of this release stores the hash of the raw address next to
	// the truncated one. Rows stored before the hash was kept read back 0.
	rows := []event.Enriched{uaEnricher{}.Enrich(&truncated), uaEnricher{}.Enrich(&legacyKept), uaEnricher{}.Enrich(&legacyTruncated)}
	rows[0].IP = "203.0.113.0"
	rows[0].VisitorHash = visitorHash(truncated.IP, truncated.UA)
	rows[2].IP = "192.0.2.0"
	src := Source{Topic: "hits", Partition: 0, FirstOffset: 0, LastOffset: 2, Offsets: []int64{0, 1, 2}}
	require.NoError(t, store.InsertInteractions(context.Background(), rows, src))

	p := newTestPartition(store, 3)
	require.NoError(t, p.restoreVisitors(context.Background()))

	again := func(h event.RawHit) *event.RawHit {
		h.ClickID = event.NewClickID()
		h.Timestamp = event.NewTime(now)
		return &h
	}
	require.Equal(t, visitRepeat, repeatOf(p, again(truncated)), "restored by the stored hash")
	require.Equal(t, visitRepeat, repeatOf(p, again(legacyKept)), "a row without hash is restored by its stored address")
	require.Equal(t, visitNew, repeatOf(p, again(legacyTruncated)), "a row without hash and with a truncated address is not restored")
}

func BenchmarkVisitorHash(b *testing.B) {
	const ip = "203.0.113.7"
	const ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
	for _, key := range []string{"", "visitor-hash-key-0123"} {
		h := newVisitorHasher(key)
		b.Run(fmt.Sprintf("keyed=%t", key != ""), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				h.hash(ip, ua)
			}
		})
	}
}
