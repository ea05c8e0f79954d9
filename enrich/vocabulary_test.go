package enrich

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestVocabularyDocumented checks that VOCABULARY.md lists every device,
// browser, OS and bot reason the rules can produce, each in backticks.
func TestVocabularyDocumented(t *testing.T) {
	doc, err := os.ReadFile("VOCABULARY.md")
	require.NoError(t, err)

	for _, name := range producibleNames() {
		require.Truef(t, strings.Contains(string(doc), "`"+name+"`"), "VOCABULARY.md does not list %q", name)
	}
}

func producibleNames() []string {
	names := []string{
		deviceDesktop, deviceMobile, deviceTablet, deviceSmartTV, deviceConsole,
		deviceWearable, deviceEmbedded, deviceXR,

		browserChrome, browserChromeWebView, browserChromeHeadles, browserSafari,
		browserMobileSafari, browserAndroid, browserWebKit, browserFirefox, browserIE,
		browserOpera, browserMozilla, browserBlackBerry,

		osAndroid, osIOS, osMacOS, osWindows, osWindowsPhone, osWindowsMob, osLinux,
		osChromiumOS, osTizen, osKaiOS, osFirefoxOS, osWebOS, osBlackBerry, osSymbian,
		osSeries40, osWatchOS, osTvOS, osPlayStation, osNintendo,

		ReasonCrawler, ReasonAICrawler, ReasonLinkPreview, ReasonSEOTool,
		ReasonUptimeMonitor, ReasonHTTPLibrary, ReasonHeadless, ReasonHeadRequest,
		ReasonEmailScanner, ReasonEmptyUA, ReasonDatacenter,
	}
	for _, r := range browserByToken {
		names = append(names, r.name)
	}
	for _, r := range browserBySubstring {
		names = append(names, r.rule.name)
	}
	for _, r := range osByPrefix {
		names = append(names, r.name)
	}
	for _, r := range osBySubstring {
		names = append(names, r.name)
	}
	for _, name := range osByBrowser {
		names = append(names, name)
	}
	for _, m := range deviceMarkers {
		names = append(names, m.device)
	}
	for _, r := range curatedBotRules {
		names = append(names, r.reason)
	}
	return names
}
