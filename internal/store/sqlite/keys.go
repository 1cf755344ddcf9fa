package sqlite

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/ramphq/ramp/internal/store"
	"github.com/ramphq/ramp/internal/store/rowcodec"
)

func (t *tx) CreateKey(k store.APIKey) error {
	if err := t.canWrite(); err != nil {
		return err
	}
	row, err := rowcodec.KeyRow(k)
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
	n, err := t.exec(`INSERT INTO api_keys (`+rowcodec.KeyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, row...)
	if err == nil && n == 0 {
		err = conflict("a key with ID %q or the same secret already exists", k.ID)
	}
	return err
}

func (t *tx) oneKey(where string, arg any, what string) (store.APIKey, error) {
	if err := t.canRead(); err != nil {
		return store.APIKey{}, err
	}
	k, err := rowcodec.ScanKey(t.tx.QueryRowContext(t.ctx, `SELECT `+rowcodec.KeyCols+` FROM api_keys WHERE `+where, arg))
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
		return queryAll(t, rowcodec.ScanKey, `SELECT `+rowcodec.KeyCols+` FROM api_keys ORDER BY id`)
	}
	ks, err := queryAll(t, rowcodec.ScanKey, `SELECT `+rowcodec.KeyCols+` FROM api_keys WHERE project = ? ORDER BY id`, project)
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
	expires, revoked, used, err := rowcodec.KeyTimes(k)
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
