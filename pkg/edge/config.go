package edge

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/clickstream/clickstream/pkg/spool"
)

// Config is the `edge` section of the configuration file.
type Config struct {
	// Listen is the TCP address of the HTTP server. Default ":8080".
	Listen string `yaml:"listen"`
	// ServeMetrics adds /metrics to the routes of Listen. Default false:
	// the edge's metrics are on metrics.listen like those of the other
	// stages, so that a public listener does not publish traffic figures.
	ServeMetrics bool `yaml:"serveMetrics"`
	// TrustedProxies are the CIDRs of proxies whose X-Forwarded-For header
	// is believed, such as "10.0.0.0/8" or "2001:db8::/32". A bare address
	// means that one host. Default none: the client IP is the TCP peer.
	TrustedProxies []string `yaml:"trustedProxies"`

	// QueueSize is the capacity, in hits, of the in-memory queue between
	// the HTTP handlers and the Kafka publisher. Default 10000, at most
	// 1,000,000, because the queue's slots are allocated at start.
	QueueSize int `yaml:"queueSize"`
	// BatchSize is the maximum number of hits per Kafka produce request.
	// Default 500, at most 100,000, because every batch is allocated at
	// this capacity.
	BatchSize int `yaml:"batchSize"`
	// BatchTimeout is how long a partial batch waits for more hits before
	// it is sent. Default 20ms.
	BatchTimeout time.Duration `yaml:"batchTimeout"`
	// PublishTimeout bounds one produce request, retries included, before
	// its hits go to the spool. Default 10s.
	PublishTimeout time.Duration `yaml:"publishTimeout"`
	// RetryInterval is the first wait before the spool is sent again after
	// a failed produce. It doubles after each failure up to
	// MaxRetryInterval. Default 1s.
	RetryInterval time.Duration `yaml:"retryInterval"`
	// MaxRetryInterval caps the wait between attempts to send the spool.
	// Default 30s.
	MaxRetryInterval time.Duration `yaml:"maxRetryInterval"`
	Spool            SpoolConfig   `yaml:"spool"`

	// MaxBodyBytes is the maximum body size of POST /v1/hits; larger
	// bodies get 413. Default 4 MiB, at most 1 GiB, because a request
	// keeps all of its decoded hits in memory until it publishes them.
	MaxBodyBytes int64 `yaml:"maxBodyBytes"`
	// MaxLineBytes is the maximum length of one NDJSON line of POST
	// /v1/hits. A longer line is rejected, and the lines after it are still
	// read. Each request allocates a read buffer of this size. Default
	// 64 KiB, at most 1 MiB, the spool's maximum record size.
	MaxLineBytes int `yaml:"maxLineBytes"`
	// IngestTokens are the bearer tokens that POST /v1/hits accepts, each
	// at least MinIngestTokenLen characters: one per edge that forwards
	// hits. Default empty, which turns the endpoint off (403).
	IngestTokens []string `yaml:"ingestTokens"`
	// MaxIngestRequests is the number of POST /v1/hits requests handled at
	// once; more get 503 with Retry-After. Default 4.
	MaxIngestRequests int `yaml:"maxIngestRequests"`
	// MaxHeaderBytes is the maximum size of the request line and headers;
	// larger requests get 431. It is large enough for a 100 KB user agent,
	// which the edge truncates. Each connection has a read buffer of this
	// size, resident as far as requests fill it. A connection whose headers
	// are over 16 KiB is closed after its response. Default 256 KiB, at
	// most 16 MiB.
	MaxHeaderBytes int `yaml:"maxHeaderBytes"`

	// ReadHeaderTimeout bounds reading the request line and headers, from
	// the connection's start or from the first byte of a request on a
	// keep-alive connection; ReadTimeout bounds it too when shorter. A
	// request that times out gets 408. Default 5s.
	ReadHeaderTimeout time.Duration `yaml:"readHeaderTimeout"`
	// ReadTimeout bounds reading a request body, counted from the end of
	// the headers, so a slow POST body is cut. Default 15s.
	ReadTimeout time.Duration `yaml:"readTimeout"`
	// WriteTimeout bounds writing a response, once the handler has
	// returned. Default 15s.
	WriteTimeout time.Duration `yaml:"writeTimeout"`
	// IdleTimeout closes keep-alive connections idle this long. Default 60s.
	IdleTimeout time.Duration `yaml:"idleTimeout"`
	// ShutdownTimeout bounds the wait for in-flight requests at shutdown.
	// Default 5s.
	ShutdownTimeout time.Duration `yaml:"shutdownTimeout"`
	// DrainTimeout bounds sending the queued hits to Kafka at shutdown;
	// the hits still queued after it are written to the spool. Default 10s.
	DrainTimeout time.Duration `yaml:"drainTimeout"`
}

// SpoolConfig is the `edge.spool` section: the local disk buffer for hits
// that Kafka cannot take yet.
type SpoolConfig struct {
	// Dir is the spool directory; one edge process uses it at a time.
	// Default "data/edge-spool", relative to the working directory.
	Dir string `yaml:"dir"`
	// MaxBytes is the maximum total size of the spool files. Hits that do
	// not fit are dropped and counted. Default 1 GiB.
	MaxBytes int64 `yaml:"maxBytes"`
	// SegmentBytes is the size of one spool file; the publisher reads one
	// file at a time into memory when it resends. Default 4 MiB, at most
	// 1 GiB.
	SegmentBytes int64 `yaml:"segmentBytes"`
}

// Upper bounds of the settings that size memory, far above any realistic
// setting. They turn a typo such as an extra digit into a configuration
// error instead of an out-of-memory crash at start or on the first request.
const (
	// queueSizeLimit bounds edge.queueSize: 48 MB of queue slots, of 48
	// bytes each, allocated at start.
	queueSizeLimit    = 1_000_000
	batchSizeLimit    = 100_000
	segmentBytesLimit = 1 << 30
	bodyBytesLimit    = 1 << 30
	// lineBytesLimit bounds edge.maxLineBytes at the spool's maximum
	// record size, since a hit much longer than that cannot be spooled.
	lineBytesLimit = spool.MaxRecordBytes
	// headerBytesLimit bounds edge.maxHeaderBytes, the read buffer that
	// every connection allocates.
	headerBytesLimit = 16 << 20
)

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		Listen:            ":8080",
		QueueSize:         10000,
		BatchSize:         500,
		BatchTimeout:      20 * time.Millisecond,
		PublishTimeout:    10 * time.Second,
		RetryInterval:     time.Second,
		MaxRetryInterval:  30 * time.Second,
		Spool:             SpoolConfig{Dir: "data/edge-spool", MaxBytes: 1 << 30, SegmentBytes: 4 << 20},
		MaxBodyBytes:      4 << 20,
		MaxLineBytes:      64 << 10,
		MaxIngestRequests: 4,
		MaxHeaderBytes:    256 << 10,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		ShutdownTimeout:   5 * time.Second,
		DrainTimeout:      10 * time.Second,
	}
}

// Validate checks c; messages name the YAML key.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("edge.listen: must be host:port or :port, got %q", c.Listen)
	}
	if _, err := parsePrefixes(c.TrustedProxies); err != nil {
		return err
	}
	if err := c.validateQueue(); err != nil {
		return err
	}
	if err := c.validateSpool(); err != nil {
		return err
	}
	if err := c.validateLimits(); err != nil {
		return err
	}
	return c.validateTimeouts()
}

func (c *Config) validateQueue() error {
	switch {
	case c.QueueSize < 1:
		return fmt.Errorf("edge.queueSize: must be at least 1, got %d", c.QueueSize)
	case c.QueueSize > queueSizeLimit:
		return fmt.Errorf("edge.queueSize: must be at most %d, got %d", queueSizeLimit, c.QueueSize)
	case c.BatchSize < 1:
		return fmt.Errorf("edge.batchSize: must be at least 1, got %d", c.BatchSize)
	case c.BatchSize > batchSizeLimit:
		return fmt.Errorf("edge.batchSize: must be at most %d, got %d", batchSizeLimit, c.BatchSize)
	case c.BatchTimeout <= 0:
		return fmt.Errorf("edge.batchTimeout: must be positive, got %s", c.BatchTimeout)
	case c.PublishTimeout <= 0:
		return fmt.Errorf("edge.publishTimeout: must be positive, got %s", c.PublishTimeout)
	case c.RetryInterval <= 0:
		return fmt.Errorf("edge.retryInterval: must be positive, got %s", c.RetryInterval)
	case c.MaxRetryInterval < c.RetryInterval:
		return fmt.Errorf("edge.maxRetryInterval: must be at least edge.retryInterval (%s), got %s", c.RetryInterval, c.MaxRetryInterval)
	}
	return nil
}

func (c *Config) validateSpool() error {
	switch {
	case c.Spool.Dir == "":
		return errors.New("edge.spool.dir: must not be empty")
	case c.Spool.SegmentBytes < 64<<10:
		return fmt.Errorf("edge.spool.segmentBytes: must be at least 65536, got %d", c.Spool.SegmentBytes)
	case c.Spool.SegmentBytes > segmentBytesLimit:
		return fmt.Errorf("edge.spool.segmentBytes: must be at most %d, got %d", segmentBytesLimit, c.Spool.SegmentBytes)
	case c.Spool.MaxBytes < c.Spool.SegmentBytes:
		return fmt.Errorf("edge.spool.maxBytes: must be at least edge.spool.segmentBytes (%d), got %d", c.Spool.SegmentBytes, c.Spool.MaxBytes)
	}
	return nil
}

// MinIngestTokenLen is the minimum length of a token in edge.ingestTokens.
const MinIngestTokenLen = 16

func (c *Config) validateLimits() error {
	for i, t := range c.IngestTokens {
		if len(t) < MinIngestTokenLen {
			return fmt.Errorf("edge.ingestTokens[%d]: must be at least %d characters, got %d", i, MinIngestTokenLen, len(t))
		}
	}
	switch {
	case c.MaxBodyBytes < 1:
		return fmt.Errorf("edge.maxBodyBytes: must be positive, got %d", c.MaxBodyBytes)
	case c.MaxBodyBytes > bodyBytesLimit:
		return fmt.Errorf("edge.maxBodyBytes: must be at most %d, got %d", bodyBytesLimit, c.MaxBodyBytes)
	case c.MaxLineBytes < 1024:
		return fmt.Errorf("edge.maxLineBytes: must be at least 1024, got %d", c.MaxLineBytes)
	case c.MaxLineBytes > lineBytesLimit:
		return fmt.Errorf("edge.maxLineBytes: must be at most %d, got %d", lineBytesLimit, c.MaxLineBytes)
	case c.MaxIngestRequests < 1:
		return fmt.Errorf("edge.maxIngestRequests: must be at least 1, got %d", c.MaxIngestRequests)
	case c.MaxHeaderBytes < 4096:
		return fmt.Errorf("edge.maxHeaderBytes: must be at least 4096, got %d", c.MaxHeaderBytes)
	case c.MaxHeaderBytes > headerBytesLimit:
		return fmt.Errorf("edge.maxHeaderBytes: must be at most %d, got %d", headerBytesLimit, c.MaxHeaderBytes)
	}
	return nil
}

func (c *Config) validateTimeouts() error {
	timeouts := []struct {
		key   string
		value time.Duration
	}{
		{"edge.readHeaderTimeout", c.ReadHeaderTimeout},
		{"edge.readTimeout", c.ReadTimeout},
		{"edge.writeTimeout", c.WriteTimeout},
		{"edge.idleTimeout", c.IdleTimeout},
		{"edge.shutdownTimeout", c.ShutdownTimeout},
		{"edge.drainTimeout", c.DrainTimeout},
	}
	for _, t := range timeouts {
		if t.value <= 0 {
			return fmt.Errorf("%s: must be positive, got %s", t.key, t.value)
		}
	}
	return nil
}

// parsePrefixes parses trusted proxy CIDRs or bare addresses.
func parsePrefixes(cidrs []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(cidrs))
	for i, s := range cidrs {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("edge.trustedProxies[%d]: must be a CIDR such as 10.0.0.0/8 or an IP address, got %q", i, s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
