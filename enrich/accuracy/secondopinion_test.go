package accuracy

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func writeSecondOpinion(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, secondOpinionFile)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	return dir
}

func TestSecondOpinionClasses(t *testing.T) {
	const phone, tablet, unsure = "phone UA", "tablet UA", "Dalvik UA"
	dir := writeSecondOpinion(t, "# header\n"+
		SecondOpinionKey(phone)+"\tPhone\n"+
		SecondOpinionKey(tablet)+"\tTablet\n"+
		SecondOpinionKey(unsure)+"\tMobile\n")
	opinion, err := loadSecondOpinion(dir)
	require.NoError(t, err)

	for ua, want := range map[string]string{phone: "Mobile", tablet: "Tablet", unsure: ""} {
		got, err := opinion.deviceClass(ua)
		require.NoError(t, err)
		require.Equalf(t, want, got, "class of %q", ua)
	}

	_, err = opinion.deviceClass("a user agent the file lacks")
	require.ErrorContains(t, err, "go generate ./enrich/accuracy")
}

func TestSecondOpinionMalformed(t *testing.T) {
	dir := writeSecondOpinion(t, "abc Phone\n")
	_, err := loadSecondOpinion(dir)
	require.ErrorContains(t, err, ":1: want a key of 16 hex digits")
}

// TestSecondOpinionCoversFixtures checks that the file in testdata has a
// class for every Matomo fixture, so that the report cannot fail on a
// stale file only when it is run.
func TestSecondOpinionCoversFixtures(t *testing.T) {
	opinion, err := loadSecondOpinion("../../testdata")
	require.NoError(t, err)
	uas, err := MatomoUserAgents("../../testdata")
	require.NoError(t, err)
	require.NotEmpty(t, uas)
	for _, ua := range uas {
		_, err := opinion.deviceClass(ua)
		require.NoError(t, err)
	}
}
