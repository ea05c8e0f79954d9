package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/clickstream/clickstream/pkg/event"
	"github.com/clickstream/clickstream/pkg/subscription"
)

// counter is the running total of counted interactions of one resource.
type counter struct {
	count int64
	last  time.Time
}

// counted reports whether an interaction adds to the resource's counters and
// may fire webhooks: bots and repeats of the same visitor do neither.
func counted(e *event.Enriched) bool {
	return !e.Bot && !e.Duplicate
}

// deliveries advances the counters of the batch's resources and builds one
// delivery per matching webhook and counted interaction. Rows marked in
// resent were counted when their first copy was processed. Counters missing
// from the cache are restored from the rows stored before firstOffset, the
// batch's first offset. Rows at later offsets are left out even when they
// are stored: a worker that stopped between an insert and its commit stored
// them, and this batch or a later one counts them again.
func (p *partition) deliveries(ctx context.Context, rows []event.Enriched, resent []bool, firstOffset int64) ([]event.Delivery, error) {
	matches := make([][]subscription.Webhook, len(rows))
	var restore []string
	seen := map[string]bool{}

	for i := range rows {
		e := &rows[i]
		if !counted(e) || resent[i] {
			continue
		}
		eventType, _ := event.EventTypeFor(e.Resource.Type)
		matches[i] = p.w.deps.Webhooks.Match(e.Resource, eventType)
		if len(matches[i]) == 0 || seen[e.Resource.ID] {
			continue
		}
		seen[e.Resource.ID] = true
		if _, ok := p.counters.Get(e.Resource.ID); !ok {
			restore = append(restore, e.Resource.ID)
		}
	}

	if err := p.restoreCounters(ctx, restore, firstOffset); err != nil {
		return nil, err
	}

	var out []event.Delivery
	now := event.NewTime(p.w.deps.Now())
	for i := range rows {
		e := &rows[i]
		if !counted(e) || resent[i] {
			continue
		}
		c, ok := p.counters.Get(e.Resource.ID)
		if !ok {
			continue
		}
		c.count++
		if e.Timestamp.After(c.last) {
			c.last = e.Timestamp.Time
		}

		for _, wh := range matches[i] {
			d, err := p.buildDelivery(e, wh, c, now)
			if err != nil {
				return nil, err
			}
			out = append(out, d)
		}
	}
	return out, nil
}

func (p *partition) restoreCounters(ctx context.Context, ids []string, before int64) error {
	if len(ids) == 0 {
		return nil
	}

	var counts map[string]ResourceCount
	err := p.retry(ctx, "restore_counters", func(ctx context.Context) error {
		var err error
		counts, err = p.w.deps.Store.CountsByResource(ctx, ids, p.id, before)
		return err
	})
	if err != nil {
		return fmt.Errorf("restoring counters of %d resources: %w", len(ids), err)
	}

	for _, id := range ids {
		rc := counts[id]
		p.counters.Put(id, &counter{count: rc.Count, last: rc.Last})
	}
	return nil
}

func (p *partition) buildDelivery(e *event.Enriched, wh subscription.Webhook, c *counter, now event.Time) (event.Delivery, error) {
	eventType, eventName := event.EventTypeFor(e.Resource.Type)
	env := event.Envelope{
		ID:        event.EventID(e.ClickID, wh.ID, eventType),
		Event:     eventType,
		CreatedAt: now,
		Data:      event.EnvelopeData{EventName: eventName, Interaction: e.Interaction},
	}
	p.attachResource(&env.Data, e, c)

	payload, err := json.Marshal(&env)
	if err != nil {
		return event.Delivery{}, fmt.Errorf("encoding event %s: %w", env.ID, err)
	}
	return event.Delivery{
		EventID:   env.ID,
		EventType: eventType,
		WebhookID: wh.ID,
		ProjectID: wh.ProjectID,
		ClickID:   e.ClickID,
		Attempt:   1,
		Payload:   payload,
	}, nil
}

// attachResource sets data.link, data.qrcode or data.page from the catalog,
// with the counters including this interaction. A resource missing from the
// catalog (deleted after the hit) is described by what the hit carries.
func (p *partition) attachResource(d *event.EnvelopeData, e *event.Enriched, c *counter) {
	ref := e.Resource
	res, _ := p.w.deps.Catalog.Get(ref.ID)
	last := event.NewTime(c.last)

	switch ref.Type {
	case event.ResourceQRCode:
		q := event.QRCode{ID: ref.ID, Domain: ref.Domain, Key: ref.Key, ProjectID: ref.ProjectID, URL: e.URL}
		if res != nil && res.QRCode != nil {
			q = *res.QRCode
		}
		q.Scans = c.count
		d.QRCode = &q
	case event.ResourcePage:
		pg := event.Page{ID: ref.ID, Domain: ref.Domain, Key: ref.Key, ProjectID: ref.ProjectID, URL: e.URL}
		if res != nil && res.Page != nil {
			pg = *res.Page
		}
		pg.Views = c.count
		d.Page = &pg
	default:
		l := event.Link{ID: ref.ID, Domain: ref.Domain, Key: ref.Key, ProjectID: ref.ProjectID, URL: e.URL}
		if res != nil && res.Link != nil {
			l = *res.Link
		}
		l.Clicks = c.count
		l.LastClicked = &last
		d.Link = &l
	}
}
