package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/store"
	"github.com/ramphq/ramp/internal/store/rowcodec"

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
	if err := rowcodec.CheckKey("project", p.Key); err != nil {
		return err
	}
	if err := rowcodec.CheckTexts("project name", p.Name, "project description", p.Description); err != nil {
		return err
	}
	created, err := rowcodec.EncodeTime("project createdAt", p.CreatedAt)
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
	p.CreatedAt, err = rowcodec.DecodeTime(created)
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
	if err := rowcodec.CheckKey("project", e.Project); err != nil {
		return err
	}
	if err := rowcodec.CheckKey("environment", e.Key); err != nil {
		return err
	}
	if err := rowcodec.CheckText("environment name", e.Name); err != nil {
		return err
	}
	created, err := rowcodec.EncodeTime("environment createdAt", e.CreatedAt)
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
	e.CreatedAt, err = rowcodec.DecodeTime(created)
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
