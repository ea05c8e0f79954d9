package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/clickstream/clickstream/enrich"
	"github.com/clickstream/clickstream/enrich/accuracy"
	"github.com/clickstream/clickstream/pkg/config"
	"github.com/clickstream/clickstream/pkg/event"
	"github.com/clickstream/clickstream/pkg/receiver"
	"github.com/clickstream/clickstream/pkg/subscription"
)

// publisherCloseTimeout bounds the final flush of the edge's hit queue.
const publisherCloseTimeout = 30 * time.Second

// maxEnrichLine bounds one input line of `clickstream enrich`.
const maxEnrichLine = 1 << 20

func runEnrich(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("enrich", stderr)
	cfgPath := fs.String("config", "", "optional YAML file whose enrich section is used (CLICKSTREAM_ENRICH_* variables apply too)")
	city := fs.String("geoip-city", "", "path of a GeoIP2 or GeoLite2 City database (overrides enrich.geoip.city)")
	asn := fs.String("geoip-asn", "", "path of a GeoLite2 ASN database (overrides enrich.geoip.asn)")
	full := fs.Bool("full", false, "write every field the enrichment stores, not only the public interaction object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}

	cfg := defaultConfig()
	if err := config.Load(*cfgPath, &cfg, os.Environ()); err != nil {
		return err
	}
	if *city != "" {
		cfg.Enrich.GeoIP.City = *city
	}
	if *asn != "" {
		cfg.Enrich.GeoIP.ASN = *asn
	}
	if err := cfg.Enrich.Validate(); err != nil {
		return fmt.Errorf("invalid configuration: %w", err)
	}

	log, err := newLogger(LogConfig{Level: "warn", Format: "console"})
	if err != nil {
		return err
	}
	defer syncLogger(log)
	en, err := enrich.New(cfg.Enrich, log)
	if err != nil {
		return err
	}
	defer en.Close()

	return enrichStream(os.Stdin, stdout, stderr, en, *full)
}

// enrichStream enriches every NDJSON hit of in. Invalid lines are reported
// on stderr with their line number and make the command fail at the end,
// after the valid lines have been written.
func enrichStream(in io.Reader, stdout, stderr io.Writer, en *enrich.Enricher, full bool) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), maxEnrichLine)
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)

	line, invalid := 0, 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		hit, err := event.DecodeHit(sc.Bytes())
		if err != nil {
			invalid++
			fmt.Fprintf(stderr, "line %d: %v\n", line, err)
			continue
		}

		e := en.Enrich(&hit)
		if full {
			err = enc.Encode(&e)
		} else {
			err = enc.Encode(&e.Interaction)
		}
		if err != nil {
			return fmt.Errorf("writing line %d: %w", line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading line %d: %w (lines are limited to %d bytes)", line+1, err, maxEnrichLine)
	}
	if invalid > 0 {
		return fmt.Errorf("%d of %d lines were invalid hits", invalid, line)
	}
	return nil
}

func runReceiver(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlags("receiver", stderr)
	listen := fs.String("listen", "127.0.0.1:8090", "address to listen on")
	hooks := fs.String("webhooks", "configs/webhooks.yaml", "webhook subscriptions file with the secrets to verify against")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	reg, err := subscription.LoadFile(*hooks)
	if err != nil {
		return err
	}
	log, err := newLogger(LogConfig{Level: "info", Format: "console"})
	if err != nil {
		return err
	}
	defer syncLogger(log)

	rcv := receiver.New(reg, 0, log)
	log.Info("receiver accepts POST /hooks/{webhookId} and serves GET /stats", zap.String("listen", *listen))
	return serveHTTP(ctx, log, "receiver", *listen, rcv)
}

func runAccuracy(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("accuracy", stderr)
	dir := fs.String("testdata", "testdata", "folder that holds the corpora")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	res, err := accuracy.Report(stdout, *dir)
	if err != nil {
		return err
	}
	if failed := res.Failed(); len(failed) > 0 {
		return fmt.Errorf("%d of %d rows are below their floor", len(failed), len(res.Rows))
	}
	return nil
}
