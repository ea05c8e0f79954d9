package enrich

import (
	"os"
	"testing"

	"github.com/oschwald/maxminddb-golang/v2"
	"github.com/stretchr/testify/require"
)

// reflectedCity is the reflection-decoded form of the fields geoInfo reads,
// as a reference for the cursor decoder.
type reflectedCity struct {
	Continent struct {
		Code string `maxminddb:"code"`
	} `maxminddb:"continent"`
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	RegisteredCountry struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"registered_country"`
	City struct {
		Names struct {
			English string `maxminddb:"en"`
		} `maxminddb:"names"`
	} `maxminddb:"city"`
	Subdivisions []struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"subdivisions"`
	Location struct {
		Latitude  float64 `maxminddb:"latitude"`
		Longitude float64 `maxminddb:"longitude"`
	} `maxminddb:"location"`
}

func (r reflectedCity) geoInfo() geoInfo {
	g := geoInfo{
		Continent: r.Continent.Code,
		Country:   r.Country.ISOCode,
		City:      r.City.Names.English,
		Latitude:  r.Location.Latitude,
		Longitude: r.Location.Longitude,
	}
	if g.Country == "" {
		g.Country = r.RegisteredCountry.ISOCode
	}
	if len(r.Subdivisions) > 0 {
		g.Region = r.Subdivisions[0].ISOCode
	}
	return g
}

func TestGeoDecoderMatchesReflection(t *testing.T) {
	paths := []string{testCityDB, testLiteCity}
	if _, err := os.Stat(realCityDB); err == nil {
		paths = append(paths, realCityDB)
	}

	for _, path := range paths {
		db, err := maxminddb.Open(path)
		require.NoError(t, err)

		records := 0
		for result := range db.Networks() {
			if records == 50_000 {
				break
			}
			var want reflectedCity
			require.NoError(t, result.Decode(&want))
			var got geoInfo
			require.NoError(t, result.Decode(&got))

			require.Equal(t, want.geoInfo(), got, "%s %s", path, result.Prefix())
			records++
		}
		require.Greater(t, records, 100, path)
		require.NoError(t, db.Close())
	}
}

func TestGeoDecoderASNRecord(t *testing.T) {
	db, err := maxminddb.Open(testASNDB)
	require.NoError(t, err)
	defer db.Close()

	// An ASN record is a map too, so decoding succeeds with nothing found.
	var got geoInfo
	require.NoError(t, db.Lookup(mustAddr("1.0.0.1")).Decode(&got))
	require.Equal(t, geoInfo{}, got)
}

// BenchmarkGeoDecode compares the cursor decoder with reflection decoding
// of the same fields, on London in MaxMind's test City database.
func BenchmarkGeoDecode(b *testing.B) {
	db, err := maxminddb.Open(testCityDB)
	require.NoError(b, err)
	b.Cleanup(func() { db.Close() })
	result := db.Lookup(mustAddr(londonAddress))

	b.Run("cursor", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var g geoInfo
			if err := result.Decode(&g); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reflection", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r reflectedCity
			if err := result.Decode(&r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
