package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/clickstream/clickstream/pkg/receiver"
	"github.com/clickstream/clickstream/pkg/replay"
	"github.com/clickstream/clickstream/sinks/clickhouse"
)

func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("replay", stderr)
	edgeURL := fs.String("edge", "http://127.0.0.1:8080", "base URL of the edge")
	logPath := fs.String("log", "testdata/logs/apache_logs", "access log in the combined format")
	targets := fs.String("targets", "codeqr.link/79ys3WA,codeqr.link/sOvvXDT,expol.ink/rXUSTPx1tic3-qr,expol.ink/p/pHs20VCe8V",
		"comma-separated domain/key short links; each log path always goes to the same one. "+
			"The replay of clickstream dev (make run) uses every short link of its catalog instead, so its counts differ")
	qr := fs.Float64("qr-fraction", 0, "share of log paths, 0 to 1, whose requests carry ?qr=1")
	concurrency := fs.Int("concurrency", 16, "requests in flight, at least 1")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *concurrency < 1 {
		fmt.Fprintf(stderr, "invalid -concurrency %d: must be at least 1\n", *concurrency)
		return errUsage
	}

	var list []replay.Target
	for _, s := range strings.Split(*targets, ",") {
		t, err := replay.ParseTarget(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("-targets: %w", err)
		}
		list = append(list, t)
	}
	res, err := replayFile(ctx, *logPath, replay.Config{BaseURL: *edgeURL, Targets: list, QRFraction: *qr, Concurrency: *concurrency})
	if err != nil && res.Lines == 0 {
		// A bad setting or a log that cannot be opened: nothing to report.
		return err
	}
	printReplay(stdout, *logPath, res)
	if err != nil {
		return err
	}
	return replayFailure(res)
}

// replayFailure returns an error when requests were made and none of them
// got a response, so that scripts notice an edge that is down.
func replayFailure(res replay.Result) error {
	if res.Errors > 0 && res.Sent == 0 {
		return fmt.Errorf("none of the %d requests got a response: check that the edge is running", res.Errors)
	}
	return nil
}

func replayFile(ctx context.Context, path string, cfg replay.Config) (replay.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return replay.Result{}, fmt.Errorf("opening the log: %w", err)
	}
	defer f.Close()

	r, err := replay.New(cfg)
	if err != nil {
		return replay.Result{}, err
	}
	return r.Replay(ctx, f)
}

func printReplay(w io.Writer, path string, res replay.Result) {
	codes := make([]int, 0, len(res.ByStatus))
	for c := range res.ByStatus {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = fmt.Sprintf("%d: %d", c, res.ByStatus[c])
	}

	fmt.Fprintf(w, "Replay of %s\n", path)
	fmt.Fprintf(w, "  log lines: %d, responses: %d (%s), requests without a response: %d\n", res.Lines, res.Sent, strings.Join(parts, ", "), res.Errors)
	fmt.Fprintf(w, "  lines that could not be parsed: %d, lines with a truncated user agent (sent): %d\n", res.ParseErrors, res.Truncated)
	for _, e := range res.FirstErrors {
		fmt.Fprintf(w, "  error: %s\n", e)
	}
}

// devReplay holds the options of `clickstream dev -replay`.
type devReplay struct {
	log         string
	concurrency int
	wait        time.Duration
}

// replayAndSummarize replays a log through the edge of the dev process,
// waits until ClickHouse holds every redirected hit and the webhook
// deliveries have settled, and prints the summary.
func replayAndSummarize(ctx context.Context, rt *runtime, ch *clickhouse.Client, rcv *receiver.Receiver, opts devReplay, stdout io.Writer) error {
	edgeURL := "http://" + rt.cfg.Edge.Listen
	if err := waitHealthy(ctx, edgeURL+"/healthz", 30*time.Second); err != nil {
		return err
	}
	// The summary covers this replay only: rows inserted from one second
	// before it started, by the server's clock in whole seconds.
	since := time.Now().Add(-time.Second)

	var targets []replay.Target
	for _, r := range rt.catalog.All() {
		targets = append(targets, replay.Target{Domain: r.Ref.Domain, Key: r.Ref.Key})
	}
	started := time.Now()
	res, err := replayFile(ctx, opts.log, replay.Config{BaseURL: edgeURL, Targets: targets, Concurrency: opts.concurrency})
	if err != nil {
		return fmt.Errorf("replaying %s: %w", opts.log, err)
	}
	printReplay(stdout, opts.log, res)
	fmt.Fprintf(stdout, "  replayed in %s\n\n", time.Since(started).Round(time.Millisecond))

	want := uint64(res.ByStatus[http.StatusFound])
	summary, err := waitForRows(ctx, ch, since, want, opts.wait)
	if err != nil {
		return err
	}
	stats := waitForDeliveries(ctx, rcv)

	fmt.Fprintf(stdout, "Hits redirected by the edge: %d; interactions of this replay in ClickHouse: %d\n\n",
		res.ByStatus[http.StatusFound], summary.Interactions)
	printSummary(stdout, summary)
	fmt.Fprintln(stdout)
	printDeliveries(stdout, stats)
	fmt.Fprintf(stdout, "\nServing redirects on %s until Ctrl-C, for example:\n  curl -si -H 'Host: codeqr.link' %s/79ys3WA\n", edgeURL, edgeURL)
	return nil
}

func waitHealthy(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the edge at %s did not become healthy within %s", url, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// waitForRows polls the summary of the rows inserted since until it counts
// want interactions.
func waitForRows(ctx context.Context, ch *clickhouse.Client, since time.Time, want uint64, timeout time.Duration) (clickhouse.Summary, error) {
	deadline := time.Now().Add(timeout)
	for {
		s, err := ch.SummarySince(ctx, 5, since)
		if err != nil {
			return s, fmt.Errorf("reading the summary: %w", err)
		}
		if s.Interactions >= want {
			return s, nil
		}
		if time.Now().After(deadline) {
			return s, fmt.Errorf("timed out after %[3]s: ClickHouse contains %[1]d of %[2]d interactions; check the worker's log", s.Interactions, want, timeout)
		}
		select {
		case <-ctx.Done():
			return s, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// waitForDeliveries waits until the receiver's count has not changed for
// two seconds, at most 30 seconds.
func waitForDeliveries(ctx context.Context, rcv *receiver.Receiver) receiver.Stats {
	last := rcv.Stats()
	stable := time.Now()
	deadline := time.Now().Add(30 * time.Second)
	for time.Since(stable) < 2*time.Second && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(250 * time.Millisecond)
		if s := rcv.Stats(); s.Received != last.Received {
			last, stable = s, time.Now()
		}
	}
	return last
}
