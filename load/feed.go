package load

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
)

// feedData is a feed loaded into memory once, before the run: rows of string columns.
type feedData struct {
	name    string
	mode    string
	columns []string
	colIdx  map[string]int
	rows    [][]string
	next    atomic.Uint64
}

// errFeedExhausted is returned when a unique feed has fewer rows than VUs.
var errFeedExhausted = errors.New("feed exhausted")

func loadFeed(name string, f Feed, dir string) (*feedData, error) {
	path := f.File
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("feeds.%s: %v", name, err)
	}
	format := f.Format
	if format == "" {
		if strings.EqualFold(filepath.Ext(path), ".json") {
			format = "json"
		} else {
			format = "csv"
		}
	}
	fd := &feedData{name: name, mode: f.Mode, colIdx: map[string]int{}}
	if fd.mode == "" {
		fd.mode = "sequential"
	}
	switch format {
	case "csv":
		r := csv.NewReader(strings.NewReader(string(raw)))
		r.TrimLeadingSpace = true
		recs, err := r.ReadAll()
		if err != nil {
			return nil, fmt.Errorf("feeds.%s: %s: %v", name, f.File, err)
		}
		if len(recs) < 2 {
			return nil, fmt.Errorf("feeds.%s: %s: need a header row and at least one data row", name, f.File)
		}
		fd.columns = recs[0]
		fd.rows = recs[1:]
	case "json":
		var objs []map[string]any
		if err := json.Unmarshal(raw, &objs); err != nil {
			return nil, fmt.Errorf("feeds.%s: %s: want a JSON array of objects: %v", name, f.File, err)
		}
		if len(objs) == 0 {
			return nil, fmt.Errorf("feeds.%s: %s: no rows", name, f.File)
		}
		seen := map[string]bool{}
		for _, o := range objs {
			for k := range o {
				if !seen[k] {
					seen[k] = true
					fd.columns = append(fd.columns, k)
				}
			}
		}
		for _, o := range objs {
			row := make([]string, len(fd.columns))
			for i, c := range fd.columns {
				if v, ok := o[c]; ok {
					row[i] = jsonString(v)
				}
			}
			fd.rows = append(fd.rows, row)
		}
	}
	for i, c := range fd.columns {
		fd.colIdx[strings.TrimSpace(c)] = i
	}
	return fd, nil
}

func (f *feedData) hasColumn(c string) bool { _, ok := f.colIdx[c]; return ok }

// claim gives a VU its own row of a unique feed for its whole life (-1 when none is left).
func (f *feedData) claim() int {
	n := f.next.Add(1) - 1
	if n >= uint64(len(f.rows)) {
		return -1
	}
	return int(n)
}

// pick returns the row for an iteration; for unique feeds vuID is the row the VU claimed.
func (f *feedData) pick(vuID int, r *rand.Rand) ([]string, error) {
	switch f.mode {
	case "random":
		return f.rows[r.IntN(len(f.rows))], nil
	case "unique":
		// vuID is the row the VU claimed (see claim); -1 when the rows ran out.
		if vuID < 0 || vuID >= len(f.rows) {
			return nil, fmt.Errorf("%w: feed %s has %d rows for unique use and every row belongs to another VU", errFeedExhausted, f.name, len(f.rows))
		}
		return f.rows[vuID], nil
	default:
		n := f.next.Add(1) - 1
		return f.rows[n%uint64(len(f.rows))], nil
	}
}
