package edge

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/clickstream/clickstream/pkg/event"
)

// discardPublisher drops hits, so the benchmark measures the handler alone.
type discardPublisher struct{}

func (discardPublisher) Publish(event.RawHit) error { return nil }

func (discardPublisher) Close(context.Context) error { return nil }

// BenchmarkRedirect measures one redirect through the whole handler: routing,
// catalog lookup, click id, client IP, hit building and the Publish call.
func BenchmarkRedirect(b *testing.B) {
	for _, bc := range []struct {
		name, target string
		kafka        bool
	}{
		{"plain", "/abc", false},
		{"query and qr", "/utm?utm_source=tv&qr=1", false},
		// The real publisher encodes the hit and queues it; a fake writer
		// acknowledges every batch at once.
		{"kafka publisher", "/abc", true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Spool.Dir = b.TempDir()
			cfg.TrustedProxies = []string{"10.0.0.0/8"}
			var pub Publisher = discardPublisher{}
			if bc.kafka {
				kp, err := newKafkaPublisher(cfg, &discardWriter{}, zap.NewNop(), prometheus.NewRegistry())
				if err != nil {
					b.Fatal(err)
				}
				defer kp.Close(context.Background())
				pub = kp
			}
			s, err := New(cfg, testCatalog(b), pub, zap.NewNop(), prometheus.NewRegistry())
			if err != nil {
				b.Fatal(err)
			}
			h := s.Handler()

			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				req := httptest.NewRequest(http.MethodGet, bc.target, nil)
				req.Host = "go.example.com"
				req.RemoteAddr = "10.0.0.2:50123"
				req.Header.Set("X-Forwarded-For", "203.0.113.50, 10.0.0.1")
				req.Header.Set("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)")
				req.Header.Set("Referer", "https://news.example.org/story")
				for pb.Next() {
					w := &headerOnlyWriter{header: http.Header{}}
					h.ServeHTTP(w, req)
					if w.status != http.StatusFound {
						b.Fatalf("status %d", w.status)
					}
				}
			})
		})
	}
}

// headerOnlyWriter is a minimal ResponseWriter; httptest.ResponseRecorder
// allocates more than a real connection does.
type headerOnlyWriter struct {
	header http.Header
	status int
}

func (w *headerOnlyWriter) Header() http.Header         { return w.header }
func (w *headerOnlyWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *headerOnlyWriter) WriteHeader(status int)      { w.status = status }

// discardWriter acknowledges every write without keeping the messages.
type discardWriter struct{}

func (*discardWriter) WriteMessages(context.Context, ...kafkago.Message) error { return nil }
func (*discardWriter) Close() error                                            { return nil }
