package subscription

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clickstream/clickstream/pkg/event"
)

func validWebhook() Webhook {
	return Webhook{
		ID: "wh_1", ProjectID: "p1", URL: "https://hooks.example/in",
		Secrets: []string{NewSecret()}, Triggers: []string{event.TypeLinkClicked, event.TypeQRCodeScanned},
		LinkIDs: []string{"l1"}, QRCodeIDs: []string{"q1"},
	}
}

func TestMatchScopeTriggerAndState(t *testing.T) {
	r := NewRegistry()
	require.NoError(t, r.Put(validWebhook()))
	link := event.ResourceRef{Type: event.ResourceLink, ID: "l1", ProjectID: "p1"}

	require.Len(t, r.Match(link, event.TypeLinkClicked), 1)
	require.Empty(t, r.Match(event.ResourceRef{Type: event.ResourceLink, ID: "l2", ProjectID: "p1"}, event.TypeLinkClicked), "unscoped link")
	require.Empty(t, r.Match(event.ResourceRef{Type: event.ResourcePage, ID: "l1", ProjectID: "p1"}, event.TypePageVisited), "id in another scope")
	require.Empty(t, r.Match(event.ResourceRef{Type: event.ResourceLink, ID: "l1", ProjectID: "p2"}, event.TypeLinkClicked), "other project")

	w := validWebhook()
	w.Triggers = []string{event.TypeQRCodeScanned}
	require.NoError(t, r.Put(w))
	require.Empty(t, r.Match(link, event.TypeLinkClicked), "trigger removed")

	w = validWebhook()
	now := time.Now()
	w.DisabledAt = &now
	require.NoError(t, r.Put(w))
	require.Empty(t, r.Match(link, event.TypeLinkClicked), "disabled")

	require.True(t, r.Delete("wh_1"))
	require.False(t, r.Delete("wh_1"))
	require.Empty(t, r.byResource)
}

func TestValidateNamesTheField(t *testing.T) {
	many := make([]string, MaxScopeIDs+1)
	for i := range many {
		many[i] = fmt.Sprint("l", i)
	}
	cases := map[string]struct {
		edit  func(*Webhook)
		field string
	}{
		"id prefix":      {func(w *Webhook) { w.ID = "hook_1" }, "id"},
		"project":        {func(w *Webhook) { w.ProjectID = "" }, "projectId"},
		"url scheme":     {func(w *Webhook) { w.URL = "ftp://x" }, "url"},
		"url creds":      {func(w *Webhook) { w.URL = "https://u:p@x" }, "url"},
		"no secret":      {func(w *Webhook) { w.Secrets = nil }, "secrets"},
		"bad secret":     {func(w *Webhook) { w.Secrets = []string{"secret"} }, "secrets[0]"},
		"short secret":   {func(w *Webhook) { w.Secrets = []string{"whsec_c2hvcnQ="} }, "secrets[0]"},
		"no trigger":     {func(w *Webhook) { w.Triggers = nil }, "triggers"},
		"bad trigger":    {func(w *Webhook) { w.Triggers = []string{"link.created"} }, "triggers[0]"},
		"scope too long": {func(w *Webhook) { w.LinkIDs = many }, "linkIds"},
		"empty scope id": {func(w *Webhook) { w.PageIDs = []string{""} }, "pageIds[0]"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w := validWebhook()
			tc.edit(&w)
			err := w.Validate()
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, tc.field, fe.Field)
		})
	}
}

func TestLoadFileShippedSeed(t *testing.T) {
	r, err := LoadFile(filepath.Join("..", "..", "configs", "webhooks.yaml"))
	require.NoError(t, err)
	require.Len(t, r.List(""), 3)
	w, ok := r.Get("wh_dev_qr_scans")
	require.True(t, ok)
	require.Equal(t, []string{event.TypeQRCodeScanned}, w.Triggers)
}

func TestDisableKeepsOtherFields(t *testing.T) {
	r := NewRegistry()
	w := validWebhook()
	require.NoError(t, r.Put(w))
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	got, ok := r.Disable("wh_1", at, "gone")
	require.True(t, ok)
	require.Equal(t, at, *got.DisabledAt)
	require.Equal(t, "gone", got.DisabledReason)
	require.Equal(t, w.LinkIDs, got.LinkIDs)
	require.Empty(t, r.Match(event.ResourceRef{Type: event.ResourceLink, ID: "l1", ProjectID: "p1"}, event.TypeLinkClicked))

	_, ok = r.Disable("wh_1", at, "gone")
	require.False(t, ok, "already disabled")
	_, ok = r.Disable("wh_missing", at, "gone")
	require.False(t, ok)
}
