package enrich

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config is the `enrich` section of the clickstream configuration. Start from
// DefaultConfig and decode YAML over it, so that omitted keys keep their
// defaults.
type Config struct {
	GeoIP GeoIPConfig `yaml:"geoip"`
	// CacheSize is the maximum number of parsed user agents kept in memory.
	// One entry takes about 150 bytes plus the length of its user agent
	// (measured with the test corpora), so the default of 20000 takes about
	// 6 MB for user agents of 150 bytes. 0 disables the cache. Default 20000.
	CacheSize int           `yaml:"cacheSize"`
	Bot       BotConfig     `yaml:"bot"`
	Privacy   PrivacyConfig `yaml:"privacy"`

	// Registerer receives the enrichment metrics. Nil means
	// prometheus.DefaultRegisterer. It is set in code, not in YAML.
	Registerer prometheus.Registerer `yaml:"-"`
}

// GeoIPConfig names the MaxMind databases. Both files are reopened without a
// restart when they are replaced, which should be done by renaming a complete
// new file over the old one.
type GeoIPConfig struct {
	// City is the path of a GeoIP2 or GeoLite2 City database. Empty disables
	// geolocation: continent, country, city and region stay Unknown and New
	// logs a warning. Default empty.
	City string `yaml:"city"`
	// ASN is the path of a GeoLite2 ASN database, used to fill ASN and
	// Datacenter. Empty disables both. Default empty.
	ASN string `yaml:"asn"`
	// ReloadInterval is how often the files' modification time and size are
	// checked for a replacement. Default 5s.
	ReloadInterval time.Duration `yaml:"reloadInterval"`
	// CacheSize is the maximum number of decoded City records kept in
	// memory, keyed by record, not by address, so one entry serves every
	// address of a network. 0 disables the cache. Default 20000.
	CacheSize int `yaml:"cacheSize"`
}

// BotConfig sets which signals make a hit a bot.
type BotConfig struct {
	// EmptyUAIsBot marks hits without a User-Agent header as bots with the
	// reason "empty-ua". Every mainstream browser and in-app web view sends
	// one, while scripts and scanners often do not. Default true.
	EmptyUAIsBot bool `yaml:"emptyUAIsBot"`
	// DatacenterIsBot adds the reason "datacenter" when the client address
	// belongs to a hosting network. Off by default because VPNs, corporate
	// proxies and cloud desktops put real people there. Needs geoip.asn.
	// Default false.
	DatacenterIsBot bool `yaml:"datacenterIsBot"`
	// DatacenterASNs replaces the built-in list of hosting autonomous
	// systems (see datacenter.go). Empty keeps the built-in list.
	DatacenterASNs []uint32 `yaml:"datacenterASNs"`
}

// IPMode is the treatment of the client address of an interaction after
// enrichment.
type IPMode string

// The IP modes.
const (
	// IPKeep stores the address as received.
	IPKeep IPMode = "keep"
	// IPTruncate zeroes the host part: IPv4 to its /24, IPv6 to its /48.
	IPTruncate IPMode = "truncate"
	// IPDrop stores an empty string.
	IPDrop IPMode = "drop"
)

// PrivacyConfig controls what is kept of the client address.
type PrivacyConfig struct {
	// IP is keep, truncate or drop. Default keep.
	IP IPMode `yaml:"ip"`
	// Countries limits the IP mode to hits geolocated in these ISO 3166-1
	// alpha-2 countries. Hits elsewhere or of unknown country keep their
	// address. Empty applies the mode to all hits. Default empty.
	Countries []string `yaml:"countries"`
}

// DefaultConfig returns the configuration used for omitted keys.
func DefaultConfig() Config {
	return Config{
		GeoIP: GeoIPConfig{
			ReloadInterval: 5 * time.Second,
			CacheSize:      20000,
		},
		CacheSize: 20000,
		Bot: BotConfig{
			EmptyUAIsBot: true,
		},
		Privacy: PrivacyConfig{
			IP: IPKeep,
		},
	}
}

// Validate checks every field and returns all problems joined, each naming
// its YAML key under "enrich.".
func (c *Config) Validate() error {
	var errs []error

	if c.CacheSize < 0 {
		errs = append(errs, fmt.Errorf("enrich.cacheSize: must be 0 or more, got %d", c.CacheSize))
	}
	if c.GeoIP.CacheSize < 0 {
		errs = append(errs, fmt.Errorf("enrich.geoip.cacheSize: must be 0 or more, got %d", c.GeoIP.CacheSize))
	}
	if c.GeoIP.ReloadInterval <= 0 {
		errs = append(errs, fmt.Errorf("enrich.geoip.reloadInterval: must be a positive duration such as 5s, got %s", c.GeoIP.ReloadInterval))
	}
	if c.Bot.DatacenterIsBot && c.GeoIP.ASN == "" {
		errs = append(errs, errors.New("enrich.bot.datacenterIsBot: needs enrich.geoip.asn to be set"))
	}

	switch c.Privacy.IP {
	case IPKeep, IPTruncate, IPDrop:
	default:
		errs = append(errs, fmt.Errorf("enrich.privacy.ip: must be keep, truncate or drop, got %q", c.Privacy.IP))
	}
	for i, code := range c.Privacy.Countries {
		if !validCountryCode(code) {
			errs = append(errs, fmt.Errorf("enrich.privacy.countries[%d]: must be an ISO 3166-1 alpha-2 code such as DE, got %q", i, code))
		}
	}

	return errors.Join(errs...)
}

// validCountryCode reports whether s is two ASCII upper-case letters, the
// form MaxMind databases use for country ISO codes.
func validCountryCode(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}
