package enrich

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLibraryDivision covers the values that come from mssola/useragent
// and the ones where the rules overrule it.
func TestLibraryDivision(t *testing.T) {
	tests := []struct {
		name           string
		ua             string
		device         string
		browser        string
		browserVersion string
		os             string
		osVersion      string
	}{
		{
			name:   "ie compatibility view version from trident",
			ua:     "Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.2; WOW64; Trident/6.0; .NET4.0E; .NET4.0C)",
			device: "Desktop", browser: "IE", browserVersion: "10.0", os: "Windows", osVersion: "8",
		},
		{
			name:   "ie 11 with a copied firefox token",
			ua:     "Mozilla/5.0 (Windows NT 6.1; Win64; x64; Trident/7.0; rv:11.0) like Gecko/20100101 Firefox/12.0",
			device: "Desktop", browser: "IE", browserVersion: "11.0", os: "Windows", osVersion: "7",
		},
		{
			name:   "windows phone version from the library",
			ua:     "Mozilla/5.0 (compatible; MSIE 9.0; Windows Phone OS 7.5; Trident/5.0; IEMobile/9.0; NOKIA; Lumia 800)",
			device: "Mobile", browser: "IEMobile", browserVersion: "9.0", os: "Windows Phone", osVersion: "7.5",
		},
		{
			name:   "blackberry model is no os version",
			ua:     "Mozilla/5.0 (BlackBerry; U; BlackBerry 9800; en-GB) AppleWebKit/534.1+ (KHTML, like Gecko) Version/6.0.0.141 Mobile Safari/534.1+",
			device: "Mobile", browser: "BlackBerry", browserVersion: "6.0.0.141", os: "BlackBerry",
		},
		{
			name:   "opera presto version from the version token",
			ua:     "Opera/9.80 (Windows NT 6.1; WOW64) Presto/2.12.388 Version/12.16",
			device: "Desktop", browser: "Opera", browserVersion: "12.16", os: "Windows", osVersion: "7",
		},
		{
			name:   "webkit browser the library calls safari",
			ua:     "Mozilla/5.0 (Windows NT 6.1) AppleWebKit/535.7 (KHTML, like Gecko) RockMelt/0.16.91.483 Chrome/16.0.912.77 Safari/535.7",
			device: "Desktop", browser: "Chrome", browserVersion: "16.0.912.77", os: "Windows", osVersion: "7",
		},
		{
			name:   "android web view the library calls android",
			ua:     "Mozilla/5.0 (Linux; Android 13; SM-A536B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/125.0.6422.165 Mobile Safari/537.36",
			device: "Mobile", browser: "Chrome WebView", browserVersion: "125.0.6422.165", os: "Android", osVersion: "13",
		},
		{
			name:   "android laptop the library calls mobile",
			ua:     "Mozilla/5.0 (Linux; Android 7.1.1; Inspiron 5567) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/75.0.3770.101 Safari/537.36",
			device: "Desktop", browser: "Chrome", browserVersion: "75.0.3770.101", os: "Android", osVersion: "7.1.1",
		},
		{
			name:   "linux distribution the library calls linux",
			ua:     "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
			device: "Desktop", browser: "Firefox", browserVersion: "121.0", os: "Ubuntu",
		},
		{
			name:   "ipad os from the raw cpu os string",
			ua:     "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
			device: "Tablet", browser: "Mobile Safari", browserVersion: "16.6", os: "iOS", osVersion: "16.6",
		},
	}

	e := newTestEnricher(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.Enrich(testHit(tt.ua))
			require.Equal(t, tt.device, got.Device, "device")
			require.Equal(t, tt.browser, got.Browser, "browser")
			require.Equal(t, tt.browserVersion, got.BrowserVersion, "browser version")
			require.Equal(t, tt.os, got.OS, "os")
			require.Equal(t, tt.osVersion, got.OSVersion, "os version")
		})
	}
}

func TestLibraryBotVerdict(t *testing.T) {
	e := newTestEnricher(t, nil)

	t.Run("name with search is a crawler", func(t *testing.T) {
		got := e.Enrich(testHit("Mnogosearch-3.1.21"))
		require.Equal(t, []string{ReasonCrawler}, got.BotReasons)
	})

	t.Run("firefox fetch client is a person", func(t *testing.T) {
		got := e.Enrich(testHit("MozacFetch/49.0.20200702190156"))
		require.False(t, got.Bot, "reasons %v", got.BotReasons)
		require.Equal(t, "Firefox", got.Browser)
	})

	t.Run("okhttp stays a desktop script", func(t *testing.T) {
		got := e.Enrich(testHit("okhttp/4.12.0"))
		require.Equal(t, "Desktop", got.Device)
		require.Equal(t, []string{ReasonHTTPLibrary}, got.BotReasons)
	})
}

func TestLibraryOS(t *testing.T) {
	tests := []struct {
		name, version, platform string
		wantOS, wantVersion     string
	}{
		{"Windows", "10", "Windows", "Windows", "10"},
		{"Windows NT", "6.4", "Windows", "Windows", "10"},
		{"Windows", "(SP1)", "Windows", "Windows", ""},
		{"Windows Phone OS", "7.5", "Windows", "Windows Phone", "7.5"},
		{"iPhone OS", "17.5.1", "iPhone", "iOS", "17.5.1"},
		{"OS", "16.6", "iPad", "iOS", "16.6"},
		{"OS", "16.6", "X11", "", ""},
		{"Mac OS X", "10.15.7", "Macintosh", "Mac OS", "10.15.7"},
		{"PPC Mac OS X", "10.4", "Macintosh", "Mac OS", "10.4"},
		{"Android", "14", "Linux", "Android", "14"},
		{"Linux", "x86_64", "X11", "Linux", ""},
		{"CrOS x86_64", "14541.0.0", "X11", "Chromium OS", "14541.0.0"},
		{"BlackBerry", "9780", "BlackBerry", "BlackBerry", ""},
		{"SunOS", "5.10", "X11", "Solaris", "5.10"},
		{"en-US", "", "Linux", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name+" "+tt.version, func(t *testing.T) {
			os, version := libraryOS(tt.name, tt.version, tt.platform)
			require.Equal(t, tt.wantOS, os, "os")
			require.Equal(t, tt.wantVersion, version, "version")
		})
	}
}
