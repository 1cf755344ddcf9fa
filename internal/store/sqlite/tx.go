package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/store"

	"modernc.org/sqlite"
)

// tx implements store.Tx on a database/sql transaction. Refused writes (conflicts, missing parents, invalid
// input) are found before or without a failing statement, so the transaction stays usable after them.
type tx struct {
	ctx      context.Context
	tx       *sql.Tx
	readOnly bool
	done     bool
}

var _ store.Tx = (*tx)(nil)

var (
	errReadOnly = errors.New("sqlite: write in a read-only transaction (View)")
	errDone     = errors.New("sqlite: transaction used after its function returned")
)

// SQLite's extended result codes for constraint violations.
const (
	codeForeignKey = 787
	codePrimaryKey = 1555
	codeUnique     = 2067
)

// wrap turns a driver error into the contract's errors: the context's error when it is done, a
// *flag.Error for a constraint the statement broke anyway, else an internal error.
func wrap(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		if errors.Is(err, cerr) {
			return fmt.Errorf("sqlite: %w", err)
		}
		return fmt.Errorf("sqlite: %w (%v)", cerr, err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case codePrimaryKey, codeUnique:
			return &flag.Error{Kind: flag.KindConflict, Message: "already exists: " + se.Error()}
		case codeForeignKey:
			return &flag.Error{Kind: flag.KindNotFound, Message: "a referenced record does not exist: " + se.Error()}
		}
	}
	return fmt.Errorf("sqlite: %w", err)
}

func notFound(format string, args ...any) error {
	return &flag.Error{Kind: flag.KindNotFound, Message: fmt.Sprintf(format, args...)}
}

func conflict(format string, args ...any) error {
	return &flag.Error{Kind: flag.KindConflict, Message: fmt.Sprintf(format, args...)}
}

func (t *tx) canRead() error {
	if t.done {
		return errDone
	}
	return nil
}

func (t *tx) canWrite() error {
	if t.done {
		return errDone
	}
	if t.readOnly {
		return errReadOnly
	}
	return nil
}

func (t *tx) exec(q string, args ...any) (int64, error) {
	res, err := t.tx.ExecContext(t.ctx, q, args...)
	if err != nil {
		return 0, wrap(t.ctx, err)
	}
	n, err := res.RowsAffected()
	return n, wrap(t.ctx, err)
}

func (t *tx) exists(q string, args ...any) (bool, error) {
	var ok bool
	err := t.tx.QueryRowContext(t.ctx, "SELECT EXISTS ("+q+")", args...).Scan(&ok)
	return ok, wrap(t.ctx, err)
}

func (t *tx) projectExists(key string) (bool, error) {
	return t.exists(`SELECT 1 FROM projects WHERE key = ?`, key)
}

func (t *tx) envExists(project, key string) (bool, error) {
	return t.exists(`SELECT 1 FROM environments WHERE project = ? AND key = ?`, project, key)
}

// --- projects ---

func (t *tx) CreateProject(p store.Project) error {
	if err := t.canWrite(); err != nil {
		return err
	}
	if err := checkKey("project", p.Key); err != nil {
		return err
	}
	if err := checkTexts("project name", p.Name, "project description", p.Description); err != nil {
		return err
	}
	created, err := encodeTime("project createdAt", p.CreatedAt)
	if err != nil {
		return err
	}
	n, err := t.exec(`INSERT INTO projects (key, name, description, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		p.Key, p.Name, p.Description, created)
	if err != nil {
		return err
	}
	if n == 0 {
		return conflict("project %q already exists", p.Key)
	}
	return nil
}

const projectCols = `key, name, description, created_at`

func scanProject(sc interface{ Scan(...any) error }) (store.Project, error) {
	var p store.Project
	var created *string
	if err := sc.Scan(&p.Key, &p.Name, &p.Description, &created); err != nil {
		return p, err
	}
	var err error
	p.CreatedAt, err = decodeTime(created)
	return p, err
}

func (t *tx) Project(key string) (store.Project, error) {
	if err := t.canRead(); err != nil {
		return store.Project{}, err
	}
	p, err := scanProject(t.tx.QueryRowContext(t.ctx, `SELECT `+projectCols+` FROM projects WHERE key = ?`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return p, notFound("project %q not found", key)
	}
	return p, wrap(t.ctx, err)
}

func (t *tx) Projects() ([]store.Project, error) {
	if err := t.canRead(); err != nil {
		return nil, err
	}
	return queryAll(t, scanProject, `SELECT `+projectCols+` FROM projects ORDER BY key`)
}

func (t *tx) DeleteProject(key string) error {
	if err := t.canWrite(); err != nil {
		return err
	}
	n, err := t.exec(`DELETE FROM projects WHERE key = ?`, key)
	if err == nil && n == 0 {
		err = notFound("project %q not found", key)
	}
	return err
}

// queryAll runs q and scans every row.
func queryAll[T any](t *tx, scan func(interface{ Scan(...any) error }) (T, error), q string, args ...any) ([]T, error) {
	rows, err := t.tx.QueryContext(t.ctx, q, args...)
	if err != nil {
		return nil, wrap(t.ctx, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, wrap(t.ctx, err)
		}
		out = append(out, v)
	}
	return out, wrap(t.ctx, rows.Err())
}

// --- environments ---

func (t *tx) CreateEnvironment(e store.Environment) error {
	if err := t.canWrite(); err != nil {
		return err
	}
	if err := checkKey("project", e.Project); err != nil {
		return err
	}
	if err := checkKey("environment", e.Key); err != nil {
		return err
	}
	if err := checkText("environment name", e.Name); err != nil {
		return err
	}
	created, err := encodeTime("environment createdAt", e.CreatedAt)
	if err != nil {
		return err
	}
	n, err := t.exec(`INSERT INTO environments (project, key, name, revision, created_at)
		SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM projects WHERE key = ?) ON CONFLICT DO NOTHING`,
		e.Project, e.Key, e.Name, e.Revision, created, e.Project)
	if err != nil || n > 0 {
		return err
	}
	if ok, err := t.projectExists(e.Project); err != nil {
		return err
	} else if !ok {
		return notFound("project %q not found", e.Project)
	}
	return conflict("environment %q already exists in project %q", e.Key, e.Project)
}

const envCols = `project, key, name, revision, created_at`

func scanEnv(sc interface{ Scan(...any) error }) (store.Environment, error) {
	var e store.Environment
	var created *string
	if err := sc.Scan(&e.Project, &e.Key, &e.Name, &e.Revision, &created); err != nil {
		return e, err
	}
	var err error
	e.CreatedAt, err = decodeTime(created)
	return e, err
}

func (t *tx) Environment(project, key string) (store.Environment, error) {
	if err := t.canRead(); err != nil {
		return store.Environment{}, err
	}
	e, err := scanEnv(t.tx.QueryRowContext(t.ctx, `SELECT `+envCols+` FROM environments WHERE project = ? AND key = ?`, project, key))
	if errors.Is(err, sql.ErrNoRows) {
		return e, notFound("environment %q not found in project %q", key, project)
	}
	return e, wrap(t.ctx, err)
}

func (t *tx) Environments(project string) ([]store.Environment, error) {
	if err := t.canRead(); err != nil {
		return nil, err
	}
	es, err := queryAll(t, scanEnv, `SELECT `+envCols+` FROM environments WHERE project = ? ORDER BY key`, project)
	if err == nil && len(es) == 0 {
		if ok, err := t.projectExists(project); err != nil {
			return nil, err
		} else if !ok {
			return nil, notFound("project %q not found", project)
		}
	}
	return es, err
}

func (t *tx) DeleteEnvironment(project, key string) error {
	if err := t.canWrite(); err != nil {
		return err
	}
	n, err := t.exec(`DELETE FROM environments WHERE project = ? AND key = ?`, project, key)
	if err == nil && n == 0 {
		err = notFound("environment %q not found in project %q", key, project)
	}
	return err
}

func (t *tx) BumpRevision(project, env string) (int64, error) {
	if err := t.canWrite(); err != nil {
		return 0, err
	}
	var r int64
	err := t.tx.QueryRowContext(t.ctx, `UPDATE environments SET revision = revision + 1 WHERE project = ? AND key = ? RETURNING revision`,
		project, env).Scan(&r)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, notFound("environment %q not found in project %q", env, project)
	}
	return r, wrap(t.ctx, err)
}

// --- flags and segments ---

// docTable is the SQL of one table of versioned per-environment documents (flags, segments).
type docTable struct {
	what                                  string
	archived                              bool
	insert, update, get, list, del, exist string
	version                               string
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

// docRow is one stored document with its bookkeeping.
type docRow struct {
	project, env, key string
	doc               string
	version           int64
	archived          bool
	updatedAt         time.Time
	updatedBy         string
}

func (d docTable) scan(sc interface{ Scan(...any) error }) (docRow, error) {
	var r docRow
	var updated *string
	dest := []any{&r.project, &r.env, &r.key, &r.doc, &r.version, &updated, &r.updatedBy}
	if d.archived {
		dest = append(dest, &r.archived)
	}
	if err := sc.Scan(dest...); err != nil {
		return r, err
	}
	var err error
	r.updatedAt, err = decodeTime(updated)
	return r, err
}

// put inserts (ifVersion 0) or updates a document and returns its new version.
func (t *tx) put(d docTable, r docRow, ifVersion int64) (int64, error) {
	if err := t.canWrite(); err != nil {
		return 0, err
	}
	switch {
	case ifVersion < 0:
		return 0, invalid("%s %q: version %d is negative", d.what, r.key, ifVersion)
	}
	for _, c := range [][2]string{{"project", r.project}, {"environment", r.env}, {d.what, r.key}} {
		if err := checkKey(c[0], c[1]); err != nil {
			return 0, err
		}
	}
	if err := checkText(d.what+" updatedBy", r.updatedBy); err != nil {
		return 0, err
	}
	updated, err := encodeTime(d.what+" updatedAt", r.updatedAt)
	if err != nil {
		return 0, err
	}
	if ifVersion == 0 {
		args := []any{r.project, r.env, r.key, r.doc, updated, r.updatedBy}
		if d.archived {
			args = append(args, r.archived)
		}
		n, err := t.exec(d.insert, append(args, r.project, r.env)...)
		if err != nil || n > 0 {
			return 1, err
		}
		if ok, err := t.envExists(r.project, r.env); err != nil {
			return 0, err
		} else if !ok {
			return 0, notFound("environment %q not found in project %q", r.env, r.project)
		}
		return 0, conflict("%s %q already exists in %s/%s", d.what, r.key, r.project, r.env)
	}
	args := []any{r.doc, updated, r.updatedBy}
	if d.archived {
		args = append(args, r.archived)
	}
	n, err := t.exec(d.update, append(args, r.project, r.env, r.key, ifVersion)...)
	if err != nil || n > 0 {
		return ifVersion + 1, err
	}
	return 0, t.versionMismatch(d, r.project, r.env, r.key, ifVersion)
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
		return invalid("%s %q: version %d is negative", d.what, key, ifVersion)
	}
	n, err := t.exec(d.del, project, env, key, ifVersion, ifVersion)
	if err != nil || n > 0 {
		return err
	}
	return t.versionMismatch(d, project, env, key, ifVersion)
}

func flagRecord(r docRow) (store.FlagRecord, error) {
	rec := store.FlagRecord{Project: r.project, Environment: r.env, Version: r.version, Archived: r.archived, UpdatedAt: r.updatedAt, UpdatedBy: r.updatedBy}
	if err := json.Unmarshal([]byte(r.doc), &rec.Flag); err != nil {
		return rec, fmt.Errorf("sqlite: stored flag %s/%s/%s: %w", r.project, r.env, r.key, err)
	}
	return rec, nil
}

func segmentRecord(r docRow) (store.SegmentRecord, error) {
	rec := store.SegmentRecord{Project: r.project, Environment: r.env, Version: r.version, UpdatedAt: r.updatedAt, UpdatedBy: r.updatedBy}
	if err := json.Unmarshal([]byte(r.doc), &rec.Segment); err != nil {
		return rec, fmt.Errorf("sqlite: stored segment %s/%s/%s: %w", r.project, r.env, r.key, err)
	}
	return rec, nil
}

func (t *tx) PutFlag(rec *store.FlagRecord, ifVersion int64) error {
	doc, err := marshal("flag", rec.Flag)
	if err != nil {
		return err
	}
	v, err := t.put(flagTable, docRow{project: rec.Project, env: rec.Environment, key: rec.Flag.Key, doc: string(doc),
		archived: rec.Archived, updatedAt: rec.UpdatedAt, updatedBy: rec.UpdatedBy}, ifVersion)
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
	return flagRecord(r)
}

func (t *tx) Flags(project, env string) ([]store.FlagRecord, error) {
	rs, err := t.listDocs(flagTable, project, env)
	if err != nil {
		return nil, err
	}
	out := make([]store.FlagRecord, len(rs))
	for i, r := range rs {
		if out[i], err = flagRecord(r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (t *tx) DeleteFlag(project, env, key string, ifVersion int64) error {
	return t.deleteDoc(flagTable, project, env, key, ifVersion)
}

func (t *tx) PutSegment(rec *store.SegmentRecord, ifVersion int64) error {
	doc, err := marshal("segment", rec.Segment)
	if err != nil {
		return err
	}
	v, err := t.put(segmentTable, docRow{project: rec.Project, env: rec.Environment, key: rec.Segment.Key, doc: string(doc),
		updatedAt: rec.UpdatedAt, updatedBy: rec.UpdatedBy}, ifVersion)
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
	return segmentRecord(r)
}

func (t *tx) Segments(project, env string) ([]store.SegmentRecord, error) {
	rs, err := t.listDocs(segmentTable, project, env)
	if err != nil {
		return nil, err
	}
	out := make([]store.SegmentRecord, len(rs))
	for i, r := range rs {
		if out[i], err = segmentRecord(r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (t *tx) DeleteSegment(project, env, key string, ifVersion int64) error {
	return t.deleteDoc(segmentTable, project, env, key, ifVersion)
}

// --- API keys ---

const keyCols = `id, kind, role, project, environment, name, hash, created_at, created_by, expires_at, revoked_at, last_used_at`

func scanKey(sc interface{ Scan(...any) error }) (store.APIKey, error) {
	var k store.APIKey
	var kind, role string
	var project, env *string
	var created, expires, revoked, used *string
	if err := sc.Scan(&k.ID, &kind, &role, &project, &env, &k.Name, &k.Hash, &created, &k.CreatedBy, &expires, &revoked, &used); err != nil {
		return k, err
	}
	k.Kind, k.Role = store.KeyKind(kind), store.Role(role)
	if project != nil {
		k.Project = *project
	}
	if env != nil {
		k.Environment = *env
	}
	var errs [4]error
	k.CreatedAt, errs[0] = decodeTime(created)
	k.ExpiresAt, errs[1] = decodeTimePtr(expires)
	k.RevokedAt, errs[2] = decodeTimePtr(revoked)
	k.LastUsedAt, errs[3] = decodeTimePtr(used)
	return k, errors.Join(errs[:]...)
}

// nullable stores "" as NULL.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// keyTimes encodes a key's optional times.
func keyTimes(k store.APIKey) (expires, revoked, used any, err error) {
	if expires, err = encodeTimePtr("key expiresAt", k.ExpiresAt); err != nil {
		return
	}
	if revoked, err = encodeTimePtr("key revokedAt", k.RevokedAt); err != nil {
		return
	}
	used, err = encodeTimePtr("key lastUsedAt", k.LastUsedAt)
	return
}

func (t *tx) CreateKey(k store.APIKey) error {
	if err := t.canWrite(); err != nil {
		return err
	}
	if err := checkKey("key ID", k.ID); err != nil {
		return err
	}
	if k.Project != "" {
		if err := checkKey("key project", k.Project); err != nil {
			return err
		}
	}
	if k.Environment != "" {
		if k.Project == "" {
			return invalid("key %q: an environment without a project", k.ID)
		}
		if err := checkKey("key environment", k.Environment); err != nil {
			return err
		}
	}
	if len(k.Hash) == 0 {
		return invalid("key %q: no hash", k.ID)
	}
	if err := checkTexts("key kind", string(k.Kind), "key role", string(k.Role), "key name", k.Name, "key createdBy", k.CreatedBy); err != nil {
		return err
	}
	created, err := encodeTime("key createdAt", k.CreatedAt)
	if err != nil {
		return err
	}
	expires, revoked, used, err := keyTimes(k)
	if err != nil {
		return err
	}
	switch {
	case k.Environment != "":
		if ok, err := t.envExists(k.Project, k.Environment); err != nil {
			return err
		} else if !ok {
			return notFound("environment %q not found in project %q", k.Environment, k.Project)
		}
	case k.Project != "":
		if ok, err := t.projectExists(k.Project); err != nil {
			return err
		} else if !ok {
			return notFound("project %q not found", k.Project)
		}
	}
	n, err := t.exec(`INSERT INTO api_keys (`+keyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		k.ID, string(k.Kind), string(k.Role), nullable(k.Project), nullable(k.Environment), k.Name, k.Hash, created, k.CreatedBy, expires, revoked, used)
	if err == nil && n == 0 {
		err = conflict("a key with ID %q or the same secret already exists", k.ID)
	}
	return err
}

func (t *tx) oneKey(where string, arg any, what string) (store.APIKey, error) {
	if err := t.canRead(); err != nil {
		return store.APIKey{}, err
	}
	k, err := scanKey(t.tx.QueryRowContext(t.ctx, `SELECT `+keyCols+` FROM api_keys WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return k, notFound("%s not found", what)
	}
	return k, wrap(t.ctx, err)
}

func (t *tx) KeyByHash(hash []byte) (store.APIKey, error) {
	return t.oneKey(`hash = ?`, hash, "key")
}

func (t *tx) Key(id string) (store.APIKey, error) {
	return t.oneKey(`id = ?`, id, fmt.Sprintf("key %q", id))
}

func (t *tx) Keys(project string) ([]store.APIKey, error) {
	if err := t.canRead(); err != nil {
		return nil, err
	}
	if project == "" {
		return queryAll(t, scanKey, `SELECT `+keyCols+` FROM api_keys ORDER BY id`)
	}
	ks, err := queryAll(t, scanKey, `SELECT `+keyCols+` FROM api_keys WHERE project = ? ORDER BY id`, project)
	if err == nil && len(ks) == 0 {
		if ok, err := t.projectExists(project); err != nil {
			return nil, err
		} else if !ok {
			return nil, notFound("project %q not found", project)
		}
	}
	return ks, err
}

func (t *tx) UpdateKey(k store.APIKey) error {
	if err := t.canWrite(); err != nil {
		return err
	}
	if err := checkText("key name", k.Name); err != nil {
		return err
	}
	expires, revoked, used, err := keyTimes(k)
	if err != nil {
		return err
	}
	n, err := t.exec(`UPDATE api_keys SET name = ?, expires_at = ?, revoked_at = ?, last_used_at = ? WHERE id = ?`,
		k.Name, expires, revoked, used, k.ID)
	if err == nil && n == 0 {
		err = notFound("key %q not found", k.ID)
	}
	return err
}

// --- audit ---

const auditCols = `id, at, actor, action, project, environment, resource, key, version, before, after`

func scanAudit(sc interface{ Scan(...any) error }) (store.AuditEntry, error) {
	var e store.AuditEntry
	var at, before, after *string
	if err := sc.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Project, &e.Environment, &e.Resource, &e.Key, &e.Version, &before, &after); err != nil {
		return e, err
	}
	if before != nil {
		e.Before = json.RawMessage(*before)
	}
	if after != nil {
		e.After = json.RawMessage(*after)
	}
	var err error
	e.At, err = decodeTime(at)
	return e, err
}

func rawJSON(what string, doc json.RawMessage) (any, error) {
	if len(doc) == 0 {
		return nil, nil
	}
	if err := checkJSON(what, doc); err != nil {
		return nil, err
	}
	return string(doc), nil
}

func (t *tx) AppendAudit(e *store.AuditEntry) error {
	if err := t.canWrite(); err != nil {
		return err
	}
	if err := checkTexts("audit actor", e.Actor, "audit action", e.Action, "audit project", e.Project,
		"audit environment", e.Environment, "audit resource", e.Resource, "audit key", e.Key); err != nil {
		return err
	}
	at, err := encodeTime("audit at", e.At)
	if err != nil {
		return err
	}
	before, err := rawJSON("audit before", e.Before)
	if err != nil {
		return err
	}
	after, err := rawJSON("audit after", e.After)
	if err != nil {
		return err
	}
	err = t.tx.QueryRowContext(t.ctx, `INSERT INTO audit (at, actor, action, project, environment, resource, key, version, before, after)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		at, e.Actor, e.Action, e.Project, e.Environment, e.Resource, e.Key, e.Version, before, after).Scan(&e.ID)
	return wrap(t.ctx, err)
}

// DefaultAuditLimit is the number of entries Audit returns when the filter's Limit is 0.
const defaultAuditLimit = 100

func (t *tx) Audit(f store.AuditFilter) ([]store.AuditEntry, error) {
	if err := t.canRead(); err != nil {
		return nil, err
	}
	var where []string
	var args []any
	add := func(cond string, arg any) {
		where = append(where, cond)
		args = append(args, arg)
	}
	for _, c := range []struct{ col, v string }{{"project", f.Project}, {"environment", f.Environment}, {"resource", f.Resource}, {"key", f.Key}} {
		if c.v != "" {
			add(c.col+" = ?", c.v)
		}
	}
	if !f.Since.IsZero() {
		since, err := encodeTime("since", f.Since)
		if err != nil {
			return nil, err
		}
		add("at >= ?", since)
	}
	if !f.Until.IsZero() {
		until, err := encodeTime("until", f.Until)
		if err != nil {
			return nil, err
		}
		add("at < ?", until)
	}
	if f.BeforeID > 0 {
		add("id < ?", f.BeforeID)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	q := `SELECT ` + auditCols + ` FROM audit`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id DESC LIMIT ?`
	return queryAll(t, scanAudit, q, append(args, limit)...)
}
