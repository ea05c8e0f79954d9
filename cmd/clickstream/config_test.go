package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/clickstream/clickstream/pkg/config"
)

// TestReferenceConfigMatchesDefaults keeps configs/clickstream.yaml, which
// documents every key with its default, equal to the code's defaults.
// Regenerate it with CLICKSTREAM_TEST_WRITE_REFERENCE=1 after changing a
// default, then restore the comments.
func TestReferenceConfigMatchesDefaults(t *testing.T) {
	path := filepath.Join("..", "..", "configs", "clickstream.yaml")
	if os.Getenv("CLICKSTREAM_TEST_WRITE_REFERENCE") == "1" {
		def := defaultConfig()
		out, err := yaml.Marshal(&def)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, out, 0o644))
	}

	var got Config
	require.NoError(t, config.Load(path, &got, nil))
	want := defaultConfig()
	// Comparing the YAML forms treats an empty list in the file and a nil
	// default alike.
	wantYAML, err := yaml.Marshal(&want)
	require.NoError(t, err)
	gotYAML, err := yaml.Marshal(&got)
	require.NoError(t, err)
	require.Equal(t, string(wantYAML), string(gotYAML), "configs/clickstream.yaml differs from defaultConfig(): regenerate it")
}

func TestLoadConfigErrorsNameTheKey(t *testing.T) {
	cases := map[string]string{
		"worker:\n  batchSize: 0\n":          "worker.batchSize",
		"kafka:\n  brokers: [nohost]\n":      "kafka.brokers[0]",
		"log:\n  level: loud\n":              "log.level",
		"worker:\n  batchsize: 10\n":         "batchsize",
		"clickhouse:\n  database: \"a-b\"\n": "clickhouse.database",
		"worker:\n  visitorHashKey: short\n": "worker.visitorHashKey",
	}
	for body, want := range cases {
		t.Run(strings.Fields(body)[0], func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
			_, err := loadConfig(path)
			require.ErrorContains(t, err, want)
		})
	}
}

func TestLoadConfigMissingRelativePath(t *testing.T) {
	_, err := loadConfig(filepath.Join("no-such-folder", "clickstream.yaml"))
	require.ErrorContains(t, err, "relative to the working directory")
	require.ErrorContains(t, err, "CLICKSTREAM_CONFIG")

	_, err = loadConfig(filepath.Join(t.TempDir(), "missing.yaml"))
	require.ErrorContains(t, err, "no such file")
	require.NotContains(t, err.Error(), "relative to the working directory")
}

func TestShippedConfigsAreValid(t *testing.T) {
	for _, name := range []string{"clickstream.yaml", "dev.yaml"} {
		_, err := loadConfig(filepath.Join("..", "..", "configs", name))
		require.NoError(t, err, name)
	}
}
