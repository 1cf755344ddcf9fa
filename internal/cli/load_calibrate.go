package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ramphq/ramp/load"
)

func newLoadCalibrateCmd(e *env) *cobra.Command {
	var (
		dur       time.Duration
		vus       int
		inProcess bool
		asJSON    bool
	)
	cmd := &cobra.Command{
		Use:   "calibrate",
		Short: "Measure this machine's generator ceiling against a built-in echo target",
		Long: `calibrate starts a trivial echo target on loopback in a separate ramp process, drives it
with a closed model at full speed, and reports the rate reached and the generator's own
CPU-seconds per 100,000 requests (getrusage of the generator process only).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			target, stop, err := startEchoTarget(inProcess)
			if err != nil {
				return err
			}
			defer stop()
			c, err := load.Calibrate(e.ctx, target, load.CalibrateOptions{Duration: dur, VUs: vus})
			if err != nil {
				return err
			}
			if asJSON {
				b, _ := json.MarshalIndent(c, "", "  ")
				fmt.Fprintln(e.stdout, string(b))
				return nil
			}
			where := "separate process"
			if inProcess {
				where = "in process (CPU includes the target)"
			}
			fmt.Fprintf(e.stdout, "target        %s (%s)\n", c.Target, where)
			fmt.Fprintf(e.stdout, "concurrency   %d VUs, GOMAXPROCS %d\n", c.VUs, c.GOMAXPROCS)
			fmt.Fprintf(e.stdout, "ceiling       %.0f requests/s (%d requests in %.1fs, %d errors)\n", c.Rate, c.Requests, c.DurationS, c.Errors)
			fmt.Fprintf(e.stdout, "generator CPU %.2f CPU-s, %.3f CPU-s per 100k requests\n", c.CPUSeconds, c.CPUPer100k)
			fmt.Fprintf(e.stdout, "service time  p50 %.3fms p99 %.3fms\n", c.ServiceP50Ms, c.ServiceP99Ms)
			if len(c.Invalid) > 0 {
				fmt.Fprintf(e.stdout, "warning       %s\n", strings.Join(c.Invalid, "; "))
			}
			return nil
		},
	}
	cmd.Flags().DurationVarP(&dur, "duration", "d", 5*time.Second, "measurement length")
	cmd.Flags().IntVar(&vus, "vus", 0, "concurrency (default 8 per CPU)")
	cmd.Flags().BoolVar(&inProcess, "in-process", false, "run the echo target inside this process")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the calibration as JSON")

	echo := &cobra.Command{
		Use:    "echo-target",
		Short:  "Serve the calibration echo target on loopback (used by calibrate)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			srv := &http.Server{Handler: load.EchoHandler(), ReadHeaderTimeout: 5 * time.Second}
			fmt.Fprintf(e.stdout, "http://%s/\n", ln.Addr())
			go func() {
				// the parent closes our stdin when it is done
				bufio.NewReader(e.stdin).ReadString('\n') //nolint:errcheck // EOF is the signal
				srv.Close()
			}()
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	cmd.AddCommand(echo)
	return cmd
}

// startEchoTarget starts the echo target in a child ramp process (or in process) and returns its URL.
func startEchoTarget(inProcess bool) (string, func(), error) {
	if !inProcess {
		exe, err := os.Executable()
		if err == nil {
			c := exec.Command(exe, "load", "calibrate", "echo-target")
			stdin, _ := c.StdinPipe()
			out, _ := c.StdoutPipe()
			c.Stderr = os.Stderr
			if err := c.Start(); err == nil {
				line, err := bufio.NewReader(out).ReadString('\n')
				if err == nil && strings.HasPrefix(line, "http://") {
					return strings.TrimSpace(line), func() { stdin.Close(); c.Wait() }, nil //nolint:errcheck // best effort
				}
				c.Process.Kill() //nolint:errcheck // it did not start properly
				c.Wait()         //nolint:errcheck
			}
		}
		return "", nil, errors.New("could not start the echo target process (use --in-process)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: load.EchoHandler(), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }() //nolint:errcheck // closed below
	return "http://" + ln.Addr().String() + "/", func() { srv.Close(); <-done }, nil
}
