package webhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAddressGuardDenied(t *testing.T) {
	denied := []string{
		"0.0.0.0", "0.1.2.3",
		"10.0.0.1", "10.255.255.255",
		"100.64.0.1", "100.127.255.254",
		"127.0.0.1", "127.1.2.3",
		"169.254.1.1", "169.254.169.254",
		"172.16.0.1", "172.31.255.255",
		"192.0.0.8", "192.0.2.10", "192.88.99.1",
		"192.168.1.1",
		"198.18.0.1", "198.19.255.255",
		"198.51.100.7", "203.0.113.9",
		"224.0.0.251", "239.255.255.250",
		"240.0.0.1", "255.255.255.255",
		"::", "::1", "::127.0.0.1",
		"::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:100.64.0.1", "::ffff:192.168.0.1",
		"64:ff9b::7f00:1", "64:ff9b::a00:1", "64:ff9b:1::1",
		"2002:7f00:1::1", "2002:c0a8:101::1",
		"100::1",
		"2001::1", "2001:2::1", "2001:db8::1", "3fff::1",
		"fc00::1", "fd00:ec2::254", "fd12:3456::1",
		"fe80::1", "fe80::1%eth0", "fec0::1",
		"ff02::1",
	}
	g := addressGuard{}
	for _, a := range denied {
		t.Run(a, func(t *testing.T) {
			err := g.check(netip.MustParseAddr(a))
			var refused *RefusedAddressError
			assert.ErrorAs(t, err, &refused)
		})
	}
}

func TestAddressGuardPublic(t *testing.T) {
	public := []string{
		"1.1.1.1", "8.8.8.8", "93.184.215.14", "100.63.255.255", "100.128.0.1",
		"172.15.255.255", "172.32.0.1", "192.169.0.1", "198.17.255.255", "198.20.0.1",
		"223.255.255.255", "63.141.57.109",
		"2606:4700:4700::1111", "2a00:1450:4001::1", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
	}
	g := addressGuard{}
	for _, a := range public {
		t.Run(a, func(t *testing.T) {
			assert.NoError(t, g.check(netip.MustParseAddr(a)))
		})
	}
}

func TestAddressGuardAllowList(t *testing.T) {
	allow, err := parseCIDRs([]string{"127.0.0.0/8", "10.1.0.0/16", "::1", "169.254.0.0/16", "fd00::/8", "::ffff:192.168.0.0/112"})
	require.NoError(t, err)
	g := addressGuard{allow: allow}

	assert.NoError(t, g.check(netip.MustParseAddr("127.0.0.1")))
	assert.NoError(t, g.check(netip.MustParseAddr("::ffff:127.0.0.1")))
	assert.NoError(t, g.check(netip.MustParseAddr("10.1.2.3")))
	assert.NoError(t, g.check(netip.MustParseAddr("::1")))
	assert.NoError(t, g.check(netip.MustParseAddr("192.168.4.4")))
	assert.Error(t, g.check(netip.MustParseAddr("10.2.0.1")), "outside the allowed /16")

	// Metadata endpoints stay denied although the allow-list covers them.
	assert.Error(t, g.check(netip.MustParseAddr("169.254.169.254")))
	assert.Error(t, g.check(netip.MustParseAddr("fd00:ec2::254")))
	assert.NoError(t, g.check(netip.MustParseAddr("169.254.1.1")))
}

func TestParseCIDRsInvalid(t *testing.T) {
	_, err := parseCIDRs([]string{"10.0.0.0/8", "not-a-cidr"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not-a-cidr")
}

// newTestClient returns a client with the test timeouts and allow-list.
func newTestClient(allow ...string) *Client {
	prefixes, err := parseCIDRs(allow)
	if err != nil {
		panic(err)
	}
	return NewClient(ClientConfig{
		ConnectTimeout:      time.Second,
		Timeout:             3 * time.Second,
		Allow:               prefixes,
		UserAgent:           "clickstream-test",
		MaxRetryAfter:       time.Hour,
		MaxIdleConnsPerHost: 4,
	})
}

func TestClientRejectsLoopback(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]

	urls := map[string]string{
		"ip literal":                 srv.URL,
		"name resolving to loopback": "http://localhost:" + port + "/hook",
		"ipv4-mapped literal":        "http://[::ffff:127.0.0.1]:" + port + "/hook",
	}
	c := newTestClient()
	for name, url := range urls {
		t.Run(name, func(t *testing.T) {
			res := c.Send(context.Background(), url, []byte("{}"), nil)
			assert.Equal(t, OutcomeRefused, res.Outcome)
			assert.Equal(t, ClassRefused, res.Class)
			var refused *RefusedAddressError
			assert.ErrorAs(t, res.Err, &refused)
		})
	}
	assert.Zero(t, hits, "no request may reach the server")
}

func TestClientAllowListPasses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]

	c := newTestClient("127.0.0.0/8")
	res := c.Send(context.Background(), srv.URL, []byte("{}"), nil)
	assert.Equal(t, OutcomeSuccess, res.Outcome, "error: %v", res.Err)

	res = c.Send(context.Background(), "http://localhost:"+port+"/", []byte("{}"), nil)
	assert.Equal(t, OutcomeSuccess, res.Outcome, "error: %v", res.Err)
}

func TestAddressPolicyMatchesGuard(t *testing.T) {
	strict, err := NewAddressPolicy(nil)
	require.NoError(t, err)
	loopback, err := NewAddressPolicy([]string{"127.0.0.0/8"})
	require.NoError(t, err)

	var refused *RefusedAddressError
	require.ErrorAs(t, strict.Check(netip.MustParseAddr("127.0.0.1")), &refused)
	require.NoError(t, loopback.Check(netip.MustParseAddr("127.0.0.1")))
	require.ErrorAs(t, loopback.Check(netip.MustParseAddr("169.254.169.254")), &refused)
	require.NoError(t, strict.Check(netip.MustParseAddr("93.184.216.34")))

	_, err = NewAddressPolicy([]string{"not-a-cidr"})
	require.ErrorContains(t, err, "dispatcher.allowCIDRs")
}
