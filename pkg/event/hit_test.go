package event

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const validHit = `{"clickId":"d0UtZqE0BZuBPrJS","timestamp":"2024-08-30T10:16:12.124Z","method":"GET",
"ip":"63.141.57.109","ua":"Mozilla/5.0","referer":"https://www.google.com/","url":"https://github.com/codeqr-io/codeqr",
"qr":false,"resource":{"type":"link","id":"cm0faqkyn0001txvfwjfeq7gl","projectId":"cm022sis60003ikt1syy7kfhl",
"domain":"codeqr.link","key":"79ys3WA"},"futureField":{"ignored":true}}`

func TestDecodeHitValid(t *testing.T) {
	h, err := DecodeHit([]byte(validHit))
	require.NoError(t, err)
	require.Equal(t, "d0UtZqE0BZuBPrJS", h.ClickID)
	require.Equal(t, time.Date(2024, 8, 30, 10, 16, 12, 124e6, time.UTC), h.Timestamp.Time)
	require.Equal(t, ResourceLink, h.Resource.Type)
	require.Equal(t, "79ys3WA", h.Resource.Key)
}

func TestDecodeHitErrorsNameTheField(t *testing.T) {
	cases := map[string]struct {
		replace, with, want string
	}{
		"short click id":   {`"d0UtZqE0BZuBPrJS"`, `"abc"`, "clickId must be 16 base62 characters"},
		"bad timestamp":    {`"2024-08-30T10:16:12.124Z"`, `"yesterday"`, "invalid timestamp"},
		"numeric time":     {`"2024-08-30T10:16:12.124Z"`, `1725012972`, "invalid timestamp"},
		"unknown resource": {`"type":"link"`, `"type":"video"`, "resource.type must be link, qrcode or page"},
		"no project":       {`"projectId":"cm022sis60003ikt1syy7kfhl"`, `"projectId":""`, "resource.projectId"},
		"no ip":            {`"ip":"63.141.57.109"`, `"ip":""`, "ip is missing"},
		"bad ip":           {`"ip":"63.141.57.109"`, `"ip":"63.141.57"`, "ip must be an IPv4 or IPv6 address"},
		"no url":           {`"url":"https://github.com/codeqr-io/codeqr"`, `"url":""`, "url must be"},
		"wrong type":       {`"qr":false`, `"qr":"no"`, "decoding JSON"},
		"before 1970":      {`"2024-08-30T10:16:12.124Z"`, `"1900-01-01T00:00:00.000Z"`, "timestamp must be from 1970-01-01T00:00:01Z to 2106-02-07T06:28:15Z"},
		"epoch":            {`"2024-08-30T10:16:12.124Z"`, `"1970-01-01T00:00:00.999Z"`, "timestamp must be from"},
		"CRLF in method":   {`"method":"GET"`, `"method":"G\r\nX"`, "method must be an HTTP method"},
		"after 2106":       {`"2024-08-30T10:16:12.124Z"`, `"9999-12-31T23:59:59.999Z"`, `got "9999-12-31T23:59:59.999Z"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := DecodeHit([]byte(strings.Replace(validHit, tc.replace, tc.with, 1)))
			require.ErrorIs(t, err, ErrInvalidHit)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestDecodeHitTimestampRangeEdges(t *testing.T) {
	for _, ts := range []string{"1970-01-01T00:00:01.000Z", "2106-02-07T06:28:15.999Z"} {
		_, err := DecodeHit([]byte(strings.Replace(validHit, "2024-08-30T10:16:12.124Z", ts, 1)))
		require.NoError(t, err, ts)
	}
	_, err := DecodeHit([]byte(strings.Replace(validHit, "2024-08-30T10:16:12.124Z", "2106-02-07T06:28:16.000Z", 1)))
	require.ErrorIs(t, err, ErrInvalidHit)
}

func TestDecodeHitRejectsNonJSON(t *testing.T) {
	for _, in := range []string{"", "   ", "not json", "{", "\xff\xfe{}", `[1,2]`} {
		_, err := DecodeHit([]byte(in))
		require.ErrorIs(t, err, ErrInvalidHit, "input %q", in)
	}
}

func TestTimeMarshalsMilliseconds(t *testing.T) {
	ts := NewTime(time.Date(2024, 8, 30, 10, 16, 12, 0, time.FixedZone("BRT", -3*3600)))
	b, err := json.Marshal(ts)
	require.NoError(t, err)
	require.Equal(t, `"2024-08-30T13:16:12.000Z"`, string(b))
}

func TestClickIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewClickID()
		require.True(t, ValidClickID(id), id)
		require.False(t, seen[id])
		seen[id] = true
	}
	require.False(t, ValidClickID("d0UtZqE0BZuBPrJ-"))
}

func TestEventIDIsDeterministic(t *testing.T) {
	a := EventID("d0UtZqE0BZuBPrJS", "wh_1", TypeLinkClicked)
	require.Equal(t, a, EventID("d0UtZqE0BZuBPrJS", "wh_1", TypeLinkClicked))
	require.Regexp(t, `^evt_[0-9A-Za-z]{25}$`, a)
	require.NotEqual(t, a, EventID("d0UtZqE0BZuBPrJS", "wh_2", TypeLinkClicked))
	require.NotEqual(t, a, EventID("d0UtZqE0BZuBPrJS", "wh_1", TypeQRCodeScanned))
}

func TestTruncateUTF8KeepsRunesWhole(t *testing.T) {
	require.Equal(t, "ab", TruncateUTF8("abé", 3))
	require.Equal(t, "abé", TruncateUTF8("abé", 4))
	require.Equal(t, "a\uFFFDb", SanitizeUTF8("a\xffb"))
}

func FuzzDecodeHit(f *testing.F) {
	f.Add([]byte(validHit))
	f.Add([]byte(`{"clickId":"0000000000000000","timestamp":"2024-01-01T00:00:00Z"}`))
	f.Add([]byte("\x00\xff"))
	f.Add([]byte(edgeHit))
	f.Add([]byte(`{"ua":"a\"b\\c\/d\u00e9","resource":{"id":"x"},"resource":{"key":"y"}}`))
	f.Add([]byte(`{"timestamp":"2024-02-29T23:59:59.999Z","qr":true}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		requireSameAsEncodingJSON(t, b)
		h, err := DecodeHit(b)
		if err != nil {
			require.True(t, errors.Is(err, ErrInvalidHit), "error %v does not wrap ErrInvalidHit", err)
			return
		}
		require.NoError(t, h.Validate())
		out, err := json.Marshal(&h)
		require.NoError(t, err)
		again, err := DecodeHit(out)
		require.NoError(t, err, "a decoded hit must encode to a valid hit")
		require.Equal(t, h.ClickID, again.ClickID)
	})
}
