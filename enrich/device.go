package enrich

import (
	"strings"
)

// Device types, spelled as in the public webhook contract.
const (
	deviceDesktop  = "Desktop"
	deviceMobile   = "Mobile"
	deviceTablet   = "Tablet"
	deviceSmartTV  = "Smarttv"
	deviceConsole  = "Console"
	deviceWearable = "Wearable"
	deviceEmbedded = "Embedded"
	deviceXR       = "Xr"
)

// deviceMarkers are lower-case substrings that settle the device type on
// their own, tried in order. Markers of TVs and consoles come before those
// of phones because TV and console user agents often copy a phone's.
var deviceMarkers = []struct {
	marker string
	device string
}{
	{"playstation", deviceConsole},
	{"xbox", deviceConsole},
	{"nintendo", deviceConsole},
	{"ouya", deviceConsole},

	{"smart-tv", deviceSmartTV},
	{"smarttv", deviceSmartTV},
	{"smart tv", deviceSmartTV},
	{"hbbtv", deviceSmartTV},
	{"web0s", deviceSmartTV},
	{"netcast", deviceSmartTV},
	{"bravia", deviceSmartTV},
	{"googletv", deviceSmartTV},
	{"google tv", deviceSmartTV},
	{"android tv", deviceSmartTV},
	{"androidtv", deviceSmartTV},
	{"crkey", deviceSmartTV},
	{"roku", deviceSmartTV},
	{"appletv", deviceSmartTV},
	{"apple tv", deviceSmartTV},
	{"tvos", deviceSmartTV},
	{"opera tv", deviceSmartTV},
	{"tv safari", deviceSmartTV},
	{"philipstv", deviceSmartTV},
	{"viera", deviceSmartTV},
	{"aquosbrowser", deviceSmartTV},
	{"tsbrowser", deviceSmartTV},
	{"inettvbrowser", deviceSmartTV},
	{"sonydtv", deviceSmartTV},
	{"vidaa", deviceSmartTV},
	{"dtv", deviceSmartTV},
	{"; aft", deviceSmartTV},
	{"mibox", deviceSmartTV},
	{"large screen", deviceSmartTV},

	{"watchos", deviceWearable},
	{"wear os", deviceWearable},
	{"; watch", deviceWearable},
	{"glass 1", deviceWearable},

	{"oculusbrowser", deviceXR},
	{"; quest", deviceXR},
	{"quest 2", deviceXR},
	{"quest 3", deviceXR},
	{"quest pro", deviceXR},
	{"pico browser", deviceXR},
	{"mobile vr", deviceXR},

	{"tesla", deviceEmbedded},
	{"qtcarbrowser", deviceEmbedded},

	{"ipad", deviceTablet},
	{"; tablet;", deviceTablet},
	{"(tablet;", deviceTablet},
	{"opera tablet", deviceTablet},
	{"playbook", deviceTablet},
	{"kindle", deviceTablet},
	{"silk/", deviceTablet},
	{"/apad", deviceTablet},
}

// mobileOSes are the operating systems that run only on phones, apart from
// the tablets and TVs the markers catch first.
var mobileOSes = map[string]bool{
	osIOS:          true,
	osWindowsPhone: true,
	osWindowsMob:   true,
	osBlackBerry:   true,
	osSymbian:      true,
	osSeries40:     true,
	osKaiOS:        true,
	osFirefoxOS:    true,
	osWebOS:        true,
	osTizen:        true,
	"Bada":         true,
	"MeeGo":        true,
	"Maemo":        true,
	"Sailfish":     true,
	"HarmonyOS":    true,
}

// mobileMarkers are lower-case substrings of phone user agents that name no
// operating system this package detects: feature phones and proxy browsers.
var mobileMarkers = []string{
	"mobi", "iphone", "ipod", "opera mini", "midp", "j2me", "cldc",
	"up.browser", "obigo", "netfront", "phone",
}

// laptopMarkers are lower-case product lines of laptops, desktops and
// mini PCs. Android runs on some of them (Chromebooks, Remix OS PCs), and
// their user agents lack the "Mobile" token like a tablet's.
var laptopMarkers = []string{
	"book", "thinkpad", "ideapad", "latitude", "inspiron", "vostro", "aspire",
	"travelmate", "satellite", "pavilion", "easynote", "laptop", "nuc", "remix mini",
	"desktop", " pc", "aio ", "all-in-one",
}

// isLaptopModel reports whether a lower-case Android model names a laptop
// or a desktop. Chuwi's HiBook is a tablet with a keyboard dock.
func isLaptopModel(model string) bool {
	if strings.Contains(model, "hibook") {
		return false
	}
	for _, m := range laptopMarkers {
		if strings.Contains(model, m) {
			return true
		}
	}
	return false
}

// detectDevice returns the device type of a user agent from the substrings
// found in it, its tokens and the detected operating system. libraryMobile
// is mssola/useragent's verdict, which decides when no rule recognises the
// device. A user agent without any sign of another type is Desktop, as in
// the public contract; only the empty user agent has an Unknown device.
func detectDevice(ua string, found *foundSubstrings, t *uaTokens, osName string, libraryMobile bool) string {
	if ua == "" {
		return ""
	}

	for i, m := range deviceMarkers {
		if found.has(deviceMarkerIDs[i]) {
			return m.device
		}
	}

	switch {
	case osName == osAndroid:
		return androidDevice(ua, found, t)
	case osName == osIOS:
		// iPads matched a marker above; the rest are iPhones and iPods.
		return deviceMobile
	case mobileOSes[osName]:
		return deviceMobile
	case osName == osWindows && hasToken(t.tokens(), "Touch") && found.has(idTrident):
		// Internet Explorer on Windows 8 and later adds "Touch" on
		// touch-screen devices: tablets and convertibles.
		return deviceTablet
	}

	if d := puffinDevice(t); d != "" {
		return d
	}
	for _, id := range mobileMarkerIDs {
		if found.has(id) {
			return deviceMobile
		}
	}
	if libraryMobile {
		return deviceMobile
	}
	return deviceDesktop
}

// androidDevice distinguishes phones, tablets and laptops. A model named
// like a laptop or a tablet (tabletmodels.go) decides first. Otherwise
// browsers decide by the "Mobile" token, which they send on phones and
// leave out on tablets, following Google's guidance to site owners. The
// HTTP client of Android apps (Dalvik) sends no such token, so apps count
// as phones, by far the more common Android devices.
func androidDevice(ua string, found *foundSubstrings, t *uaTokens) string {
	if found.has(idChromebook) {
		return deviceDesktop
	}
	model := strings.ToLower(androidModel(ua, t))
	switch {
	case isLaptopModel(model):
		return deviceDesktop
	case isTabletModel(model, found):
		return deviceTablet
	}

	if d := puffinDevice(t); d != "" {
		return d
	}
	if found.has(idMobile) || !hasPrefixFold(ua, "mozilla/") && !hasPrefixFold(ua, "opera") {
		return deviceMobile
	}
	return deviceTablet
}

// androidModel returns the device model of an Android user agent: the
// comment item that ends in " Build/...", or else the item after the
// "Android x" (or UC Browser's "Adr x") item that is not a locale or a
// flag. User agents that lost the parentheses of their comment
// ("Dalvik/1.6.0 Linux; U; Android 4.2.2; AP-727G Build/JDQ39") give the
// text between the last semicolon and " Build/".
func androidModel(ua string, t *uaTokens) string {
	tokens := t.tokens()
	for _, tok := range tokens {
		if tok.comment && strings.HasSuffix(tok.name, " Build") {
			return strings.TrimSuffix(tok.name, " Build")
		}
	}

	for i, tok := range tokens {
		if !tok.comment || !hasPrefixFold(tok.name, "android") && !hasPrefixFold(tok.name, "adr ") {
			continue
		}
		for _, next := range tokens[i+1:] {
			if !next.comment {
				break
			}
			if !isLocaleOrFlag(next.name) {
				return next.name
			}
		}
		break
	}
	return modelBeforeBuild(ua)
}

// modelBeforeBuild returns the text between the semicolon before the first
// " Build/" of ua and that " Build/", or "".
func modelBeforeBuild(ua string) string {
	end := strings.Index(ua, " Build/")
	if end < 0 {
		return ""
	}
	start := strings.LastIndexByte(ua[:end], ';')
	if start < 0 {
		return ""
	}
	return strings.TrimSpace(ua[start+1 : end])
}

// isLocaleOrFlag reports whether a comment item is a locale such as "en-us"
// or "ro_RO", or one of the flags browsers put next to the model.
func isLocaleOrFlag(s string) bool {
	switch s {
	case "U", "I", "N", "wv", "K", "Mobile", "Tablet", "arm_64", "arm", "Linux":
		return true
	}
	return len(s) == 2 && isLetter(s[0]) && isLetter(s[1]) ||
		len(s) == 5 && isLetter(s[0]) && isLetter(s[1]) && (s[2] == '-' || s[2] == '_') && isLetter(s[3]) && isLetter(s[4])
}

// puffinDevice reads the device letters Puffin appends to its version:
// "AP" and "IP" are Android and iOS phones, "AT" and "IT" tablets.
func puffinDevice(t *uaTokens) string {
	v := tokenVersion(t.tokens(), "Puffin")
	switch {
	case strings.HasSuffix(v, "AP"), strings.HasSuffix(v, "IP"):
		return deviceMobile
	case strings.HasSuffix(v, "AT"), strings.HasSuffix(v, "IT"):
		return deviceTablet
	}
	return ""
}
