package accuracy

//go:generate go run ./internal/yauaalabels -testdata ../../testdata -project internal/yauaalabels

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// matomoClasses are the device fixture files of Matomo, one per class.
var matomoClasses = []string{"desktop", "smartphone", "tablet"}

// secondOpinionFile holds the device class that Yauaa, a user-agent parser
// with its own rules, gives each Matomo device fixture. It is written by
// internal/yauaalabels.
const secondOpinionFile = "ua/yauaa/matomo-device-classes.tsv"

// yauaaDevices maps the Yauaa device classes that name one class to the
// enricher's. Yauaa's "Mobile" means a phone or a tablet, it cannot tell
// which, so it is no opinion on the class, like "Unknown" and "Robot".
var yauaaDevices = map[string]string{
	"Desktop": "Desktop",
	"Phone":   "Mobile",
	"Tablet":  "Tablet",
}

// MatomoUserAgents returns the user agents of the Matomo device fixtures
// under testdataDir, in file order, repeats included.
func MatomoUserAgents(testdataDir string) ([]string, error) {
	var uas []string
	for _, class := range matomoClasses {
		cases, err := loadMatomo(testdataDir, class+".yml")
		if err != nil {
			return nil, err
		}
		for _, c := range cases {
			uas = append(uas, c.UA)
		}
	}
	return uas, nil
}

// SecondOpinionKey is the key of a user agent in the second-opinion file:
// the first 16 hex digits of its SHA-256. The file keeps keys rather than
// the user agents, which are the fixtures' own text.
func SecondOpinionKey(ua string) string {
	sum := sha256.Sum256([]byte(ua))
	return hex.EncodeToString(sum[:8])
}

// secondOpinion maps the key of each Matomo user agent to Yauaa's device
// class.
type secondOpinion map[string]string

func loadSecondOpinion(testdataDir string) (secondOpinion, error) {
	path := filepath.Join(testdataDir, secondOpinionFile)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading corpus: %w", err)
	}
	defer f.Close()

	opinion := make(secondOpinion)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, class, ok := strings.Cut(line, "\t")
		if !ok || len(key) != 16 || class == "" {
			return nil, fmt.Errorf("%s:%d: want a key of 16 hex digits, a tab and a device class, got %q", path, n, line)
		}
		opinion[key] = class
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return opinion, nil
}

// deviceClass returns the enricher's name of the class Yauaa gives ua, or
// "" when Yauaa names none. A user agent missing from the file is an error:
// the fixtures changed and the file must be written again.
func (o secondOpinion) deviceClass(ua string) (string, error) {
	class, ok := o[SecondOpinionKey(ua)]
	if !ok {
		return "", fmt.Errorf("%s has no class for %q: run go generate ./enrich/accuracy", secondOpinionFile, ua)
	}
	return yauaaDevices[class], nil
}
