package worker

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/clickstream/clickstream/pkg/catalog"
	"github.com/clickstream/clickstream/pkg/event"
	"github.com/clickstream/clickstream/pkg/subscription"
)

// readSample loads one of the documented sample payloads.
func readSample(t *testing.T, eventType string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "spec", eventType+".json"))
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	return m
}

// sampleDelivery builds the payload the worker sends for the interaction of
// a documented sample, on the resource of that sample.
func sampleDelivery(t *testing.T, sample map[string]any, ref event.ResourceRef, cat *catalog.Catalog, count int64) map[string]any {
	t.Helper()
	raw, err := json.Marshal(sample["data"].(map[string]any)["interaction"])
	require.NoError(t, err)
	var in event.Interaction
	require.NoError(t, json.Unmarshal(raw, &in))
	if in.UA == "" {
		in.UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/127.0.0.0 Safari/537.36"
	}

	w := &Worker{deps: Deps{Catalog: cat, Log: zap.NewNop()}}
	p := &partition{w: w}
	e := &event.Enriched{Interaction: in, Resource: ref}
	wh := subscription.Webhook{ID: "wh_sample", ProjectID: ref.ProjectID}
	d, err := p.buildDelivery(e, wh, &counter{count: count, last: in.Timestamp.Time}, event.NewTime(time.Now()))
	require.NoError(t, err)

	var got map[string]any
	require.NoError(t, json.Unmarshal(d.Payload, &got))
	return got
}

// compareShape checks that got has exactly the keys of want at every level,
// with the same JSON types. extra lists the keys got may have beyond want.
func compareShape(t *testing.T, path string, want, got any, extra map[string]bool) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		require.True(t, ok, "%s: want an object, got %T", path, got)
		for k, wv := range w {
			gv, ok := g[k]
			require.True(t, ok, "%s.%s: key missing from the produced payload", path, k)
			compareShape(t, path+"."+k, wv, gv, extra)
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				require.True(t, extra[path+"."+k], "%s.%s: key not in the documented sample", path, k)
			}
		}
	case nil:
		// A null in the sample may be null or a value of any type here.
	default:
		require.IsType(t, want, got, "%s: JSON type differs", path)
	}
}

func TestPayloadsMatchDocumentedSamples(t *testing.T) {
	cat, err := catalog.LoadFile(filepath.Join("..", "..", "configs", "catalog.yaml"))
	require.NoError(t, err)

	cases := []struct {
		eventType string
		resource  string
		count     int64
		// extra are keys the produced payload carries beyond a sample that
		// shows a shortened object; each is part of the full object.
		extra []string
	}{
		{event.TypeLinkClicked, "cm0faqkyn0001txvfwjfeq7gl", 11, nil},
		{event.TypeQRCodeScanned, "cm0pie2xy0007zayvaghkb7d6", 1, []string{
			".data.interaction.ua", ".data.qrcode.archived", ".data.qrcode.static", ".data.qrcode.type",
			".data.qrcode.createdAt", ".data.qrcode.updatedAt"}},
		{event.TypePageVisited, "cm0snvcxr002jp80474b2dckg", 1, []string{
			".data.interaction.ua", ".data.page.url", ".data.page.createdAt", ".data.page.updatedAt"}},
	}
	for _, tc := range cases {
		t.Run(tc.eventType, func(t *testing.T) {
			res, ok := cat.Get(tc.resource)
			require.True(t, ok)
			sample := readSample(t, tc.eventType)
			got := sampleDelivery(t, sample, res.Ref, cat, tc.count)

			extra := map[string]bool{}
			for _, k := range tc.extra {
				extra[k] = true
			}
			compareShape(t, "", sample, got, extra)

			require.Equal(t, tc.eventType, got["event"])
			data := got["data"].(map[string]any)
			wantData := sample["data"].(map[string]any)
			require.Equal(t, wantData["eventName"], data["eventName"])
			for k, v := range wantData["interaction"].(map[string]any) {
				require.Equal(t, v, data["interaction"].(map[string]any)[k], "interaction.%s", k)
			}
			require.Regexp(t, `^evt_[0-9A-Za-z]{25}$`, got["id"])
		})
	}
}

func TestLinkClickedCountersAndKeyCount(t *testing.T) {
	cat, err := catalog.LoadFile(filepath.Join("..", "..", "configs", "catalog.yaml"))
	require.NoError(t, err)
	res, _ := cat.Get("cm0faqkyn0001txvfwjfeq7gl")
	got := sampleDelivery(t, readSample(t, event.TypeLinkClicked), res.Ref, cat, 11)

	link := got["data"].(map[string]any)["link"].(map[string]any)
	require.Equal(t, float64(11), link["clicks"], "clicks include the interaction that fired the event")
	keys := make([]string, 0, len(link))
	for k := range link {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	require.Len(t, keys, 38, fmt.Sprint(keys))
}
