//go:build !unix

package load

import "time"

func cpuTime() time.Duration { return 0 }

// CPUTime is not measured on this platform and returns 0.
func CPUTime() time.Duration { return 0 }

func preciseSleep(d time.Duration) { time.Sleep(d) }
