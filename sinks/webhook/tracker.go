package webhook

import (
	"context"
	"sort"
	"sync"
)

// commitTracker computes which offsets of one topic may be committed when
// deliveries finish out of order. A partition's offset advances only past a
// contiguous run of finished records, so a record still in flight is never
// skipped by a commit. The number of tracked records is bounded by a
// semaphore of maxUncommitted slots: add blocks when all are taken.
type commitTracker struct {
	slots chan struct{}

	mu    sync.Mutex
	parts map[int]*partitionWindow
}

// partitionWindow holds one partition's fetched records from the oldest
// unfinished one on, in offset order.
type partitionWindow struct {
	// epoch changes when the reader fetches an offset again, which kafka-go
	// does after a rebalance; tickets of an older epoch are then ignored.
	epoch       uint64
	entries     []windowEntry
	head        int
	lastFetched int64
	// commitNext is the offset to commit: every record below it finished.
	commitNext int64
	dirty      bool
}

type windowEntry struct {
	offset int64
	done   bool
}

// ticket identifies one tracked record; finish releases it.
type ticket struct {
	tracker   *commitTracker
	partition int
	epoch     uint64
	offset    int64
}

func newCommitTracker(maxUncommitted int) *commitTracker {
	return &commitTracker{slots: make(chan struct{}, maxUncommitted), parts: map[int]*partitionWindow{}}
}

// add starts tracking a fetched record. It blocks while maxUncommitted
// records are tracked and returns ctx's error if ctx ends first.
func (t *commitTracker) add(ctx context.Context, partition int, offset int64) (ticket, error) {
	select {
	case t.slots <- struct{}{}:
	case <-ctx.Done():
		return ticket{}, ctx.Err()
	}

	t.mu.Lock()
	defer t.mu.Unlock()

	w, ok := t.parts[partition]
	if !ok {
		w = &partitionWindow{epoch: 1, lastFetched: -1, commitNext: -1}
		t.parts[partition] = w
	}
	if offset <= w.lastFetched {
		// The reader went back, so the records in the window will be
		// fetched again: stop tracking them and free their slots.
		//
		// NOTE: kafka-go does not report revoked partitions, so a partition
		// moved to another consumer keeps its window here and a later
		// commit for it may move that consumer's offset back. That only
		// causes repeats, which receivers drop by event id.
		t.release(len(w.entries) - w.head)
		w.entries, w.head = nil, 0
		w.epoch++
	}

	w.entries = append(w.entries, windowEntry{offset: offset})
	w.lastFetched = offset
	return ticket{tracker: t, partition: partition, epoch: w.epoch, offset: offset}, nil
}

// finish marks the ticket's record as finished. Call it exactly once.
func (tk ticket) finish() {
	t := tk.tracker
	t.mu.Lock()
	defer t.mu.Unlock()

	w := t.parts[tk.partition]
	if w == nil || w.epoch != tk.epoch {
		return
	}
	live := w.entries[w.head:]
	i := sort.Search(len(live), func(i int) bool { return live[i].offset >= tk.offset })
	if i == len(live) || live[i].offset != tk.offset {
		return
	}
	live[i].done = true

	advanced := 0
	for w.head < len(w.entries) && w.entries[w.head].done {
		w.commitNext = w.entries[w.head].offset + 1
		w.head++
		advanced++
	}
	if advanced == 0 {
		return
	}
	w.dirty = true
	t.release(advanced)

	// Move the live entries down once the finished prefix is the larger
	// part, so the slice does not grow with the total fetched.
	if w.head == len(w.entries) {
		w.entries, w.head = w.entries[:0], 0
	} else if w.head > 1024 && w.head*2 > len(w.entries) {
		n := copy(w.entries, w.entries[w.head:])
		w.entries, w.head = w.entries[:n], 0
	}
}

// release frees n slots. The caller holds t.mu; the semaphore channel
// never blocks on receive because every slot was taken by add.
func (t *commitTracker) release(n int) {
	for range n {
		<-t.slots
	}
}

// commitOffsets returns the offsets to commit for partitions that advanced
// since the last call, as partition to next offset.
func (t *commitTracker) commitOffsets() map[int]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()

	out := map[int]int64{}
	for p, w := range t.parts {
		if w.dirty {
			out[p] = w.commitNext
			w.dirty = false
		}
	}
	return out
}

// redo marks the offsets of a failed commit as not yet committed, so the
// next commit sends them again.
func (t *commitTracker) redo(offsets map[int]int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for p := range offsets {
		if w := t.parts[p]; w != nil {
			w.dirty = true
		}
	}
}

// uncommitted returns the number of tracked records.
func (t *commitTracker) uncommitted() int {
	return len(t.slots)
}
