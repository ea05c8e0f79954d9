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

type decodeSample struct {
	Workers int           `yaml:"workers"`
	Name    string        `yaml:"name"`
	Tags    []string      `yaml:"tags"`
	Worker  decodeWorker  `yaml:"worker"`
	Limits  []decodeLimit `yaml:"limits"`
}

type decodeWorker struct {
	FlushInterval time.Duration `yaml:"flushInterval"`
	BatchSize     int           `yaml:"batchSize"`
	Enabled       bool          `yaml:"enabled"`
	Ratio         float64       `yaml:"ratio"`
}

type decodeLimit struct {
	Rate uint `yaml:"rate"`
}

func TestDecodeErrorsNameTheKey(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"bad duration", "worker:\n  flushInterval: 5 seconds\n",
			`worker.flushInterval: invalid duration "5 seconds", expected Go syntax such as 500ms or 1h (line 2)`},
		{"integer for duration", "worker:\n  flushInterval: 5\n",
			`worker.flushInterval: invalid duration "5", expected Go syntax such as 500ms or 1h (line 2)`},
		{"bad integer", "worker:\n  batchSize: ten\n", `worker.batchSize: invalid integer "ten" (line 2)`},
		{"bad top-level integer", "workers: many\n", `workers: invalid integer "many" (line 1)`},
		{"bad boolean", "worker:\n  enabled: maybe\n", `worker.enabled: invalid boolean "maybe", expected true or false (line 2)`},
		{"bad number", "worker:\n  ratio: half\n", `worker.ratio: invalid number "half" (line 2)`},
		{"unknown top-level key", "name: a\nnmae: b\n", "nmae: unknown key (line 2)"},
		{"unknown nested key", "worker:\n  batchSize: 1\n  flushIntervall: 1s\n", "worker.flushIntervall: unknown key (line 3)"},
		{"unknown key in list item", "limits:\n  - rate: 1\n  - rat: 2\n", "limits[1].rat: unknown key (line 3)"},
		{"list for scalar", "name: [a, b]\n", "name: expected a single value, got a list (line 1)"},
		{"mapping for scalar", "name:\n  first: a\n", "name: expected a single value, got a mapping (line 2)"},
		{"scalar for list", "tags: a\n", `tags: expected a list, got "a" (line 1)`},
		{"scalar for section", "worker: fast\n", `worker: expected a value of type config.decodeWorker, got "fast" (line 1)`},
		{"bad list item", "limits:\n  - rate: -1\n", `limits[0].rate: invalid unsigned integer "-1" (line 2)`},
		{"duplicate key", "name: a\nname: b\n", "name: duplicate key, first set at line 1 (line 2)"},
		{"scalar document", "hello\n", `configuration: expected a value of type config.decodeSample, got "hello" (line 1)`},
		{"long value", "worker:\n  flushInterval: every five seconds\n",
			`worker.flushInterval: invalid duration "every five seconds", expected Go syntax such as 500ms or 1h (line 2)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var s decodeSample
			err := Decode([]byte(tc.yaml), &s)
			require.EqualError(t, err, tc.want)
		})
	}
}

func TestDecodeErrorsSameLineFlowMapping(t *testing.T) {
	var s decodeSample
	err := Decode([]byte("worker: {batchSize: x, flushInterval: x, enabled: x}\n"), &s)
	require.EqualError(t, err, `worker.batchSize: invalid integer "x" (line 1)`+"\n"+
		`worker.flushInterval: invalid duration "x", expected Go syntax such as 500ms or 1h (line 1)`+"\n"+
		`worker.enabled: invalid boolean "x", expected true or false (line 1)`)
}

func TestDecodeErrorIsKeyError(t *testing.T) {
	var s decodeSample
	err := Decode([]byte("worker:\n  batchSize: ten\n"), &s)
	var keyErr *KeyError
	require.ErrorAs(t, err, &keyErr)
	require.Equal(t, "worker.batchSize", keyErr.Key)
	require.Equal(t, 2, keyErr.Line)
}

func TestDecodeKeepsValidFieldsOnError(t *testing.T) {
	s := decodeSample{Workers: 3}
	err := Decode([]byte("name: a\nworker:\n  batchSize: ten\n"), &s)
	require.Error(t, err)
	require.Equal(t, "a", s.Name)
	require.Equal(t, 3, s.Workers)
}

func TestDecodeSyntaxErrorNamesLine(t *testing.T) {
	var s decodeSample
	err := Decode([]byte("name: a\n  workers: 1\n"), &s)
	require.ErrorContains(t, err, "line 2")
}
