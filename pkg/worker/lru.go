package worker

// lru is a fixed-size map that evicts the least recently used key first.
// It is not safe for concurrent use, so each partition owns its own.
//
// The entries live in one slice and are linked by index, so that a get or
// a put allocates nothing once the slice has grown to max entries. A put
// into a full cache reuses the entry of the key it evicts.
type lru[K comparable, V any] struct {
	max     int
	index   map[K]int
	entries []lruEntry[K, V]
	// head is the most recently used entry and tail the least. Both are
	// -1 when the cache is empty.
	head, tail int
}

type lruEntry[K comparable, V any] struct {
	key        K
	value      V
	prev, next int
}

func newLRU[K comparable, V any](max int) *lru[K, V] {
	return &lru[K, V]{max: max, index: make(map[K]int, min(max, 1024)), head: -1, tail: -1}
}

func (c *lru[K, V]) get(k K) (V, bool) {
	if i, ok := c.index[k]; ok {
		c.moveToFront(i)
		return c.entries[i].value, true
	}
	var zero V
	return zero, false
}

func (c *lru[K, V]) put(k K, v V) {
	if i, ok := c.index[k]; ok {
		c.entries[i].value = v
		c.moveToFront(i)
		return
	}

	if len(c.entries) < c.max {
		c.entries = append(c.entries, lruEntry[K, V]{key: k, value: v, prev: -1, next: -1})
		i := len(c.entries) - 1
		c.index[k] = i
		c.pushFront(i)
		return
	}

	i := c.tail
	delete(c.index, c.entries[i].key)
	c.entries[i].key, c.entries[i].value = k, v
	c.index[k] = i
	c.moveToFront(i)
}

func (c *lru[K, V]) len() int { return len(c.index) }

// moveToFront makes entry i the most recently used.
func (c *lru[K, V]) moveToFront(i int) {
	if c.head == i {
		return
	}
	c.unlink(i)
	c.pushFront(i)
}

// unlink takes entry i out of the list.
func (c *lru[K, V]) unlink(i int) {
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
func (c *lru[K, V]) pushFront(i int) {
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
