package lru

import (
	"container/list"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// listLRU is a cache built on container/list, the reference that Cache
// must behave like.
type listLRU struct {
	max   int
	order *list.List
	items map[int]*list.Element
}

type listEntry struct{ key, value int }

func (c *listLRU) get(k int) (int, bool) {
	if e, ok := c.items[k]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*listEntry).value, true
	}
	return 0, false
}

func (c *listLRU) put(k, v int) {
	if e, ok := c.items[k]; ok {
		e.Value.(*listEntry).value = v
		c.order.MoveToFront(e)
		return
	}
	c.items[k] = c.order.PushFront(&listEntry{key: k, value: v})
	if c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*listEntry).key)
	}
}

func (c *listLRU) keys() []int {
	var out []int
	for e := c.order.Front(); e != nil; e = e.Next() {
		out = append(out, e.Value.(*listEntry).key)
	}
	return out
}

func TestLRUMatchesListLRU(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for _, max := range []int{1, 2, 3, 16} {
		c := New[int, int](max, 0)
		ref := &listLRU{max: max, order: list.New(), items: map[int]*list.Element{}}
		for op := range 20000 {
			k := rng.IntN(3 * max)
			if rng.IntN(2) == 0 {
				v, ok := c.Get(k)
				wantV, wantOK := ref.get(k)
				require.Equal(t, wantOK, ok, "max %d, op %d: get(%d) found", max, op, k)
				require.Equal(t, wantV, v, "max %d, op %d: get(%d)", max, op, k)
			} else {
				c.Put(k, op)
				ref.put(k, op)
			}
			require.Equal(t, ref.keys(), c.Keys(), "max %d, op %d: keys in order of use", max, op)
			require.Equal(t, len(ref.items), c.Len(), "max %d, op %d: length", max, op)
		}
	}
}

func TestLRUEvictsLeastRecentlyUsed(t *testing.T) {
	c := New[string, int](2, 2)
	c.Put("a", 1)
	c.Put("b", 2)
	_, _ = c.Get("a")
	c.Put("c", 3)

	_, ok := c.Get("b")
	require.False(t, ok, "b was the least recently used")
	v, ok := c.Get("a")
	require.True(t, ok)
	require.Equal(t, 1, v)
	v, ok = c.Get("c")
	require.True(t, ok)
	require.Equal(t, 3, v)
}
