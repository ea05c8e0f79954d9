package enrich

// defaultDatacenterASNs are autonomous systems of cloud and hosting providers
// whose addresses serve machines rather than households or phones. The list
// is deliberately short and leaves out networks that also carry people:
// Cloudflare (13335), Akamai (20940) and Fastly (54113) run the egress of
// iCloud Private Relay and WARP, and telecom operators' ASNs host both. A hit
// from one of these networks sets Enriched.Datacenter; it is a bot signal
// only when bot.datacenterIsBot is set. Replace the list with
// bot.datacenterASNs.
var defaultDatacenterASNs = map[uint32]string{
	8987:   "Amazon",
	14618:  "Amazon",
	16509:  "Amazon",
	15169:  "Google",
	19527:  "Google",
	396982: "Google Cloud",
	8075:   "Microsoft (Azure)",
	31898:  "Oracle Cloud",
	36351:  "IBM Cloud (SoftLayer)",
	45102:  "Alibaba Cloud",
	37963:  "Alibaba Cloud",
	132203: "Tencent Cloud",
	45090:  "Tencent Cloud",
	14061:  "DigitalOcean",
	62567:  "DigitalOcean",
	63949:  "Akamai Connected Cloud (Linode)",
	20473:  "Vultr",
	16276:  "OVHcloud",
	24940:  "Hetzner",
	213230: "Hetzner",
	12876:  "Scaleway",
	51167:  "Contabo",
	60781:  "Leaseweb",
	28753:  "Leaseweb",
	197540: "netcup",
	47583:  "Hostinger",
	8560:   "IONOS",
	26496:  "GoDaddy",
	46606:  "Unified Layer",
	9009:   "M247",
	60068:  "Datacamp (CDN77)",
}

// datacenterSet returns the ASNs that count as hosting networks: the
// configured list, or the built-in one when none is configured.
func datacenterSet(configured []uint32) map[uint32]struct{} {
	set := make(map[uint32]struct{}, max(len(configured), len(defaultDatacenterASNs)))
	if len(configured) > 0 {
		for _, asn := range configured {
			set[asn] = struct{}{}
		}
		return set
	}
	for asn := range defaultDatacenterASNs {
		set[asn] = struct{}{}
	}
	return set
}
