package kafka

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidateTopicNames(t *testing.T) {
	cases := []struct {
		name    string
		topic   string
		wantErr string
	}{
		{"default style", "hits.dlq-2_a", ""},
		{"empty", "", "kafka.topics.hits: must not be empty"},
		{"space and bang", "bad topic!", `kafka.topics.hits: must contain only ASCII letters, digits, '.', '_' and '-', got "bad topic!"`},
		{"non-ASCII", "klicks-ü", "must contain only ASCII letters"},
		{"dot", ".", `must not be "." or ".."`},
		{"too long", strings.Repeat("a", maxTopicName+1), "must be at most 200 characters"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Topics.Hits = c.topic
			err := cfg.Validate()
			if c.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.wantErr)
		})
	}
}
