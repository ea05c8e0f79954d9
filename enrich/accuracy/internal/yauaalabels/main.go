// Command yauaalabels writes the accuracy report's second opinion on the
// Matomo device fixtures: the device class that Yauaa gives each of their
// user agents. It builds the Java program in this folder with Maven, so it
// needs a JDK and Maven Central, and runs it once over all user agents.
//
//	go generate ./enrich/accuracy
package main

import (
	"bytes"
	"cmp"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/clickstream/clickstream/enrich/accuracy"
)

func main() {
	testdata := flag.String("testdata", "testdata", "folder that holds ua/matomo-device-detector; the file is written to ua/yauaa under it")
	project := flag.String("project", "enrich/accuracy/internal/yauaalabels", "folder of this program's pom.xml")
	flag.Parse()

	if err := run(*testdata, *project); err != nil {
		fmt.Fprintln(os.Stderr, "yauaalabels:", err)
		os.Exit(1)
	}
}

type labelled struct {
	key, ua, class string
}

func run(testdata, project string) error {
	uas, err := accuracy.MatomoUserAgents(testdata)
	if err != nil {
		return err
	}
	seen := make(map[string]bool)
	var cases []labelled
	for _, ua := range uas {
		if strings.ContainsAny(ua, "\r\n") {
			return fmt.Errorf("user agent %q spans lines; the Java program reads one per line", ua)
		}
		key := accuracy.SecondOpinionKey(ua)
		if !seen[key] {
			seen[key] = true
			cases = append(cases, labelled{key: key, ua: ua})
		}
	}
	slices.SortFunc(cases, func(a, b labelled) int { return cmp.Compare(a.key, b.key) })

	build := exec.Command("mvn", "-q", "-B", "-f", filepath.Join(project, "pom.xml"), "package", "dependency:copy-dependencies")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building the Java program: %w", err)
	}

	var input strings.Builder
	for _, c := range cases {
		input.WriteString(c.ua)
		input.WriteByte('\n')
	}
	classpath := filepath.Join(project, "target", "classes") + string(os.PathListSeparator) +
		filepath.Join(project, "target", "dependency", "*")
	java := exec.Command("java", "-cp", classpath, "clickstream.yauaa.DeviceClass")
	java.Stdin = strings.NewReader(input.String())
	java.Stderr = os.Stderr
	output, err := java.Output()
	if err != nil {
		return fmt.Errorf("running Yauaa: %w", err)
	}

	lines := strings.Split(strings.TrimSuffix(string(output), "\n"), "\n")
	if len(lines) != len(cases)+1 {
		return fmt.Errorf("Yauaa wrote %d lines for %d user agents and its version", len(lines), len(cases))
	}
	version := lines[0]
	for i := range cases {
		cases[i].class = lines[i+1]
	}

	var out bytes.Buffer
	fmt.Fprintf(&out, "# The device class that Yauaa %s (Apache-2.0) gives each user agent of\n", version)
	out.WriteString("# the Matomo device fixtures in ../matomo-device-detector. Written by\n")
	out.WriteString("# go generate ./enrich/accuracy. Key: the first 16 hex digits of the\n")
	out.WriteString("# SHA-256 of the user agent.\n")
	for _, c := range cases {
		fmt.Fprintf(&out, "%s\t%s\n", c.key, c.class)
	}

	path := filepath.Join(testdata, "ua", "yauaa", "matomo-device-classes.tsv")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "yauaalabels: wrote %d classes to %s\n", len(cases), path)
	return nil
}
