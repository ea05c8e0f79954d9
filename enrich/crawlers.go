package enrich

import (
	_ "embed"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

//go:generate go run ./internal/crawlergen -in ../testdata/ua/crawler-user-agents/crawler-user-agents.json -licence ../testdata/ua/crawler-user-agents/LICENSE -out crawlers.tsv

// crawlerPatterns is the pattern list of the crawler-user-agents project
// (MIT licence, reproduced in the file's header), one reason and one Go
// regular expression per line.
//
//go:embed crawlers.tsv
var crawlerPatterns string

// minKeywordLen is the shortest literal accepted as a pattern's keyword.
// Shorter literals would send most user agents to the regular expression.
const minKeywordLen = 3

// parseCrawlerPatterns turns the embedded list into bot rules. Each rule's
// keywords go into the keyword matcher. A rule whose pattern is not a plain
// string also keeps its compiled expression to confirm a keyword hit.
func parseCrawlerPatterns(list string) ([]botRule, error) {
	var rules []botRule
	for n, line := range strings.Split(list, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}

		reason, pattern, ok := strings.Cut(line, "\t")
		if !ok {
			return nil, fmt.Errorf("crawlers.tsv line %d: missing tab between reason and pattern", n+1)
		}
		rule, err := crawlerRule(reason, pattern)
		if err != nil {
			return nil, fmt.Errorf("crawlers.tsv line %d: %w", n+1, err)
		}
		rules = append(rules, rule)
	}
	return rules, nil
}

func crawlerRule(reason, pattern string) (botRule, error) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return botRule{}, fmt.Errorf("parsing pattern %q: %w", pattern, err)
	}
	rule := botRule{reason: reason, keywords: keywordsOf(re.Simplify()), source: pattern}
	if lit, ok := plainString(re); ok {
		// The keyword matcher ignores case; the published patterns do not,
		// and "NING/" must not match "Lightning/".
		rule.accept = func(ua string) bool { return strings.Contains(ua, lit) }
		return rule, nil
	}

	rule.re, err = regexp.Compile(pattern)
	if err != nil {
		return botRule{}, fmt.Errorf("compiling pattern %q: %w", pattern, err)
	}
	return rule, nil
}

// plainString returns the string a pattern matches when it is a plain,
// case-sensitive string without anchors.
func plainString(re *syntax.Regexp) (string, bool) {
	re = re.Simplify()
	if re.Op != syntax.OpLiteral || re.Flags&syntax.FoldCase != 0 {
		return "", false
	}
	return string(re.Rune), true
}

// keywordsOf returns literals of which every match of re contains one,
// ignoring case. It returns none when it finds no literal of at least
// minKeywordLen bytes; such a pattern has to be tried on every user agent.
func keywordsOf(re *syntax.Regexp) []string {
	switch re.Op {
	case syntax.OpLiteral:
		s := strings.ToLower(string(re.Rune))
		if len(s) < minKeywordLen {
			return nil
		}
		return []string{s}
	case syntax.OpCapture, syntax.OpPlus:
		return keywordsOf(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return keywordsOf(re.Sub[0])
		}
	case syntax.OpConcat:
		return concatKeywords(re.Sub)
	case syntax.OpAlternate:
		return alternateKeywords(re.Sub)
	}
	return nil
}

// concatKeywords joins adjacent literals of a concatenation and picks the
// part whose shortest keyword is longest. A literal directly before an
// alternation of literals is joined to each alternative, because Simplify
// turns "AI2Bot|Amzn-User" into "A(?:I2Bot|mzn-User)". Zero-width
// assertions such as ^ and $ do not break adjacency.
func concatKeywords(subs []*syntax.Regexp) []string {
	var best []string
	consider := func(kw []string) {
		if shortest(kw) > shortest(best) {
			best = kw
		}
	}

	var run strings.Builder
	flush := func() {
		if run.Len() >= minKeywordLen {
			consider([]string{strings.ToLower(run.String())})
		}
		run.Reset()
	}

	for _, sub := range subs {
		switch {
		case sub.Op == syntax.OpLiteral:
			run.WriteString(string(sub.Rune))
		case sub.Op == syntax.OpBeginText, sub.Op == syntax.OpEndText,
			sub.Op == syntax.OpBeginLine, sub.Op == syntax.OpEndLine:
		case sub.Op == syntax.OpAlternate && allLiterals(sub.Sub):
			prefix := strings.ToLower(run.String())
			run.Reset()
			var kw []string
			for _, alt := range sub.Sub {
				kw = append(kw, prefix+strings.ToLower(string(alt.Rune)))
			}
			if shortest(kw) >= minKeywordLen {
				consider(kw)
			}
		default:
			flush()
			consider(keywordsOf(sub))
		}
	}
	flush()
	return best
}

func allLiterals(subs []*syntax.Regexp) bool {
	for _, s := range subs {
		if s.Op != syntax.OpLiteral {
			return false
		}
	}
	return true
}

func alternateKeywords(subs []*syntax.Regexp) []string {
	var out []string
	for _, sub := range subs {
		kw := keywordsOf(sub)
		if len(kw) == 0 {
			return nil
		}
		out = append(out, kw...)
	}
	return out
}

// shortest returns the length in runes of the shortest keyword, or 0.
func shortest(keywords []string) int {
	n := 0
	for i, k := range keywords {
		if l := utf8.RuneCountInString(k); i == 0 || l < n {
			n = l
		}
	}
	return n
}
