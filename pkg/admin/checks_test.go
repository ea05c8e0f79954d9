package admin

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clickstream/clickstream/pkg/catalog"
	"github.com/clickstream/clickstream/pkg/event"
	"github.com/clickstream/clickstream/sinks/clickhouse"
)

// testCatalog contains link l1, QR code q1 and page g1 of project p1, and
// link l2 and page g2 of project p2.
func testCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	c := catalog.New()
	require.NoError(t, c.PutLink(event.Link{ID: "l1", ProjectID: "p1", Domain: "go.example", Key: "a", URL: "https://example.com/a"}))
	require.NoError(t, c.PutLink(event.Link{ID: "l2", ProjectID: "p2", Domain: "go.example", Key: "b", URL: "https://example.com/b"}))
	require.NoError(t, c.PutQRCode(event.QRCode{ID: "q1", ProjectID: "p1", Domain: "go.example", Key: "c", URL: "https://example.com/c"}))
	require.NoError(t, c.PutPage(event.Page{ID: "g1", ProjectID: "p1", Domain: "go.example", Key: "d", URL: "https://example.com/d"}))
	require.NoError(t, c.PutPage(event.Page{ID: "g2", ProjectID: "p2", Domain: "go.example", Key: "e", URL: "https://example.com/e"}))
	return c
}

func withCatalog(c *catalog.Catalog) func(*Config, *Deps) {
	return func(_ *Config, d *Deps) { d.Catalog = c }
}

func TestCreateChecksScopeAgainstCatalog(t *testing.T) {
	env := newTestEnv(t, withCatalog(testCatalog(t)))
	with := func(key string, value any) map[string]any {
		b := validCreate()
		b["triggers"] = []string{event.TypeLinkClicked, event.TypeQRCodeScanned, event.TypePageVisited}
		b["qrcodeIds"] = []string{"q1"}
		b["pageIds"] = []string{"g1"}
		b[key] = value
		return b
	}
	cases := map[string]struct {
		body         map[string]any
		field, words string
	}{
		"unknown link":        {with("linkIds", []string{"l1", "l9"}), "linkIds[1]", `link "l9" not found`},
		"link of project p2":  {with("linkIds", []string{"l2"}), "linkIds[0]", `belongs to project "p2"`},
		"page in link scope":  {with("linkIds", []string{"g1"}), "linkIds[0]", `"g1" is a page, not a link`},
		"unknown QR code":     {with("qrcodeIds", []string{"q9"}), "qrcodeIds[0]", `qrcode "q9" not found`},
		"page of project p2":  {with("pageIds", []string{"g1", "g2"}), "pageIds[1]", `belongs to project "p2"`},
		"link in page scope":  {with("pageIds", []string{"l1"}), "pageIds[0]", "is a link, not a page"},
		"other project whole": {with("projectId", "p2"), "linkIds[0]", `belongs to project "p1"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			status, body := env.call(t, http.MethodPost, "/v1/webhooks", tc.body)
			require.Equal(t, http.StatusBadRequest, status, "%v", body)
			field, msg := errorField(t, body)
			require.Equal(t, tc.field, field)
			require.Contains(t, msg, tc.words)
		})
	}
	require.Empty(t, env.reg.List(""), "nothing invalid was stored")

	env.create(t, with("linkIds", []string{"l1"}))
}

func TestPatchChecksScopeAgainstCatalog(t *testing.T) {
	cat := testCatalog(t)
	env := newTestEnv(t, withCatalog(cat))
	id := env.create(t, validCreate())["id"].(string)

	status, body := env.call(t, http.MethodPatch, "/v1/webhooks/"+id, map[string]any{"linkIds": []string{"l1", "l2"}})
	require.Equal(t, http.StatusBadRequest, status, "%v", body)
	field, _ := errorField(t, body)
	require.Equal(t, "linkIds[1]", field)
	stored, _ := env.reg.Get(id)
	require.Equal(t, []string{"l1"}, stored.LinkIDs, "a rejected PATCH changes nothing")

	status, body = env.call(t, http.MethodPatch, "/v1/webhooks/"+id, map[string]any{
		"triggers": []string{event.TypeLinkClicked, event.TypePageVisited}, "pageIds": []string{"g9"},
	})
	require.Equal(t, http.StatusBadRequest, status, "%v", body)
	field, _ = errorField(t, body)
	require.Equal(t, "pageIds[0]", field)

	// A scope that the request leaves alone is not checked again, so a
	// link deleted from the catalog does not block other changes.
	cat.Delete("l1")
	status, body = env.call(t, http.MethodPatch, "/v1/webhooks/"+id, map[string]any{"url": "https://hooks.example/v2"})
	require.Equal(t, http.StatusOK, status, "%v", body)
}

func TestCreateRejectsDeniedHosts(t *testing.T) {
	env := newTestEnv(t, nil)
	hosts := []string{
		"127.0.0.1", "[::1]", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1",
		"224.0.0.1", "0.0.0.0", "240.0.0.1", "255.255.255.255", "[fe80::1]", "[fd00:ec2::254]",
		"[::ffff:127.0.0.1]", "[64:ff9b::a00:1]", "2130706433", "0x7f.1", "127.1", "127.0.0.1:8443",
	}
	for _, host := range hosts {
		t.Run(host, func(t *testing.T) {
			b := validCreate()
			b["url"] = "https://" + host + "/in"
			status, body := env.call(t, http.MethodPost, "/v1/webhooks", b)
			require.Equal(t, http.StatusBadRequest, status, "%v", body)
			field, _ := errorField(t, body)
			require.Equal(t, "url", field)
		})
	}
	require.Empty(t, env.reg.List(""), "nothing invalid was stored")

	for _, host := range []string{"93.184.216.34", "[2606:2800:220:1::]", "hooks.example", "1e100.net"} {
		b := validCreate()
		b["url"] = "https://" + host + "/in"
		env.create(t, b)
	}
}

func TestCreateRejectsPortOutOfRange(t *testing.T) {
	env := newTestEnv(t, nil)
	for _, port := range []string{"0", "65536", "99999"} {
		t.Run(port, func(t *testing.T) {
			b := validCreate()
			b["url"] = "https://hooks.example:" + port + "/in"
			status, body := env.call(t, http.MethodPost, "/v1/webhooks", b)
			require.Equal(t, http.StatusBadRequest, status, "%v", body)
			field, msg := errorField(t, body)
			require.Equal(t, "url", field)
			require.Contains(t, msg, "port must be 1 to 65535")
		})
	}

	b := validCreate()
	b["url"] = "https://hooks.example:65535/in"
	env.create(t, b)
}

func TestAllowCIDRsPermitLoopbackHosts(t *testing.T) {
	env := newTestEnv(t, func(_ *Config, d *Deps) { d.AllowCIDRs = []string{"127.0.0.0/8", "::1"} })
	for _, url := range []string{"http://127.0.0.1:8090/in", "http://[::1]:8090/in"} {
		b := validCreate()
		b["url"] = url
		env.create(t, b)
	}

	b := validCreate()
	b["url"] = "http://10.0.0.1/in"
	status, body := env.call(t, http.MethodPost, "/v1/webhooks", b)
	require.Equal(t, http.StatusBadRequest, status, "%v", body)
}

func TestAllowCIDRsNeverPermitMetadata(t *testing.T) {
	env := newTestEnv(t, func(_ *Config, d *Deps) { d.AllowCIDRs = []string{"169.254.0.0/16"} })
	b := validCreate()
	b["url"] = "http://169.254.169.254/latest/meta-data/"
	status, body := env.call(t, http.MethodPost, "/v1/webhooks", b)
	require.Equal(t, http.StatusBadRequest, status, "%v", body)
	field, msg := errorField(t, body)
	require.Equal(t, "url", field)
	require.Contains(t, msg, "metadata")
}

func TestNewRejectsBadAllowCIDRs(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Tokens = []string{token}
	_, err := New(cfg, Deps{AllowCIDRs: []string{"not-a-range"}})
	require.ErrorContains(t, err, "dispatcher.allowCIDRs")
}

func TestPatchRejectsDeniedHost(t *testing.T) {
	env := newTestEnv(t, nil)
	id := env.create(t, validCreate())["id"].(string)

	status, body := env.call(t, http.MethodPatch, "/v1/webhooks/"+id, map[string]any{"url": "http://10.1.2.3/in"})
	require.Equal(t, http.StatusBadRequest, status, "%v", body)
	field, _ := errorField(t, body)
	require.Equal(t, "url", field)
	stored, _ := env.reg.Get(id)
	require.Equal(t, "https://hooks.example/in", stored.URL)
}

func TestCreateRejectsIDCharacters(t *testing.T) {
	env := newTestEnv(t, nil)
	for _, id := range []string{"wh_ü", "wh_a b", "wh_a/b", "wh_a.b", "wh_a%2F", "wh_\u0430"} {
		t.Run(id, func(t *testing.T) {
			b := validCreate()
			b["id"] = id
			status, body := env.call(t, http.MethodPost, "/v1/webhooks", b)
			require.Equal(t, http.StatusBadRequest, status, "%v", body)
			field, _ := errorField(t, body)
			require.Equal(t, "id", field)
		})
	}
	require.Empty(t, env.reg.List(""), "nothing invalid was stored")

	b := validCreate()
	b["id"] = "wh_Az09_-x"
	require.Equal(t, "wh_Az09_-x", env.create(t, b)["id"])
}

func TestNonObjectBodiesRejected(t *testing.T) {
	env := newTestEnv(t, nil)
	id := env.create(t, validCreate())["id"].(string)
	before, _ := env.reg.Get(id)

	bodies := map[string]string{"null": "null", "array": "[]", "string": `"x"`, "number": "1", "boolean": "true"}
	for name, raw := range bodies {
		t.Run(name, func(t *testing.T) {
			for _, path := range []string{"/v1/webhooks/" + id, "/v1/webhooks/" + id + "/rotate-secret", "/v1/webhooks"} {
				method := http.MethodPost
				if path == "/v1/webhooks/"+id {
					method = http.MethodPatch
				}
				status, body := env.call(t, method, path, raw)
				require.Equal(t, http.StatusBadRequest, status, "%s %s: %v", method, path, body)
				field, msg := errorField(t, body)
				require.Empty(t, field)
				require.Contains(t, msg, "must be a JSON object")
			}
		})
	}
	after, _ := env.reg.Get(id)
	require.Equal(t, before, after, "rejected requests change nothing")
	require.Len(t, env.reg.List(""), 1)

	status, body := env.call(t, http.MethodPatch, "/v1/webhooks/"+id, " \n {\"url\": \"https://hooks.example/v2\"}")
	require.Equal(t, http.StatusOK, status, "leading white space is fine: %v", body)
}

func TestDeliveriesOfDeletedWebhook(t *testing.T) {
	log := &fakeLog{attempts: []clickhouse.DeliveryAttempt{{EventID: "evt_1", EventType: event.TypeLinkClicked, Attempt: 1, StatusCode: 204}}}
	env := newTestEnv(t, func(_ *Config, d *Deps) { d.Deliveries = log })
	id := env.create(t, validCreate())["id"].(string)
	status, _ := env.call(t, http.MethodDelete, "/v1/webhooks/"+id, nil)
	require.Equal(t, http.StatusNoContent, status)

	status, out := env.call(t, http.MethodGet, "/v1/webhooks/"+id+"/deliveries", nil)
	require.Equal(t, http.StatusOK, status, "%v", out)
	require.Equal(t, id, log.gotHookID)
	require.Len(t, out["data"], 1)

	log.attempts = nil
	status, body := env.call(t, http.MethodGet, "/v1/webhooks/wh_never/deliveries", nil)
	require.Equal(t, http.StatusNotFound, status, "%v", body)
	field, _ := errorField(t, body)
	require.Equal(t, "id", field)

	log.gotHookID = ""
	status, _ = env.call(t, http.MethodGet, "/v1/webhooks/wh_%C3%BC/deliveries", nil)
	require.Equal(t, http.StatusNotFound, status)
	require.Empty(t, log.gotHookID, "an id that no webhook can have is not looked up")
}

func TestDeliveriesOfUnknownWithoutLog(t *testing.T) {
	env := newTestEnv(t, nil)
	status, body := env.call(t, http.MethodGet, "/v1/webhooks/wh_never/deliveries", nil)
	require.Equal(t, http.StatusNotFound, status, "%v", body)
	errorField(t, body)
}
