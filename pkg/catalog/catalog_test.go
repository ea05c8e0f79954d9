package catalog

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clickstream/clickstream/pkg/event"
)

func TestLoadFileShippedSeed(t *testing.T) {
	c, err := LoadFile(filepath.Join("..", "..", "configs", "catalog.yaml"))
	require.NoError(t, err)
	require.Equal(t, 5, c.Len())

	r, ok := c.Lookup("CODEQR.link", "79ys3WA")
	require.True(t, ok, "domains compare case-insensitively")
	require.Equal(t, event.ResourceLink, r.Ref.Type)
	require.Equal(t, "https://github.com/codeqr-io/codeqr", r.Destination(time.Now()))

	_, ok = c.Lookup("codeqr.link", "79YS3WA")
	require.False(t, ok, "keys are case-sensitive")

	page, ok := c.Lookup("expol.ink", "p/pHs20VCe8V")
	require.True(t, ok)
	require.Equal(t, event.ResourcePage, page.Ref.Type)
}

func TestDestinationOfExpiredLink(t *testing.T) {
	c, err := LoadFile(filepath.Join("..", "..", "configs", "catalog.yaml"))
	require.NoError(t, err)
	r, ok := c.Lookup("codeqr.link", "summer24")
	require.True(t, ok)

	before := time.Date(2024, 8, 15, 0, 0, 0, 0, time.UTC)
	require.Equal(t, "https://example.com/summer-sale", r.Destination(before))
	require.Equal(t, "https://example.com/sale-over", r.Destination(time.Now()))
}

func TestLoadFileErrorsNameTheEntry(t *testing.T) {
	cases := map[string]string{
		"links:\n  - id: a\n    projectId: p\n    domain: d\n    key: k\n":                                      "links[0]: url of a is missing",
		"links:\n  - id: a\n    projectId: p\n    domain: d\n    key: k\n    url: ftp://x\n":                    "must start with http:// or https://",
		"pages:\n  - id: a\n    projectId: p\n    domain: d\n    key: k\n    url: https://x\n    colour: red\n": "colour",
	}
	for body, want := range cases {
		path := filepath.Join(t.TempDir(), "catalog.yaml")
		require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
		_, err := LoadFile(path)
		require.ErrorContains(t, err, want)
	}
}

func TestPutReplacesThePath(t *testing.T) {
	c := New()
	require.NoError(t, c.PutLink(event.Link{ID: "l1", ProjectID: "p", Domain: "d", Key: "old", URL: "https://a"}))
	require.NoError(t, c.PutLink(event.Link{ID: "l1", ProjectID: "p", Domain: "d", Key: "new", URL: "https://b"}))

	_, ok := c.Lookup("d", "old")
	require.False(t, ok)
	r, ok := c.Lookup("d", "new")
	require.True(t, ok)
	require.Equal(t, "https://b", r.Link.URL)

	c.Delete("l1")
	require.Equal(t, 0, c.Len())
}

func TestPutStoresASCIIDomain(t *testing.T) {
	cases := map[string]string{
		"Bücher.example":        "xn--bcher-kva.example",
		"BÜCHER.EXAMPLE":        "xn--bcher-kva.example",
		"XN--BCHER-KVA.Example": "xn--bcher-kva.example",
		"münchen.example.":      "xn--mnchen-3ya.example",
		"Go.Example.com":        "go.example.com",
		"例え.テスト":                "xn--r8jz45g.xn--zckzah",
	}
	for domain, want := range cases {
		t.Run(domain, func(t *testing.T) {
			c := New()
			link := event.Link{ID: "l1", ProjectID: "p", Domain: domain, Key: "k", URL: "https://a"}
			require.NoError(t, c.PutLink(link))

			r, ok := c.Lookup(want, "k")
			require.True(t, ok, "found by %q", want)
			require.Equal(t, want, r.Ref.Domain)
			require.Equal(t, domain, r.Link.Domain, "the link object keeps the platform's spelling")
		})
	}
}

func TestPutRejectsInvalidDomain(t *testing.T) {
	for _, domain := range []string{"go example.com", "go.example.com:8080", "-go.example.com", "xn--a.example", "a/b.example"} {
		t.Run(domain, func(t *testing.T) {
			c := New()

			err := c.PutQRCode(event.QRCode{ID: "qr1", ProjectID: "p", Domain: domain, Key: "k", URL: "https://a"})

			require.ErrorContains(t, err, "domain of qr1 is not a valid domain name")
			require.ErrorContains(t, err, strconv.Quote(domain))
			require.Zero(t, c.Len())
		})
	}
}
