//go:build unix

package load

import (
	"syscall"
	"time"
)

// cpuTime is the user plus system CPU time of this process (getrusage).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// CPUTime returns the process's user plus system CPU time, as measured by getrusage. Benchmarks and
// tools use it to report CPU-seconds per request.
func CPUTime() time.Duration { return cpuTime() }

// preciseSleep sleeps d (short) with nanosleep(2) instead of a runtime timer.
func preciseSleep(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
	}
}
