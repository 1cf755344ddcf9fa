package postgres

import (
	"fmt"
	"strings"

	"github.com/ramphq/ramp/internal/store"
	"github.com/ramphq/ramp/internal/store/rowcodec"
)

// before and after are read as text: pgx would turn a jsonb null into a nil pointer.
const auditCols = `id, at, actor, action, project, environment, resource, key, version, before::text, after::text`

func (t *tx) AppendAudit(e *store.AuditEntry) error {
	if err := t.canWrite(); err != nil {
		return err
	}
	row, err := rowcodec.AuditRow(e)
	if err != nil {
		return err
	}
	err = t.tx.QueryRow(t.ctx, `INSERT INTO audit (at, actor, action, project, environment, resource, key, version, before, after)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`, row...).Scan(&e.ID)
	return wrap(t.ctx, err)
}

// defaultAuditLimit is the number of entries Audit returns when the filter's Limit is 0 (or negative).
const defaultAuditLimit = 100

func (t *tx) Audit(f store.AuditFilter) ([]store.AuditEntry, error) {
	if err := t.canRead(); err != nil {
		return nil, err
	}
	var where []string
	var args []any
	add := func(cond string, arg any) { // cond holds one $%d for arg
		args = append(args, arg)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	for _, c := range []struct{ col, v string }{{"project", f.Project}, {"environment", f.Environment}, {"resource", f.Resource}, {"key", f.Key}} {
		if c.v != "" {
			add(c.col+" = $%d", c.v)
		}
	}
	if !f.Since.IsZero() {
		since, err := rowcodec.EncodeTime("since", f.Since)
		if err != nil {
			return nil, err
		}
		add("at >= $%d", since)
	}
	if !f.Until.IsZero() {
		until, err := rowcodec.EncodeTime("until", f.Until)
		if err != nil {
			return nil, err
		}
		add("at < $%d", until)
	}
	if f.BeforeID > 0 {
		add("id < $%d", f.BeforeID)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	q := `SELECT ` + auditCols + ` FROM audit`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args)+1)
	return queryAll(t, rowcodec.ScanAudit, q, append(args, limit)...)
}
