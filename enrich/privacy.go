package enrich

import (
	"net/netip"
)

// privacyPolicy applies PrivacyConfig to the client address of an
// interaction after enrichment.
type privacyPolicy struct {
	mode IPMode
	// countries is nil when the mode applies to every hit.
	countries map[string]struct{}
}

func newPrivacyPolicy(cfg PrivacyConfig) privacyPolicy {
	p := privacyPolicy{mode: cfg.IP}
	if len(cfg.Countries) > 0 {
		p.countries = make(map[string]struct{}, len(cfg.Countries))
		for _, c := range cfg.Countries {
			p.countries[c] = struct{}{}
		}
	}
	return p
}

// apply returns the address to store for a hit from country. raw is the
// address as received and addr its parsed form, invalid when raw did not
// parse. An address that cannot be parsed is dropped under truncate, because
// there is no safe way to shorten it.
func (p privacyPolicy) apply(raw string, addr netip.Addr, country string) string {
	if p.mode == IPKeep {
		return raw
	}
	if p.countries != nil {
		if _, ok := p.countries[country]; !ok {
			return raw
		}
	}

	if p.mode == IPDrop || !addr.IsValid() {
		return ""
	}
	return truncateAddr(addr).String()
}

// truncateAddr zeroes the host part of addr: IPv4 (including IPv4-mapped
// IPv6) to its /24, IPv6 to its /48. These are the usual anonymisation
// prefixes: a /24 is the smallest IPv4 block routed on the internet and a /48
// is the usual assignment to one site.
func truncateAddr(addr netip.Addr) netip.Addr {
	addr = addr.Unmap().WithZone("")
	bits := 48
	if addr.Is4() {
		bits = 24
	}
	prefix, _ := addr.Prefix(bits)
	return prefix.Addr()
}
