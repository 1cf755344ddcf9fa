package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ramphq/ramp/load"
)

// intervalSpool keeps a run's intervals on disk, one JSON object per line, until results.json is
// written. Error texts in the results are redacted by the engine; histograms are left untouched.
type intervalSpool struct {
	f   *os.File
	w   *bufio.Writer
	n   int
	err error
}

func newIntervalSpool(out string) (*intervalSpool, error) {
	f, err := os.CreateTemp(filepath.Dir(out), ".ramp-intervals-*.jsonl")
	if err != nil {
		return nil, fmt.Errorf("--out: %w", err)
	}
	return &intervalSpool{f: f, w: bufio.NewWriter(f)}, nil
}

// add is the engine's IntervalSink; it runs on the collector goroutine.
func (s *intervalSpool) add(iv load.Interval) {
	if s.err != nil {
		return
	}
	b, err := json.Marshal(iv)
	if err == nil {
		b = append(b, '\n')
		_, err = s.w.Write(b)
	}
	s.err = err
	s.n++
}

func (s *intervalSpool) discard() {
	s.f.Close()
	os.Remove(s.f.Name())
}

// writeResults writes res to path with the spooled intervals in its "intervals" array.
func (s *intervalSpool) writeResults(path string, res *load.Result) error {
	if s.err == nil {
		s.err = s.w.Flush()
	}
	if s.err != nil {
		return fmt.Errorf("writing intervals: %w", s.err)
	}
	shell := *res
	shell.Intervals = []load.Interval{}
	b, err := json.MarshalIndent(&shell, "", "  ")
	if err != nil {
		return err
	}
	marker := []byte(`"intervals": []`)
	i := bytes.Index(b, marker)
	if i < 0 {
		return fmt.Errorf("results: no intervals field")
	}
	out, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	w := bufio.NewWriter(out)
	w.Write(b[:i])
	w.WriteString(`"intervals": [`)
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		out.Close()
		return err
	}
	sc := bufio.NewScanner(s.f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for n := 0; sc.Scan(); n++ {
		if n > 0 {
			w.WriteByte(',')
		}
		w.WriteString("\n    ")
		w.Write(sc.Bytes())
	}
	if s.n > 0 {
		w.WriteString("\n  ")
	}
	w.WriteByte(']')
	w.Write(b[i+len(marker):])
	w.WriteByte('\n')
	if err := sc.Err(); err != nil {
		out.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		out.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return out.Close()
}
