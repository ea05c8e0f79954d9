package enrich

import (
	"strings"
)

// Browser names, spelled as in the public webhook contract.
const (
	browserChrome        = "Chrome"
	browserChromeWebView = "Chrome WebView"
	browserChromeHeadles = "Chrome Headless"
	browserSafari        = "Safari"
	browserMobileSafari  = "Mobile Safari"
	browserAndroid       = "Android Browser"
	browserWebKit        = "WebKit"
	browserFirefox       = "Firefox"
	browserIE            = "IE"
	browserOpera         = "Opera"
	browserMozilla       = "Mozilla"
	browserBlackBerry    = "BlackBerry"
)

// versionSource is the place a browser rule reads the version from.
type versionSource uint8

const (
	// versionOwn is the version of the matching token ("Edg/127.0").
	versionOwn versionSource = iota
	// versionNext is the next token ("Instagram 300.0.0.1").
	versionNext
	// versionTag is the token "Version/x" ("Version/17.5 Safari/604.1").
	versionTag
	// versionWord is the word after the name ("MSIE 9.0").
	versionWord
	// versionFacebook is the "FBAV/x" item of Facebook's in-app browser.
	versionFacebook
	// versionIE is "rv:x" of IE 11 or the "MSIE x" item of older versions.
	versionIE
)

type browserRule struct {
	name     string
	priority int
	version  versionSource
}

// Browser rule priorities. In-app browsers and browsers built on Chromium or
// WebKit repeat the "Chrome/" or "Safari/" token of their engine, so the more
// specific token must win.
const (
	prioInApp    = 90
	prioSpecific = 80
	prioFirefox  = 60
	prioOpera    = 55
	prioChrome   = 50
	prioIE       = 45
	prioFallback = 10
)

// browserByToken maps the lower-case name of a product token or comment item,
// or the first word of a comment item, to a browser.
var browserByToken = map[string]browserRule{
	// In-app browsers of social and messaging apps.
	"fban":             {"Facebook", prioInApp, versionFacebook},
	"fbav":             {"Facebook", prioInApp, versionOwn},
	"fb_iab":           {"Facebook", prioInApp, versionFacebook},
	"fbios":            {"Facebook", prioInApp, versionFacebook},
	"metaiab":          {"Facebook", prioInApp, versionFacebook},
	"instagram":        {"Instagram", prioInApp + 1, versionNext},
	"snapchat":         {"Snapchat", prioInApp, versionOwn},
	"musical_ly":       {"TikTok", prioInApp, versionOwn},
	"bytedancewebview": {"TikTok", prioInApp, versionOwn},
	"tiktok":           {"TikTok", prioInApp, versionOwn},
	"twitter":          {"Twitter", prioInApp, versionOwn},
	"twitterandroid":   {"Twitter", prioInApp, versionOwn},
	"line":             {"Line", prioInApp, versionOwn},
	"kakaotalk":        {"KakaoTalk", prioInApp, versionWord},
	"kakaostory":       {"KakaoStory", prioInApp, versionOwn},
	"micromessenger":   {"WeChat", prioInApp, versionOwn},
	"naver":            {"Naver", prioInApp, versionOwn},
	"pinterest":        {"Pinterest", prioInApp, versionOwn},
	"linkedinapp":      {"LinkedIn", prioInApp, versionOwn},
	"gsa":              {"GSA", prioInApp, versionOwn},
	"googleapp":        {"GSA", prioInApp, versionOwn},
	"baiduboxapp":      {"Baidu", prioInApp, versionOwn},
	"baidubrowser":     {"Baidu", prioSpecific, versionOwn},
	"bidubrowser":      {"Baidu", prioSpecific, versionOwn},
	"weibo":            {"Weibo", prioInApp, versionOwn},
	"__weibo__":        {"Weibo", prioInApp, versionOwn},
	"alipayclient":     {"Alipay", prioInApp, versionOwn},
	"dingtalk":         {"DingTalk", prioInApp, versionOwn},
	"qq":               {"QQ", prioInApp, versionOwn},
	"spotify":          {"Spotify", prioInApp, versionOwn},
	"electron":         {"Electron", prioInApp - 1, versionOwn},

	// Browsers that add their own token to a Chromium, WebKit or Gecko one.
	"headlesschrome":       {browserChromeHeadles, prioInApp + 5, versionOwn},
	"edg":                  {"Edge", prioSpecific, versionOwn},
	"edge":                 {"Edge", prioSpecific, versionOwn},
	"edga":                 {"Edge", prioSpecific, versionOwn},
	"edgios":               {"Edge", prioSpecific, versionOwn},
	"opr":                  {browserOpera, prioSpecific, versionOwn},
	"opt":                  {"Opera Touch", prioSpecific, versionOwn},
	"opios":                {"Opera Mini", prioSpecific, versionOwn},
	"opera mini":           {"Opera Mini", prioSpecific + 1, versionOwn},
	"opera mobi":           {"Opera Mobi", prioSpecific, versionTag},
	"opera tablet":         {"Opera Tablet", prioSpecific, versionTag},
	"samsungbrowser":       {"Samsung Internet", prioSpecific, versionOwn},
	"yabrowser":            {"Yandex", prioSpecific, versionOwn},
	"yasearchbrowser":      {"Yandex", prioSpecific, versionOwn},
	"yowser":               {"Yandex", prioSpecific, versionOwn},
	"ucbrowser":            {"UCBrowser", prioSpecific, versionOwn},
	"ucweb":                {"UCBrowser", prioSpecific, versionOwn},
	"ubrowser":             {"UCBrowser", prioSpecific, versionOwn},
	"vivaldi":              {"Vivaldi", prioSpecific, versionOwn},
	"whale":                {"Whale", prioSpecific, versionOwn},
	"brave":                {"Brave", prioSpecific, versionOwn},
	"duckduckgo":           {"DuckDuckGo", prioSpecific, versionOwn},
	"ddg":                  {"DuckDuckGo", prioSpecific, versionOwn},
	"miuibrowser":          {"MIUI Browser", prioSpecific, versionOwn},
	"huaweibrowser":        {"Huawei Browser", prioSpecific, versionOwn},
	"heytapbrowser":        {"HeyTap", prioSpecific, versionOwn},
	"silk":                 {"Silk", prioSpecific, versionOwn},
	"puffin":               {"Puffin", prioSpecific, versionOwn},
	"qqbrowser":            {"QQBrowser", prioSpecific, versionOwn},
	"mqqbrowser":           {"QQBrowser", prioSpecific, versionOwn},
	"qqbrowserlite":        {"QQBrowser", prioSpecific, versionOwn},
	"maxthon":              {"Maxthon", prioSpecific, versionOwn},
	"mxbrowser":            {"Maxthon", prioSpecific, versionOwn},
	"mxios":                {"Maxthon", prioSpecific, versionOwn},
	"coc_coc_browser":      {"Coc Coc", prioSpecific, versionOwn},
	"coccocbrowser":        {"Coc Coc", prioSpecific, versionOwn},
	"avastsecurebrowser":   {"Avast Secure Browser", prioSpecific, versionOwn},
	"avgsecurebrowser":     {"AVG Secure Browser", prioSpecific, versionOwn},
	"iron":                 {"Iron", prioSpecific, versionOwn},
	"chromium":             {"Chromium", prioSpecific, versionOwn},
	"oculusbrowser":        {"Oculus Browser", prioSpecific, versionOwn},
	"sleipnir":             {"Sleipnir", prioSpecific, versionOwn},
	"sznprohlizec":         {"Seznam Browser", prioSpecific, versionOwn},
	"seznam.cz":            {"Seznam Browser", prioSpecific, versionOwn},
	"alohabrowser":         {"Aloha Browser", prioSpecific, versionOwn},
	"dolphin":              {"Dolphin", prioSpecific, versionOwn},
	"dolfin":               {"Dolphin", prioSpecific, versionOwn},
	"mercury":              {"Mercury", prioSpecific, versionOwn},
	"sogoumobilebrowser":   {"Sogou Explorer", prioSpecific, versionOwn},
	"metasr":               {"Sogou Explorer", prioSpecific, versionWord},
	"360se":                {"360 Browser", prioSpecific, versionOwn},
	"360ee":                {"360 Browser", prioSpecific, versionOwn},
	"lbbrowser":            {"LBBROWSER", prioSpecific, versionOwn},
	"2345explorer":         {"2345Explorer", prioSpecific, versionOwn},
	"theworld":             {"TheWorld", prioSpecific, versionWord},
	"qupzilla":             {"QupZilla", prioSpecific, versionOwn},
	"falkon":               {"Falkon", prioSpecific, versionOwn},
	"otter":                {"Otter", prioSpecific, versionOwn},
	"midori":               {"Midori", prioSpecific, versionOwn},
	"epiphany":             {"Epiphany", prioSpecific, versionOwn},
	"konqueror":            {"Konqueror", prioSpecific, versionOwn},
	"k-meleon":             {"K-Meleon", prioSpecific, versionOwn},
	"palemoon":             {"Pale Moon", prioSpecific, versionOwn},
	"waterfox":             {"Waterfox", prioSpecific, versionOwn},
	"seamonkey":            {"SeaMonkey", prioSpecific, versionOwn},
	"iceweasel":            {"IceWeasel", prioSpecific, versionOwn},
	"icecat":               {"IceCat", prioSpecific, versionOwn},
	"librewolf":            {"LibreWolf", prioSpecific, versionOwn},
	"camino":               {"Camino", prioSpecific, versionOwn},
	"flock":                {"Flock", prioSpecific, versionOwn},
	"netscape":             {"Netscape", prioSpecific, versionOwn},
	"navigator":            {"Netscape", prioSpecific, versionOwn},
	"lynx":                 {"Lynx", prioSpecific, versionOwn},
	"links":                {"Links", prioSpecific, versionOwn},
	"elinks":               {"ELinks", prioSpecific, versionOwn},
	"w3m":                  {"w3m", prioSpecific, versionOwn},
	"dillo":                {"Dillo", prioSpecific, versionOwn},
	"netsurf":              {"NetSurf", prioSpecific, versionOwn},
	"arora":                {"Arora", prioSpecific, versionOwn},
	"rekonq":               {"Rekonq", prioSpecific, versionOwn},
	"icab":                 {"iCab", prioSpecific, versionOwn},
	"omniweb":              {"OmniWeb", prioSpecific, versionOwn},
	"abrowse":              {"ABrowse", prioSpecific, versionWord},
	"browsex":              {"BrowseX", prioSpecific, versionOwn},
	"charon":               {"Charon", prioSpecific, versionOwn},
	"mozacfetch":           {browserFirefox, prioSpecific, versionOwn},
	"focus":                {"Firefox Focus", prioSpecific, versionOwn},
	"klar":                 {"Firefox Focus", prioSpecific, versionOwn},
	"fxios":                {browserFirefox, prioSpecific, versionOwn},
	"iemobile":             {"IEMobile", prioSpecific + 5, versionOwn},
	"kindle":               {"Kindle", prioSpecific, versionOwn},
	"netfront":             {"NetFront", prioSpecific, versionOwn},
	"nf-browser":           {"NetFront", prioSpecific, versionOwn},
	"obigo":                {"Obigo", prioSpecific, versionOwn},
	"obigointernetbrowser": {"Obigo", prioSpecific, versionOwn},
	"nokiabrowser":         {"Nokia Browser", prioSpecific, versionOwn},
	"browserng":            {"Nokia Browser", prioSpecific, versionOwn},

	// Engines and base browsers.
	"firefox":   {browserFirefox, prioFirefox, versionOwn},
	"opera":     {browserOpera, prioOpera, versionTag},
	"crios":     {browserChrome, prioChrome + 1, versionOwn},
	"chrome":    {browserChrome, prioChrome, versionOwn},
	"msie":      {browserIE, prioIE, versionWord},
	"safari":    {browserSafari, prioFallback, versionTag},
	"minefield": {browserFirefox, prioFirefox, versionOwn},
}

// browserBySubstring are browsers recognised by a lower-case part of the
// user agent rather than a whole token, because they glue their name to
// other text ("UCWEB7.9.0.94", "Browser/Obigo-Q7.3", "WeiboIntliOS_iPhone").
// The version is the number that follows the name, if any.
var browserBySubstring = []struct {
	substring string
	rule      browserRule
}{
	{"ucweb", browserRule{"UCBrowser", prioSpecific + 2, versionOwn}},
	{"ucbrowser", browserRule{"UCBrowser", prioSpecific + 2, versionOwn}},
	{"uc browser", browserRule{"UCBrowser", prioSpecific + 2, versionOwn}},
	{"netfront", browserRule{"NetFront", prioSpecific, versionOwn}},
	{"obigo", browserRule{"Obigo", prioSpecific, versionOwn}},
	{"miuibrowser", browserRule{"MIUI Browser", prioSpecific, versionOwn}},
	{"dolphin", browserRule{"Dolphin", prioSpecific, versionOwn}},
	{"aweb", browserRule{"AWeb", prioSpecific, versionOwn}},
	{"weibo", browserRule{"Weibo", prioInApp, versionOwn}},
	{"musical_ly", browserRule{"TikTok", prioInApp, versionOwn}},
	{"trill_", browserRule{"TikTok", prioInApp, versionOwn}},
}

type browserMatch struct {
	rule  browserRule
	index int
	word  string
}

// ruleBrowser is the browser the rules of this file find, with the
// priority of the rule that named it: prioSpecific and above for a
// browser's own token, prioChrome and the like for an engine's token,
// 0 for fallbackBrowser.
type ruleBrowser struct {
	name     string
	version  string
	priority int
}

// detectBrowser finds the browser and its version in the tokens and the
// substrings found in ua. osName is the detected operating system, which
// distinguishes Mobile Safari from Safari and Chrome WebView from Chrome.
func detectBrowser(ua string, found *foundSubstrings, t *uaTokens, osName string) ruleBrowser {
	tokens := t.tokens()
	best := browserMatch{index: -1}
	for i := range tokens {
		rule, word, ok := browserRuleFor(&tokens[i])
		if ok && rule.priority > best.rule.priority {
			best = browserMatch{rule: rule, index: i, word: word}
		}
	}

	for i, r := range browserBySubstring {
		if r.rule.priority <= best.rule.priority || !found.has(browserSubstrIDs[i]) {
			continue
		}
		if at := indexFold(ua, r.substring); at >= 0 {
			return ruleBrowser{r.rule.name, numberAfter(ua[at+len(r.substring):]), r.rule.priority}
		}
	}

	if best.index < 0 {
		name, version := fallbackBrowser(tokens, osName)
		return ruleBrowser{name: name, version: version}
	}

	name, version := best.rule.name, browserVersion(tokens, best)
	switch name {
	case browserChrome:
		if isWebView(tokens, osName) {
			name = browserChromeWebView
		}
	case browserSafari:
		name, version = safariFamily(tokens, osName)
	}
	return ruleBrowser{name, version, best.rule.priority}
}

// numberAfter returns the version number at the start of s, after an
// optional separator, as in "/9.3.0" or "7.9.0.94/41".
func numberAfter(s string) string {
	s = strings.TrimLeft(s, "/ -_")
	end := 0
	for end < len(s) && (isDigit(s[end]) || s[end] == '.') {
		end++
	}
	return strings.TrimRight(s[:end], ".")
}

// browserRuleFor looks up a token by its name and, for names such as
// "MSIE 9.0" where a version follows a space, by its first word.
func browserRuleFor(tok *uaToken) (browserRule, string, bool) {
	if rule, ok := lookupFold(browserByToken, tok.name); ok {
		return rule, tok.name, true
	}
	if word := firstWord(tok.name); len(word) < len(tok.name) && isDigit(tok.name[len(word)+1]) {
		if rule, ok := lookupFold(browserByToken, word); ok {
			return rule, word, true
		}
	}
	return browserRule{}, "", false
}

func browserVersion(tokens []uaToken, m browserMatch) string {
	tok := tokens[m.index]
	switch m.rule.version {
	case versionNext:
		if m.index+1 < len(tokens) {
			next := tokens[m.index+1].name
			if next != "" && isDigit(next[0]) {
				return next
			}
		}
		return tok.version
	case versionTag:
		if v := tokenVersion(tokens, "Version"); v != "" {
			return v
		}
		return tok.version
	case versionWord:
		if len(m.word) < len(tok.name) {
			return firstWord(afterWord(tok.name))
		}
		return tok.version
	case versionFacebook:
		for _, t := range tokens {
			if t.name == "FBAV" {
				return t.version
			}
		}
		return ""
	case versionIE:
		for _, t := range tokens {
			if t.comment && strings.HasPrefix(t.name, "rv:") {
				return t.name[len("rv:"):]
			}
			if t.comment && strings.HasPrefix(t.name, "MSIE ") {
				return afterWord(t.name)
			}
		}
		return ""
	}
	if tok.version == "" && len(m.word) < len(tok.name) {
		return firstWord(afterWord(tok.name))
	}
	return tok.version
}

// isWebView reports whether a Chrome user agent comes from an Android
// WebView: Android marks it with "; wv)" since 5.0, and older versions add
// "Version/4.0" before the Chrome token.
func isWebView(tokens []uaToken, osName string) bool {
	if osName != osAndroid {
		return false
	}
	for _, t := range tokens {
		if t.comment && t.name == "wv" || !t.comment && t.name == "Version" {
			return true
		}
	}
	return false
}

// safariFamily names a browser whose most specific token is "Safari".
func safariFamily(tokens []uaToken, osName string) (string, string) {
	version := tokenVersion(tokens, "Version")
	switch {
	case osName == osIOS:
		return browserMobileSafari, version
	case osName == osAndroid:
		return browserAndroid, version
	case osName == osBlackBerry, osName == "RIM Tablet OS":
		return browserBlackBerry, version
	case osName == osSymbian:
		return "Nokia Browser", version
	case hasToken(tokens, "Mobile") && version != "":
		return browserMobileSafari, version
	}
	return browserSafari, version
}

// fallbackBrowser names browsers that carry no token of their own: iOS web
// views, IE 11 and plain Gecko builds.
func fallbackBrowser(tokens []uaToken, osName string) (string, string) {
	webkit, gecko, trident := false, false, false
	rv := ""
	for _, t := range tokens {
		switch {
		case t.name == "AppleWebKit" && !t.comment:
			webkit = true
		case t.name == "Gecko" && !t.comment:
			gecko = true
		case t.comment && hasPrefixFold(t.name, "trident"):
			trident = true
		case t.comment && strings.HasPrefix(t.name, "rv:"):
			rv = t.name[len("rv:"):]
		}
	}

	switch {
	case trident && rv != "":
		return browserIE, rv
	case webkit && osName == osIOS:
		return browserWebKit, tokenVersion(tokens, "AppleWebKit")
	case webkit && osName == osAndroid && tokenVersion(tokens, "Version") != "":
		return browserAndroid, tokenVersion(tokens, "Version")
	case gecko && rv != "":
		return browserMozilla, rv
	case osName == osPlayStation && !webkit:
		// PlayStation 3, PSP and Vita browsers are built on NetFront.
		return "NetFront", ""
	}
	return "", ""
}

// tokenVersion returns the version of the product token named name.
func tokenVersion(tokens []uaToken, name string) string {
	for _, t := range tokens {
		if !t.comment && t.name == name {
			return t.version
		}
	}
	return ""
}

func hasToken(tokens []uaToken, name string) bool {
	for _, t := range tokens {
		if t.name == name {
			return true
		}
	}
	return false
}
