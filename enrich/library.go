package enrich

import (
	"strings"
	"sync"

	"github.com/mssola/useragent"
)

// libraryResult is what github.com/mssola/useragent v1.0.0 reports for a
// user agent, mapped onto the vocabulary of VOCABULARY.md. An empty string
// means that the library returned no value this package can use.
type libraryResult struct {
	browser        string
	browserVersion string
	os             string
	osVersion      string
	// mobile is the library's Mobile(): a "Mobile" product token, or a
	// platform it considers mobile (Android, Dalvik, okhttp, iOS, webOS,
	// Symbian, IEMobile).
	mobile bool
	// bot is the library's Bot(): a client that names no browser engine
	// and has "bot", "crawler", "spider", "search", "fetch", ... in its
	// name, or a URL in a comment.
	bot bool
}

// libraryParsers reuses the library's parser structs. Parse resets every
// field, so a pooled one carries nothing over from the last user agent.
var libraryParsers = sync.Pool{New: func() any { return new(useragent.UserAgent) }}

// parseWithLibrary runs mssola/useragent over ua. It allocates about 14
// times per call (the library copies each token), so it runs only on a
// cache miss.
func parseWithLibrary(ua string) libraryResult {
	p := libraryParsers.Get().(*useragent.UserAgent)
	defer libraryParsers.Put(p)
	p.Parse(ua)

	var r libraryResult
	name, version := p.Browser()
	if family, ok := libraryBrowsers[name]; ok {
		r.browser = family
		r.browserVersion = trimVersion(version)
	}
	info := p.OSInfo()
	// The library assumes Windows NT 4.0 for IE user agents that name no
	// operating system.
	if info.FullName != "Windows NT 4.0" || strings.Contains(ua, "NT 4.0") {
		r.os, r.osVersion = libraryOS(info.Name, info.Version, p.Platform())
	}
	r.mobile = p.Mobile()
	r.bot = p.Bot()

	// Drop the pooled parser's reference to ua.
	p.Parse("")
	return r
}

// libraryBrowsers maps the browser names of mssola/useragent v1.0.0 that
// name a family to the vocabulary. The library returns "Safari" for every
// WebKit browser it does not know (Lunascape, Dooble, NintendoBrowser,
// in-app browsers) and "Android" for the same on Linux platforms, so both
// are left out. So are "Mobile App", "OkHttp", "PhantomJS",
// "iMessage-Preview", and the first product name it falls back to for any
// other client ("curl", "Googlebot", "http:").
var libraryBrowsers = map[string]string{
	"Chrome":            browserChrome,
	"Chromium":          "Chromium",
	"Headless Chrome":   browserChromeHeadles,
	"Edge":              "Edge",
	"Opera":             browserOpera,
	"Firefox":           browserFirefox,
	"Internet Explorer": browserIE,
	"YaBrowser":         "Yandex",
	"Coc Coc":           "Coc Coc",
	"Electron":          "Electron",
	"DuckDuckGo":        "DuckDuckGo",
	"Google App":        "GSA",
	"BlackBerry":        browserBlackBerry,
}

// libraryOSes maps the lower-case first word of the OS name that
// mssola/useragent v1.0.0 reports to the vocabulary. The library copies a
// comment item of the user agent, so the name can be anything
// ("CPU iPhone OS 17_5 like Mac OS X", "Linux x86_64", "en-US", "U");
// words not listed here give no OS.
var libraryOSes = map[string]string{
	"windows":    osWindows,
	"win9x":      osWindows,
	"android":    osAndroid,
	"iphone":     osIOS,
	"linux":      osLinux,
	"cros":       osChromiumOS,
	"mac":        osMacOS,
	"ppc":        osMacOS,
	"intel":      osMacOS,
	"ubuntu":     "Ubuntu",
	"freebsd":    "FreeBSD",
	"openbsd":    "OpenBSD",
	"netbsd":     "NetBSD",
	"sunos":      "Solaris",
	"blackberry": osBlackBerry,
	"symbian":    osSymbian,
	"symbianos":  osSymbian,
	"sailfish":   "Sailfish",
	"hpwos":      osWebOS,
	"firefoxos":  osFirefoxOS,
	"rim":        "RIM Tablet OS",
	"amigaos":    "AmigaOS",
	"haiku":      "Haiku",
}

// libraryOS normalises the OS name and version of mssola/useragent's
// OSInfo. It turns "iPhone OS" and the bare "OS" of iPads into iOS,
// "Mac OS X" into Mac OS, "Windows Phone OS" into Windows Phone and drops
// versions that are CPU architectures or model numbers.
func libraryOS(name, version, platform string) (string, string) {
	lower := strings.ToLower(name)
	first := firstWord(lower)
	if first == "os" && (platform == "iPad" || platform == "iPhone" || platform == "iPod") {
		return osIOS, cleanOSVersion(version)
	}

	os, ok := libraryOSes[first]
	switch {
	case !ok:
		return "", ""
	case os == osWindows && strings.Contains(lower, "phone"):
		return osWindowsPhone, cleanOSVersion(version)
	case os == osWindows:
		return osWindows, libraryWindowsVersion(lower, version)
	case os == osLinux, os == osBlackBerry:
		// The version is a CPU architecture or a BlackBerry model number
		// ("BlackBerry 9780").
		return os, ""
	}
	return os, cleanOSVersion(version)
}

// libraryWindowsVersion turns the library's "Windows 7" (name "windows",
// version "7") or an NT version it did not rename ("Windows NT 6.4") into
// the marketing name.
func libraryWindowsVersion(lowerName, version string) string {
	if lowerName == "windows nt" {
		return windowsVersions[version]
	}
	switch version {
	case "10", "8.1", "8", "7", "Vista", "XP", "2000":
		return version
	}
	return ""
}
