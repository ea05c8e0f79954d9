package accuracy

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReportFloors(t *testing.T) {
	var out bytes.Buffer
	res, err := Report(&out, "../../testdata")
	require.NoError(t, err)
	t.Log("\n" + out.String())

	showMisses := os.Getenv("ACCURACY_MISSES") != ""
	for _, row := range res.Rows {
		if showMisses || !row.Pass() {
			for _, m := range row.Misses {
				t.Logf("%s %s: %s", row.Metric, row.List, m)
			}
		}
	}

	for _, row := range res.Rows {
		require.Truef(t, row.Pass(), "%s on %s: %.2f%%, floor %.1f%%", row.Metric, row.List, 100*row.Rate, 100*row.Floor)
		require.GreaterOrEqualf(t, row.AllRate, row.HeldAll, "%s on %s with disputed cases fell below the rate reached before", row.Metric, row.List)
	}
}

func TestReportCounts(t *testing.T) {
	var out bytes.Buffer
	res, err := Report(&out, "../../testdata")
	require.NoError(t, err)

	require.Len(t, res.Rows, 12)
	for _, row := range res.Rows {
		require.Positivef(t, row.Cases, "%s on %s has no cases", row.Metric, row.List)
	}
	require.Contains(t, out.String(), "uap-core Spider devices")
}

func TestReportMissingTestdata(t *testing.T) {
	var out bytes.Buffer
	_, err := Report(&out, t.TempDir())
	require.ErrorContains(t, err, "reading corpus")
}

// TestExcludedPatternsMatchEnricher keeps excludedCrawlerPatterns in step
// with the patterns the crawler list generator leaves out, which it records
// in the header of enrich/crawlers.tsv.
func TestExcludedPatternsMatchEnricher(t *testing.T) {
	data, err := os.ReadFile("../crawlers.tsv")
	require.NoError(t, err)

	var listed []string
	inList := false
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "# Left out"):
			inList = true
		case inList && strings.HasPrefix(line, "#   "):
			pattern, _, _ := strings.Cut(strings.TrimPrefix(line, "#   "), ": ")
			listed = append(listed, pattern)
		case inList:
			inList = false
		}
	}

	var want []string
	for p := range excludedCrawlerPatterns {
		want = append(want, p)
	}
	require.ElementsMatch(t, want, listed)
}
