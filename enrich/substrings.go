package enrich

import "fmt"

// substringSet is the set of lower-case substrings the detectors look for in
// a user agent. botClassifier.scan finds all of them in the same pass over
// the user agent as the bot keywords, ignoring case, so that detection costs
// one scan instead of one per substring.
type substringSet struct {
	list  []string
	index map[string]int
}

// foundSubstrings has bit i set when substring i of the set occurs.
type foundSubstrings [4]uint64

// maxSubstrings is the capacity of foundSubstrings.
const maxSubstrings = 64 * len(foundSubstrings{})

func (f *foundSubstrings) has(id int) bool { return f[id/64]&(1<<(id%64)) != 0 }

// id returns the id of sub, adding it to the set.
func (s *substringSet) id(sub string) int {
	if id, ok := s.index[sub]; ok {
		return id
	}
	if s.index == nil {
		s.index = make(map[string]int)
	}
	id := len(s.list)
	s.list = append(s.list, sub)
	s.index[sub] = id
	return id
}

// uaSubstrings holds the substrings of deviceMarkers, mobileMarkers,
// browserBySubstring, osBySubstring and tabletModelWords. The ids of each table's entries are
// kept next to the table.
var uaSubstrings substringSet

var (
	deviceMarkerIDs  []int
	mobileMarkerIDs  []int
	browserSubstrIDs []int
	osSubstrIDs      []int
	tabletWordIDs    []int

	idChromebook = uaSubstrings.id("chromebook")
	idMobile     = uaSubstrings.id("mobile")
	idTrident    = uaSubstrings.id("trident/")
)

func init() {
	for _, m := range deviceMarkers {
		deviceMarkerIDs = append(deviceMarkerIDs, uaSubstrings.id(m.marker))
	}
	for _, m := range mobileMarkers {
		mobileMarkerIDs = append(mobileMarkerIDs, uaSubstrings.id(m))
	}
	for _, r := range browserBySubstring {
		browserSubstrIDs = append(browserSubstrIDs, uaSubstrings.id(r.substring))
	}
	for _, r := range osBySubstring {
		osSubstrIDs = append(osSubstrIDs, uaSubstrings.id(r.substring))
	}
	for _, w := range tabletModelWords {
		tabletWordIDs = append(tabletWordIDs, uaSubstrings.id(w))
	}
	if len(uaSubstrings.list) > maxSubstrings {
		panic(fmt.Sprintf("enrich: too many detector substrings: %d, foundSubstrings holds at most %d", len(uaSubstrings.list), maxSubstrings))
	}
}
