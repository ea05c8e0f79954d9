package enrich

import "strings"

// uaToken is one product token of a user agent, such as "Chrome/127.0.0.0",
// or one item of a comment, such as "Android 14" in "(Linux; Android 14)".
// Product tokens are split at the first slash; comment items are split at
// the first slash too, so "FBAV/412.0" gives name "FBAV", version "412.0".
type uaToken struct {
	name    string
	version string
	comment bool
}

// maxUATokens bounds the work per user agent. Real user agents have fewer
// than 40 tokens; the rest of a longer one is ignored.
const maxUATokens = 64

// uaTokens is the tokenized form of a user agent. It lives on the stack of
// the parser and its strings point into the user agent, so tokenizing does
// not allocate.
type uaTokens struct {
	list [maxUATokens]uaToken
	n    int
}

func (t *uaTokens) tokens() []uaToken { return t.list[:t.n] }

func (t *uaTokens) add(s string, comment bool) {
	s = strings.TrimSpace(s)
	if s == "" || t.n == maxUATokens {
		return
	}
	name, version, _ := strings.Cut(s, "/")
	t.list[t.n] = uaToken{
		name:    strings.TrimSpace(name),
		version: trimVersion(version),
		comment: comment,
	}
	t.n++
}

// tokenize splits ua into product tokens, separated by spaces or commas, and
// comment items, the semicolon-separated parts of "(...)" and "[...]" groups.
// Nested parentheses stay inside their comment item.
func tokenize(ua string, t *uaTokens) {
	t.n = 0
	for i := 0; i < len(ua) && t.n < maxUATokens; {
		switch ua[i] {
		case ' ', '\t', ',':
			i++
		case '(', '[':
			end := closingBracket(ua, i)
			addComment(t, ua[i+1:end])
			i = end + 1
		default:
			end := i
			for end < len(ua) && !isTokenEnd(ua[end]) {
				end++
			}
			t.add(ua[i:end], false)
			i = end
		}
	}
}

func isTokenEnd(c byte) bool {
	return c == ' ' || c == '\t' || c == ',' || c == '(' || c == '['
}

// closingBracket returns the index of the bracket that closes the one at
// open, or len(s) when it is never closed.
func closingBracket(s string, open int) int {
	closing := byte(')')
	if s[open] == '[' {
		closing = ']'
	}

	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case s[open]:
			depth++
		case closing:
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return len(s)
}

func addComment(t *uaTokens, comment string) {
	for comment != "" && t.n < maxUATokens {
		item, rest, _ := strings.Cut(comment, ";")
		t.add(item, true)
		comment = rest
	}
}

// trimVersion cuts a version at the first character that cannot be part of
// it, so "537.36," and "4.0)" become "537.36" and "4.0".
func trimVersion(v string) string {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' || c == ';' || c == ')' || c == ',' || c == '(' {
			return v[:i]
		}
	}
	return v
}

// firstWord returns s up to its first space.
func firstWord(s string) string {
	if i := strings.IndexByte(s, ' '); i >= 0 {
		return s[:i]
	}
	return s
}

// afterWord returns what follows the first space of s, or "".
func afterWord(s string) string {
	if i := strings.IndexByte(s, ' '); i >= 0 {
		return strings.TrimSpace(s[i+1:])
	}
	return ""
}

// lookupFold looks s up in m after converting ASCII letters to lower case,
// without allocating for keys of up to 64 bytes.
func lookupFold[V any](m map[string]V, s string) (V, bool) {
	var buf [64]byte
	if len(s) > len(buf) {
		v, ok := m[strings.ToLower(s)]
		return v, ok
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	v, ok := m[string(buf[:len(s)])]
	return v, ok
}

// hasPrefixFold reports whether s starts with prefix, ignoring ASCII case.
// prefix must be lower case.
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}
