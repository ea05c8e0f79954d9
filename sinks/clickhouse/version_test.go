package clickhouse

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestVersionSupports(t *testing.T) {
	cases := []struct {
		version Version
		feature Feature
		want    bool
	}{
		{Version{18, 16, 1}, FeatureDateTime64, false},
		{Version{18, 16, 1}, FeatureLowCardinality, false},
		{Version{18, 16, 1}, FeatureTTL, false},
		{Version{19, 17, 0}, FeatureDateTime64, false},
		{Version{20, 1, 2}, FeatureDateTime64, true},
		{Version{20, 1, 2}, FeatureSkipIndexes, true},
		{Version{21, 11, 0}, FeatureBool, false},
		{Version{21, 12, 0}, FeatureBool, true},
		{Version{22, 1, 0}, FeatureInsertDeduplicationToken, false},
		{Version{22, 2, 0}, FeatureInsertDeduplicationToken, true},
		{Version{24, 8, 4}, FeatureInsertDeduplicationToken, true},
		{Version{24, 8, 4}, FeatureCodecs, true},
		{Version{24, 8, 4}, Feature(99), false},
	}
	for _, tc := range cases {
		t.Run(tc.version.String()+"/"+tc.feature.String(), func(t *testing.T) {
			assert.Equal(t, tc.want, tc.version.Supports(tc.feature))
		})
	}
}

func TestVersionAtLeast(t *testing.T) {
	v := Version{Major: 22, Minor: 2, Patch: 3}

	assert.True(t, v.AtLeast(22, 2))
	assert.True(t, v.AtLeast(21, 12))
	assert.False(t, v.AtLeast(22, 3))
	assert.False(t, v.AtLeast(23, 1))
}

func TestVersionString(t *testing.T) {
	assert.Equal(t, "18.16.1", Version{18, 16, 1}.String())
}
