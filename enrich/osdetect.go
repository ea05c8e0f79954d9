package enrich

import (
	"strings"
)

// osMatch is a candidate operating system found in one token. The candidate
// with the highest priority wins, so that "Android" beats the "Linux" next to
// it and "iOS" beats the "like Mac OS X" of an iPhone.
type osMatch struct {
	name     string
	version  string
	priority int
}

func (m *osMatch) offer(name, version string, priority int) {
	switch {
	case priority > m.priority:
		*m = osMatch{name: name, version: version, priority: priority}
	case priority == m.priority && name == m.name && m.version == "":
		m.version = version
	}
}

// Operating system names, spelled as in the public webhook contract.
const (
	osAndroid      = "Android"
	osIOS          = "iOS"
	osMacOS        = "Mac OS"
	osWindows      = "Windows"
	osWindowsPhone = "Windows Phone"
	osWindowsMob   = "Windows Mobile"
	osLinux        = "Linux"
	osChromiumOS   = "Chromium OS"
	osTizen        = "Tizen"
	osKaiOS        = "KaiOS"
	osFirefoxOS    = "Firefox OS"
	osWebOS        = "webOS"
	osBlackBerry   = "BlackBerry"
	osSymbian      = "Symbian"
	osSeries40     = "Series40"
	osWatchOS      = "watchOS"
	osTvOS         = "tvOS"
	osPlayStation  = "PlayStation"
	osNintendo     = "Nintendo"
)

// osByPrefix maps the lower-case start of a comment item or product name to
// an operating system. Entries are tried longest first.
var osByPrefix = []struct {
	prefix   string
	name     string
	priority int
}{
	{"windows phone", osWindowsPhone, 100},
	{"wpdesktop", osWindowsPhone, 100},
	{"xblwp7", osWindowsPhone, 100},
	{"zunewp7", osWindowsPhone, 100},
	{"wds ", osWindowsPhone, 100},
	{"microsoft windows", osWindows, 58},
	{"kaios", osKaiOS, 95},
	{"harmonyos", "HarmonyOS", 95},
	{"openharmony", "OpenHarmony", 95},
	{"tizen", osTizen, 90},
	{"web0s", osWebOS, 90},
	{"webos", osWebOS, 90},
	{"hpwos", osWebOS, 90},
	{"sailfish", "Sailfish", 90},
	{"meego", "MeeGo", 90},
	{"maemo", "Maemo", 90},
	{"bada", "Bada", 90},
	{"rim tablet os", "RIM Tablet OS", 90},
	{"bb10", osBlackBerry, 90},
	{"blackberry", osBlackBerry, 88},
	{"symbianos", osSymbian, 90},
	{"symbian", osSymbian, 90},
	{"series60", osSymbian, 89},
	{"series 60", osSymbian, 89},
	{"s60", osSymbian, 85},
	{"series40", osSeries40, 90},
	{"series 40", osSeries40, 90},
	{"nokia series 40", osSeries40, 90},
	{"windows ce", osWindowsMob, 90},
	{"windows mobile", osWindowsMob, 90},
	{"windowsmobile", osWindowsMob, 90},
	{"playstation", osPlayStation, 90},
	{"nintendo", osNintendo, 90},
	{"watchos", osWatchOS, 92},
	{"tvos", osTvOS, 92},
	{"fuchsia", "Fuchsia", 90},
	{"ubuntu", "Ubuntu", 50},
	{"kubuntu", "Kubuntu", 50},
	{"xubuntu", "Xubuntu", 50},
	{"lubuntu", "Lubuntu", 50},
	{"debian", "Debian", 50},
	{"fedora", "Fedora", 50},
	{"gentoo", "Gentoo", 50},
	{"mandriva", "Mandriva", 50},
	{"mageia", "Mageia", 50},
	{"red hat", "Red Hat", 50},
	{"redhat", "Red Hat", 50},
	{"centos", "CentOS", 50},
	{"opensuse", "openSUSE", 50},
	{"suse", "SUSE", 50},
	{"linux mint", "Mint", 50},
	{"mint", "Mint", 50},
	{"arch linux", "Arch", 50},
	{"slackware", "Slackware", 50},
	{"raspbian", "Raspbian", 50},
	{"manjaro", "Manjaro", 50},
	{"pclinuxos", "PCLinuxOS", 50},
	{"zenwalk", "Zenwalk", 50},
	{"linpus", "Linpus", 50},
	{"freebsd", "FreeBSD", 50},
	{"openbsd", "OpenBSD", 50},
	{"netbsd", "NetBSD", 50},
	{"dragonfly", "DragonFly", 50},
	{"sunos", "Solaris", 50},
	{"solaris", "Solaris", 50},
	{"aix", "AIX", 50},
	{"hp-ux", "HP-UX", 50},
	{"irix", "IRIX", 50},
	{"os/2", "OS/2", 50},
	{"beos", "BeOS", 50},
	{"haiku", "Haiku", 51}, // Haiku sends "(BeOS; U; Haiku BePC; ...)"
	{"amigaos", "AmigaOS", 50},
	{"morphos", "MorphOS", 50},
	{"risc os", "RISC OS", 50},
	{"serenityos", "SerenityOS", 50},
	{"qnx", "QNX", 50},
	{"inferno", "Inferno", 50},
	{"syllable", "Syllable", 50},
	{"osf1", "OSF1", 50},
	{"macos", osMacOS, 69},
	{"minix", "Minix", 50},
	{"gnu/hurd", "GNU", 50},
}

// osBySubstring maps lower-case parts of the whole user agent to an
// operating system, for clients that do not put it in a comment item of its
// own ("x86_64-redhat-linux-gnu", "os/macos", "TestApp-tvOS/1.0").
var osBySubstring = []struct {
	substring string
	name      string
	priority  int
}{
	{"sw_platform=s60", osSymbian, 90},
	{"-tvos/", osTvOS, 92},
	{"-ios/", osIOS, 79},
	{"gentoo", "Gentoo", 51},
	{"redhat", "Red Hat", 51},
	{"mac os x/", osMacOS, 70},
	{"os/macos", osMacOS, 70},
	{"goos/darwin", osMacOS, 70},
	{"os/microsoft_windows", osWindows, 60},
	{";windows/", osWindows, 55},
	{"amiga", "AmigaOS", 50},
	{"ms-office", osWindows, 20},
	{"microsoft office", osWindows, 20},
	{"mozacfetch", osAndroid, 20},
}

// osByBrowser are browsers that run on one operating system only, which
// wins over what the rest of the user agent claims. Silk and the Oculus
// Browser run on Android-based Fire OS and Quest OS even when they request
// desktop pages. The iOS builds of Chrome, Edge, Firefox and Opera send a
// Macintosh user agent on iPads.
var osByBrowser = map[string]string{
	"Silk":          osAndroid,
	"OculusBrowser": osAndroid,
	"JUC":           osAndroid,
	"CriOS":         osIOS,
	"EdgiOS":        osIOS,
	"FxiOS":         osIOS,
	"OPiOS":         osIOS,
}

// windowsVersions maps Windows NT kernel versions to the marketing names.
var windowsVersions = map[string]string{
	"10.0": "10",
	"6.4":  "10",
	"6.3":  "8.1",
	"6.2":  "8",
	"6.1":  "7",
	"6.0":  "Vista",
	"5.2":  "XP",
	"5.1":  "XP",
	"5.01": "2000",
	"5.0":  "2000",
	"4.0":  "NT 4.0",
}

// detectOS finds the operating system and its version in the tokens and
// the substrings found in the user agent.
func detectOS(found *foundSubstrings, t *uaTokens) (name, version string) {
	var m osMatch
	tokens := t.tokens()
	for i := range tokens {
		offerOS(&m, &tokens[i], tokens)
	}
	for i, r := range osBySubstring {
		if r.priority > m.priority && found.has(osSubstrIDs[i]) {
			m.offer(r.name, "", r.priority)
		}
	}
	return m.name, m.version
}

func offerOS(m *osMatch, tok *uaToken, tokens []uaToken) {
	offerOSByPrefix(m, tok.name, tok.version)
	if tok.comment {
		offerCommentOS(m, tok, tokens)
	} else {
		offerProductOS(m, tok, tokens)
	}
}

// offerProductOS handles the product tokens that name an operating system:
// "Android" and "iOS/10_1" of app user agents, Dalvik and Darwin of Android
// and Apple HTTP clients, and "Linux" of devices such as Sonos speakers.
func offerProductOS(m *osMatch, tok *uaToken, tokens []uaToken) {
	item := tok.name
	if name, ok := osByBrowser[item]; ok {
		m.offer(name, "", 75)
	}

	switch {
	case hasPrefixFold(item, "iphone"), hasPrefixFold(item, "ipad"), hasPrefixFold(item, "ipod"):
		m.offer(osIOS, "", 79)
	case hasPrefixFold(item, "ios"), hasPrefixFold(item, "ipados"):
		m.offer(osIOS, appleVersion(nonEmpty(tok.version, afterWord(item))), 79)
	case hasPrefixFold(item, "android"):
		m.offer(osAndroid, androidVersion(item, tok.version), 80)
	case item == "Dalvik":
		m.offer(osAndroid, "", 70)
	case strings.EqualFold(item, "Darwin"):
		m.offer(darwinOS(tokens), "", 65)
	case hasPrefixFold(item, "linux"):
		m.offer(osLinux, "", 40)
	}
}

// offerCommentOS handles comment items such as "Windows NT 10.0",
// "CPU iPhone OS 17_5 like Mac OS X" or "Android 14".
func offerCommentOS(m *osMatch, tok *uaToken, tokens []uaToken) {
	item := tok.name
	switch {
	case hasPrefixFold(item, "cpu iphone os "), hasPrefixFold(item, "cpu os "), hasPrefixFold(item, "iphone os "):
		m.offer(osIOS, appleVersion(item), 80)
	case hasPrefixFold(item, "iphone"), hasPrefixFold(item, "ipad"), hasPrefixFold(item, "ipod"):
		m.offer(osIOS, "", 79)
	case hasPrefixFold(item, "ios"), hasPrefixFold(item, "ipados"):
		m.offer(osIOS, appleVersion(nonEmpty(tok.version, afterWord(item))), 79)
	case hasPrefixFold(item, "android"):
		m.offer(osAndroid, androidVersion(item, tok.version), 80)
	case hasPrefixFold(item, "adr "):
		m.offer(osAndroid, afterWord(item), 78)
	case hasPrefixFold(item, "cros "):
		m.offer(osChromiumOS, lastWord(item), 90)
	case strings.Contains(item, "Mac OS X"), strings.Contains(item, "Mac OS "):
		m.offer(osMacOS, macVersion(item), 70)
	case item == "Macintosh", item == "Mac_PowerPC", item == "Mac_PPC", item == "Mac OS", item == "macOS":
		m.offer(osMacOS, "", 69)
	case hasPrefixFold(item, "os=windows"):
		m.offer(osWindows, windowsVersions[afterPrefixWords(item, 2)], 60)
	case hasPrefixFold(item, "os=mac"):
		m.offer(osMacOS, cleanOSVersion(afterWord(item)), 60)
	case hasPrefixFold(item, "win") && len(item) > 3 && (isDigit(item[3]) || hasPrefixFold(item[3:], "xp")):
		// "win10 x64" in the user agents of some desktop apps.
		m.offer(osWindows, strings.ToUpper(firstWord(item)[3:]), 58)
	case hasPrefixFold(item, "windows nt"):
		m.offer(osWindows, windowsVersions[afterPrefixWords(item, 2)], 60)
	case hasPrefixFold(item, "windows"), hasPrefixFold(item, "win9"), hasPrefixFold(item, "winnt"), item == "Win32", item == "Win64":
		m.offer(osWindows, legacyWindowsVersion(item), 59)
	case hasPrefixFold(item, "linux"):
		m.offer(osLinux, "", 40)
	case (item == "Mobile" || item == "Tablet") && isGeckoOnly(tokens):
		// Firefox OS: "Mozilla/5.0 (Mobile; rv:48.0) Gecko/48.0 Firefox/48.0".
		m.offer(osFirefoxOS, "", 30)
	case strings.EqualFold(item, "darwin"):
		m.offer(osMacOS, "", 40)
	}
}

// osPrefixesByFirstByte indexes osByPrefix by the first byte of the prefix,
// so that each token is compared with a handful of prefixes, not all.
var osPrefixesByFirstByte = func() (index [256][]int) {
	for i, r := range osByPrefix {
		index[r.prefix[0]] = append(index[r.prefix[0]], i)
	}
	return index
}()

func offerOSByPrefix(m *osMatch, item, version string) {
	if item == "" {
		return
	}
	first := item[0]
	if first >= 'A' && first <= 'Z' {
		first += 'a' - 'A'
	}
	for _, i := range osPrefixesByFirstByte[first] {
		r := osByPrefix[i]
		if r.priority < m.priority || !hasPrefixFold(item, r.prefix) {
			continue
		}
		// Require a word boundary so "mint" does not match "Mintaka".
		if len(item) > len(r.prefix) && isLetter(item[len(r.prefix)]) && r.prefix != "s60" {
			continue
		}
		// The number after the name ("Tizen 6.0", "PlayStation 5/2.26")
		// comes first, then the version after a slash ("KAIOS/2.5").
		if rest := firstWord(strings.TrimLeft(item[len(r.prefix):], " _")); rest != "" && isDigit(rest[0]) {
			version = rest
		}
		if r.name == osBlackBerry {
			// "BlackBerry 9700" carries the model, not the OS version.
			version = ""
		}
		m.offer(r.name, cleanOSVersion(version), r.priority)
		return
	}
}

// darwinOS distinguishes macOS from iOS for apps that send only their name,
// "CFNetwork/x" and "Darwin/x". macOS apps add the CPU architecture or the
// Mac model in a comment, iOS apps do not.
func darwinOS(tokens []uaToken) string {
	for _, t := range tokens {
		if !t.comment {
			continue
		}
		for _, mac := range []string{"x86_64", "i386", "arm64", "Power", "Mac", "iMac"} {
			if strings.HasPrefix(t.name, mac) {
				return osMacOS
			}
		}
	}
	return osIOS
}

// isGeckoOnly reports whether the user agent is a Gecko browser without any
// operating system token besides "Mobile" or "Tablet".
func isGeckoOnly(tokens []uaToken) bool {
	gecko := false
	for _, t := range tokens {
		switch {
		case t.name == "Gecko" && !t.comment:
			gecko = true
		case t.comment && (hasPrefixFold(t.name, "android") || hasPrefixFold(t.name, "linux") || hasPrefixFold(t.name, "windows")):
			return false
		}
	}
	return gecko
}

// appleVersion turns "CPU iPhone OS 17_5_1 like Mac OS X" or "17_5" into
// "17.5.1" or "17.5".
func appleVersion(s string) string {
	s = strings.TrimSuffix(s, " like Mac OS X")
	if i := strings.LastIndexByte(s, ' '); i >= 0 {
		s = s[i+1:]
	}
	if s == "" || !isDigit(s[0]) {
		return ""
	}
	return strings.ReplaceAll(s, "_", ".")
}

// macVersion turns "Intel Mac OS X 10_15_7" into "10.15.7".
func macVersion(s string) string {
	i := strings.Index(s, "Mac OS X")
	if i < 0 {
		return ""
	}
	v := strings.TrimLeft(s[i+len("Mac OS X"):], " /")
	v = firstWord(v)
	if v == "" || !isDigit(v[0]) {
		return ""
	}
	return strings.ReplaceAll(v, "_", ".")
}

// androidVersion reads "Android 14", "Android/14" or "Android-4.4" items.
func androidVersion(item, version string) string {
	if version != "" && isDigit(version[0]) {
		return cleanOSVersion(version)
	}
	v := strings.TrimLeft(item[len("android"):], " -_:")
	v = firstWord(v)
	if v == "" || !isDigit(v[0]) {
		return ""
	}
	return cleanOSVersion(v)
}

// legacyWindowsVersion reads "Windows 98", "Win98", "Windows XP" or
// "Windows 10" items.
func legacyWindowsVersion(item string) string {
	lower := strings.ToLower(item)
	switch {
	case strings.Contains(lower, "9x 4.90"), strings.Contains(lower, " me"):
		return "ME"
	case strings.Contains(lower, "98"):
		return "98"
	case strings.Contains(lower, "95"):
		return "95"
	case strings.Contains(lower, "xp"):
		return "XP"
	case strings.Contains(lower, "2000"):
		return "2000"
	case strings.Contains(lower, "vista"):
		return "Vista"
	case strings.HasPrefix(lower, "windows 10"):
		return "10"
	case strings.HasPrefix(lower, "windows 8.1"):
		return "8.1"
	case strings.HasPrefix(lower, "windows 8"):
		return "8"
	case strings.HasPrefix(lower, "windows 7"):
		return "7"
	}
	return ""
}

// cleanOSVersion keeps a version only when it starts with a digit and cuts
// it at the first character that is not a digit, dot or underscore.
func cleanOSVersion(v string) string {
	if v == "" || !isDigit(v[0]) {
		return ""
	}
	end := 0
	for end < len(v) && (isDigit(v[end]) || v[end] == '.' || v[end] == '_') {
		end++
	}
	return strings.ReplaceAll(strings.TrimRight(v[:end], "._"), "_", ".")
}

// afterPrefixWords returns the (n+1)th space-separated word of s, or "".
func afterPrefixWords(s string, n int) string {
	fields := s
	for range n {
		i := strings.IndexByte(fields, ' ')
		if i < 0 {
			return ""
		}
		fields = fields[i+1:]
	}
	return firstWord(fields)
}

func lastWord(s string) string {
	if i := strings.LastIndexByte(s, ' '); i >= 0 {
		return s[i+1:]
	}
	return s
}

func nonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
