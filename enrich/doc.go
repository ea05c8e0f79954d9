// Package enrich turns raw hits into enriched interactions. It derives
// device, browser and OS from the user agent, and continent, country, city
// and coordinates from a MaxMind City database. It adds the referring host
// and a bot verdict with its reasons, and applies the privacy policy to the
// client address.
//
// VOCABULARY.md lists every value the enricher can produce and the policies
// for clients that the test corpora label differently.
//
// # Use
//
//	e, err := enrich.New(cfg, logger) // cfg from DefaultConfig, then YAML
//	...
//	out := e.Enrich(&hit) // safe for concurrent use
//	...
//	e.Close() // after the last Enrich
//
// # Performance
//
// Parsed user agents are kept in a bounded least-recently-used cache
// (cacheSize) and decoded City records in another (geoip.cacheSize), so a
// hit whose user agent and network were seen before costs one cache lookup
// each plus the database's tree walk. All user-agent keyword and substring
// matching happens in one pass over the user agent with an Aho-Corasick
// automaton, whatever the number of crawler patterns. docs/benchmarks.md
// records measured throughput.
//
// # Databases
//
// The City and ASN databases are memory-mapped and checked for replacement
// every geoip.reloadInterval. Replace a file by renaming a complete new one
// over it: rewriting it in place changes the mapped memory under running
// lookups. The build time of each loaded database is logged and exported
// as clickstream_enrich_geoip_build_timestamp_seconds{database="city"|"asn"}.
package enrich
