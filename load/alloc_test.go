package load

import (
	"testing"
	"time"
)

// The recording hot path must not allocate once a series' histograms exist.
func TestRecordNoAlloc(t *testing.T) {
	r := newRecorder(3)
	s := &sample{series: 1, service: 3 * time.Millisecond, response: 4 * time.Millisecond, status: 200, bytesIn: 100, checksPass: 2}
	r.record(0, s) // allocates the series' histograms once
	if n := testing.AllocsPerRun(1000, func() { r.record(0, s) }); n != 0 {
		t.Fatalf("record allocates %v times per call", n)
	}
	aggs := []*seriesAgg{newSeriesAgg(), newSeriesAgg(), newSeriesAgg()}
	r.drain(aggs) // 1 + AllocsPerRun's warm-up call + 1000
	if aggs[1].c.Requests != 1002 || aggs[1].rsp.TotalCount() != 1002 || aggs[0].c.Requests != 0 {
		t.Fatalf("drained %+v", aggs[1].c)
	}
}

func BenchmarkRecordNoAlloc(b *testing.B) {
	r := newRecorder(1)
	s := &sample{service: 3 * time.Millisecond, response: 4 * time.Millisecond, status: 200}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			r.record(i, s)
		}
	})
}
