package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/clickstream/clickstream/pkg/admin"
	"github.com/clickstream/clickstream/pkg/changefeed"
	"github.com/clickstream/clickstream/pkg/subscription"
)

// Maximum waits for the change feeds at start. A stage that needs the
// feeds fails after feedReadyTimeout. The edge serves from the seed file
// after edgeFeedWait, or as soon as Kafka proves unreachable, because a
// redirect must not wait for Kafka.
const (
	feedReadyTimeout = time.Minute
	edgeFeedWait     = 5 * time.Second
)

func runAdmin(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlags("admin", stderr)
	cfgPath := configFlag(fs)
	publish := fs.Bool("publish-seeds", false,
		"write the webhooks of webhooks.file and the resources of catalog.file whose ids the feed topics have never seen to those topics at start")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	rt, err := setup(*cfgPath)
	if err != nil {
		return err
	}
	defer syncLogger(rt.log)

	// The catalog feed keeps the catalog current for the check of webhook
	// scopes, and --publish-seeds needs it too.
	stopFeeds, err := rt.followFeeds(ctx, feedSelection{webhooks: true, catalog: true, required: true})
	if err != nil {
		return err
	}
	defer stopFeeds()
	if *publish {
		if err := rt.publishSeeds(ctx); err != nil {
			return err
		}
	}

	var deliveries admin.DeliveryLog
	ch, err := rt.openClickHouse(ctx, false)
	if err != nil {
		rt.log.Warn("ClickHouse unavailable; GET /v1/webhooks/{id}/deliveries responds with 503", zap.Error(err))
	} else {
		defer ch.Close()
		deliveries = ch
	}
	return rt.serveAdmin(ctx, deliveries)
}

// serveAdmin serves the admin API on admin.listen and removes expired
// previous secrets until ctx ends. followFeeds must have followed the
// webhooks and catalog feeds.
func (rt *runtime) serveAdmin(ctx context.Context, deliveries admin.DeliveryLog) error {
	cfg := rt.cfg.Admin
	replayer := admin.NewKafkaReplayer(rt.cfg.Kafka, cfg.ReplayMaxEvents, cfg.ReplayMaxScan, rt.log)
	defer replayer.Close()

	srv, err := admin.New(cfg, admin.Deps{
		Webhooks: rt.webhookStore, Deliveries: deliveries, Replayer: replayer, Log: rt.log,
		Catalog: rt.catalog, AllowCIDRs: rt.cfg.Dispatcher.AllowCIDRs,
	})
	if err != nil {
		return err
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return serveHTTP(gctx, rt.log, "admin", cfg.Listen, srv.Handler()) })
	g.Go(func() error { srv.RunSecretExpiry(gctx); return nil })
	return g.Wait()
}

// feedSelection names the change feeds a process follows.
type feedSelection struct {
	webhooks bool
	catalog  bool
	// required makes followFeeds create the topics and fail when the
	// feeds have not caught up within feedReadyTimeout. Without it,
	// followFeeds waits edgeFeedWait and goes on with what it has.
	required bool
}

// followFeeds follows the selected feeds into rt.webhooks and rt.catalog,
// which hold the seed files at this point: a feed record replaces the
// entry with its key and a tombstone removes it. It waits until the feeds
// have caught up and returns a function that stops following. With the
// webhooks feed it sets rt.webhookStore, which writes through that feed.
//
// NOTE: the broker drops a tombstone after delete.retention.ms (24 h by
// default) once its segment is compacted. A process that starts later and
// loads a seed file with that id brings the deleted entry back, so remove
// deleted webhooks and resources from the seed files too.
func (rt *runtime) followFeeds(ctx context.Context, sel feedSelection) (stop func(), err error) {
	k := rt.cfg.Kafka
	if sel.required {
		topics := []string{k.Topics.Webhooks, k.Topics.Catalog}
		err := retryStartup(ctx, rt.log, "creating the change feed topics", func(ctx context.Context) error {
			return changefeed.EnsureTopics(ctx, k, topics...)
		})
		if err != nil {
			return nil, err
		}
	}

	feedCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var running errgroup.Group
	var feeds []*changefeed.Feed
	start := func(topic string, apply changefeed.ApplyFunc) *changefeed.Feed {
		f := changefeed.NewFeed(k, topic, apply, changefeed.FeedOptions{}, rt.log)
		feeds = append(feeds, f)
		running.Go(func() error { return f.Run(feedCtx) })
		return f
	}
	if sel.webhooks {
		rt.webhookFeed = start(k.Topics.Webhooks, func(r changefeed.Record) error { return rt.webhooks.ApplyRecord(r.Key, r.Value) })
		rt.webhookStore = subscription.NewStore(rt.webhooks, rt.webhookFeed, rt.log)
	}
	if sel.catalog {
		rt.catalogFeed = start(k.Topics.Catalog, func(r changefeed.Record) error { return rt.catalog.ApplyRecord(r.Key, r.Value) })
	}
	stop = func() {
		cancel()
		_ = running.Wait()
		for _, f := range feeds {
			_ = f.Close()
		}
	}

	if err := rt.waitFeeds(ctx, feeds, sel.required); err != nil {
		stop()
		return nil, err
	}
	return stop, nil
}

// waitFeeds waits until every feed has caught up. When required is false
// it gives up after edgeFeedWait, or at once when Kafka cannot be reached,
// with a warning, and the feeds catch up in the background.
func (rt *runtime) waitFeeds(ctx context.Context, feeds []*changefeed.Feed, required bool) error {
	timeout := feedReadyTimeout
	if !required {
		timeout = edgeFeedWait
	}
	waitCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	for _, f := range feeds {
		if !required {
			stopOnLookupFailure(waitCtx, cancel, f.Consumer())
		}
		err := f.WaitReady(waitCtx)
		switch {
		case err == nil:
		case required || ctx.Err() != nil:
			return err
		default:
			rt.log.Warn("change feeds not caught up; serving from the seed files while they catch up in the background", zap.Error(err))
			return nil
		}
	}
	rt.log.Info("change feeds caught up", zap.Int("resources", rt.catalog.Len()), zap.Int("webhooks", len(rt.webhooks.List(""))))
	return nil
}

// stopOnLookupFailure calls cancel when c fails to look up its topic,
// until ctx ends.
func stopOnLookupFailure(ctx context.Context, cancel context.CancelFunc, c *changefeed.Consumer) {
	go func() {
		select {
		case <-c.LookupFailed():
			cancel()
		case <-ctx.Done():
		}
	}()
}

// publishSeeds writes the seed webhooks and resources that the feeds have
// never seen to the feed topics, so that processes with other seed files
// see them and the admin API can change them. A webhook or resource that
// the feed already has, or had and deleted, is left alone, so publishing
// again never undoes a change made through the feed.
func (rt *runtime) publishSeeds(ctx context.Context) error {
	if rt.webhookFeed == nil || rt.catalogFeed == nil {
		return fmt.Errorf("publishing seeds: both change feeds must be followed first")
	}
	hooks, err := rt.webhookStore.PublishUnseen(ctx, rt.webhookFeed.Seen)
	if err != nil {
		return fmt.Errorf("%s: %w", rt.cfg.Webhooks.File, err)
	}
	resources, err := rt.catalog.PublishUnseen(ctx, rt.catalogFeed, rt.catalogFeed.Seen, time.Now())
	if err != nil {
		return fmt.Errorf("%s: %w", rt.cfg.Catalog.File, err)
	}
	rt.log.Info("seed files published to the change feeds", zap.Int("webhooks", hooks), zap.Int("resources", resources),
		zap.String("webhooksTopic", rt.cfg.Kafka.Topics.Webhooks), zap.String("catalogTopic", rt.cfg.Kafka.Topics.Catalog))
	return nil
}
