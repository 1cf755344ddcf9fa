package sqlite

import (
	"database/sql"
	"errors"

	"github.com/ramphq/ramp/internal/store"
	"github.com/ramphq/ramp/internal/store/rowcodec"
)

// Flags and segments: versioned JSON documents, one per key and environment.

// docTable is the SQL of one table of versioned per-environment documents (flags, segments).
type docTable struct {
	what                           string
	archived                       bool
	insert, update, get, list, del string
	version                        string
}

func newDocTable(table, what string, archived bool) docTable {
	cols := "project, environment, key, doc, version, updated_at, updated_by"
	vals := "?, ?, ?, ?, 1, ?, ?"
	set := "doc = ?, version = version + 1, updated_at = ?, updated_by = ?"
	if archived {
		cols += ", archived"
		vals += ", ?"
		set += ", archived = ?"
	}
	return docTable{
		what:     what,
		archived: archived,
		insert: `INSERT INTO ` + table + ` (` + cols + `) SELECT ` + vals +
			` WHERE EXISTS (SELECT 1 FROM environments WHERE project = ? AND key = ?) ON CONFLICT DO NOTHING`,
		update:  `UPDATE ` + table + ` SET ` + set + ` WHERE project = ? AND environment = ? AND key = ? AND version = ?`,
		get:     `SELECT ` + cols + ` FROM ` + table + ` WHERE project = ? AND environment = ? AND key = ?`,
		list:    `SELECT ` + cols + ` FROM ` + table + ` WHERE project = ? AND environment = ? ORDER BY key`,
		del:     `DELETE FROM ` + table + ` WHERE project = ? AND environment = ? AND key = ? AND (? = 0 OR version = ?)`,
		version: `SELECT version FROM ` + table + ` WHERE project = ? AND environment = ? AND key = ?`,
	}
}

var (
	flagTable    = newDocTable("flags", "flag", true)
	segmentTable = newDocTable("segments", "segment", false)
)

type docRow = rowcodec.DocRow

func (d docTable) scan(sc rowcodec.Scanner) (docRow, error) { return rowcodec.ScanDoc(sc, d.archived) }

// put inserts (ifVersion 0) or updates a document and returns its new version.
func (t *tx) put(d docTable, r docRow, ifVersion int64) (int64, error) {
	if err := t.canWrite(); err != nil {
		return 0, err
	}
	if ifVersion < 0 {
		return 0, rowcodec.Invalid("%s %q: version %d is negative", d.what, r.Key, ifVersion)
	}
	for _, c := range [][2]string{{"project", r.Project}, {"environment", r.Env}, {d.what, r.Key}} {
		if err := rowcodec.CheckKey(c[0], c[1]); err != nil {
			return 0, err
		}
	}
	if err := rowcodec.CheckText(d.what+" updatedBy", r.UpdatedBy); err != nil {
		return 0, err
	}
	updated, err := rowcodec.EncodeTime(d.what+" updatedAt", r.UpdatedAt)
	if err != nil {
		return 0, err
	}
	if ifVersion == 0 {
		args := []any{r.Project, r.Env, r.Key, r.Doc, updated, r.UpdatedBy}
		if d.archived {
			args = append(args, r.Archived)
		}
		n, err := t.exec(d.insert, append(args, r.Project, r.Env)...)
		if err != nil || n > 0 {
			return 1, err
		}
		if ok, err := t.envExists(r.Project, r.Env); err != nil {
			return 0, err
		} else if !ok {
			return 0, notFound("environment %q not found in project %q", r.Env, r.Project)
		}
		return 0, conflict("%s %q already exists in %s/%s", d.what, r.Key, r.Project, r.Env)
	}
	args := []any{r.Doc, updated, r.UpdatedBy}
	if d.archived {
		args = append(args, r.Archived)
	}
	n, err := t.exec(d.update, append(args, r.Project, r.Env, r.Key, ifVersion)...)
	if err != nil || n > 0 {
		return ifVersion + 1, err
	}
	return 0, t.versionMismatch(d, r.Project, r.Env, r.Key, ifVersion)
}

// versionMismatch explains why a conditional write matched no row.
func (t *tx) versionMismatch(d docTable, project, env, key string, ifVersion int64) error {
	var v int64
	err := t.tx.QueryRowContext(t.ctx, d.version, project, env, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("%s %q not found in %s/%s", d.what, key, project, env)
	}
	if err != nil {
		return wrap(t.ctx, err)
	}
	return conflict("%s %q is at version %d, not %d", d.what, key, v, ifVersion)
}

func (t *tx) getDoc(d docTable, project, env, key string) (docRow, error) {
	if err := t.canRead(); err != nil {
		return docRow{}, err
	}
	r, err := d.scan(t.tx.QueryRowContext(t.ctx, d.get, project, env, key))
	if errors.Is(err, sql.ErrNoRows) {
		return r, notFound("%s %q not found in %s/%s", d.what, key, project, env)
	}
	return r, wrap(t.ctx, err)
}

func (t *tx) listDocs(d docTable, project, env string) ([]docRow, error) {
	if err := t.canRead(); err != nil {
		return nil, err
	}
	rs, err := queryAll(t, d.scan, d.list, project, env)
	if err == nil && len(rs) == 0 {
		if ok, err := t.envExists(project, env); err != nil {
			return nil, err
		} else if !ok {
			return nil, notFound("environment %q not found in project %q", env, project)
		}
	}
	return rs, err
}

func (t *tx) deleteDoc(d docTable, project, env, key string, ifVersion int64) error {
	if err := t.canWrite(); err != nil {
		return err
	}
	if ifVersion < 0 {
		return rowcodec.Invalid("%s %q: version %d is negative", d.what, key, ifVersion)
	}
	n, err := t.exec(d.del, project, env, key, ifVersion, ifVersion)
	if err != nil || n > 0 {
		return err
	}
	return t.versionMismatch(d, project, env, key, ifVersion)
}

func (t *tx) PutFlag(rec *store.FlagRecord, ifVersion int64) error {
	doc, err := rowcodec.Marshal("flag", rec.Flag)
	if err != nil {
		return err
	}
	v, err := t.put(flagTable, docRow{Project: rec.Project, Env: rec.Environment, Key: rec.Flag.Key, Doc: string(doc),
		Archived: rec.Archived, UpdatedAt: rec.UpdatedAt, UpdatedBy: rec.UpdatedBy}, ifVersion)
	if err == nil {
		rec.Version = v
	}
	return err
}

func (t *tx) Flag(project, env, key string) (store.FlagRecord, error) {
	r, err := t.getDoc(flagTable, project, env, key)
	if err != nil {
		return store.FlagRecord{}, err
	}
	return rowcodec.FlagRecord(r)
}

func (t *tx) Flags(project, env string) ([]store.FlagRecord, error) {
	rs, err := t.listDocs(flagTable, project, env)
	if err != nil {
		return nil, err
	}
	out := make([]store.FlagRecord, len(rs))
	for i, r := range rs {
		if out[i], err = rowcodec.FlagRecord(r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (t *tx) DeleteFlag(project, env, key string, ifVersion int64) error {
	return t.deleteDoc(flagTable, project, env, key, ifVersion)
}

func (t *tx) PutSegment(rec *store.SegmentRecord, ifVersion int64) error {
	doc, err := rowcodec.Marshal("segment", rec.Segment)
	if err != nil {
		return err
	}
	v, err := t.put(segmentTable, docRow{Project: rec.Project, Env: rec.Environment, Key: rec.Segment.Key, Doc: string(doc),
		UpdatedAt: rec.UpdatedAt, UpdatedBy: rec.UpdatedBy}, ifVersion)
	if err == nil {
		rec.Version = v
	}
	return err
}

func (t *tx) Segment(project, env, key string) (store.SegmentRecord, error) {
	r, err := t.getDoc(segmentTable, project, env, key)
	if err != nil {
		return store.SegmentRecord{}, err
	}
	return rowcodec.SegmentRecord(r)
}

func (t *tx) Segments(project, env string) ([]store.SegmentRecord, error) {
	rs, err := t.listDocs(segmentTable, project, env)
	if err != nil {
		return nil, err
	}
	out := make([]store.SegmentRecord, len(rs))
	for i, r := range rs {
		if out[i], err = rowcodec.SegmentRecord(r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (t *tx) DeleteSegment(project, env, key string, ifVersion int64) error {
	return t.deleteDoc(segmentTable, project, env, key, ifVersion)
}
