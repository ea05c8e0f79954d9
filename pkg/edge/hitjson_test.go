package edge

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clickstream/clickstream/pkg/event"
)

// fullHit returns a hit with a different value in every field, so a field
// written under the wrong key or in the wrong order changes the encoding.
func fullHit(s string) event.RawHit {
	return event.RawHit{
		ClickID:   "d0UtZqE0BZuBPrJS",
		Timestamp: event.NewTime(time.Date(2024, 8, 30, 10, 16, 12, 124_999_999, time.FixedZone("CEST", 2*3600))),
		Method:    "HEAD",
		IP:        "2001:db8::1",
		UA:        "ua " + s,
		Referer:   "referer " + s,
		URL:       "https://example.com/?q=" + s,
		QR:        true,
		Resource: event.ResourceRef{Type: event.ResourceQRCode, ID: "id " + s, ProjectID: "project " + s,
			Domain: "domain " + s, Key: "key " + s},
	}
}

func requireSameAsMarshal(t *testing.T, h event.RawHit) {
	t.Helper()
	want, err := json.Marshal(h)
	require.NoError(t, err)

	msg := newMessage(&h)
	require.Equal(t, string(want), string(msg.value))
	require.Equal(t, h.Resource.ID, string(msg.key))
}

func TestEncodeHit(t *testing.T) {
	var allBytes strings.Builder
	for c := range 256 {
		allBytes.WriteByte(byte(c))
	}
	tests := []struct{ name, s string }{
		{"empty", ""},
		{"plain", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"},
		{"every byte", allBytes.String()},
		{"html", `<script>alert("x")</script> & more`},
		{"escapes", "tab\there\nnew\rline\bback\fform\\slash\"quote\x00nul\x1fus\x7fdel"},
		{"multibyte", "é ü 日本語 🎉"},
		{"line and paragraph separators", "a\u2028b\u2029c"},
		{"invalid bytes", "caf\xc3 \xff\xfe \x80\x80 end"},
		{"truncated rune at the end", "日本\xe8\xaa"},
		{"encoded surrogate", "\xed\xa0\x80"},
		{"max rune", "\U0010FFFF"},
		{"replacement character", "\uFFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireSameAsMarshal(t, fullHit(tt.s))
		})
	}

	t.Run("zero hit", func(t *testing.T) {
		requireSameAsMarshal(t, event.RawHit{})
	})
}

func TestHitJSONOverhead(t *testing.T) {
	h := event.RawHit{Timestamp: event.NewTime(time.Now())}

	assert.Len(t, appendHitJSON(nil, &h), hitJSONOverhead)
}

func TestNewMessageOneAllocation(t *testing.T) {
	// No escapes, because a string with many escapes may need a second
	// allocation.
	h := fullHit("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)")

	allocs := testing.AllocsPerRun(100, func() { _ = newMessage(&h) })

	assert.Equal(t, 1.0, allocs)
}

func TestNewMessageValueAppendKeepsKey(t *testing.T) {
	h := fullHit("x")
	msg := newMessage(&h)

	_ = append(msg.value, "overwrite"...)

	assert.Equal(t, h.Resource.ID, string(msg.key))
}

func TestEncodeHitRandomStrings(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	// Bytes that exercise every branch: ASCII, escapes, lead and
	// continuation bytes, and the lead bytes of U+2028.
	alphabet := []byte("aZ09 \"\\<>&\t\n\x01\x7f\xc3\xa9\xe2\x80\xa8\xa9\xf0\x9f\x8e\x89\xff")
	for range 2000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		requireSameAsMarshal(t, fullHit(string(b)))
	}
}

func FuzzEncodeHit(f *testing.F) {
	f.Add("plain", false)
	f.Add("<&>\u2028\xff", true)
	f.Fuzz(func(t *testing.T, s string, qr bool) {
		h := fullHit(s)
		h.QR = qr
		requireSameAsMarshal(t, h)
	})
}

func TestAppendTimestamp(t *testing.T) {
	times := []time.Time{
		time.Date(2024, 8, 30, 10, 16, 12, 124_000_000, time.UTC),
		time.Date(2024, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(0, 1, 1, 0, 0, 0, 1_000_000, time.UTC),
		time.Date(7, 2, 3, 4, 5, 6, 7_000_000, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 6, 15, 12, 0, 0, 0, time.UTC),
		{},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		times = append(times, time.Unix(rng.Int64N(1<<36), rng.Int64N(1e9)).UTC())
	}

	for _, ts := range times {
		want := ts.AppendFormat(nil, event.TimeLayout)
		assert.Equal(t, string(want), string(appendTimestamp(nil, ts)), "%v", ts)
	}
}
