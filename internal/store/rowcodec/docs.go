package rowcodec

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/ramphq/ramp/internal/store"
)

// DocRow is one stored flag or segment document with its bookkeeping columns.
type DocRow struct {
	Project, Env, Key string
	Doc               string
	Version           int64
	Archived          bool
	UpdatedAt         time.Time
	UpdatedBy         string
}

// ScanDoc reads a row selected as project, environment, key, doc, version, updated_at, updated_by, and
// archived when the table has that column.
func ScanDoc(sc Scanner, archived bool) (DocRow, error) {
	var r DocRow
	var updated *string
	dest := []any{&r.Project, &r.Env, &r.Key, &r.Doc, &r.Version, &updated, &r.UpdatedBy}
	if archived {
		dest = append(dest, &r.Archived)
	}
	if err := sc.Scan(dest...); err != nil {
		return r, err
	}
	var err error
	r.UpdatedAt, err = DecodeTime(updated)
	return r, err
}

// FlagRecord decodes a flag document row.
func FlagRecord(r DocRow) (store.FlagRecord, error) {
	rec := store.FlagRecord{Project: r.Project, Environment: r.Env, Version: r.Version, Archived: r.Archived, UpdatedAt: r.UpdatedAt, UpdatedBy: r.UpdatedBy}
	if err := json.Unmarshal([]byte(r.Doc), &rec.Flag); err != nil {
		return rec, fmt.Errorf("stored flag %s/%s/%s: %w", r.Project, r.Env, r.Key, err)
	}
	return rec, nil
}

// SegmentRecord decodes a segment document row.
func SegmentRecord(r DocRow) (store.SegmentRecord, error) {
	rec := store.SegmentRecord{Project: r.Project, Environment: r.Env, Version: r.Version, UpdatedAt: r.UpdatedAt, UpdatedBy: r.UpdatedBy}
	if err := json.Unmarshal([]byte(r.Doc), &rec.Segment); err != nil {
		return rec, fmt.Errorf("stored segment %s/%s/%s: %w", r.Project, r.Env, r.Key, err)
	}
	return rec, nil
}
