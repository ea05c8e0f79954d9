package event

import (
	"encoding/binary"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// hitString is a string field of RawHit that decodeHitFast fills.
type hitString int

// The string fields of RawHit. The ones before strUA share one allocation.
// The others get their own, because they outlive the batch of rows: the user
// agent is a key of the enricher's cache and the resource id a key of the
// worker's duplicate window. The resource type is one of three constants
// when it is valid.
const (
	strClickID hitString = iota
	strMethod
	strIP
	strReferer
	strURL
	strProjectID
	strDomain
	strKey
	strUA
	strResourceID
	strResourceType
	hitStrings
)

// stringsShared is the number of fields that share one allocation.
const stringsShared = strUA

// span is the position of a JSON string's content in the record, without
// its quotes. escaped marks a backslash in it, set a string that was read.
type span struct {
	start, end int
	escaped    bool
	set        bool
}

// hitScanner is the state of decodeHitFast: the record, the read position
// and the string fields found so far.
type hitScanner struct {
	b     []byte
	i     int
	spans [hitStrings]span
}

// decodeHitFast decodes b into h when b is a JSON object that encoding/json
// would decode into RawHit without an error. The object must use only the
// keys of RawHit, spelled exactly, with strings for the string fields, true
// or false for qr, an object for resource and an RFC 3339 string without
// escapes for timestamp. decodeHitFast returns false on anything else,
// unknown keys and null included. DecodeHit then decodes b with
// encoding/json, which reports the error or handles the rarer forms.
//
// b must be valid UTF-8 without leading or trailing white space. The
// strings of h never share memory with b.
//
// It gives the same RawHit as json.Unmarshal: a repeated key overwrites the
// earlier value, as there, and strings are unescaped the same way.
// FuzzDecodeHitFast compares the two.
func decodeHitFast(b []byte, h *RawHit) bool {
	s := hitScanner{b: b}
	if !s.object(h, false) {
		return false
	}
	if s.i != len(b) {
		return false
	}
	s.fill(h)
	return true
}

// object reads a JSON object at s.i: the hit itself, or with resource set,
// its resource object.
func (s *hitScanner) object(h *RawHit, resource bool) bool {
	if !s.consume('{') {
		return false
	}
	s.skipSpace()
	if s.consume('}') {
		return true
	}
	for {
		key, ok := s.plainString()
		if !ok {
			return false
		}
		s.skipSpace()
		if !s.consume(':') {
			return false
		}
		s.skipSpace()
		if resource {
			ok = s.resourceValue(key)
		} else {
			ok = s.hitValue(key, h)
		}
		if !ok {
			return false
		}
		s.skipSpace()
		if s.consume('}') {
			return true
		}
		if !s.consume(',') {
			return false
		}
		s.skipSpace()
	}
}

// hitValue reads the value of key in the hit object.
func (s *hitScanner) hitValue(key []byte, h *RawHit) bool {
	switch string(key) {
	case "clickId":
		return s.stringValue(strClickID)
	case "timestamp":
		return s.timestamp(&h.Timestamp)
	case "method":
		return s.stringValue(strMethod)
	case "ip":
		return s.stringValue(strIP)
	case "ua":
		return s.stringValue(strUA)
	case "referer":
		return s.stringValue(strReferer)
	case "url":
		return s.stringValue(strURL)
	case "qr":
		return s.boolValue(&h.QR)
	case "resource":
		return s.object(h, true)
	}
	return false
}

// resourceValue reads the value of key in the resource object.
func (s *hitScanner) resourceValue(key []byte) bool {
	switch string(key) {
	case "type":
		return s.stringValue(strResourceType)
	case "id":
		return s.stringValue(strResourceID)
	case "projectId":
		return s.stringValue(strProjectID)
	case "domain":
		return s.stringValue(strDomain)
	case "key":
		return s.stringValue(strKey)
	}
	return false
}

func (s *hitScanner) consume(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// skipSpace skips the white space JSON allows between tokens.
func (s *hitScanner) skipSpace() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// stringValue reads a JSON string and records its span as field f.
func (s *hitScanner) stringValue(f hitString) bool {
	sp, ok := s.str()
	if !ok {
		return false
	}
	s.spans[f] = sp
	return true
}

// plainString reads a JSON string without escapes and returns its content.
func (s *hitScanner) plainString() ([]byte, bool) {
	sp, ok := s.str()
	if !ok || sp.escaped {
		return nil, false
	}
	return s.b[sp.start:sp.end], true
}

// plainByte marks the bytes that a JSON string contains as they are: all
// but the quote, the backslash and the control characters below 0x20.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// skipPlain returns the index of the first 8-byte word of b at or after i
// that holds a byte plainByte does not mark, or the start of the last
// partial word. It tests a whole word at once: for each byte x, x < 0x20,
// x == '"' and x == '\\' are the zero tests of x - 0x20, x ^ '"' and
// x ^ '\\' that set the high bit of some byte when one of them holds.
func skipPlain(b []byte, i int) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		quote := x ^ ('"' * ones)
		backslash := x ^ ('\\' * ones)
		special := (x-0x20*ones)&^x | (quote-ones)&^quote | (backslash-ones)&^backslash
		if special&highs != 0 {
			return i
		}
	}
	return i
}

// str reads a JSON string at s.i. It rejects the control characters JSON
// forbids in strings and every escape that unquote does not decode.
func (s *hitScanner) str() (span, bool) {
	if !s.consume('"') {
		return span{}, false
	}
	sp := span{start: s.i, set: true}
	for {
		s.i = skipPlain(s.b, s.i)
		for s.i < len(s.b) && plainByte[s.b[s.i]] {
			s.i++
		}
		if s.i == len(s.b) {
			return span{}, false
		}
		switch s.b[s.i] {
		case '"':
			sp.end = s.i
			s.i++
			return sp, true
		case '\\':
			n := escapeLen(s.b[s.i:])
			if n == 0 {
				return span{}, false
			}
			sp.escaped = true
			s.i += n
		default: // a control character
			return span{}, false
		}
	}
}

// escapeLen returns the length of the escape sequence at the start of b, or
// 0 when unquote does not decode it. unquote decodes every valid escape
// except a \u escape of a UTF-16 surrogate, which encoding/json pairs with
// the next escape or replaces with U+FFFD. This decoder leaves those rules
// to encoding/json.
func escapeLen(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
		r, ok := hex4(b[2:])
		if !ok || utf16.IsSurrogate(r) {
			return 0
		}
		return 6
	}
	return 0
}

// hex4 decodes the four hex digits at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// unquote appends the content of a JSON string, which str has checked, to
// dst with its escapes decoded.
func unquote(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		switch raw[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, _ := hex4(raw[i+2:])
			dst = utf8.AppendRune(dst, r)
			i += 6
			continue
		default: // '"', '\\' and '/' stand for themselves.
			dst = append(dst, raw[i+1])
		}
		i += 2
	}
	return dst
}

// boolValue reads true or false.
func (s *hitScanner) boolValue(v *bool) bool {
	rest := s.b[s.i:]
	switch {
	case len(rest) >= 4 && string(rest[:4]) == "true":
		*v = true
		s.i += 4
	case len(rest) >= 5 && string(rest[:5]) == "false":
		*v = false
		s.i += 5
	default:
		return false
	}
	return true
}

// timestamp reads a JSON string without escapes and parses it. A time in
// TimeLayout is parsed here. Any other goes to Time.UnmarshalJSON, which
// receives the same bytes from encoding/json.
func (s *hitScanner) timestamp(t *Time) bool {
	start := s.i
	sp, ok := s.str()
	if !ok || sp.escaped {
		return false
	}
	if parsed, ok := parseTimeLayout(s.b[sp.start:sp.end]); ok {
		t.Time = parsed
		return true
	}
	return t.UnmarshalJSON(s.b[start:s.i]) == nil
}

// parseTimeLayout parses b when it is a valid time in TimeLayout, such as
// "2024-08-30T10:16:12.124Z", to the same time as time.Parse with
// time.RFC3339Nano followed by UTC, without the allocation of the string
// conversion. It returns false for every other form, out-of-range fields
// included, and leaves those to time.Parse.
func parseTimeLayout(b []byte) (time.Time, bool) {
	if len(b) != len(TimeLayout) || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' ||
		b[16] != ':' || b[19] != '.' || b[23] != 'Z' {
		return time.Time{}, false
	}
	year, ok1 := digits(b[0:4])
	month, ok2 := digits(b[5:7])
	day, ok3 := digits(b[8:10])
	hour, ok4 := digits(b[11:13])
	minute, ok5 := digits(b[14:16])
	second, ok6 := digits(b[17:19])
	millis, ok7 := digits(b[20:23])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) ||
		month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59 {
		return time.Time{}, false
	}

	t := time.Date(year, time.Month(month), day, hour, minute, second, millis*int(time.Millisecond), time.UTC)
	// time.Date moves a day past the end of the month into the next one,
	// where time.Parse rejects it.
	if t.Day() != day {
		return time.Time{}, false
	}
	return t, true
}

// digits parses b as an unsigned decimal number. It returns false when b
// contains a byte that is not an ASCII digit.
func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// fill sets the string fields of h from the spans read. A field the record
// lacks keeps its zero value, as with encoding/json.
func (s *hitScanner) fill(h *RawHit) {
	size := 0
	for f := range stringsShared {
		size += s.spans[f].end - s.spans[f].start
	}
	buf := make([]byte, 0, size)
	var ends [stringsShared]int
	for f := range stringsShared {
		if s.spans[f].set {
			buf = s.appendString(buf, f)
		}
		ends[f] = len(buf)
	}
	// buf is not written after this, so the string may share its memory.
	shared := unsafe.String(unsafe.SliceData(buf), len(buf))

	fields := [stringsShared]*string{
		strClickID:   &h.ClickID,
		strMethod:    &h.Method,
		strIP:        &h.IP,
		strReferer:   &h.Referer,
		strURL:       &h.URL,
		strProjectID: &h.Resource.ProjectID,
		strDomain:    &h.Resource.Domain,
		strKey:       &h.Resource.Key,
	}
	start := 0
	for f := range stringsShared {
		if s.spans[f].set {
			*fields[f] = shared[start:ends[f]]
		}
		start = ends[f]
	}

	if s.spans[strUA].set {
		h.UA = s.ownString(strUA)
	}
	if s.spans[strResourceID].set {
		h.Resource.ID = s.ownString(strResourceID)
	}
	if s.spans[strResourceType].set {
		h.Resource.Type = s.resourceType()
	}
}

// appendString appends the decoded content of field f to buf.
func (s *hitScanner) appendString(buf []byte, f hitString) []byte {
	sp := s.spans[f]
	raw := s.b[sp.start:sp.end]
	if sp.escaped {
		return unquote(buf, raw)
	}
	return append(buf, raw...)
}

// ownString returns the decoded content of field f in an allocation of its own.
func (s *hitScanner) ownString(f hitString) string {
	sp := s.spans[f]
	if !sp.escaped {
		return string(s.b[sp.start:sp.end])
	}
	return string(s.appendString(nil, f))
}

// resourceType returns the resource type, as a constant when it is one of
// the known types so that it needs no allocation.
func (s *hitScanner) resourceType() ResourceType {
	sp := s.spans[strResourceType]
	if !sp.escaped {
		switch string(s.b[sp.start:sp.end]) {
		case string(ResourceLink):
			return ResourceLink
		case string(ResourceQRCode):
			return ResourceQRCode
		case string(ResourcePage):
			return ResourcePage
		}
	}
	return ResourceType(s.ownString(strResourceType))
}
