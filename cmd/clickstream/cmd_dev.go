package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/clickstream/clickstream/pkg/config"
	"github.com/clickstream/clickstream/pkg/receiver"
)

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dev", stderr)
	cfgPath := fs.String("config", envOr(config.FileEnv, "configs/dev.yaml"), "path of the YAML configuration file (env CLICKSTREAM_CONFIG)")
	replayLog := fs.String("replay", "", "combined-format access log to replay through the edge once everything runs; a summary follows")
	concurrency := fs.Int("replay-concurrency", 16, "concurrent requests of the replay")
	wait := fs.Duration("replay-wait", 2*time.Minute, "how long the summary waits for every replayed hit to reach ClickHouse")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	rt, err := setup(*cfgPath)
	if err != nil {
		return err
	}
	defer syncLogger(rt.log)

	if rt.cfg.Dev.EmbeddedKafka {
		stopBroker, err := startEmbeddedKafka(rt)
		if err != nil {
			return err
		}
		defer stopBroker()
	}
	if err := rt.ensureTopics(ctx); err != nil {
		return err
	}
	stopFeeds, err := rt.followFeeds(ctx, feedSelection{webhooks: true, catalog: true, required: true})
	if err != nil {
		return err
	}
	defer stopFeeds()
	if err := rt.publishSeeds(ctx); err != nil {
		return err
	}

	ch, err := rt.openClickHouse(ctx, true)
	if err != nil {
		return err
	}
	defer ch.Close()
	rt.log.Info("ClickHouse ready", zap.Stringer("version", ch.ServerVersion()), zap.String("database", rt.cfg.ClickHouse.Database))

	en, err := rt.newEnricher()
	if err != nil {
		return err
	}
	defer en.Close()

	w, closeWriters, err := rt.newWorker(ch, en)
	if err != nil {
		return err
	}
	defer closeWriters()
	d, err := rt.newDispatcher(ch)
	if err != nil {
		return err
	}
	srv, pub, err := rt.newEdge()
	if err != nil {
		return err
	}
	defer closePublisher(rt.log, pub.Close)

	rcv := receiver.New(rt.webhooks, 0, rt.log)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return rt.serveMetrics(gctx) })
	g.Go(func() error { return w.Run(gctx) })
	g.Go(func() error { return d.Run(gctx) })
	g.Go(func() error { return srv.Run(gctx) })
	if len(rt.cfg.Admin.Tokens) > 0 {
		g.Go(func() error { return rt.serveAdmin(gctx, ch) })
	} else {
		rt.log.Warn("admin API not started: admin.tokens is empty")
	}
	if rt.cfg.Dev.Receiver != "" {
		g.Go(func() error { return serveHTTP(gctx, rt.log, "receiver", rt.cfg.Dev.Receiver, rcv) })
	}
	if *replayLog != "" {
		g.Go(func() error {
			return replayAndSummarize(gctx, rt, ch, rcv, devReplay{log: *replayLog, concurrency: *concurrency, wait: *wait}, stdout)
		})
	}

	err = g.Wait()
	rt.log.Info("dev stopped")
	return err
}

// startEmbeddedKafka starts a kfake broker on the port of the first
// configured broker address.
func startEmbeddedKafka(rt *runtime) (func(), error) {
	_, portText, err := net.SplitHostPort(rt.cfg.Kafka.Brokers[0])
	if err != nil {
		return nil, fmt.Errorf("kafka.brokers[0]: %w", err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, fmt.Errorf("kafka.brokers[0]: invalid port %q", portText)
	}

	cluster, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.Ports(port),
		kfake.DefaultNumPartitions(rt.cfg.Kafka.Partitions),
		kfake.AllowAutoTopicCreation(),
	)
	if err != nil {
		return nil, fmt.Errorf("starting the embedded Kafka broker on port %d: %w", port, err)
	}
	rt.log.Info("embedded Kafka broker started", zap.Strings("addrs", cluster.ListenAddrs()))
	return cluster.Close, nil
}
