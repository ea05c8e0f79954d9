//go:build race

package webhook

// raceEnabled reports that the tests run under the race detector, which
// slows every goroutine several times and makes rate measurements
// meaningless.
const raceEnabled = true
