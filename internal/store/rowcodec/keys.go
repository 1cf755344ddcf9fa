package rowcodec

import (
	"errors"

	"github.com/ramphq/ramp/internal/store"
)

// KeyCols are the api_keys columns in the order KeyRow writes and ScanKey reads them.
const KeyCols = `id, kind, role, project, environment, name, hash, created_at, created_by, expires_at, revoked_at, last_used_at`

// Scanner is a row: *sql.Row, *sql.Rows, pgx.Row and pgx.Rows all are.
type Scanner = interface{ Scan(...any) error }

// ScanKey reads one api_keys row selected as KeyCols.
func ScanKey(sc Scanner) (store.APIKey, error) {
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
	k.CreatedAt, errs[0] = DecodeTime(created)
	k.ExpiresAt, errs[1] = DecodeTimePtr(expires)
	k.RevokedAt, errs[2] = DecodeTimePtr(revoked)
	k.LastUsedAt, errs[3] = DecodeTimePtr(used)
	return k, errors.Join(errs[:]...)
}

// Nullable stores "" as NULL.
func Nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// KeyTimes encodes a key's optional times.
func KeyTimes(k store.APIKey) (expires, revoked, used any, err error) {
	if expires, err = EncodeTimePtr("key expiresAt", k.ExpiresAt); err != nil {
		return
	}
	if revoked, err = EncodeTimePtr("key revokedAt", k.RevokedAt); err != nil {
		return
	}
	used, err = EncodeTimePtr("key lastUsedAt", k.LastUsedAt)
	return
}

// KeyRow checks a new key and returns its column values in KeyCols order.
func KeyRow(k store.APIKey) ([]any, error) {
	if err := CheckKey("key ID", k.ID); err != nil {
		return nil, err
	}
	if k.Project != "" {
		if err := CheckKey("key project", k.Project); err != nil {
			return nil, err
		}
	}
	if k.Environment != "" {
		if k.Project == "" {
			return nil, Invalid("key %q: an environment without a project", k.ID)
		}
		if err := CheckKey("key environment", k.Environment); err != nil {
			return nil, err
		}
	}
	if len(k.Hash) == 0 {
		return nil, Invalid("key %q: no hash", k.ID)
	}
	if err := CheckTexts("key kind", string(k.Kind), "key role", string(k.Role), "key name", k.Name, "key createdBy", k.CreatedBy); err != nil {
		return nil, err
	}
	created, err := EncodeTime("key createdAt", k.CreatedAt)
	if err != nil {
		return nil, err
	}
	expires, revoked, used, err := KeyTimes(k)
	if err != nil {
		return nil, err
	}
	return []any{k.ID, string(k.Kind), string(k.Role), Nullable(k.Project), Nullable(k.Environment), k.Name, k.Hash,
		created, k.CreatedBy, expires, revoked, used}, nil
}
