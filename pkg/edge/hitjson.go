package edge

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/clickstream/clickstream/pkg/event"
)

// hitJSONOverhead is the length of an encoded hit whose strings are all
// empty: keys, quotes, punctuation, the timestamp and "false". A test
// checks it.
const hitJSONOverhead = 181

// hitJSONSlack is room for a few escapes, so that one allocation usually
// holds the whole message.
const hitJSONSlack = 32

// newMessage encodes h for Kafka: the resource id as key, the JSON as value.
// Both share one allocation, the key after the value.
func newMessage(h *event.RawHit) message {
	n := hitJSONOverhead + hitJSONSlack + len(h.ClickID) + len(h.Method) + len(h.IP) + len(h.UA) + len(h.Referer) +
		len(h.URL) + len(h.Resource.Type) + len(h.Resource.ID) + len(h.Resource.ProjectID) + len(h.Resource.Domain) +
		len(h.Resource.Key)
	b := appendHitJSON(make([]byte, 0, n+len(h.Resource.ID)), h)
	end := len(b)
	b = append(b, h.Resource.ID...)
	// The value's capacity ends where the key starts, so an append to the
	// value cannot overwrite the key.
	return message{key: b[end:], value: b[:end:end]}
}

// appendHitJSON appends the JSON encoding of h to b, the same bytes as
// json.Marshal(h) returns. json.Marshal walks the struct by reflection and
// validates the output of Time.MarshalJSON. That took over a third of the
// CPU time of BenchmarkRedirect/kafka_publisher, so this writes the fields
// directly. TestEncodeHit compares the two on every kind of character.
func appendHitJSON(b []byte, h *event.RawHit) []byte {
	b = append(b, `{"clickId":`...)
	b = appendJSONString(b, h.ClickID)
	b = append(b, `,"timestamp":"`...)
	b = appendTimestamp(b, h.Timestamp.UTC())
	b = append(b, `","method":`...)
	b = appendJSONString(b, h.Method)
	b = append(b, `,"ip":`...)
	b = appendJSONString(b, h.IP)
	b = append(b, `,"ua":`...)
	b = appendJSONString(b, h.UA)
	b = append(b, `,"referer":`...)
	b = appendJSONString(b, h.Referer)
	b = append(b, `,"url":`...)
	b = appendJSONString(b, h.URL)
	b = append(b, `,"qr":`...)
	b = strconv.AppendBool(b, h.QR)

	r := &h.Resource
	b = append(b, `,"resource":{"type":`...)
	b = appendJSONString(b, string(r.Type))
	b = append(b, `,"id":`...)
	b = appendJSONString(b, r.ID)
	b = append(b, `,"projectId":`...)
	b = appendJSONString(b, r.ProjectID)
	b = append(b, `,"domain":`...)
	b = appendJSONString(b, r.Domain)
	b = append(b, `,"key":`...)
	b = appendJSONString(b, r.Key)
	return append(b, "}}"...)
}

// appendTimestamp appends t, which is in UTC, in event.TimeLayout. It writes
// the digits itself for the years 0 to 9999, because AppendFormat parses
// the layout on every call; other years go through AppendFormat.
func appendTimestamp(b []byte, t time.Time) []byte {
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, event.TimeLayout)
	}
	hour, minute, second := t.Clock()
	millis := t.Nanosecond() / int(time.Millisecond)

	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, minute, 2)
	b = append(b, ':')
	b = appendDigits(b, second, 2)
	b = append(b, '.')
	b = appendDigits(b, millis, 3)
	return append(b, 'Z')
}

// appendDigits appends the width last decimal digits of n, which is not
// negative, with leading zeros.
func appendDigits(b []byte, n, width int) []byte {
	b = append(b, "0000"[:width]...)
	for i := len(b) - 1; i >= len(b)-width; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return b
}

const hexDigits = "0123456789abcdef"

// plainASCII marks the ASCII bytes that appendJSONString copies unchanged:
// everything from space up except ", \, <, > and &.
var plainASCII = func() (t [utf8.RuneSelf]bool) {
	for c := byte(0x20); c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendJSONString appends s as a JSON string with the escapes that
// encoding/json writes by default: \" \\ \b \f \n \r \t, \u00XX for the
// other control characters and for <, > and & (HTML-safe output), \ufffd
// for each byte that is not valid UTF-8, and \u2028 and \u2029, which
// JavaScript does not accept in string literals.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	// s[done:i] is a run of bytes still to copy unchanged.
	done := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if plainASCII[c] {
				i++
				continue
			}
			b = append(b, s[done:i]...)
			b = appendEscapedASCII(b, c)
			i++
			done = i
			continue
		}

		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[done:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[done:i]...)
			b = append(b, `\u202`...)
			b = append(b, hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		done = i
	}
	b = append(b, s[done:]...)
	return append(b, '"')
}

// appendEscapedASCII appends the escape of an ASCII byte that cannot appear
// in a JSON string as it is.
func appendEscapedASCII(b []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\b':
		return append(b, `\b`...)
	case '\f':
		return append(b, `\f`...)
	case '\n':
		return append(b, `\n`...)
	case '\r':
		return append(b, `\r`...)
	case '\t':
		return append(b, `\t`...)
	}
	return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}
