package enrich

import (
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/clickstream/clickstream/pkg/event"
)

const (
	iphoneUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
	chromeUA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/127.0.0.0 Safari/537.36"

	testCityDB    = "../testdata/geoip/GeoIP2-City-Test.mmdb"
	testLiteCity  = "../testdata/geoip/GeoLite2-City-Test.mmdb"
	testASNDB     = "../testdata/geoip/GeoLite2-ASN-Test.mmdb"
	londonAddress = "81.2.69.142"
)

// newTestEnricher returns an Enricher with the default configuration,
// changed by configure, that logs to the test and is closed at its end.
func newTestEnricher(t testing.TB, configure func(*Config)) *Enricher {
	t.Helper()

	cfg := DefaultConfig()
	cfg.Registerer = prometheus.NewRegistry()
	if configure != nil {
		configure(&cfg)
	}

	e, err := New(cfg, zaptest.NewLogger(t))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, e.Close()) })
	return e
}

func testHit(ua string) *event.RawHit {
	return &event.RawHit{
		ClickID:   "d0UtZqE0BZuBPrJS",
		Timestamp: event.NewTime(time.Date(2024, 8, 30, 10, 16, 12, 124e6, time.UTC)),
		Method:    "GET",
		IP:        "192.0.2.10",
		UA:        ua,
		URL:       "https://github.com/codeqr-io/codeqr",
		Resource: event.ResourceRef{
			Type:      event.ResourceLink,
			ID:        "cm0faqkyn0001txvfwjfeq7gl",
			ProjectID: "cm022sis60003ikt1syy7kfhl",
			Domain:    "codeqr.link",
			Key:       "79ys3WA",
		},
	}
}

func TestEnrichCopiesHitFields(t *testing.T) {
	e := newTestEnricher(t, nil)
	h := testHit(chromeUA)
	h.QR = true
	h.Referer = "https://www.Example.com:8443/page?q=1"

	got := e.Enrich(h)

	require.Equal(t, h.Timestamp, got.Timestamp)
	require.Equal(t, h.ClickID, got.ClickID)
	require.Equal(t, h.URL, got.URL)
	require.Equal(t, h.IP, got.IP)
	require.Equal(t, h.UA, got.UA)
	require.True(t, got.QR)
	require.Equal(t, h.Resource, got.Resource)
	require.Equal(t, "GET", got.Method)
	require.Equal(t, "example.com", got.Referer)
	require.Equal(t, h.Referer, got.RefererRaw)
	require.False(t, got.Bot)
	require.Nil(t, got.BotReasons)
}

func TestEnrichHeadRequest(t *testing.T) {
	e := newTestEnricher(t, nil)
	h := testHit(iphoneUA)
	h.Method = "HEAD"

	got := e.Enrich(h)

	require.True(t, got.Bot)
	require.Equal(t, []string{ReasonHeadRequest}, got.BotReasons)
	require.Equal(t, "Mobile", got.Device)
	require.Equal(t, "Mobile Safari", got.Browser)
	require.Equal(t, "iOS", got.OS)
}

func TestEnrichEmailScanner(t *testing.T) {
	e := newTestEnricher(t, nil)
	h := testHit(chromeUA)
	h.Referer = "https://nam12.safelinks.protection.outlook.com/?url=https%3A%2F%2Fcodeqr.link%2F79ys3WA"

	got := e.Enrich(h)

	require.True(t, got.Bot)
	require.Equal(t, []string{ReasonEmailScanner}, got.BotReasons)
	require.Equal(t, "nam12.safelinks.protection.outlook.com", got.Referer)
}

func TestEnrichReasonsInOrder(t *testing.T) {
	e := newTestEnricher(t, nil)
	h := testHit("curl/8.4.0")
	h.Method = "HEAD"
	h.Referer = "https://urldefense.com/v3/__https://codeqr.link/79ys3WA__"

	got := e.Enrich(h)

	require.Equal(t, []string{ReasonHTTPLibrary, ReasonHeadRequest, ReasonEmailScanner}, got.BotReasons)
}

func TestEnrichDatacenter(t *testing.T) {
	// 1.0.0.0/24 is AS15169 (Google) in MaxMind's test ASN database.
	const googleAddress = "1.0.0.1"

	t.Run("flag only", func(t *testing.T) {
		e := newTestEnricher(t, func(c *Config) { c.GeoIP.ASN = testASNDB })
		h := testHit(chromeUA)
		h.IP = googleAddress

		got := e.Enrich(h)

		require.Equal(t, uint32(15169), got.ASN)
		require.True(t, got.Datacenter)
		require.False(t, got.Bot)
	})

	t.Run("counts as bot when configured", func(t *testing.T) {
		e := newTestEnricher(t, func(c *Config) {
			c.GeoIP.ASN = testASNDB
			c.Bot.DatacenterIsBot = true
		})
		h := testHit(chromeUA)
		h.IP = googleAddress

		got := e.Enrich(h)

		require.True(t, got.Bot)
		require.Equal(t, []string{ReasonDatacenter}, got.BotReasons)
	})

	t.Run("residential network", func(t *testing.T) {
		// 1.128.0.0/11 is AS1221 (Telstra).
		e := newTestEnricher(t, func(c *Config) { c.GeoIP.ASN = testASNDB })
		h := testHit(chromeUA)
		h.IP = "1.128.0.1"

		got := e.Enrich(h)

		require.Equal(t, uint32(1221), got.ASN)
		require.False(t, got.Datacenter)
	})
}

func TestEnrichConcurrent(t *testing.T) {
	e := newTestEnricher(t, func(c *Config) {
		c.GeoIP.City = testCityDB
		c.CacheSize = 4
		c.GeoIP.CacheSize = 4
	})
	uas := []string{iphoneUA, chromeUA, "curl/8.4.0", "", "Twitterbot/1.0"}
	ips := []string{londonAddress, "2001:218::1", "10.0.0.1", "::ffff:81.2.69.160"}

	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				h := testHit(uas[(i+w)%len(uas)])
				h.IP = ips[i%len(ips)]
				got := e.Enrich(h)
				if h.UA == iphoneUA && got.Device != "Mobile" {
					t.Errorf("device of %q = %q, want Mobile", h.UA, got.Device)
				}
			}
		})
	}
	wg.Wait()
}
