// Package enrich turns raw hits into enriched interactions. It derives
// device, browser and OS from the user agent, and continent, country, city
// and coordinates from a MaxMind City database. It adds the referring host
// and a bot verdict with its reasons, and applies the privacy policy to the
// client address.
//
// VOCABULARY.md lists every value the enricher can produce and the policies
// for clients that the test corpora label differently.
//
// # User agents
//
// github.com/mssola/useragent v1.0.0 parses each distinct user agent once,
// on a cache miss. Its result is the base, and the rules of this package
// correct it where it is wrong (library.go, useragent.go):
//
//   - Browser: the library names the family of Chrome, Chromium, Firefox,
//     IE, Edge, Opera, Yandex, Coc Coc, Electron, DuckDuckGo, the Google
//     app and BlackBerry. The rules win when they find a browser's own
//     token (in-app browsers and the many browsers built on Chromium,
//     WebKit or Gecko) or an Android web view. They also name every
//     browser that the library calls "Safari" or "Android", because those
//     are its defaults for WebKit browsers it does not know. The version is
//     the rules' reading of the token that names the browser, because the
//     library reads it by position. IE is the exception: in compatibility
//     view it sends "MSIE 7.0", and the library reads the real version
//     from the Trident token.
//   - OS: the library's raw OS string, normalised to the vocabulary
//     ("CPU iPhone OS 17_5 like Mac OS X" is iOS 17.5), unless the rules
//     name another system: Linux distributions, Android and webOS on Linux,
//     HarmonyOS, Windows Phone and Windows Mobile behind a Windows token,
//     iPads that request desktop pages. The library's version fills in
//     where the rules read none ("Windows Phone OS 7.5"), but not its
//     BlackBerry model numbers or the Windows NT 4.0 it assumes for IE.
//   - Device: the library only knows Mobile() and calls every WebKit
//     browser on Linux a phone. The rules decide first: markers of TVs,
//     consoles, headsets, watches, cars and tablets; Android models named
//     like laptops or tablets (tabletmodels.go), before the "Mobile" token;
//     operating systems that run only on phones. Mobile() decides what no
//     rule recognises, except for HTTP libraries such as okhttp, which the
//     contract gives the Desktop device.
//   - Bot: the rules decide (bot.go, crawlers.tsv). The library's Bot(), a
//     word such as "bot", "search" or "fetch" in the product name or a URL
//     in a comment, adds the crawler reason only when the rules name no
//     browser. The rules name one for Firefox's MozacFetch client, a person
//     by the policy in VOCABULARY.md.
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
// each plus the database's tree walk. Only a miss runs mssola/useragent,
// which allocates about 14 times per user agent. All user-agent keyword and substring
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
