package edge

import (
	"net"
	"net/netip"
	"strings"
)

// clientIPResolver finds the visitor's address from the TCP peer and, behind
// trusted proxies, from X-Forwarded-For.
type clientIPResolver struct {
	trusted []netip.Prefix
}

// forwardedResult records where the client IP came from, for the metric.
type forwardedResult int

const (
	fromPeer forwardedResult = iota
	fromForwardedFor
	forwardedForInvalid
)

// resolve returns the client IP of a request from peer, the TCP peer
// address. When the peer is a trusted proxy it calls forwardedFor for the
// values of the X-Forwarded-For header lines and walks them from the right,
// skipping trusted proxies, and takes the first untrusted address. Every
// entry left of it was written by the client or by proxies that are not
// trusted. When every entry is trusted the leftmost one is the client. An
// entry that is not an IP address makes the whole header untrustworthy, so
// the peer is used and the result is forwardedForInvalid.
func (c *clientIPResolver) resolve(peer netip.Addr, forwardedFor func() []string) (netip.Addr, forwardedResult) {
	if !peer.IsValid() || !c.isTrusted(peer) {
		return peer, fromPeer
	}

	values := forwardedFor()
	var leftmost netip.Addr
	for i := len(values) - 1; i >= 0; i-- {
		list := values[i]
		for list != "" {
			var entry string
			if j := strings.LastIndexByte(list, ','); j >= 0 {
				list, entry = list[:j], list[j+1:]
			} else {
				list, entry = "", list
			}

			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue
			}
			addr, ok := parseForwardedAddr(entry)
			if !ok {
				return peer, forwardedForInvalid
			}
			if !c.isTrusted(addr) {
				return addr, fromForwardedFor
			}
			leftmost = addr
		}
	}

	if leftmost.IsValid() {
		return leftmost, fromForwardedFor
	}
	return peer, fromPeer
}

func (c *clientIPResolver) isTrusted(a netip.Addr) bool {
	for _, p := range c.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peerAddr parses http.Request.RemoteAddr. It returns the zero Addr for
// addresses that are not IP:port, such as those of a Unix socket listener.
func peerAddr(remote string) netip.Addr {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap().WithZone("")
}

// netPeerAddr returns the IP address of a connection's remote address, or
// the zero Addr when it is not a TCP address.
func netPeerAddr(remote net.Addr) netip.Addr {
	tcp, ok := remote.(*net.TCPAddr)
	if !ok {
		return netip.Addr{}
	}
	return tcp.AddrPort().Addr().Unmap().WithZone("")
}

// parseForwardedAddr accepts "192.0.2.1", "2001:db8::1", and the forms with a
// port that some proxies write: "192.0.2.1:4711" and "[2001:db8::1]:4711".
func parseForwardedAddr(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}
