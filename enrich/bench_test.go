package enrich

import (
	"bufio"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"gopkg.in/yaml.v3"

	"github.com/clickstream/clickstream/pkg/event"
)

// realCityDB is where the GeoLite2 City download script puts the database.
// Benchmarks that need it are skipped when it is missing.
const realCityDB = "../var/geoip/GeoLite2-City.mmdb"

// benchHits is the number of distinct hits a benchmark cycles through.
const benchHits = 100_000

// BenchmarkEnrich measures Enrich on a realistic mix: user agents drawn from
// the test corpora with a Zipf distribution (a few clients make most hits),
// client addresses and referers in the order of a real Apache access log.
//
// "warm" runs every hit once before timing, so the user-agent and City
// record caches hold what they can. "cold" disables both caches, so every
// hit parses its user agent and decodes its City record.
func BenchmarkEnrich(b *testing.B) {
	hits := loadBenchHits(b)
	dbs := map[string]string{"test-city": testCityDB}
	if _, err := os.Stat(realCityDB); err == nil {
		dbs["geolite2-city"] = realCityDB
	}

	for name, path := range dbs {
		b.Run("db="+name+"/warm", func(b *testing.B) {
			e := newBenchEnricher(b, path, DefaultConfig().CacheSize)
			for i := range hits {
				e.Enrich(&hits[i])
			}
			runBench(b, e, hits)
		})
		b.Run("db="+name+"/cold", func(b *testing.B) {
			e := newBenchEnricher(b, path, 0)
			runBench(b, e, hits)
		})
		b.Run("db="+name+"/warm-parallel", func(b *testing.B) {
			e := newBenchEnricher(b, path, DefaultConfig().CacheSize)
			for i := range hits {
				e.Enrich(&hits[i])
			}
			b.ReportAllocs()
			start := time.Now()
			startCPU := processCPUTime()
			b.RunParallel(func(pb *testing.PB) {
				i := rand.IntN(len(hits))
				for pb.Next() {
					e.Enrich(&hits[i%len(hits)])
					i++
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "hits/s")
			b.ReportMetric(float64(processCPUTime()-startCPU)/float64(b.N), "cpu-ns/hit")
		})
	}
}

// runBench enriches hits in turn and reports hits per second of wall time
// and CPU nanoseconds per hit, the cost on one core whatever else runs on
// the machine. With -cpu 1 the CPU time includes the garbage collector's.
func runBench(b *testing.B, e *Enricher, hits []event.RawHit) {
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	startCPU := processCPUTime()
	i := 0
	for b.Loop() {
		e.Enrich(&hits[i])
		i++
		if i == len(hits) {
			i = 0
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "hits/s")
	b.ReportMetric(float64(processCPUTime()-startCPU)/float64(b.N), "cpu-ns/hit")
}

func newBenchEnricher(b *testing.B, cityPath string, cacheSize int) *Enricher {
	b.Helper()

	cfg := DefaultConfig()
	cfg.Registerer = prometheus.NewRegistry()
	cfg.GeoIP.City = cityPath
	cfg.CacheSize = cacheSize
	cfg.GeoIP.CacheSize = cacheSize

	e, err := New(cfg, zap.NewNop())
	require.NoError(b, err)
	b.Cleanup(func() { e.Close() })
	return e
}

// loadBenchHits builds benchHits raw hits from the corpora and the access
// log. It uses fixed seeds, so every run gets the same hits.
func loadBenchHits(b testing.TB) []event.RawHit {
	b.Helper()

	uas := loadCorpusUAs(b)
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(uas), func(i, j int) { uas[i], uas[j] = uas[j], uas[i] })
	zipf := rand.NewZipf(rand.New(rand.NewPCG(3, 4)), 1.1, 1, uint64(len(uas)-1))

	entries := loadAccessLog(b)
	hits := make([]event.RawHit, benchHits)
	for i := range hits {
		h := testHit(uas[zipf.Uint64()])
		entry := entries[i%len(entries)]
		h.IP = entry.ip
		h.Referer = entry.referer
		hits[i] = *h
	}
	return hits
}

// loadCorpusUAs returns every user agent of the Matomo fixtures, the isbot
// fixtures, the uap-core browser tests and the crawler-user-agents examples.
func loadCorpusUAs(b testing.TB) []string {
	b.Helper()
	var uas []string

	for _, f := range []string{"desktop.yml", "smartphone.yml", "tablet.yml"} {
		var fixtures []struct {
			UA string `yaml:"user_agent"`
		}
		readYAMLFile(b, filepath.Join("../testdata/ua/matomo-device-detector", f), &fixtures)
		for _, f := range fixtures {
			uas = append(uas, f.UA)
		}
	}

	for _, f := range []string{"browsers.yml", "crawlers.yml"} {
		var groups map[string][]string
		readYAMLFile(b, filepath.Join("../testdata/ua/isbot", f), &groups)
		for _, list := range groups {
			uas = append(uas, list...)
		}
	}

	var uap struct {
		TestCases []struct {
			UA string `yaml:"user_agent_string"`
		} `yaml:"test_cases"`
	}
	readYAMLFile(b, "../testdata/ua/uap-core/test_ua.yaml", &uap)
	for _, c := range uap.TestCases {
		uas = append(uas, c.UA)
	}

	data, err := os.ReadFile("../testdata/ua/crawler-user-agents/crawler-user-agents.json")
	require.NoError(b, err)
	var crawlers []struct {
		Instances []string `json:"instances"`
	}
	require.NoError(b, json.Unmarshal(data, &crawlers))
	for _, c := range crawlers {
		uas = append(uas, c.Instances...)
	}
	return uas
}

func readYAMLFile(b testing.TB, path string, v any) {
	b.Helper()
	data, err := os.ReadFile(path)
	require.NoError(b, err)
	require.NoError(b, yaml.Unmarshal(data, v))
}

type accessLogEntry struct {
	ip      string
	referer string
}

// combinedLog matches the client address and the referer of a line in the
// Apache combined log format.
var combinedLog = regexp.MustCompile(`^(\S+) \S+ \S+ \[[^\]]*\] "[^"]*" \S+ \S+ "([^"]*)"`)

func loadAccessLog(b testing.TB) []accessLogEntry {
	b.Helper()

	f, err := os.Open("../testdata/logs/apache_logs")
	require.NoError(b, err)
	defer f.Close()

	var entries []accessLogEntry
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		m := combinedLog.FindStringSubmatch(scanner.Text())
		if m == nil {
			continue
		}
		referer := m[2]
		if referer == "-" {
			referer = ""
		}
		entries = append(entries, accessLogEntry{ip: m[1], referer: referer})
	}
	require.NoError(b, scanner.Err())
	require.NotEmpty(b, entries)
	return entries
}

// BenchmarkParseUserAgent measures parsing alone, without the cache, over
// every user agent of the corpora in turn.
func BenchmarkParseUserAgent(b *testing.B) {
	uas := loadCorpusUAs(b)
	p, err := newUAParser(0)
	require.NoError(b, err)

	b.ReportAllocs()
	startCPU := processCPUTime()
	i := 0
	for b.Loop() {
		p.parse(uas[i])
		i++
		if i == len(uas) {
			i = 0
		}
	}
	b.ReportMetric(float64(processCPUTime()-startCPU)/float64(b.N), "cpu-ns/op")
}
