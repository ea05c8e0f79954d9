package enrich

import (
	"hash/maphash"
	"sync"

	"github.com/clickstream/clickstream/internal/lru"
)

// cacheShards is the number of independently locked parts of a cache. It
// keeps lock contention low when many workers enrich at once.
const cacheShards = 16

// lruCache is a fixed-capacity map with least-recently-used eviction. It is
// safe for concurrent use. Each shard preallocates its entries, so a hit
// allocates nothing and a miss allocates only what the Go map needs to grow
// to its final size.
type lruCache[K comparable, V any] struct {
	seed   maphash.Seed
	shards [cacheShards]lruShard[K, V]
}

type lruShard[K comparable, V any] struct {
	mu    sync.Mutex
	cache *lru.Cache[K, V]
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
		c.shards[i].cache = lru.New[K, V](perShard, perShard)
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
	return s.cache.Get(key)
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
	s.cache.Put(key, value)
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
		n += s.cache.Len()
		s.mu.Unlock()
	}
	return n
}
