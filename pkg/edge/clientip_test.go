package edge

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClientIP(t *testing.T) {
	// The load balancer (10.0.0.1) and the ingress (10.0.0.2) are trusted;
	// 203.0.113.50 is the visitor.
	trusted := []string{"10.0.0.0/24", "2001:db8::/32", "192.0.2.9"}

	tests := []struct {
		name    string
		peer    string
		xff     []string
		want    string
		invalid bool
	}{
		{name: "no header", peer: "198.51.100.7:1234", want: "198.51.100.7"},
		{name: "untrusted peer ignores header", peer: "198.51.100.7:1234",
			xff: []string{"203.0.113.50"}, want: "198.51.100.7"},
		{name: "spoofed header from untrusted peer", peer: "198.51.100.7:1234",
			xff: []string{"1.2.3.4, 10.0.0.1"}, want: "198.51.100.7"},
		{name: "one trusted proxy", peer: "10.0.0.2:1234",
			xff: []string{"203.0.113.50"}, want: "203.0.113.50"},
		{name: "two trusted proxies", peer: "10.0.0.2:1234",
			xff: []string{"203.0.113.50, 10.0.0.1"}, want: "203.0.113.50"},
		{name: "client spoofs left of real address", peer: "10.0.0.2:1234",
			xff: []string{"6.6.6.6, 203.0.113.50, 10.0.0.1"}, want: "203.0.113.50"},
		{name: "header split over lines", peer: "10.0.0.2:1234",
			xff: []string{"6.6.6.6", "203.0.113.50", "10.0.0.1"}, want: "203.0.113.50"},
		{name: "trusted peer without header", peer: "10.0.0.2:1234", want: "10.0.0.2"},
		{name: "empty header", peer: "10.0.0.2:1234", xff: []string{""}, want: "10.0.0.2"},
		{name: "all entries trusted", peer: "10.0.0.2:1234",
			xff: []string{"10.0.0.5, 10.0.0.1"}, want: "10.0.0.5"},
		{name: "bare trusted address", peer: "192.0.2.9:1234",
			xff: []string{"203.0.113.50"}, want: "203.0.113.50"},
		{name: "garbage", peer: "10.0.0.2:1234",
			xff: []string{"not-an-ip"}, want: "10.0.0.2", invalid: true},
		{name: "garbage right of client", peer: "10.0.0.2:1234",
			xff: []string{"203.0.113.50, <script>"}, want: "10.0.0.2", invalid: true},
		{name: "garbage left of client is never read", peer: "10.0.0.2:1234",
			xff: []string{"<script>, 203.0.113.50"}, want: "203.0.113.50"},
		{name: "entry with port", peer: "10.0.0.2:1234",
			xff: []string{"203.0.113.50:4711"}, want: "203.0.113.50"},
		{name: "ipv6 peer and client", peer: "[2001:db8::1]:443",
			xff: []string{"2001:db9::77"}, want: "2001:db9::77"},
		{name: "bracketed ipv6 with port", peer: "10.0.0.2:1234",
			xff: []string{"[2001:db9::77]:4711"}, want: "2001:db9::77"},
		{name: "ipv4-mapped peer", peer: "[::ffff:10.0.0.2]:1234",
			xff: []string{"203.0.113.50"}, want: "203.0.113.50"},
		{name: "ipv4-mapped client", peer: "10.0.0.2:1234",
			xff: []string{"::ffff:203.0.113.50"}, want: "203.0.113.50"},
		{name: "spaces and empty entries", peer: "10.0.0.2:1234",
			xff: []string{" 203.0.113.50 ,, 10.0.0.1 "}, want: "203.0.113.50"},
	}

	prefixes, err := parsePrefixes(trusted)
	require.NoError(t, err)
	resolver := clientIPResolver{trusted: prefixes}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, source := resolver.resolve(peerAddr(tt.peer), func() []string { return tt.xff })

			assert.Equal(t, tt.want, addr.String())
			assert.Equal(t, tt.invalid, source == forwardedForInvalid)
		})
	}
}

func TestClientIPInHitAndMetric(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.TrustedProxies = []string{"198.51.100.0/24"} })

	header := http.Header{}
	header.Set("X-Forwarded-For", "203.0.113.50, 198.51.100.1")
	ts.do(http.MethodGet, "/abc", header)
	header.Set("X-Forwarded-For", "garbage")
	ts.do(http.MethodGet, "/abc", header)
	header["X-Forwarded-For"] = []string{"6.6.6.6", "203.0.113.51", "198.51.100.1"}
	ts.do(http.MethodGet, "/abc", header)

	hits := ts.pub.published()
	require.Len(t, hits, 3)
	assert.Equal(t, "203.0.113.50", hits[0].IP)
	assert.Equal(t, "198.51.100.7", hits[1].IP, "an invalid header falls back to the peer")
	assert.Equal(t, "203.0.113.51", hits[2].IP, "header lines are read from the last")
	assert.Equal(t, 1.0, metricValue(t, ts.m.forwardedInvalid))
}

func TestTrustedProxiesValidation(t *testing.T) {
	cfg := DefaultConfig()
	cfg.TrustedProxies = []string{"10.0.0.0/8", "bogus"}

	err := cfg.Validate()

	require.Error(t, err)
	assert.Contains(t, err.Error(), "edge.trustedProxies[1]")
	assert.Contains(t, err.Error(), `"bogus"`)
}
