package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/clickstream/clickstream/pkg/reconcile"
)

// errGaps is returned by reconcile when a row has a gap, so the command
// exits with 1.
var errGaps = errors.New("hits are missing or stored in excess")

func runReconcile(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("reconcile", stderr)
	cfgPath := configFlag(fs)
	from := fs.String("from", "", "start of the range of hit times, RFC 3339 such as 2024-08-30T10:00:00Z, cut to the minute (default: one hour before -to)")
	to := fs.String("to", "", "end of the range of hit times, not included, RFC 3339, cut to the minute (default: the start of the current minute)")
	late := fs.Duration("late", time.Hour, "maximum delay between a hit and its Kafka record, such as when an edge sends its spool after an outage. Records up to -to plus this are read")
	skew := fs.Duration("skew", time.Minute, "maximum time by which a Kafka record timestamp can precede its hit's timestamp when clocks differ. Records from -from minus this are read")
	gapsOnly := fs.Bool("gaps", false, "print only the rows with a gap")
	if err := parseFlags(fs, args); err != nil {
		return err
	}

	opts, err := reconcileRange(*from, *to, time.Now())
	if err != nil {
		fmt.Fprintln(stderr, err)
		return errUsage
	}
	opts.Late, opts.Skew = *late, *skew
	if err := opts.Validate(); err != nil {
		fmt.Fprintln(stderr, err)
		return errUsage
	}

	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	store, err := reconcile.OpenClickHouse(ctx, cfg.ClickHouse)
	if err != nil {
		return err
	}
	defer store.Close()

	report, err := reconcile.Run(ctx, reconcile.NewKafkaHits(cfg.Kafka), store, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Hits with timestamps from %s to %s (not included), UTC:\n",
		opts.From.Format("2006-01-02 15:04"), opts.To.Format("2006-01-02 15:04"))
	if err := report.WriteTable(stdout, *gapsOnly); err != nil {
		return err
	}
	if n := len(report.Gaps()); n > 0 {
		return fmt.Errorf("%w: %d rows, %+d hits in total", errGaps, n, report.Total.Gap())
	}
	return nil
}

// reconcileRange parses the -from and -to flags, cut to whole minutes.
func reconcileRange(from, to string, now time.Time) (reconcile.Options, error) {
	var opts reconcile.Options
	opts.To = now.UTC().Truncate(time.Minute)
	if to != "" {
		t, err := time.Parse(time.RFC3339, to)
		if err != nil {
			return opts, fmt.Errorf("-to: %w", err)
		}
		opts.To = t.UTC().Truncate(time.Minute)
	}

	opts.From = opts.To.Add(-time.Hour)
	if from != "" {
		t, err := time.Parse(time.RFC3339, from)
		if err != nil {
			return opts, fmt.Errorf("-from: %w", err)
		}
		opts.From = t.UTC().Truncate(time.Minute)
	}
	return opts, nil
}
