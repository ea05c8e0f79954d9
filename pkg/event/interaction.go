package event

// Unknown is the value of continent, country, city, device, browser and os
// when enrichment cannot tell: private or unknown addresses, unparsable user
// agents. It is an empty string so that the JSON type stays a string and
// ClickHouse queries can filter with `country != ”`.
const Unknown = ""

// DirectReferer is the referer of an interaction that carried no Referer
// header or one that could not be parsed as a URL.
const DirectReferer = "(direct)"

// Interaction is the public `interaction` object of link.clicked,
// qrcode.scanned and page.visited. Key names, order and JSON types follow the
// webhook contract exactly.
type Interaction struct {
	Timestamp Time   `json:"timestamp"`
	ClickID   string `json:"clickId"`
	URL       string `json:"url"`
	IP        string `json:"ip"`
	Continent string `json:"continent"`
	Country   string `json:"country"`
	City      string `json:"city"`
	Device    string `json:"device"`
	Browser   string `json:"browser"`
	OS        string `json:"os"`
	UA        string `json:"ua"`
	Bot       bool   `json:"bot"`
	QR        bool   `json:"qr"`
	Referer   string `json:"referer"`
}

// Enriched is an interaction with everything the worker stores in ClickHouse
// beyond the public contract. The enrich package fills it; sinks read it.
// Its JSON form (`clickstream enrich -full`) flattens the interaction's keys
// next to the extra ones.
type Enriched struct {
	Interaction

	Resource ResourceRef `json:"resource"`
	Method   string      `json:"method"`
	// RefererRaw is the Referer header as the edge received it.
	RefererRaw string `json:"refererRaw"`

	// Region is the ISO 3166-2 subdivision code without the country
	// prefix ("CA" for California), or Unknown.
	Region    string  `json:"region"`
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`

	BrowserVersion string `json:"browserVersion"`
	OSVersion      string `json:"osVersion"`

	// BotReasons lists every signal that flagged the hit, such as
	// "crawler", "link-preview", "http-library", "headless", "head-request",
	// "email-scanner" or "empty-ua". Bot is true when it is not empty.
	BotReasons []string `json:"botReasons"`
	// Datacenter reports that the client address belongs to a hosting
	// network. It only feeds Bot when configured to.
	Datacenter bool   `json:"datacenter"`
	ASN        uint32 `json:"asn"`

	// Duplicate marks a repeat of the same visitor on the same resource
	// within the deduplication window. It is stored but counts nothing and
	// fires no webhook.
	Duplicate bool `json:"duplicate"`

	// VisitorHash identifies the visitor in the worker's duplicate window:
	// a hash of the client address as received, before enrich.privacy
	// changed IP, and of the user agent. The worker sets it and ClickHouse
	// stores it, so that a worker taking over a partition can rebuild the
	// window. It is 0 where no worker set it, as in `clickstream enrich`,
	// and never appears in JSON.
	VisitorHash uint64 `json:"-"`
}
