package webhook

import (
	"fmt"
	"net/netip"
	"syscall"
)

// deniedPrefixes are the address ranges a webhook may not reach unless the
// allow-list names them. They are loopback, private, link-local, shared
// (CGNAT), multicast and unspecified addresses, and the ranges of the IANA
// IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890) that are not
// globally reachable, such as benchmarking and documentation.
var deniedPrefixes = mustPrefixes(
	// IPv4.
	"0.0.0.0/8",       // "this network", includes the unspecified address
	"10.0.0.0/8",      // private
	"100.64.0.0/10",   // shared address space (carrier-grade NAT)
	"127.0.0.0/8",     // loopback
	"169.254.0.0/16",  // link-local, includes cloud metadata services
	"172.16.0.0/12",   // private
	"192.0.0.0/24",    // IETF protocol assignments
	"192.0.2.0/24",    // documentation (TEST-NET-1)
	"192.88.99.0/24",  // deprecated 6to4 relay anycast
	"192.168.0.0/16",  // private
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // documentation (TEST-NET-2)
	"203.0.113.0/24",  // documentation (TEST-NET-3)
	"224.0.0.0/4",     // multicast
	"240.0.0.0/4",     // reserved, includes the limited broadcast address
	// IPv6. IPv4-mapped and NAT64 addresses are checked through the IPv4
	// address they embed before this list is consulted.
	"::/96",          // unspecified, loopback and deprecated IPv4-compatible addresses
	"64:ff9b:1::/48", // local-use NAT64
	"100::/64",       // discard-only
	"2001::/23",      // IETF protocol assignments: Teredo, benchmarking, ORCHID
	"2001:db8::/32",  // documentation
	"3fff::/20",      // documentation
	"fc00::/7",       // unique local, includes fd00:ec2::254
	"fe80::/10",      // link-local
	"fec0::/10",      // deprecated site-local
	"ff00::/8",       // multicast
)

// metadataAddrs are cloud instance metadata endpoints (AWS, GCP, Azure and
// others on 169.254.169.254, AWS's IPv6 endpoint on fd00:ec2::254). They are
// rejected even when the allow-list covers them, because they hand out
// credentials to any client that reaches them.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"),
	netip.MustParseAddr("fd00:ec2::254"),
}

var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour   = netip.MustParsePrefix("2002::/16")
)

func mustPrefixes(cidrs ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(cidrs))
	for i, c := range cidrs {
		out[i] = netip.MustParsePrefix(c)
	}
	return out
}

// RefusedAddressError is the error of a dial to an address that the SSRF
// guard rejects. The HTTP client wraps it; find it with errors.As.
type RefusedAddressError struct {
	Addr   netip.Addr
	Reason string
}

func (e *RefusedAddressError) Error() string {
	return fmt.Sprintf("address %s rejected: %s", e.Addr, e.Reason)
}

// addressGuard decides which IP addresses a delivery may connect to.
type addressGuard struct {
	allow []netip.Prefix
}

// check returns a *RefusedAddressError when addr may not be dialled.
// Metadata addresses are always rejected; otherwise an address inside an
// allowed prefix passes and an address inside a denied range fails.
func (g addressGuard) check(addr netip.Addr) error {
	addr = addr.WithZone("")
	for _, embedded := range embeddedIPv4(addr) {
		if err := g.check(embedded); err != nil {
			return &RefusedAddressError{Addr: addr, Reason: "embeds " + err.(*RefusedAddressError).Error()}
		}
	}
	addr = addr.Unmap()

	for _, m := range metadataAddrs {
		if addr == m {
			return &RefusedAddressError{Addr: addr, Reason: "cloud metadata endpoint"}
		}
	}
	for _, p := range g.allow {
		if p.Contains(addr) {
			return nil
		}
	}
	for _, p := range deniedPrefixes {
		if p.Contains(addr) {
			return &RefusedAddressError{Addr: addr, Reason: "in special-purpose range " + p.String()}
		}
	}
	return nil
}

// embeddedIPv4 returns the IPv4 address that a NAT64 (64:ff9b::/96) or 6to4
// (2002::/16) address routes to. IPv4-mapped addresses are handled by Unmap.
func embeddedIPv4(addr netip.Addr) []netip.Addr {
	if !addr.Is6() || addr.Is4In6() {
		return nil
	}
	b := addr.As16()
	switch {
	case nat64Prefix.Contains(addr):
		return []netip.Addr{netip.AddrFrom4([4]byte(b[12:16]))}
	case sixToFour.Contains(addr):
		return []netip.Addr{netip.AddrFrom4([4]byte(b[2:6]))}
	}
	return nil
}

// control is a net.Dialer Control function. It runs after name resolution
// on the address actually dialled, so a host name that resolves to a denied
// address, or is rebound to one between checks, is rejected too.
func (g addressGuard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("parsing dialled address %q: %w", address, err)
	}
	return g.check(ap.Addr())
}

// parseCIDRs parses allow-list entries. A bare address counts as a single-host prefix.
func parseCIDRs(entries []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(entries))
	for i, e := range entries {
		p, err := netip.ParsePrefix(e)
		if err != nil {
			a, aerr := netip.ParseAddr(e)
			if aerr != nil {
				return nil, fmt.Errorf("entry %d: %q is neither a CIDR nor an IP address", i, e)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		// Addresses are compared after Unmap, so an IPv4-mapped prefix is
		// stored in its IPv4 form.
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// AddressPolicy is the dispatcher's check of the addresses it may connect
// to, for code outside the dispatcher such as the admin API's validation
// of webhook URLs.
type AddressPolicy struct {
	guard addressGuard
}

// NewAddressPolicy returns the policy of a dispatcher configured with
// allowCIDRs, the dispatcher.allowCIDRs setting.
func NewAddressPolicy(allowCIDRs []string) (*AddressPolicy, error) {
	allow, err := parseCIDRs(allowCIDRs)
	if err != nil {
		return nil, fmt.Errorf("dispatcher.allowCIDRs: %w", err)
	}
	return &AddressPolicy{guard: addressGuard{allow: allow}}, nil
}

// Check returns a *RefusedAddressError when the dispatcher would reject a
// connection to addr.
func (p *AddressPolicy) Check(addr netip.Addr) error {
	return p.guard.check(addr)
}
