package enrich

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestKeywordMatcherFindsAll(t *testing.T) {
	keywords := []string{"bot", "robot", "googlebot", "ot", "crawl", "http://", "a"}
	m, err := newKeywordMatcher(keywords)
	require.NoError(t, err)

	got := m.appendMatches(nil, "Mozilla/5.0 (compatible; GoogleBot/2.1; +HTTP://www.google.com/bot.html)")
	slices.Sort(got)
	got = slices.Compact(got)

	var want []int32
	for i, kw := range keywords {
		if strings.Contains("mozilla/5.0 (compatible; googlebot/2.1; +http://www.google.com/bot.html)", kw) {
			want = append(want, int32(i))
		}
	}
	require.Equal(t, want, got)
}

func TestKeywordMatcherRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := "abcAB/ "
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}

	keywords := make([]string, 40)
	for i := range keywords {
		keywords[i] = strings.ToLower(word(1 + r.IntN(4)))
	}
	m, err := newKeywordMatcher(keywords)
	require.NoError(t, err)

	for range 2000 {
		s := word(r.IntN(30))
		got := m.appendMatches(nil, s)
		for i, kw := range keywords {
			require.Equal(t, strings.Contains(strings.ToLower(s), kw), slices.Contains(got, int32(i)),
				"keyword %q in %q", kw, s)
		}
	}
}
