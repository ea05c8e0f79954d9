// Command crawlergen derives the crawler pattern list that package enrich
// embeds (crawlers.tsv) from crawler-user-agents.json of the
// monperrus/crawler-user-agents project, which is MIT-licensed.
//
// Each output line is a bot reason, a tab and the pattern as published. The
// reason comes from the pattern's tags. Patterns listed in excluded are left
// out because they match the user agents of real browsers.
//
// Run it through go generate in package enrich.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"sort"
	"strings"
)

// excluded are patterns that match browsers used by people, with the reason.
// The bots they were meant for are still caught by narrower rules in package
// enrich or by its generic rules.
var excluded = map[string]string{
	`Sonic`:             "matches the \"Sonic\" token of the Slack desktop app",
	`Fluid`:             "Fluid is a site-specific browser for macOS",
	`Fetch\/`:           "matches MozacFetch, the HTTP client of Firefox for Android",
	`Viber`:             "matches the Viber in-app browser",
	`Code\/1\.`:         "matches the Electron shell of Visual Studio Code",
	`Trae\/`:            "matches the Electron shell of the Trae editor",
	`AP3A\.240617\.008`: "an Android build number shared by many phones",
	`MetaIAB Facebook`:  "marks Meta's in-app browser, not a fetcher",
	`Sogou`:             "matches Sogou's mobile browser; its spiders say \"spider\"",
}

// reasonByTag maps crawler-user-agents tags to enrich bot reasons.
var reasonByTag = map[string]string{
	"ai-crawler":         "ai-crawler",
	"social-preview":     "link-preview",
	"browser-automation": "headless",
	"http-library":       "http-library",
	"monitoring":         "uptime-monitor",
	"seo":                "seo-tool",
	"search-engine":      "crawler",
	"advertising":        "crawler",
	"archiver":           "crawler",
	"academic":           "crawler",
	"scanner":            "crawler",
	"feed-reader":        "crawler",
}

// reasonOrder ranks reasons from most to least specific; a pattern with
// several tags gets the most specific one.
var reasonOrder = []string{
	"ai-crawler", "link-preview", "headless", "http-library",
	"uptime-monitor", "seo-tool", "crawler",
}

type crawler struct {
	Pattern string   `json:"pattern"`
	Tags    []string `json:"tags"`
}

func main() {
	in := flag.String("in", "", "path of crawler-user-agents.json")
	licence := flag.String("licence", "", "path of the project's LICENSE file")
	out := flag.String("out", "crawlers.tsv", "output path")
	flag.Parse()

	if err := run(*in, *licence, *out); err != nil {
		log.Fatal(err)
	}
}

func run(in, licencePath, out string) error {
	data, err := os.ReadFile(in)
	if err != nil {
		return fmt.Errorf("reading crawler list: %w", err)
	}
	licence, err := os.ReadFile(licencePath)
	if err != nil {
		return fmt.Errorf("reading licence: %w", err)
	}

	var crawlers []crawler
	if err := json.Unmarshal(data, &crawlers); err != nil {
		return fmt.Errorf("decoding %s: %w", in, err)
	}

	var buf bytes.Buffer
	writeHeader(&buf, licence)

	lines := make([]string, 0, len(crawlers))
	seen := make(map[string]bool, len(crawlers))
	for _, c := range crawlers {
		if _, skip := excluded[c.Pattern]; skip || seen[c.Pattern] {
			continue
		}
		if strings.ContainsAny(c.Pattern, "\t\n") {
			return fmt.Errorf("pattern %q contains a tab or newline", c.Pattern)
		}
		seen[c.Pattern] = true
		lines = append(lines, reasonFor(c.Tags)+"\t"+c.Pattern)
	}
	sort.Strings(lines)
	for _, l := range lines {
		buf.WriteString(l)
		buf.WriteByte('\n')
	}

	return os.WriteFile(out, buf.Bytes(), 0o644)
}

func reasonFor(tags []string) string {
	best := len(reasonOrder) - 1
	for _, t := range tags {
		reason, ok := reasonByTag[t]
		if !ok {
			continue
		}
		for i, r := range reasonOrder {
			if r == reason && i < best {
				best = i
			}
		}
	}
	return reasonOrder[best]
}

func writeHeader(buf *bytes.Buffer, licence []byte) {
	buf.WriteString("# Crawler patterns derived from crawler-user-agents.json of the\n")
	buf.WriteString("# monperrus/crawler-user-agents project by enrich/internal/crawlergen.\n")
	buf.WriteString("# Do not edit; change the generator and run go generate.\n")
	buf.WriteString("# Each line is a bot reason, a tab and a Go regular expression.\n")
	buf.WriteString("# Left out because they match browsers used by people:\n")
	keys := make([]string, 0, len(excluded))
	for k := range excluded {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(buf, "#   %s: %s\n", k, excluded[k])
	}
	buf.WriteString("#\n# The list is used under this licence:\n#\n")
	for _, line := range strings.Split(strings.TrimRight(string(licence), "\n"), "\n") {
		buf.WriteString(strings.TrimRight("# "+line, " "))
		buf.WriteByte('\n')
	}
}
