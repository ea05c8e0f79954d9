package enrich

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestUserAgentClients(t *testing.T) {
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
			name:   "android tablet without Mobile token",
			ua:     "Mozilla/5.0 (Linux; Android 11; M2105K81AC) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/112.0.0.0 Safari/537.36",
			device: "Tablet", browser: "Chrome", browserVersion: "112.0.0.0", os: "Android", osVersion: "11",
		},
		{
			name:   "samsung tablet",
			ua:     "Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
			device: "Tablet", browser: "Chrome", browserVersion: "120.0.0.0", os: "Android", osVersion: "13",
		},
		{
			name:   "ipad safari",
			ua:     "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
			device: "Tablet", browser: "Mobile Safari", browserVersion: "17.5", os: "iOS", osVersion: "17.5",
		},
		{
			name:   "iphone safari raw OS string",
			ua:     "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
			device: "Mobile", browser: "Mobile Safari", browserVersion: "17.5", os: "iOS", osVersion: "17.5.1",
		},
		{
			name:   "iphone chrome",
			ua:     "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1",
			device: "Mobile", browser: "Chrome", browserVersion: "126.0.6478.54", os: "iOS", osVersion: "17.5",
		},
		{
			name:   "macos chrome",
			ua:     "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/127.0.0.0 Safari/537.36",
			device: "Desktop", browser: "Chrome", browserVersion: "127.0.0.0", os: "Mac OS", osVersion: "10.15.7",
		},
		{
			name:   "macos safari",
			ua:     "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
			device: "Desktop", browser: "Safari", browserVersion: "17.5", os: "Mac OS", osVersion: "10.15.7",
		},
		{
			name:   "android phone chrome",
			ua:     "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/127.0.0.0 Mobile Safari/537.36",
			device: "Mobile", browser: "Chrome", browserVersion: "127.0.0.0", os: "Android", osVersion: "10",
		},
		{
			name:   "samsung internet",
			ua:     "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
			device: "Mobile", browser: "Samsung Internet", browserVersion: "25.0", os: "Android", osVersion: "14",
		},
		{
			name:   "windows edge",
			ua:     "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87",
			device: "Desktop", browser: "Edge", browserVersion: "126.0.2592.87", os: "Windows", osVersion: "10",
		},
		{
			name:   "linux firefox",
			ua:     "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
			device: "Desktop", browser: "Firefox", browserVersion: "127.0", os: "Linux",
		},
		{
			name:   "chromeos chrome",
			ua:     "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
			device: "Desktop", browser: "Chrome", browserVersion: "126.0.0.0", os: "Chromium OS", osVersion: "14541.0.0",
		},
		{
			name:   "instagram in-app browser on android",
			ua:     "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP1A.240305.019.A1; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/122.0.6261.119 Mobile Safari/537.36 Instagram 321.0.0.39.106 Android (34/14; 420dpi; 1080x2400; Google/google; Pixel 8; shiba; shiba; en_US; 571227120)",
			device: "Mobile", browser: "Instagram", browserVersion: "321.0.0.39.106", os: "Android", osVersion: "14",
		},
		{
			name:   "facebook in-app browser on ios",
			ua:     "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/460.0.0.42.106;FBBV/598224413;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.4;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5;FBRV/600472312]",
			device: "Mobile", browser: "Facebook", browserVersion: "460.0.0.42.106", os: "iOS", osVersion: "17.4",
		},
		{
			name:   "android webview",
			ua:     "Mozilla/5.0 (Linux; Android 13; SM-A536B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/125.0.6422.165 Mobile Safari/537.36",
			device: "Mobile", browser: "Chrome WebView", browserVersion: "125.0.6422.165", os: "Android", osVersion: "13",
		},
		{
			name:   "samsung tizen tv",
			ua:     "Mozilla/5.0 (SMART-TV; LINUX; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) 76.0.3809.146/6.0 TV Safari/537.36",
			device: "Smarttv", browser: "Safari", os: "Tizen", osVersion: "6.0",
		},
		{
			name:   "tiktok in-app browser on ios",
			ua:     "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3.1 Mobile/15E148 Safari/604.1 musical_ly_34.3.1 JsSdk/2.0 NetType/4G Channel/App Store",
			device: "Mobile", browser: "TikTok", browserVersion: "34.3.1", os: "iOS", osVersion: "17.3.1",
		},
		{
			name:   "playstation console",
			ua:     "Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0 Safari/605.1.15",
			device: "Console", browser: "Safari", browserVersion: "13.0", os: "PlayStation", osVersion: "5",
		},
		{
			name:   "form-encoded iphone user agent",
			ua:     "Mozilla/5.0+(iPhone;+CPU+iPhone+OS+9_3_1+like+Mac+OS+X)+AppleWebKit/601.1.46+(KHTML,+like+Gecko)+Version/9.0+Mobile/13E238+Safari/601.1",
			device: "Mobile", browser: "Mobile Safari", browserVersion: "9.0", os: "iOS", osVersion: "9.3.1",
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
			require.False(t, got.Bot, "bot, reasons %v", got.BotReasons)
		})
	}
}

func TestUserAgentBots(t *testing.T) {
	tests := []struct {
		name   string
		ua     string
		reason string
	}{
		{"slack link preview", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", ReasonLinkPreview},
		{"slack image proxy", "Slack-ImgProxy (+https://api.slack.com/robots)", ReasonLinkPreview},
		{"whatsapp link preview", "WhatsApp/2.23.20.0 A", ReasonLinkPreview},
		{"telegram link preview", "TelegramBot (like TwitterBot)", ReasonLinkPreview},
		{"discord link preview", "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", ReasonLinkPreview},
		{"linkedin link preview", "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)", ReasonLinkPreview},
		{"x link preview", "Twitterbot/1.0", ReasonLinkPreview},
		{"facebook link preview", "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", ReasonLinkPreview},
		{"imessage link preview", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0", ReasonLinkPreview},
		{"mastodon server", "http.rb/5.1.1 (Mastodon/4.2.1; +https://mastodon.social/)", ReasonLinkPreview},
		{"pleroma server", "Pleroma 2.5.2; https://pleroma.example <admin@pleroma.example>", ReasonLinkPreview},
		{"misskey server", "Misskey/13.14.2 (https://misskey.io)", ReasonLinkPreview},
		{"curl", "curl/8.4.0", ReasonHTTPLibrary},
		{"wget", "Wget/1.21.4", ReasonHTTPLibrary},
		{"python requests", "python-requests/2.31.0", ReasonHTTPLibrary},
		{"go http client", "Go-http-client/2.0", ReasonHTTPLibrary},
		{"okhttp", "okhttp/4.12.0", ReasonHTTPLibrary},
		{"axios", "axios/1.6.7", ReasonHTTPLibrary},
		{"unknown script", "ApacheBench/2.3", ReasonHTTPLibrary},
		{"headless chrome", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.109 Safari/537.36", ReasonHeadless},
		{"phantomjs", "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1", ReasonHeadless},
		{"googlebot", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", ReasonCrawler},
		{"googlebot smartphone", "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/127.0.6533.119 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", ReasonCrawler},
		{"gptbot", "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)", ReasonAICrawler},
		{"claudebot", "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)", ReasonAICrawler},
		{"ahrefs", "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", ReasonSEOTool},
		{"uptimerobot", "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)", ReasonUptimeMonitor},
		{"feed reader", "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 16 subscribers; like FeedFetcher-Google)", ReasonCrawler},
	}

	e := newTestEnricher(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.Enrich(testHit(tt.ua))
			require.True(t, got.Bot)
			require.Equal(t, []string{tt.reason}, got.BotReasons)
		})
	}
}

func TestUserAgentPeopleNotBots(t *testing.T) {
	uas := []string{
		// In-app browsers and web views of apps people use.
		"Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP1A.240305.019.A1; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/122.0.6261.119 Mobile Safari/537.36 Instagram 321.0.0.39.106 Android (34/14; 420dpi; 1080x2400; Google/google; Pixel 8; shiba; shiba; en_US; 571227120)",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/460.0.0.42.106;FBBV/598224413;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.4;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5;FBRV/600472312]",
		"Mozilla/5.0 (Linux; Android 16; Pixel 10 Pro XL Build/CP1A.260305.018; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/146.0.7680.174 Mobile Safari/537.36 MetaIAB Facebook",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Slack/4.4.2 Chrome/78.0.3904.130 Electron/7.2.1 Safari/537.36 Sonic Slack_SSB/4.4.2",
		"Mozilla/5.0 (Linux; Android 7.1.2; G011A Build/N2G48H; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/66.0.3359.158 Safari/537.36 Viber",
		"Mozilla/5.0 (Linux; Android 13; 2201116SI Build/TKQ1.221114.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/125.0.6422.165 Mobile Safari/537.36 CamScanner/4.5.0.2305051722",
		"Mozilla/5.0 (Windows NT 10.0; WOW64; rv:60.0) Gecko/20100101 Thunderbird/60.7.0 Lightning/6.2.7",
		// Native HTTP clients of iOS and Android apps.
		"Instagram/321.0 CFNetwork/1494.0.7 Darwin/23.4.0",
		"Dalvik/2.1.0 (Linux; U; Android 13; SM-A536B Build/TP1A.220624.014)",
	}

	e := newTestEnricher(t, nil)
	for _, ua := range uas {
		got := e.Enrich(testHit(ua))
		require.Falsef(t, got.Bot, "%s: reasons %v", ua, got.BotReasons)
	}
}

func TestUserAgentEmpty(t *testing.T) {
	t.Run("bot by default", func(t *testing.T) {
		e := newTestEnricher(t, nil)
		got := e.Enrich(testHit(""))
		require.True(t, got.Bot)
		require.Equal(t, []string{ReasonEmptyUA}, got.BotReasons)
		require.Empty(t, got.Device)
		require.Empty(t, got.Browser)
		require.Empty(t, got.OS)
	})

	t.Run("person when configured", func(t *testing.T) {
		e := newTestEnricher(t, func(c *Config) { c.Bot.EmptyUAIsBot = false })
		got := e.Enrich(testHit(""))
		require.False(t, got.Bot)
		require.Nil(t, got.BotReasons)
	})
}

func TestUserAgentCache(t *testing.T) {
	p, err := newUAParser(2)
	require.NoError(t, err)

	const ua = "curl/8.4.0"
	first := p.lookup(ua)
	require.Equal(t, 1, p.cache.Len())
	require.Equal(t, first, p.lookup(ua))

	p.lookup("Wget/1.21.4")
	p.lookup("python-requests/2.31.0")
	p.lookup("okhttp/4.12.0")
	require.LessOrEqual(t, p.cache.Len(), 2*cacheShards, "entries beyond the capacity of each shard are evicted")
}
