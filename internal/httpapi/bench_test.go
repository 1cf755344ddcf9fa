package httpapi_test

import (
	"fmt"
	"strings"
	"testing"
)

// The admin API's write throughput on SQLite, end to end: HTTP on loopback, authentication, strict decoding,
// validation, one transaction with its audit rows, recompiling the touched environments, the response.
// BenchmarkAdminCreateFlag writes to all three environments of the default project per operation;
// BenchmarkAdminToggle to one. Each write recompiles the touched environments whole, so creating flags slows
// down as an environment grows; the figure is the average over b.N flags.

func BenchmarkAdminCreateFlag(b *testing.B) {
	h := newHarness(b)
	h.noSpec = true
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		h.as("POST", flagsPath, boolFlag(fmt.Sprintf("f%d", i))).want(201, nil)
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

func BenchmarkAdminToggle(b *testing.B) {
	h := newHarness(b)
	h.noSpec = true
	h.createFlag(boolFlag("kill"))
	on := false
	b.ReportAllocs()
	for b.Loop() {
		h.as("POST", flagsPath+"/kill/toggle", map[string]any{"enabled": on}).want(200, nil)
		on = !on
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

// BenchmarkAdminToggleLargeEnv is the kill switch in environments of 100, 1,000 and 4,000 flags: every write
// re-reads and recompiles its environment inside the write transaction, so its cost grows with the environment.
func BenchmarkAdminToggleLargeEnv(b *testing.B) {
	for _, n := range []int{100, 1000, 4000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			h := newHarness(b)
			h.noSpec = true
			var sb strings.Builder
			sb.WriteString("flags:\n")
			for i := range n {
				fmt.Fprintf(&sb, "  - {key: f%d, type: boolean, enabled: true, variations: [{key: on, value: true}, {key: off, value: false}], offVariation: off, rules: [{clauses: [{attribute: country, op: in, values: [BR, PT]}], serve: {variation: on}}], fallthrough: {variation: off}}\n", i)
			}
			h.as("POST", envPath("default", "production")+"/import", sb.String()).want(200, nil)
			on := false
			for b.Loop() {
				h.as("POST", flagsPath+"/f0/toggle", map[string]any{"enabled": on}).want(200, nil)
				on = !on
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
		})
	}
}
