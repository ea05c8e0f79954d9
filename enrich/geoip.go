package enrich

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/oschwald/maxminddb-golang/v2"
	"go.uber.org/zap"
)

// geoInfo is the part of a City record that an interaction stores.
type geoInfo struct {
	Continent string
	Country   string
	City      string
	Region    string
	Latitude  float64
	Longitude float64
}

type asnRecord struct {
	Number uint32 `maxminddb:"autonomous_system_number"`
}

// geoDatabase is one MaxMind database file that is reopened when the file is
// replaced. Lookups are safe for concurrent use with each other and with
// reload.
type geoDatabase struct {
	// name is "city" or "asn", used in logs and metric labels.
	name string
	// configKey is the YAML key of the path, used in errors.
	configKey string
	// typeMarkers are substrings of which one must occur in the database
	// type from the metadata.
	typeMarkers []string
	path        string
	cacheSize   int
	log         *zap.Logger
	metrics     *metrics

	current atomic.Pointer[openDatabase]
	// failed is the file that last failed to open and statFailed reports
	// that the last check could not stat the file, so that a broken or
	// missing file is logged once and not on every check. Only the watcher
	// goroutine uses them.
	failed     os.FileInfo
	statFailed bool
	// lastErrorLog is the Unix time of the last lookup error logged.
	lastErrorLog atomic.Int64
}

// openDatabase is one opened version of the file.
//
// It reads the database with maxminddb-golang, the library that
// oschwald/geoip2-golang is built on, rather than through geoip2-golang's
// City method: on the GeoLite2 City database City took about 1.9 µs and
// 1.1 KB per lookup against 1.0 µs and 80 B for the cursor decoder in
// geodecode.go (go test -bench, 2-core AMD EPYC), because it decodes every
// language's names. That difference is most of the margin under the 10 µs
// budget of a hit with cold caches, and the record cache keyed by record
// offset needs the reader's lookup result, which geoip2-golang hides.
type openDatabase struct {
	reader *maxminddb.Reader
	file   os.FileInfo
	// records caches decoded City records by their offset in this version
	// of the file. Offsets are meaningless in another version, so each
	// version has its own cache.
	records *lruCache[uintptr, geoInfo]
}

func newGeoDatabase(name, configKey, path string, typeMarkers []string, cacheSize int, log *zap.Logger, m *metrics) (*geoDatabase, error) {
	db := &geoDatabase{
		name:        name,
		configKey:   configKey,
		typeMarkers: typeMarkers,
		path:        path,
		cacheSize:   cacheSize,
		log:         log.With(zap.String("database", name), zap.String("path", path)),
		metrics:     m,
	}

	opened, err := db.open()
	if err != nil {
		return nil, err
	}
	db.install(opened)
	return db, nil
}

// open opens the file at db.path and checks its type.
func (db *geoDatabase) open() (*openDatabase, error) {
	info, err := os.Stat(db.path)
	if err != nil {
		return nil, fmt.Errorf("%s: opening GeoIP database: %w", db.configKey, err)
	}

	reader, err := maxminddb.Open(db.path)
	if err != nil {
		return nil, fmt.Errorf("%s: opening GeoIP database %s: %w", db.configKey, db.path, err)
	}

	dbType := reader.Metadata.DatabaseType
	if !containsAny(dbType, db.typeMarkers) {
		_ = reader.Close()
		return nil, fmt.Errorf("%s: %s is a %s database, expected one whose type contains %s",
			db.configKey, db.path, dbType, strings.Join(db.typeMarkers, " or "))
	}

	return &openDatabase{
		reader:  reader,
		file:    info,
		records: newLRUCache[uintptr, geoInfo](db.cacheSize),
	}, nil
}

// install exports the build time of opened, logs it and then makes it the
// version that lookups use, so that the gauge is current by the time a
// lookup can see the new data. The previous version is not closed here,
// because a lookup may still be using it and maxminddb.Reader must not be
// closed during a lookup. It is unmapped by the cleanup maxminddb registers
// once nothing refers to it.
func (db *geoDatabase) install(opened *openDatabase) {
	meta := opened.reader.Metadata
	db.metrics.buildTime.WithLabelValues(db.name).Set(float64(meta.BuildEpoch))
	db.log.Info("GeoIP database loaded",
		zap.String("type", meta.DatabaseType),
		zap.Time("buildTime", meta.BuildTime()),
		zap.Uint("nodeCount", meta.NodeCount))

	db.current.Store(opened)
}

// reloadIfChanged reopens the file when its identity, size or modification
// time differ from the loaded version. A file that fails to open is logged
// once and the loaded version stays in use.
func (db *geoDatabase) reloadIfChanged() {
	info, err := os.Stat(db.path)
	if err != nil {
		if !db.statFailed {
			db.log.Error("GeoIP database file not readable, keeping the loaded version", zap.Error(err))
			db.statFailed = true
		}
		return
	}
	db.statFailed = false
	if sameFile(info, db.current.Load().file) || sameFile(info, db.failed) {
		return
	}

	opened, err := db.open()
	if err != nil {
		db.failed = info
		db.metrics.reloads.WithLabelValues(db.name, "error").Inc()
		db.log.Error("GeoIP database reload failed, keeping the loaded version", zap.Error(err))
		return
	}

	db.failed = nil
	db.metrics.reloads.WithLabelValues(db.name, "ok").Inc()
	db.install(opened)
}

// city returns the City record of addr. ok is false when the database has no
// record for it.
func (db *geoDatabase) city(addr netip.Addr) (info geoInfo, ok bool) {
	opened := db.current.Load()
	result := opened.reader.Lookup(addr)
	if !result.Found() {
		db.checkLookupError(result.Err(), addr)
		return geoInfo{}, false
	}

	offset := result.Offset()
	if info, ok := opened.records.Get(offset); ok {
		return info, true
	}

	// decoded escapes to the heap through Decode's interface argument, so
	// it is declared here, on the path that decodes, and not as the result.
	decoded := new(geoInfo)
	if err := result.Decode(decoded); err != nil {
		db.checkLookupError(err, addr)
		return geoInfo{}, false
	}
	opened.records.Put(offset, *decoded)
	return *decoded, true
}

// asn returns the autonomous system number of addr, or 0 when unknown.
func (db *geoDatabase) asn(addr netip.Addr) uint32 {
	result := db.current.Load().reader.Lookup(addr)
	if !result.Found() {
		db.checkLookupError(result.Err(), addr)
		return 0
	}

	var record asnRecord
	if err := result.Decode(&record); err != nil {
		db.checkLookupError(err, addr)
		return 0
	}
	return record.Number
}

// checkLookupError counts a failed lookup and logs at most one per minute,
// because a corrupt file fails on every hit.
func (db *geoDatabase) checkLookupError(err error, addr netip.Addr) {
	if err == nil {
		return
	}
	db.metrics.lookupErrors.WithLabelValues(db.name).Inc()

	now := time.Now().Unix()
	last := db.lastErrorLog.Load()
	if now-last >= 60 && db.lastErrorLog.CompareAndSwap(last, now) {
		db.log.Error("GeoIP lookup failed", zap.Stringer("ip", addr), zap.Error(err))
	}
}

func (db *geoDatabase) close() error {
	if err := db.current.Load().reader.Close(); err != nil {
		return fmt.Errorf("closing GeoIP database %s: %w", db.path, err)
	}
	return nil
}

// sameFile reports whether a and b describe the same file with the same size
// and modification time. Replacing a file by rename changes its identity;
// rewriting it in place changes its size or modification time.
func sameFile(a, b os.FileInfo) bool {
	if a == nil || b == nil {
		return false
	}
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

func containsAny(s string, markers []string) bool {
	for _, m := range markers {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// publicAddr reports whether addr can be geolocated: it is a global unicast
// address outside the private, shared, documentation, benchmarking and
// reserved ranges. addr must already be unmapped.
func publicAddr(addr netip.Addr) bool {
	if !addr.IsValid() || !addr.IsGlobalUnicast() || addr.IsPrivate() {
		return false
	}
	for _, p := range nonPublicPrefixes {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// nonPublicPrefixes are the special-purpose ranges of RFC 6890 and its
// updates that IsGlobalUnicast and IsPrivate do not exclude.
var nonPublicPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // shared address space (carrier-grade NAT)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // TEST-NET-1
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // TEST-NET-2
	netip.MustParsePrefix("203.0.113.0/24"),  // TEST-NET-3
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("3fff::/20"),       // documentation
}
