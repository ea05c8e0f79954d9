package catalog

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/clickstream/clickstream/pkg/event"
)

// Project-level change events of the link platform that the catalog
// applies. Link events carry the link object as data; QR code and page
// events carry theirs under data.qrcode and data.page.
const (
	EventLinkCreated   = "link.created"
	EventLinkUpdated   = "link.updated"
	EventLinkDeleted   = "link.deleted"
	EventQRCodeCreated = "qrcode.created"
	EventQRCodeUpdated = "qrcode.updated"
	EventQRCodeDeleted = "qrcode.deleted"
	EventPageCreated   = "page.created"
	EventPageUpdated   = "page.updated"
	EventPageDeleted   = "page.deleted"
)

// ErrUnsupportedEvent is returned by Apply for an event type that does not
// change a link, QR code or page, such as lead.created.
var ErrUnsupportedEvent = errors.New("unsupported event type")

// ChangeEvent is the envelope of a project-level webhook event, as the
// catalog change feed carries it, keyed by resource id.
type ChangeEvent struct {
	ID        string          `json:"id"`
	Event     string          `json:"event"`
	CreatedAt event.Time      `json:"createdAt"`
	Data      json.RawMessage `json:"data"`
}

// Apply adds, replaces or removes the resource that ev describes. Unknown
// keys in the objects are ignored, because the platform's payloads carry
// more fields (tags, tagId) than the catalog keeps.
func (c *Catalog) Apply(ev ChangeEvent) error {
	res, action, err := decodeChange(ev)
	if err != nil {
		return err
	}
	return c.applyChange(ev, res, action)
}

// decodeChange returns the resource that ev carries and the action:
// created, updated or deleted.
func decodeChange(ev ChangeEvent) (*Resource, string, error) {
	kind, action, _ := strings.Cut(ev.Event, ".")
	switch action {
	case "created", "updated", "deleted":
	default:
		return nil, "", fmt.Errorf("%w %q", ErrUnsupportedEvent, ev.Event)
	}

	var res *Resource
	var err error
	switch kind {
	case "link":
		res, err = decodeLink(ev.Data)
	case "qrcode":
		res, err = decodeQRCode(ev.Data)
	case "page":
		res, err = decodePage(ev.Data)
	default:
		return nil, "", fmt.Errorf("%w %q", ErrUnsupportedEvent, ev.Event)
	}
	if err != nil {
		return nil, "", fmt.Errorf("%s event %s: %w", ev.Event, ev.ID, err)
	}
	if res.Ref.ID == "" {
		return nil, "", fmt.Errorf("%s event %s: id is missing", ev.Event, ev.ID)
	}
	return res, action, nil
}

func (c *Catalog) applyChange(ev ChangeEvent, res *Resource, action string) error {
	if action == "deleted" {
		c.Delete(res.Ref.ID)
		return nil
	}
	if err := c.putResource(res); err != nil {
		return fmt.Errorf("%s event %s: %w", ev.Event, ev.ID, err)
	}
	return nil
}

func decodeLink(data json.RawMessage) (*Resource, error) {
	var l event.Link
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("decoding data as a link: %w", err)
	}
	return &Resource{Ref: event.ResourceRef{Type: event.ResourceLink, ID: l.ID}, Link: &l}, nil
}

func decodeQRCode(data json.RawMessage) (*Resource, error) {
	var d struct {
		QRCode *event.QRCode `json:"qrcode"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("decoding data.qrcode: %w", err)
	}
	if d.QRCode == nil {
		return nil, errors.New("data.qrcode is missing")
	}
	return &Resource{Ref: event.ResourceRef{Type: event.ResourceQRCode, ID: d.QRCode.ID}, QRCode: d.QRCode}, nil
}

func decodePage(data json.RawMessage) (*Resource, error) {
	var d struct {
		Page *event.Page `json:"page"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("decoding data.page: %w", err)
	}
	if d.Page == nil {
		return nil, errors.New("data.page is missing")
	}
	return &Resource{Ref: event.ResourceRef{Type: event.ResourcePage, ID: d.Page.ID}, Page: d.Page}, nil
}

// putResource validates and stores the one object res carries.
func (c *Catalog) putResource(res *Resource) error {
	switch {
	case res.Link != nil:
		return c.PutLink(*res.Link)
	case res.QRCode != nil:
		return c.PutQRCode(*res.QRCode)
	default:
		return c.PutPage(*res.Page)
	}
}

// ApplyRecord applies one record of the catalog change feed: key is the
// resource id and value a ChangeEvent as JSON. An empty value (a
// tombstone) removes the resource. A record whose key differs from the
// id in its event is rejected and changes nothing.
func (c *Catalog) ApplyRecord(key string, value []byte) error {
	if len(value) == 0 {
		c.Delete(key)
		return nil
	}

	var ev ChangeEvent
	if err := json.Unmarshal(value, &ev); err != nil {
		return fmt.Errorf("decoding the change event of %s: %w", key, err)
	}
	res, action, err := decodeChange(ev)
	if err != nil {
		return err
	}
	if res.Ref.ID != key {
		return fmt.Errorf("catalog record key %q does not match the id %q in its %s event", key, res.Ref.ID, ev.Event)
	}
	return c.applyChange(ev, res, action)
}

// NewChangeEvent returns the change event "<type>.<action>" of res, such
// as link.updated for action "updated", with a fresh event id and
// createdAt set to now. action is created, updated or deleted.
func NewChangeEvent(action string, res *Resource, now time.Time) (ChangeEvent, error) {
	var data any
	switch {
	case res.Link != nil:
		data = res.Link
	case res.QRCode != nil:
		data = map[string]any{"qrcode": res.QRCode}
	case res.Page != nil:
		data = map[string]any{"page": res.Page}
	default:
		return ChangeEvent{}, fmt.Errorf("resource %s carries no link, QR code or page", res.Ref.ID)
	}

	b, err := json.Marshal(data)
	if err != nil {
		return ChangeEvent{}, fmt.Errorf("encoding resource %s: %w", res.Ref.ID, err)
	}
	ev := ChangeEvent{ID: newEventID(), Event: string(res.Ref.Type) + "." + action, CreatedAt: event.NewTime(now), Data: b}
	return ev, nil
}

// FeedWriter writes records to the catalog change feed, as
// *changefeed.Feed does.
type FeedWriter interface {
	Put(ctx context.Context, key string, value []byte) error
}

// PublishUnseen writes a created event for every resource whose id seen
// reports false, which after loading a seed file and catching up with the
// feed are the seed's resources that the feed never mentioned. It returns
// the number written.
func (c *Catalog) PublishUnseen(ctx context.Context, feed FeedWriter, seen func(id string) bool, now time.Time) (int, error) {
	n := 0
	for _, res := range c.All() {
		if seen(res.Ref.ID) {
			continue
		}
		ev, err := NewChangeEvent("created", res, now)
		if err != nil {
			return n, err
		}
		value, err := json.Marshal(ev)
		if err != nil {
			return n, fmt.Errorf("encoding the %s event of %s: %w", ev.Event, res.Ref.ID, err)
		}
		if err := feed.Put(ctx, res.Ref.ID, value); err != nil {
			return n, fmt.Errorf("publishing seed resource %s: %w", res.Ref.ID, err)
		}
		n++
	}
	return n, nil
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newEventID returns "evt_" and 25 random base62 characters, the shape of
// the platform's event ids.
func newEventID() string {
	out := make([]byte, 0, 29)
	out = append(out, "evt_"...)
	var buf [32]byte
	for len(out) < cap(out) {
		if _, err := rand.Read(buf[:]); err != nil {
			panic("crypto/rand failed: " + err.Error())
		}
		for _, b := range buf {
			// 248 is the largest multiple of 62 below 256; redrawing
			// larger bytes keeps the characters uniform.
			if b < 248 && len(out) < cap(out) {
				out = append(out, base62[b%62])
			}
		}
	}
	return string(out)
}
