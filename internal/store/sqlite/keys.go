package sqlite

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/ramphq/ramp/internal/store"
	"github.com/ramphq/ramp/internal/store/rowcodec"
)

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
	k.CreatedAt, errs[0] = rowcodec.DecodeTime(created)
	k.ExpiresAt, errs[1] = rowcodec.DecodeTimePtr(expires)
	k.RevokedAt, errs[2] = rowcodec.DecodeTimePtr(revoked)
	k.LastUsedAt, errs[3] = rowcodec.DecodeTimePtr(used)
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
	if expires, err = rowcodec.EncodeTimePtr("key expiresAt", k.ExpiresAt); err != nil {
		return
	}
	if revoked, err = rowcodec.EncodeTimePtr("key revokedAt", k.RevokedAt); err != nil {
		return
	}
	used, err = rowcodec.EncodeTimePtr("key lastUsedAt", k.LastUsedAt)
	return
}

func (t *tx) CreateKey(k store.APIKey) error {
	if err := t.canWrite(); err != nil {
		return err
	}
	if err := rowcodec.CheckKey("key ID", k.ID); err != nil {
		return err
	}
	if k.Project != "" {
		if err := rowcodec.CheckKey("key project", k.Project); err != nil {
			return err
		}
	}
	if k.Environment != "" {
		if k.Project == "" {
			return rowcodec.Invalid("key %q: an environment without a project", k.ID)
		}
		if err := rowcodec.CheckKey("key environment", k.Environment); err != nil {
			return err
		}
	}
	if len(k.Hash) == 0 {
		return rowcodec.Invalid("key %q: no hash", k.ID)
	}
	if err := rowcodec.CheckTexts("key kind", string(k.Kind), "key role", string(k.Role), "key name", k.Name, "key createdBy", k.CreatedBy); err != nil {
		return err
	}
	created, err := rowcodec.EncodeTime("key createdAt", k.CreatedAt)
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
	if err := rowcodec.CheckText("key name", k.Name); err != nil {
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
