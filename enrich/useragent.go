package enrich

import (
	"strings"
)

// uaInfo is everything enrichment derives from the user agent alone, so it
// is cached by user agent.
type uaInfo struct {
	device         string
	browser        string
	browserVersion string
	os             string
	osVersion      string
	// botReason is the reason the user agent marks a bot, or "".
	botReason string
}

// uaParser parses user agents through a bounded cache. It is safe for
// concurrent use.
type uaParser struct {
	bots  *botClassifier
	cache *lruCache[string, uaInfo]
}

func newUAParser(cacheSize int) (*uaParser, error) {
	bots, err := newBotClassifier()
	if err != nil {
		return nil, err
	}
	return &uaParser{bots: bots, cache: newLRUCache[string, uaInfo](cacheSize)}, nil
}

func (p *uaParser) lookup(ua string) uaInfo {
	if info, ok := p.cache.Get(ua); ok {
		return info
	}
	info := p.parse(ua)
	p.cache.Put(ua, info)
	return info
}

// parse derives everything from one user agent. The result of
// mssola/useragent is the base, and the rules of this package correct it
// where it is wrong. doc.go describes the division of labour.
func (p *uaParser) parse(ua string) uaInfo {
	if ua == "" {
		return uaInfo{}
	}

	// Some clients send the user agent form-encoded, with '+' for spaces.
	text := ua
	if strings.IndexByte(ua, ' ') < 0 && strings.Contains(ua, "+(") {
		text = strings.ReplaceAll(ua, "+", " ")
	}
	lib := parseWithLibrary(text)

	var tokens uaTokens
	tokenize(text, &tokens)
	found, botReason := p.bots.scan(text)

	var info uaInfo
	osName, osVersion := detectOS(&found, &tokens)
	info.os, info.osVersion = mergeOS(lib, osName, osVersion)
	info.browser, info.browserVersion = mergeBrowser(lib, detectBrowser(text, &found, &tokens, info.os))
	// The library calls okhttp a phone because Android apps use it, but
	// servers do too, and the contract gives scripts the Desktop device.
	libraryMobile := lib.mobile && botReason != ReasonHTTPLibrary
	info.device = detectDevice(text, &found, &tokens, info.os, libraryMobile)

	info.botReason = botReason
	if info.botReason == "" && lib.bot && info.browser == "" {
		info.botReason = ReasonCrawler
	}
	if info.botReason == "" && unidentifiedClient(text, info) {
		info.botReason = ReasonHTTPLibrary
	}
	return info
}

// mergeOS returns the library's operating system unless the rules name
// another one: they know Linux distributions, Android and webOS on
// Linux, HarmonyOS, Windows Phone behind a Windows token and iPads that
// request desktop pages, and the library does not.
func mergeOS(lib libraryResult, name, version string) (string, string) {
	switch {
	case name == "":
		return lib.os, lib.osVersion
	case name != lib.os:
		return name, version
	case version == "":
		return name, lib.osVersion
	}
	return name, version
}

// mergeBrowser returns the library's browser family unless the rules
// found a browser's own token (in-app browsers, the many browsers built on
// Chromium, WebKit or Gecko), an Android web view, or a browser the
// library does not name. The version is the rules' reading of the token
// that names the browser, because the library reads it by position and
// gets it wrong when tokens are added or reordered. IE is the exception:
// in compatibility view it sends "MSIE 7.0" and the library reads the real
// version from the Trident token.
func mergeBrowser(lib libraryResult, rule ruleBrowser) (string, string) {
	switch {
	case lib.browser == "":
		return rule.name, rule.version
	case rule.name == "":
		return lib.browser, lib.browserVersion
	case rule.priority >= prioSpecific, rule.name == browserChromeWebView:
		return rule.name, rule.version
	case rule.name != lib.browser:
		// Both read an engine's token and disagree, as for IE 11 with a
		// copied "Firefox/12.0" token.
		return lib.browser, lib.browserVersion
	}

	version := rule.version
	if version == "" || rule.name == browserIE && lib.browserVersion != "" {
		version = lib.browserVersion
	}
	return rule.name, version
}

// unidentifiedClient reports whether a user agent is not one a browser, an
// in-app web view or an app's HTTP client would send. Those name an
// operating system or a browser; scripts, monitors and scanners often name
// only themselves ("ApacheBench/2.3", "collectd/5.5.1") or send a single
// word ("Chrome", "ipad"). HTTP request lines ("POST /parser ...") pasted
// into the header also count.
func unidentifiedClient(ua string, info uaInfo) bool {
	if info.os == "" && info.browser == "" && info.device == deviceDesktop {
		return true
	}
	if strings.IndexAny(ua, " /(") < 0 {
		return true
	}
	for _, method := range []string{"GET /", "POST /", "HEAD /", "PUT /"} {
		if strings.HasPrefix(ua, method) {
			return true
		}
	}
	return false
}
