package event

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// edgeHit is a hit as the edge encodes it: one line, keys in struct order,
// HTML characters escaped.
const edgeHit = `{"clickId":"d0UtZqE0BZuBPrJS","timestamp":"2024-08-30T10:16:12.124Z","method":"GET",` +
	`"ip":"63.141.57.109","ua":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/127.0.0.0 Safari/537.36",` +
	`"referer":"https://www.google.com/search?q=codeqr\u0026hl=en","url":"https://github.com/codeqr-io/codeqr","qr":false,` +
	`"resource":{"type":"link","id":"cm0faqkyn0001txvfwjfeq7gl","projectId":"cm022sis60003ikt1syy7kfhl","domain":"codeqr.link","key":"79ys3WA"}}`

// decodeWithEncodingJSON decodes b as DecodeHit would with the standard
// library's encoding/json, without the validation.
func decodeWithEncodingJSON(b []byte) (RawHit, error) {
	var h RawHit
	err := json.Unmarshal(bytes.TrimSpace(b), &h)
	return h, err
}

// requireSameAsEncodingJSON checks that decodeHitJSON accepts b exactly when
// encoding/json does, and decodes it to the same hit. Only valid UTF-8 is
// compared, since DecodeHit rejects the rest before decoding.
func requireSameAsEncodingJSON(t *testing.T, b []byte) {
	t.Helper()
	b = bytes.TrimSpace(b)
	if !utf8.Valid(b) {
		return
	}
	want, wantErr := decodeWithEncodingJSON(b)
	got, err := decodeHitJSON(b)
	if wantErr != nil {
		require.Error(t, err, "encoding/json rejects %q with %v", b, wantErr)
		return
	}
	require.NoError(t, err, "decoding %q", b)
	require.Equal(t, want, got, "decoding %q", b)
}

func TestDecodeHitJSONMatchesEncodingJSON(t *testing.T) {
	for name, in := range map[string]string{
		"edge form":                  edgeHit,
		"empty object":               `{}`,
		"white space":                " {\n\t\"clickId\" : \"d0UtZqE0BZuBPrJS\" ,\r\n \"qr\" : true , \"resource\" : { } }",
		"escapes":                    `{"ua":"a\"b\\c\/d\be\ff\ng\rh\ti","url":"\u00e9\u2028\u0041x"}`,
		"raw non-ASCII":              `{"ua":"Mozilla ñ 日本 😀","referer":"é"}`,
		"repeated key":               `{"ip":"1.1.1.1","ip":"2.2.2.2","qr":true,"qr":false}`,
		"repeated resource merges":   `{"resource":{"id":"a","key":"k"},"resource":{"id":"b"}}`,
		"unknown key":                `{"clickId":"d0UtZqE0BZuBPrJS","futureField":{"a":[1,2]}}`,
		"key in another case":        `{"clickid":"d0UtZqE0BZuBPrJS"}`,
		"escaped key":                `{"click\u0049d":"d0UtZqE0BZuBPrJS"}`,
		"null string":                `{"ua":null}`,
		"null resource":              `{"resource":null}`,
		"number for string":          `{"ip":1}`,
		"string for bool":            `{"qr":"true"}`,
		"surrogate pair":             `{"ua":"\ud83d\ude00"}`,
		"escaped timestamp":          `{"timestamp":"2024-08-30T10:16:12\u002e124Z"}`,
		"invalid timestamp":          `{"timestamp":"yesterday"}`,
		"timestamp with offset":      `{"timestamp":"2024-08-30T12:16:12.124+02:00"}`,
		"timestamp without millis":   `{"timestamp":"2024-08-30T10:16:12Z"}`,
		"control character":          "{\"ua\":\"a\x01b\"}",
		"invalid escape":             `{"ua":"a\x"}`,
		"short unicode escape":       `{"ua":"a\u12"}`,
		"trailing comma":             `{"ip":"1.1.1.1",}`,
		"missing colon":              `{"ip" "1.1.1.1"}`,
		"missing comma":              `{"ip":"1.1.1.1" "ua":""}`,
		"trailing data":              `{"ip":"1.1.1.1"}x`,
		"two objects":                `{}{}`,
		"unterminated":               `{"ip":"1.1.1.1"`,
		"unterminated string":        `{"ip":"1.1.1.1`,
		"literal with trailing":      `{"qr":truex}`,
		"array":                      `[1,2]`,
		"nested unknown in resource": `{"resource":{"tags":[]}}`,
	} {
		t.Run(name, func(t *testing.T) {
			requireSameAsEncodingJSON(t, []byte(in))
		})
	}
}

// TestDecodeHitJSONOnMutations decodes many random edits of valid hits, as
// a fuzzer would but with a fixed seed, so that every run covers the same
// cases.
func TestDecodeHitJSONOnMutations(t *testing.T) {
	seeds := []string{edgeHit, validHit, `{"ua":"a\"b","resource":{"id":"x"},"resource":{"key":"y"}}`}
	pieces := []string{`"`, `\`, `\u`, `\u0026`, `\ud83d`, `\n`, `{`, `}`, `[`, `]`, `,`, `:`, ` `, "\t", "\x01",
		`null`, `true`, `false`, `1`, `"x":1,`, `"ua":"z",`, `é`, `Z`, `.`, `-`, `9`, `0`}
	rng := rand.New(rand.NewPCG(7, 11))
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
		requireSameAsEncodingJSON(t, b)
	}
}

// BenchmarkDecodeHit decodes a hit in the edge's form with DecodeHit and,
// for comparison, with the standard library's encoding/json and the same
// validation.
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
