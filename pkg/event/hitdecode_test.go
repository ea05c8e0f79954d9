package event

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// edgeHit is a hit as the edge encodes it: one line, keys in struct order,
// HTML characters escaped.
const edgeHit = `{"clickId":"d0UtZqE0BZuBPrJS","timestamp":"2024-08-30T10:16:12.124Z","method":"GET",` +
	`"ip":"63.141.57.109","ua":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/127.0.0.0 Safari/537.36",` +
	`"referer":"https://www.google.com/search?q=codeqr\u0026hl=en","url":"https://github.com/codeqr-io/codeqr","qr":false,` +
	`"resource":{"type":"link","id":"cm0faqkyn0001txvfwjfeq7gl","projectId":"cm022sis60003ikt1syy7kfhl","domain":"codeqr.link","key":"79ys3WA"}}`

// decodeWithEncodingJSON is what DecodeHit did before it had a decoder of
// its own, without the validation.
func decodeWithEncodingJSON(b []byte) (RawHit, error) {
	var h RawHit
	err := json.Unmarshal(bytes.TrimSpace(b), &h)
	return h, err
}

// requireSameAsEncodingJSON checks that decodeHitFast accepts in exactly
// when fast is true, and that encoding/json decodes what it accepts to the
// same hit.
func requireSameAsEncodingJSON(t *testing.T, in string, fast bool) {
	t.Helper()
	var got RawHit
	ok := decodeHitFast(bytes.TrimSpace([]byte(in)), &got)
	require.Equal(t, fast, ok, "decodeHitFast accepting %s", in)
	if !ok {
		return
	}
	want, err := decodeWithEncodingJSON([]byte(in))
	require.NoError(t, err, "encoding/json rejects what decodeHitFast accepted: %s", in)
	require.Equal(t, want, got, "decoding %s", in)
}

func TestDecodeHitFastMatchesEncodingJSON(t *testing.T) {
	cases := map[string]struct {
		in   string
		fast bool
	}{
		"edge form":                  {edgeHit, true},
		"empty object":               {`{}`, true},
		"white space":                {" {\n\t\"clickId\" : \"d0UtZqE0BZuBPrJS\" ,\r\n \"qr\" : true , \"resource\" : { } }", true},
		"escapes":                    {`{"ua":"a\"b\\c\/d\be\ff\ng\rh\ti","url":"\u00e9\u2028\u0041x"}`, true},
		"raw non-ASCII":              {`{"ua":"Mozilla ñ 日本 😀","referer":"é"}`, true},
		"repeated key":               {`{"ip":"1.1.1.1","ip":"2.2.2.2","qr":true,"qr":false}`, true},
		"repeated resource merges":   {`{"resource":{"id":"a","key":"k"},"resource":{"id":"b"}}`, true},
		"unknown resource type":      {`{"resource":{"type":"video"}}`, true},
		"escaped resource type":      {`{"resource":{"type":"lin\u006b"}}`, true},
		"escaped resource id":        {`{"resource":{"id":"a\u0026b"}}`, true},
		"empty strings":              {`{"clickId":"","ua":"","resource":{"type":"","id":""}}`, true},
		"unknown key":                {`{"clickId":"d0UtZqE0BZuBPrJS","futureField":1}`, false},
		"key in another case":        {`{"clickid":"d0UtZqE0BZuBPrJS"}`, false},
		"escaped key":                {`{"click\u0049d":"d0UtZqE0BZuBPrJS"}`, false},
		"null string":                {`{"ua":null}`, false},
		"null resource":              {`{"resource":null}`, false},
		"number for string":          {`{"ip":1}`, false},
		"string for bool":            {`{"qr":"true"}`, false},
		"surrogate pair":             {`{"ua":"\ud83d\ude00"}`, false},
		"lone surrogate":             {`{"ua":"\ud83d"}`, false},
		"escaped timestamp":          {`{"timestamp":"2024-08-30T10:16:12\u002e124Z"}`, false},
		"invalid timestamp":          {`{"timestamp":"yesterday"}`, false},
		"timestamp with offset":      {`{"timestamp":"2024-08-30T12:16:12.124+02:00"}`, true},
		"timestamp without millis":   {`{"timestamp":"2024-08-30T10:16:12Z"}`, true},
		"control character":          {"{\"ua\":\"a\x01b\"}", false},
		"invalid escape":             {`{"ua":"a\x"}`, false},
		"short unicode escape":       {`{"ua":"a\u12"}`, false},
		"trailing comma":             {`{"ip":"1.1.1.1",}`, false},
		"missing colon":              {`{"ip" "1.1.1.1"}`, false},
		"missing comma":              {`{"ip":"1.1.1.1" "ua":""}`, false},
		"trailing data":              {`{"ip":"1.1.1.1"}x`, false},
		"two objects":                {`{}{}`, false},
		"unterminated":               {`{"ip":"1.1.1.1"`, false},
		"unterminated string":        {`{"ip":"1.1.1.1`, false},
		"literal with trailing":      {`{"qr":truex}`, false},
		"array":                      {`[1,2]`, false},
		"nested unknown in resource": {`{"resource":{"tags":[]}}`, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			requireSameAsEncodingJSON(t, tc.in, tc.fast)
		})
	}
}

func TestParseTimeLayoutMatchesTimeParse(t *testing.T) {
	for _, in := range []string{
		"2024-08-30T10:16:12.124Z", "2024-02-29T23:59:59.999Z", "0000-01-01T00:00:00.000Z",
		"9999-12-31T23:59:59.999Z", "1970-01-01T00:00:00.000Z", "2023-02-29T10:16:12.124Z",
		"2024-04-31T10:16:12.124Z", "2024-13-01T10:16:12.124Z", "2024-00-01T10:16:12.124Z",
		"2024-08-00T10:16:12.124Z", "2024-08-30T24:16:12.124Z", "2024-08-30T10:60:12.124Z",
		"2024-08-30T10:16:60.124Z", "2024-08-30T10:16:12.12xZ", "2024-08-30 10:16:12.124Z",
		"2024-08-30T10:16:12.124z", "2024-08-30T10:16:12,124Z", "+024-08-30T10:16:12.124Z",
	} {
		want, err := time.Parse(time.RFC3339Nano, in)
		got, ok := parseTimeLayout([]byte(in))
		if !ok {
			continue
		}
		require.NoError(t, err, "parseTimeLayout accepted %s", in)
		require.Equal(t, want.UTC(), got, "parsing %s", in)
	}
}

func TestDecodeHitFastOwnsItsStrings(t *testing.T) {
	in := []byte(edgeHit)
	var h RawHit
	require.True(t, decodeHitFast(in, &h))
	for i := range in {
		in[i] = 'x'
	}
	require.Equal(t, "d0UtZqE0BZuBPrJS", h.ClickID)
	require.Equal(t, "cm0faqkyn0001txvfwjfeq7gl", h.Resource.ID)
	require.Equal(t, "https://www.google.com/search?q=codeqr&hl=en", h.Referer)
	require.True(t, strings.HasPrefix(h.UA, "Mozilla/5.0"))
}

func TestDecodeHitErrorsMatchEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`{"clickId":"d0UtZqE0BZuBPrJS","qr":"no"}`,
		`{"timestamp":"yesterday"}`,
		`{"ip":"1.1.1.1",}`,
		`{"ua":"\ud83d"}`,
	} {
		_, want := decodeWithEncodingJSON([]byte(in))
		_, err := DecodeHit([]byte(in))
		if want != nil {
			require.EqualError(t, err, "invalid hit: decoding JSON: "+want.Error(), "input %s", in)
		} else {
			require.Error(t, err, "input %s", in)
			require.NotContains(t, err.Error(), "decoding JSON", "input %s", in)
		}
	}
}

// TestDecodeHitFastOnMutations decodes many random edits of valid hits, as a
// fuzzer would but with a fixed seed, so that every run covers the same
// cases.
func TestDecodeHitFastOnMutations(t *testing.T) {
	seeds := []string{edgeHit, validHit, `{"ua":"a\"b","resource":{"id":"x"},"resource":{"key":"y"}}`}
	pieces := []string{`"`, `\`, `\u`, `\u0026`, `\ud83d`, `\n`, `{`, `}`, `[`, `]`, `,`, `:`, ` `, "\t", "\x01",
		`null`, `true`, `false`, `1`, `"x":1,`, `"ua":"z",`, `é`, `Z`, `.`, `-`, `9`, `0`}
	rng := rand.New(rand.NewPCG(7, 11))
	accepted := 0
	for range 50000 {
		b := []byte(seeds[rng.IntN(len(seeds))])
		for range 1 + rng.IntN(3) {
			at := rng.IntN(len(b) + 1)
			switch rng.IntN(3) {
			case 0: // insert
				b = slices.Insert(b, at, []byte(pieces[rng.IntN(len(pieces))])...)
			case 1: // delete
				if at < len(b) {
					b = slices.Delete(b, at, min(len(b), at+1+rng.IntN(4)))
				}
			case 2: // replace
				if at < len(b) {
					p := pieces[rng.IntN(len(pieces))]
					b = slices.Replace(b, at, min(len(b), at+len(p)), []byte(p)...)
				}
			}
		}
		var h RawHit
		if utf8.Valid(b) && decodeHitFast(bytes.TrimSpace(b), &h) {
			accepted++
		}
		requireFastSameAsEncodingJSON(t, b)
	}
	require.Greater(t, accepted, 1000, "edits decodeHitFast accepted")
}

// requireFastSameAsEncodingJSON checks that encoding/json decodes whatever
// decodeHitFast accepts to the same hit. FuzzDecodeHit calls it.
func requireFastSameAsEncodingJSON(t *testing.T, b []byte) {
	t.Helper()
	b = bytes.TrimSpace(b)
	if !utf8.Valid(b) {
		return
	}
	var got RawHit
	if !decodeHitFast(b, &got) {
		return
	}
	want, err := decodeWithEncodingJSON(b)
	require.NoError(t, err, "encoding/json rejects what decodeHitFast accepted: %q", b)
	require.Equal(t, want, got, "decoding %q", b)
}

// BenchmarkDecodeHit decodes a hit in the edge's form with DecodeHit and,
// for comparison, with encoding/json and the same validation.
func BenchmarkDecodeHit(b *testing.B) {
	in := []byte(edgeHit)
	b.Run("DecodeHit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeHit(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h, err := decodeWithEncodingJSON(in)
			if err != nil {
				b.Fatal(err)
			}
			if err := h.Validate(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
