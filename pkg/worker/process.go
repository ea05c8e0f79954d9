package worker

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash"
	"strconv"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/clickstream/clickstream/pkg/event"
)

// Header names of dead-letter records. The record value is the raw hit as it
// was read, byte for byte.
const (
	HeaderDLQReason    = "dlq-reason"
	HeaderDLQTopic     = "dlq-topic"
	HeaderDLQPartition = "dlq-partition"
	HeaderDLQOffset    = "dlq-offset"
)

// process stores one batch and commits it. Nothing is committed before
// ClickHouse contains the rows and Kafka contains the webhook and dead-letter
// records, which keeps delivery at least once. A repeat of the same offsets
// yields the same rows and event ids.
func (p *partition) process(ctx context.Context, msgs []kafkago.Message) error {
	started := time.Now()
	rows, resent, offsets, dead := p.decode(msgs)
	dropRecordBytes(msgs)

	deliveries, err := p.deliveries(ctx, rows, resent, msgs[0].Offset)
	if err != nil {
		return err
	}

	src := Source{Topic: p.topic, Partition: p.id, FirstOffset: msgs[0].Offset, LastOffset: msgs[len(msgs)-1].Offset, Offsets: offsets}
	if len(rows) > 0 {
		err := p.retry(ctx, "insert", func(ctx context.Context) error {
			return p.w.deps.Store.InsertInteractions(ctx, rows, src)
		})
		if err != nil {
			return fmt.Errorf("inserting interactions of offsets %d-%d: %w", src.FirstOffset, src.LastOffset, err)
		}
	}

	if err := p.produceDeliveries(ctx, deliveries); err != nil {
		return err
	}
	if err := p.deadLetter(ctx, dead); err != nil {
		return err
	}

	next := src.LastOffset + 1
	err = p.retry(ctx, "commit", func(context.Context) error {
		return p.gen.CommitOffsets(map[string]map[int]int64{p.topic: {p.id: next}})
	})
	if err != nil {
		return fmt.Errorf("committing offset %d: %w", next, err)
	}
	p.offset = next

	m := p.w.deps.Metrics
	m.hits.WithLabelValues("stored").Add(float64(len(rows)))
	m.hits.WithLabelValues("dead_letter").Add(float64(len(dead)))
	m.deliveries.Add(float64(len(deliveries)))
	m.batchSeconds.Observe(time.Since(started).Seconds())
	p.log.Debug("batch committed", zap.Int64("firstOffset", src.FirstOffset), zap.Int64("lastOffset", src.LastOffset),
		zap.Int("rows", len(rows)), zap.Int("deadLetters", len(dead)), zap.Int("deliveries", len(deliveries)))
	return nil
}

// dropRecordBytes clears the key, value and headers of msgs, which nothing
// reads after decode: a dead letter keeps its own reference to its value.
// The garbage collector can then free them while the batch is inserted,
// which leaves more room below the memory limit.
func dropRecordBytes(msgs []kafkago.Message) {
	for i := range msgs {
		msgs[i].Key, msgs[i].Value, msgs[i].Headers = nil, nil, nil
	}
}

// decode turns messages into enriched rows, with the offset of each, and
// dead letters. resent marks the rows that are another copy of a click
// this partition has counted already.
func (p *partition) decode(msgs []kafkago.Message) (rows []event.Enriched, resent []bool, offsets []int64, dead []DeadLetter) {
	rows = make([]event.Enriched, len(msgs))
	resent = make([]bool, len(msgs))
	offsets = make([]int64, 0, len(msgs))
	now := p.w.deps.Now()

	// hit is declared once, because passing its address to the Enricher
	// interface moves it to the heap.
	var hit event.RawHit
	n := 0
	for i := range msgs {
		m := &msgs[i]
		var err error
		hit, err = event.DecodeHit(m.Value)
		if err != nil {
			dead = append(dead, newDeadLetter(now, m, err))
			continue
		}

		// The row is enriched in place, because event.Enriched takes 432
		// bytes and copying each row into the slice showed in profiles.
		e := &rows[n]
		if err := p.enrich(&hit, e); err != nil {
			dead = append(dead, newDeadLetter(now, m, err))
			continue
		}
		visitor := p.hasher.hash(hit.IP, hit.UA)
		e.VisitorHash = p.hasher.storedHash(visitor, hit.IP, e.IP)
		if !e.Bot {
			switch p.repeat(&hit, visitor, e.Timestamp.Time) {
			case visitRepeat:
				e.Duplicate = true
			case visitResent:
				resent[n] = true
			}
		}
		offsets = append(offsets, m.Offset)
		n++
	}
	return rows[:n], resent[:n], offsets, dead
}

// MaxDeadLetterBytes is the size above which a record is cut in its dead
// letter. A record near the broker's default limit of 1 MB would not fit in
// the dead-letter topic with its headers, and producing it would be retried
// forever while its partition waits.
const MaxDeadLetterBytes = 512 << 10

// newDeadLetter returns the dead letter of record m, rejected with err.
// A value over MaxDeadLetterBytes is cut, and the reason ends with its size.
func newDeadLetter(now time.Time, m *kafkago.Message, err error) DeadLetter {
	d := DeadLetter{Time: now, Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Reason: err.Error(), Raw: m.Value}
	if len(d.Raw) > MaxDeadLetterBytes {
		d.Reason += fmt.Sprintf(" (record of %d bytes, the first %d kept)", len(d.Raw), MaxDeadLetterBytes)
		d.Raw = d.Raw[:MaxDeadLetterBytes]
	}
	return d
}

// enrich runs the enricher into out and turns a panic into an error, so
// that a hit that trips a bug in enrichment becomes a dead letter instead of
// crashing the worker on the same offset again and again.
func (p *partition) enrich(hit *event.RawHit, out *event.Enriched) (err error) {
	defer func() {
		if r := recover(); r != nil {
			p.log.Error("enrichment panicked, sending the hit to the dead-letter topic", zap.String("clickId", hit.ClickID), zap.Any("panic", r))
			err = fmt.Errorf("enrichment failed: panic: %v", r)
		}
	}()
	*out = p.w.deps.Enricher.Enrich(hit)
	return nil
}

// lastVisit is the latest counted interaction of a visitor on a resource.
type lastVisit struct {
	at      time.Time
	clickID string
}

// The verdicts of repeat.
type visitKind int

const (
	// visitNew counts: the visitor was not seen within the window.
	visitNew visitKind = iota
	// visitRepeat is another interaction of a visitor seen within the
	// window. It is stored marked duplicate and counts nothing.
	visitRepeat
	// visitResent is another copy of the counted interaction itself, with
	// its click id, such as an edge sends when it repeats a produce request
	// that failed in part. It is stored as the first copy was, so the two
	// rows are equal and ClickHouse keeps either, and counts nothing again.
	visitResent
)

type visitorKey struct {
	resource string
	visitor  uint64
}

// The parameters of 64-bit FNV-1a, as in hash/fnv.
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// visitorHash returns the 64-bit FNV-1a hash of ip, a NUL byte and ua, as
// hash/fnv.New64a computes it, except that 0 becomes 1 so that a stored 0
// can mean "not set". It is the visitor hash of a worker without
// worker.visitorHashKey. It hashes the strings in place because writing
// them to a hash.Hash would convert them to []byte.
func visitorHash(ip, ua string) uint64 {
	h := fnv1a(fnvOffset64, ip)
	h = fnv1a(h, "\x00")
	h = fnv1a(h, ua)
	if h == 0 {
		return 1
	}
	return h
}

// fnv1a adds the bytes of s to the FNV-1a hash h.
func fnv1a(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime64
	}
	return h
}

// visitorHasher computes the visitor hashes of one partition. With
// worker.visitorHashKey set, a hash is the first 8 bytes of HMAC-SHA256
// of ip, a NUL byte and ua under that key, which cannot be turned back
// into an address without the key. Without a key it is visitorHash.
//
// ClickHouse stores the hashes, so they must stay the same across releases
// and between the workers of a group: a worker that takes over a partition
// compares the stored hashes with those of new hits. Changing the key
// empties the window once.
type visitorHasher struct {
	// mac is nil without a key.
	mac hash.Hash
	buf []byte
	sum []byte
}

func newVisitorHasher(key string) *visitorHasher {
	if key == "" {
		return &visitorHasher{}
	}
	return &visitorHasher{mac: hmac.New(sha256.New, []byte(key)), sum: make([]byte, 0, sha256.Size)}
}

// keyed reports whether the hashes are keyed.
func (h *visitorHasher) keyed() bool { return h.mac != nil }

// hash returns the visitor hash of ip and ua, never 0.
func (h *visitorHasher) hash(ip, ua string) uint64 {
	if h.mac == nil {
		return visitorHash(ip, ua)
	}
	h.buf = append(h.buf[:0], ip...)
	h.buf = append(h.buf, 0)
	h.buf = append(h.buf, ua...)
	h.mac.Reset()
	h.mac.Write(h.buf)
	h.sum = h.mac.Sum(h.sum[:0])
	v := binary.BigEndian.Uint64(h.sum)
	if v == 0 {
		return 1
	}
	return v
}

// storedHash returns the hash to store with a row whose raw address was
// rawIP and whose stored address is storedIP. Without a key it returns 0
// where enrich.privacy changed the address. Hashing candidate addresses
// with the stored user agent would otherwise recover the address.
func (h *visitorHasher) storedHash(visitor uint64, rawIP, storedIP string) uint64 {
	if h.keyed() || rawIP == storedIP {
		return visitor
	}
	return 0
}

// restoreVisitors fills the duplicate window from the interactions already
// stored from this partition, so that a worker taking over the partition
// (after a rebalance or a restart) does not count a recent visitor again.
//
// The store returns the visitor hash each row was stored with. Rows with 0,
// stored before ClickHouse had the visitor_hash column or with an address
// changed by enrich.privacy and no worker.visitorHashKey, are hashed from
// the stored IP and user agent instead. That key matches new hits only
// where the row keeps the address as received.
func (p *partition) restoreVisitors(ctx context.Context) error {
	window := p.w.cfg.DedupWindow
	if window == 0 || p.offset < 0 {
		return nil
	}

	since := p.w.deps.Now().Add(-window)
	var visitors []Visitor
	err := p.retry(ctx, "restore_visitors", func(ctx context.Context) error {
		var err error
		visitors, err = p.w.deps.Store.RecentVisitors(ctx, p.id, p.offset, since, p.w.cfg.DedupCacheSize)
		return err
	})
	if err != nil {
		return fmt.Errorf("restoring the duplicate window: %w", err)
	}

	// Oldest first, so that the most recent visitors stay in the cache.
	for i := len(visitors) - 1; i >= 0; i-- {
		v := visitors[i]
		hash := v.Hash
		if hash == 0 {
			hash = p.hasher.hash(v.IP, v.UA)
		}
		p.visitors.Put(visitorKey{resource: v.ResourceID, visitor: hash}, lastVisit{at: v.Last, clickID: v.ClickID})
	}
	p.log.Info("duplicate window restored", zap.Int("visitors", len(visitors)))
	return nil
}

// repeat reports whether the same visitor had a counted interaction on the
// same resource within DedupWindow before ts, and whether the hit is that
// very interaction sent again. visitor is the visitor hash of the hit's IP
// and user agent as received, because privacy settings may have truncated
// or dropped the stored IP.
//
// The window lives in memory per partition; restoreVisitors rebuilds it
// from ClickHouse when a worker takes the partition over.
func (p *partition) repeat(hit *event.RawHit, visitor uint64, ts time.Time) visitKind {
	window := p.w.cfg.DedupWindow
	if window == 0 {
		return visitNew
	}

	key := visitorKey{resource: hit.Resource.ID, visitor: visitor}

	// Hits of one resource reach the partition in the order the edges
	// published them, which is not always the order of their timestamps,
	// so the distance is taken either way. The earlier-processed hit
	// counts, which depends only on offsets and so repeats on reprocessing.
	last, ok := p.visitors.Get(key)
	switch {
	case ok && last.clickID == hit.ClickID:
		return visitResent
	case ok && absDuration(ts.Sub(last.at)) < window:
		return visitRepeat
	}
	if !ok || ts.After(last.at) {
		p.visitors.Put(key, lastVisit{at: ts, clickID: hit.ClickID})
	}
	return visitNew
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func (p *partition) deadLetter(ctx context.Context, dead []DeadLetter) error {
	if len(dead) == 0 {
		return nil
	}

	msgs := make([]kafkago.Message, len(dead))
	for i, d := range dead {
		p.log.Warn("hit sent to the dead-letter topic", zap.Int64("offset", d.Offset), zap.String("reason", d.Reason))
		msgs[i] = kafkago.Message{
			Key:   []byte(strconv.FormatInt(d.Offset, 10)),
			Value: d.Raw,
			Headers: []kafkago.Header{
				{Key: HeaderDLQReason, Value: []byte(d.Reason)},
				{Key: HeaderDLQTopic, Value: []byte(d.Topic)},
				{Key: HeaderDLQPartition, Value: []byte(strconv.Itoa(d.Partition))},
				{Key: HeaderDLQOffset, Value: []byte(strconv.FormatInt(d.Offset, 10))},
			},
		}
	}

	err := p.retry(ctx, "dead_letter_produce", func(ctx context.Context) error {
		return p.w.deps.DLQ.WriteMessages(ctx, msgs...)
	})
	if err != nil {
		return fmt.Errorf("producing %d dead letters: %w", len(dead), err)
	}

	err = p.retry(ctx, "dead_letter_insert", func(ctx context.Context) error {
		return p.w.deps.Store.InsertDeadLetters(ctx, dead)
	})
	if err != nil {
		return fmt.Errorf("inserting %d dead letters: %w", len(dead), err)
	}
	return nil
}

func (p *partition) produceDeliveries(ctx context.Context, deliveries []event.Delivery) error {
	if len(deliveries) == 0 {
		return nil
	}

	msgs := make([]kafkago.Message, len(deliveries))
	for i := range deliveries {
		value, err := json.Marshal(&deliveries[i])
		if err != nil {
			return fmt.Errorf("encoding delivery %s: %w", deliveries[i].EventID, err)
		}
		msgs[i] = kafkago.Message{Key: []byte(deliveries[i].WebhookID), Value: value}
	}

	err := p.retry(ctx, "webhook_produce", func(ctx context.Context) error {
		return p.w.deps.Events.WriteMessages(ctx, msgs...)
	})
	if err != nil {
		return fmt.Errorf("producing %d webhook deliveries: %w", len(msgs), err)
	}
	return nil
}
