package enrich

import (
	"fmt"
	"regexp"
	"strings"
)

// Bot reasons, the values of Enriched.BotReasons.
const (
	ReasonCrawler       = "crawler"
	ReasonAICrawler     = "ai-crawler"
	ReasonLinkPreview   = "link-preview"
	ReasonSEOTool       = "seo-tool"
	ReasonUptimeMonitor = "uptime-monitor"
	ReasonHTTPLibrary   = "http-library"
	ReasonHeadless      = "headless"
	ReasonHeadRequest   = "head-request"
	ReasonEmailScanner  = "email-scanner"
	ReasonEmptyUA       = "empty-ua"
	ReasonDatacenter    = "datacenter"
)

// uaReasonRank orders the reasons a user agent can produce from most to
// least specific. A user agent gets one reason, the most specific of the
// rules it matches: "Mozilla/5.0 (compatible; GPTBot/1.2; +https://openai.com/gptbot)"
// matches both the AI crawler list and the generic "bot" rule and is an
// "ai-crawler".
var uaReasonRank = map[string]int{
	ReasonHeadless:      0,
	ReasonAICrawler:     1,
	ReasonLinkPreview:   2,
	ReasonHTTPLibrary:   3,
	ReasonUptimeMonitor: 4,
	ReasonSEOTool:       5,
	ReasonCrawler:       6,
}

// botRule flags user agents that contain one of its keywords, ignoring case.
type botRule struct {
	reason   string
	keywords []string
	// re, when set, must also match the user agent.
	re *regexp.Regexp
	// accept, when set, must also return true for the user agent.
	accept func(ua string) bool
	// source is the pattern or keyword the rule came from, for tests.
	source string
}

func keywordRule(reason string, keywords ...string) botRule {
	return botRule{reason: reason, keywords: keywords, source: keywords[0]}
}

// wordRule is a keywordRule whose keywords only count at the start of a
// word, so "scanner" flags "jsjcw_scanner" but not the CamScanner app.
func wordRule(reason string, keywords ...string) botRule {
	r := keywordRule(reason, keywords...)
	r.accept = func(ua string) bool {
		for _, kw := range keywords {
			if containsWord(ua, kw) {
				return true
			}
		}
		return false
	}
	return r
}

// curatedBotRules cover the clients the crawler-user-agents list misses or
// classifies too broadly, and generic words that only automated clients put
// in their user agent. All keywords are lower case.
var curatedBotRules = []botRule{
	// Link previews of chat apps and social networks. iMessage sends
	// "facebookexternalhit/1.1 Facebot Twitterbot/1.0", caught by both.
	keywordRule(ReasonLinkPreview, "slackbot", "slack-imgproxy", "whatsapp/", "telegrambot",
		"discordbot", "linkedinbot", "twitterbot", "facebookexternalhit", "facebot",
		"skypeuripreview", "google web preview", "googlemessages", "snap url preview",
		"redditbot", "embedly", "iframely", "vkshare", "bitlybot", "xing-contenttabreceiver",
		"mattermost-bot", "zulipurlpreview", "cardyb", "kakaotalk-scrap", "linkexpander",
		"bingpreview", "discourse forum onebox", "nuzzel", "whatsapp"),
	// Fediverse servers fetch a link to build the preview card of a post.
	// Mastodon sends "http.rb/5.1.1 (Mastodon/4.2.0; +https://mastodon.social/)".
	keywordRule(ReasonLinkPreview, "(mastodon/", "pleroma", "akkoma", "misskey/", "gotosocial",
		"friendica", "pixelfed", "lemmy/", "firefish", "sharkey/", "iceshrimp", "calckey",
		"peertube", "bookwyrm", "hubzilla", "takahe/", "mobilizon", "writefreely"),

	keywordRule(ReasonHeadless, "headlesschrome", "headless", "phantomjs", "puppeteer",
		"playwright", "selenium", "webdriver", "cypress", "slimerjs", "htmlunit", "jsdom",
		"nightmarejs"),

	keywordRule(ReasonAICrawler, "gptbot", "chatgpt-user", "oai-searchbot", "claudebot",
		"claude-web", "claude-user", "claude-searchbot", "anthropic-ai", "perplexitybot",
		"perplexity-user", "ccbot", "google-extended", "googleother", "bytespider",
		"amazonbot", "amzn-user", "amzn-searchbot", "applebot-extended", "meta-externalagent",
		"meta-externalfetcher", "facebookbot", "diffbot", "cohere-ai", "youbot", "ai2bot",
		"mistralai-user", "duckassistbot", "timpibot", "imagesiftbot", "claude-code"),
	// AI editors: the bare client of the agent is a bot, the Electron
	// window a person uses is not.
	{reason: ReasonAICrawler, keywords: []string{"cursor/"}, source: "cursor/",
		accept: func(ua string) bool { return !containsFold(ua, "electron/") }},

	keywordRule(ReasonHTTPLibrary, "curl/", "libcurl", "wget/", "python-requests", "python-urllib",
		"python-httpx", "python/", "aiohttp", "httpx/", "urllib3", "go-http-client",
		"go package http", "okhttp", "axios/", "node-fetch", "undici", "got (", "java/",
		"java-http-client", "apache-httpclient", "commons-httpclient", "libwww-perl", "lwp-",
		"lwp::", "php/", "guzzlehttp", "ruby", "faraday", "rest-client", "httpie",
		"postmanruntime", "insomnia/", "powershell", "winhttp", "wininet", "dart:io",
		"reqwest/", "hyper/", "grpc-", "http-kit", "scalaj-http", "restsharp", "mechanize",
		"colly", "superagent", "needle/", "request-promise", "httplib2", "typhoeus",
		"excon/", "deno/", "bun/", "vert.x", "cpp-httplib", "lua-resty-http", "aria2",
		"fasthttp", "go-resty", "microsoft-cryptoapi", "apache-cxf", "jersey/", "pycurl",
		"http.rb/", "node/", "nodejs", "httpclient"),

	keywordRule(ReasonUptimeMonitor, "uptimerobot", "pingdom", "statuscake", "site24x7",
		"newrelicpinger", "datadog", "betteruptime", "better uptime", "uptime-kuma",
		"uptime kuma", "freshping", "hetrixtools", "updown.io", "nodeping", "monitis",
		"catchpoint", "dotcom-monitor", "checkly", "zabbix", "nagios", "check_http",
		"blackbox-exporter", "blackbox exporter", "pulsetic", "statusgator", "cronitor",
		"healthchecks", "health-check", "healthcheck", "elb-healthchecker", "googlehc",
		"kube-probe", "googlestackdrivermonitoring", "alertsite", "gomezagent", "uptime.com",
		"uptimebot", "monitoring"),

	keywordRule(ReasonSEOTool, "ahrefs", "semrush", "siteauditbot", "mj12bot", "dotbot",
		"rogerbot", "screaming frog", "seokicks", "sistrix", "blexbot", "serpstatbot",
		"dataforseobot", "barkrowler", "linkdexbot", "megaindex", "chrome-lighthouse",
		"gtmetrix", "pagespeed", "ptst/", "siteimprove", "sitebulb", "oncrawl", "botify",
		"lumar", "deepcrawl", "contentking", "seobility", "woorank", "netpeak", "xenu",
		"linkchecker", "w3c_validator", "w3c-checklink", "validator.nu", "ranksonic"),

	keywordRule(ReasonCrawler, "googlebot", "bingbot", "yandexbot", "yandex.com/bots",
		"baiduspider", "duckduckbot", "applebot", "slurp", "exabot", "ia_archiver",
		"archive.org_bot", "petalbot", "seznambot", "coccocbot", "qwantify", "qwantbot",
		"mojeekbot", "yisouspider", "adsbot", "mediapartners-google", "feedfetcher",
		"google-read-aloud", "storebot-google", "google-inspectiontool", "googleweblight",
		"google-site-verification", "apis-google", "appengine-google", "google favicon",
		"msnbot", "adidxbot", "crawler", "crawling", "spider", "scraper", "scrapy",
		"archiver", "indexer", "httrack", "webcollage"),
	// Feed readers poll feeds on a schedule, so no person sees the page
	// they request.
	keywordRule(ReasonCrawler, "feedly", "feedbin", "inoreader", "newsblur", "theoldreader",
		"feedburner", "feedparser", "simplepie", "tiny tiny rss", "tt-rss", "freshrss",
		"miniflux", "commafeed", "netnewswire", "feedspot", "feedvalidator", "reeder/",
		"readkit", "akregator", "liferea", "newsbeuter", "newsboat", "feed reader", "feedreader",
		"downcast/", "castro "),
	// Download managers and Apple's daemon that fetches
	// apple-app-site-association files.
	keywordRule(ReasonCrawler, "igetter", "getright", "flashget", "swcd "),
	// DuckDuckGo's apps load pages with a browser user agent and fetch
	// favicons and lists in the background with these.
	keywordRule(ReasonCrawler, "ddg_android/", "ddg-android-", "(com.duckduckgo.mobile.android"),
	{reason: ReasonCrawler, keywords: []string{"duckduckgo/"}, source: "duckduckgo/",
		accept: func(ua string) bool { return hasPrefixFold(ua, "duckduckgo/") }},

	// Words that name what an automated client does. Browsers do not put
	// them in their user agent, but tools that copy a browser's user agent
	// and append their own name often do ("... Chrome/109.0 Safari/537.36
	// CloudflareObservatory/1.0").
	keywordRule(ReasonUptimeMonitor, "monitor", "synthetic", "observatory", "health"),
	keywordRule(ReasonSEOTool, "analyzer", "analyser", "validator", "checker", "inspector",
		"audit", "page speed", "search console", "pageburst", "dejaclick", "sparkler"),
	keywordRule(ReasonLinkPreview, "link preview", "url preview", "preview service",
		"thumbnail", "screenshot", "transcoder"),
	wordRule(ReasonCrawler, "scanner", "probe", "proxy", "feed", "podcast"),
	{reason: ReasonCrawler, keywords: []string{"rss"}, source: "rss",
		accept: func(ua string) bool { return containsWordEnd(ua, "rss") }},
	keywordRule(ReasonCrawler, "fetcher", "classifier",
		"verification", "extractor", "exractor", "scheduler", "cron ", "sitemap",
		"duplexweb", "wechatdevtools", "burpcollaborator", "fuzz faster", "nuclei",
		"select load_file", "xaxis", ", mozilla/"),

	// Generic signals. A "bot" word ends with "bot" ("Googlebot/2.1",
	// "AhrefsBot;"), except Cubot, a phone maker. A URL or an e-mail address in
	// the user agent is how crawlers tell site owners who they are.
	{reason: ReasonCrawler, keywords: []string{"bot"}, source: "bot", accept: hasBotWord},
	keywordRule(ReasonCrawler, "+http", "+www.", "(http", "( http", "; http", "=http"),
	// Characters that no browser puts in its user agent but injection
	// probes and broken scripts do.
	keywordRule(ReasonCrawler, "|", "<", ">", "`"),
	{reason: ReasonCrawler, keywords: []string{"@"}, source: "@", accept: hasEmailAddress},
}

// hasBotWord reports whether ua contains "bot" at the end of a word, other
// than in "Cubot".
func hasBotWord(ua string) bool {
	for i := 0; i+3 <= len(ua); i++ {
		if !hasPrefixFold(ua[i:], "bot") {
			continue
		}
		if i+3 < len(ua) && isLetter(ua[i+3]) && !hasPrefixFold(ua[i+3:], "s") {
			continue
		}
		if i >= 2 && hasPrefixFold(ua[i-2:], "cubot") {
			continue
		}
		return true
	}
	return false
}

// emailAddress matches an e-mail address such as "crawler@example.com".
var emailAddress = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`)

func hasEmailAddress(ua string) bool { return emailAddress.MatchString(ua) }

// containsWord reports whether s contains word, ignoring ASCII case, not
// preceded by a letter or digit. word must be lower case.
func containsWord(s, word string) bool {
	for i := 0; i+len(word) <= len(s); i++ {
		if hasPrefixFold(s[i:], word) && (i == 0 || !isLetter(s[i-1]) && !isDigit(s[i-1])) {
			return true
		}
	}
	return false
}

// containsWordEnd reports whether s contains word, ignoring ASCII case,
// not followed by a letter or digit. word must be lower case.
func containsWordEnd(s, word string) bool {
	for i := 0; i+len(word) <= len(s); i++ {
		end := i + len(word)
		if hasPrefixFold(s[i:], word) && (end == len(s) || !isLetter(s[end]) && !isDigit(s[end])) {
			return true
		}
	}
	return false
}

// containsFold reports whether s contains sub, ignoring ASCII case. sub must
// be lower case.
func containsFold(s, sub string) bool { return indexFold(s, sub) >= 0 }

// indexFold returns the index of the first sub in s, ignoring ASCII case,
// or -1. sub must be lower case.
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if hasPrefixFold(s[i:], sub) {
			return i
		}
	}
	return -1
}

// botClassifier gives a user agent its bot reason. Its keyword matcher also
// holds the detector substrings (uaSubstrings), so one pass over a user
// agent serves both. It is read-only after construction and safe for
// concurrent use.
type botClassifier struct {
	matcher *keywordMatcher
	// Keyword ids below substrings are detector substrings. Id i at or
	// above it belongs to rule ruleOf[i-substrings].
	substrings int32
	ruleOf     []int32
	rules      []botRule
	// unkeyed are rules without a usable keyword, tried on every user agent.
	unkeyed []int32
}

func newBotClassifier() (*botClassifier, error) {
	crawlers, err := parseCrawlerPatterns(crawlerPatterns)
	if err != nil {
		return nil, fmt.Errorf("loading crawler patterns: %w", err)
	}

	c := &botClassifier{
		rules:      append(append([]botRule(nil), curatedBotRules...), crawlers...),
		substrings: int32(len(uaSubstrings.list)),
	}
	keywords := append([]string(nil), uaSubstrings.list...)
	for i, r := range c.rules {
		if len(r.keywords) == 0 {
			c.unkeyed = append(c.unkeyed, int32(i))
			continue
		}
		for _, kw := range r.keywords {
			keywords = append(keywords, kw)
			c.ruleOf = append(c.ruleOf, int32(i))
		}
	}
	c.matcher, err = newKeywordMatcher(keywords)
	if err != nil {
		return nil, fmt.Errorf("compiling bot keywords: %w", err)
	}
	return c, nil
}

// classify returns the bot reason of a user agent, or "" for a person. The
// empty user agent is left to the caller's policy.
func (c *botClassifier) classify(ua string) string {
	_, reason := c.scan(ua)
	return reason
}

// scan finds the detector substrings in ua and its bot reason.
func (c *botClassifier) scan(ua string) (foundSubstrings, string) {
	var buf [64]int32
	hits := c.matcher.appendMatches(buf[:0], ua)

	var found foundSubstrings
	best, bestRank := "", len(uaReasonRank)
	for _, id := range hits {
		if id < c.substrings {
			found[id/64] |= 1 << (id % 64)
			continue
		}
		best, bestRank = c.consider(c.ruleOf[id-c.substrings], ua, best, bestRank)
	}
	for _, i := range c.unkeyed {
		best, bestRank = c.consider(i, ua, best, bestRank)
	}
	return found, best
}

func (c *botClassifier) consider(i int32, ua, best string, bestRank int) (string, int) {
	r := &c.rules[i]
	rank := uaReasonRank[r.reason]
	if rank >= bestRank {
		return best, bestRank
	}
	if r.re != nil && !r.re.MatchString(ua) || r.accept != nil && !r.accept(ua) {
		return best, bestRank
	}
	return r.reason, rank
}

// emailScannerHosts are referer hosts, or suffixes starting with a dot, of
// the link-rewriting services of e-mail security gateways. Their scanners
// open every link of an incoming message before the recipient does.
var emailScannerHosts = []string{
	".safelinks.protection.outlook.com",
	"safelinks.protection.outlook.com",
	"urldefense.proofpoint.com",
	"urldefense.com",
	".mimecastprotect.com",
	"linkprotect.cudasvc.com",
	"secure-web.cisco.com",
	"clicktime.symantec.com",
	"scanner.topsec.com",
	"url.avanan.click",
	"shared.outlook.inky.com",
	"link.edgepilot.com",
	".protection.sophos.com",
}

// isEmailScannerHost reports whether a referer host belongs to an e-mail
// link scanner. Mimecast rewrites links to regional hosts such as
// protect-eu.mimecast.com, while its other subdomains serve people.
func isEmailScannerHost(host string) bool {
	if strings.HasPrefix(host, "protect") && strings.HasSuffix(host, ".mimecast.com") {
		return true
	}
	for _, h := range emailScannerHosts {
		if h[0] == '.' && strings.HasSuffix(host, h) || host == h {
			return true
		}
	}
	return false
}
