package event

// Link is the link object of the webhook contract (data.link). Nullable
// fields are pointers or json.RawMessage so that null round-trips as null.
type Link struct {
	ID              string  `json:"id"`
	Domain          string  `json:"domain"`
	Key             string  `json:"key"`
	ExternalID      *string `json:"externalId"`
	URL             string  `json:"url"`
	TrackConversion bool    `json:"trackConversion"`
	Archived        bool    `json:"archived"`
	ExpiresAt       *Time   `json:"expiresAt"`
	ExpiredURL      *string `json:"expiredUrl"`
	Password        *string `json:"password"`
	Proxy           bool    `json:"proxy"`
	Title           *string `json:"title"`
	Description     *string `json:"description"`
	Image           *string `json:"image"`
	Video           *string `json:"video"`
	Rewrite         bool    `json:"rewrite"`
	DoIndex         bool    `json:"doIndex"`
	IOS             *string `json:"ios"`
	Android         *string `json:"android"`
	Geo             RawJSON `json:"geo"`
	PublicStats     bool    `json:"publicStats"`
	Comments        *string `json:"comments"`
	ShortLink       string  `json:"shortLink"`
	QRCode          string  `json:"qrCode"`
	UTMSource       *string `json:"utm_source"`
	UTMMedium       *string `json:"utm_medium"`
	UTMCampaign     *string `json:"utm_campaign"`
	UTMTerm         *string `json:"utm_term"`
	UTMContent      *string `json:"utm_content"`
	UserID          string  `json:"userId"`
	ProjectID       string  `json:"projectId"`
	Clicks          int64   `json:"clicks"`
	LastClicked     *Time   `json:"lastClicked"`
	Leads           int64   `json:"leads"`
	Sales           int64   `json:"sales"`
	SaleAmount      int64   `json:"saleAmount"`
	CreatedAt       Time    `json:"createdAt"`
	UpdatedAt       Time    `json:"updatedAt"`
}

// QRCode is the QR code object of the webhook contract (data.qrcode).
type QRCode struct {
	ID        string `json:"id"`
	Domain    string `json:"domain"`
	Key       string `json:"key"`
	Archived  bool   `json:"archived"`
	Static    bool   `json:"static"`
	Type      string `json:"type"`
	URL       string `json:"url"`
	UserID    string `json:"userId"`
	ProjectID string `json:"projectId"`
	Scans     int64  `json:"scans"`
	ShortLink string `json:"shortLink"`
	CreatedAt Time   `json:"createdAt"`
	UpdatedAt Time   `json:"updatedAt"`
}

// Page is the page object of the webhook contract (data.page).
type Page struct {
	ID        string `json:"id"`
	Domain    string `json:"domain"`
	Key       string `json:"key"`
	Name      string `json:"name"`
	Type      string `json:"type"`
	URL       string `json:"url,omitempty"`
	ProjectID string `json:"projectId"`
	UserID    string `json:"userId"`
	Views     int64  `json:"views"`
	CreatedAt Time   `json:"createdAt"`
	UpdatedAt Time   `json:"updatedAt"`
}

// RawJSON is a JSON value kept verbatim; a missing value marshals as null.
type RawJSON []byte

// MarshalJSON implements json.Marshaler.
func (r RawJSON) MarshalJSON() ([]byte, error) {
	if len(r) == 0 {
		return []byte("null"), nil
	}
	return r, nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (r *RawJSON) UnmarshalJSON(b []byte) error {
	*r = append((*r)[:0], b...)
	return nil
}
