package catalog

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clickstream/clickstream/pkg/event"
)

// linkEvent is a link change event in the platform's shape, with keys the
// catalog does not keep (tagId, tags) and projectId twice.
func linkEvent(eventType, key, url string) ChangeEvent {
	data := `{"id":"cm0b87844000dismqhkviju54","domain":"codeqr.link","key":"` + key + `","externalId":null,` +
		`"url":"` + url + `","trackConversion":false,"archived":false,"expiresAt":null,"expiredUrl":null,` +
		`"tagId":null,"tags":[],"shortLink":"https://codeqr.link/` + key + `","userId":"cm022rkcw0000ikt14mscg9sg",` +
		`"projectId":"cm022sis60003ikt1syy7kfhl","clicks":0,"lastClicked":null,` +
		`"createdAt":"2024-08-26T16:41:52.084Z","updatedAt":"2024-08-26T16:41:52.084Z","projectId":"cm022sis60003ikt1syy7kfhl"}`
	return ChangeEvent{ID: "evt_KleiO4HBwZFbO1vZLWIPZ2AtX", Event: eventType, Data: json.RawMessage(data)}
}

const qrcodeData = `{"qrcode":{"id":"cm0pie2xy0007zayvaghkb7d6","domain":"expol.ink","key":"rXUSTPx1tic3-qr","archived":false,` +
	`"static":false,"type":"url","url":"https://app.codeqr.io/","userId":"clv4ckurp0000nircotd5umkn",` +
	`"projectId":"cm0bfj5eg000045ruzb5o8tar","scans":1,"shortLink":"https://expol.ink/rXUSTPx1tic3-qr",` +
	`"createdAt":"2024-09-05T16:35:54.597Z","updatedAt":"2024-09-05T16:35:54.597Z"}}`

const pageData = `{"page":{"id":"cm0snvcxr002jp80474b2dckg","domain":"expol.ink","key":"p/pHs20VCe8V","name":"Deixe seu feedback",` +
	`"type":"feedback","url":"https://expol.ink/p/pHs20VCe8V","projectId":"cm0bfj5eg000045ruzb5o8tar",` +
	`"userId":"clv4ckurp0000nircotd5umkn","views":1,"createdAt":"2024-09-07T21:32:37.309Z","updatedAt":"2024-09-07T21:32:51.471Z"}}`

func TestApplyLinkEvents(t *testing.T) {
	c := New()
	now := time.Now()
	require.NoError(t, c.Apply(linkEvent(EventLinkCreated, "sOvvXDT", "https://github.com/stack-auth/stack")))
	r, ok := c.Lookup("codeqr.link", "sOvvXDT")
	require.True(t, ok)
	require.Equal(t, "https://github.com/stack-auth/stack", r.Destination(now))
	require.Equal(t, "cm022sis60003ikt1syy7kfhl", r.Ref.ProjectID)

	require.NoError(t, c.Apply(linkEvent(EventLinkUpdated, "newKey", "https://example.com/moved")))
	_, ok = c.Lookup("codeqr.link", "sOvvXDT")
	require.False(t, ok, "the old key no longer resolves")
	r, ok = c.Lookup("codeqr.link", "newKey")
	require.True(t, ok)
	require.Equal(t, "https://example.com/moved", r.Destination(now))
	require.Equal(t, 1, c.Len())

	require.NoError(t, c.Apply(linkEvent(EventLinkDeleted, "newKey", "https://example.com/moved")))
	require.Equal(t, 0, c.Len())
}

func TestApplyQRCodeAndPageEvents(t *testing.T) {
	c := New()
	require.NoError(t, c.Apply(ChangeEvent{ID: "evt_1", Event: EventQRCodeCreated, Data: json.RawMessage(qrcodeData)}))
	require.NoError(t, c.Apply(ChangeEvent{ID: "evt_2", Event: EventPageUpdated, Data: json.RawMessage(pageData)}))

	q, ok := c.Lookup("expol.ink", "rXUSTPx1tic3-qr")
	require.True(t, ok)
	require.Equal(t, event.ResourceQRCode, q.Ref.Type)
	require.Equal(t, int64(1), q.QRCode.Scans)
	p, ok := c.Get("cm0snvcxr002jp80474b2dckg")
	require.True(t, ok)
	require.Equal(t, "Deixe seu feedback", p.Page.Name)

	require.NoError(t, c.Apply(ChangeEvent{ID: "evt_3", Event: EventQRCodeDeleted, Data: json.RawMessage(qrcodeData)}))
	require.NoError(t, c.Apply(ChangeEvent{ID: "evt_4", Event: EventPageDeleted, Data: json.RawMessage(pageData)}))
	require.Equal(t, 0, c.Len())
}

func TestApplyRejectsBadEvents(t *testing.T) {
	c := New()
	require.ErrorIs(t, c.Apply(ChangeEvent{Event: "lead.created", Data: json.RawMessage(`{}`)}), ErrUnsupportedEvent)
	require.ErrorIs(t, c.Apply(ChangeEvent{Event: "link.clicked", Data: json.RawMessage(`{}`)}), ErrUnsupportedEvent)
	require.ErrorContains(t, c.Apply(ChangeEvent{Event: EventQRCodeCreated, Data: json.RawMessage(`{"id":"q"}`)}), "data.qrcode is missing")
	require.ErrorContains(t, c.Apply(ChangeEvent{Event: EventLinkCreated, Data: json.RawMessage(`{"id":"l1"}`)}), "projectId")
	require.ErrorContains(t, c.Apply(ChangeEvent{Event: EventLinkDeleted, Data: json.RawMessage(`{}`)}), "id is missing")
	require.Equal(t, 0, c.Len())
}

func TestApplyRecord(t *testing.T) {
	c := New()
	value, err := json.Marshal(linkEvent(EventLinkCreated, "sOvvXDT", "https://github.com/stack-auth/stack"))
	require.NoError(t, err)

	require.ErrorContains(t, c.ApplyRecord("other-id", value), "does not match")
	require.Equal(t, 0, c.Len(), "a mismatched record changes nothing")
	require.ErrorContains(t, c.ApplyRecord("x", []byte("{")), "decoding")

	require.NoError(t, c.ApplyRecord("cm0b87844000dismqhkviju54", value))
	require.Equal(t, 1, c.Len())
	require.NoError(t, c.ApplyRecord("cm0b87844000dismqhkviju54", nil), "a tombstone deletes")
	require.Equal(t, 0, c.Len())
}

// putRecorder is a FeedWriter that applies to a catalog and records keys.
type putRecorder struct {
	into *Catalog
	keys []string
}

func (p *putRecorder) Put(_ context.Context, key string, value []byte) error {
	p.keys = append(p.keys, key)
	return p.into.ApplyRecord(key, value)
}

func TestPublishUnseenRoundTrips(t *testing.T) {
	seed, err := LoadFile(filepath.Join("..", "..", "configs", "catalog.yaml"))
	require.NoError(t, err)
	rec := &putRecorder{into: New()}

	skip := "cm0faqkyn0001txvfwjfeq7gl"
	n, err := seed.PublishUnseen(context.Background(), rec, func(id string) bool { return id == skip }, time.Now())
	require.NoError(t, err)
	require.Equal(t, seed.Len()-1, n)
	require.NotContains(t, rec.keys, skip)

	for _, res := range seed.All() {
		if res.Ref.ID == skip {
			continue
		}
		got, ok := rec.into.Get(res.Ref.ID)
		require.True(t, ok, res.Ref.ID)
		require.Equal(t, res.Ref, got.Ref)
		want, err := json.Marshal(res)
		require.NoError(t, err)
		have, err := json.Marshal(got)
		require.NoError(t, err)
		require.JSONEq(t, string(want), string(have), "a created event carries the whole object")
	}
}

func TestNewChangeEventShape(t *testing.T) {
	c := New()
	require.NoError(t, c.Apply(ChangeEvent{ID: "evt_1", Event: EventQRCodeCreated, Data: json.RawMessage(qrcodeData)}))
	res, _ := c.Get("cm0pie2xy0007zayvaghkb7d6")

	ev, err := NewChangeEvent("updated", res, time.Date(2024, 9, 5, 16, 35, 54, 0, time.UTC))
	require.NoError(t, err)
	require.Equal(t, EventQRCodeUpdated, ev.Event)
	require.Regexp(t, regexp.MustCompile(`^evt_[0-9A-Za-z]{25}$`), ev.ID)
	var data map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(ev.Data, &data))
	require.Contains(t, data, "qrcode", "QR code objects go under data.qrcode")
}

func TestApplyKeyTakenOverBeforeMove(t *testing.T) {
	c := New()
	require.NoError(t, c.Apply(linkEvent(EventLinkCreated, "oldKey", "https://example.com/a")))
	other := ChangeEvent{ID: "evt_2", Event: EventLinkCreated, Data: json.RawMessage(`{"id":"l2","domain":"codeqr.link",` +
		`"key":"oldKey","url":"https://example.com/b","projectId":"p1"}`)}

	// l2 claims oldKey before the first link's move to newKey arrives.
	require.NoError(t, c.Apply(other))
	require.NoError(t, c.Apply(linkEvent(EventLinkUpdated, "newKey", "https://example.com/a")))

	r, ok := c.Lookup("codeqr.link", "oldKey")
	require.True(t, ok, "the move does not remove the key that l2 took over")
	require.Equal(t, "l2", r.Ref.ID)
	_, ok = c.Lookup("codeqr.link", "newKey")
	require.True(t, ok)

	require.NoError(t, c.Apply(linkEvent(EventLinkDeleted, "newKey", "https://example.com/a")))
	_, ok = c.Lookup("codeqr.link", "oldKey")
	require.True(t, ok, "deleting the first link leaves l2 in place")
}

func TestApplyUnicodeDomain(t *testing.T) {
	c := New()
	data := `{"page":{"id":"page_idn","domain":"Bücher.example","key":"p/x","url":"https://example.com/x","projectId":"p"}}`
	require.NoError(t, c.Apply(ChangeEvent{ID: "evt_1", Event: EventPageCreated, Data: json.RawMessage(data)}))

	r, ok := c.Lookup("xn--bcher-kva.example", "p/x")
	require.True(t, ok)
	require.Equal(t, "page_idn", r.Ref.ID)

	bad := `{"page":{"id":"page_idn","domain":"b\u00fccher example","key":"p/x","url":"https://example.com/x","projectId":"p"}}`
	err := c.Apply(ChangeEvent{ID: "evt_2", Event: EventPageUpdated, Data: json.RawMessage(bad)})
	require.ErrorContains(t, err, "page.updated event evt_2: domain of page_idn is not a valid domain name")
	_, ok = c.Lookup("xn--bcher-kva.example", "p/x")
	require.True(t, ok, "the rejected update leaves the page as it was")
}
