package enrich

import (
	"encoding/json"
	"os"
	"regexp"
	"regexp/syntax"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCrawlerKeywordsSound checks the keyword extraction: every example user
// agent that a published pattern matches must reach that pattern's rule
// through the keyword matcher.
func TestCrawlerKeywordsSound(t *testing.T) {
	data, err := os.ReadFile("../testdata/ua/crawler-user-agents/crawler-user-agents.json")
	require.NoError(t, err)
	var crawlers []struct {
		Pattern   string   `json:"pattern"`
		Instances []string `json:"instances"`
	}
	require.NoError(t, json.Unmarshal(data, &crawlers))

	c, err := newBotClassifier()
	require.NoError(t, err)
	rules := make(map[string]int, len(c.rules))
	for i, r := range c.rules {
		rules[r.source] = i
	}

	checked := 0
	for _, cr := range crawlers {
		i, kept := rules[cr.Pattern]
		if !kept {
			continue
		}
		re := regexp.MustCompile(cr.Pattern)
		for _, ua := range cr.Instances {
			if !re.MatchString(ua) {
				continue
			}
			require.Truef(t, ruleReached(c, i, ua), "pattern %q not reached for %q", cr.Pattern, ua)
			checked++
		}
	}
	require.Greater(t, checked, 2000)
}

func ruleReached(c *botClassifier, rule int, ua string) bool {
	if slicesContains(c.unkeyed, int32(rule)) {
		return true
	}
	for _, id := range c.matcher.appendMatches(nil, ua) {
		if id >= c.substrings && int(c.ruleOf[id-c.substrings]) == rule {
			return true
		}
	}
	return false
}

func slicesContains(s []int32, v int32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestKeywordsOf(t *testing.T) {
	tests := []struct {
		pattern  string
		keywords []string
	}{
		{`Googlebot\/`, []string{"googlebot/"}},
		{`[wW]get`, []string{"wget"}},
		{`^Mozilla\/5\.0 \(compatible; Foo`, []string{"mozilla/5.0 (compatible; foo"}},
		{`(Ahrefs|SEMrush)Bot`, []string{"ahrefs", "semrush"}},
		{`AI2Bot|Amzn-User`, []string{"ai2bot", "amzn-user"}},
		{`a.b`, nil},
		{`xyz.*abcdef`, []string{"abcdef"}},
	}
	for _, tt := range tests {
		re, err := syntax.Parse(tt.pattern, syntax.Perl)
		require.NoError(t, err)
		require.ElementsMatch(t, tt.keywords, keywordsOf(re.Simplify()), tt.pattern)
	}
}

func TestCrawlerPatternsCaseSensitive(t *testing.T) {
	c, err := newBotClassifier()
	require.NoError(t, err)

	// "NING/" is the crawler of the Ning network. Thunderbird's calendar
	// add-on, Lightning, must not match it.
	require.Empty(t, c.classify("Mozilla/5.0 (Windows NT 10.0; WOW64; rv:60.0) Gecko/20100101 Thunderbird/60.7.0 Lightning/6.2.7"))
	require.NotEmpty(t, c.classify("NING/1.0"))
}
