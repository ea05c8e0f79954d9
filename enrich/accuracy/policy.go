package accuracy

import (
	"strings"
)

// excludedCrawlerPatterns are the crawler-user-agents patterns the enricher
// leaves out because they match browsers used by people (see
// enrich/internal/crawlergen). Their example user agents are browsers by
// that policy.
var excludedCrawlerPatterns = map[string]bool{
	`Sonic`:             true,
	`Fluid`:             true,
	`Fetch\/`:           true,
	`Viber`:             true,
	`Code\/1\.`:         true,
	`Trae\/`:            true,
	`AP3A\.240617\.008`: true,
	`MetaIAB Facebook`:  true,
	`Sogou`:             true,
}

// humanByPolicy reports whether a case of a crawler list is a person under
// the enricher's policy.
func humanByPolicy(list string, c labelledUA) bool {
	switch list {
	case "crawler-user-agents instances":
		return excludedCrawlerPatterns[c.Group]
	case "isbot crawlers.yml":
		// Electron shells are windows people use, even in AI editors.
		return strings.Contains(c.UA, "Electron/")
	}
	return false
}

// automationTokens name automated tools that isbot's browsers.yml lists as
// browsers because their user agent otherwise copies one.
var automationTokens = []string{
	"GTmetrix",        // page speed test
	"YLT Chrome",      // front-end quality analyser
	"TSM-turingos",    // content analysis crawler
	"Miniature.io",    // screenshot service
	"Amzn-User",       // Alexa fetching a page to reply to a question
	"vert.x",          // HTTP client library
	"Lucidworks",      // enterprise search crawler
	"PodcastRepublic", // podcast apps poll feeds like feed readers
	// Injection and vulnerability probes.
	"SELECT ", "<?=", "Reaver",
}

// botByPolicy reports whether a case of a human list is a bot under the
// enricher's policy.
func botByPolicy(list string, c labelledUA) bool {
	switch {
	case strings.HasPrefix(list, "matomo"):
		// The fixtures' own client type says these are not browsers.
		return c.Group == "library" || c.Group == "feed reader"
	case list == "isbot browsers.yml":
		if strings.HasPrefix(c.Group, "ZZZ Insignificat bots") {
			return true
		}
		for _, tok := range automationTokens {
			if strings.Contains(c.UA, tok) {
				return true
			}
		}
	}
	return false
}
