package enrich

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func TestDefaultConfigValid(t *testing.T) {
	cfg := DefaultConfig()
	require.NoError(t, cfg.Validate())
	require.True(t, cfg.Bot.EmptyUAIsBot)
	require.False(t, cfg.Bot.DatacenterIsBot)
	require.Equal(t, IPKeep, cfg.Privacy.IP)
}

func TestConfigYAML(t *testing.T) {
	const doc = `
geoip:
  city: /var/lib/geoip/GeoLite2-City.mmdb
  asn: /var/lib/geoip/GeoLite2-ASN.mmdb
  reloadInterval: 30s
cacheSize: 5000
bot:
  emptyUAIsBot: false
  datacenterIsBot: true
privacy:
  ip: truncate
  countries: [DE, FR]
`
	cfg := DefaultConfig()
	require.NoError(t, yaml.Unmarshal([]byte(doc), &cfg))
	require.NoError(t, cfg.Validate())

	require.Equal(t, "/var/lib/geoip/GeoLite2-City.mmdb", cfg.GeoIP.City)
	require.Equal(t, "/var/lib/geoip/GeoLite2-ASN.mmdb", cfg.GeoIP.ASN)
	require.Equal(t, 30*time.Second, cfg.GeoIP.ReloadInterval)
	require.Equal(t, 20000, cfg.GeoIP.CacheSize, "omitted keys keep their defaults")
	require.Equal(t, 5000, cfg.CacheSize)
	require.False(t, cfg.Bot.EmptyUAIsBot)
	require.True(t, cfg.Bot.DatacenterIsBot)
	require.Equal(t, IPTruncate, cfg.Privacy.IP)
	require.Equal(t, []string{"DE", "FR"}, cfg.Privacy.Countries)
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name      string
		configure func(*Config)
		message   string
	}{
		{"ip mode", func(c *Config) { c.Privacy.IP = "x" }, `enrich.privacy.ip: must be keep, truncate or drop, got "x"`},
		{"country code", func(c *Config) { c.Privacy.Countries = []string{"DE", "fra"} }, `enrich.privacy.countries[1]: must be an ISO 3166-1 alpha-2 code such as DE, got "fra"`},
		{"cache size", func(c *Config) { c.CacheSize = -1 }, "enrich.cacheSize: must be 0 or more, got -1"},
		{"geo cache size", func(c *Config) { c.GeoIP.CacheSize = -5 }, "enrich.geoip.cacheSize: must be 0 or more, got -5"},
		{"reload interval", func(c *Config) { c.GeoIP.ReloadInterval = 0 }, "enrich.geoip.reloadInterval: must be a positive duration such as 5s, got 0s"},
		{"datacenter without asn", func(c *Config) { c.Bot.DatacenterIsBot = true }, "enrich.bot.datacenterIsBot: needs enrich.geoip.asn to be set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.configure(&cfg)
			require.EqualError(t, cfg.Validate(), tt.message)
		})
	}
}

func TestConfigValidateJoinsErrors(t *testing.T) {
	cfg := DefaultConfig()
	cfg.CacheSize = -1
	cfg.Privacy.IP = "hash"

	err := cfg.Validate()

	require.ErrorContains(t, err, "enrich.cacheSize:")
	require.ErrorContains(t, err, "enrich.privacy.ip:")
}
