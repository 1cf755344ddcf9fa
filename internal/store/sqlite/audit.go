package sqlite

import (
	"encoding/json"
	"strings"

	"github.com/ramphq/ramp/internal/store"
	"github.com/ramphq/ramp/internal/store/rowcodec"
)

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
	e.At, err = rowcodec.DecodeTime(at)
	return e, err
}

func rawJSON(what string, doc json.RawMessage) (any, error) {
	if len(doc) == 0 {
		return nil, nil
	}
	if err := rowcodec.CheckJSON(what, doc); err != nil {
		return nil, err
	}
	return string(doc), nil
}

func (t *tx) AppendAudit(e *store.AuditEntry) error {
	if err := t.canWrite(); err != nil {
		return err
	}
	if err := rowcodec.CheckTexts("audit actor", e.Actor, "audit action", e.Action, "audit project", e.Project,
		"audit environment", e.Environment, "audit resource", e.Resource, "audit key", e.Key); err != nil {
		return err
	}
	at, err := rowcodec.EncodeTime("audit at", e.At)
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

// defaultAuditLimit is the number of entries Audit returns when the filter's Limit is 0 (or negative).
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
		since, err := rowcodec.EncodeTime("since", f.Since)
		if err != nil {
			return nil, err
		}
		add("at >= ?", since)
	}
	if !f.Until.IsZero() {
		until, err := rowcodec.EncodeTime("until", f.Until)
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
