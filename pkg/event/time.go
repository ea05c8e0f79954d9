package event

import (
	"fmt"
	"time"
)

// TimeLayout is the wire format of every timestamp in hits, interactions and
// webhook envelopes: RFC 3339 in UTC with exactly three fractional digits, as
// in "2024-08-30T10:16:12.124Z".
const TimeLayout = "2006-01-02T15:04:05.000Z"

// Time is a time.Time that marshals to JSON in TimeLayout. Unmarshal accepts
// any RFC 3339 time, with or without fractional seconds, and converts it to UTC.
type Time struct {
	time.Time
}

// NewTime returns t in UTC truncated to milliseconds, the precision of the wire format.
func NewTime(t time.Time) Time {
	return Time{t.UTC().Truncate(time.Millisecond)}
}

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(TimeLayout)+2)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, TimeLayout)
	return append(b, '"'), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("invalid timestamp %s: expected an RFC 3339 string", truncate(b, 64))
	}

	parsed, err := time.Parse(time.RFC3339Nano, string(b[1:len(b)-1]))
	if err != nil {
		return fmt.Errorf("invalid timestamp %s: expected RFC 3339 such as %q", truncate(b, 64), TimeLayout)
	}

	t.Time = parsed.UTC()
	return nil
}

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "..."
}
