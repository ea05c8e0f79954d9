package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/clickstream/clickstream/pkg/receiver"
	"github.com/clickstream/clickstream/sinks/clickhouse"
)

func runSummary(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("summary", stderr)
	cfgPath := configFlag(fs)
	top := fs.Int("top", 5, "entries in each top list")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *top < 1 || *top > clickhouse.MaxTopN {
		fmt.Fprintf(stderr, "invalid -top %d: must be 1 to %d\n", *top, clickhouse.MaxTopN)
		return errUsage
	}
	rt, err := setup(*cfgPath)
	if err != nil {
		return err
	}
	defer syncLogger(rt.log)

	ch, err := rt.openClickHouse(ctx, false)
	if err != nil {
		return err
	}
	defer ch.Close()

	s, err := ch.Summary(ctx, *top)
	if clickhouse.IsUnknownDatabase(err) {
		return fmt.Errorf("database %s does not exist: run `clickstream migrate` first: %w", rt.cfg.ClickHouse.Database, err)
	}
	if err != nil {
		return err
	}
	printSummary(stdout, s)
	return nil
}

// printSummary writes the ClickHouse summary as plain text.
func printSummary(w io.Writer, s clickhouse.Summary) {
	share := func(n uint64) string {
		if s.Interactions == 0 {
			return "0.0%"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(s.Interactions))
	}

	fmt.Fprintln(w, "ClickHouse interactions")
	fmt.Fprintf(w, "  interactions (distinct click ids): %d\n", s.Interactions)
	fmt.Fprintf(w, "  rows stored (repeats not merged):   %d\n", s.Rows)
	fmt.Fprintf(w, "  bots:       %d (%s)\n", s.Bots, share(s.Bots))
	fmt.Fprintf(w, "  duplicates: %d (%s)\n", s.Duplicates, share(s.Duplicates))
	fmt.Fprintf(w, "  counted:    %d (%s)\n", s.Counted, share(s.Counted))
	printTop(w, "countries", s.TopCountries)
	printTop(w, "devices", s.TopDevices)
	printTop(w, "browsers", s.TopBrowsers)
	printTop(w, "referers", s.TopReferers)
}

func printTop(w io.Writer, title string, list []clickhouse.NameCount) {
	parts := make([]string, len(list))
	for i, nc := range list {
		name := nc.Name
		if name == "" {
			name = "(unknown)"
		}
		parts[i] = fmt.Sprintf("%s %d", name, nc.Count)
	}
	fmt.Fprintf(w, "  top %-10s %s\n", title+":", strings.Join(parts, ", "))
}

// printDeliveries writes what the test receiver got.
func printDeliveries(w io.Writer, s receiver.Stats) {
	fmt.Fprintln(w, "Webhook deliveries at the test receiver")
	fmt.Fprintf(w, "  received: %d, valid signatures: %d, invalid: %d, repeated event ids: %d\n",
		s.Received, s.Verified, s.BadSignature, s.Repeats)
	for _, t := range []string{"link.clicked", "qrcode.scanned", "page.visited"} {
		fmt.Fprintf(w, "  %-15s %d\n", t+":", s.ByEvent[t])
	}
}
