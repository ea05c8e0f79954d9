// Package lru provides a fixed-capacity map that evicts the least recently
// used key first.
package lru

// Cache is a fixed-capacity map with least-recently-used eviction. It is not
// safe for concurrent use: callers that share one lock it themselves.
//
// The entries live in one slice and are linked by index, so a Get or a Put
// allocates nothing once the slice has grown to its capacity. A Put into a
// full cache reuses the entry of the key it evicts.
type Cache[K comparable, V any] struct {
	capacity int
	index    map[K]int32
	entries  []entry[K, V]
	// head is the most recently used entry and tail the least. Both are
	// -1 when the cache is empty.
	head, tail int32
}

type entry[K comparable, V any] struct {
	key        K
	value      V
	prev, next int32
}

// New returns an empty cache of capacity entries, at least 1, with room
// for prealloc of them allocated up front.
func New[K comparable, V any](capacity, prealloc int) *Cache[K, V] {
	capacity = max(capacity, 1)
	prealloc = min(max(prealloc, 0), capacity)
	return &Cache[K, V]{
		capacity: capacity,
		index:    make(map[K]int32, prealloc),
		entries:  make([]entry[K, V], 0, prealloc),
		head:     -1,
		tail:     -1,
	}
}

// Get returns the value stored for key and marks the key as recently used.
func (c *Cache[K, V]) Get(key K) (V, bool) {
	if i, ok := c.index[key]; ok {
		c.moveToFront(i)
		return c.entries[i].value, true
	}
	var zero V
	return zero, false
}

// Put stores value for key, evicting the least recently used key when the
// cache is full.
func (c *Cache[K, V]) Put(key K, value V) {
	if i, ok := c.index[key]; ok {
		c.entries[i].value = value
		c.moveToFront(i)
		return
	}

	var i int32
	if len(c.entries) < c.capacity {
		i = int32(len(c.entries))
		c.entries = append(c.entries, entry[K, V]{prev: -1, next: -1})
	} else {
		i = c.tail
		c.unlink(i)
		delete(c.index, c.entries[i].key)
	}
	c.entries[i].key, c.entries[i].value = key, value
	c.index[key] = i
	c.pushFront(i)
}

// Len returns the number of keys in the cache.
func (c *Cache[K, V]) Len() int { return len(c.index) }

// Keys returns the keys from the most to the least recently used.
func (c *Cache[K, V]) Keys() []K {
	var out []K
	for i := c.head; i >= 0; i = c.entries[i].next {
		out = append(out, c.entries[i].key)
	}
	return out
}

// moveToFront makes entry i the most recently used.
func (c *Cache[K, V]) moveToFront(i int32) {
	if c.head == i {
		return
	}
	c.unlink(i)
	c.pushFront(i)
}

// unlink takes entry i out of the list.
func (c *Cache[K, V]) unlink(i int32) {
	e := &c.entries[i]
	if e.prev >= 0 {
		c.entries[e.prev].next = e.next
	} else {
		c.head = e.next
	}
	if e.next >= 0 {
		c.entries[e.next].prev = e.prev
	} else {
		c.tail = e.prev
	}
	e.prev, e.next = -1, -1
}

// pushFront links entry i, which is not in the list, in front of the head.
func (c *Cache[K, V]) pushFront(i int32) {
	e := &c.entries[i]
	e.prev, e.next = -1, c.head
	if c.head >= 0 {
		c.entries[c.head].prev = i
	}
	c.head = i
	if c.tail < 0 {
		c.tail = i
	}
}
