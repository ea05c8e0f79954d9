package edge

import (
	"context"
	"net"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/valyala/fasthttp"
	"go.uber.org/zap"

	"github.com/clickstream/clickstream/pkg/event"
)

// discardPublisher drops hits, so the benchmark measures the handler alone.
type discardPublisher struct{}

func (discardPublisher) Publish(event.RawHit) error { return nil }

func (discardPublisher) Close(context.Context) error { return nil }

// BenchmarkRedirect measures one redirect through the whole fasthttp
// handler: routing, catalog lookup, click id, client IP, hit building and
// the Publish call. Reading the request and writing the response are left
// out.
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

			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				var req fasthttp.Request
				req.Header.SetMethod(http.MethodGet)
				req.SetRequestURI(bc.target)
				req.Header.SetHost("go.example.com")
				req.Header.Set("X-Forwarded-For", "203.0.113.50, 10.0.0.1")
				req.Header.Set("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)")
				req.Header.Set("Referer", "https://news.example.org/story")
				var ctx fasthttp.RequestCtx
				ctx.Init(&req, &net.TCPAddr{IP: net.ParseIP("10.0.0.2"), Port: 50123}, nil)
				for pb.Next() {
					// The server resets the response after each request.
					ctx.Response.Reset()
					s.handle(&ctx)
					if ctx.Response.StatusCode() != http.StatusFound {
						b.Fatalf("status %d", ctx.Response.StatusCode())
					}
				}
			})
		})
	}
}

// discardWriter acknowledges every write without keeping the messages.
type discardWriter struct{}

func (*discardWriter) WriteMessages(context.Context, ...kafkago.Message) error { return nil }
func (*discardWriter) Close() error                                            { return nil }
