package enrich

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestGeoLookup(t *testing.T) {
	tests := []struct {
		name      string
		ip        string
		continent string
		country   string
		city      string
		region    string
		latitude  float64
		longitude float64
	}{
		{"ipv4", londonAddress, "EU", "GB", "London", "ENG", 51.5142, -0.0931},
		{"ipv4-mapped ipv6", "::ffff:" + londonAddress, "EU", "GB", "London", "ENG", 51.5142, -0.0931},
		{"ipv6", "2001:218::1", "AS", "JP", "", "", 35.68536, 139.75309},
		{"two subdivisions keep the first", "2.125.160.216", "EU", "GB", "Boxford", "ENG", 51.75, -1.25},
		{"private ipv4", "10.1.2.3", "", "", "", "", 0, 0},
		{"loopback", "127.0.0.1", "", "", "", "", 0, 0},
		{"ipv6 loopback", "::1", "", "", "", "", 0, 0},
		{"carrier-grade nat", "100.64.0.1", "", "", "", "", 0, 0},
		{"documentation range", "192.0.2.10", "", "", "", "", 0, 0},
		{"ipv6 unique local", "fd00::1", "", "", "", "", 0, 0},
		{"link local", "169.254.1.1", "", "", "", "", 0, 0},
		{"not in database", "8.8.8.8", "", "", "", "", 0, 0},
		{"not an address", "example.com", "", "", "", "", 0, 0},
	}

	e := newTestEnricher(t, func(c *Config) { c.GeoIP.City = testCityDB })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := testHit(chromeUA)
			h.IP = tt.ip

			got := e.Enrich(h)

			require.Equal(t, tt.continent, got.Continent, "continent")
			require.Equal(t, tt.country, got.Country, "country")
			require.Equal(t, tt.city, got.City, "city")
			require.Equal(t, tt.region, got.Region, "region")
			require.InDelta(t, tt.latitude, got.Latitude, 1e-4, "latitude")
			require.InDelta(t, tt.longitude, got.Longitude, 1e-4, "longitude")
		})
	}
}

func TestGeoLiteDatabase(t *testing.T) {
	e := newTestEnricher(t, func(c *Config) { c.GeoIP.City = testLiteCity })
	h := testHit(chromeUA)
	h.IP = "89.160.20.112"

	got := e.Enrich(h)

	require.Equal(t, "SE", got.Country)
	require.Equal(t, "Linköping", got.City)
	require.Equal(t, "E", got.Region)
}

func TestGeoCachedRecordMatches(t *testing.T) {
	e := newTestEnricher(t, func(c *Config) { c.GeoIP.City = testCityDB })
	h := testHit(chromeUA)
	h.IP = londonAddress
	first := e.Enrich(h)

	// 81.2.69.143 is in the same network, so it reads the cached record.
	h.IP = "81.2.69.143"
	second := e.Enrich(h)

	require.Equal(t, first.City, second.City)
	require.Equal(t, first.Latitude, second.Latitude)
	require.Equal(t, 1, e.city.current.Load().records.Len())
}

func TestGeoMissingCityPath(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	cfg := DefaultConfig()
	cfg.Registerer = prometheus.NewRegistry()

	e, err := New(cfg, zap.New(core))
	require.NoError(t, err)
	defer e.Close()

	h := testHit(chromeUA)
	h.IP = londonAddress
	got := e.Enrich(h)

	require.Empty(t, got.Country)
	require.Equal(t, 1, logs.FilterMessageSnippet("no GeoIP City database").Len())
}

func TestGeoBadPaths(t *testing.T) {
	tests := []struct {
		name      string
		configure func(*Config)
		key       string
	}{
		{"missing city file", func(c *Config) { c.GeoIP.City = "testdata/nope.mmdb" }, "enrich.geoip.city"},
		{"asn database as city", func(c *Config) { c.GeoIP.City = testASNDB }, "enrich.geoip.city"},
		{"not a database", func(c *Config) { c.GeoIP.City = "geoip.go" }, "enrich.geoip.city"},
		{"missing asn file", func(c *Config) { c.GeoIP.ASN = "testdata/nope.mmdb" }, "enrich.geoip.asn"},
		{"city database as asn", func(c *Config) { c.GeoIP.ASN = testCityDB }, "enrich.geoip.asn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Registerer = prometheus.NewRegistry()
			tt.configure(&cfg)

			_, err := New(cfg, zap.NewNop())

			require.ErrorContains(t, err, tt.key+":")
		})
	}
}

func TestGeoBuildTimeGauge(t *testing.T) {
	reg := prometheus.NewRegistry()
	path := filepath.Join(t.TempDir(), "city.mmdb")
	writeCityDB(t, path, 1_700_000_000, "London")

	newTestEnricher(t, func(c *Config) {
		c.GeoIP.City = path
		c.Registerer = reg
	})

	m, err := newMetrics(reg)
	require.NoError(t, err)
	require.Equal(t, 1_700_000_000.0, metricValue(t, m.buildTime.WithLabelValues("city")))
}

func TestGeoHotReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "city.mmdb")
	writeCityDB(t, path, 1_700_000_000, "London")

	reg := prometheus.NewRegistry()
	e := newTestEnricher(t, func(c *Config) {
		c.GeoIP.City = path
		c.GeoIP.ReloadInterval = 20 * time.Millisecond
		c.Registerer = reg
	})
	h := testHit(chromeUA)
	h.IP = londonAddress
	require.Equal(t, "London", e.Enrich(h).City)

	// Replace the file the way a download script should: write a new file
	// next to it and rename it over the old one.
	next := filepath.Join(dir, "city.mmdb.tmp")
	writeCityDB(t, next, 1_700_086_400, "Paris")
	require.NoError(t, os.Rename(next, path))

	require.Eventually(t, func() bool { return e.Enrich(h).City == "Paris" },
		5*time.Second, 10*time.Millisecond)

	m, err := newMetrics(reg)
	require.NoError(t, err)
	require.Equal(t, 1_700_086_400.0, metricValue(t, m.buildTime.WithLabelValues("city")))
	require.Equal(t, 1.0, metricValue(t, m.reloads.WithLabelValues("city", "ok")))
}

func TestGeoReloadKeepsOldOnBrokenFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "city.mmdb")
	writeCityDB(t, path, 1_700_000_000, "London")

	reg := prometheus.NewRegistry()
	e := newTestEnricher(t, func(c *Config) {
		c.GeoIP.City = path
		c.GeoIP.ReloadInterval = 20 * time.Millisecond
		c.Registerer = reg
	})

	broken := filepath.Join(dir, "broken.tmp")
	require.NoError(t, os.WriteFile(broken, []byte("not a database"), 0o644))
	require.NoError(t, os.Rename(broken, path))

	m, err := newMetrics(reg)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return metricValue(t, m.reloads.WithLabelValues("city", "error")) == 1 },
		5*time.Second, 10*time.Millisecond)

	h := testHit(chromeUA)
	h.IP = londonAddress
	require.Equal(t, "London", e.Enrich(h).City)

	// The same broken file is not retried on every check.
	time.Sleep(100 * time.Millisecond)
	require.Equal(t, 1.0, metricValue(t, m.reloads.WithLabelValues("city", "error")))
}

func TestPublicAddr(t *testing.T) {
	tests := []struct {
		ip     string
		public bool
	}{
		{"81.2.69.142", true},
		{"2001:218::1", true},
		{"10.0.0.1", false},
		{"172.16.0.1", false},
		{"192.168.1.1", false},
		{"127.0.0.1", false},
		{"0.1.2.3", false},
		{"100.100.0.1", false},
		{"198.18.0.1", false},
		{"203.0.113.9", false},
		{"224.0.0.1", false},
		{"255.255.255.255", false},
		{"240.0.0.1", false},
		{"::1", false},
		{"fe80::1", false},
		{"fc00::1", false},
		{"2001:db8::1", false},
		{"ff02::1", false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.public, publicAddr(netip.MustParseAddr(tt.ip)), tt.ip)
	}
}

// writeCityDB writes a City database that puts 81.2.69.0/24 in city, in
// Great Britain.
func writeCityDB(t testing.TB, path string, buildEpoch int64, city string) {
	t.Helper()

	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType: "GeoIP2-City",
		BuildEpoch:   buildEpoch,
		RecordSize:   24,
	})
	require.NoError(t, err)

	_, network, err := net.ParseCIDR("81.2.69.0/24")
	require.NoError(t, err)
	record := mmdbtype.Map{
		"continent": mmdbtype.Map{"code": mmdbtype.String("EU")},
		"country":   mmdbtype.Map{"iso_code": mmdbtype.String("GB")},
		"city":      mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(city)}},
		"location": mmdbtype.Map{
			"latitude":  mmdbtype.Float64(51.5),
			"longitude": mmdbtype.Float64(-0.1),
		},
	}
	require.NoError(t, tree.Insert(network, record))

	f, err := os.Create(path)
	require.NoError(t, err)
	_, err = tree.WriteTo(f)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

// metricValue returns the value of a gauge or counter. It reports a failed
// read with Errorf, not FailNow, because require.Eventually calls it from
// another goroutine.
func metricValue(t testing.TB, m prometheus.Metric) float64 {
	t.Helper()

	var out dto.Metric
	if err := m.Write(&out); err != nil {
		t.Errorf("reading metric: %v", err)
		return 0
	}
	if out.Gauge != nil {
		return out.Gauge.GetValue()
	}
	return out.Counter.GetValue()
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
