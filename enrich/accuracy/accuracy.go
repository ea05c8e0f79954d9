// Package accuracy measures how well the enricher classifies user agents
// against public test corpora. It scores device type against the Matomo
// device-detector fixtures and browser and OS family against uap-core. It
// measures bot recall on three crawler lists and false positives on lists
// of browsers used by people.
//
// The corpora live under testdata/ua, each with its licence. Where a corpus
// labels a client differently from the enricher's written policy (see
// ../VOCABULARY.md), the case is counted as relabelled, not scored. Where
// Yauaa, a second parser, gives a Matomo device fixture another class, the
// case is disputed: it is not scored against the floor, and the report
// shows the rate with it as well.
package accuracy

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/clickstream/clickstream/enrich"
	"github.com/clickstream/clickstream/pkg/event"
)

// Row is one line of the report: one metric on one list.
type Row struct {
	// Metric is "device", "browser", "os", "bot recall" or "false positives".
	Metric string
	// List names the corpus and, for device rows, the class.
	List string
	// Cases is the number of scored cases; Relabelled and Disputed cases
	// are not in it.
	Cases      int
	Relabelled int
	// Disputed counts the device cases whose label a second parser
	// contradicts; DisputedHits counts those the enricher labels as the
	// corpus does.
	Disputed     int
	DisputedHits int
	// Hits is the number of agreements, or of false positives for the
	// "false positives" metric.
	Hits int
	// Rate is Hits / Cases.
	Rate float64
	// Floor is the minimum Rate, or the maximum for "false positives".
	Floor float64
	// AllRate is the rate with the disputed cases scored as well.
	AllRate float64
	// HeldAll is the AllRate that tests hold a device row at, or zero.
	HeldAll float64
	// Misses are the user agents that disagree, with what the enricher
	// produced, for debugging.
	Misses []string
}

// Pass reports whether the row meets its floor.
func (r Row) Pass() bool {
	if r.Metric == metricFalsePositives {
		return r.Rate <= r.Floor
	}
	return r.Rate >= r.Floor
}

// Result is the whole report.
type Result struct {
	Rows []Row
}

// Failed returns the rows that miss their floor.
func (r Result) Failed() []Row {
	var failed []Row
	for _, row := range r.Rows {
		if !row.Pass() {
			failed = append(failed, row)
		}
	}
	return failed
}

const (
	metricDevice         = "device"
	metricBrowser        = "browser"
	metricOS             = "os"
	metricRecall         = "bot recall"
	metricFalsePositives = "false positives"
)

// Floors of the report.
const (
	floorDevice         = 0.98
	floorBrowser        = 0.95
	floorOS             = 0.97
	floorRecall         = 0.99
	floorFalsePositives = 0.005
)

// heldDeviceAll are the rates on all of Matomo's labels, disputed cases
// included, that the device rows reached. No floor applies to them, but
// tests hold each row at its rate so that a change that loses disputed
// cases cannot pass unnoticed.
var heldDeviceAll = map[string]float64{
	"desktop":    0.980,
	"smartphone": 0.988,
	"tablet":     0.956,
}

// Report runs one Enricher with the default configuration over the corpora
// under testdataDir/ua, prints one table to w and returns the rows.
func Report(w io.Writer, testdataDir string) (Result, error) {
	cfg := enrich.DefaultConfig()
	cfg.Registerer = prometheus.NewRegistry()
	e, err := enrich.New(cfg, zap.NewNop())
	if err != nil {
		return Result{}, fmt.Errorf("creating enricher: %w", err)
	}
	defer e.Close()

	var res Result
	for _, measure := range []func(*enrich.Enricher, string) ([]Row, error){
		measureDevices, measureFamilies, measureRecall, measureFalsePositives,
	} {
		rows, err := measure(e, testdataDir)
		if err != nil {
			return Result{}, err
		}
		res.Rows = append(res.Rows, rows...)
	}

	if err := printTable(w, res); err != nil {
		return res, fmt.Errorf("writing report: %w", err)
	}
	return res, nil
}

func classify(e *enrich.Enricher, ua string) event.Enriched {
	hit := event.RawHit{Method: "GET", UA: ua}
	return e.Enrich(&hit)
}

func measureDevices(e *enrich.Enricher, dir string) ([]Row, error) {
	opinion, err := loadSecondOpinion(dir)
	if err != nil {
		return nil, err
	}

	var rows []Row
	for _, class := range matomoClasses {
		cases, err := loadMatomo(dir, class+".yml")
		if err != nil {
			return nil, err
		}

		row := Row{Metric: metricDevice, List: "matomo " + class, Floor: floorDevice, HeldAll: heldDeviceAll[class]}
		for _, c := range cases {
			want := matomoDevices[c.Label]
			got := classify(e, c.UA).Device
			other, err := opinion.deviceClass(c.UA)
			if err != nil {
				return nil, err
			}
			if other != "" && other != want {
				row.Disputed++
				if got == want {
					row.DisputedHits++
				}
				continue
			}
			row.score(got == want, c.UA, got)
		}
		rows = append(rows, row.done())
	}
	return rows, nil
}

func measureFamilies(e *enrich.Enricher, dir string) ([]Row, error) {
	browsers, err := loadUAP(dir, "test_ua.yaml")
	if err != nil {
		return nil, err
	}
	oses, err := loadUAP(dir, "test_os.yaml")
	if err != nil {
		return nil, err
	}

	browser := Row{Metric: metricBrowser, List: "uap-core test_ua", Floor: floorBrowser}
	for _, c := range browsers {
		want, covered := uapBrowsers[c.Label]
		if !covered {
			continue
		}
		got := classify(e, c.UA).Browser
		browser.score(slices.Contains(want, got), c.UA, got+", want "+c.Label)
	}

	os := Row{Metric: metricOS, List: "uap-core test_os", Floor: floorOS}
	for _, c := range oses {
		want, covered := uapOSes[c.Label]
		if !covered {
			continue
		}
		got := classify(e, c.UA).OS
		os.score(slices.Contains(want, got), c.UA, got+", want "+c.Label)
	}
	return []Row{browser.done(), os.done()}, nil
}

func measureRecall(e *enrich.Enricher, dir string) ([]Row, error) {
	instances, err := loadCrawlerInstances(dir)
	if err != nil {
		return nil, err
	}
	isbot, err := loadIsbot(dir, "crawlers.yml")
	if err != nil {
		return nil, err
	}
	devices, err := loadUAP(dir, "test_device.yaml")
	if err != nil {
		return nil, err
	}
	var spiders []labelledUA
	for _, c := range devices {
		if c.Label == "Spider" {
			spiders = append(spiders, c)
		}
	}

	lists := []struct {
		name  string
		cases []labelledUA
	}{
		{"crawler-user-agents instances", instances},
		{"isbot crawlers.yml", isbot},
		{"uap-core Spider devices", spiders},
	}
	var rows []Row
	for _, l := range lists {
		row := Row{Metric: metricRecall, List: l.name, Floor: floorRecall}
		for _, c := range l.cases {
			if humanByPolicy(l.name, c) {
				row.Relabelled++
				continue
			}
			got := classify(e, c.UA)
			row.score(got.Bot, c.UA, fmt.Sprintf("%s/%s/%s", got.Browser, got.OS, got.Device))
		}
		rows = append(rows, row.done())
	}
	return rows, nil
}

func measureFalsePositives(e *enrich.Enricher, dir string) ([]Row, error) {
	isbot, err := loadIsbot(dir, "browsers.yml")
	if err != nil {
		return nil, err
	}
	lists := []struct {
		name  string
		cases []labelledUA
	}{{"isbot browsers.yml", isbot}}
	for _, class := range []string{"desktop", "smartphone", "tablet"} {
		cases, err := loadMatomo(dir, class+".yml")
		if err != nil {
			return nil, err
		}
		lists = append(lists, struct {
			name  string
			cases []labelledUA
		}{"matomo " + class, cases})
	}

	var rows []Row
	for _, l := range lists {
		row := Row{Metric: metricFalsePositives, List: l.name, Floor: floorFalsePositives}
		for _, c := range l.cases {
			if botByPolicy(l.name, c) {
				row.Relabelled++
				continue
			}
			got := classify(e, c.UA)
			row.score(got.Bot, c.UA, fmt.Sprint(got.BotReasons))
		}
		rows = append(rows, row.done())
	}
	return rows, nil
}

// score counts one case. For false-positive rows hit means "flagged as a
// bot"; for the others it means "agrees with the corpus". Misses collect
// the cases that count against the floor.
func (r *Row) score(hit bool, ua, got string) {
	r.Cases++
	if hit {
		r.Hits++
	}
	if hit == (r.Metric == metricFalsePositives) {
		r.Misses = append(r.Misses, fmt.Sprintf("%q -> %s", ua, got))
	}
}

func (r Row) done() Row {
	if r.Cases > 0 {
		r.Rate = float64(r.Hits) / float64(r.Cases)
	}
	r.AllRate = r.Rate
	if all := r.Cases + r.Disputed; r.Disputed > 0 {
		r.AllRate = float64(r.Hits+r.DisputedHits) / float64(all)
	}
	return r
}

func printTable(w io.Writer, res Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "metric\tlist\tcases\trelabelled\tdisputed\tagree/flagged\trate\tfloor\tresult\twith disputed\t")
	for _, r := range res.Rows {
		bound := ">="
		if r.Metric == metricFalsePositives {
			bound = "<="
		}
		result := "ok"
		if !r.Pass() {
			result = "FAIL"
		}
		withDisputed := "-"
		if r.Metric == metricDevice {
			withDisputed = fmt.Sprintf("%.2f%%", 100*r.AllRate)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%.2f%%\t%s %.1f%%\t%s\t%s\t\n",
			r.Metric, r.List, r.Cases, r.Relabelled, r.Disputed, r.Hits, 100*r.Rate, bound, 100*r.Floor, result, withDisputed)
	}
	return tw.Flush()
}
