package clickhouse

import "fmt"

// Version is a ClickHouse server version as the native handshake reports it.
type Version struct {
	Major, Minor, Patch int
}

// String returns the version as "major.minor.patch".
func (v Version) String() string {
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
}

// AtLeast reports whether v is major.minor or newer.
func (v Version) AtLeast(major, minor int) bool {
	if v.Major != major {
		return v.Major > major
	}
	return v.Minor >= minor
}

// Feature is a server capability that changes the schema or the inserts.
type Feature int

// The features the schema and the inserts depend on.
const (
	// FeatureDateTime64 is the DateTime64(precision, timezone) type.
	FeatureDateTime64 Feature = iota
	// FeatureLowCardinality is LowCardinality(String) without the
	// allow_experimental_low_cardinality_type setting that 18.16 requires.
	FeatureLowCardinality
	// FeatureCodecs is the CODEC(...) clause of a column.
	FeatureCodecs
	// FeatureTTL is the table TTL clause that deletes expired rows.
	FeatureTTL
	// FeatureSkipIndexes is INDEX ... TYPE bloom_filter without the
	// allow_experimental_data_skipping_indices setting.
	FeatureSkipIndexes
	// FeatureBool is the Bool type.
	FeatureBool
	// FeatureInsertDeduplicationToken is the insert_deduplication_token
	// setting together with the non_replicated_deduplication_window table
	// setting, which lets a plain MergeTree table drop a repeated insert.
	FeatureInsertDeduplicationToken
	// FeatureAddColumnIfNotExists is ALTER TABLE ... ADD COLUMN IF NOT
	// EXISTS. 18.16.1 rejects it with a syntax error.
	FeatureAddColumnIfNotExists
)

// minVersions lists the oldest release this package uses each feature on.
// ClickHouse's changelog for 20.1.2.4 adds DateTime64 and makes data
// skipping indexes production ready. Bool came with 21.12 and
// insert_deduplication_token with 22.2. LowCardinality without the
// experimental setting, codecs and TTL came during 19.x.
//
// NOTE: the exact 19.x releases were not checked and no 19.x server was
// tested, so those three features are also gated at 20.1. So is ADD COLUMN
// IF NOT EXISTS, which 18.16.1 rejects and chDB 26.9 accepts, with no
// release in between checked.
var minVersions = map[Feature]Version{
	FeatureDateTime64:               {Major: 20, Minor: 1},
	FeatureLowCardinality:           {Major: 20, Minor: 1},
	FeatureCodecs:                   {Major: 20, Minor: 1},
	FeatureTTL:                      {Major: 20, Minor: 1},
	FeatureSkipIndexes:              {Major: 20, Minor: 1},
	FeatureBool:                     {Major: 21, Minor: 12},
	FeatureInsertDeduplicationToken: {Major: 22, Minor: 2},
	FeatureAddColumnIfNotExists:     {Major: 20, Minor: 1},
}

// Supports reports whether a server of version v has feature f.
func (v Version) Supports(f Feature) bool {
	min, ok := minVersions[f]
	if !ok {
		return false
	}
	return v.AtLeast(min.Major, min.Minor)
}

// String returns the feature's name as used in logs.
func (f Feature) String() string {
	switch f {
	case FeatureDateTime64:
		return "DateTime64"
	case FeatureLowCardinality:
		return "LowCardinality"
	case FeatureCodecs:
		return "codecs"
	case FeatureTTL:
		return "TTL"
	case FeatureSkipIndexes:
		return "skip indexes"
	case FeatureBool:
		return "Bool"
	case FeatureInsertDeduplicationToken:
		return "insert_deduplication_token"
	case FeatureAddColumnIfNotExists:
		return "ADD COLUMN IF NOT EXISTS"
	}
	return fmt.Sprintf("Feature(%d)", int(f))
}
