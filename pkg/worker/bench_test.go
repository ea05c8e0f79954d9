package worker

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/clickstream/clickstream/enrich"
	"github.com/clickstream/clickstream/pkg/event"
)

// Benchmark inputs: the access log the pipeline benchmark replays, the
// GeoLite2 City database that deploy/geoip/fetch.sh installs and the test
// database of the enrich package, used when the first is missing.
const (
	benchAccessLog = "../../testdata/logs/apache_logs"
	benchCityDB    = "../../var/geoip/GeoLite2-City.mmdb"
	benchTestCity  = "../../testdata/geoip/GeoIP2-City-Test.mmdb"
)

// combinedLine matches the client address, referer and user agent of a line
// in the combined log format. Lines with escaped quotes do not match and
// are left out.
var combinedLine = regexp.MustCompile(`^(\S+) \S+ \S+ \[[^\]]*\] "[^"]*" \d+ \S+ "([^"]*)" "([^"]*)"`)

// benchMessages returns n hits encoded as the records of one partition of
// the hits topic, built the way TestBenchPipelineScale builds them: the
// lines of the access log in turn, on 60 links of 3 projects, one
// millisecond apart.
func benchMessages(tb testing.TB, n int) []kafkago.Message {
	tb.Helper()
	f, err := os.Open(benchAccessLog)
	require.NoError(tb, err)
	defer f.Close()

	type entry struct{ ip, referer, ua string }
	var entries []entry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := combinedLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		e := entry{ip: m[1], referer: m[2], ua: m[3]}
		if e.referer == "-" {
			e.referer = ""
		}
		if e.ua == "-" {
			e.ua = ""
		}
		entries = append(entries, e)
	}
	require.NoError(tb, sc.Err())
	require.NotEmpty(tb, entries)

	start := time.Now().Add(-time.Duration(n) * time.Millisecond)
	msgs := make([]kafkago.Message, n)
	for i := range msgs {
		e := entries[i%len(entries)]
		link := i % 60
		h := event.RawHit{
			ClickID:   event.NewClickID(),
			Timestamp: event.NewTime(start.Add(time.Duration(i) * time.Millisecond)),
			Method:    "GET",
			IP:        e.ip,
			UA:        event.TruncateUTF8(event.SanitizeUTF8(e.ua), event.MaxUserAgentLen),
			Referer:   event.TruncateUTF8(event.SanitizeUTF8(e.referer), event.MaxRefererLen),
			URL:       "https://example.com/landing",
			Resource: event.ResourceRef{
				Type: event.ResourceLink, ID: fmt.Sprintf("link_%02d", link),
				ProjectID: fmt.Sprintf("proj_%d", link%3), Domain: "d.example", Key: strconv.Itoa(link),
			},
		}
		value, err := json.Marshal(&h)
		require.NoError(tb, err)
		msgs[i] = kafkago.Message{Topic: "hits", Offset: int64(i), Key: []byte(h.Resource.ID), Value: value}
	}
	return msgs
}

// BenchmarkDecodeBatch measures partition.decode, the per-record work of the
// worker before the insert: DecodeHit, enrichment with the default settings
// and the duplicate window, on batches of the default size. The caches are
// warm, as in a worker that has run for a while. hit-ns is the wall time per
// hit and cpu-ns/hit the CPU time of the process, the garbage collector's
// included, which other load on the machine stretches less.
func BenchmarkDecodeBatch(b *testing.B) {
	city := benchCityDB
	if _, err := os.Stat(city); err != nil {
		city = benchTestCity
	}
	b.Logf("City database %s", city)

	cfg := enrich.DefaultConfig()
	cfg.Registerer = prometheus.NewRegistry()
	cfg.GeoIP.City = city
	en, err := enrich.New(cfg, zap.NewNop())
	require.NoError(b, err)
	b.Cleanup(func() { en.Close() })

	wcfg := DefaultConfig()
	w := &Worker{cfg: wcfg, deps: Deps{Enricher: en, Now: time.Now}, log: zap.NewNop()}
	p := newPartition(w, nil, kafkago.PartitionAssignment{ID: 0, Offset: 0})
	msgs := benchMessages(b, 20*wcfg.BatchSize)
	for start := 0; start < len(msgs); start += wcfg.BatchSize {
		p.decode(msgs[start : start+wcfg.BatchSize])
	}

	b.ReportAllocs()
	start := 0
	startCPU := processCPUTime()
	for b.Loop() {
		p.decode(msgs[start : start+wcfg.BatchSize])
		start = (start + wcfg.BatchSize) % len(msgs)
	}
	hits := float64(b.N * wcfg.BatchSize)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/hits, "hit-ns")
	b.ReportMetric(float64(processCPUTime()-startCPU)/hits, "cpu-ns/hit")
}
