package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type inner struct {
	City    string        `yaml:"city"`
	Timeout time.Duration `yaml:"timeout"`
}

type sample struct {
	Brokers []string `yaml:"brokers"`
	Size    int      `yaml:"size"`
	On      bool     `yaml:"on"`
	GeoIP   inner    `yaml:"geoip"`
	Skipped string
}

func TestDecodeKeepsDefaultsAndRejectsUnknownKeys(t *testing.T) {
	s := sample{Size: 7, GeoIP: inner{Timeout: time.Second}}
	require.NoError(t, Decode([]byte("geoip:\n  city: /db.mmdb\n"), &s))
	require.Equal(t, 7, s.Size)
	require.Equal(t, "/db.mmdb", s.GeoIP.City)
	require.Equal(t, time.Second, s.GeoIP.Timeout)

	err := Decode([]byte("geoip:\n  citty: x\n"), &s)
	require.ErrorContains(t, err, "citty")
}

func TestApplyEnvOverrides(t *testing.T) {
	s := sample{Size: 7}
	err := ApplyEnv(&s, []string{
		"CLICKSTREAM_BROKERS=a:1, b:2",
		"CLICKSTREAM_SIZE=12",
		"CLICKSTREAM_ON=true",
		"CLICKSTREAM_GEOIP_TIMEOUT=250ms",
		"CLICKSTREAM_TEST_ANYTHING=ignored",
		"CLICKSTREAM_CONFIG=/etc/clickstream.yaml",
		"PATH=/bin",
	})
	require.NoError(t, err)
	require.Equal(t, []string{"a:1", "b:2"}, s.Brokers)
	require.Equal(t, 12, s.Size)
	require.True(t, s.On)
	require.Equal(t, 250*time.Millisecond, s.GeoIP.Timeout)
}

func TestApplyEnvErrorsNameTheVariable(t *testing.T) {
	cases := map[string]string{
		"CLICKSTREAM_SIZE=twelve":        "CLICKSTREAM_SIZE: invalid integer",
		"CLICKSTREAM_GEOIP_TIMEOUT=soon": "CLICKSTREAM_GEOIP_TIMEOUT: invalid duration",
		"CLICKSTREAM_BROKER=a:1":         "CLICKSTREAM_BROKER: no configuration key",
	}
	for kv, want := range cases {
		t.Run(kv, func(t *testing.T) {
			var s sample
			require.ErrorContains(t, ApplyEnv(&s, []string{kv}), want)
		})
	}
}
