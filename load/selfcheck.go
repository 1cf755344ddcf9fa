package load

import (
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// selfMonitor measures the generator itself: CPU time (getrusage), scheduler lag (how late a
// goroutine that sleeps 10 ms wakes up) and GC pauses.
type selfMonitor struct {
	lagMax  atomic.Int64
	stopc   chan struct{}
	wg      sync.WaitGroup
	lastCPU time.Duration
	lastGC  time.Duration
	numGC   int64
	cpu0    time.Duration
}

type genSample struct {
	cpuUtil     float64 // fraction of GOMAXPROCS cores used over the interval
	cpu         time.Duration
	schedLagMax time.Duration
	gcPause     time.Duration
}

func startSelfMonitor() *selfMonitor {
	m := &selfMonitor{stopc: make(chan struct{})}
	m.lastCPU = cpuTime()
	m.cpu0 = m.lastCPU
	var gs debug.GCStats
	debug.ReadGCStats(&gs)
	m.lastGC, m.numGC = gs.PauseTotal, gs.NumGC
	m.wg.Add(1)
	go m.probe()
	return m
}

const probeSleep = 10 * time.Millisecond

func (m *selfMonitor) probe() {
	defer m.wg.Done()
	t := time.NewTimer(probeSleep)
	defer t.Stop()
	for {
		start := time.Now()
		t.Reset(probeSleep)
		select {
		case <-m.stopc:
			return
		case <-t.C:
		}
		lag := int64(time.Since(start) - probeSleep)
		for {
			cur := m.lagMax.Load()
			if lag <= cur || m.lagMax.CompareAndSwap(cur, lag) {
				break
			}
		}
	}
}

func (m *selfMonitor) sample(wall time.Duration) genSample {
	cpu := cpuTime()
	var gs debug.GCStats
	debug.ReadGCStats(&gs)
	s := genSample{cpu: cpu - m.lastCPU, schedLagMax: time.Duration(m.lagMax.Swap(0)), gcPause: gs.PauseTotal - m.lastGC}
	if wall > 0 {
		s.cpuUtil = float64(s.cpu) / float64(wall) / float64(gomaxprocs())
	}
	m.lastCPU, m.lastGC, m.numGC = cpu, gs.PauseTotal, gs.NumGC
	return s
}

// total is the CPU time used by the process since the monitor started.
func (m *selfMonitor) total() time.Duration { return cpuTime() - m.cpu0 }

func (m *selfMonitor) stop() {
	close(m.stopc)
	m.wg.Wait()
}
