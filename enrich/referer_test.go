package enrich

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clickstream/clickstream/pkg/event"
)

func TestRefererHost(t *testing.T) {
	tests := []struct {
		referer string
		want    string
	}{
		{"", event.DirectReferer},
		{"https://www.google.com/", "google.com"},
		{"https://WWW.Example.COM:8443/path?q=1#top", "example.com"},
		{"http://user:pass@news.ycombinator.com/item?id=1", "news.ycombinator.com"},
		{"https://t.co/abc", "t.co"},
		{"android-app://com.google.android.gm/", "com.google.android.gm"},
		{"https://[2001:db8::1]:443/x", "2001:db8::1"},
		{"https://192.0.2.1/x", "192.0.2.1"},
		{"https://www./", event.DirectReferer},
		{"google.com", event.DirectReferer},
		{"/relative/path", event.DirectReferer},
		{"https://", event.DirectReferer},
		{"https://exa mple.com/", event.DirectReferer},
		{"://example.com", event.DirectReferer},
		{"1http://example.com", event.DirectReferer},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, refererHost(tt.referer), tt.referer)
	}
}

func TestEmailScannerHosts(t *testing.T) {
	for _, host := range []string{
		"nam12.safelinks.protection.outlook.com",
		"eur03.safelinks.protection.outlook.com",
		"urldefense.proofpoint.com",
		"urldefense.com",
		"protect-eu.mimecast.com",
		"linkprotect.cudasvc.com",
		"secure-web.cisco.com",
	} {
		require.True(t, isEmailScannerHost(host), host)
	}
	for _, host := range []string{"outlook.com", "google.com", "notmimecast.com", "community.mimecast.com", "proofpoint.com"} {
		require.False(t, isEmailScannerHost(host), host)
	}
}
