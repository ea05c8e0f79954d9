package clickhouse

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clickstream/clickstream/pkg/event"
)

func TestSourceValidate(t *testing.T) {
	cases := []struct {
		name string
		src  Source
		rows int
		want string
	}{
		{"valid full range", Source{Topic: "hits", Partition: 1, FirstOffset: 10, LastOffset: 12}, 3, ""},
		{"valid with gaps", Source{Topic: "hits", FirstOffset: 10, LastOffset: 12, Offsets: []int64{10, 12}}, 2, ""},
		{"no topic", Source{FirstOffset: 0, LastOffset: 0}, 1, "topic is empty"},
		{"negative partition", Source{Topic: "hits", Partition: -1}, 1, "partition -1"},
		{"reversed range", Source{Topic: "hits", FirstOffset: 5, LastOffset: 4}, 1, "offsets 5-4 are not a range"},
		{"negative offset", Source{Topic: "hits", FirstOffset: -1, LastOffset: 4}, 1, "not a range"},
		{"too many rows", Source{Topic: "hits", FirstOffset: 1, LastOffset: 2}, 3, "3 rows cannot come from the 2 offsets"},
		{"offsets count", Source{Topic: "hits", FirstOffset: 1, LastOffset: 5, Offsets: []int64{1}}, 2, "1 offsets for 2 rows"},
		{"offset outside", Source{Topic: "hits", FirstOffset: 1, LastOffset: 5, Offsets: []int64{1, 6}}, 2, "offset 6 of row 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.src.validate(tc.rows)

			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrInvalidBatch)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestSourceOffset(t *testing.T) {
	full := Source{Topic: "hits", FirstOffset: 100, LastOffset: 102}
	gaps := Source{Topic: "hits", FirstOffset: 100, LastOffset: 105}
	listed := Source{Topic: "hits", FirstOffset: 100, LastOffset: 105, Offsets: []int64{101, 104}}

	assert.Equal(t, int64(102), full.offset(2, 3))
	assert.Equal(t, int64(-1), gaps.offset(1, 2), "unknown without Offsets")
	assert.Equal(t, int64(104), listed.offset(1, 2))
}

func TestSourceTokenAndString(t *testing.T) {
	src := Source{Topic: "hits", Partition: 3, FirstOffset: 100, LastOffset: 101}
	rows := func(ids ...string) []event.Enriched {
		out := make([]event.Enriched, len(ids))
		for i, id := range ids {
			out[i].ClickID = id
		}
		return out
	}
	first := rows("click00000000001", "click00000000002")

	assert.True(t, strings.HasPrefix(src.token(first), "hits/3/100-101/"))
	assert.Equal(t, src.token(first), src.token(rows("click00000000001", "click00000000002")), "a replay of the range")
	assert.NotEqual(t, src.token(first), src.token(rows("click00000000003", "click00000000004")),
		"the same offsets of a topic created again")
	assert.Equal(t, "topic hits partition 3 offsets 100-101", src.String())
}

func TestDeadLetterToken(t *testing.T) {
	a := []DeadLetter{{Topic: "hits", Partition: 1, Offset: 5, Reason: "x"}}
	sameRecord := []DeadLetter{{Topic: "hits", Partition: 1, Offset: 5, Reason: "other reason"}}
	otherOffset := []DeadLetter{{Topic: "hits", Partition: 1, Offset: 6}}
	otherBytes := []DeadLetter{{Topic: "hits", Partition: 1, Offset: 5, Raw: []byte("{")}}

	assert.Equal(t, deadLetterToken(a), deadLetterToken(sameRecord))
	assert.NotEqual(t, deadLetterToken(a), deadLetterToken(otherOffset))
	assert.NotEqual(t, deadLetterToken(a), deadLetterToken(otherBytes), "the same offset of a topic created again")
}

func TestDescribeLetters(t *testing.T) {
	samePartition := []DeadLetter{{Topic: "hits", Partition: 2, Offset: 9}, {Topic: "hits", Partition: 2, Offset: 4}}
	mixed := []DeadLetter{{Topic: "hits", Partition: 2, Offset: 9}, {Topic: "hits", Partition: 3, Offset: 4}}

	assert.Equal(t, "topic hits partition 2 offsets 4-9", describeLetters(samePartition))
	assert.Contains(t, describeLetters(mixed), "several partitions")
}
