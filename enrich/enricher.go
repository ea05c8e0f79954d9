package enrich

import (
	"errors"
	"net/netip"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/clickstream/clickstream/pkg/event"
)

// Enricher turns raw hits into enriched interactions. Enrich is safe for
// concurrent use. Close must be called once, after the last Enrich returned.
type Enricher struct {
	cfg     Config
	log     *zap.Logger
	ua      *uaParser
	city    *geoDatabase
	asn     *geoDatabase
	dcASNs  map[uint32]struct{}
	privacy privacyPolicy

	stopWatch chan struct{}
	watchDone sync.WaitGroup
}

// New validates cfg, opens the GeoIP databases it names and starts watching
// them for replacement. An empty City path only disables geolocation and
// logs a warning. A path that does not open is an error naming its key.
func New(cfg Config, log *zap.Logger) (*Enricher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	log = log.Named("enrich")

	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	ua, err := newUAParser(cfg.CacheSize)
	if err != nil {
		return nil, err
	}

	e := &Enricher{
		cfg:       cfg,
		log:       log,
		ua:        ua,
		dcASNs:    datacenterSet(cfg.Bot.DatacenterASNs),
		privacy:   newPrivacyPolicy(cfg.Privacy),
		stopWatch: make(chan struct{}),
	}
	if err := e.openDatabases(m); err != nil {
		return nil, err
	}

	e.watchDone.Add(1)
	go e.watchDatabases()

	log.Info("enricher ready",
		zap.Int("uaCacheSize", cfg.CacheSize),
		zap.String("privacyIP", string(cfg.Privacy.IP)),
		zap.Strings("privacyCountries", cfg.Privacy.Countries),
		zap.Bool("emptyUAIsBot", cfg.Bot.EmptyUAIsBot),
		zap.Bool("datacenterIsBot", cfg.Bot.DatacenterIsBot))
	return e, nil
}

func (e *Enricher) openDatabases(m *metrics) error {
	var err error
	if e.cfg.GeoIP.City == "" {
		e.log.Warn("no GeoIP City database configured: continent, country, city and region stay unknown until enrich.geoip.city names one")
	} else {
		e.city, err = newGeoDatabase("city", "enrich.geoip.city", e.cfg.GeoIP.City,
			[]string{"City", "Enterprise"}, e.cfg.GeoIP.CacheSize, e.log, m)
		if err != nil {
			return err
		}
	}

	if e.cfg.GeoIP.ASN != "" {
		e.asn, err = newGeoDatabase("asn", "enrich.geoip.asn", e.cfg.GeoIP.ASN,
			[]string{"ASN", "ISP"}, 0, e.log, m)
		if err != nil {
			return errors.Join(err, e.closeDatabases())
		}
	}
	return nil
}

// watchDatabases checks the database files every ReloadInterval until Close.
func (e *Enricher) watchDatabases() {
	defer e.watchDone.Done()
	if e.city == nil && e.asn == nil {
		return
	}

	ticker := time.NewTicker(e.cfg.GeoIP.ReloadInterval)
	defer ticker.Stop()
	for {
		select {
		case <-e.stopWatch:
			return
		case <-ticker.C:
			if e.city != nil {
				e.city.reloadIfChanged()
			}
			if e.asn != nil {
				e.asn.reloadIfChanged()
			}
		}
	}
}

// Close stops watching the databases and closes them.
func (e *Enricher) Close() error {
	close(e.stopWatch)
	e.watchDone.Wait()
	return e.closeDatabases()
}

func (e *Enricher) closeDatabases() error {
	var errs []error
	if e.city != nil {
		errs = append(errs, e.city.close())
	}
	if e.asn != nil {
		errs = append(errs, e.asn.close())
	}
	return errors.Join(errs...)
}

// Enrich derives device, browser, OS, geolocation, referer and the bot
// verdict of a hit and applies the privacy policy to its address. Fields
// that cannot be derived are event.Unknown; Referer is event.DirectReferer
// when the hit had no usable Referer header.
func (e *Enricher) Enrich(h *event.RawHit) event.Enriched {
	out := event.Enriched{
		Interaction: event.Interaction{
			Timestamp: h.Timestamp,
			ClickID:   h.ClickID,
			URL:       h.URL,
			IP:        h.IP,
			UA:        h.UA,
			QR:        h.QR,
			Referer:   refererHost(h.Referer),
		},
		Resource:   h.Resource,
		Method:     h.Method,
		RefererRaw: h.Referer,
	}

	ua := e.ua.lookup(h.UA)
	out.Device = ua.device
	out.Browser = ua.browser
	out.BrowserVersion = ua.browserVersion
	out.OS = ua.os
	out.OSVersion = ua.osVersion

	addr := parseAddr(h.IP)
	e.locate(&out, addr)

	out.BotReasons = e.botReasons(h, ua, &out)
	out.Bot = len(out.BotReasons) > 0

	out.IP = e.privacy.apply(h.IP, addr, out.Country)
	return out
}

// parseAddr parses a client address, unmapping IPv4-mapped IPv6 addresses
// so that they are looked up and truncated as IPv4. It returns the zero Addr
// when s is not an address.
func parseAddr(s string) netip.Addr {
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return addr.Unmap()
}

// locate fills the geolocation and network fields of out.
func (e *Enricher) locate(out *event.Enriched, addr netip.Addr) {
	if !publicAddr(addr) {
		return
	}

	if e.city != nil {
		if g, ok := e.city.city(addr); ok {
			out.Continent = g.Continent
			out.Country = g.Country
			out.City = g.City
			out.Region = g.Region
			out.Latitude = g.Latitude
			out.Longitude = g.Longitude
		}
	}

	if e.asn != nil {
		out.ASN = e.asn.asn(addr)
		_, out.Datacenter = e.dcASNs[out.ASN]
	}
}

// botReasons collects every signal that marks the hit as automated: the user
// agent's reason first, then the request's. It returns nil for people.
func (e *Enricher) botReasons(h *event.RawHit, ua uaInfo, out *event.Enriched) []string {
	var reasons []string
	switch {
	case ua.botReason != "":
		reasons = append(reasons, ua.botReason)
	case h.UA == "" && e.cfg.Bot.EmptyUAIsBot:
		reasons = append(reasons, ReasonEmptyUA)
	}

	if strings.EqualFold(h.Method, "HEAD") {
		reasons = append(reasons, ReasonHeadRequest)
	}
	if out.Referer != event.DirectReferer && isEmailScannerHost(out.Referer) {
		reasons = append(reasons, ReasonEmailScanner)
	}
	if out.Datacenter && e.cfg.Bot.DatacenterIsBot {
		reasons = append(reasons, ReasonDatacenter)
	}
	return reasons
}
