package load_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ramphq/ramp/load"
)

// TestMain lets the test binary double as the out-of-process echo target of the efficiency
// benchmarks, so that getrusage of the benchmark process counts the generator only.
func TestMain(m *testing.M) {
	if os.Getenv("RAMP_ECHO_TARGET") == "1" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("http://%s/\n", ln.Addr())
		srv := &http.Server{Handler: load.EchoHandler()}
		go func() {
			bufio.NewReader(os.Stdin).ReadString('\n')
			srv.Close()
		}()
		srv.Serve(ln)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// echoTarget starts the echo target in a child process.
func echoTarget(tb testing.TB) string {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "RAMP_ECHO_TARGET=1", "GOMAXPROCS="+strconv.Itoa(runtime.NumCPU()))
	stdin, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { stdin.Close(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		tb.Fatal(err)
	}
	return strings.TrimSpace(line)
}

// BenchmarkGeneratorCPU measures the generator's CPU-seconds per 100,000 requests against a trivial
// loopback handler at its maximum rate (closed model, 16 VUs), with the engine's own HTTP/1.1 client
// and with net/http. One op is one request; CPU is getrusage of this process around the run (the
// target runs in a child process).
//
//	go test ./load -run '^$' -bench GeneratorCPU -benchtime 200000x -count 5
func BenchmarkGeneratorCPU(b *testing.B) {
	target := echoTarget(b)
	for _, c := range []struct {
		name string
		std  bool
	}{{"client=own", false}, {"client=net-http", true}} {
		b.Run(c.name, func(b *testing.B) { benchGenerator(b, target, c.std) })
	}
}

func benchGenerator(b *testing.B, target string, std bool) {
	const vus = 16
	iters := max(b.N/vus, 1)
	p := &load.Plan{
		Name:      "bench",
		Load:      &load.Executor{Type: load.PerVUIterations, VUs: vus, Iterations: iters},
		Scenarios: []load.Scenario{{Name: "echo", Steps: []load.Step{{URL: target}}}},
	}
	eng, err := load.New(p, load.Options{StdHTTP: std})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := load.CPUTime()
	res, err := eng.Run(context.Background())
	cpu := load.CPUTime() - cpu0
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	n := res.Summary.Requests
	if res.Summary.Errors > 0 {
		b.Fatalf("%d errors: %v", res.Summary.Errors, res.ErrorSamples)
	}
	b.ReportMetric(cpu.Seconds()/float64(n)*1e5, "cpu-s/100k")
	b.ReportMetric(res.Summary.Rate, "req/s")
}

// BenchmarkWrkReference runs wrk (Debian package wrk) against the same out-of-process target for
// the same number of requests' worth of time and reports its CPU-seconds per 100,000 requests,
// from the child's rusage. It is skipped when wrk is not installed.
//
//	go test ./load -run '^$' -bench WrkReference -count 5
func BenchmarkWrkReference(b *testing.B) {
	if _, err := exec.LookPath("wrk"); err != nil {
		b.Skip("wrk not installed (apt-get install wrk)")
	}
	target := echoTarget(b)
	b.ResetTimer()
	cmd := exec.Command("wrk", "-t1", "-c16", "-d3s", target)
	out, err := cmd.Output()
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	m := regexp.MustCompile(`(\d+) requests in`).FindSubmatch(out)
	if m == nil {
		b.Fatalf("wrk output: %s", out)
	}
	n, _ := strconv.ParseFloat(string(m[1]), 64)
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	b.ReportMetric(cpu.Seconds()/n*1e5, "cpu-s/100k")
	b.ReportMetric(n/3, "req/s")
}
