package load

// Executors turn an Executor definition into iterations. The open models follow vegeta's shape: one
// pacer goroutine walks the arrival schedule and hands each intended start time to an idle worker;
// when none is idle it starts a worker, up to MaxInFlight, and past that it counts the arrival as
// dropped (k6's dropped_iterations) instead of waiting, so the schedule never bends to the target.
// The closed models run a fixed or ramping number of VUs that loop over iterations.

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// groupState holds the live counters of one executor.
type groupState struct {
	dropped    atomic.Int64
	iterations atomic.Int64
	active     atomic.Int64 // iterations in flight
	vus        atomic.Int64 // VUs started and not finished
}

// schedule yields arrival offsets from the executor's start.
type schedule interface {
	next() (time.Duration, bool)
}

type constantSchedule struct {
	interval float64 // ns
	k        float64
	end      time.Duration
}

func (s *constantSchedule) next() (time.Duration, bool) {
	t := time.Duration(s.k * s.interval)
	s.k++
	return t, t < s.end
}

type poissonSchedule struct {
	meanNs float64
	t      float64
	end    time.Duration
	rng    *rand.Rand
}

func (s *poissonSchedule) next() (time.Duration, bool) {
	s.t += s.rng.ExpFloat64() * s.meanNs
	t := time.Duration(s.t)
	return t, t < s.end
}

// rampSchedule places the k-th arrival where the integral of the piecewise-linear rate reaches k.
type rampSchedule struct {
	stages []Stage
	from   float64 // rate at the start of the current stage
	stage  int
	t0     float64 // start of current stage, seconds
	n0     float64 // arrivals before the current stage
	k      float64
}

func newRampSchedule(start float64, stages []Stage) *rampSchedule {
	return &rampSchedule{stages: stages, from: start}
}

func (s *rampSchedule) next() (time.Duration, bool) {
	for s.stage < len(s.stages) {
		st := s.stages[s.stage]
		T := st.Duration.D().Seconds()
		r0, r1 := s.from, st.Target
		total := (r0 + r1) / 2 * T // arrivals in this stage
		need := s.k - s.n0
		if need < total {
			// solve r0*x + (r1-r0)/(2T)*x² = need for x in [0, T]
			a := (r1 - r0) / (2 * T)
			var x float64
			if math.Abs(a) < 1e-12 {
				x = need / r0
			} else {
				disc := r0*r0 + 4*a*need
				x = (-r0 + math.Sqrt(math.Max(disc, 0))) / (2 * a)
			}
			s.k++
			return time.Duration((s.t0 + x) * float64(time.Second)), true
		}
		s.n0 += total
		s.t0 += T
		s.from = r1
		s.stage++
	}
	return 0, false
}

func (r *runner) newSchedule(e *Executor, seed uint64) schedule {
	switch e.Type {
	case Poisson:
		return &poissonSchedule{meanNs: float64(time.Second) / e.Rate, end: e.Duration.D(), rng: rand.New(rand.NewPCG(seed, 7))}
	case RampingArrivalRate:
		return newRampSchedule(e.Rate, e.Stages)
	default:
		return &constantSchedule{interval: float64(time.Second) / e.Rate, end: e.Duration.D()}
	}
}

// runGroup runs one executor until it ends, the run is aborted, or ctx is cancelled.
func (r *runner) runGroup(ctx context.Context, g *group, gs *groupState, seed uint64) {
	if d := g.exec.StartTime.D(); d > 0 {
		if sleepCtx(ctx, d) != nil {
			return
		}
	}
	switch g.exec.Type {
	case ConstantArrivalRate, RampingArrivalRate, Poisson:
		r.runOpen(ctx, g, gs, seed)
	case ConstantVUs, RampingVUs:
		r.runVUs(ctx, g, gs)
	case PerVUIterations:
		r.runPerVU(ctx, g, gs)
	}
}

func (g *group) pick(v *vu) *cscenario {
	if len(g.scenarios) == 1 {
		return g.scenarios[0]
	}
	return g.scenarios[pickWeighted(g.cumWeight, v.rng)]
}

func (r *runner) runOpen(ctx context.Context, g *group, gs *groupState, seed uint64) {
	iterCtx, hardStop := context.WithCancel(ctx)
	defer hardStop()
	sched := r.newSchedule(&g.exec, seed)
	pool := &workerPool{}
	var wg sync.WaitGroup
	start := time.Now()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		off, ok := sched.next()
		if !ok {
			break
		}
		at := start.Add(off)
		if !waitUntil(ctx, timer, at) {
			break
		}
		r.notePacerLag(time.Since(at))
		if w := pool.pop(); w != nil {
			w.work <- at
			// let the worker start now rather than when this goroutine sleeps again
			runtime.Gosched()
			continue
		}
		if !pool.reserve(g.exec.MaxInFlight) {
			gs.dropped.Add(1)
			continue
		}
		wg.Add(1)
		gs.vus.Add(1)
		go func(first time.Time) {
			defer wg.Done()
			defer gs.vus.Add(-1)
			defer pool.release()
			v := r.newVU()
			defer v.close()
			w := &worker{work: make(chan time.Time, 1)}
			idle := time.NewTimer(workerIdle)
			defer idle.Stop()
			for at, ok := first, true; ok; {
				gs.active.Add(1)
				v.iterate(iterCtx, g.pick(v), at)
				gs.active.Add(-1)
				gs.iterations.Add(1)
				if !pool.push(w) {
					return // the schedule is over
				}
				idle.Reset(workerIdle)
				select {
				case at, ok = <-w.work:
				case <-idle.C:
					if pool.remove(w) {
						return // retired
					}
					at, ok = <-w.work // the pacer took it at the same moment: its work is on the way
				case <-iterCtx.Done():
					return
				}
			}
		}(at)
	}
	pool.close()
	waitGraceful(&wg, g.exec.GracefulStop.D(), hardStop)
}

// workerPool holds the idle workers of an open model as a stack: the pacer hands work to the most
// recently idle one, so surplus workers stay at the bottom, idle out and retire (closing their
// connections and freeing their buffers). A FIFO hand-off would spread work over every worker and
// keep a burst's worth of them alive for the rest of the run.
type workerPool struct {
	mu      sync.Mutex
	idle    []*worker
	workers int // started and not finished
	closed  bool
}

type worker struct {
	work chan time.Time // buffered 1; closed when the schedule ends
	pos  int            // index in idle, -1 when busy
}

func (p *workerPool) pop() *worker {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.idle)
	if n == 0 {
		return nil
	}
	w := p.idle[n-1]
	p.idle = p.idle[:n-1]
	w.pos = -1
	return w
}

// reserve counts a new worker if the bound allows it.
func (p *workerPool) reserve(limit int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.workers >= limit {
		return false
	}
	p.workers++
	return true
}

func (p *workerPool) release() {
	p.mu.Lock()
	p.workers--
	p.mu.Unlock()
}

// push makes w idle; it reports false when the schedule is over.
func (p *workerPool) push(w *worker) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	w.pos = len(p.idle)
	p.idle = append(p.idle, w)
	return true
}

// remove takes an idle w out of the pool; false means the pacer already took it.
func (p *workerPool) remove(w *worker) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if w.pos < 0 {
		return false
	}
	copy(p.idle[w.pos:], p.idle[w.pos+1:])
	p.idle = p.idle[:len(p.idle)-1]
	for i := w.pos; i < len(p.idle); i++ {
		p.idle[i].pos = i
	}
	w.pos = -1
	return true
}

// close ends the schedule: idle workers are released, busy ones stop after their iteration.
func (p *workerPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, w := range p.idle {
		w.pos = -1
		close(w.work)
	}
	p.idle = nil
}

// workerIdle is how long an open-model worker waits for work before it retires.
const workerIdle = 2 * time.Second

// waitUntil sleeps until at. The Go runtime's timers can fire up to a millisecond late on an idle
// process (the network poller sleeps in whole milliseconds), which would show up as response time,
// so the last stretch is slept with nanosleep(2), whose wake-up is accurate to tens of microseconds.
func waitUntil(ctx context.Context, timer *time.Timer, at time.Time) bool {
	d := time.Until(at)
	if d > 3*time.Millisecond {
		timer.Reset(d - 2*time.Millisecond)
		select {
		case <-timer.C:
		case <-ctx.Done():
			return false
		}
		d = time.Until(at)
	}
	if d > 0 {
		preciseSleep(d)
	}
	return ctx.Err() == nil
}

// waitGraceful waits for wg; after grace it cancels the running iterations and waits again.
func waitGraceful(wg *sync.WaitGroup, grace time.Duration, hardStop context.CancelFunc) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		hardStop()
		<-done
	}
}

// vuTarget is the number of VUs a closed executor wants at offset t.
func vuTarget(e *Executor, t time.Duration) int {
	if e.Type == ConstantVUs {
		return e.VUs
	}
	from := float64(e.VUs)
	var t0 time.Duration
	for _, s := range e.Stages {
		d := s.Duration.D()
		if t < t0+d {
			f := float64(t-t0) / float64(d)
			return int(math.Round(from + (s.Target-from)*f))
		}
		t0 += d
		from = s.Target
	}
	return int(math.Round(from))
}

func maxVUs(e *Executor) int {
	m := e.VUs
	for _, s := range e.Stages {
		m = max(m, int(math.Ceil(s.Target)))
	}
	return m
}

func (r *runner) runVUs(ctx context.Context, g *group, gs *groupState) {
	iterCtx, hardStop := context.WithCancel(ctx)
	defer hardStop()
	e := &g.exec
	dur := e.plannedDuration()
	start := time.Now()
	end := start.Add(dur)
	var target atomic.Int64
	target.Store(int64(vuTarget(e, 0)))
	running := make([]atomic.Bool, maxVUs(e))
	var wg sync.WaitGroup
	spawn := func(i int) {
		running[i].Store(true)
		wg.Add(1)
		gs.vus.Add(1)
		go func() {
			defer wg.Done()
			defer gs.vus.Add(-1)
			defer running[i].Store(false)
			v := r.newVU()
			defer v.close()
			for iterCtx.Err() == nil && time.Now().Before(end) && int64(i) < target.Load() {
				gs.active.Add(1)
				v.iterate(iterCtx, g.pick(v), time.Now())
				gs.active.Add(-1)
				gs.iterations.Add(1)
			}
		}()
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		n := vuTarget(e, time.Since(start))
		target.Store(int64(n))
		for i := 0; i < n && i < len(running); i++ {
			if !running[i].Load() {
				spawn(i)
			}
		}
		if e.Type == ConstantVUs {
			break // nothing to adjust
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
		}
		if ctx.Err() != nil || !time.Now().Before(end) {
			break
		}
	}
	if e.Type == ConstantVUs {
		sleepCtx(ctx, time.Until(end)) //nolint:errcheck // either way the executor ends
	}
	waitGraceful(&wg, e.GracefulStop.D(), hardStop)
}

func (r *runner) runPerVU(ctx context.Context, g *group, gs *groupState) {
	e := &g.exec
	limit := e.Duration.D()
	if limit == 0 {
		limit = 10 * time.Minute
	}
	iterCtx, hardStop := context.WithTimeout(ctx, limit+e.GracefulStop.D())
	defer hardStop()
	end := time.Now().Add(limit)
	var wg sync.WaitGroup
	for i := 0; i < e.VUs; i++ {
		wg.Add(1)
		gs.vus.Add(1)
		go func() {
			defer wg.Done()
			defer gs.vus.Add(-1)
			v := r.newVU()
			defer v.close()
			for n := 0; n < e.Iterations && iterCtx.Err() == nil && time.Now().Before(end); n++ {
				gs.active.Add(1)
				v.iterate(iterCtx, g.pick(v), time.Now())
				gs.active.Add(-1)
				gs.iterations.Add(1)
			}
		}()
	}
	wg.Wait()
}
