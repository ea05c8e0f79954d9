package enrich

import (
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLRUCacheEvictsLeastRecentlyUsed(t *testing.T) {
	c := newLRUCache[string, int](cacheShards) // one entry per shard

	// Find two keys of the same shard.
	a, b := "a", ""
	for i := 0; b == ""; i++ {
		k := strconv.Itoa(i)
		if c.shard(k) == c.shard(a) {
			b = k
		}
	}

	c.Put(a, 1)
	c.Put(b, 2)

	_, ok := c.Get(a)
	require.False(t, ok, "a was evicted by b")
	v, ok := c.Get(b)
	require.True(t, ok)
	require.Equal(t, 2, v)
}

func TestLRUCacheKeepsRecentlyRead(t *testing.T) {
	c := newLRUCache[int, int](3 * cacheShards)

	var keys []int
	for k := 0; len(keys) < 4; k++ {
		if c.shard(k) == c.shard(0) {
			keys = append(keys, k)
		}
	}
	c.Put(keys[0], 0)
	c.Put(keys[1], 1)
	c.Put(keys[2], 2)
	_, _ = c.Get(keys[0])
	c.Put(keys[3], 3)

	_, ok := c.Get(keys[1])
	require.False(t, ok, "the least recently used entry is evicted")
	for _, k := range []int{keys[0], keys[2], keys[3]} {
		_, ok := c.Get(k)
		require.True(t, ok, "key %d", k)
	}
}

func TestLRUCacheBounded(t *testing.T) {
	c := newLRUCache[string, int](100)
	for i := range 10000 {
		c.Put(strconv.Itoa(i), i)
	}
	require.LessOrEqual(t, c.Len(), 100+cacheShards)
}

func TestLRUCacheUpdate(t *testing.T) {
	c := newLRUCache[string, int](10)
	c.Put("k", 1)
	c.Put("k", 2)

	v, ok := c.Get("k")
	require.True(t, ok)
	require.Equal(t, 2, v)
	require.Equal(t, 1, c.Len())
}

func TestLRUCacheDisabled(t *testing.T) {
	c := newLRUCache[string, int](0)
	c.Put("k", 1)

	_, ok := c.Get("k")
	require.False(t, ok)
	require.Equal(t, 0, c.Len())
}

func TestLRUCacheConcurrent(t *testing.T) {
	c := newLRUCache[int, int](64)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 10000 {
				k := (i * (w + 1)) % 500
				if v, ok := c.Get(k); ok && v != k {
					t.Errorf("Get(%d) = %d", k, v)
				}
				c.Put(k, k)
			}
		})
	}
	wg.Wait()
}
