// Package replay sends the requests of a web server access log to an edge,
// so that real traffic (addresses, user agents, referers, bursts) can be
// played against it.
package replay

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrInvalidLine is wrapped by every error ParseCombined returns.
var ErrInvalidLine = errors.New("invalid combined log line")

// combinedTimeLayout is the layout of the %t field without its brackets, as
// in "17/May/2015:10:05:03 +0000".
const combinedTimeLayout = "02/Jan/2006:15:04:05 -0700"

// Entry is one request of an access log in the combined format.
type Entry struct {
	IP   string
	Time time.Time
	// Method, Path and Protocol come from the request line. A request
	// line of "-" leaves all three empty; "GET /" (HTTP/0.9) leaves
	// Protocol empty.
	Method   string
	Path     string
	Protocol string
	Status   int
	// Bytes is the response size; "-" (no body) is 0.
	Bytes int64
	// Referer and UserAgent are "" where the log has "-".
	Referer   string
	UserAgent string
	// Truncated reports a line cut off inside its user agent, the last
	// field: the request is real, so it is kept with the user agent as far
	// as the line goes.
	Truncated bool
}

// ParseCombined parses one line of the Apache or Nginx combined log format:
//
//	%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"
//
// Quoted fields may contain \" and \\ and \xHH escapes, which are decoded.
// The referer and user agent may be missing (the common log format), and
// fields after the user agent, which some Nginx formats add, are ignored.
// A line cut off inside the user agent is accepted with Truncated set;
// a line cut off earlier, or a malformed field, returns an error that wraps
// ErrInvalidLine and names the field.
func ParseCombined(line string) (Entry, error) {
	p := lineParser{rest: strings.TrimRight(line, "\r\n")}
	var e Entry

	e.IP = p.word()
	if e.IP == "" {
		return Entry{}, p.errorf("client address", "is missing")
	}
	p.word() // %l, the identd user
	p.word() // %u, the authenticated user

	if err := p.parseTime(&e); err != nil {
		return Entry{}, err
	}
	if err := p.parseRequest(&e); err != nil {
		return Entry{}, err
	}
	if err := p.parseStatusAndBytes(&e); err != nil {
		return Entry{}, err
	}

	if p.done() {
		return e, nil
	}
	referer, err := p.quoted("referer")
	if err != nil {
		return Entry{}, err
	}
	e.Referer = dashToEmpty(referer)

	if p.done() {
		return e, nil
	}
	agent, err := p.quoted("user agent")
	if errors.Is(err, errUnclosed) {
		e.Truncated = true
	} else if err != nil {
		return Entry{}, err
	}
	e.UserAgent = dashToEmpty(agent)
	return e, nil
}

func dashToEmpty(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

// lineParser consumes a log line field by field.
type lineParser struct {
	rest string
}

func (p *lineParser) errorf(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s %s", ErrInvalidLine, field, fmt.Sprintf(format, args...))
}

func (p *lineParser) skipSpaces() {
	p.rest = strings.TrimLeft(p.rest, " \t")
}

func (p *lineParser) done() bool {
	p.skipSpaces()
	return p.rest == ""
}

// word returns the text up to the next space.
func (p *lineParser) word() string {
	p.skipSpaces()
	i := strings.IndexAny(p.rest, " \t")
	if i < 0 {
		w := p.rest
		p.rest = ""
		return w
	}
	w := p.rest[:i]
	p.rest = p.rest[i:]
	return w
}

func (p *lineParser) parseTime(e *Entry) error {
	p.skipSpaces()
	if !strings.HasPrefix(p.rest, "[") {
		return p.errorf("time", "must start with [, got %q", head(p.rest))
	}
	end := strings.IndexByte(p.rest, ']')
	if end < 0 {
		return p.errorf("time", "has no closing ]: the line is truncated")
	}

	t, err := time.Parse(combinedTimeLayout, p.rest[1:end])
	if err != nil {
		return p.errorf("time", "must look like [17/May/2015:10:05:03 +0000], got %q", head(p.rest[1:end]))
	}
	e.Time = t
	p.rest = p.rest[end+1:]
	return nil
}

func (p *lineParser) parseRequest(e *Entry) error {
	request, err := p.quoted("request")
	if err != nil {
		return err
	}
	if request == "-" || request == "" {
		return nil
	}

	parts := strings.Fields(request)
	switch len(parts) {
	case 3:
		e.Method, e.Path, e.Protocol = parts[0], parts[1], parts[2]
	case 2:
		e.Method, e.Path = parts[0], parts[1]
	default:
		return p.errorf("request", "must be METHOD PATH [PROTOCOL], got %q", head(request))
	}
	return nil
}

func (p *lineParser) parseStatusAndBytes(e *Entry) error {
	status := p.word()
	if status == "" {
		return p.errorf("status", "is missing: the line is truncated")
	}
	code, err := strconv.Atoi(status)
	if err != nil || code < 100 || code > 999 {
		return p.errorf("status", "must be a 3-digit code, got %q", head(status))
	}
	e.Status = code

	size := p.word()
	switch size {
	case "":
		return p.errorf("bytes", "is missing: the line is truncated")
	case "-":
		return nil
	}
	n, err := strconv.ParseInt(size, 10, 64)
	if err != nil || n < 0 {
		return p.errorf("bytes", "must be a byte count or -, got %q", head(size))
	}
	e.Bytes = n
	return nil
}

// quoted returns the next double-quoted field with its escapes decoded.
func (p *lineParser) quoted(field string) (string, error) {
	p.skipSpaces()
	if !strings.HasPrefix(p.rest, `"`) {
		if p.rest == "" {
			return "", p.errorf(field, "is missing: the line is truncated")
		}
		return "", p.errorf(field, "must be in double quotes, got %q", head(p.rest))
	}

	var b strings.Builder
	s := p.rest[1:]
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			p.rest = s[i+1:]
			return b.String(), nil
		case '\\':
			i += decodeEscape(s[i+1:], &b)
		default:
			b.WriteByte(c)
		}
	}
	p.rest = ""
	return b.String(), fmt.Errorf("%w: %s %w", ErrInvalidLine, field, errUnclosed)
}

// errUnclosed is wrapped by quoted when the line ends inside the field; the
// field's text so far is returned with it.
var errUnclosed = errors.New("has no closing quote: the line is truncated")

// decodeEscape writes the character that the escape after a backslash
// stands for and returns how many bytes after the backslash it used.
// Apache and Nginx write \" \\ and \xHH; any other escape is kept as it is.
func decodeEscape(s string, b *strings.Builder) int {
	switch {
	case s == "":
		b.WriteByte('\\')
		return 0
	case s[0] == '"' || s[0] == '\\':
		b.WriteByte(s[0])
		return 1
	case s[0] == 'x' && len(s) >= 3:
		if v, err := strconv.ParseUint(s[1:3], 16, 8); err == nil {
			b.WriteByte(byte(v))
			return 3
		}
	}
	b.WriteByte('\\')
	return 0
}

// head shortens s for an error message.
func head(s string) string {
	const n = 40
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
