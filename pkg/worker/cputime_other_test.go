//go:build !unix

package worker

import "time"

// processCPUTime returns 0 where getrusage is not available, so benchmarks
// report no CPU time per hit.
func processCPUTime() time.Duration { return 0 }
