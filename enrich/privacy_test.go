package enrich

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPrivacyModes(t *testing.T) {
	tests := []struct {
		name string
		mode IPMode
		ip   string
		want string
	}{
		{"keep ipv4", IPKeep, "81.2.69.142", "81.2.69.142"},
		{"keep mapped as received", IPKeep, "::ffff:81.2.69.142", "::ffff:81.2.69.142"},
		{"truncate ipv4", IPTruncate, "81.2.69.142", "81.2.69.0"},
		{"truncate mapped as ipv4", IPTruncate, "::ffff:81.2.69.142", "81.2.69.0"},
		{"truncate ipv6", IPTruncate, "2001:218:1234:5678::1", "2001:218:1234::"},
		{"truncate unparsable drops it", IPTruncate, "unknown", ""},
		{"drop", IPDrop, "81.2.69.142", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnricher(t, func(c *Config) { c.Privacy.IP = tt.mode })
			h := testHit(chromeUA)
			h.IP = tt.ip

			require.Equal(t, tt.want, e.Enrich(h).IP)
		})
	}
}

func TestPrivacyCountries(t *testing.T) {
	e := newTestEnricher(t, func(c *Config) {
		c.GeoIP.City = testCityDB
		c.Privacy.IP = IPTruncate
		c.Privacy.Countries = []string{"GB"}
	})

	london := testHit(chromeUA)
	london.IP = londonAddress
	tokyo := testHit(chromeUA)
	tokyo.IP = "2001:218::1"
	private := testHit(chromeUA)
	private.IP = "10.1.2.3"

	require.Equal(t, "81.2.69.0", e.Enrich(london).IP)
	require.Equal(t, "2001:218::1", e.Enrich(tokyo).IP)
	require.Equal(t, "10.1.2.3", e.Enrich(private).IP, "unknown country is not in the list")

	// Geolocation uses the full address even when the stored one is cut.
	require.Equal(t, "London", e.Enrich(london).City)
}
