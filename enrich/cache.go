package enrich

import (
	"hash/maphash"
	"sync"
)

// cacheShards is the number of independently locked parts of a cache. It
// keeps lock contention low when many workers enrich at once.
const cacheShards = 16

// lruCache is a fixed-capacity map with least-recently-used eviction. It is
// safe for concurrent use. Entries live in preallocated slices, so a hit
// allocates nothing and a miss allocates only what the Go map needs to grow
// to its final size.
type lruCache[K comparable, V any] struct {
	seed   maphash.Seed
	shards [cacheShards]lruShard[K, V]
}

type lruShard[K comparable, V any] struct {
	mu      sync.Mutex
	index   map[K]int32
	entries []lruEntry[K, V]
	// head is the most recently used entry and tail the least; -1 when empty.
	head, tail int32
}

type lruEntry[K comparable, V any] struct {
	key        K
	value      V
	prev, next int32
}

// newLRUCache returns a cache that holds at most capacity entries, or nil
// when capacity is 0. A nil cache stores nothing and misses every lookup.
func newLRUCache[K comparable, V any](capacity int) *lruCache[K, V] {
	if capacity <= 0 {
		return nil
	}

	c := &lruCache[K, V]{seed: maphash.MakeSeed()}
	perShard := (capacity + cacheShards - 1) / cacheShards
	for i := range c.shards {
		c.shards[i] = lruShard[K, V]{
			index:   make(map[K]int32, perShard),
			entries: make([]lruEntry[K, V], 0, perShard),
			head:    -1,
			tail:    -1,
		}
	}
	return c
}

func (c *lruCache[K, V]) shard(key K) *lruShard[K, V] {
	return &c.shards[maphash.Comparable(c.seed, key)%cacheShards]
}

// Get returns the value stored for key and marks it as recently used.
func (c *lruCache[K, V]) Get(key K) (V, bool) {
	if c == nil {
		var zero V
		return zero, false
	}

	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()

	i, ok := s.index[key]
	if !ok {
		var zero V
		return zero, false
	}
	s.moveToFront(i)
	return s.entries[i].value, true
}

// Put stores value for key, evicting the least recently used entry of the
// key's shard when the shard is full.
func (c *lruCache[K, V]) Put(key K, value V) {
	if c == nil {
		return
	}

	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()

	if i, ok := s.index[key]; ok {
		s.entries[i].value = value
		s.moveToFront(i)
		return
	}

	var i int32
	if len(s.entries) < cap(s.entries) {
		i = int32(len(s.entries))
		s.entries = append(s.entries, lruEntry[K, V]{prev: -1, next: -1})
	} else {
		i = s.tail
		s.unlink(i)
		delete(s.index, s.entries[i].key)
	}

	s.entries[i].key = key
	s.entries[i].value = value
	s.index[key] = i
	s.pushFront(i)
}

// Len returns the number of entries in the cache.
func (c *lruCache[K, V]) Len() int {
	if c == nil {
		return 0
	}

	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.index)
		s.mu.Unlock()
	}
	return n
}

func (s *lruShard[K, V]) moveToFront(i int32) {
	if s.head == i {
		return
	}
	s.unlink(i)
	s.pushFront(i)
}

func (s *lruShard[K, V]) unlink(i int32) {
	e := &s.entries[i]
	if e.prev >= 0 {
		s.entries[e.prev].next = e.next
	} else {
		s.head = e.next
	}
	if e.next >= 0 {
		s.entries[e.next].prev = e.prev
	} else {
		s.tail = e.prev
	}
	e.prev, e.next = -1, -1
}

func (s *lruShard[K, V]) pushFront(i int32) {
	e := &s.entries[i]
	e.prev = -1
	e.next = s.head
	if s.head >= 0 {
		s.entries[s.head].prev = i
	}
	s.head = i
	if s.tail < 0 {
		s.tail = i
	}
}
