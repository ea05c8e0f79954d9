package replay

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseCombined(t *testing.T) {
	may17 := time.Date(2015, 5, 17, 10, 5, 3, 0, time.UTC)

	tests := []struct {
		name string
		line string
		want Entry
	}{
		{
			name: "apache line",
			line: `83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /presentations/logstash-monitorama-2013/images/kibana-search.png HTTP/1.1" 200 203023 "http://semicomplete.com/presentations/logstash-monitorama-2013/" "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.77 Safari/537.36"`,
			want: Entry{IP: "83.149.9.216", Time: may17, Method: "GET",
				Path: "/presentations/logstash-monitorama-2013/images/kibana-search.png", Protocol: "HTTP/1.1",
				Status: 200, Bytes: 203023, Referer: "http://semicomplete.com/presentations/logstash-monitorama-2013/",
				UserAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.77 Safari/537.36"},
		},
		{
			name: "head without body and dash referer",
			line: `89.170.74.95 - - [17/May/2015:16:05:27 +0000] "HEAD /projects/xdotool/ HTTP/1.1" 200 - "-" "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:24.0) Gecko/20100101 Firefox/24.0"`,
			want: Entry{IP: "89.170.74.95", Time: time.Date(2015, 5, 17, 16, 5, 27, 0, time.UTC), Method: "HEAD",
				Path: "/projects/xdotool/", Protocol: "HTTP/1.1", Status: 200,
				UserAgent: "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:24.0) Gecko/20100101 Firefox/24.0"},
		},
		{
			name: "post with dash user agent",
			line: `78.173.140.106 - - [19/May/2015:09:05:53 +0000] "POST /blog/geekery/pyblosxom-mdate-vim-hack.html/trackback/ HTTP/1.1" 404 7861 "http://www.semicomplete.com/blog/geekery/pyblosxom-mdate-vim-hack.html" "-"`,
			want: Entry{IP: "78.173.140.106", Time: time.Date(2015, 5, 19, 9, 5, 53, 0, time.UTC), Method: "POST",
				Path: "/blog/geekery/pyblosxom-mdate-vim-hack.html/trackback/", Protocol: "HTTP/1.1", Status: 404,
				Bytes: 7861, Referer: "http://www.semicomplete.com/blog/geekery/pyblosxom-mdate-vim-hack.html"},
		},
		{
			name: "hex escapes in referer",
			line: `201.242.142.135 - - [19/May/2015:11:05:10 +0000] "GET /files/logstash/ HTTP/1.0" 200 13316 "http://\xe4\xe5\xe3\xf2\xff\xf0\xed\xee\xe5-\xec\xfb\xeb\xee.\xf0\xf4/" "Mozilla/5.0 (Windows NT 6.1; rv:11.0) Gecko/20100101 Firefox/11.0"`,
			want: Entry{IP: "201.242.142.135", Time: time.Date(2015, 5, 19, 11, 5, 10, 0, time.UTC), Method: "GET",
				Path: "/files/logstash/", Protocol: "HTTP/1.0", Status: 200, Bytes: 13316,
				Referer:   "http://\xe4\xe5\xe3\xf2\xff\xf0\xed\xee\xe5-\xec\xfb\xeb\xee.\xf0\xf4/",
				UserAgent: "Mozilla/5.0 (Windows NT 6.1; rv:11.0) Gecko/20100101 Firefox/11.0"},
		},
		{
			name: "escaped quotes and backslash",
			line: `10.0.0.1 - bob [17/May/2015:10:05:03 +0000] "GET /a HTTP/1.1" 200 5 "-" "say \"hi\" C:\\dir \q"`,
			want: Entry{IP: "10.0.0.1", Time: may17, Method: "GET", Path: "/a", Protocol: "HTTP/1.1",
				Status: 200, Bytes: 5, UserAgent: `say "hi" C:\dir \q`},
		},
		{
			name: "dash request",
			line: `192.0.2.1 - - [17/May/2015:10:05:03 +0000] "-" 408 - "-" "-"`,
			want: Entry{IP: "192.0.2.1", Time: may17, Status: 408},
		},
		{
			name: "http/0.9 request",
			line: `192.0.2.1 - - [17/May/2015:10:05:03 +0000] "GET /" 200 12`,
			want: Entry{IP: "192.0.2.1", Time: may17, Method: "GET", Path: "/", Status: 200, Bytes: 12},
		},
		{
			name: "common log format",
			line: `192.0.2.1 - - [17/May/2015:12:05:03 +0200] "GET /x HTTP/1.1" 304 0`,
			want: Entry{IP: "192.0.2.1", Time: time.Date(2015, 5, 17, 12, 5, 3, 0, time.FixedZone("", 2*3600)),
				Method: "GET", Path: "/x", Protocol: "HTTP/1.1", Status: 304},
		},
		{
			name: "nginx extra fields and ipv6",
			line: `2001:db8::1 - - [17/May/2015:10:05:03 +0000] "GET /x HTTP/2.0" 200 1 "https://r.example/" "curl/8.0" "203.0.113.9" rt=0.001`,
			want: Entry{IP: "2001:db8::1", Time: may17, Method: "GET", Path: "/x", Protocol: "HTTP/2.0",
				Status: 200, Bytes: 1, Referer: "https://r.example/", UserAgent: "curl/8.0"},
		},
		{
			name: "crlf",
			line: "192.0.2.1 - - [17/May/2015:10:05:03 +0000] \"GET /x HTTP/1.1\" 200 1 \"-\" \"ua\"\r\n",
			want: Entry{IP: "192.0.2.1", Time: may17, Method: "GET", Path: "/x", Protocol: "HTTP/1.1",
				Status: 200, Bytes: 1, UserAgent: "ua"},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCombined(tt.line)
			require.NoError(t, err)
			assert.True(t, tt.want.Time.Equal(got.Time), "time %s, want %s", got.Time, tt.want.Time)
			got.Time = tt.want.Time
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseCombinedErrors(t *testing.T) {
	tests := []struct {
		name string
		line string
		want string
	}{
		{"empty", "", "client address is missing"},
		{"only address", "192.0.2.1", "time must start with ["},
		{"truncated time", "192.0.2.1 - - [17/May/2015:10:05", "time has no closing ]"},
		{"bad time", "192.0.2.1 - - [yesterday] \"GET / HTTP/1.1\" 200 1", "time must look like"},
		{"no request", "192.0.2.1 - - [17/May/2015:10:05:03 +0000]", "request is missing"},
		{"unquoted request", "192.0.2.1 - - [17/May/2015:10:05:03 +0000] GET / 200 1", "request must be in double quotes"},
		{"truncated request", `192.0.2.1 - - [17/May/2015:10:05:03 +0000] "GET /long/pa`, "request has no closing quote"},
		{"garbage request", `192.0.2.1 - - [17/May/2015:10:05:03 +0000] "\x16\x03\x01" 400 0`, "request must be METHOD PATH"},
		{"no status", `192.0.2.1 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1"`, "status is missing"},
		{"bad status", `192.0.2.1 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" OK 1`, "status must be a 3-digit code"},
		{"no bytes", `192.0.2.1 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200`, "bytes is missing"},
		{"bad bytes", `192.0.2.1 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 -5`, "bytes must be a byte count"},
		{"truncated referer", `192.0.2.1 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 1 "http://exa`, "referer has no closing quote"},
		{"unquoted referer", `192.0.2.1 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 1 http://x/`, "referer must be in double quotes"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCombined(tt.line)
			require.ErrorIs(t, err, ErrInvalidLine)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func FuzzParseCombined(f *testing.F) {
	f.Add(`83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /a HTTP/1.1" 200 203023 "http://r/" "Mozilla/5.0"`)
	f.Add(`192.0.2.1 - - [17/May/2015:10:05:03 +0000] "-" 408 - "-" "-"`)
	f.Add(`10.0.0.1 - bob [17/May/2015:10:05:03 +0000] "GET /a HTTP/1.1" 200 5 "-" "say \"hi\" \x41\\"`)
	f.Add(`46.118.127.106 - - [20/May/2015:12:05:17 +0000] "GET /x HTTP/1.1" 200 235 "-" "Mozilla/5.0 (compatible`)
	f.Add(`192.0.2.1 - - [17/May/2015:10:05:03 +0000] "GET /" 200 12`)
	f.Add("")

	f.Fuzz(func(t *testing.T, line string) {
		e, err := ParseCombined(line)
		if err != nil {
			require.ErrorIs(t, err, ErrInvalidLine)
			return
		}
		assert.NotEmpty(t, e.IP)
		assert.False(t, strings.ContainsAny(e.IP, " \t"), "address %q", e.IP)
		assert.GreaterOrEqual(t, e.Status, 100)
		assert.LessOrEqual(t, e.Status, 999)
		assert.GreaterOrEqual(t, e.Bytes, int64(0))
		assert.False(t, e.Time.IsZero())
		if e.Method == "" {
			assert.Empty(t, e.Path, "a path needs a method")
		}
	})
}

func TestParseCombinedTruncatedUserAgent(t *testing.T) {
	line := `46.118.127.106 - - [20/May/2015:12:05:17 +0000] "GET /scripts/grok-py-test/configlib.py HTTP/1.1" 200 235 "-" "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html`
	e, err := ParseCombined(line)
	require.NoError(t, err)
	require.True(t, e.Truncated)
	require.Equal(t, "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html", e.UserAgent)
	require.Equal(t, "/scripts/grok-py-test/configlib.py", e.Path)
}
