package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
)

func runWorker(ctx context.Context, args []string, _, stderr io.Writer) error {
	rt, err := setupStage("worker", args, stderr)
	if err != nil {
		return err
	}
	defer syncLogger(rt.log)
	setMemoryLimit(rt.log, rt.cfg.Worker.MemoryLimitMiB)

	if err := rt.ensureTopics(ctx); err != nil {
		return err
	}
	stopFeeds, err := rt.followFeeds(ctx, feedSelection{webhooks: true, catalog: true, required: true})
	if err != nil {
		return err
	}
	defer stopFeeds()
	ch, err := rt.openClickHouse(ctx, false)
	if err != nil {
		return err
	}
	defer ch.Close()

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

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return rt.serveMetrics(gctx) })
	g.Go(func() error { return w.Run(gctx) })
	return g.Wait()
}

func runDispatcher(ctx context.Context, args []string, _, stderr io.Writer) error {
	rt, err := setupStage("dispatcher", args, stderr)
	if err != nil {
		return err
	}
	defer syncLogger(rt.log)

	stopFeeds, err := rt.followFeeds(ctx, feedSelection{webhooks: true, required: true})
	if err != nil {
		return err
	}
	defer stopFeeds()
	ch, err := rt.openClickHouse(ctx, false)
	if err != nil {
		return err
	}
	defer ch.Close()

	d, err := rt.newDispatcher(ch)
	if err != nil {
		return err
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return rt.serveMetrics(gctx) })
	g.Go(func() error { return d.Run(gctx) })
	return g.Wait()
}

func runEdge(ctx context.Context, args []string, _, stderr io.Writer) error {
	rt, err := setupStage("edge", args, stderr)
	if err != nil {
		return err
	}
	defer syncLogger(rt.log)

	// The edge spools hits while Kafka is away, so it serves at once and
	// creates the topics in the background instead of waiting for Kafka.
	go func() {
		if err := rt.ensureTopics(ctx); err != nil {
			rt.log.Warn("Kafka topics not verified, serving anyway", zap.Error(err))
		}
	}()
	stopFeeds, err := rt.followFeeds(ctx, feedSelection{catalog: true})
	if err != nil {
		return err
	}
	defer stopFeeds()
	srv, pub, err := rt.newEdge()
	if err != nil {
		return err
	}
	defer closePublisher(rt.log, pub.Close)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return rt.serveMetrics(gctx) })
	g.Go(func() error { return srv.Run(gctx) })
	return g.Wait()
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	rt, err := setupStage("migrate", args, stderr)
	if err != nil {
		return err
	}
	defer syncLogger(rt.log)

	ch, err := rt.openClickHouse(ctx, true)
	if err != nil {
		return err
	}
	defer ch.Close()
	fmt.Fprintf(stdout, "database %s is ready on ClickHouse %s\n", rt.cfg.ClickHouse.Database, ch.ServerVersion())
	return nil
}

// closePublisher flushes the edge's publisher with a fresh context, because
// the process context is already cancelled at shutdown.
func closePublisher(log *zap.Logger, closeFn func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), publisherCloseTimeout)
	defer cancel()
	if err := closeFn(ctx); err != nil {
		log.Error("closing the hit publisher failed", zap.Error(err))
	}
}

// setMemoryLimit applies worker.memoryLimitMiB as the runtime's soft memory
// limit unless the GOMEMLIMIT variable already set one.
func setMemoryLimit(log *zap.Logger, mib int) {
	if mib == 0 || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(int64(mib) << 20)
	log.Info("soft memory limit set", zap.Int("mib", mib))
}

// setupStage parses the flags of a stage command, which has only -config,
// and loads its configuration and seed files.
func setupStage(name string, args []string, stderr io.Writer) (*runtime, error) {
	fs := newFlags(name, stderr)
	cfgPath := configFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	return setup(*cfgPath)
}
