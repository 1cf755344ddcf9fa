package rowcodec

import (
	"encoding/json"

	"github.com/ramphq/ramp/internal/store"
)

// ScanAudit reads one audit row selected as id, at, actor, action, project, environment, resource, key, version,
// before, after (before and after as text).
func ScanAudit(sc Scanner) (store.AuditEntry, error) {
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
	e.At, err = DecodeTime(at)
	return e, err
}

// AuditRow checks an audit entry and returns the values of at, actor, action, project, environment, resource,
// key, version, before, after, in that order (before and after as JSON text or NULL).
func AuditRow(e *store.AuditEntry) ([]any, error) {
	if err := CheckTexts("audit actor", e.Actor, "audit action", e.Action, "audit project", e.Project,
		"audit environment", e.Environment, "audit resource", e.Resource, "audit key", e.Key); err != nil {
		return nil, err
	}
	at, err := EncodeTime("audit at", e.At)
	if err != nil {
		return nil, err
	}
	before, err := rawJSON("audit before", e.Before)
	if err != nil {
		return nil, err
	}
	after, err := rawJSON("audit after", e.After)
	if err != nil {
		return nil, err
	}
	return []any{at, e.Actor, e.Action, e.Project, e.Environment, e.Resource, e.Key, e.Version, before, after}, nil
}

// rawJSON checks a document and returns it as text (both drivers send text to a JSON column as JSON), or nil.
func rawJSON(what string, doc json.RawMessage) (any, error) {
	if len(doc) == 0 {
		return nil, nil
	}
	if err := CheckJSON(what, doc); err != nil {
		return nil, err
	}
	return string(doc), nil
}
