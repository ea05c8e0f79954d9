//go:build unix

package worker

import (
	"syscall"
	"time"
)

// processCPUTime returns the user and system CPU time the process has used.
// Benchmarks report it per hit next to wall time, because other processes
// on a shared machine stretch wall time but not the CPU time of this one.
func processCPUTime() time.Duration {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return 0
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}
