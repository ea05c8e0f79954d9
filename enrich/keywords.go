package enrich

import (
	"fmt"
	"math"
)

// keywordMatcher finds which of a fixed set of keywords occur in a string in
// one pass over it, whatever the number of keywords. It is an Aho-Corasick
// automaton compiled to a table with one transition per state and byte
// class. Matching ignores ASCII case, so the input need not be lowered.
// It is read-only after construction and safe for concurrent use.
type keywordMatcher struct {
	// class maps each byte to its column in next. Bytes that occur in no
	// keyword share class 0, which always leads back to the start state.
	class   [256]uint8
	classes int
	// next is the transition table, states × classes. uint16 halves the
	// table against int32 and keeps more of it in the CPU cache; the
	// embedded crawler list needs about 15,000 states.
	next []uint16
	// outputs lists, per state, the keywords that end there, as a range of
	// outputIDs. outputLink is the nearest state on the failure path that
	// has outputs of its own, or 0.
	outputStart []int32
	outputEnd   []int32
	outputIDs   []int32
	outputLink  []int32
	// emits is true for the states that have outputs of their own or an
	// outputLink, so appendMatches reads the output tables only for them.
	emits []bool
}

// newKeywordMatcher compiles keywords, which must be lower case. Keyword i is
// reported as id i. It fails when the keywords need more states than a
// uint16 can number.
func newKeywordMatcher(keywords []string) (*keywordMatcher, error) {
	m := &keywordMatcher{}
	m.assignClasses(keywords)

	// Build the trie. State 0 is the start state and -1 marks a missing
	// transition until complete fills it.
	own := [][]int32{nil}
	next := make([]int32, m.classes)
	for i := range next {
		next[i] = -1
	}
	for id, kw := range keywords {
		state := int32(0)
		for j := 0; j < len(kw); j++ {
			cell := int(state)*m.classes + int(m.class[kw[j]])
			if next[cell] < 0 {
				next[cell] = int32(len(own))
				own = append(own, nil)
				for range m.classes {
					next = append(next, -1)
				}
			}
			state = next[cell]
		}
		own[state] = append(own[state], int32(id))
	}
	if len(own) > math.MaxUint16 {
		return nil, fmt.Errorf("keyword matcher: %d keywords need %d states, more than %d", len(keywords), len(own), math.MaxUint16)
	}

	m.complete(next, own)
	return m, nil
}

func (m *keywordMatcher) assignClasses(keywords []string) {
	m.classes = 1
	for _, kw := range keywords {
		for j := 0; j < len(kw); j++ {
			c := kw[j]
			if m.class[c] != 0 {
				continue
			}
			m.class[c] = uint8(m.classes)
			if c >= 'a' && c <= 'z' {
				m.class[c-'a'+'A'] = uint8(m.classes)
			}
			m.classes++
		}
	}
	if m.classes > 256 {
		panic("keywordMatcher: more than 255 distinct bytes in keywords")
	}
}

// complete turns the trie into a deterministic automaton: it computes the
// failure state of every state in breadth-first order and fills each missing
// transition with the failure state's transition.
func (m *keywordMatcher) complete(next []int32, own [][]int32) {
	states := len(own)
	fail := make([]int32, states)
	m.outputLink = make([]int32, states)

	queue := make([]int32, 0, states)
	for c := 0; c < m.classes; c++ {
		if child := next[c]; child > 0 {
			queue = append(queue, child)
		} else {
			next[c] = 0
		}
	}

	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for c := 0; c < m.classes; c++ {
			cell := int(s)*m.classes + c
			viaFail := next[int(fail[s])*m.classes+c]
			child := next[cell]
			if child < 0 {
				next[cell] = viaFail
				continue
			}
			fail[child] = viaFail
			if len(own[viaFail]) > 0 {
				m.outputLink[child] = viaFail
			} else {
				m.outputLink[child] = m.outputLink[viaFail]
			}
			queue = append(queue, child)
		}
	}

	m.next = make([]uint16, len(next))
	for i, state := range next {
		m.next[i] = uint16(state)
	}

	m.outputStart = make([]int32, states)
	m.outputEnd = make([]int32, states)
	m.emits = make([]bool, states)
	for s, ids := range own {
		m.outputStart[s] = int32(len(m.outputIDs))
		m.outputIDs = append(m.outputIDs, ids...)
		m.outputEnd[s] = int32(len(m.outputIDs))
		m.emits[s] = len(ids) > 0 || m.outputLink[s] != 0
	}
}

// appendMatches appends to dst the id of every keyword occurrence in s, in
// the order the occurrences end. A keyword that occurs twice is reported
// twice.
func (m *keywordMatcher) appendMatches(dst []int32, s string) []int32 {
	state := uint16(0)
	for i := 0; i < len(s); i++ {
		state = m.next[int(state)*m.classes+int(m.class[s[i]])]
		if !m.emits[state] {
			continue
		}
		for out := int32(state); out > 0; out = m.outputLink[out] {
			dst = append(dst, m.outputIDs[m.outputStart[out]:m.outputEnd[out]]...)
		}
	}
	return dst
}
