package worker

import (
	"container/list"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// listLRU is the cache the worker used before lru: a map of list elements.
// It is the reference that lru must behave like.
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

// keys returns the keys of c from the most to the least recently used.
func (c *lru[K, V]) keys() []K {
	var out []K
	for i := c.head; i >= 0; i = c.entries[i].next {
		out = append(out, c.entries[i].key)
	}
	return out
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
		c := newLRU[int, int](max)
		ref := &listLRU{max: max, order: list.New(), items: map[int]*list.Element{}}
		for op := range 20000 {
			k := rng.IntN(3 * max)
			if rng.IntN(2) == 0 {
				v, ok := c.get(k)
				wantV, wantOK := ref.get(k)
				require.Equal(t, wantOK, ok, "max %d, op %d: get(%d) found", max, op, k)
				require.Equal(t, wantV, v, "max %d, op %d: get(%d)", max, op, k)
			} else {
				c.put(k, op)
				ref.put(k, op)
			}
			require.Equal(t, ref.keys(), c.keys(), "max %d, op %d: keys in order of use", max, op)
			require.Equal(t, len(ref.items), c.len(), "max %d, op %d: length", max, op)
		}
	}
}

func TestLRUEvictsLeastRecentlyUsed(t *testing.T) {
	c := newLRU[string, int](2)
	c.put("a", 1)
	c.put("b", 2)
	_, _ = c.get("a")
	c.put("c", 3)

	_, ok := c.get("b")
	require.False(t, ok, "b was the least recently used")
	v, ok := c.get("a")
	require.True(t, ok)
	require.Equal(t, 1, v)
	v, ok = c.get("c")
	require.True(t, ok)
	require.Equal(t, 3, v)
}
