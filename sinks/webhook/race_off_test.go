//go:build !race

package webhook

// raceEnabled reports that the tests run under the race detector.
const raceEnabled = false
