package replay_test

import (
	"bufio"
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/clickstream/clickstream/pkg/catalog"
	"github.com/clickstream/clickstream/pkg/edge"
	"github.com/clickstream/clickstream/pkg/event"
	"github.com/clickstream/clickstream/pkg/replay"
)

// apacheLog is 10,000 lines of a real Apache combined log from May 2015.
var apacheLog = filepath.Join("..", "..", "testdata", "logs", "apache_logs")

type memoryPublisher struct {
	mu   sync.Mutex
	hits []event.RawHit
}

func (p *memoryPublisher) Publish(h event.RawHit) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hits = append(p.hits, h)
	return nil
}

func (p *memoryPublisher) Close(context.Context) error { return nil }

func TestReplayApacheLogThroughEdge(t *testing.T) {
	f, err := os.Open(apacheLog)
	if errors.Is(err, fs.ErrNotExist) {
		// NOTE: the sample is added to testdata/logs separately from this
		// test; until then the test cannot run.
		t.Skipf("%s is missing", apacheLog)
	}
	require.NoError(t, err)
	defer f.Close()

	cat := catalog.New()
	require.NoError(t, cat.Load(catalog.Seed{
		Links: []event.Link{
			{ID: "link_1", ProjectID: "proj", Domain: "go.example.com", Key: "one", URL: "https://example.com/1"},
			{ID: "link_2", ProjectID: "proj", Domain: "go.example.com", Key: "two", URL: "https://example.com/2"},
		},
		QRCodes: []event.QRCode{
			{ID: "qr_1", ProjectID: "proj", Domain: "qr.example.com", Key: "menu", URL: "https://example.com/menu"},
		},
	}))
	cfg := edge.DefaultConfig()
	cfg.Spool.Dir = t.TempDir()
	cfg.TrustedProxies = []string{"127.0.0.1"}
	pub := &memoryPublisher{}
	srv, err := edge.New(cfg, cat, pub, zap.NewNop(), prometheus.NewRegistry())
	require.NoError(t, err)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()

	r, err := replay.New(replay.Config{
		BaseURL:    "http://" + ln.Addr().String(),
		Targets:    []replay.Target{{"go.example.com", "one"}, {"go.example.com", "two"}, {"qr.example.com", "menu"}},
		QRFraction: 0.1,
	})
	require.NoError(t, err)

	start := time.Now()
	res, err := r.Replay(context.Background(), f)
	require.NoError(t, err)
	t.Logf("replayed %d lines in %s: %+v", res.Lines, time.Since(start), res.ByStatus)

	// One line of the sample is cut off inside its user agent; it is
	// replayed with the user agent as far as the line goes.
	assert.Equal(t, 10000, res.Lines)
	assert.Equal(t, 0, res.ParseErrors)
	assert.Equal(t, 1, res.Truncated)
	assert.Zero(t, res.Errors, "errors: %v", res.FirstErrors)
	assert.Equal(t, map[int]int{302: 10000}, res.ByStatus)

	pub.mu.Lock()
	defer pub.mu.Unlock()
	require.Equal(t, 10000, len(pub.hits))
	logIPs := logAddresses(t)
	heads := 0
	for _, h := range pub.hits {
		require.NoError(t, h.Validate())
		assert.True(t, logIPs[h.IP], "hit address %s is not in the log", h.IP)
		if h.Method == "HEAD" {
			heads++
		}
		if h.Resource.Type == event.ResourceQRCode {
			assert.True(t, h.QR, "a QR code hit is a scan")
		}
	}
	assert.Equal(t, 42, heads, "the sample has 42 HEAD requests")
}

func logAddresses(t *testing.T) map[string]bool {
	t.Helper()
	f, err := os.Open(apacheLog)
	require.NoError(t, err)
	defer f.Close()

	ips := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if e, err := replay.ParseCombined(sc.Text()); err == nil {
			ips[e.IP] = true
		}
	}
	require.NoError(t, sc.Err())
	return ips
}
