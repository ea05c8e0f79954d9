package event

import "encoding/json"

// Webhook event types fired by interactions.
const (
	TypeLinkClicked   = "link.clicked"
	TypeQRCodeScanned = "qrcode.scanned"
	TypePageVisited   = "page.visited"
)

// EventTypeFor returns the webhook event type and its human-readable
// eventName for an interaction on a resource of type t.
func EventTypeFor(t ResourceType) (eventType, eventName string) {
	switch t {
	case ResourceQRCode:
		return TypeQRCodeScanned, "QR code scanned"
	case ResourcePage:
		return TypePageVisited, "Page visited"
	default:
		return TypeLinkClicked, "Link clicked"
	}
}

// Envelope is the webhook payload every receiver gets.
type Envelope struct {
	ID        string       `json:"id"`
	Event     string       `json:"event"`
	CreatedAt Time         `json:"createdAt"`
	Data      EnvelopeData `json:"data"`
}

// EnvelopeData is the data object of an interaction event. Exactly one of
// Link, QRCode and Page is set, matching the event type.
type EnvelopeData struct {
	EventName   string      `json:"eventName"`
	Interaction Interaction `json:"interaction"`
	Link        *Link       `json:"link,omitempty"`
	QRCode      *QRCode     `json:"qrcode,omitempty"`
	Page        *Page       `json:"page,omitempty"`
}

// Delivery is one record of the webhook-events topic: one payload for one
// webhook, keyed by WebhookID. The dispatcher looks the URL and the signing
// secrets up by WebhookID at send time, so rotated secrets apply to queued
// deliveries and no secret is written to Kafka.
type Delivery struct {
	EventID   string `json:"eventId"`
	EventType string `json:"eventType"`
	WebhookID string `json:"webhookId"`
	ProjectID string `json:"projectId"`
	ClickID   string `json:"clickId"`
	Attempt   int    `json:"attempt"`
	// NotBefore is when the next attempt may start; zero means now.
	NotBefore Time            `json:"notBefore"`
	Payload   json.RawMessage `json:"payload"`
}
